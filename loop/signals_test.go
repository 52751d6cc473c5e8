//go:build unix

package loop_test

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aio-go/aio/future"
	"github.com/aio-go/aio/loop"
)

// The signal tests run outside testing/synctest: signals come from the
// runtime's signal goroutine, outside any bubble. guard is their only
// clock: a deadline that fails a test that would otherwise hang, never a
// wait the test relies on.
const guard = 5 * time.Second

// kill sends the process sig. The test has a handler for it: without one,
// SIGUSR1 and SIGUSR2 end the process.
func kill(t *testing.T, sig syscall.Signal) {
	t.Helper()
	require.NoError(t, syscall.Kill(os.Getpid(), sig))
}

// runUntil runs l until f is done, or fails the test once guard has
// passed.
func runUntil[T any](t *testing.T, l *loop.Loop, f *future.Future[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	stop := context.AfterFunc(ctx, l.Stop)
	defer stop()
	v, err := loop.RunUntilComplete(l, f)
	require.NoError(t, err, "the signal was not handled in time")
	return v
}

func TestSignalHandlerRunsOnTheLoop(t *testing.T) {
	l := loop.New()
	defer l.Close()
	onLoop := future.New[bool](l)
	calls := 0
	require.NoError(t, l.AddSignalHandler(syscall.SIGUSR1, func() {
		calls++
		onLoop.SetResult(l.OnLoop())
	}))
	kill(t, syscall.SIGUSR1)
	assert.True(t, runUntil(t, l, onLoop), "the handler runs as a callback of the loop")
	assert.Equal(t, 1, calls)

	// Each signal runs the handler again.
	again := future.New[int](l)
	require.NoError(t, l.AddSignalHandler(syscall.SIGUSR1, func() { calls++; again.SetResult(calls) }))
	kill(t, syscall.SIGUSR1)
	assert.Equal(t, 2, runUntil(t, l, again))
	assert.True(t, l.RemoveSignalHandler(syscall.SIGUSR1))
}

func TestSignalHandlerReplaced(t *testing.T) {
	l := loop.New()
	defer l.Close()
	var trace []string
	second := future.New[struct{}](l)
	require.NoError(t, l.AddSignalHandler(syscall.SIGUSR2, func() { trace = append(trace, "first") }))
	require.NoError(t, l.AddSignalHandler(syscall.SIGUSR2, func() {
		trace = append(trace, "second")
		second.SetResult(struct{}{})
	}))
	kill(t, syscall.SIGUSR2)
	runUntil(t, l, second)
	assert.Equal(t, []string{"second"}, trace)
	assert.True(t, l.RemoveSignalHandler(syscall.SIGUSR2), "one handler per signal")
	assert.False(t, l.RemoveSignalHandler(syscall.SIGUSR2))
}

// Removing one signal's handler leaves the others working, and the
// removed one does not run again.
func TestRemoveSignalHandler(t *testing.T) {
	l := loop.New()
	defer l.Close()
	assert.False(t, l.RemoveSignalHandler(syscall.SIGUSR1), "no handler yet")

	var trace []string
	usr2 := future.New[struct{}](l)
	require.NoError(t, l.AddSignalHandler(syscall.SIGUSR1, func() { trace = append(trace, "usr1") }))
	require.NoError(t, l.AddSignalHandler(syscall.SIGUSR2, func() {
		trace = append(trace, "usr2")
		usr2.SetResult(struct{}{})
	}))
	require.True(t, l.RemoveSignalHandler(syscall.SIGUSR1))
	assert.False(t, l.RemoveSignalHandler(syscall.SIGUSR1))

	// The test takes SIGUSR1 now, so that it does not end the process.
	caught := make(chan os.Signal, 1)
	signal.Notify(caught, syscall.SIGUSR1)
	defer signal.Stop(caught)
	kill(t, syscall.SIGUSR1)
	select {
	case <-caught:
	case <-time.After(guard):
		t.Fatal("SIGUSR1 did not arrive")
	}
	kill(t, syscall.SIGUSR2)
	runUntil(t, l, usr2)
	assert.Equal(t, []string{"usr2"}, trace)

	// Removing the last handler ends the forwarding goroutine; a new
	// handler starts another.
	require.True(t, l.RemoveSignalHandler(syscall.SIGUSR2))
	again := future.New[struct{}](l)
	require.NoError(t, l.AddSignalHandler(syscall.SIGUSR2, func() { again.SetResult(struct{}{}) }))
	kill(t, syscall.SIGUSR2)
	runUntil(t, l, again)
	assert.True(t, l.RemoveSignalHandler(syscall.SIGUSR2))
}

func TestAddSignalHandlerRejects(t *testing.T) {
	l := loop.New()
	for _, sig := range []os.Signal{syscall.SIGKILL, syscall.SIGSTOP, nil} {
		err := l.AddSignalHandler(sig, func() {})
		require.Error(t, err, "%v", sig)
		assert.Contains(t, err.Error(), "loop: AddSignalHandler: ")
		assert.False(t, errors.Is(err, loop.ErrClosed))
	}
	assert.False(t, l.RemoveSignalHandler(syscall.SIGKILL))
	assert.PanicsWithValue(t, "loop: AddSignalHandler: nil func", func() {
		_ = l.AddSignalHandler(syscall.SIGUSR1, nil)
	})

	require.NoError(t, l.Close())
	err := l.AddSignalHandler(syscall.SIGUSR1, func() {})
	assert.ErrorIs(t, err, loop.ErrClosed)
	assert.Contains(t, err.Error(), "loop: AddSignalHandler: ")
}

// Close removes the handlers and joins the forwarding goroutine.
func TestCloseRemovesSignalHandlers(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	l := loop.New()
	require.NoError(t, l.AddSignalHandler(syscall.SIGUSR1, func() {}))
	require.NoError(t, l.AddSignalHandler(syscall.SIGUSR2, func() {}))
	require.NoError(t, l.Close())
	assert.False(t, l.RemoveSignalHandler(syscall.SIGUSR1), "Close removed it")
}

// A handler does not keep Shutdown from finishing, and it still runs
// while Shutdown waits for a task.
func TestSignalHandlerDuringShutdown(t *testing.T) {
	l := loop.New()
	handled := future.New[struct{}](l)
	require.NoError(t, l.AddSignalHandler(syscall.SIGUSR1, func() { handled.SetResult(struct{}{}) }))
	never := future.New[int](l)
	task := loop.Spawn(l, func(co *loop.Coro) (int, error) {
		_, err := loop.Await(co, never) // cancelled by Shutdown
		if kerr := syscall.Kill(os.Getpid(), syscall.SIGUSR1); kerr != nil {
			return 0, kerr
		}
		if _, herr := loop.Await(co, handled); herr != nil {
			return 0, herr
		}
		return 0, err
	})
	startTasks(t, l)

	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	require.NoError(t, l.Shutdown(ctx))
	assert.True(t, l.IsClosed())
	assert.True(t, handled.Done(), "the handler ran during Shutdown")
	assert.True(t, task.Cancelled())
}

// A loop with only a handler left shuts down at once.
func TestSignalHandlerDoesNotBlockShutdown(t *testing.T) {
	l := loop.New()
	require.NoError(t, l.AddSignalHandler(syscall.SIGUSR2, func() {}))
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	require.NoError(t, l.Shutdown(ctx))
	assert.True(t, l.IsClosed())
	assert.False(t, l.RemoveSignalHandler(syscall.SIGUSR2))
}
