package weakref

import (
	"fmt"
	"log/slog"
	"reflect"
	"runtime"
	"strings"
)

// An Option configures DoneCallback and NewSignal.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	logger *slog.Logger
}

func newConfig(opts []Option) config {
	c := config{logger: slog.Default()}
	for _, o := range opts {
		o.apply(&c)
	}
	return c
}

// WithLogger sets the logger that warns about a callback skipped because its
// receiver was collected. The default is slog.Default() at the time
// DoneCallback or NewSignal is called; a nil logger means the default.
func WithLogger(logger *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if logger != nil {
			c.logger = logger
		}
	})
}

// describe names a receiver type and a callback for a warning: "*main.Handler"
// and "(*Handler).OnDone". The callback's package is left out: the receiver
// names it, and a main package's path differs between go run and go test.
// It runs only when a warning is logged.
func describe[R any](method any) (receiver, callback string) {
	receiver = fmt.Sprintf("%T", (*R)(nil))
	callback = "?"
	if fn := runtime.FuncForPC(reflect.ValueOf(method).Pointer()); fn != nil {
		callback = fn.Name()
		callback = callback[strings.LastIndexByte(callback, '/')+1:]
		if i := strings.IndexByte(callback, '.'); i >= 0 {
			callback = callback[i+1:]
		}
	}
	return receiver, callback
}
