package prober

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	quichttp3 "github.com/quic-go/quic-go/http3"
	xhttp2 "golang.org/x/net/http2"

	"github.com/popexporter/pop_exporter/collector/internal/testhelp"
	"github.com/popexporter/pop_exporter/config"
)

// protoEdge starts a loopback edge on every protocol that records the HTTP version of each
// request it served and answers with Cloudflare's headers and an Alt-Svc for h3 on its port.
func protoEdge(t *testing.T, h2 bool) (*testhelp.EdgeServer, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	var port string
	srv := testhelp.NewEdgeServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Proto)
		mu.Unlock()
		w.Header().Set("Alt-Svc", `h3=":`+port+`"; ma=86400, h3-29=":`+port+`"`)
		w.Header().Set("Cf-Ray", "8f1e2d3c4b5a6978-AMS")
		w.Header().Set("Server", "cloudflare")
		w.Header().Set("Cf-Cache-Status", "HIT")
		fmt.Fprint(w, "ok")
	}), h2)
	port = strconv.Itoa(portOf(srv.URL))
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

func portOf(rawURL string) int {
	i := strings.LastIndexByte(rawURL, ':')
	p, _ := strconv.Atoi(strings.TrimSuffix(rawURL[i+1:], "/"))
	return p
}

// protocolTarget probes srv over protocol, trusting its certificate.
func protocolTarget(t *testing.T, srv *testhelp.EdgeServer, protocol string) *Spec {
	t.Helper()
	return edgeSpec(t, srv, srv.URL+"/", protocol)
}

// Each protocol is spoken as configured, never another: the edge saw HTTP/1.1, HTTP/2.0 and
// HTTP/3.0 requests, and each probe's phases are its protocol's (quic alone over HTTP/3).
func TestProbeEachProtocol(t *testing.T) {
	srv, seen := protoEdge(t, true)
	want := map[string]string{config.ProtocolHTTP11: "HTTP/1.1", config.ProtocolHTTP2: "HTTP/2.0", config.ProtocolHTTP3: "HTTP/3.0"}
	for _, protocol := range config.Protocols {
		t.Run(protocol, func(t *testing.T) {
			before := len(seen())
			s := protocolTarget(t, srv, protocol)
			if s.Protocol != protocol || !strings.HasSuffix(s.Key, "/"+protocol) {
				t.Errorf("Protocol %q, Key %q: want the protocol in both", s.Protocol, s.Key)
			}
			res := s.Run(context.Background())
			if !res.Success {
				t.Fatalf("probe failed: %s %v", res.FailureReason, res.Err)
			}
			if got := seen()[before:]; len(got) != 1 || got[0] != want[protocol] {
				t.Errorf("edge saw %v, want one %s request", got, want[protocol])
			}
			if res.Edge.PoP != "AMS" || res.Edge.CDN != "cloudflare" {
				t.Errorf("edge %s/%s, want cloudflare/AMS", res.Edge.CDN, res.Edge.PoP)
			}
			if res.AltSvc != config.ProtocolHTTP3 {
				t.Errorf("AltSvc = %q, want http3 (h3-29 left out)", res.AltSvc)
			}
			quic := protocol == config.ProtocolHTTP3
			if res.Happened[PhaseQUIC] != quic || res.Happened[PhaseConnect] == quic || res.Happened[PhaseTLS] == quic {
				t.Errorf("happened quic=%v connect=%v tls=%v: want quic only over HTTP/3, connect and tls only over TCP",
					res.Happened[PhaseQUIC], res.Happened[PhaseConnect], res.Happened[PhaseTLS])
			}
			if !res.Happened[PhaseProcessing] || res.Phases[PhaseProcessing] <= 0 {
				t.Errorf("processing = %v (happened %v), want > 0", res.Phases[PhaseProcessing], res.Happened[PhaseProcessing])
			}
			var sum time.Duration
			for _, p := range []Phase{PhaseDNS, PhaseConnect, PhaseTLS, PhaseQUIC, PhaseProcessing} {
				sum += res.Phases[p]
			}
			if sum > res.TTFB || res.TTFB > res.Duration {
				t.Errorf("phases before the first byte sum to %v, ttfb %v, duration %v: want sum ≤ ttfb ≤ duration", sum, res.TTFB, res.Duration)
			}
			if !res.EdgeAddr.IsLoopback() {
				t.Errorf("EdgeAddr = %v, want the loopback address dialled", res.EdgeAddr)
			}
		})
	}
}

