package prober

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// A probe speaks HTTP/1.1 itself on a connection it dialled, instead of going through an
// http.Transport. The Transport is built for reuse: per request it starts three goroutines
// (dial, read loop, write loop), allocates its connection buffers and reports phases through
// httptrace callbacks on other goroutines. A probe never reuses anything, so all of that was
// overhead, and it blurred the phase boundaries the probe exists to measure. Here each phase
// is timed where it happens, on the probe's own goroutine. The request head is written here;
// net/http only parses the response (http.ReadResponse: status line, headers, chunked or
// sized bodies).

var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 2<<10) }}
	peekPool   = sync.Pool{New: func() any { b := make([]byte, bodyPeekBytes); return &b }}
)

// errHeadersTooLarge ends a response whose head is larger than maxHeaderBytes.
var errHeadersTooLarge = fmt.Errorf("response headers exceed %d bytes", maxHeaderBytes)

// phaseError is an error of one phase of the exchange; the phase decides the failure reason.
type phaseError struct {
	reason string
	err    error
}

func (e *phaseError) Error() string { return e.err.Error() }
func (e *phaseError) Unwrap() error { return e.err }

// failAt wraps err as a failure of a phase with the given reason, unless the probe's time ran
// out, which is a timeout whatever the phase. A resolver that gives up on its own, before the
// probe's deadline, is a dns failure, not a timeout.
func failAt(ctx context.Context, reason string, err error) error {
	if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
		reason = ReasonTimeout
	}
	return &phaseError{reason: reason, err: err}
}

// minDialTime is the least time one address of several gets to connect, as net.Dialer gives.
const minDialTime = 2 * time.Second

// maxDialAddrs bounds the addresses one connection tries, in the resolver's order: a DNS answer
// may hold thousands (a 64 KiB answer over TCP holds 4,000 A records), and each costs a socket
// and a connect. Real CDN answers hold a handful; the first that answers is the edge.
const maxDialAddrs = 8

// dialDeadline shares the time left among the addresses still to try, like net.Dialer: a
// first address that never answers must not take the time the next one needs.
func dialDeadline(ctx context.Context, left int) (time.Time, bool) {
	deadline, ok := ctx.Deadline()
	if !ok || left <= 1 {
		return deadline, ok
	}
	share := time.Until(deadline) / time.Duration(left)
	if share < minDialTime {
		share = min(minDialTime, time.Until(deadline))
	}
	return time.Now().Add(share), true
}

// request is one hop of a probe: where it goes and what it sends.
type request struct {
	url    *url.URL
	method string
	host   string // Host header; the URL's host when empty
	own    bool   // the target's own host: configured headers and resolve apply
}

// hop is an open exchange: the response head has been read, the body has not.
type hop struct {
	conn      net.Conn // HTTP/1.1: the connection, and br its reader
	br        *bufio.Reader
	resp      *http.Response
	firstByte time.Time
	addr      netip.Addr // the address the connection went to
	stop      func() bool
	// release, when set, releases the hop instead (the protocols whose connection a client
	// connection of net/http or quic-go holds).
	release func()
}

// close releases the hop's connection and buffers.
func (h *hop) close() {
	if h.release != nil {
		h.release()
		return
	}
	h.stop()
	h.conn.Close()
	h.br.Reset(nil)
	readerPool.Put(h.br)
}

// firstByteReader records when the first byte of the response arrived and bounds how much
// the response head may take.
type firstByteReader struct {
	conn      net.Conn
	firstByte time.Time
	limit     int64 // bytes still allowed before the head is complete; < 0: no limit
}

func (r *firstByteReader) Read(p []byte) (int, error) {
	if r.limit == 0 {
		return 0, errHeadersTooLarge
	}
	if r.limit > 0 && int64(len(p)) > r.limit {
		p = p[:r.limit]
	}
	n, err := r.conn.Read(p)
	if n > 0 {
		if r.firstByte.IsZero() {
			r.firstByte = time.Now()
		}
		if r.limit > 0 {
			r.limit -= int64(n)
		}
	}
	return n, err
}

