package prober

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/popexporter/pop_exporter/collector/internal/testhelp"
	"github.com/popexporter/pop_exporter/config"
)

func testSpec(t testing.TB, target config.Target) *Spec {
	t.Helper()
	return testSpecCompiled(t, target, testhelp.Compiled(target))
}

func testSpecCompiled(t testing.TB, target config.Target, c config.CompiledTarget) *Spec {
	t.Helper()
	var r config.CompiledResolver // the system resolver
	if len(c.Resolvers) > 0 {
		r = c.Resolvers[0]
	}
	s, err := NewSpec(target, c, target.IPProtocols[0], protocolOf(target), r, "pop_exporter/test", nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func probeOnce(t *testing.T, target config.Target) Result {
	t.Helper()
	return testSpec(t, target).Run(context.Background())
}

// A server that waits D before its first byte: processing and TTFB must be at least D, and
// not wildly more. The exact error is measured by BenchmarkTTFBAccuracy.
func TestProbeTimingsCoverServerDelay(t *testing.T) {
	for _, delay := range []time.Duration{50 * time.Millisecond, 200 * time.Millisecond} {
		t.Run(delay.String(), func(t *testing.T) {
			srv := testhelp.DelayServer(delay)
			defer srv.Close()
			target := testhelp.Target(t, "delay", srv.URL)
			target.Timeout = config.Duration(5 * time.Second)
			res := probeOnce(t, target)
			if !res.Success {
				t.Fatalf("probe failed: %s %v", res.FailureReason, res.Err)
			}
			// Generous upper bound: a loaded 2-core CI machine can stall a goroutine for
			// hundreds of milliseconds; the point is that D is measured, not a second more.
			const slack = 750 * time.Millisecond
			for name, got := range map[string]time.Duration{"processing": res.Phases[PhaseProcessing], "ttfb": res.TTFB} {
				if got < delay || got > delay+slack {
					t.Errorf("%s = %v, want in [%v, %v]", name, got, delay, delay+slack)
				}
			}
			if sum := res.Phases[PhaseDNS] + res.Phases[PhaseConnect] + res.Phases[PhaseTLS] + res.Phases[PhaseProcessing]; sum > res.TTFB {
				t.Errorf("dns+connect+tls+processing = %v exceeds ttfb %v", sum, res.TTFB)
			}
			if res.Duration < res.TTFB {
				t.Errorf("duration %v < ttfb %v", res.Duration, res.TTFB)
			}
		})
	}
}

func TestProbeTLSPhaseAndCAFile(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted-CA probe makes it log a handshake error
	srv.StartTLS()
	defer srv.Close()

	target := testhelp.Target(t, "tls", srv.URL)
	res := probeOnce(t, target)
	if res.Success || res.FailureReason != ReasonTLS {
		t.Fatalf("untrusted certificate: got success=%v reason=%q (%v), want tls failure", res.Success, res.FailureReason, res.Err)
	}

	// config.Load reads tls.ca_file into Compiled's RootCAs; trust the test server's certificate.
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	target.TLS.ServerName = "example.com" // httptest's certificate is for example.com and 127.0.0.1
	compiled := testhelp.Compiled(target)
	compiled.RootCAs = pool
	res = testSpecCompiled(t, target, compiled).Run(context.Background())
	if !res.Success {
		t.Fatalf("trusted CA: %s %v", res.FailureReason, res.Err)
	}
	if res.Phases[PhaseTLS] <= 0 || res.Phases[PhaseConnect] <= 0 {
		t.Errorf("tls=%v connect=%v, want both > 0", res.Phases[PhaseTLS], res.Phases[PhaseConnect])
	}

	target.TLS = config.TLSConfig{InsecureSkipVerify: true}
	if res := probeOnce(t, target); !res.Success {
		t.Errorf("insecure_skip_verify: %s %v", res.FailureReason, res.Err)
	}
}

func TestProbeFailureReasons(t *testing.T) {
	refused := func() string { // a loopback port with nothing listening
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	status := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer status.Close()
	trickle := newTrickleServer(t)

	tests := []struct {
		name   string
		target func() config.Target
		reason string
	}{
		{"connection refused", func() config.Target { return testhelp.Target(t, "x", "http://"+refused+"/") }, ReasonConnect},
		{"no answer in time", func() config.Target { return testhelp.Target(t, "x", slow.URL) }, ReasonTimeout},
		{"headers trickle in", func() config.Target { return testhelp.Target(t, "x", "http://"+trickle+"/") }, ReasonTimeout},
		{"invalid status", func() config.Target { return testhelp.Target(t, "x", status.URL) }, ReasonHTTPStatus},
		{"dns server unreachable", func() config.Target {
			tg := testhelp.Target(t, "x", "http://pop-exporter.test/")
			tg.DNSServer = refused
			return tg
		}, ReasonDNS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := probeOnce(t, tt.target())
			if res.Success || res.FailureReason != tt.reason {
				t.Errorf("got success=%v reason=%q err=%v, want reason %q", res.Success, res.FailureReason, res.Err, tt.reason)
			}
		})
	}
}

// newTrickleServer accepts connections and sends a response head one byte every 100 ms, as a
// broken or hostile server might.
func newTrickleServer(t *testing.T) string {
	t.Helper()
	return testhelp.RawServer(t, func(c net.Conn, done <-chan struct{}) {
		for _, b := range []byte("HTTP/1.1 200 OK\r\nX-Slow: " + strings.Repeat("a", 200) + "\r\n\r\n") {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := c.Write([]byte{b}); err != nil {
				return
			}
		}
	})
}

func TestProbeRequestShape(t *testing.T) {
	var got atomic.Pointer[http.Request]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r)
		w.Write([]byte(strings.Repeat("x", 1<<20)))
	}))
	defer srv.Close()

	target := testhelp.Target(t, "shape", srv.URL+"/path?q=1")
	target.Method = "HEAD"
	target.Headers = map[string]string{"Host": "www.example.com", "Pragma": "akamai-x-cache-on"}
	res := probeOnce(t, target)
	if !res.Success {
		t.Fatalf("probe failed: %s %v", res.FailureReason, res.Err)
	}
	r := got.Load()
	if r.Method != "HEAD" || r.Host != "www.example.com" || r.Header.Get("Pragma") != "akamai-x-cache-on" ||
		r.Header.Get("User-Agent") != "pop_exporter/test" || r.URL.RequestURI() != "/path?q=1" {
		t.Errorf("request = %s %s host=%s pragma=%q ua=%q", r.Method, r.URL.RequestURI(), r.Host, r.Header.Get("Pragma"), r.Header.Get("User-Agent"))
	}
	if r.Close != true {
		t.Errorf("request did not ask to close the connection: keep-alive must be off")
	}

	// A 1 MiB body with a 64 KiB limit: the probe reads the limit, not the whole body.
	target = testhelp.Target(t, "big", srv.URL)
	target.BodySizeLimit = 64 << 10
	if res := probeOnce(t, target); !res.Success {
		t.Errorf("large body: %s %v", res.FailureReason, res.Err)
	}
}

