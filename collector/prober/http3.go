package prober

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/quic-go/quic-go"
	quichttp3 "github.com/quic-go/quic-go/http3"

	"github.com/popexporter/pop_exporter/config"
)

// http3 is the HTTP/3 exchanger: a QUIC connection (RFC 9000) of the probe's own, from a
// fresh UDP socket to the address the probe's resolver answered (quic-go never resolves the
// name again), then quic-go's HTTP/3 client on that one connection. A full handshake every
// time: no session tickets (no ClientSessionCache), no address validation tokens (no
// TokenStore), no 0-RTT (quic.Dial, not DialEarly), so that what is measured is what a new
// visitor gets, as for the other protocols.
type http3 struct{}

func (http3) alpn() []string    { return []string{"h3"} }
func (http3) minTLS() uint16    { return tls.VersionTLS13 } // RFC 9001 §4.2
func (http3) reasons() []string { return http3Reasons }

// errNoApplicationProtocol is the QUIC error of a TLS no_application_protocol alert (RFC 9001
// §4.8: 0x100 + alert 120): the server does not speak h3.
const errNoApplicationProtocol = quic.TransportErrorCode(0x100 + 120)

// quic-go warns once, through the standard logger, that it could not size the buffers of a
// socket that does not let it (stampedConn, on purpose): nothing is wrong, so nothing is said.
// An operator who set the variable decides.
func init() {
	if _, set := os.LookupEnv("QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING"); !set {
		os.Setenv("QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING", "true")
	}
}

// minQUICIdle is the least time a handshake waits for the server's first packet.
const minQUICIdle = 500 * time.Millisecond

func (http3) roundTrip(ctx context.Context, s *Spec, rq request, hostname, port string, addrs []netip.Addr, res *Result, first bool) (*hop, error) {
	if rq.url.Scheme != "https" {
		return nil, &phaseError{reason: ReasonOther, err: errNotHTTPS(config.ProtocolHTTP3)}
	}
	portNum, err := net.LookupPort("udp", port)
	if err != nil {
		return nil, &phaseError{reason: ReasonOther, err: err}
	}
	cfg := s.tlsConfig
	if !rq.own && !s.sniSet { // another host gets its own name, as in net/http
		cfg = s.newTLSConfig(hostname)
	}

	start := time.Now()
	var (
		udp  *stampedConn
		conn *quic.Conn
		addr netip.Addr
	)
	for i, a := range addrs { // in the resolver's order, the first that completes a handshake
		dctx, cancel := ctx, context.CancelFunc(func() {})
		deadline, ok := dialDeadline(ctx, len(addrs)-i)
		if ok {
			dctx, cancel = context.WithDeadline(ctx, deadline)
		}
		udp, conn, err = s.dialQUIC(dctx, a, portNum, cfg, deadline)
		cancel()
		if err == nil {
			addr = a
			break
		}
		if ctx.Err() != nil {
			break
		}
	}
	res.Phases[PhaseQUIC] += time.Since(start)
	res.Happened[PhaseQUIC] = true
	res.TLS = TLSState{} // the last hop's, whatever came before
	if err != nil {
		res.TLS = failedTLSState(err)
		var te *quic.TransportError
		if errors.As(err, &te) && te.ErrorCode == errNoApplicationProtocol {
			return nil, failAt(ctx, ReasonALPN, fmt.Errorf("server refused h3 in ALPN: %w", err))
		}
		return nil, failAt(ctx, ReasonQUIC, err)
	}
	res.TLS = tlsState(conn.ConnectionState().TLS)
	if first && res.DNS.Answered {
		res.DNS.Addr = addr
	}
	closeConn := func() {
		conn.CloseWithError(0, "")
		udp.Close()
	}

	tr := &quichttp3.Transport{DisableCompression: true, MaxResponseHeaderBytes: maxHeaderBytes}
	cc := tr.NewClientConn(conn)
	var clock phaseClock
	req, err := s.newRequest(clock.trace(ctx), rq)
	if err != nil {
		closeConn()
		return nil, failAt(ctx, ReasonOther, err)
	}
	handed := time.Now()
	udp.arm(handed)
	resp, err := cc.RoundTrip(req)
	got := time.Now()
	if err != nil {
		closeConn()
		return nil, failAt(ctx, ReasonOther, fmt.Errorf("HTTP/3 request: %w", err))
	}
	h := &hop{resp: resp, addr: addr}
	h.release = func() {
		resp.Body.Close()
		closeConn()
	}
	wrote, firstByte := udp.onWire(clock.times(handed, got))
	h.firstByte = firstByte
	res.Phases[PhaseProcessing] += firstByte.Sub(wrote)
	res.Happened[PhaseProcessing] = true
	return h, nil
}

