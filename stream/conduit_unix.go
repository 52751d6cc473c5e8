//go:build unix

package stream

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// rawConn returns conn's syscall.RawConn if conn is a socket whose writes
// can be tried without blocking, or nil.
func rawConn(conn net.Conn) syscall.RawConn {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// tryWrite writes what the socket takes now, without waiting: asyncio's
// write, which sends at once when nothing is buffered. It returns how many
// bytes were written; an error is the socket's, and fatal.
func tryWrite(rc syscall.RawConn, b []byte) (n int, err error) {
	cerr := rc.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, werr := syscall.Write(int(fd), b[n:])
			if werr == syscall.EINTR {
				continue
			}
			if werr == syscall.EAGAIN {
				break
			}
			if werr != nil {
				err = os.NewSyscallError("write", werr)
				break
			}
			n += m
		}
		return true // never wait for the socket: the writer goroutine does
	})
	if err == nil && cerr != nil && !errors.Is(cerr, net.ErrClosed) {
		err = cerr
	}
	return n, err
}

// readRaw reads once from the socket into r. If the socket has nothing to
// read, it waits for data holding no buffer (r's buffer is back in its
// pool), or, unless wait is set, returns n == 0 and a nil error at once.
// It returns io.EOF at the end of the stream.
func readRaw(rc syscall.RawConn, r *readBuffer, wait bool) (n int, err error) {
	cerr := rc.Read(func(fd uintptr) bool {
		for {
			m, rerr := syscall.Read(int(fd), r.get())
			switch {
			case rerr == syscall.EINTR:
				continue
			case rerr == syscall.EAGAIN:
				r.put()
				return !wait
			case rerr != nil:
				err = os.NewSyscallError("read", rerr)
			case m == 0:
				err = io.EOF
			default:
				n = m
			}
			return true
		}
	})
	if err == nil && cerr != nil {
		err = cerr
	}
	return n, err
}
