package collector

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/popexporter/pop_exporter/collector/internal/testhelp"
	"github.com/popexporter/pop_exporter/config"
)

// TestProbeDebugPage probes real loopback edges with Options.ProbeDebug and reads the debug
// page as a user would: the last response's status and headers as received, credentials and
// cookies redacted, and why each label got its value, unknown ones included.
func TestProbeDebugPage(t *testing.T) {
	edges := map[string]http.HandlerFunc{
		// Headers as in a real Cloudflare response (CF-RAY 9da906681ad80c13-AMS), plus a
		// session cookie and a token the page must not show.
		"cf": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Server", "cloudflare")
			w.Header().Set("CF-RAY", "9da906681ad80c13-AMS")
			w.Header().Set("CF-Cache-Status", "HIT")
			w.Header().Add("Set-Cookie", "__cf_bm=s3cretcookievalue; path=/")
			w.Header().Set("X-Session-Token", "s3crettokenvalue")
		},
		// Akamai names no PoP (techdocs.akamai.com pragma headers: X-Cache with the edge host).
		"akamai": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Server", "AkamaiGHost")
			w.Header().Set("X-Cache", "TCP_MISS from a23-202-158-27.deploy.akamaitechnologies.com (AkamaiGHost/11.3.0.1-51934483) (-)")
		},
		// An origin with no CDN in front.
		"plain": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Server", "nginx")
			w.WriteHeader(http.StatusServiceUnavailable)
		},
	}
	var targets []config.Target
	for name, h := range edges {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		tg := testTarget(t, name, srv.URL+"/")
		tg.Interval, tg.Timeout = config.Duration(300*time.Millisecond), config.Duration(200*time.Millisecond)
		targets = append(targets, tg)
	}
	down := testTarget(t, "down", "http://127.0.0.1:1/")
	down.Interval, down.Timeout = config.Duration(300*time.Millisecond), config.Duration(200*time.Millisecond)
	targets = append(targets, down)

	m, _ := newTestManager(t, Options{ProbeDebug: true})
	if err := m.Apply(amsConfig(targets...)); err != nil {
		t.Fatal(err)
	}
	testhelp.WaitFor(t, func() bool { return len(m.ProbeDebugs()) == len(targets) })
	srv := httptest.NewServer(m.ProbeDebugHandler())
	defer srv.Close()
	get := func(query string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/debug/probes" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	code, list := get("")
	if code != 200 {
		t.Fatalf("list: %d", code)
	}
	for _, want := range []string{`href="?target=cf"`, `href="?target=akamai"`, `href="?target=plain"`, `href="?target=down"`, "connect"} {
		if !strings.Contains(list, want) {
			t.Errorf("the list does not show %s:\n%s", want, list)
		}
	}
	for target, wants := range map[string][]string{
		"cf": {"<td>200</td>", "Cf-Ray", "&#34;9da906681ad80c13-AMS&#34;", "built-in rule Cloudflare", "recognised by the Cf-Ray header",
			"from CF-RAY: vendor code &#34;AMS&#34;", "hit from cf-cache-status &#34;HIT&#34;",
			"<code>Set-Cookie</code></td><td><code>(redacted, 33 bytes)", "<code>X-Session-Token</code></td><td><code>(redacted, 16 bytes)"},
		"akamai": {"cdn = akamai", "pop = unknown", "Akamai names no PoP in its responses", "no --geoip.database to place the edge address", "miss from X-Cache"},
		"plain":  {"<td>503</td>", "cdn = unknown", "no built-in rule recognised a header", "unknown because the CDN is unknown", "&#34;nginx&#34;"},
		"down":   {"failed: connect", "no response: the probe failed before one arrived (connect)"},
	} {
		code, page := get("?target=" + target)
		if code != 200 {
			t.Errorf("%s: %d", target, code)
		}
		for _, want := range wants {
			if !strings.Contains(page, want) {
				t.Errorf("the %s page does not show %q:\n%s", target, want, page)
			}
		}
		for _, secret := range []string{"s3cretcookievalue", "s3crettokenvalue"} {
			if strings.Contains(page, secret) {
				t.Errorf("the %s page shows a credential: %s", target, secret)
			}
		}
	}
	if code, _ := get("?target=nosuch"); code != http.StatusNotFound {
		t.Errorf("unknown target: %d, want 404", code)
	}
}

// Without Options.ProbeDebug nothing is kept: probes hold no response.
func TestProbeDebugOff(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("CF-RAY", "9da906681ad80c13-AMS")
	}))
	defer srv.Close()
	m, reg := newTestManager(t, Options{})
	tg := testTarget(t, "cf", srv.URL+"/")
	tg.Interval, tg.Timeout = config.Duration(300*time.Millisecond), config.Duration(200*time.Millisecond)
	if err := m.Apply(amsConfig(tg)); err != nil {
		t.Fatal(err)
	}
	testhelp.WaitFor(t, func() bool {
		_, ok := gaugeValue(t, reg, "pop_probe_success", map[string]string{"target": "cf"})
		return ok
	})
	if d := m.ProbeDebugs(); len(d) != 0 {
		t.Errorf("ProbeDebugs() = %d records without Options.ProbeDebug", len(d))
	}
}
