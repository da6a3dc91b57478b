package main

import (
	"bytes"
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// newConnGrace is how long a new connection may stay silent before it counts as idle and may
// be closed to make room: a real client sends its request (or TLS hello) at once.
const newConnGrace = time.Second

// connLimiter bounds the connections a server keeps open across all its listeners, so that
// clients cannot take the file descriptors the probes need (each probe opens a connection).
// When every slot is taken, accepting the next connection first closes the connection that has
// been idle longest — a keep-alive connection between requests, or a new one that has not
// finished its request headers newConnGrace after it was accepted — so idle clients cannot
// lock out a scraper either. Connections busy with a request are never closed; their time is
// bounded by the server's timeouts. At most one connection per listener waits for a slot
// beyond the limit.
//
// One client address (an IPv4 address, an IPv6 /64) holds at most perAddr of the slots. A new
// connection from an address that holds them all takes the place of that address's oldest
// connection, whatever its age, that has sent part of a request head and not the rest, else of
// its oldest silent one; or is closed at once if there is none (all busy with requests, or
// with a whole request head sent and not yet read). So clients that open connections and drip their headers (or send nothing) only push
// out each other, never wait in the accept queue in front of other clients, and a real
// client, whose request is sent whole with its connection, is not pushed out however slowly
// the server gets to read it. (Over TLS a request head cannot be seen before the server reads
// it: there, a real client can be pushed out by perAddr later connections from its address.)
type connLimiter struct {
	slots   chan struct{}
	perAddr int
	mu      sync.Mutex
	conns   map[*limitedConn]connState
	byAddr  map[netip.Prefix]int // open connections per client address
}

// connState is what the limiter knows of an open connection.
type connState struct {
	state http.ConnState
	since time.Time
}

// newConnLimiter bounds connections to n in all, n/4 (at least 2) from one client address.
func newConnLimiter(n int) *connLimiter {
	return &connLimiter{slots: make(chan struct{}, n), perAddr: max(2, n/4), conns: map[*limitedConn]connState{}, byAddr: map[netip.Prefix]int{}}
}

// clientPrefix is the address a connection counts against: the IPv4 address, or the IPv6
// /64 (one host's, or one subnet's, as ISPs hand out). Zero for other kinds of address.
func clientPrefix(a net.Addr) netip.Prefix {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Prefix{}
	}
	ip := ap.Addr().Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// admit makes room for a new connection from prefix p when p holds perAddr connections
// already, by closing p's connection idle longest (see connLimiter). It returns false when
// none of p's is idle: the new connection is to be refused.
func (lim *connLimiter) admit(p netip.Prefix) bool {
	lim.mu.Lock()
	if lim.byAddr[p] < lim.perAddr {
		lim.mu.Unlock()
		return true
	}
	type candidate struct {
		c     *limitedConn
		since time.Time
	}
	var waiting []candidate
	for c, st := range lim.conns {
		if c.prefix == p && (st.state == http.StateNew || st.state == http.StateIdle) {
			waiting = append(waiting, candidate{c, st.since})
		}
	}
	lim.mu.Unlock()
	slices.SortFunc(waiting, func(a, b candidate) int { return a.since.Compare(b.since) })
	// A connection that has sent part of a head and not the rest goes first: a client sends its
	// head at once, so that is one dripping it. A silent one goes next: a real client may be
	// about to write its request on a connection it has just opened.
	var silent *limitedConn
	for _, w := range waiting {
		switch whole, partial := w.c.head(); {
		case whole:
		case partial:
			w.c.Close()
			return true
		case silent == nil:
			silent = w.c
		}
	}
	if silent == nil {
		return false
	}
	silent.Close()
	return true
}

// Listener wraps l so that its connections count against the limiter.
func (lim *connLimiter) Listener(l net.Listener) net.Listener {
	return &limitListener{Listener: l, lim: lim, closed: make(chan struct{})}
}

// ConnState is the http.Server hook that tells the limiter which connections are idle.
func (lim *connLimiter) ConnState(c net.Conn, s http.ConnState) {
	tc, encrypted := c.(*tls.Conn)
	if encrypted {
		c = tc.NetConn()
	}
	lc, ok := c.(*limitedConn)
	if !ok {
		return
	}
	if encrypted && s == http.StateNew { // before the server reads anything from it
		lc.mu.Lock()
		lc.encrypted = true
		lc.mu.Unlock()
	}
	lim.mu.Lock()
	defer lim.mu.Unlock()
	if _, open := lim.conns[lc]; open && s != http.StateClosed && s != http.StateHijacked {
		lim.conns[lc] = connState{state: s, since: time.Now()}
		if s == http.StateIdle {
			lc.resetHead()
		}
	}
}

// acquire takes a slot, closing idle connections to make room, until one is free or closed
// is closed.
func (lim *connLimiter) acquire(closed <-chan struct{}) bool {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case lim.slots <- struct{}{}:
			return true
		default:
		}
		lim.evictIdlest(time.Now())
		timer.Reset(100 * time.Millisecond) // a new connection may pass its grace meanwhile
		select {
		case lim.slots <- struct{}{}:
			return true
		case <-timer.C:
		case <-closed:
			return false
		}
	}
}

