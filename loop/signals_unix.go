//go:build unix

package loop

import (
	"os"
	"syscall"
)

// catchable reports whether sig is a signal the process can catch.
func catchable(sig os.Signal) bool {
	s, ok := sig.(syscall.Signal)
	return ok && s > 0 && s != syscall.SIGKILL && s != syscall.SIGSTOP
}
