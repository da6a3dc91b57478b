package main

import (
	"io"
	"net"
	"net/netip"
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
// address's oldest connection without a complete request; the server never waits for one.
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
			accepted <- c
		}
	}()
	var clients []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients = append(clients, c)
		select {
		case sc := <-accepted:
			defer sc.Close()
		case <-time.After(10 * time.Second):
			t.Fatal("connection not accepted within 10s")
		}
	}
	// The first, silent since it connected, was closed for the third.
	clients[0].SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := clients[0].Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("first connection: read %v, want EOF (closed for the third)", err)
	}
	lim.mu.Lock()
	open := len(lim.conns)
	lim.mu.Unlock()
	if open != 2 {
		t.Errorf("%d connections open, want 2", open)
	}
}
