package collector

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/popexporter/pop_exporter/collector/exposition"
	"github.com/popexporter/pop_exporter/collector/internal/testhelp"
	"github.com/popexporter/pop_exporter/collector/prober"
	"github.com/popexporter/pop_exporter/config"
)

// Series budget of the basic set (the default): a target answered by one PoP with one cache
// status costs at most basicBudget series, and each further (PoP, cache status) pair at most
// perPairBudget more. An HTTPS probe has its TLS series too (certificate expiries, leaf
// identity, handshake): tlsBudget more. A probe through a configured resolver (not the
// system's) has its pop_probe_dns_answer_info too: resolverBudget more, and one of a target
// with content its content series: contentBudget more.
const (
	basicBudget    = 30
	perPairBudget  = 4
	tlsBudget      = 3
	resolverBudget = 1
	// altSvcBudget is pop_probe_alt_svc_info, for an HTTPS edge that advertises h2 or h3.
	altSvcBudget = 1
	// contentBudget is what content: {} adds to a probe: its version, the Last-Modified date
	// and the propagation window.
	contentBudget = 3
)

// TestSeriesCost measures, from a real scrape of real probes, how many series one target costs
// in each series set, for the common shapes, and fails when the basic set is over its budget.
// It prints the table of the README's "Cost" section:
//
//	go test -run TestSeriesCost -v ./collector/
func TestSeriesCost(t *testing.T) {
	type shape struct {
		name          string
		https         bool
		pops, statues int
		resolver      bool // through a configured resolver instead of the system's
		content       bool // content: {}
	}
	shapes := []shape{
		{"HTTP, 1 PoP, 1 cache status", false, 1, 1, false, false},
		{"HTTPS, 1 PoP, 1 cache status", true, 1, 1, false, false},
		{"HTTP, 3 PoPs x 2 cache statuses", false, 3, 2, false, false},
		{"HTTPS, 3 PoPs x 2 cache statuses", true, 3, 2, false, false},
		{"HTTPS, 1 PoP, 1 cache status, a configured resolver", true, 1, 1, true, false},
		{"HTTP, 1 PoP, 1 cache status, content", false, 1, 1, false, true},
		{"HTTPS, 1 PoP, 1 cache status, content", true, 1, 1, false, true},
		{"HTTPS, 3 PoPs x 2 cache statuses, content", true, 3, 2, false, true},
	}
	fmt.Println("| shape | basic (default) | full |")
	fmt.Println("|---|---|---|")
	for _, sh := range shapes {
		counts := map[Detail]int{}
		for _, detail := range []Detail{DetailBasic, DetailFull} {
			counts[detail] = seriesOfOneTarget(t, detail, sh.https, sh.pops, sh.statues, sh.resolver, sh.content, nil)
		}
		fmt.Printf("| %s | %d | %d |\n", sh.name, counts[DetailBasic], counts[DetailFull])
		pairs := sh.pops * sh.statues
		budget := basicBudget + perPairBudget*(pairs-1)
		if sh.resolver {
			budget += resolverBudget
		}
		if sh.https {
			budget += tlsBudget
		}
		if sh.content {
			budget += contentBudget
		}
		if counts[DetailBasic] > budget {
			t.Errorf("%s: the basic set costs %d series, over its budget of %d", sh.name, counts[DetailBasic], budget)
		}
		if counts[DetailFull] <= counts[DetailBasic] {
			t.Errorf("%s: the full set (%d) should cost more than the basic one (%d)", sh.name, counts[DetailFull], counts[DetailBasic])
		}
	}
}

// Series of one HTTPS target on one PoP with one cache status, probed over one protocol and
// over all three, each protocol a probe of its own; printed for the README's "Cost" section.
// Three protocols cost at most three times one, plus each probe's pop_probe_dns_answer_info
// (the address each protocol dialled, recorded for every target of several protocols).
func TestSeriesCostProtocols(t *testing.T) {
	fmt.Println("| shape (HTTPS, 1 PoP, 1 cache status, edge advertising h3) | basic (default) | full |")
	fmt.Println("|---|---|---|")
	counts := map[int]map[Detail]int{}
	for _, protocols := range [][]string{{config.ProtocolHTTP11}, config.Protocols} {
		counts[len(protocols)] = map[Detail]int{}
		for _, detail := range []Detail{DetailBasic, DetailFull} {
			counts[len(protocols)][detail] = seriesOfOneTarget(t, detail, true, 1, 1, false, false, protocols)
		}
		fmt.Printf("| protocols: [%s] | %d | %d |\n", strings.Join(protocols, ", "), counts[len(protocols)][DetailBasic], counts[len(protocols)][DetailFull])
	}
	one, three := counts[1][DetailBasic], counts[3][DetailBasic]
	if one > basicBudget+tlsBudget+altSvcBudget {
		t.Errorf("one protocol: %d series in the basic set, over the budget of %d", one, basicBudget+tlsBudget+altSvcBudget)
	}
	if three > 3*(one+resolverBudget) {
		t.Errorf("three protocols: %d series in the basic set, more than three probes of one (%d) and their DNS answers", three, one)
	}
}

