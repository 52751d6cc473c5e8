package weakref_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"weak"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
	"github.com/aio-go/aio/weakref"
)

// Handler is an object whose methods are registered as callbacks.
type Handler struct{ Name string }

func (h *Handler) OnDone(f *future.Future[int]) {
	v, _ := f.Result()
	fmt.Printf("%s got %d\n", h.Name, v)
}

func (h *Handler) OnTemp(c float64) { fmt.Printf("%s: %.1f°C\n", h.Name, c) }

// gone collects garbage until wp's object is gone (at most 100 times).
func gone[T any](wp weak.Pointer[T]) bool {
	for i := 0; i < 100 && wp.Value() != nil; i++ {
		runtime.GC()
	}
	return wp.Value() == nil
}

// plainLogger logs to stdout without times, for examples.
func plainLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

func ExampleDoneCallback() {
	l := loop.New()
	defer l.Close()
	log := weakref.WithLogger(plainLogger())

	live := &Handler{Name: "live"}
	f1 := future.New[int](l)
	weakref.DoneCallback(f1, live, (*Handler).OnDone, log)

	f2 := future.New[int](l)
	f2.SetName("f2")
	dropped := &Handler{Name: "dropped"}
	weakref.DoneCallback(f2, dropped, (*Handler).OnDone, log)
	probe := weak.Make(dropped)
	dropped = nil
	fmt.Println("dropped handler collected:", gone(probe))

	f1.SetResult(1)
	f2.SetResult(2)
	loop.RunUntilComplete(l, f2)
	runtime.KeepAlive(live)
	// Output:
	// dropped handler collected: true
	// live got 1
	// level=WARN msg="weakref: done-callback skipped: its receiver was collected" future=f2<done> receiver=*weakref_test.Handler callback=(*Handler).OnDone
}

func ExampleSignal() {
	loop.Run(context.Background(), func(co *loop.Coro) (struct{}, error) {
		temps := weakref.NewSignal[float64](co.Loop(), weakref.WithLogger(plainLogger()))
		hall := &Handler{Name: "hall"}
		weakref.Subscribe(temps, hall, (*Handler).OnTemp)
		attic := &Handler{Name: "attic"}
		weakref.Subscribe(temps, attic, (*Handler).OnTemp)

		temps.Emit(21.5)
		loop.Sleep(co, 0) // one iteration: the calls run

		probe := weak.Make(attic)
		attic = nil
		fmt.Println("attic collected:", gone(probe))
		temps.Emit(19)
		loop.Sleep(co, 0)
		fmt.Println("subscribers:", temps.Len())
		runtime.KeepAlive(hall)
		return struct{}{}, nil
	})
	// Output:
	// hall: 21.5°C
	// attic: 21.5°C
	// attic collected: true
	// level=WARN msg="weakref: subscriber dropped: its receiver was collected without unsubscribing" receiver=*weakref_test.Handler callback=(*Handler).OnTemp
	// hall: 19.0°C
	// subscribers: 1
}

func ExampleSet() {
	var observers weakref.Set[Handler]
	a, b := &Handler{Name: "a"}, &Handler{Name: "b"}
	observers.Add(a)
	observers.Add(b)
	for h := range observers.All() {
		fmt.Println("notify", h.Name)
	}

	probe := weak.Make(b)
	b = nil
	fmt.Println("b collected:", gone(probe))
	for h := range observers.All() {
		fmt.Println("notify", h.Name)
	}
	fmt.Println("observers:", observers.Len())
	runtime.KeepAlive(a)
	// Output:
	// notify a
	// notify b
	// b collected: true
	// notify a
	// observers: 1
}

func ExampleValueMap() {
	var cache weakref.ValueMap[string, Handler]
	h := &Handler{Name: "report"}
	cache.Put("report", h)
	got, ok := cache.Get("report")
	fmt.Println(got == h, ok)

	probe := weak.Make(h)
	h, got = nil, nil
	fmt.Println("collected:", gone(probe))
	_, ok = cache.Get("report")
	fmt.Println(ok, cache.Len())
	// Output:
	// true true
	// collected: true
	// false 0
}

func ExampleKeyMap() {
	var meta weakref.KeyMap[Handler, string]
	h := &Handler{Name: "h"}
	meta.Put(h, "owner=alice")
	v, ok := meta.Get(h)
	fmt.Println(v, ok)

	probe := weak.Make(h)
	h = nil
	fmt.Println("collected:", gone(probe))
	fmt.Println("entries:", meta.Len())
	// Output:
	// owner=alice true
	// collected: true
	// entries: 0
}