// roundTrip sends one request on a fresh connection in the probe's protocol and reads the
// response head, adding the time of each phase to res. first is the probe's first request
// (to the target's own host), whose DNS answer res.DNS records. The caller reads the body and
// closes the hop.
func (s *Spec) roundTrip(ctx context.Context, rq request, res *Result, first bool) (*hop, error) {
	hostname, port := rq.url.Hostname(), rq.url.Port()
	if port == "" {
		port = "80"
		if rq.url.Scheme == "https" {
			port = "443"
		}
	}
	addrs, err := s.resolve(ctx, hostname, rq.own, res, first)
	if err != nil {
		return nil, err
	}
	answered := len(addrs)
	addrs = addrs[:min(len(addrs), maxDialAddrs)]
	var h *hop
	// Each protocol's exchange is called by its concrete type: a call through the exchanger
	// interface would let the compiler assume the callee keeps res, and every probe's Result
	// would be allocated on the heap (400 bytes and an allocation per probe). A new exchanger
	// adds its case here.
	switch ex := s.exchange.(type) {
	case http1:
		h, err = ex.roundTrip(ctx, s, rq, hostname, port, addrs, res, first)
	case http2:
		h, err = ex.roundTrip(ctx, s, rq, hostname, port, addrs, res, first)
	case http3:
		h, err = ex.roundTrip(ctx, s, rq, hostname, port, addrs, res, first)
	default:
		return nil, fmt.Errorf("no exchange for protocol %q", s.Protocol)
	}
	if err != nil && answered > len(addrs) {
		var pe *phaseError // declared here: errors.As puts it on the heap
		if errors.As(err, &pe) && (pe.reason == ReasonConnect || pe.reason == ReasonQUIC) {
			pe.err = fmt.Errorf("%w (tried the first %d of %d addresses)", pe.err, len(addrs), answered)
		}
	}
	return h, err
}

// http1 is the HTTP/1.1 exchanger: the request head written by hand, the response parsed by
// net/http, on a connection the probe dialled itself.
type http1 struct{}

// http1ALPN is what an HTTP/1.1 probe offers: http/1.1 alone, so the edge's answer (or its
// silence) is what pop_probe_tls_info reports.
var http1ALPN = []string{"http/1.1"}

func (http1) alpn() []string    { return http1ALPN }
func (http1) minTLS() uint16    { return 0 }
func (http1) reasons() []string { return FailureReasons }

// dialTCP connects to the first of addrs that answers, in the resolver's order like
// net.Dialer, timing the connect phase. The connection obeys the probe's deadline and ends at
// once when the probe is cancelled (a reload or shutdown): stop undoes that.
func (s *Spec) dialTCP(ctx context.Context, addrs []netip.Addr, port string, res *Result, first bool) (conn net.Conn, addr netip.Addr, stop func() bool, err error) {
	start := time.Now()
	for i, a := range addrs {
		// No TCP keep-alive: the connection lives for one exchange, and enabling it costs four
		// setsockopt calls per probe.
		d := net.Dialer{LocalAddr: s.localAddr(s.network, ""), KeepAlive: -1}
		if deadline, ok := dialDeadline(ctx, len(addrs)-i); ok {
			d.Deadline = deadline
		}
		conn, err = d.DialContext(ctx, s.network, net.JoinHostPort(a.String(), port))
		if err == nil {
			addr = a
			break
		}
		if ctx.Err() != nil {
			break
		}
	}
	res.Phases[PhaseConnect] += time.Since(start)
	res.Happened[PhaseConnect] = true
	if err != nil {
		return nil, addr, nil, failAt(ctx, ReasonConnect, err)
	}
	if first && res.DNS.Answered {
		res.DNS.Addr = addr
	}
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	raw := conn // a TLS connection on it sits on the same socket
	stop = context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	return conn, addr, stop, nil
}

// handshakeTLS runs the TLS handshake of a hop to hostname on conn, timing the tls phase.
// The TLS connection sits on a corkConn: the client's last handshake flight waits there for
// the request, and the caller sends both with uncork. Closing the TLS connection sends
// whatever is still held.
func (s *Spec) handshakeTLS(ctx context.Context, conn net.Conn, rq request, hostname string, res *Result) (*tls.Conn, *corkConn, error) {
	cfg := s.tlsConfig
	if cfg == nil || !rq.own && !s.sniSet { // another host gets its own name, as in net/http
		cfg = s.newTLSConfig(hostname)
	}
	start := time.Now()
	ck := newCorkConn(conn)
	tc := tls.Client(ck, cfg)
	err := tc.HandshakeContext(ctx)
	res.Phases[PhaseTLS] += time.Since(start)
	res.Happened[PhaseTLS] = true
	if err != nil {
		ck.uncork() // the alert that tells the server why
	}
	return tc, ck, err
}

