//go:build !unix

package stream

import (
	"net"
	"syscall"
)

// rawConn returns nil: off Unix every write goes through the writer
// goroutine.
func rawConn(net.Conn) syscall.RawConn { return nil }

func tryWrite(syscall.RawConn, []byte) (int, error) { return 0, nil }

func readRaw(syscall.RawConn, *readBuffer, bool) (int, error) { return 0, nil }
