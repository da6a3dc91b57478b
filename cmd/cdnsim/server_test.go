package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
)

const faultScenario = `
targets:
  - {name: ok, cdn: cloudflare, pops: {stay: AMS}, ttfb: {default: {median: 0s}}}
  - {name: err, cdn: fastly, pops: {stay: FRA}, ttfb: {default: {median: 0s}}, faults: {error_rate: 1, status: 502}}
  - {name: reset, cdn: cloudflare, pops: {stay: AMS}, faults: {reset_rate: 1}}
  - {name: timeout, cdn: cloudflare, pops: {stay: AMS}, faults: {timeout_rate: 1, timeout_hold: 10s}}
  - {name: slow, cdn: vercel, pops: {stay: FRA}, ttfb: {default: {median: 0s}}, faults: {slow_headers_rate: 1, slow_headers_time: 600ms}}
`

// startTest runs the simulator on loopback ports picked by the kernel.
func startTest(t *testing.T, yml string) (*running, *http.Client) {
	t.Helper()
	sc := mustScenario(t, yml)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	opts := options{seed: 1, httpAddr: "127.0.0.1:0", httpsAddr: "127.0.0.1:0"}
	rs, err := startServers(sc, opts, caFile, promslog.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rs.shutdown)
	return rs, trustingClient(t, caFile)
}

// trustingClient trusts only the CA file cdnsim wrote and, like the exporter, opens a fresh
// connection per request.
func trustingClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatalf("CA file not written: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("CA file %s holds no certificate", caFile)
	}
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		DisableKeepAlives: true,
	}}
}

func TestHTTPSTrustsWrittenCA(t *testing.T) {
	rs, client := startTest(t, faultScenario)
	for _, url := range []string{
		"https://" + rs.ep.httpsAddr + "/ok/some/page",
		"https://localhost:" + rs.ep.httpsAddr[strings.LastIndexByte(rs.ep.httpsAddr, ':')+1:] + "/ok/",
		"http://" + rs.ep.httpAddr + "/ok/",
	} {
		resp, err := client.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasSuffix(resp.Header.Get("Cf-Ray"), "-AMS") || resp.Header.Get("Server") != "cloudflare" {
			t.Errorf("GET %s: %d %v", url, resp.StatusCode, resp.Header)
		}
		if strings.HasPrefix(url, "https") && (resp.TLS == nil || resp.Proto != "HTTP/1.1") {
			t.Errorf("GET %s: proto %s tls %v, want HTTP/1.1 over TLS", url, resp.Proto, resp.TLS != nil)
		}
	}
	// A client that does not trust the CA must fail: the certificate is really checked.
	_, err := http.Get("https://" + rs.ep.httpsAddr + "/ok/")
	var unknownAuthority x509.UnknownAuthorityError
	if !errors.As(err, &unknownAuthority) {
		t.Errorf("untrusting client: err %v, want x509.UnknownAuthorityError", err)
	}
}

func TestFaultErrorStatusKeepsEdgeHeaders(t *testing.T) {
	rs, client := startTest(t, faultScenario)
	resp, err := client.Get("https://" + rs.ep.httpsAddr + "/err/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 502 {
		t.Errorf("status %d, want 502", resp.StatusCode)
	}
	if sb := resp.Header.Get("X-Served-By"); !strings.HasSuffix(sb, "-FRA") {
		t.Errorf("a 502 from the edge must still name its PoP: X-Served-By %q", sb)
	}
}

func TestFaultResetIsAClientError(t *testing.T) {
	rs, client := startTest(t, faultScenario)
	for _, url := range []string{"http://" + rs.ep.httpAddr + "/reset/", "https://" + rs.ep.httpsAddr + "/reset/"} {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("GET %s: got %d, want a connection error", url, resp.StatusCode)
		}
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("GET %s: %v, want connection reset by peer", url, err)
		}
	}
}

func TestFaultTimeoutHoldsUntilClientDeadline(t *testing.T) {
	rs, client := startTest(t, faultScenario)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+rs.ep.httpAddr+"/timeout/", nil)
	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got %d, want the client's deadline to pass", resp.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v, want context.DeadlineExceeded", err)
	}
}

