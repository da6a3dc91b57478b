package deploy

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/popexporter/pop_exporter/config"
	"github.com/popexporter/pop_exporter/dashboards"
)

// TestProtocolsEndToEnd probes cdnsim (testdata/e2e-protocols-scenario.yml) over HTTP/1.1,
// HTTP/2 and HTTP/3 on loopback: the split target's QUIC flows land in Singapore while its TCP
// flows land in Amsterdam, and the blocked target is probed from an address whose UDP cdnsim
// drops. One pop_exporter (vantage Amsterdam) and one real Prometheus per version show the
// split by protocol, PopProtocolSplit firing for it alone, the quic failure reason for the
// blocked target's HTTP/3 probe while its HTTP/1.1 one succeeds, and data in the protocol
// panels.
func TestProtocolsEndToEnd(t *testing.T) {
	env := requireE2E(t)
	t.Parallel()
	dir := t.TempDir()
	started := time.Now()

	generated := filepath.Join(dir, "exporter-generated.yml")
	startProcess(t, "cdnsim (protocols)", env.bins["cdnsim"],
		"--scenario.file=testdata/e2e-protocols-scenario.yml",
		"--http.listen-address=127.0.0.1:0", "--https.listen-address=127.0.0.1:0",
		"--tls.ca-file="+filepath.Join(dir, "ca.pem"),
		"--config.out="+generated, "--print-config.interval=1s")
	waitFile(t, generated)
	exporter := startExporter(t, env, "pop_exporter (protocols)", fromBlockedNetwork(t, generated, filepath.Join(dir, "exporter.yml")))
	env.modes(t, perVersionModes, func(mode histogramMode) {
		prom := startPrometheus(t, env, dir, mode, exporter)
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			checkProtocols(t, prom)
			t.Logf("protocols end-to-end test (%s) took %v", mode.name, time.Since(started).Round(time.Second))
		})
	})
}

// fromBlockedNetwork writes the config cdnsim generated with the blocked target probing from
// the udp-blocked vantage's address, and the split target reached by name (localhost, which
// cdnsim's certificate covers), so that each protocol's probe resolves it and records the
// address it dialled; it returns the new file.
func fromBlockedNetwork(t *testing.T, generated, out string) string {
	t.Helper()
	return rewriteConfig(t, generated, out, func(cfg *config.Config, b []byte) {
		found := 0
		for i := range cfg.Targets {
			switch cfg.Targets[i].Name {
			case "blocked":
				cfg.Targets[i].SourceAddress = "127.0.0.3"
				found++
			case "split":
				cfg.Targets[i].URL = strings.Replace(cfg.Targets[i].URL, "127.0.0.1", "localhost", 1)
				found++
			}
		}
		if found != 2 {
			t.Fatalf("cdnsim's config lacks the blocked or the split target:\n%s", b)
		}
	})
}

func checkProtocols(t *testing.T, prom promClient) {
	eventually(t, "exporter up", 30*time.Second, func() error {
		return prom.expectCount(`up{job="pop_exporter"} == 1`, 1)
	})
	// Each protocol is a probe of its own: the split target answers from Amsterdam over TCP
	// and from Singapore over QUIC.
	for protocol, pop := range map[string]string{"http1.1": "AMS", "http2": "AMS", "http3": "SIN"} {
		eventually(t, "split over "+protocol+" from "+pop, 30*time.Second, func() error {
			return prom.expectSeries(`pop_probe_edge_info{target="split",protocol="` + protocol + `",pop="` + pop + `"}`)
		})
	}
	eventually(t, "every protocol's probe of split and same succeeding", 30*time.Second, func() error {
		return prom.expectCount(`pop_probe_success{target=~"split|same"} == 1`, 6)
	})

	// UDP dropped: the HTTP/3 probe fails with reason quic, HTTP/1.1 from the same address works.
	eventually(t, "blocked failing over http3 with reason quic", 30*time.Second, func() error {
		if err := prom.expectSeries(`pop_probe_success{target="blocked",protocol="http3"} == 0`); err != nil {
			return err
		}
		return prom.expectSeries(`increase(pop_probe_failures_total{target="blocked",protocol="http3",reason="quic"}[10s]) > 0`)
	})
	if err := prom.expectSeries(`pop_probe_success{target="blocked",protocol="http1.1"} == 1`); err != nil {
		t.Errorf("blocked over http1.1: %v", err)
	}
	if err := prom.expectSeries(`pop_probe_alt_svc_info{target="split",protocol="http1.1",advertised="http3"}`); err != nil {
		t.Errorf("cdnsim's Alt-Svc: %v", err)
	}
	// A routing split, not a DNS one: every protocol dialled the one address localhost has.
	eventually(t, "split's protocols dialling one address", 10*time.Second, func() error {
		return prom.expectCount(`count by (address) (pop_probe_dns_answer_info{target="split",address="127.0.0.1"})`, 1)
	})
	if err := prom.expectCount(`pop_probe_dns_answer_info{target="split"}`, 3); err != nil {
		t.Errorf("each protocol's dialled address: %v", err)
	}

	// Singapore is ~10,500 km beyond Amsterdam: PopProtocolSplit fires for split's http3 probe
	// (its 10 minutes run as 10 s here), and not for same, nor for blocked, whose http3 probe
	// gets no response.
	eventually(t, "PopProtocolSplit firing for split", 40*time.Second, func() error {
		return prom.expectCount(`ALERTS{alertname="PopProtocolSplit",target="split",protocol="http3",alertstate="firing"}`, 1)
	})
	if err := prom.expectCount(`ALERTS{alertname="PopProtocolSplit",target!="split"}`, 0); err != nil {
		t.Errorf("PopProtocolSplit for another target: %v", err)
	}
	expectAnnotations(t, prom, "PopProtocolSplit", map[string]string{"target": "split"},
		"over http3 is served by PoP SIN", "It dialled 127.0.0.1")

	expectPanelQueriesReturnData(t, prom, func(q dashboards.Query) bool {
		return q.Panel == "PoP by protocol" || q.Panel == "TTFB by protocol" || strings.HasPrefix(q.Panel, "Protocol split")
	})
}