// evictIdlest closes the connection idle longest, if any is idle; closing it frees its slot.
func (lim *connLimiter) evictIdlest(now time.Time) {
	lim.mu.Lock()
	var victim *limitedConn
	var oldest time.Time
	for c, st := range lim.conns {
		idle := st.state == http.StateIdle || (st.state == http.StateNew && now.Sub(st.since) >= newConnGrace)
		if idle && (victim == nil || st.since.Before(oldest)) {
			victim, oldest = c, st.since
		}
	}
	lim.mu.Unlock()
	if victim != nil {
		victim.Close()
	}
}

func (lim *connLimiter) release(c *limitedConn) {
	lim.mu.Lock()
	delete(lim.conns, c)
	if lim.byAddr[c.prefix]--; lim.byAddr[c.prefix] <= 0 {
		delete(lim.byAddr, c.prefix)
	}
	lim.mu.Unlock()
	<-lim.slots
}

type limitListener struct {
	net.Listener
	lim       *connLimiter
	closeOnce sync.Once
	closed    chan struct{}
}

// Accept accepts the next connection and then waits for a slot for it, so a client waiting
// for a slot holds one descriptor at most. A connection from an address that holds its share
// of the slots busy with requests is closed at once, and the next one accepted.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		p := clientPrefix(c.RemoteAddr())
		if !l.lim.admit(p) {
			c.Close()
			continue
		}
		if !l.lim.acquire(l.closed) {
			c.Close()
			return nil, net.ErrClosed
		}
		lc := &limitedConn{Conn: c, lim: l.lim, prefix: p}
		l.lim.mu.Lock()
		l.lim.conns[lc] = connState{state: http.StateNew, since: time.Now()}
		l.lim.byAddr[p]++
		l.lim.mu.Unlock()
		return lc, nil
	}
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// limitedConn gives its slot back when closed, however often Close is called.
type limitedConn struct {
	net.Conn
	lim       *connLimiter
	prefix    netip.Prefix // the client address it counts against
	closeOnce sync.Once

	mu        sync.Mutex
	encrypted bool    // TLS: what is read is no request text
	readAny   bool    // the server has read part of a request head
	headRead  bool    // the server has read a whole request head
	tail      [2]byte // the last bytes read before it, for a head end split between reads
}

// Read notes when what the server has read holds the end of a request head (an empty line),
// so that the connection is not taken for one that drips its headers while the server parses
// them.
func (c *limitedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if !c.headRead && !c.encrypted {
			c.readAny = true
			c.headRead = headEnd(append(c.tail[:], p[:n]...))
			if n >= 2 {
				copy(c.tail[:], p[n-2:n])
			} else {
				c.tail = [2]byte{c.tail[1], p[0]}
			}
		}
		c.mu.Unlock()
	}
	return n, err
}

// head says whether the client has sent a whole request head (read by the server, or waiting
// in the socket's receive buffer), or only part of one. Over TLS neither can be told.
func (c *limitedConn) head() (whole, partial bool) {
	c.mu.Lock()
	read, readAny, encrypted := c.headRead, c.readAny, c.encrypted
	c.mu.Unlock()
	if read || encrypted {
		return read, false
	}
	waiting := peek(c.Conn)
	if headEnd(waiting) {
		return true, false
	}
	return false, readAny || len(waiting) > 0
}

// resetHead forgets the request head read: the connection is idle, waiting for the next one.
func (c *limitedConn) resetHead() {
	c.mu.Lock()
	c.headRead, c.readAny, c.tail = false, false, [2]byte{}
	c.mu.Unlock()
}

// headEnd says whether b holds the empty line that ends an HTTP/1 request head ("\n\n" or
// "\n\r\n": net/http accepts bare newlines).
func headEnd(b []byte) bool {
	return bytes.Contains(b, []byte("\n\r\n")) || bytes.Contains(b, []byte("\n\n"))
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() { c.lim.release(c) })
	return err
}
