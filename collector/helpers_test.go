package collector

import (
	"testing"

	"github.com/popexporter/pop_exporter/collector/internal/testhelp"
	"github.com/popexporter/pop_exporter/collector/prober"
	"github.com/popexporter/pop_exporter/config"
)

// testTarget returns a target with every field at its effective default, probing rawURL.
func testTarget(t testing.TB, name, rawURL string) config.Target {
	t.Helper()
	return testhelp.Target(t, name, rawURL)
}

// compiledTarget is what config.Parse compiles for target: its parsed URL (and no CA pool).
func compiledTarget(target config.Target) config.CompiledTarget {
	return testhelp.Compiled(target)
}

func testSpec(t testing.TB, target config.Target) *prober.Spec {
	t.Helper()
	c := compiledTarget(target)
	s, err := prober.NewSpec(target, c, target.IPProtocols[0], protocolOf(target), c.Resolvers[0], "pop_exporter/test", nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// protocolOf is the protocol of a test's probe: the target's first, HTTP/1.1 when it lists none.
func protocolOf(t config.Target) string {
	if len(t.Protocols) > 0 {
		return t.Protocols[0]
	}
	return config.ProtocolHTTP11
}

// newProtocolRunner is newRecordingRunner for the probe of target over protocol.
func newProtocolRunner(t testing.TB, m *Manager, target config.Target, protocol string) *runner {
	t.Helper()
	c := compiledTarget(target)
	s, err := prober.NewSpec(target, c, target.IPProtocols[0], protocol, c.Resolvers[0], "pop_exporter/test", nil)
	if err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.vantage = resolveVantage(config.Vantage{Name: "ams-office", Location: "AMS"})
	r := newRunner(s, m.vantage)
	m.initSeries(r)
	return r
}
