//go:build unix

package main

import (
	"net"
	"syscall"
)

// peek returns what waits unread in c's receive buffer (up to 4 KiB, a request head's usual
// size), without taking it and without blocking; nil when it cannot tell.
func peek(c net.Conn) []byte {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	buf := make([]byte, 4096)
	n := 0
	// Control, not Read: RawConn.Read would wait for the read lock that the server's own Read,
	// blocked until the client sends more, holds.
	raw.Control(func(fd uintptr) {
		n, _, _ = syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	})
	if n <= 0 {
		return nil
	}
	return buf[:n]
}
