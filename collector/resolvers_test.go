package collector

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"testing"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/popexporter/pop_exporter/collector/internal/testhelp"
	"github.com/popexporter/pop_exporter/collector/prober"
	"github.com/popexporter/pop_exporter/config"
)

// cloudflareEdge answers as a Cloudflare edge of pop would.
func cloudflareEdge(pop string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Server", "cloudflare")
		w.Header().Set("CF-RAY", "9da906681ad80c13-"+pop)
		w.Header().Set("CF-Cache-Status", "HIT")
		io.WriteString(w, "ok\n")
	})
}

// twoEdges serves an AMS edge on 127.0.0.2 and a FRA edge on 127.0.0.3, on the same port,
// and returns that port: which one a probe reaches depends only on the address DNS gave it.
func twoEdges(t *testing.T) int {
	t.Helper()
	for range 20 {
		ams := testhelp.ServerOn(t, "127.0.0.2", 0, cloudflareEdge("AMS"))
		port := ams.Listener.Addr().(*net.TCPAddr).Port
		if testhelp.ServerOn(t, "127.0.0.3", port, cloudflareEdge("FRA")) != nil {
			return port
		}
		ams.Close()
	}
	t.Fatal("no port free on both 127.0.0.2 and 127.0.0.3")
	return 0
}

// echoScope answers A questions with addr and, when the query carries a client subnet, the
// same subnet with the given scope, as a resolver that steers by it does.
func echoScope(addr string, scope uint8) dns.HandlerFunc {
	return func(w dns.ResponseWriter, q *dns.Msg) {
		rw := &scopeWriter{ResponseWriter: w, q: q, scope: scope}
		testhelp.Answer(addr)(rw, q)
	}
}

type scopeWriter struct {
	dns.ResponseWriter
	q     *dns.Msg
	scope uint8
}

func (w *scopeWriter) WriteMsg(m *dns.Msg) error {
	if opt := w.q.IsEdns0(); opt != nil {
		reply := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
		reply.SetUDPSize(1232)
		for _, o := range opt.Option {
			if e, ok := o.(*dns.EDNS0_SUBNET); ok {
				e2 := *e
				e2.SourceScope = w.scope
				reply.Option = append(reply.Option, &e2)
			}
		}
		m.Extra = append(m.Extra, reply)
	}
	return w.ResponseWriter.WriteMsg(m)
}

// One target asked through three resolvers is three probes: two resolvers steer it to
// different edges (different PoPs, each with its own pop_probe_dns_answer_info), and the third,
// which never answers, fails only its own probe, with reason dns.
func TestResolversAreProbesOfTheirOwn(t *testing.T) {
	port := twoEdges(t)
	nearby := testhelp.DNSServer(t, echoScope("127.0.0.2", 24))
	faraway := testhelp.DNSServer(t, testhelp.Answer("127.0.0.3"))
	silent := testhelp.SilentDNS(t)
	cfg, err := config.Parse(fmt.Appendf(nil, `
vantage: {name: ams-office, location: AMS}
targets:
  - name: steered
    url: http://cdn.test:%d/
    interval: 1s
    timeout: 500ms
    resolvers:
      - {name: nearby, server: "%s", ecs: 203.0.113.77/24}
      - {name: faraway, server: "%s", transport: tcp}
      - {name: silent, server: "%s"}
`, port, nearby, faraway, silent), "resolvers.yml")
	if err != nil {
		t.Fatal(err)
	}
	m, reg := newTestManager(t, Options{})
	if err := m.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if v, _ := gaugeValue(t, reg, "pop_exporter_targets", nil); v != 3 {
		t.Errorf("pop_exporter_targets = %v, want 3 (one probe per resolver)", v)
	}
	probe := func(resolver string) map[string]string {
		return map[string]string{"target": "steered", "ip_version": "4", "resolver": resolver}
	}
	testhelp.WaitFor(t, func() bool {
		a, _ := gaugeValue(t, reg, "pop_probe_success", probe("nearby"))
		b, _ := gaugeValue(t, reg, "pop_probe_success", probe("faraway"))
		f, _ := gaugeValue(t, reg, "pop_probe_failures_total", map[string]string{"resolver": "silent", "reason": prober.ReasonDNS})
		return a == 1 && b == 1 && f >= 1
	})
	for resolver, pop := range map[string]string{"nearby": "AMS", "faraway": "FRA"} {
		labels := probe(resolver)
		labels["pop"] = pop
		if _, ok := gaugeValue(t, reg, "pop_probe_edge_info", labels); !ok {
			t.Errorf("resolver %s: no pop_probe_edge_info with pop %s", resolver, pop)
		}
	}
	for resolver, answer := range map[string]map[string]string{
		"nearby":  {"address": "127.0.0.2", "rcode": "NOERROR", "ecs_scope": "24"},
		"faraway": {"address": "127.0.0.3", "rcode": "NOERROR", "ecs_scope": ""},
	} {
		labels := probe(resolver)
		for k, v := range answer {
			labels[k] = v
		}
		if v, ok := gaugeValue(t, reg, "pop_probe_dns_answer_info", labels); !ok || v != 1 {
			t.Errorf("resolver %s: no pop_probe_dns_answer_info %v", resolver, answer)
		}
	}
	if n := countSeriesWith(t, reg, "pop_probe_dns_answer_info", probe("silent")); n != 0 {
		t.Errorf("the silent resolver, which answered nothing, has %d pop_probe_dns_answer_info series", n)
	}
	if v, _ := gaugeValue(t, reg, "pop_probe_success", probe("silent")); v != 0 {
		t.Errorf("the silent resolver's probe succeeded")
	}
	for _, ok := range []string{"nearby", "faraway"} {
		if f, _ := gaugeValue(t, reg, "pop_probe_failures_total", map[string]string{"resolver": ok, "reason": prober.ReasonDNS}); f != 0 {
			t.Errorf("resolver %s: %v dns failures, want none: the silent resolver fails only its own probe", ok, f)
		}
	}
}

