package main

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"

	"github.com/quic-go/quic-go/http3"
)

// HTTP/3: every HTTPS listener has an HTTP/3 one on the same address and port over UDP, with
// the same certificate, as CDN edges serve it (and advertise it in Alt-Svc, see ServeHTTP).
// Scenario vantages with udp: drop get no answer at all, and vantages with http2: false are
// refused h2 in ALPN on the TCP listeners.

// edgeTLSConfig is the HTTPS listeners' TLS configuration: h2 and http/1.1 in ALPN, or only
// http/1.1 for a client of a vantage that sees no HTTP/2.
func edgeTLSConfig(base *tls.Config, vantages []*Vantage) *tls.Config {
	cfg := base.Clone()
	cfg.NextProtos = []string{"h2", "http/1.1"}
	refuse := false
	for _, v := range vantages {
		refuse = refuse || v.HTTP2 != nil && !*v.HTTP2
	}
	if !refuse {
		return cfg
	}
	h1 := base.Clone()
	h1.NextProtos = []string{"http/1.1"}
	cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		if i := vantageOf(vantages, hello.Conn.RemoteAddr().String()); i >= 0 {
			if h2 := vantages[i].HTTP2; h2 != nil && !*h2 {
				return h1, nil
			}
		}
		return nil, nil
	}
	return cfg
}

// dropConn is a UDP socket that silently discards every datagram from the vantages whose
// network drops UDP: to QUIC, a path that never answers. It hides the *net.UDPConn (only
// net.PacketConn's methods show), so that quic-go reads through ReadFrom rather than the
// socket's batch reads.
type dropConn struct {
	net.PacketConn
	udp  *net.UDPConn
	drop []netip.Prefix
}

// ReadFrom returns the next datagram from a source that is not dropped.
func (c *dropConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, ap, err := c.udp.ReadFromUDPAddrPort(p)
		if err != nil {
			return n, nil, err
		}
		if !c.dropped(ap.Addr().Unmap()) {
			return n, net.UDPAddrFromAddrPort(ap), nil
		}
	}
}

func (c *dropConn) dropped(a netip.Addr) bool {
	for _, p := range c.drop {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// http3Listener serves h on UDP addr (an HTTPS listener's bound address) until closed.
type http3Listener struct {
	srv  *http3.Server
	conn net.PacketConn
	done chan struct{}
}

// listenHTTP3 binds UDP on addr and starts serving h over HTTP/3 with tlsCfg's certificate.
func listenHTTP3(addr string, h http.Handler, tlsCfg *tls.Config, vantages []*Vantage, logger *slog.Logger) (*http3Listener, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	udp, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, err
	}
	var conn net.PacketConn = udp
	var drop []netip.Prefix
	for _, v := range vantages {
		if v.UDP == "drop" {
			drop = append(drop, v.prefix)
		}
	}
	if len(drop) > 0 {
		conn = &dropConn{PacketConn: udp, udp: udp, drop: drop}
	}
	l := &http3Listener{
		srv: &http3.Server{
			Handler:   h,
			TLSConfig: http3.ConfigureTLSConfig(tlsCfg.Clone()),
			Logger:    logger,
		},
		conn: conn,
		done: make(chan struct{}),
	}
	go func() {
		defer close(l.done)
		if err := l.srv.Serve(conn); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			logger.Error("HTTP/3 server failed", "addr", addr, "err", err)
		}
	}()
	return l, nil
}

// close stops the listener and waits for its serving goroutine.
func (l *http3Listener) close() {
	l.srv.Close()
	l.conn.Close()
	<-l.done
}

// SetReadBuffer and SetWriteBuffer let quic-go size the socket's buffers, as it does for a
// *net.UDPConn.
func (c *dropConn) SetReadBuffer(n int) error  { return c.udp.SetReadBuffer(n) }
func (c *dropConn) SetWriteBuffer(n int) error { return c.udp.SetWriteBuffer(n) }
