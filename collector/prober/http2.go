package prober

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/popexporter/pop_exporter/config"
)

// http2 is the HTTP/2 exchanger: a TCP connection and TLS handshake of the probe's own, like
// HTTP/1.1's, offering only h2 in ALPN, then net/http's HTTP/2 client on that one connection
// (Transport.NewClientConn): framing, HPACK and flow control are net/http's, the connection
// and every phase boundary the probe's. Nothing is pooled or reused.
type http2 struct{}

// refusedALPN says err is the server's no_application_protocol alert (TLS alert 120). crypto/tls
// reports an alert it received as a *net.OpError "remote error" around its unexported alert
// type, whose text is the only public part; a tls.AlertError is what QUIC reports.
func refusedALPN(err error) bool {
	var alert tls.AlertError
	if errors.As(err, &alert) {
		return alert == 120
	}
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "remote error" && oe.Err != nil && oe.Err.Error() == "tls: no application protocol"
}

func (http2) alpn() []string    { return []string{"h2"} }
func (http2) minTLS() uint16    { return tls.VersionTLS12 } // RFC 9113 §9.2
func (http2) reasons() []string { return http2Reasons }

// http2Protocols makes a Transport speak HTTP/2 alone: a connection that did not negotiate h2
// is never used for HTTP/1.1 instead (the probe checks before it gets there).
var http2Protocols = func() *http.Protocols {
	var p http.Protocols
	p.SetHTTP2(true)
	return &p
}()

// dialedConnKey carries the probe's TLS connection, handshake done, to http2Transport's
// DialTLSContext.
type dialedConnKey struct{}

// http2Transport runs HTTP/2 on connections the probes dialled: NewClientConn takes the one in
// its context as it is, and keeps no pool, so nothing is shared between probes but the
// Transport's settings (set up once: a Transport of its own per probe cost its HTTP/2
// configuration every time). Compression stays off, as in the HTTP/1.1 exchange: the body
// read is what the edge sent.
var http2Transport = &http.Transport{
	Protocols: http2Protocols,
	DialTLSContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		if c, ok := ctx.Value(dialedConnKey{}).(net.Conn); ok {
			return c, nil
		}
		return nil, errors.New("no connection dialled for this HTTP/2 exchange")
	},
	DisableCompression:     true,
	MaxResponseHeaderBytes: maxHeaderBytes,
}

func (http2) roundTrip(ctx context.Context, s *Spec, rq request, hostname, port string, addrs []netip.Addr, res *Result, first bool) (*hop, error) {
	if rq.url.Scheme != "https" {
		return nil, &phaseError{reason: ReasonOther, err: errNotHTTPS(config.ProtocolHTTP2)}
	}
	conn, addr, stop, err := s.dialTCP(ctx, addrs, port, res, first)
	if err != nil {
		return nil, err
	}
	tc, err := s.handshakeTLS(ctx, conn, rq, hostname, res)
	fail := func(reason string, err error) (*hop, error) {
		stop()
		conn.Close()
		return nil, failAt(ctx, reason, err)
	}
	res.TLS = TLSState{} // the last hop's, whatever came before
	if err != nil {
		res.TLS = failedTLSState(err)
		// A server with ALPN protocols of its own none of which is h2 may end the handshake
		// with a no_application_protocol alert (RFC 7301 §3.2), as Go's does.
		if refusedALPN(err) {
			return fail(ReasonALPN, fmt.Errorf("server refused h2 in ALPN: %w", err))
		}
		return fail(ReasonTLS, err)
	}
	res.TLS = tlsState(tc.ConnectionState())
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
		// A server without HTTP/2 answers the handshake without ALPN, or with http/1.1 if
		// the client offers it: either way it refused h2, which is what the probe reports,
		// rather than measuring HTTP/1.1 under the http2 label.
		if p == "" {
			p = "none"
		}
		return fail(ReasonALPN, fmt.Errorf("server refused h2 in ALPN (negotiated: %s)", p))
	}

	cc, err := http2Transport.NewClientConn(context.WithValue(ctx, dialedConnKey{}, tc), "https", net.JoinHostPort(hostname, port))
	if err != nil {
		return fail(ReasonOther, fmt.Errorf("starting HTTP/2: %w", err))
	}
	var clock phaseClock
	req, err := s.newRequest(clock.trace(ctx), rq)
	if err != nil {
		cc.Close()
		return fail(ReasonOther, err)
	}
	handed := time.Now()
	resp, err := cc.RoundTrip(req)
	got := time.Now()
	if err != nil {
		cc.Close()
		return fail(ReasonOther, fmt.Errorf("HTTP/2 request: %w", err))
	}
	h := &hop{resp: resp, addr: addr}
	h.release = func() {
		resp.Body.Close()
		cc.Close()
		stop()
		conn.Close()
	}
	wrote, firstByte := clock.times(handed, got)
	h.firstByte = firstByte
	res.Phases[PhaseProcessing] += firstByte.Sub(wrote)
	res.Happened[PhaseProcessing] = true
	return h, nil
}
