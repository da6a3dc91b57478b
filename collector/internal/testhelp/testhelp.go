// Package testhelp holds the small helpers that the tests of several collector packages share:
// a target at its effective defaults, a server with a known delay, and polling for a condition.
// Only tests import it.
package testhelp

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"

	"github.com/popexporter/pop_exporter/config"
)

// Target returns a target with every field at its effective default, as config.Parse would
// leave it, probing rawURL.
func Target(t testing.TB, name, rawURL string) config.Target {
	t.Helper()
	if _, err := url.Parse(rawURL); err != nil {
		t.Fatal(err)
	}
	follow := true
	return config.Target{
		Name: name,
		URL:  rawURL,
		Settings: config.Settings{
			Interval:        config.Duration(5 * time.Second),
			Timeout:         config.Duration(3 * time.Second),
			Method:          "GET",
			BodySizeLimit:   64 << 10,
			FollowRedirects: &follow,
			IPProtocols:     []string{"ip4"},
			BaselineWindow:  config.Duration(30 * time.Minute),
		},
	}
}

// Compiled is what config.Parse compiles for target: its parsed URL, its resolvers, and no CA
// pool.
func Compiled(target config.Target) config.CompiledTarget {
	u, _ := url.Parse(target.URL) // Target checked it
	return config.CompiledTarget{URL: u, Resolvers: config.CompileResolvers(&target)}
}

// DelayServer answers every request after waiting exactly d before its first byte.
func DelayServer(d time.Duration) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(d)
		fmt.Fprint(w, "ok")
	}))
}

// WaitFor polls cond until it holds, failing the test after 10 s.
func WaitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// RawServer accepts TCP connections on a loopback port and hands each to serve on its own
// goroutine, for servers that misbehave below HTTP (dripping bytes, cutting bodies short). The
// channel given to serve is closed when the test ends. It returns the listening address.
func RawServer(t testing.TB, serve func(c net.Conn, done <-chan struct{})) string {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c, done)
			}()
		}
	}()
	return l.Addr().String()
}

// EdgeServer is a loopback HTTPS edge that speaks HTTP/1.1 and HTTP/2 (ALPN) on its TCP port
// and HTTP/3 on the same port over UDP, with one certificate (httptest's, for example.com and
// 127.0.0.1), as a CDN edge does.
type EdgeServer struct {
	TCP *httptest.Server
	H3  *http3.Server
	URL string // https://127.0.0.1:port
	// Pool trusts the certificate.
	Pool *x509.CertPool
}

// NewEdgeServer starts an EdgeServer serving h on every protocol; h2 false leaves HTTP/2 out
// of the TCP listener's ALPN (an edge that refuses h2). The test's end closes it.
func NewEdgeServer(t testing.TB, h http.Handler, h2 bool) *EdgeServer {
	t.Helper()
	return NewEdgeServerOn(t, h, h2, nil)
}

// NewEdgeServerOn is NewEdgeServer with its HTTP/3 server reading and writing through
// wrap(udp) instead of its UDP socket, when wrap is not nil.
func NewEdgeServerOn(t testing.TB, h http.Handler, h2 bool, wrap func(*net.UDPConn) net.PacketConn) *EdgeServer {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = h2
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().(*net.TCPAddr)
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: addr.IP, Port: addr.Port})
	if err != nil {
		t.Fatalf("HTTP/3 on the edge's port: %v", err)
	}
	cert := srv.TLS.Certificates
	h3 := &http3.Server{Handler: h, TLSConfig: http3.ConfigureTLSConfig(&tls.Config{Certificates: cert})}
	var pc net.PacketConn = udp
	if wrap != nil {
		pc = wrap(udp)
	}
	done := make(chan struct{})
	go func() { defer close(done); h3.Serve(pc) }()
	t.Cleanup(func() { h3.Close(); udp.Close(); <-done })
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return &EdgeServer{TCP: srv, H3: h3, URL: srv.URL, Pool: pool}
}

// SilentUDP returns a loopback UDP port that reads every datagram and never answers, as a
// network that drops UDP looks to QUIC; and the TCP port of the same number, listening, so
// that only the UDP path is dead. The test's end closes both.
func SilentUDP(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			if _, _, err := udp.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { udp.Close(); l.Close(); <-done })
	return port
}