// corkConn holds what the client writes until it next reads, or until uncork. In a TLS 1.3
// handshake the client's last flight (its Finished) needs no answer, so it waits there for the
// request and both go out in one write, as browsers send them (RFC 8446 §4.4.4 lets the client
// send application data right after its Finished); every flight that needs an answer (the
// ClientHello, a second one after a HelloRetryRequest, TLS 1.2's Finished) goes out as the
// client starts reading for that answer. The profile of HTTPS probes had each write to a
// loopback edge at 2% of the CPU (the kernel delivers to the receiving socket in the writer's
// system call): one write fewer per probe.
type corkConn struct {
	net.Conn
	buf *[]byte // from corkPool; nil once uncorked
}

var corkPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

func newCorkConn(c net.Conn) *corkConn {
	return &corkConn{Conn: c, buf: corkPool.Get().(*[]byte)}
}

func (c *corkConn) Write(p []byte) (int, error) {
	if c.buf == nil {
		return c.Conn.Write(p)
	}
	*c.buf = append(*c.buf, p...)
	return len(p), nil
}

func (c *corkConn) Read(p []byte) (int, error) {
	if err := c.flush(); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

// flush writes what is held, staying corked.
func (c *corkConn) flush() error {
	if c.buf == nil || len(*c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(*c.buf)
	*c.buf = (*c.buf)[:0]
	return err
}

// uncork writes what is held and lets every later write through.
func (c *corkConn) uncork() error {
	err := c.flush()
	if c.buf != nil {
		if cap(*c.buf) <= 16<<10 { // a pooled buffer does not keep an odd large flight alive
			corkPool.Put(c.buf)
		}
		c.buf = nil
	}
	return err
}

// Close sends what is held, then closes the connection.
func (c *corkConn) Close() error {
	c.uncork()
	return c.Conn.Close()
}

func (http1) roundTrip(ctx context.Context, s *Spec, rq request, hostname, port string, addrs []netip.Addr, res *Result, first bool) (*hop, error) {
	conn, addr, stop, err := s.dialTCP(ctx, addrs, port, res, first)
	if err != nil {
		return nil, err
	}
	h := &hop{conn: conn, addr: addr, stop: stop}
	fail := func(reason string, err error) (*hop, error) {
		stop()
		conn.Close()
		return nil, failAt(ctx, reason, err)
	}

	res.TLS = TLSState{} // the last hop's, whatever came before
	var ck *corkConn
	if rq.url.Scheme == "https" {
		tc, cork, err := s.handshakeTLS(ctx, conn, rq, hostname, res)
		if err != nil {
			res.TLS = failedTLSState(err)
			return fail(ReasonTLS, err)
		}
		res.TLS = tlsState(tc.ConnectionState())
		conn, h.conn, ck = tc, tc, cork
	}

	bw := writerPool.Get().(*bufio.Writer)
	bw.Reset(conn)
	s.writeRequest(bw, rq)
	// The processing phase starts as the request goes to the kernel: a timestamp taken after
	// the write could be late by however long this goroutine waits to run again, and make the
	// phase shorter than the server's own time.
	wrote := time.Now()
	err = bw.Flush() // over TLS: encrypted into the cork, behind the handshake's Finished
	if err == nil && ck != nil {
		err = ck.uncork()
	}
	bw.Reset(nil)
	writerPool.Put(bw)
	if err != nil {
		return fail(ReasonOther, fmt.Errorf("writing request: %w", err))
	}

	fr := &firstByteReader{conn: conn, limit: maxHeaderBytes}
	h.br = readerPool.Get().(*bufio.Reader)
	h.br.Reset(fr)
	req := &http.Request{Method: rq.method, URL: rq.url}
	for {
		h.resp, err = http.ReadResponse(h.br, req)
		// 1xx responses (103 Early Hints from CDNs) precede the real one; 101 would be a protocol
		// switch nobody asked for and ends the exchange like any other final status.
		if err != nil || h.resp.StatusCode >= 200 || h.resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
	}
	if err != nil {
		h.close()
		if errors.Is(err, errHeadersTooLarge) {
			return nil, failAt(ctx, ReasonOther, err)
		}
		return nil, failAt(ctx, ReasonOther, fmt.Errorf("reading response: %w", err))
	}
	fr.limit = -1 // the head is complete: the body limit is the caller's
	h.firstByte = fr.firstByte
	res.Phases[PhaseProcessing] += h.firstByte.Sub(wrote)
	res.Happened[PhaseProcessing] = true
	return h, nil
}

// resolve returns the addresses to dial for hostname: the pinned address for the target's own
// host, the literal for an IP URL, otherwise a fresh lookup on the probe's family through the
// probe's resolver (neither Go's resolver nor the configured ones keep a cache). On the first
// request the answer goes to res.DNS.
func (s *Spec) resolve(ctx context.Context, hostname string, own bool, res *Result, first bool) ([]netip.Addr, error) {
	if own && s.pinned.IsValid() {
		return []netip.Addr{s.pinned}, nil
	}
	if a, err := netip.ParseAddr(hostname); err == nil {
		return []netip.Addr{a}, nil
	}
	var ans *DNSAnswer
	if first {
		ans = &res.DNS
	}
	if s.dns != nil {
		return s.resolveWith(ctx, hostname, res, ans)
	}
	network := "ip4"
	if s.network == "tcp6" {
		network = "ip6"
	}
	start := time.Now()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, network, hostname)
	res.Phases[PhaseDNS] += time.Since(start)
	res.Happened[PhaseDNS] = true
	if err != nil {
		return nil, failAt(ctx, ReasonDNS, err)
	}
	if len(addrs) == 0 {
		return nil, failAt(ctx, ReasonDNS, &net.DNSError{Err: "no " + network + " address", Name: hostname, IsNotFound: true})
	}
	// Go's resolver answers an ip4 lookup from /etc/hosts with IPv4-mapped IPv6 addresses
	// (::ffff:127.0.0.1): the address label says 127.0.0.1, as the configured resolvers do.
	for i, a := range addrs {
		addrs[i] = a.Unmap()
	}
	if ans != nil {
		ans.Answered, ans.Addr = true, addrs[0]
	}
	return addrs, nil
}

// resolveWith looks hostname up through the probe's configured resolver. Whatever goes wrong
// there, the resolver not answering in the probe's time included, is a dns failure: the
// resolver label says which resolver, and the debug log its error and rcode.
func (s *Spec) resolveWith(ctx context.Context, hostname string, res *Result, ans *DNSAnswer) ([]netip.Addr, error) {
	start := time.Now()
	addrs, err := s.dns.lookup(ctx, s, hostname, ans)
	res.Phases[PhaseDNS] += time.Since(start)
	res.Happened[PhaseDNS] = true
	if ans != nil && len(addrs) > 0 {
		ans.Addr = addrs[0]
	}
	if err != nil {
		return nil, &phaseError{reason: ReasonDNS, err: err}
	}
	return addrs, nil
}

// writeRequest writes the request head: request line, Host, the headers prepared for this
// host, and Connection: close (every probe is a fresh connection).
func (s *Spec) writeRequest(w *bufio.Writer, rq request) {
	w.WriteString(rq.method)
	w.WriteByte(' ')
	w.WriteString(rq.url.RequestURI())
	w.WriteString(" HTTP/1.1\r\nHost: ")
	if rq.host != "" {
		w.WriteString(rq.host)
	} else {
		w.WriteString(rq.url.Host)
	}
	w.WriteString("\r\n")
	if rq.own || s.Target.FollowRedirectsHeaders {
		w.WriteString(s.headerBlock)
	} else {
		w.WriteString(s.foreignHeaderBlock)
	}
	switch rq.method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		w.WriteString("Content-Length: 0\r\n") // as net/http sends for these methods without a body
	}
	w.WriteString("Connection: close\r\n\r\n")
}

