//go:build unix

package main

import "syscall"

// openFileLimit returns the soft limit on open file descriptors (which the Go runtime has
// already raised to the hard limit where it could).
func openFileLimit() (uint64, bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, false
	}
	return uint64(rl.Cur), true
}