// An edge that does not speak HTTP/2 makes the http2 probe fail with reason alpn, instead of
// measuring HTTP/1.1 under the http2 label; HTTP/1.1 on the same edge still works.
func TestProbeHTTP2Refused(t *testing.T) {
	srv, seen := protoEdge(t, false)
	res := protocolTarget(t, srv, config.ProtocolHTTP2).Run(context.Background())
	if res.Success || res.FailureReason != ReasonALPN {
		t.Fatalf("got success=%v reason=%q (%v), want an alpn failure", res.Success, res.FailureReason, res.Err)
	}
	if len(seen()) != 0 {
		t.Errorf("edge served %v, want no request", seen())
	}
	if res := protocolTarget(t, srv, config.ProtocolHTTP11).Run(context.Background()); !res.Success {
		t.Errorf("http1.1 on the same edge: %s %v", res.FailureReason, res.Err)
	}
}

// A UDP path on which nothing answers fails the http3 probe with reason quic, not connect or
// timeout, before the probe's deadline, while the TCP port of the same number is open.
func TestProbeHTTP3SilentUDP(t *testing.T) {
	port := testhelp.SilentUDP(t)
	target := testhelp.Target(t, "silent", fmt.Sprintf("https://127.0.0.1:%d/", port))
	target.Protocols = []string{config.ProtocolHTTP3}
	target.Timeout = config.Duration(2 * time.Second)
	res := testSpec(t, target).Run(context.Background())
	if res.Success || res.FailureReason != ReasonQUIC {
		t.Fatalf("got success=%v reason=%q (%v), want a quic failure", res.Success, res.FailureReason, res.Err)
	}
	if !res.Happened[PhaseQUIC] || res.Happened[PhaseConnect] {
		t.Errorf("happened quic=%v connect=%v, want the quic phase only", res.Happened[PhaseQUIC], res.Happened[PhaseConnect])
	}
	if res.Duration >= 2*time.Second {
		t.Errorf("took %v, want the quic failure before the 2s timeout", res.Duration)
	}
}

// An untrusted certificate over QUIC is a handshake failure of the quic phase: QUIC carries
// TLS, so there is no separate tls failure to report.
func TestProbeHTTP3UntrustedCertificate(t *testing.T) {
	srv, _ := protoEdge(t, true)
	target := testhelp.Target(t, "untrusted", srv.URL+"/")
	target.Protocols = []string{config.ProtocolHTTP3}
	res := testSpec(t, target).Run(context.Background())
	if res.Success || res.FailureReason != ReasonQUIC {
		t.Fatalf("got success=%v reason=%q (%v), want a quic failure", res.Success, res.FailureReason, res.Err)
	}
}

func TestFailureReasonsByProtocol(t *testing.T) {
	srv, _ := protoEdge(t, true)
	for protocol, want := range map[string][]string{
		config.ProtocolHTTP11: {"dns", "connect", "tls", "timeout", "http_status", "body", "panic", "other"},
		config.ProtocolHTTP2:  {"dns", "connect", "tls", "alpn", "timeout", "http_status", "body", "panic", "other"},
		config.ProtocolHTTP3:  {"dns", "quic", "alpn", "timeout", "http_status", "body", "panic", "other"},
	} {
		if got := protocolTarget(t, srv, protocol).FailureReasons(); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: FailureReasons() = %v, want %v", protocol, got, want)
		}
	}
}