// countSeriesWith counts the series of name whose labels include labels.
func countSeriesWith(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if matchLabels(m, labels) {
				n++
			}
		}
	}
	return n
}

// pop_probe_dns_answer_info is one series per probe, replaced as the answer changes, with
// the address capped per probe like edge_ip; the system resolver's appears only in the full
// set, without rcode.
func TestDNSAnswerInfo(t *testing.T) {
	for _, detail := range []Detail{DetailBasic, DetailFull} {
		t.Run(detail.String(), func(t *testing.T) {
			m, reg := newTestManager(t, Options{MaxPoPsPerProbe: 2, Detail: detail})
			target := testTarget(t, "steered", "http://cdn.test/")
			target.Resolvers = []config.Resolver{{Name: "isp", Server: "192.0.2.53"}}
			r := newRecordingRunner(t, m, target)
			sys := newRecordingRunner(t, m, testTarget(t, "plain", "http://cdn.test/"))
			for _, addr := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.1"} {
				res := cloudflareResult("AMS", "hit")
				res.DNS = prober.DNSAnswer{Answered: true, Addr: netip.MustParseAddr(addr), Rcode: "NOERROR", ECSScope: "24"}
				m.record(r, res)
				res.DNS.Rcode, res.DNS.ECSScope = "", ""
				m.record(sys, res)
				if n := countSeries(t, reg, "pop_probe_dns_answer_info"); n != 1 && detail == DetailBasic || n != 2 && detail == DetailFull {
					t.Fatalf("%d pop_probe_dns_answer_info series after answer %s, want one per probe", n, addr)
				}
			}
			for addr, want := range map[string]bool{"192.0.2.1": true, "192.0.2.3": false, "other": false} {
				_, ok := gaugeValue(t, reg, "pop_probe_dns_answer_info", map[string]string{"resolver": "isp", "address": addr})
				if ok != want {
					t.Errorf("address %q present %v, want %v", addr, ok, want)
				}
			}
			// The third address was past the cap of 2: it showed as "other" while it lasted.
			res := cloudflareResult("AMS", "hit")
			res.DNS = prober.DNSAnswer{Answered: true, Addr: netip.MustParseAddr("192.0.2.3"), Rcode: "NOERROR"}
			m.record(r, res)
			if _, ok := gaugeValue(t, reg, "pop_probe_dns_answer_info", map[string]string{"resolver": "isp", "address": "other", "rcode": "NOERROR", "ecs_scope": ""}); !ok {
				t.Error("an address past the cap is not other")
			}
			_, ok := gaugeValue(t, reg, "pop_probe_dns_answer_info", map[string]string{"resolver": "system", "address": "192.0.2.1", "rcode": ""})
			if ok != (detail == DetailFull) {
				t.Errorf("system resolver's answer present %v, want it only in the full set", ok)
			}
		})
	}
}
