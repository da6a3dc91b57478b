package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"

	"github.com/popexporter/pop_exporter/collector/prober"
	"github.com/popexporter/pop_exporter/config"
)

const protocolScenario = `
vantages:
  - {name: udp-blocked, source: 127.0.0.3, udp: drop}
  - {name: old-edge, source: 127.0.0.4, http2: false}
targets:
  - name: split
    cdn: cloudflare
    pops: {stay: AMS}
    quic_pops: {stay: FRA}
    protocols: [http1.1, http2, http3]
    ttfb: {default: {median: 0s}}
`

// The exporter's own probes, against cdnsim over every protocol, from three client networks:
// the QUIC path lands on FRA while TCP lands on AMS; a network that drops UDP fails HTTP/3
// with reason quic; an edge that refuses h2 fails HTTP/2 with reason alpn. Every HTTPS
// response advertises h3 on its port.
func TestProtocolScenarios(t *testing.T) {
	sc := mustScenario(t, protocolScenario)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	opts := options{seed: 1, httpsAddr: "127.0.0.1:0", http3: true}
	rs, err := startServers(sc, opts, caFile, promslog.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rs.shutdown)
	out, err := buildExporterConfig(sc, rs.ep, 5*time.Second, -1)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(out, filepath.Join(filepath.Dir(caFile), "exporter.yml"))
	if err != nil {
		t.Fatalf("exporter rejects the printed config: %v\n%s", err, out)
	}
	target, compiled := cfg.Targets[0], cfg.Compiled.Targets[0]
	if !slices.Equal(target.Protocols, config.Protocols) {
		t.Fatalf("printed protocols %v, want %v", target.Protocols, config.Protocols)
	}
	target.Timeout = config.Duration(2 * time.Second)

	probe := func(source, protocol string) prober.Result {
		tg := target
		tg.SourceAddress = source
		s, err := prober.NewSpec(tg, compiled, "ip4", protocol, compiled.Resolvers[0], "pop_exporter/test", nil)
		if err != nil {
			t.Fatal(err)
		}
		return s.Run(context.Background())
	}
	for protocol, pop := range map[string]string{"http1.1": "AMS", "http2": "AMS", "http3": "FRA"} {
		res := probe("127.0.0.1", protocol)
		if !res.Success || res.Edge.PoP != pop {
			t.Errorf("%s: success %v (%s %v), PoP %q, want %s", protocol, res.Success, res.FailureReason, res.Err, res.Edge.PoP, pop)
		}
		if res.AltSvc != config.ProtocolHTTP3 {
			t.Errorf("%s: Alt-Svc advertises %q, want http3", protocol, res.AltSvc)
		}
	}
	if res := probe("127.0.0.3", "http3"); res.Success || res.FailureReason != prober.ReasonQUIC {
		t.Errorf("UDP dropped: http3 success %v reason %q (%v), want a quic failure", res.Success, res.FailureReason, res.Err)
	}
	if res := probe("127.0.0.3", "http2"); !res.Success {
		t.Errorf("UDP dropped: http2 failed (%s %v); TCP must still work", res.FailureReason, res.Err)
	}
	if res := probe("127.0.0.4", "http2"); res.Success || res.FailureReason != prober.ReasonALPN {
		t.Errorf("h2 refused: http2 success %v reason %q (%v), want an alpn failure", res.Success, res.FailureReason, res.Err)
	}
	for _, protocol := range []string{"http1.1", "http3"} {
		if res := probe("127.0.0.4", protocol); !res.Success {
			t.Errorf("h2 refused: %s failed (%s %v)", protocol, res.FailureReason, res.Err)
		}
	}
}

func TestProtocolScenarioErrors(t *testing.T) {
	for yml, want := range map[string]string{
		`{targets: [{name: a, cdn: cloudflare, pops: {stay: AMS}, scheme: http, protocols: [http3]}]}`:                     "http3 needs scheme https",
		`{targets: [{name: a, cdn: cloudflare, pops: {stay: AMS}, protocols: [h3]}]}`:                                      `unknown protocol "h3"`,
		`{targets: [{name: a, cdn: cloudflare, pops: {stay: AMS}, quic_pops: {stay: "??"}}]}`:                              "quic_pops",
		`{vantages: [{name: v, source: 127.0.0.9, udp: block}], targets: [{name: a, cdn: cloudflare, pops: {stay: AMS}}]}`: `udp must be drop`,
	} {
		if _, err := ParseScenario("inline", []byte(yml)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one saying %q", yml, err, want)
		}
	}
}
