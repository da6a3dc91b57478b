package main

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"
)

// One client address is an IPv4 address or an IPv6 /64.
func TestClientPrefix(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7:4711":              "192.0.2.7/32",
		"[2001:db8:1:2:aaaa::1]:4711": "2001:db8:1:2::/64",
		"[2001:db8:1:2:bbbb::9]:1":    "2001:db8:1:2::/64",
		"[::ffff:192.0.2.7]:4711":     "192.0.2.7/32",
		"[fe80::1%eth0]:4711":         "fe80::/64",
	} {
		tcp, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := clientPrefix(tcp); got != netip.MustParsePrefix(want) {
			t.Errorf("clientPrefix(%s) = %v, want %s", addr, got, want)
		}
	}
}

// A connection from an address that holds its share of the slots takes the place of that
// address's oldest connection that has not sent a whole request head; one that has, read by
// the server or not yet, is never pushed out, and when all have, the new one is closed.
func TestConnLimiterPerAddress(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lim := newConnLimiter(8) // 2 per address
	ll := lim.Listener(l)
	defer ll.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ll.Accept()
			if err != nil {
				return
			}
			accepted <- c // never read: the server has not got to it yet
		}
	}()
	dial := func(send string) net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if send != "" {
			if _, err := io.WriteString(c, send); err != nil {
				t.Fatal(err)
			}
		}
		return c
	}
	closed := func(c net.Conn) bool {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := c.Read(make([]byte, 1))
		if err != nil && err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("read: %v, want the connection closed", err)
		}
		return err != nil
	}
	waitAccepted := func() *limitedConn {
		t.Helper()
		select {
		case sc := <-accepted:
			t.Cleanup(func() { sc.Close() })
			return sc.(*limitedConn)
		case <-time.After(10 * time.Second):
			t.Fatal("connection not accepted within 10s")
			return nil
		}
	}
	// headArrived waits until the server side of a connection has the request head the client
	// wrote waiting in its receive buffer.
	headArrived := func(sc *limitedConn) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for whole, _ := sc.head(); !whole; whole, _ = sc.head() {
			if time.Now().After(deadline) {
				t.Fatal("request head not in the receive buffer within 10s")
			}
			time.Sleep(time.Millisecond)
		}
	}

	drip := dial("GET /metrics HTTP/1.1\r\nX-Drip: 1\r\n") // never ends its head
	waitAccepted()
	whole := dial("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n") // a real client, not read yet
	headArrived(waitAccepted())
	third := dial("")
	waitAccepted()
	if !closed(drip) {
		t.Error("the dripping connection was not closed for the third")
	}
	// The third has sent nothing: the fourth, a real client, takes its place, not the whole one's.
	fourth := dial("GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
	headArrived(waitAccepted())
	if !closed(third) {
		t.Error("the silent connection was not closed for the fourth")
	}
	// Both slots hold whole request heads: a fifth is closed at once, and they stay.
	fifth := dial("")
	if !closed(fifth) {
		t.Error("the fifth connection was not closed")
	}
	for _, c := range []net.Conn{whole, fourth} {
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("a connection with a whole request head: %v, want it open", err)
		}
	}
}

// The end of a request head is seen however the reads split it.
func TestHeadEndAcrossReads(t *testing.T) {
	head := "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	for split := 1; split < len(head); split++ {
		c := &limitedConn{Conn: &scriptConn{reads: []string{head[:split], head[split:]}}}
		buf := make([]byte, 64)
		c.Read(buf)
		if split < len(head)-1 && c.headRead {
			t.Errorf("split at %d: head end seen after %q", split, head[:split])
		}
		c.Read(buf)
		if !c.headRead {
			t.Errorf("split at %d: head end not seen", split)
		}
	}
	if headEnd([]byte("GET / HTTP/1.1\r\nX-Drip: 1\r\n")) || !headEnd([]byte("GET / HTTP/1.1\nHost: x\n\n")) {
		t.Error("headEnd: wrong for a dripping head or a head with bare newlines")
	}
}

// scriptConn is a net.Conn whose reads return the given strings in turn.
type scriptConn struct {
	net.Conn
	reads []string
}

func (c *scriptConn) Read(p []byte) (int, error) {
	if len(c.reads) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.reads[0])
	c.reads = c.reads[1:]
	return n, nil
}

// Of an address's connections, one that has sent part of a request head makes room before an
// older silent one: a real client may be about to write on the silent one.
func TestConnLimiterPartialHeadGoesFirst(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ll := newConnLimiter(8).Listener(l) // 2 per address
	defer ll.Close()
	accepted := make(chan *limitedConn, 10)
	go func() {
		for {
			c, err := ll.Accept()
			if err != nil {
				return
			}
			accepted <- c.(*limitedConn)
		}
	}()
	dial := func(send string) (net.Conn, *limitedConn) {
		t.Helper()
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		io.WriteString(c, send)
		select {
		case sc := <-accepted:
			t.Cleanup(func() { sc.Close() })
			return c, sc
		case <-time.After(10 * time.Second):
			t.Fatal("connection not accepted within 10s")
			return nil, nil
		}
	}
	silent, _ := dial("")
	drip, sdrip := dial("GET / HTTP/1.1\r\nX-Drip: 1\r\n")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, partial := sdrip.head(); partial {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the partial head did not arrive within 10s")
		}
	}
	dial("")
	drip.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := drip.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("dripping connection: %v, want it closed", err)
	}
	silent.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := silent.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("older silent connection: %v, want it open", err)
	}
}
