//go:build !linux

package stream

import "github.com/aio-go/aio/loop"

// poller is Linux's (poller_linux.go); elsewhere every socket is read by
// a goroutine of its own.
type poller struct{}

func pollerFor(*loop.Loop) *poller { return nil }

func (*poller) add(*portable) (uint64, bool) { return 0, false }

func (*poller) watchOut(*portable, uint64) error { return nil }

func (*poller) remove(*portable, uint64) {}