func TestAltSvcProtocols(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{`h3=":443"; ma=86400`}, "http3"},
		{[]string{`h3=":443"; ma=86400, h3-29=":443"; ma=86400`}, "http3"},
		{[]string{`h2="alt.example.com:443", h3=":443"`}, "http2,http3"},
		{[]string{`h2=":8443"`}, "http2"},
		{[]string{`clear`}, ""},
		{[]string{`h3-29=":443"`}, ""},
		{[]string{`quic=":443"; ma=2592000; v="46,43"`}, ""},
		{[]string{`h2=":443"`, `h3=":443"`}, "http2,http3"},
		{[]string{""}, ""},
	} {
		if got := altSvcProtocols(tc.in); got != tc.want {
			t.Errorf("altSvcProtocols(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// An edge whose TLS stack knows no ALPN at all (it answers the handshake without choosing a
// protocol, as older servers do) has refused h2 too: reason alpn, no HTTP/1.1 under http2.
func TestProbeHTTP2NoALPN(t *testing.T) {
	edge, _ := protoEdge(t, true)
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: edge.TCP.Config.Handler, TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(tls.NewListener(l, &tls.Config{Certificates: edge.TCP.TLS.Certificates}))
	t.Cleanup(func() { srv.Close() })
	noALPN := *edge
	noALPN.URL = "https://" + l.Addr().String()
	res := protocolTarget(t, &noALPN, config.ProtocolHTTP2).Run(context.Background())
	if res.Success || res.FailureReason != ReasonALPN || !strings.Contains(res.Err.Error(), "negotiated: none") {
		t.Fatalf("got success=%v reason=%q (%v), want an alpn failure naming no protocol", res.Success, res.FailureReason, res.Err)
	}
}

// A QUIC edge that completes the handshake and then never answers the request: the UDP path
// works, so the probe ends at its deadline with reason timeout, not quic, and returns then.
func TestProbeHTTP3SilentAfterHandshake(t *testing.T) {
	edge, _ := protoEdge(t, true)
	ln, err := quic.ListenAddr("127.0.0.1:0", quichttp3.ConfigureTLSConfig(&tls.Config{Certificates: edge.TCP.TLS.Certificates}), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept(ctx)
			if err != nil {
				return
			}
			go func() { <-ctx.Done(); c.CloseWithError(0, "") }() // holds the connection, never reads
		}
	}()
	t.Cleanup(func() { cancel(); ln.Close(); <-done })
	silent := *edge
	silent.URL = "https://" + ln.Addr().String()
	s := protocolTarget(t, &silent, config.ProtocolHTTP3)
	s.Target.Timeout = config.Duration(time.Second)
	res := s.Run(context.Background())
	if res.Success || res.FailureReason != ReasonTimeout {
		t.Fatalf("got success=%v reason=%q (%v), want a timeout", res.Success, res.FailureReason, res.Err)
	}
	if !res.Happened[PhaseQUIC] || res.Duration > 3*time.Second {
		t.Errorf("quic phase %v, took %v: want the handshake done and the probe ended near its 1s deadline", res.Happened[PhaseQUIC], res.Duration)
	}
}

// Each protocol's probe records the handshake it made, with the protocol it offered alone as
// the ALPN the edge agreed to, and the edge's certificate, even when it fails verification:
// the TLS series and the certificate alerts work for HTTP/2 and HTTP/3 probes as for
// HTTP/1.1 ones.
func TestProbeTLSStateEachProtocol(t *testing.T) {
	srv, _ := protoEdge(t, true)
	// The edge's TCP side (httptest with HTTP/2) accepts h2 alone in ALPN: the HTTP/1.1
	// probe, which offers http/1.1 alone, gets no protocol agreed (and does not fall into h2);
	// TestProbeTLSState has an edge that agrees to http/1.1.
	want := map[string]string{config.ProtocolHTTP11: "", config.ProtocolHTTP2: "h2", config.ProtocolHTTP3: "h3"}
	leaf := srv.TCP.Certificate()
	for _, protocol := range config.Protocols {
		t.Run(protocol, func(t *testing.T) {
			res := protocolTarget(t, srv, protocol).Run(t.Context())
			if !res.Success {
				t.Fatalf("probe failed: %s %v", res.FailureReason, res.Err)
			}
			st := res.TLS
			if !st.Handshake || !st.Verified || !st.Certs || st.ALPN != want[protocol] {
				t.Errorf("TLS state %+v: want a verified handshake with ALPN %q", st, want[protocol])
			}
			if !st.Leaf.NotAfter.Equal(leaf.NotAfter) || !st.EarliestExpiry.Equal(leaf.NotAfter) {
				t.Errorf("leaf expiry %v, earliest %v; the edge's certificate expires %v", st.Leaf.NotAfter, st.EarliestExpiry, leaf.NotAfter)
			}

			// Not trusted: the probe fails, and still says which certificate it was served.
			target := testhelp.Target(t, "proto", srv.URL+"/")
			target.Protocols = []string{protocol}
			target.TLS.ServerName = "example.com"
			res = testSpecCompiled(t, target, testhelp.Compiled(target)).Run(t.Context())
			if res.Success || res.TLS.Handshake || !res.TLS.Certs || !res.TLS.Leaf.NotAfter.Equal(leaf.NotAfter) {
				t.Errorf("untrusted edge: success %v, TLS state %+v: want a failure that names the certificate", res.Success, res.TLS)
			}
		})
	}
}

// TestStampedConnOnWire holds the HTTP/3 processing phase to the socket's moments: it starts
// when the first datagram after the request was handed over left, and ends at the last
// datagram that arrived before quic-go reported the response, never at one that arrived
// before the request left (the server's handshake packets) or after the report.
func TestStampedConnOnWire(t *testing.T) {
	base := time.Now()
	at := func(us int) time.Time { return base.Add(time.Duration(us) * time.Microsecond) }
	c := &stampedConn{}
	note := func(us int) { c.reads[c.nread%len(c.reads)] = at(us); c.nread++ }
	note(10) // the server's last handshake datagram
	c.arm(at(100))
	c.sent = at(130) // the request's datagram leaves
	note(900)        // an ACK
	note(2000)       // the response
	note(2600)       // read after quic-go reported the response
	wrote, first := c.onWire(at(120), at(2400))
	if !wrote.Equal(at(130)) || !first.Equal(at(2000)) {
		t.Errorf("onWire = %v, %v after base, want 130µs and 2ms (the request's datagram, the response's)", wrote.Sub(base), first.Sub(base))
	}

	// Nothing read between the request and the report: quic-go's own moments stand.
	c = &stampedConn{}
	c.arm(at(100))
	note(10)
	if wrote, first := c.onWire(at(120), at(2400)); !wrote.Equal(at(120)) || !first.Equal(at(2400)) {
		t.Errorf("onWire without datagrams = %v, %v after base, want 120µs and 2.4ms", wrote.Sub(base), first.Sub(base))
	}

	// A datagram whose write began before the request was handed over is not the request's
	// (quic-go's goroutine may be sending its own as the probe hands the request over), or the
	// processing phase would start inside the handshake phase.
	c = &stampedConn{}
	c.noteSent(at(50)) // before the request exists at all
	c.arm(at(100))
	c.noteSent(at(90)) // began before the hand-over, ended after it
	c.noteSent(at(130))
	c.noteSent(at(140))
	if !c.sent.Equal(at(130)) {
		t.Errorf("sent %v after base, want 130µs: the first write begun after the hand-over", c.sent.Sub(base))
	}

	// More datagrams than the ring holds: the oldest are forgotten, the newest used.
	c = &stampedConn{}
	c.arm(at(100))
	c.sent = at(110)
	for i := range 20 {
		note(1000 + 100*i)
	}
	if _, first := c.onWire(at(120), at(2450)); !first.Equal(at(2400)) {
		t.Errorf("onWire after 20 datagrams: first byte %v after base, want 2.4ms", first.Sub(base))
	}
}

// The HTTP/2 exchange reads what a server can send on its one stream: a body larger than the
// window it first grants (so it must top the window up), 103 Early Hints before the response
// (the first byte is the hint's), trailers, headers beyond the limit, a stream reset before
// or during the response, a body cut short of its content-length; and it sends the
// configured headers but not the ones HTTP/2 forbids.
func TestProbeHTTP2Exchange(t *testing.T) {
	big := strings.Repeat("x", 3*h2Window)
	var mu sync.Mutex
	var got http.Header
	srv := testhelp.NewEdgeServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Clone()
		mu.Unlock()
		w.Header().Set("Server", "cloudflare")
		w.Header().Set("Cf-Ray", "8f1e2d3c4b5a6978-AMS")
		switch r.URL.Path {
		case "/big":
			io.WriteString(w, big)
		case "/hints":
			w.Header().Set("Link", "</app.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			time.Sleep(50 * time.Millisecond)
			io.WriteString(w, "ok")
		case "/trailers":
			w.Header().Set("Trailer", "X-Checksum")
			io.WriteString(w, "ok")
			w.Header().Set("X-Checksum", "abc")
		case "/huge-head":
			w.Header().Set("X-Padding", strings.Repeat("p", maxHeaderBytes+1))
		case "/reset-before":
			panic(http.ErrAbortHandler)
		case "/reset-during":
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		case "/short":
			w.Header().Set("Content-Length", "100")
			io.WriteString(w, "only this")
		default:
			io.WriteString(w, "ok")
		}
	}), true)
	probeOver := func(t *testing.T, protocol, path string, edit func(*config.Target)) Result {
		t.Helper()
		target := testhelp.Target(t, "h2", srv.URL+path)
		target.Protocols = []string{protocol}
		target.TLS.ServerName = "example.com"
		target.BodySizeLimit = 16 << 20
		if edit != nil {
			edit(&target)
		}
		c := testhelp.Compiled(target)
		c.RootCAs = srv.Pool
		return testSpecCompiled(t, target, c).Run(context.Background())
	}
	probe := func(t *testing.T, path string, edit func(*config.Target)) Result {
		t.Helper()
		return probeOver(t, config.ProtocolHTTP2, path, edit)
	}
	bodyVersion := func(tg *config.Target) { tg.Content = &config.Content{VersionFrom: []string{config.VersionBody}} }

	t.Run("body beyond the first window", func(t *testing.T) {
		// The version hashes the body read: the same over HTTP/1.1 and HTTP/2 when both read
		// all 3 MiB.
		res := probe(t, "/big", bodyVersion)
		want := probeOver(t, config.ProtocolHTTP11, "/big", bodyVersion)
		if !res.Success || res.Content.Version == "" || res.Content.Version != want.Content.Version {
			t.Errorf("success %v (%s %v), body version %q: want HTTP/1.1's %q", res.Success, res.FailureReason, res.Err, res.Content.Version, want.Content.Version)
		}
	})
	t.Run("early hints", func(t *testing.T) {
		res := probe(t, "/hints", nil)
		if !res.Success || res.StatusCode != 200 {
			t.Fatalf("success %v status %d (%v), want 200", res.Success, res.StatusCode, res.Err)
		}
		// The hint came 50 ms before the response: the first byte is the hint's.
		if res.Phases[PhaseTransfer] < 40*time.Millisecond {
			t.Errorf("transfer %v, want ≥ 40ms: the first byte is the 103's, 50 ms before the response", res.Phases[PhaseTransfer])
		}
	})
	t.Run("trailers", func(t *testing.T) {
		res := probe(t, "/trailers", bodyVersion)
		if want := probeOver(t, config.ProtocolHTTP11, "/", bodyVersion); !res.Success || res.Content.Version != want.Content.Version {
			t.Errorf("success %v (%v), body version %q: want %q, the version of \"ok\"", res.Success, res.Err, res.Content.Version, want.Content.Version)
		}
	})
	for path, want := range map[string]string{
		"/huge-head":    "response headers exceed",
		"/reset-before": "reset the stream",
		"/reset-during": "reset the stream",
		"/short":        "content-length",
	} {
		t.Run(path, func(t *testing.T) {
			res := probe(t, path, nil)
			if res.Success || res.Err == nil || !strings.Contains(res.Err.Error(), want) {
				t.Errorf("success %v, err %v: want a failure saying %q", res.Success, res.Err, want)
			}
		})
	}
	t.Run("headers", func(t *testing.T) {
		res := probe(t, "/", func(tg *config.Target) {
			tg.Headers = map[string]string{"Accept-Language": "de", "Connection": "keep-alive", "Upgrade": "websocket", "Host": "www.example.com"}
		})
		if !res.Success {
			t.Fatalf("probe failed: %s %v", res.FailureReason, res.Err)
		}
		mu.Lock()
		defer mu.Unlock()
		if got.Get("Accept-Language") != "de" || got.Get("Upgrade") != "" || got.Get("Connection") != "" || !strings.HasPrefix(got.Get("User-Agent"), "pop_exporter") {
			t.Errorf("edge got headers %v: want Accept-Language and the User-Agent, no Connection or Upgrade", got)
		}
	})
}