func TestProbeRedirectsAndResolve(t *testing.T) {
	var connections atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusFound)
			return
		}
		fmt.Fprint(w, "new")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			connections.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	// resolve pins the hostname to loopback without any DNS lookup.
	target := testhelp.Target(t, "redirect", "http://pinned.pop-exporter.test:"+port+"/old")
	target.Resolve = "127.0.0.1"
	res := probeOnce(t, target)
	if !res.Success || res.StatusCode != 200 {
		t.Fatalf("followed redirect: status=%d reason=%q err=%v", res.StatusCode, res.FailureReason, res.Err)
	}
	if n := connections.Load(); n != 2 {
		t.Errorf("connections = %d, want 2 (a fresh connection per request, no keep-alive)", n)
	}
	if res.Phases[PhaseDNS] != 0 {
		t.Errorf("dns = %v with a pinned address, want 0", res.Phases[PhaseDNS])
	}
	if res.EdgeAddr != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("edge address = %v, want the pinned 127.0.0.1 the final response came from", res.EdgeAddr)
	}

	no := false
	target.FollowRedirects = &no
	res = probeOnce(t, target)
	if !res.Success || res.StatusCode != http.StatusFound {
		t.Errorf("not following: status=%d success=%v, want 302 and success", res.StatusCode, res.Success)
	}
	target.ValidStatusCodes = []int{200}
	if res := probeOnce(t, target); res.Success || res.FailureReason != ReasonHTTPStatus {
		t.Errorf("302 with valid_status_codes [200]: success=%v reason=%q", res.Success, res.FailureReason)
	}
}