// dialQUIC opens a UDP socket of its own (from source_address, if set) and completes a QUIC
// handshake with a on port. A path on which nothing ever answers (UDP blocked, as some
// networks do for everything but DNS) ends when half the time left to deadline has passed
// without a packet, so that the probe reports quic rather than timeout: telling a blocked
// UDP path from a slow edge is the point.
func (s *Spec) dialQUIC(ctx context.Context, a netip.Addr, port int, cfg *tls.Config, deadline time.Time) (*stampedConn, *quic.Conn, error) {
	network := "udp4"
	if s.network == "tcp6" {
		network = "udp6"
	}
	var laddr *net.UDPAddr
	if l, ok := s.localAddr(network, net.JoinHostPort(a.String(), "0")).(*net.UDPAddr); ok {
		laddr = l
	}
	sock, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, nil, err
	}
	udp := &stampedConn{udp: sock}
	idle := 5 * time.Second // quic-go's default
	if !deadline.IsZero() {
		idle = max(minQUICIdle, time.Until(deadline)/2)
	}
	qcfg := &quic.Config{HandshakeIdleTimeout: idle}
	conn, err := quic.Dial(ctx, udp, net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, uint16(port))), cfg, qcfg)
	if err != nil {
		udp.Close()
		return nil, nil, err
	}
	return udp, conn, nil
}

// stampedConn is the probe's UDP socket as quic-go uses it, noting when datagrams leave it and
// arrive on it. quic-go tells the HTTP/3 client that the request is written once it is queued
// for its connection's goroutine to send, and that a response came once that goroutine has
// read the datagram, decrypted it and handed the stream data over: two or three goroutine
// hand-overs that made the processing phase 0.3 ms longer than the server's own time on a
// loaded 2-core machine (go test -bench TTFBServerTruthProtocols ./collector/prober/). The
// socket's own moments bound the truth more tightly: the request left no earlier than the
// first datagram sent after it was handed over, and its first response byte arrived no later
// than the last datagram read before quic-go reported it.
//
// It offers quic-go only what a net.PacketConn and the don't-fragment option need (not
// ReadMsgUDP/WriteMsgUDP), so quic-go reads and writes one datagram per call through it
// rather than in batches past it; a probe's exchange is a dozen datagrams. Nor does it offer
// SetReadBuffer/SetWriteBuffer: quic-go would spend up to ten system calls a probe asking the
// kernel for 7 MiB socket buffers, sized for bulk transfers, where the socket's defaults
// (hundreds of KiB) hold a probe's whole exchange many times over.
type stampedConn struct {
	udp *net.UDPConn

	mu     sync.Mutex
	handed time.Time // when the request was handed to quic-go; zero until then
	sent   time.Time // the first datagram sent since handed
	reads  [8]time.Time
	nread  int // datagrams read; reads holds the last len(reads) of their times
}

// arm starts watching for the request's datagram: the request was handed over at t.
func (c *stampedConn) arm(t time.Time) {
	c.mu.Lock()
	c.handed = t
	c.mu.Unlock()
}

// onWire narrows the moments quic-go reported, wrote and firstByte, to the socket's: the
// first datagram sent after the request was handed over (if before wrote), and the last
// datagram read at or before firstByte, if it came after the request left.
func (c *stampedConn) onWire(wrote, firstByte time.Time) (time.Time, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.sent.IsZero() {
		wrote = c.sent
	}
	var last time.Time
	for i := max(0, c.nread-len(c.reads)); i < c.nread; i++ {
		if t := c.reads[i%len(c.reads)]; !t.After(firstByte) && !t.Before(wrote) && t.After(last) {
			last = t
		}
	}
	if !last.IsZero() {
		firstByte = last
	}
	return wrote, firstByte
}

// WriteTo sends a datagram, noting the first one after the request was handed over. The time
// is taken before the system call, as the HTTP/1.1 exchange takes it before its write.
func (c *stampedConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	t := time.Now()
	n, err := c.udp.WriteTo(b, addr)
	if err == nil {
		c.noteSent(t)
	}
	return n, err
}

// noteSent notes a datagram whose write began at t: the request's, if it is the first to
// begin after the request was handed over. One that began before (quic-go's own, on its
// goroutine) is not, even if its write ends after.
func (c *stampedConn) noteSent(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.handed.IsZero() && c.sent.IsZero() && !t.Before(c.handed) {
		c.sent = t
	}
}

// ReadFrom reads a datagram, noting when it came.
func (c *stampedConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.udp.ReadFrom(b)
	if err == nil {
		t := time.Now()
		c.mu.Lock()
		c.reads[c.nread%len(c.reads)] = t
		c.nread++
		c.mu.Unlock()
	}
	return n, addr, err
}

// Close closes the socket.
func (c *stampedConn) Close() error { return c.udp.Close() }

// LocalAddr is the socket's address.
func (c *stampedConn) LocalAddr() net.Addr { return c.udp.LocalAddr() }

// SetDeadline sets the socket's deadlines.
func (c *stampedConn) SetDeadline(t time.Time) error { return c.udp.SetDeadline(t) }

// SetReadDeadline sets the socket's read deadline.
func (c *stampedConn) SetReadDeadline(t time.Time) error { return c.udp.SetReadDeadline(t) }

// SetWriteDeadline sets the socket's write deadline.
func (c *stampedConn) SetWriteDeadline(t time.Time) error { return c.udp.SetWriteDeadline(t) }

// SyscallConn is the socket's, for quic-go to set the don't-fragment bit that its path MTU
// discovery needs.
func (c *stampedConn) SyscallConn() (syscall.RawConn, error) { return c.udp.SyscallConn() }
