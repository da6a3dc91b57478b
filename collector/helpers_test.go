package collector

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/popexporter/pop_exporter/config"
)

// testTarget returns a target with every field at its effective default, as config.Parse
// would leave it, probing rawURL.
func testTarget(t testing.TB, name, rawURL string) config.Target {
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

// compiledTarget is what config.Parse compiles for target: its parsed URL (and no CA pool).
func compiledTarget(target config.Target) config.CompiledTarget {
	u, _ := url.Parse(target.URL) // checked by testTarget
	return config.CompiledTarget{URL: u}
}

func testSpec(t testing.TB, target config.Target) *probeSpec {
	t.Helper()
	return testSpecCompiled(t, target, compiledTarget(target))
}

func testSpecCompiled(t testing.TB, target config.Target, c config.CompiledTarget) *probeSpec {
	t.Helper()
	s, err := newProbeSpec(target, c, target.IPProtocols[0], "pop_exporter/test")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// delayServer answers every request after waiting exactly d before its first byte.
func delayServer(d time.Duration) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(d)
		fmt.Fprint(w, "ok")
	}))
}