func TestProbeIPv6(t *testing.T) {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback on this machine: %v", err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Listener = l
	srv.Start()
	defer srv.Close()

	target := testhelp.Target(t, "v6", srv.URL)
	target.IPProtocols = []string{"ip6"}
	if res := probeOnce(t, target); !res.Success || res.EdgeAddr != netip.IPv6Loopback() {
		t.Errorf("ip6 to [::1]: %s %v, edge address %v", res.FailureReason, res.Err, res.EdgeAddr)
	}
	target.IPProtocols = []string{"ip4"}
	if res := probeOnce(t, target); res.Success || res.EdgeAddr.IsValid() {
		t.Errorf("ip4 to an IPv6 literal: success=%v edge address %v, want a failure without one", res.Success, res.EdgeAddr)
	}
}

// A 503 or a WAF's 403 still says which PoP answered: the probe fails, the edge is known.
func TestErrorResponsesIdentifyTheEdge(t *testing.T) {
	for _, status := range []int{http.StatusForbidden, http.StatusServiceUnavailable} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			// CF-RAY 818bef0efadd4fcf-ORF as captured in the curl dumps of github.com/phonedude/cs533-f23.
			w.Header().Set("Server", "cloudflare")
			w.Header().Set("CF-RAY", "818bef0efadd4fcf-ORF")
			w.WriteHeader(status)
		}))
		res := probeOnce(t, testhelp.Target(t, "blocked", srv.URL))
		srv.Close()
		if res.Success || res.FailureReason != ReasonHTTPStatus || !res.Responded {
			t.Errorf("%d: success=%v reason=%q responded=%v, want a failed probe with a response", status, res.Success, res.FailureReason, res.Responded)
		}
		if res.Edge.CDN != "cloudflare" || res.Edge.PoP != "ORF" {
			t.Errorf("%d: edge = %s/%s, want cloudflare/ORF", status, res.Edge.CDN, res.Edge.PoP)
		}
	}
}

// BenchmarkTTFBAccuracy measures how far the measured processing phase and TTFB are from a
// server delay D that is known exactly, over 200 probes each (see README, Performance):
//
//	go test -run XXX -bench TTFBAccuracy -benchtime 1x ./collector/prober/
func BenchmarkTTFBAccuracy(b *testing.B) {
	const probes = 200
	for _, delay := range []time.Duration{50 * time.Millisecond, 200 * time.Millisecond} {
		b.Run(delay.String(), func(b *testing.B) {
			srv := testhelp.DelayServer(delay)
			defer srv.Close()
			target := testhelp.Target(b, "accuracy", srv.URL)
			target.Timeout = config.Duration(5 * time.Second)
			s := testSpec(b, target)
			for b.Loop() {
				var ttfbErr, procErr []time.Duration
				for range probes {
					res := s.Run(context.Background())
					if !res.Success {
						b.Fatalf("probe failed: %s %v", res.FailureReason, res.Err)
					}
					ttfbErr = append(ttfbErr, res.TTFB-delay)
					procErr = append(procErr, res.Phases[PhaseProcessing]-delay)
				}
				slices.Sort(ttfbErr)
				slices.Sort(procErr)
				p50, p99 := func(d []time.Duration) time.Duration { return d[len(d)/2] }, func(d []time.Duration) time.Duration { return d[len(d)*99/100] }
				b.ReportMetric(float64(p50(ttfbErr).Microseconds()), "ttfb-err-p50-µs")
				b.ReportMetric(float64(p99(ttfbErr).Microseconds()), "ttfb-err-p99-µs")
				b.ReportMetric(float64(p50(procErr).Microseconds()), "processing-err-p50-µs")
				b.ReportMetric(float64(p99(procErr).Microseconds()), "processing-err-p99-µs")
				fmt.Printf("D=%v over %d probes: ttfb-D median %v p99 %v min %v; processing-D median %v p99 %v min %v\n",
					delay, probes, p50(ttfbErr), p99(ttfbErr), ttfbErr[0], p50(procErr), p99(procErr), procErr[0])
			}
		})
	}
}