// A server that answers an HTTP/2 request with nothing but PINGs fails the probe once it has
// sent more frames that are not the response than the probe reads, instead of keeping the
// probe acknowledging them until its timeout.
func TestProbeHTTP2PingFlood(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.TLS = &tls.Config{NextProtos: []string{"h2"}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Config.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){
		"h2": func(_ *http.Server, c *tls.Conn, _ http.Handler) {
			defer c.Close()
			preface := make([]byte, len(xhttp2.ClientPreface))
			if _, err := io.ReadFull(c, preface); err != nil {
				return
			}
			drained := make(chan struct{}) // the probe's acknowledgements, until it hangs up
			go func() { io.Copy(io.Discard, c); close(drained) }()
			fr := xhttp2.NewFramer(c, c)
			if fr.WriteSettings() != nil {
				return
			}
			for i := range 5 * h2MaxControl {
				if fr.WritePing(false, [8]byte{byte(i)}) != nil {
					break
				}
			}
			<-drained
		},
	}
	srv.StartTLS()
	defer srv.Close()
	target := testhelp.Target(t, "flood", srv.URL+"/")
	target.Protocols = []string{config.ProtocolHTTP2}
	target.TLS.ServerName = "example.com"
	c := testhelp.Compiled(target)
	c.RootCAs = x509.NewCertPool()
	c.RootCAs.AddCert(srv.Certificate())
	res := testSpecCompiled(t, target, c).Run(context.Background())
	if res.Success || res.Err == nil || !strings.Contains(res.Err.Error(), "frames that were not the response's") {
		t.Errorf("success %v, err %v: want the probe to give up on the flood", res.Success, res.Err)
	}
}

