//go:build !unix

package loop

import "os"

// catchable reports whether sig is a signal the process can catch.
func catchable(sig os.Signal) bool { return sig != nil && sig != os.Kill }