// Configured headers go to the target's own host: a redirect to another host gets none of
// them (only the exporter's User-Agent), unless follow_redirects_headers says otherwise. A
// redirect on the same host keeps them.
func TestRedirectToAnotherHostDropsConfiguredHeaders(t *testing.T) {
	var seen atomic.Pointer[http.Header]
	other := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Clone()
		seen.Store(&h)
	}))
	l, err := net.Listen("tcp4", "127.0.0.2:0") // another loopback address: another host
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	other.Listener = l
	other.Start()
	defer other.Close()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, "/final", http.StatusFound)
		case "/final":
			h := r.Header.Clone()
			seen.Store(&h)
		default:
			http.Redirect(w, r, other.URL+"/elsewhere", http.StatusFound)
		}
	}))
	defer origin.Close()

	for _, tc := range []struct {
		name, path  string
		sendHeaders bool
		wantSecret  bool
	}{
		{"another host", "/away", false, false},
		{"another host, follow_redirects_headers", "/away", true, true},
		{"same host", "/same", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen.Store(nil)
			target := testhelp.Target(t, "redirect", origin.URL+tc.path)
			target.Headers = map[string]string{"X-Api-Token": "secret", "User-Agent": "custom-agent"}
			target.FollowRedirectsHeaders = tc.sendHeaders
			if res := probeOnce(t, target); !res.Success {
				t.Fatalf("probe failed: %s %v", res.FailureReason, res.Err)
			}
			h := seen.Load()
			if h == nil {
				t.Fatal("the redirect target was never reached")
			}
			if got := h.Get("X-Api-Token") == "secret"; got != tc.wantSecret {
				t.Errorf("X-Api-Token sent after the redirect: %v, want %v", got, tc.wantSecret)
			}
			wantUA := "custom-agent"
			if !tc.wantSecret {
				wantUA = "pop_exporter/test"
			}
			if ua := h.Get("User-Agent"); ua != wantUA {
				t.Errorf("User-Agent after the redirect = %q, want %q", ua, wantUA)
			}
		})
	}
}

// source_address binds every connection of a probe to that local address, including after a
// redirect: the server sees the probe come from 127.0.0.2 (every 127.0.0.0/8 address is
// local on Linux), as a second vantage on the same host would.
func TestProbeSourceAddress(t *testing.T) {
	var (
		mu      sync.Mutex
		clients []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		mu.Lock()
		clients = append(clients, host)
		mu.Unlock()
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusFound)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()

	target := testhelp.Target(t, "from", srv.URL+"/old")
	target.SourceAddress = "127.0.0.2"
	if res := probeOnce(t, target); !res.Success {
		t.Fatalf("probe failed: %s %v", res.FailureReason, res.Err)
	}
	if !slices.Equal(clients, []string{"127.0.0.2", "127.0.0.2"}) {
		t.Errorf("server saw clients %v, want 127.0.0.2 for the request and its redirect", clients)
	}

	// Without it the system picks (127.0.0.1 on loopback).
	clients = nil
	target.SourceAddress = ""
	if res := probeOnce(t, target); !res.Success || clients[0] != "127.0.0.1" {
		t.Errorf("no source_address: success %v, clients %v", res.Success, clients)
	}

	// An address this host does not have fails as a connect error, naming the address.
	target.SourceAddress = "192.0.2.1"
	res := probeOnce(t, target)
	if res.Success || res.FailureReason != ReasonConnect || !strings.Contains(fmt.Sprint(res.Err), "192.0.2.1") {
		t.Errorf("foreign source_address: success %v reason %q err %v, want a connect failure", res.Success, res.FailureReason, res.Err)
	}
}

