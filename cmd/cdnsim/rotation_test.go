package main

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"

	"github.com/popexporter/pop_exporter/config"
)

const rotationScenario = `
vantages:
  - {name: ams-office, source: 127.0.0.2, location: AMS}
  - {name: sin-office, source: 127.0.0.3, location: SIN}
targets:
  - name: rotated
    cdn: cloudflare
    pops: {stay: AMS}
    vantages: {sin-office: {pops: {stay: SIN}}}
    certificate: {expires_in: 72h, rotate: {after: 30s, stale: [SIN]}}
    content: {purge: {after: 30s, stale: [SIN]}, propagation_window: 20s}
  - {name: plain, cdn: fastly, pops: {stay: AMS}}
`

// lockedClock is a clock the test advances while the server reads it.
type lockedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *lockedClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *lockedClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// A target with a certificate section presents its own certificate to its server name; after
// the rotation the PoPs present the new one, except the stale PoP, which keeps the old one.
// A target with a content section serves version 1 of its object, then version 2 from every
// PoP but the stale one, with its ETag, Last-Modified and body; the printed exporter config
// sets the server name and turns content on.
func TestCertificateRotationAndPurge(t *testing.T) {
	sc := mustScenario(t, rotationScenario)
	clock := &lockedClock{t: time.Now()} // the client checks validity against the real time
	s := newSimulator(sc, 1, clock.now, promslog.NewNopLogger())
	ca, err := newCertAuthority(clock.now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.issueTargetCerts(ca); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(s)
	srv.TLS = ca.tlsConfig(s.getCertificate)
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.caPEM)

	// get fetches path from source with server name sni and returns the leaf presented and
	// the response.
	get := func(source, sni, path string) (*x509.Certificate, *http.Response, string) {
		t.Helper()
		tr := &http.Transport{
			DialContext:     (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}}).DialContext,
			TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: sni},
		}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get(srv.URL + path)
		if err != nil {
			t.Fatalf("GET %s from %s (%s): %v", path, source, sni, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0], resp, string(body)
	}
	name := certName("rotated")
	amsBefore, r1, b1 := get("127.0.0.2", name, "/rotated/")
	sinBefore, _, _ := get("127.0.0.3", name, "/rotated/")
	if amsBefore.SerialNumber.Cmp(sinBefore.SerialNumber) != 0 {
		t.Error("before the rotation the PoPs present different certificates")
	}
	if want := clock.now().Add(72 * time.Hour); !amsBefore.NotAfter.Equal(want.Truncate(time.Second)) {
		t.Errorf("certificate expires %v, want %v (expires_in 72h)", amsBefore.NotAfter, want)
	}
	if def, _, _ := get("127.0.0.2", "localhost", "/plain/"); def.SerialNumber.Cmp(amsBefore.SerialNumber) == 0 {
		t.Error("another server name got the target's certificate")
	}

	clock.advance(31 * time.Second)
	amsAfter, r2, b2 := get("127.0.0.2", name, "/rotated/")
	sinAfter, r3, b3 := get("127.0.0.3", name, "/rotated/")
	if amsAfter.SerialNumber.Cmp(amsBefore.SerialNumber) == 0 || !amsAfter.NotAfter.After(amsBefore.NotAfter) {
		t.Error("after the rotation the AMS PoP still presents the old certificate")
	}
	if sinAfter.SerialNumber.Cmp(sinBefore.SerialNumber) != 0 {
		t.Error("the stale SIN PoP presents the new certificate")
	}

	if r1.Header.Get("ETag") != `"rotated-v1"` || r2.Header.Get("ETag") != `"rotated-v2"` || r3.Header.Get("ETag") != `"rotated-v1"` {
		t.Errorf("ETags before, after at AMS, after at SIN: %s %s %s", r1.Header.Get("ETag"), r2.Header.Get("ETag"), r3.Header.Get("ETag"))
	}
	if b1 != b3 || b1 == b2 || !strings.Contains(b2, "version 2") {
		t.Errorf("bodies before, after at AMS, after at SIN: %q %q %q", b1, b2, b3)
	}
	if r1.Header.Get("Last-Modified") == r2.Header.Get("Last-Modified") {
		t.Error("the purge kept Last-Modified")
	}

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := ca.writeCAFile(caFile); err != nil {
		t.Fatal(err)
	}
	idx := httptest.NewRecorder()
	s.ServeHTTP(idx, httptest.NewRequest("GET", "/", nil))
	if want := "\tcertificate rotated.certs.cdnsim.test, expires in 72h0m0s rotated after 30s (stale at SIN)\tcontent purged after 30s (stale at SIN)"; !strings.Contains(idx.Body.String(), want) {
		t.Errorf("the index page does not describe the scripts %q:\n%s", want, idx.Body.String())
	}

	out, err := buildExporterConfig(sc, endpoints{httpsAddr: "127.0.0.1:8443", caFile: caFile}, time.Second, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(out, "exporter.yml")
	if err != nil {
		t.Fatalf("printed config: %v\n%s", err, out)
	}
	rt := cfg.Targets[0]
	if rt.TLS.ServerName != name || rt.Content == nil || rt.Content.PropagationWindow != config.Duration(20*time.Second) {
		t.Errorf("printed target: server name %q, content %+v", rt.TLS.ServerName, rt.Content)
	}
	if p := cfg.Targets[1]; p.TLS.ServerName != "" || p.Content != nil {
		t.Errorf("a target without the sections got server name %q, content %+v", p.TLS.ServerName, p.Content)
	}
}