// A probe's QUIC socket keeps the kernel's default buffers: quic-go is not offered the calls
// with which it would ask for 7 MiB each way on every probe's socket (up to ten system calls,
// and buffers sized for bulk transfers on sockets that carry a dozen datagrams), and its
// warning that it could not is not printed either.
func TestQUICSocketKeepsDefaultBuffers(t *testing.T) {
	srv, _ := protoEdge(t, true)
	s := protocolTarget(t, srv, config.ProtocolHTTP3)

	fresh, err := net.ListenUDP("udp4", nil)
	if err != nil {
		t.Fatal(err)
	}
	wantRcv, wantSnd := socketBuffers(t, fresh)
	fresh.Close()

	var logged strings.Builder
	log.SetOutput(&logged)
	defer log.SetOutput(os.Stderr)
	udp, conn, err := s.dialQUIC(context.Background(), netip.MustParseAddr("127.0.0.1"), portOf(srv.URL), s.tlsConfig, time.Now().Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	defer conn.CloseWithError(0, "")
	if rcv, snd := socketBuffers(t, udp.udp); rcv != wantRcv || snd != wantSnd {
		t.Errorf("socket buffers %d/%d bytes (receive/send), want the defaults %d/%d", rcv, snd, wantRcv, wantSnd)
	}
	if logged.Len() > 0 {
		t.Errorf("the standard logger printed %q, want nothing", logged.String())
	}
}

// socketBuffers reads a socket's SO_RCVBUF and SO_SNDBUF.
func socketBuffers(t *testing.T, c *net.UDPConn) (rcv, snd int) {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var errR, errS error
	if err := raw.Control(func(fd uintptr) {
		rcv, errR = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		snd, errS = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
	}); err != nil || errR != nil || errS != nil {
		t.Fatal(err, errR, errS)
	}
	return rcv, snd
}
