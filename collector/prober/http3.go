package prober

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
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
		udp  *net.UDPConn
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
	wrote, firstByte := clock.times(handed, got)
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
func (s *Spec) dialQUIC(ctx context.Context, a netip.Addr, port int, cfg *tls.Config, deadline time.Time) (*net.UDPConn, *quic.Conn, error) {
	network := "udp4"
	if s.network == "tcp6" {
		network = "udp6"
	}
	var laddr *net.UDPAddr
	if l, ok := s.localAddr(network, net.JoinHostPort(a.String(), "0")).(*net.UDPAddr); ok {
		laddr = l
	}
	udp, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, nil, err
	}
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