// Slow headers: the first byte comes at once, the end of the head only after the trickle.
// Both checks are lower bounds, which timers cannot undercut, so they cannot flake.
func TestFaultSlowHeaders(t *testing.T) {
	rs, client := startTest(t, faultScenario)
	var mu sync.Mutex
	var firstByte time.Time
	trace := &httptrace.ClientTrace{GotFirstResponseByte: func() {
		mu.Lock()
		firstByte = time.Now()
		mu.Unlock()
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", "https://"+rs.ep.httpsAddr+"/slow/", nil)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	headDone := time.Now()
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("X-Vercel-Id"), "fra1::") || !bytes.Contains(body, []byte("vercel edge FRA")) {
		t.Errorf("slow answer: %d %v %q", resp.StatusCode, resp.Header, body)
	}
	if took := headDone.Sub(start); took < 500*time.Millisecond {
		t.Errorf("headers complete after %v, want at least the trickle's 600ms minus one step", took)
	}
	mu.Lock()
	defer mu.Unlock()
	if gap := headDone.Sub(firstByte); gap < 400*time.Millisecond {
		t.Errorf("first byte only %v before the end of the head: headers were not trickled", gap)
	}
}

// syncBuffer is a log sink the test can read while the simulator writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The startup line announces the bound ports in one parseable line, --config.out holds a
// config pointing at them, and cancelling (SIGINT/SIGTERM in main) shuts down cleanly.
func TestServeAnnouncesPortsAndWritesConfig(t *testing.T) {
	dir := t.TempDir()
	logs := &syncBuffer{}
	logger := promslog.New(&promslog.Config{Writer: logs})
	opts := options{seed: 1, httpAddr: "127.0.0.1:0", httpsAddr: "127.0.0.1:0", configOut: filepath.Join(dir, "exporter.yml"), configInterval: 5 * time.Second}
	sc, err := loadScenario(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveScenario(ctx, sc, opts, filepath.Join(dir, "ca.pem"), logger) }()

	lineRE := regexp.MustCompile(`msg=listening http=(127\.0\.0\.1:[0-9]+) https=(127\.0\.0\.1:[0-9]+) `)
	var m []string
	for deadline := time.Now().Add(10 * time.Second); m == nil && time.Now().Before(deadline); {
		if m = lineRE.FindStringSubmatch(logs.String()); m == nil || !strings.Contains(logs.String(), "wrote exporter config") {
			m = nil
			time.Sleep(10 * time.Millisecond)
		}
	}
	if m == nil {
		cancel()
		t.Fatalf("no listening line in logs:\n%s", logs.String())
	}
	cfg, err := os.ReadFile(opts.configOut)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"url: https://" + m[2] + "/cf-shift-sin/", "url: http://" + m[1] + "/fly/", "ca_file: " + filepath.Join(dir, "ca.pem")} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("exporter config lacks %q:\n%s", want, cfg)
		}
	}
	client := trustingClient(t, filepath.Join(dir, "ca.pem"))
	resp, err := client.Get("https://" + m[2] + "/bunny/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Server"), "BunnyCDN-DE1-") {
		t.Errorf("bunny Server header %q", resp.Header.Get("Server"))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serveScenario: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serveScenario did not return after cancel")
	}
}

// After timeout_hold the edge drops the connection without a response.
func TestFaultTimeoutHoldIsBounded(t *testing.T) {
	rs, client := startTest(t, `
targets:
  - {name: hold, cdn: cloudflare, pops: {stay: AMS}, faults: {timeout_rate: 1, timeout_hold: 200ms}}
`)
	start := time.Now()
	resp, err := client.Get("http://" + rs.ep.httpAddr + "/hold/")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got %d, want the connection dropped", resp.StatusCode)
	}
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Errorf("dropped after %v, before the 200ms hold", took)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v: the client should see a closed connection, not its own deadline", err)
	}
}

// Shutdown releases a held request at once instead of waiting out its hold.
func TestShutdownReleasesHeldRequests(t *testing.T) {
	rs, client := startTest(t, faultScenario)
	done := make(chan error, 1)
	go func() {
		resp, err := client.Get("http://" + rs.ep.httpAddr + "/timeout/")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	// Wait until the request is being held, then shut down.
	for rs.sim.targets["timeout"].requests.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	rs.shutdown()
	select {
	case err := <-done:
		if err == nil {
			t.Error("held request got a response at shutdown, want a dropped connection")
		}
	case <-time.After(8 * time.Second):
		t.Fatal("held request still open after shutdown (hold is 10s)")
	}
}

// The certificate also covers --print-config.host, so an exporter in another container can
// verify cdnsim by its service name.
func TestCertificateCoversConfigHost(t *testing.T) {
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	opts := options{seed: 1, httpsAddr: "127.0.0.1:0", configHost: "cdnsim"}
	rs, err := startServers(mustScenario(t, faultScenario), opts, caFile, promslog.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer rs.shutdown()
	client := trustingClient(t, caFile)
	client.Transport.(*http.Transport).TLSClientConfig.ServerName = "cdnsim"
	resp, err := client.Get("https://" + rs.ep.httpsAddr + "/ok/")
	if err != nil {
		t.Fatalf("verifying the certificate as %q: %v", "cdnsim", err)
	}
	resp.Body.Close()
}