// headerBlock renders headers as request header lines, in a fixed order.
func headerBlock(h http.Header) string {
	var b strings.Builder
	_ = h.WriteSubset(&b, nil)
	return b.String()
}

// readBody reads the body up to limit bytes, keeping the first bodyPeekBytes for
// identification in *peek, which the caller returns to peekPool; every byte read also goes to
// sink when it is not nil (the content hash, the body checks). Only io.EOF ends a body
// cleanly: a body cut short of its Content-Length or its last chunk is an error
// (io.ErrUnexpectedEOF from the body reader).
func readBody(body io.Reader, limit int64, sink *bodySink) (peek *[]byte, n int, err error) {
	peek = peekPool.Get().(*[]byte)
	buf := (*peek)[:min(limit, bodyPeekBytes)]
	for n < len(buf) && err == nil {
		var m int
		m, err = body.Read(buf[n:])
		n += m
	}
	if sink != nil {
		sink.Write(buf[:n])
	}
	switch {
	case err == io.EOF:
		return peek, n, nil
	case err != nil:
		return peek, n, err
	}
	if sink != nil {
		_, err = io.CopyBuffer(sink, io.LimitReader(body, limit-int64(n)), sink.copy[:])
		return peek, n, err
	}
	_, err = io.Copy(io.Discard, io.LimitReader(body, limit-int64(n)))
	return peek, n, err
}
