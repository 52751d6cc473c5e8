// Command weakcache is a cache that does not keep its values alive
// (scenario 16): Python's WeakValueDictionary, here weakref.ValueMap. An
// image stays cached while some part of the program uses it and is
// decoded again once nobody does.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"weak"

	"github.com/aio-go/aio/weakref"
)

// Image is an expensive object: decoding it is what the cache saves.
type Image struct {
	Name   string
	Pixels []byte
}

// Images loads images by name, sharing the ones still in use.
//
// Go gives this pattern a typed map (ValueMap[string, Image] hands back an
// *Image, no cast) and, for values that are their own identity (strings,
// small structs), unique.Make already interns them with the same weak
// semantics; a ValueMap is for objects named by a separate key.
type Images struct {
	w       io.Writer
	cache   weakref.ValueMap[string, Image]
	decoded int
}

// Load returns the image called name, from the cache if someone still
// holds it.
func (im *Images) Load(name string) *Image {
	if img, ok := im.cache.Get(name); ok {
		fmt.Fprintf(im.w, "load %s: cache hit\n", name)
		return img
	}
	img := &Image{Name: name, Pixels: make([]byte, 64<<10)}
	im.decoded++
	fmt.Fprintf(im.w, "load %s: decoded (%d decodes so far)\n", name, im.decoded)
	im.cache.Put(name, img)
	return img
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	images := &Images{w: w}
	logo := images.Load("logo.png")
	banner := images.Load("banner.png")
	again := images.Load("logo.png")
	fmt.Fprintf(w, "same object: %v; cached: %d\n", again == logo, images.cache.Len())

	probe := weak.Make(logo)
	logo, again = nil, nil // nobody uses the logo any more
	if !collect(probe) {
		return errors.New("weakcache: logo still alive after 100 collections")
	}
	fmt.Fprintf(w, "logo.png collected: the cache did not keep it; cached: %d\n", images.cache.Len())

	images.Load("banner.png")
	images.Load("logo.png")
	runtime.KeepAlive(banner)
	return nil
}

// collect runs garbage collections until ref's object is gone, at most 100,
// and reports whether it is.
func collect[T any](ref weak.Pointer[T]) bool {
	for i := 0; i < 100 && ref.Value() != nil; i++ {
		runtime.GC()
	}
	return ref.Value() == nil
}