// seriesOfOneTarget probes a loopback edge that answers from pops PoPs with statuses cache
// statuses, in turn, until every pair was seen, then counts the target's sample lines on a
// text scrape of /metrics. With resolver, the name is resolved by a loopback DNS server
// configured as the target's resolver.
//
// With content, the target has content: {} and the edge sends an ETag and Last-Modified. With
// protocols, the edge is HTTPS on every protocol and advertises h3 in Alt-Svc, as the CDNs
// that serve HTTP/3 do, and the target is probed over each of protocols.
func seriesOfOneTarget(t *testing.T, detail Detail, https bool, pops, statuses int, resolver, content bool, protocols []string) int {
	t.Helper()
	var n atomic.Int64
	altSvc := protocols != nil
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		i := n.Add(1) - 1
		w.Header().Set("Server", "cloudflare")
		w.Header().Set("CF-RAY", "9da906681ad80c13-"+[]string{"AMS", "FRA", "LHR"}[int(i)%pops])
		w.Header().Set("CF-Cache-Status", []string{"HIT", "MISS"}[int(i)/pops%statuses])
		w.Header().Set("Age", "12")
		if altSvc {
			w.Header().Set("Alt-Svc", `h3=":443"; ma=86400`)
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", "Wed, 02 Dec 2026 10:00:00 GMT")
		io.WriteString(w, "ok\n")
	})
	var srv *httptest.Server
	switch {
	case protocols != nil:
		srv = testhelp.NewEdgeServer(t, h, true).TCP
	case https:
		srv = httptest.NewTLSServer(h)
	default:
		srv = httptest.NewServer(h)
	}
	defer srv.Close()

	reg := prometheus.NewRegistry()
	st := exposition.NewStore()
	m, err := New(reg, st, Options{Detail: detail})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	// By name, as real targets are: the probe resolves it (the dns phase happens).
	target := testTarget(t, "cost", strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)+"/")
	if resolver {
		target = testTarget(t, "cost", strings.Replace(srv.URL, "127.0.0.1", "cost.test", 1)+"/")
		target.Resolvers = []config.Resolver{{Name: "local", Server: testhelp.DNSServer(t, testhelp.Answer("127.0.0.1"))}}
	}
	target.TLS.InsecureSkipVerify = true
	if content {
		target.Content = &config.Content{VersionFrom: config.VersionParts, PropagationWindow: config.DefaultPropagationWindow}
	}
	target.Protocols = protocols
	if protocols == nil {
		protocols = []string{config.ProtocolHTTP11}
	}
	for _, protocol := range protocols {
		pt := target
		pt.Protocols = target.Protocols
		r := newRecordingRunner(t, m, pt)
		s := r.spec.Load()
		if s.Protocol != protocol {
			// testSpec probes a target's first protocol: one runner per protocol.
			r = newProtocolRunner(t, m, pt, protocol)
			s = r.spec.Load()
		}
		for range 2 * pops * statuses {
			res := m.runProbe(context.Background(), s)
			if !res.Success {
				t.Fatalf("%s probe failed: %s %v", protocol, res.FailureReason, res.Err)
			}
			if https != (res.Happened[prober.PhaseTLS] || res.Happened[prober.PhaseQUIC]) {
				t.Fatalf("tls phase happened = %v for https = %v", res.Happened[prober.PhaseTLS], https)
			}
			m.record(r, res)
		}
	}

	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept", "text/plain")
	exposition.Handler(reg, st, exposition.HandlerOpts{}).ServeHTTP(rec, req)
	count := 0
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if !strings.HasPrefix(line, "#") && strings.Contains(line, `target="cost"`) {
			count++
		}
	}
	return count
}