// The resolver of dns_server binds to source_address too, unless the server is of the other
// family; no source_address is a nil net.Addr, which net.Dialer takes as "any".
func TestLocalAddr(t *testing.T) {
	target := testhelp.Target(t, "dns", "http://example.test/")
	if a := testSpec(t, target).localAddr("tcp4", ""); a != nil {
		t.Errorf("no source_address: local address %v, want nil", a)
	}
	target.SourceAddress = "127.0.0.2"
	s := testSpec(t, target)
	for _, tc := range []struct{ network, remote, want string }{
		{"tcp4", "", "127.0.0.2:0"},
		{"udp", "127.0.0.53:53", "127.0.0.2:0"},
		{"tcp", "dns.example:53", "127.0.0.2:0"},
		{"udp", "[2606:4700:4700::1111]:53", "<nil>"},
	} {
		got := "<nil>"
		if a := s.localAddr(tc.network, tc.remote); a != nil {
			got = a.String()
			if strings.HasPrefix(tc.network, "udp") != (a.Network() == "udp") {
				t.Errorf("%s: local address of network %s", tc.network, a.Network())
			}
		}
		if got != tc.want {
			t.Errorf("localAddr(%s, %s) = %s, want %s", tc.network, tc.remote, got, tc.want)
		}
	}
}

// A body cut short of its Content-Length, or in the middle of a chunk, is a failed probe
// (reason body), not a short success; a body that simply ends is fine.
func TestTruncatedBodyFails(t *testing.T) {
	respond := func(raw string) string {
		return "http://" + testhelp.RawServer(t, func(c net.Conn, _ <-chan struct{}) {
			c.Read(make([]byte, 4096)) // the request
			io.WriteString(c, raw)
		}) + "/"
	}
	for _, tc := range []struct {
		name, raw string
		ok        bool
	}{
		{"content-length cut short", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nhello", false},
		{"chunked cut mid-chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nhello", false},
		{"ends with the connection", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello", true},
		{"complete content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := probeOnce(t, testhelp.Target(t, "cut", respond(tc.raw)))
			if tc.ok && !res.Success {
				t.Errorf("failed: %s %v", res.FailureReason, res.Err)
			}
			if !tc.ok && (res.Success || res.FailureReason != ReasonBody) {
				t.Errorf("success=%v reason=%q, want a body failure", res.Success, res.FailureReason)
			}
		})
	}
}

// A plain-HTTP target that redirects to HTTPS gets a TLS configuration for that hop (with the
// target's TLS settings), though it needs none for itself.
func TestRedirectFromHTTPToHTTPS(t *testing.T) {
	secure := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "secure") }))
	secure.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted probe makes it log a handshake error
	secure.StartTLS()
	defer secure.Close()
	plain := httptest.NewServer(http.RedirectHandler(secure.URL+"/landing", http.StatusMovedPermanently))
	defer plain.Close()
	target := testhelp.Target(t, "upgrade", plain.URL+"/")
	if res := probeOnce(t, target); res.Success || res.FailureReason != ReasonTLS {
		t.Errorf("untrusted certificate after the redirect: success=%v reason=%q, want a tls failure", res.Success, res.FailureReason)
	}
	target.TLS.InsecureSkipVerify = true
	if res := probeOnce(t, target); !res.Success || !res.Happened[PhaseTLS] {
		t.Errorf("redirect to https: success=%v reason=%q err=%v tls=%v", res.Success, res.FailureReason, res.Err, res.Happened[PhaseTLS])
	}
}

// protocolOf is the protocol of a test's probe: the target's first, HTTP/1.1 when it lists none.
func protocolOf(t config.Target) string {
	if len(t.Protocols) > 0 {
		return t.Protocols[0]
	}
	return config.ProtocolHTTP11
}
