package collector

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/popexporter/pop_exporter/collector/internal/testhelp"
	"github.com/popexporter/pop_exporter/collector/prober"
	"github.com/popexporter/pop_exporter/config"
)

// Each protocol of a target is a probe of its own, with its own series (label protocol): an
// edge whose QUIC flows land on another PoP than its TCP flows shows both PoPs side by side,
// each protocol's probe records the address it dialled (here through the system resolver,
// which records none for a target of one protocol), and the edge's Alt-Svc is recorded.
func TestProtocolsAreProbesOfTheirOwn(t *testing.T) {
	srv := testhelp.NewEdgeServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pop := "AMS"
		if r.ProtoMajor == 3 { // the QUIC flow is routed to another site
			pop = "FRA"
		}
		w.Header().Set("Alt-Svc", `h3=":443"; ma=86400`)
		w.Header().Set("Server", "cloudflare")
		w.Header().Set("Cf-Ray", "8f1e2d3c4b5a6978-"+pop)
		fmt.Fprint(w, "ok")
	}), true)
	port := srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]
	cfg, err := config.Parse(fmt.Appendf(nil, `
vantage: {name: ams-office, location: AMS}
targets:
  - name: www
    url: https://localhost:%s/
    interval: 1s
    timeout: 800ms
    protocols: [http1.1, http2, http3]
    tls: {server_name: example.com, insecure_skip_verify: true}
`, port), "protocols.yml")
	if err != nil {
		t.Fatal(err)
	}
	m, reg := newTestManager(t, Options{})
	if err := m.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if v, _ := gaugeValue(t, reg, "pop_exporter_targets", nil); v != 3 {
		t.Errorf("pop_exporter_targets = %v, want 3 (one probe per protocol)", v)
	}
	probe := func(protocol string, more ...string) map[string]string {
		l := map[string]string{"target": "www", "ip_version": "4", "resolver": "system", "protocol": protocol}
		for i := 0; i+1 < len(more); i += 2 {
			l[more[i]] = more[i+1]
		}
		return l
	}
	testhelp.WaitFor(t, func() bool {
		for _, p := range config.Protocols {
			if v, _ := gaugeValue(t, reg, "pop_probe_success", probe(p)); v != 1 {
				return false
			}
		}
		return true
	})
	for protocol, pop := range map[string]string{"http1.1": "AMS", "http2": "AMS", "http3": "FRA"} {
		if _, ok := gaugeValue(t, reg, "pop_probe_edge_info", probe(protocol, "pop", pop)); !ok {
			t.Errorf("%s: no pop_probe_edge_info with pop %s", protocol, pop)
		}
		if v, ok := gaugeValue(t, reg, "pop_probe_dns_answer_info", probe(protocol, "address", "127.0.0.1")); !ok || v != 1 {
			t.Errorf("%s: no pop_probe_dns_answer_info with the address dialled, 127.0.0.1", protocol)
		}
		if v, ok := gaugeValue(t, reg, "pop_probe_alt_svc_info", probe(protocol, "advertised", "http3")); !ok || v != 1 {
			t.Errorf("%s: no pop_probe_alt_svc_info{advertised=\"http3\"}", protocol)
		}
	}
	// HTTP/3's phases and failure reasons are its own: quic, no connect or tls.
	if _, ok := gaugeValue(t, reg, "pop_probe_phase_seconds", probe("http3", "phase", "quic")); !ok {
		t.Error("http3: no quic phase")
	}
	for _, phase := range []string{"connect", "tls"} {
		if n := countSeriesWith(t, reg, "pop_probe_phase_seconds", probe("http3", "phase", phase)); n != 0 {
			t.Errorf("http3: %d %s phase series, want none (QUIC's handshake is the quic phase)", n, phase)
		}
		if _, ok := gaugeValue(t, reg, "pop_probe_phase_seconds", probe("http2", "phase", phase)); !ok {
			t.Errorf("http2: no %s phase", phase)
		}
	}
	if v, ok := gaugeValue(t, reg, "pop_probe_failures_total", probe("http3", "reason", prober.ReasonQUIC)); !ok || v != 0 {
		t.Errorf("http3: failures_total{reason=quic} = %v (present %v), want 0 from the start", v, ok)
	}
	if n := countSeriesWith(t, reg, "pop_probe_failures_total", probe("http1.1", "reason", prober.ReasonQUIC)); n != 0 {
		t.Errorf("http1.1 has %d quic failure series: a protocol's probe counts only the reasons it can fail with", n)
	}
}

// Adding a protocol to a target starts its probe and keeps the others running (schedule and PoP
// state); removing one stops its probe.
func TestApplyProtocolsKeepsTheOthers(t *testing.T) {
	m, _ := newTestManager(t, Options{})
	keep := testTarget(t, "keep", "https://127.0.0.1:1/")
	apply := func(protocols ...string) {
		t.Helper()
		tg := keep
		tg.Protocols = protocols
		if err := m.Apply(amsConfig(tg)); err != nil {
			t.Fatal(err)
		}
	}
	apply("http1.1")
	kept := m.runners["keep/4/system/http1.1"]
	if kept == nil {
		t.Fatal("no http1.1 probe")
	}
	apply("http1.1", "http3")
	if m.runners["keep/4/system/http1.1"] != kept || m.runners["keep/4/system/http3"] == nil {
		t.Error("adding http3 restarted the http1.1 probe, or started no http3 probe")
	}
	apply("http3")
	if _, ok := m.runners["keep/4/system/http1.1"]; ok {
		t.Error("the http1.1 probe kept running after http1.1 left the target's protocols")
	}
}
