package collector

import (
	"context"
	"crypto/x509"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/popexporter/pop_exporter/collector/edge"
	"github.com/popexporter/pop_exporter/collector/exposition"
	"github.com/popexporter/pop_exporter/collector/geo"
	"github.com/popexporter/pop_exporter/collector/internal/testhelp"
	"github.com/popexporter/pop_exporter/collector/prober"
	"github.com/popexporter/pop_exporter/collector/shard"
	"github.com/popexporter/pop_exporter/config"
)

// newTestManager returns a Manager and everything /metrics would show of it.
func newTestManager(t testing.TB, opts Options) (*Manager, prometheus.Gatherer) {
	t.Helper()
	reg := prometheus.NewRegistry()
	st := exposition.NewStore()
	m, err := New(reg, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	return m, prometheus.Gatherers{reg, st}
}

// newTestManagerStore returns a Manager and the store of its per-probe series.
func newTestManagerStore(t testing.TB, opts Options) (*Manager, *exposition.Store) {
	t.Helper()
	st := exposition.NewStore()
	m, err := New(prometheus.NewRegistry(), st, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	return m, st
}

func amsConfig(targets ...config.Target) *config.Config {
	cfg := &config.Config{File: "test.yml", Vantage: config.Vantage{Name: "ams-office", Location: "AMS"}, Targets: targets}
	for _, t := range targets {
		cfg.Compiled.Targets = append(cfg.Compiled.Targets, compiledTarget(t))
	}
	return cfg
}

// cloudflareResponse is what identification says of a Cloudflare response from pop.
func cloudflareResult(pop, cache string) prober.Result {
	return prober.Result{Start: time.Now(), Duration: 30 * time.Millisecond, TTFB: 20 * time.Millisecond,
		Responded: true, StatusCode: 200, Success: true, CacheAge: -1,
		Edge: edge.Result{CDN: "cloudflare", PoP: pop, RawPoP: pop, CacheStatus: cache}}
}

// newRecordingRunner starts nothing: it gives a runner whose results the test feeds to record.
func newRecordingRunner(t testing.TB, m *Manager, target config.Target) *runner {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.vantage = resolveVantage(config.Vantage{Name: "ams-office", Location: "AMS"})
	r := newRunner(testSpec(t, target), m.vantage)
	m.initSeries(r)
	return r
}

func gaugeValue(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if matchLabels(m, labels) {
				switch {
				case m.Gauge != nil:
					return m.GetGauge().GetValue(), true
				case m.Counter != nil:
					return m.GetCounter().GetValue(), true
				}
			}
		}
	}
	return 0, false
}

func matchLabels(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := want[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

// A target that settles on AMS, flaps once to SIN and back, then moves to SIN for good:
// AMS, AMS, SIN, AMS, SIN, SIN, SIN. The baseline is the most frequent PoP in the window; a
// tie keeps the old one, so the single flap never moves it, and the move does once SIN
// outnumbers AMS.
func TestPoPSequenceChangesBaselineShift(t *testing.T) {
	m, reg := newTestManager(t, Options{})
	target := testTarget(t, "www", "http://127.0.0.1/")
	r := newRecordingRunner(t, m, target)
	ams, _ := geo.Lookup("cloudflare", "AMS")
	sin, _ := geo.Lookup("cloudflare", "SIN")
	amsSin := geo.DistanceMeters(ams, sin)
	if amsSin < 10_000_000 || amsSin > 11_000_000 {
		t.Fatalf("AMS-SIN = %.0f m, want about 10,500 km (is the geo table embedded?)", amsSin)
	}

	steps := []struct {
		pop      string
		changes  float64
		baseline string
		shift    float64
		distance float64
	}{
		{"AMS", 0, "AMS", 0, 0},
		{"AMS", 0, "AMS", 0, 0},
		{"SIN", 1, "AMS", amsSin, amsSin},
		{"AMS", 2, "AMS", 0, 0},
		{"SIN", 3, "AMS", amsSin, amsSin},
		{"SIN", 3, "AMS", amsSin, amsSin}, // AMS 3, SIN 3: a tie keeps AMS
		{"SIN", 3, "SIN", 0, amsSin},      // SIN 4: the usual PoP is now SIN
		{"SIN", 3, "SIN", 0, amsSin},
	}
	probe := map[string]string{"target": "www", "ip_version": "4", "vantage": "ams-office"}
	with := func(extra map[string]string) map[string]string {
		l := map[string]string{}
		for k, v := range probe {
			l[k] = v
		}
		for k, v := range extra {
			l[k] = v
		}
		return l
	}
	for i, st := range steps {
		m.record(r, cloudflareResult(st.pop, edge.CacheHit))
		if got, _ := gaugeValue(t, reg, "pop_probe_pop_changes_total", probe); got != st.changes {
			t.Errorf("step %d (%s): changes = %v, want %v", i+1, st.pop, got, st.changes)
		}
		if _, ok := gaugeValue(t, reg, "pop_probe_baseline_info", with(map[string]string{"pop": st.baseline, "cdn": "cloudflare"})); !ok {
			t.Errorf("step %d (%s): no baseline_info with pop %s", i+1, st.pop, st.baseline)
		}
		if n := countSeries(t, reg, "pop_probe_baseline_info"); n != 1 {
			t.Errorf("step %d: %d baseline_info series, want 1", i+1, n)
		}
		if got, _ := gaugeValue(t, reg, "pop_probe_shift_distance_meters", probe); math.Abs(got-st.shift) > 1 {
			t.Errorf("step %d (%s): shift = %.0f, want %.0f", i+1, st.pop, got, st.shift)
		}
		if got, _ := gaugeValue(t, reg, "pop_probe_distance_meters", probe); math.Abs(got-st.distance) > 20_000 {
			t.Errorf("step %d (%s): distance = %.0f, want ~%.0f", i+1, st.pop, got, st.distance)
		}
		if _, ok := gaugeValue(t, reg, "pop_probe_edge_info", with(map[string]string{"pop": st.pop})); !ok {
			t.Errorf("step %d: edge_info does not show %s", i+1, st.pop)
		}
		if n := countSeries(t, reg, "pop_probe_edge_info"); n != 1 {
			t.Errorf("step %d: %d edge_info series, want 1 (the old one must be deleted)", i+1, n)
		}
	}
	if ts, ok := gaugeValue(t, reg, "pop_probe_last_pop_change_timestamp_seconds", probe); !ok || time.Since(time.Unix(int64(ts), 0)) > time.Minute {
		t.Errorf("last change timestamp = %v (present %v), want about now", ts, ok)
	}
}

func countSeries(t *testing.T, reg prometheus.Gatherer, name string) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.GetMetric())
		}
	}
	return 0
}

func TestRecordExposition(t *testing.T) {
	m, reg := newTestManager(t, Options{})
	target := testTarget(t, "www", "http://127.0.0.1/")
	target.ExpectedPoPs = []string{"AMS", "FRA"}
	target.MaxDistanceKM = 1500
	r := newRecordingRunner(t, m, target)

	res := cloudflareResult("FRA", edge.CacheMiss)
	res.CacheAge = 42
	m.record(r, res)
	fail := prober.Result{Start: time.Now(), Duration: time.Second, CacheAge: -1, FailureReason: prober.ReasonTimeout}
	m.record(r, fail)

	want := `
# HELP pop_probe_cache_age_seconds Age header of the last response, when present.
# TYPE pop_probe_cache_age_seconds gauge
pop_probe_cache_age_seconds{ip_version="4",protocol="http1.1",resolver="system",target="www",vantage="ams-office"} 42
# HELP pop_probe_edge_info The edge that answered the last response, where its PoP came from (pop_source: header, geoip or none), and its shield PoP and IP address where the CDN names them; always 1.
# TYPE pop_probe_edge_info gauge
pop_probe_edge_info{cdn="cloudflare",city="Frankfurt am Main",continent="EU",country="DE",edge_ip="",ip_version="4",latitude="50.0264",longitude="8.5431",pop="FRA",pop_source="header",protocol="http1.1",resolver="system",shield_pop="",target="www",vantage="ams-office"} 1
# HELP pop_probe_expected_pop 1 if the PoP that answered last is in expected_pops, 0 if not; absent when expected_pops is not set.
# TYPE pop_probe_expected_pop gauge
pop_probe_expected_pop{ip_version="4",protocol="http1.1",resolver="system",target="www",vantage="ams-office"} 1
# HELP pop_probe_failures_total Failed probes by reason.
# TYPE pop_probe_failures_total counter
pop_probe_failures_total{ip_version="4",protocol="http1.1",reason="body",resolver="system",target="www",vantage="ams-office"} 0
pop_probe_failures_total{ip_version="4",protocol="http1.1",reason="connect",resolver="system",target="www",vantage="ams-office"} 0
pop_probe_failures_total{ip_version="4",protocol="http1.1",reason="dns",resolver="system",target="www",vantage="ams-office"} 0
pop_probe_failures_total{ip_version="4",protocol="http1.1",reason="http_status",resolver="system",target="www",vantage="ams-office"} 0
pop_probe_failures_total{ip_version="4",protocol="http1.1",reason="other",resolver="system",target="www",vantage="ams-office"} 0
pop_probe_failures_total{ip_version="4",protocol="http1.1",reason="panic",resolver="system",target="www",vantage="ams-office"} 0
pop_probe_failures_total{ip_version="4",protocol="http1.1",reason="timeout",resolver="system",target="www",vantage="ams-office"} 1
pop_probe_failures_total{ip_version="4",protocol="http1.1",reason="tls",resolver="system",target="www",vantage="ams-office"} 0
# HELP pop_probe_http_status_code HTTP status code of the last response, 0 when none came.
# TYPE pop_probe_http_status_code gauge
pop_probe_http_status_code{ip_version="4",protocol="http1.1",resolver="system",target="www",vantage="ams-office"} 0
# HELP pop_probe_max_distance_meters max_distance_km of the target, in meters; absent when not set.
# TYPE pop_probe_max_distance_meters gauge
pop_probe_max_distance_meters{ip_version="4",protocol="http1.1",resolver="system",target="www",vantage="ams-office"} 1.5e+06
# HELP pop_probe_responses_total Responses by the CDN and PoP that answered and their cache status.
# TYPE pop_probe_responses_total counter
pop_probe_responses_total{cache_status="miss",cdn="cloudflare",ip_version="4",pop="FRA",protocol="http1.1",resolver="system",target="www",vantage="ams-office"} 1
# HELP pop_probe_success 1 if the last probe got a valid response, 0 otherwise.
# TYPE pop_probe_success gauge
pop_probe_success{ip_version="4",protocol="http1.1",resolver="system",target="www",vantage="ams-office"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"pop_probe_cache_age_seconds", "pop_probe_edge_info", "pop_probe_expected_pop", "pop_probe_failures_total",
		"pop_probe_http_status_code", "pop_probe_max_distance_meters", "pop_probe_responses_total", "pop_probe_success"); err != nil {
		t.Error(err)
	}
}

// A server that names a new random PoP, shield and edge address on every response must not
// grow the label values of one probe past the cap, in the per-PoP series or on edge_info.
func TestRandomPoPsAreCapped(t *testing.T) {
	m, reg := newTestManager(t, Options{MaxPoPsPerProbe: 5})
	r := newRecordingRunner(t, m, testTarget(t, "random", "http://127.0.0.1/"))
	edgeValues := map[string]map[string]bool{"pop": {}, "shield_pop": {}, "edge_ip": {}, "city": {}}
	for i := 0; i < 200; i++ {
		res := cloudflareResult([]string{"AMS", "FRA", "LHR", "CDG", "SIN", "NRT", "SYD", "GRU", "JNB", "ORD"}[i%10], edge.CacheHit)
		res.Edge.UpstreamPoP = fmt.Sprintf("S%03d", i)
		res.Edge.EdgeIP = fmt.Sprintf("192.0.2.%d", i)
		m.record(r, res)
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() != "pop_probe_edge_info" {
				continue
			}
			for _, lp := range mf.GetMetric()[0].GetLabel() {
				if vals, ok := edgeValues[lp.GetName()]; ok {
					vals[lp.GetValue()] = true
				}
			}
		}
	}
	for name, vals := range edgeValues {
		if len(vals) != 6 || (name != "city" && !vals[OtherPoP]) || (name == "city" && !vals[""]) {
			t.Errorf("edge_info %s took %d values %v, want the first 5 and %q", name, len(vals), vals, map[bool]string{true: "", false: OtherPoP}[name == "city"])
		}
	}
	pops := map[string]bool{}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "pop_probe_responses_total" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			for _, lp := range mt.GetLabel() {
				if lp.GetName() == "pop" {
					pops[lp.GetValue()] = true
				}
			}
		}
	}
	if len(pops) != 6 || !pops[OtherPoP] {
		t.Errorf("pop values = %v, want the first 5 and %q", pops, OtherPoP)
	}
	for v := range edgeValues["pop"] {
		if !pops[v] {
			t.Errorf("edge_info pop %q is not among the per-PoP series' pop values %v", v, pops)
		}
	}
	if n := countSeries(t, reg, "pop_probe_edge_info"); n != 1 {
		t.Errorf("edge_info series = %d, want 1", n)
	}
}

func TestPanicInProbeIsCountedAndSurvived(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	m, reg := newTestManager(t, Options{})
	var calls atomic.Int32
	m.probe = func(ctx context.Context, s *prober.Spec) prober.Result {
		calls.Add(1)
		panic("injected bug") // a bug in a probe must not take the daemon down
	}
	target := testTarget(t, "panicky", "http://127.0.0.1/")
	target.Interval = config.Duration(20 * time.Millisecond)
	target.Timeout = config.Duration(10 * time.Millisecond)
	if err := m.Apply(amsConfig(target)); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"target": "panicky", "reason": prober.ReasonPanic}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if v, _ := gaugeValue(t, reg, "pop_probe_failures_total", labels); v >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("panics counted after 5s: calls=%d", calls.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	m.Stop()
}

// Reload: an unchanged target keeps its runner (schedule and PoP state); a removed target
// loses every series; goroutines return to the baseline after reloads and after Stop.
func TestApplyKeepsUnchangedAndRemovesGone(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Server", "cloudflare")
		w.Header().Set("CF-RAY", "9da906681ad80c13-AMS")
		w.Header().Set("CF-Cache-Status", "HIT")
	}))
	defer srv.Close()

	m, reg := newTestManager(t, Options{})
	keep := testTarget(t, "keep", srv.URL+"/keep")
	keep.Interval = config.Duration(50 * time.Millisecond)
	keep.Timeout = config.Duration(40 * time.Millisecond)
	gone := keep
	gone.Name, gone.URL = "gone", srv.URL+"/gone"
	if err := m.Apply(amsConfig(keep, gone)); err != nil {
		t.Fatal(err)
	}
	testhelp.WaitFor(t, func() bool {
		_, a := gaugeValue(t, reg, "pop_probe_success", map[string]string{"target": "keep"})
		_, b := gaugeValue(t, reg, "pop_probe_success", map[string]string{"target": "gone"})
		return a && b
	})
	kept := m.runners["keep/4/system/http1.1"]

	if err := m.Apply(amsConfig(keep)); err != nil {
		t.Fatal(err)
	}
	if m.runners["keep/4/system/http1.1"] != kept {
		t.Error("unchanged target was restarted by the reload")
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			if matchLabels(mt, map[string]string{"target": "gone"}) {
				t.Errorf("removed target still has %s", mf.GetName())
			}
		}
	}
	if v, _ := gaugeValue(t, reg, "pop_exporter_targets", nil); v != 1 {
		t.Errorf("pop_exporter_targets = %v, want 1", v)
	}

	// A target with a CA file is unchanged too, although each load reads a new pool.
	withCA := func() *config.Config {
		tg := keep
		tg.TLS.CAFile = "ca.pem"
		cfg := amsConfig(tg)
		cfg.Compiled.Targets[0].RootCAs = x509.NewCertPool()
		cfg.Compiled.Targets[0].RootCAs.AppendCertsFromPEM(testCAPEM)
		return cfg
	}
	if err := m.Apply(withCA()); err != nil {
		t.Fatal(err)
	}
	kept = m.runners["keep/4/system/http1.1"]
	if err := m.Apply(withCA()); err != nil {
		t.Fatal(err)
	}
	if m.runners["keep/4/system/http1.1"] != kept {
		t.Error("target with an unchanged tls.ca_file was restarted by the reload")
	}

	// Another IP family or another resolver of the same target is a probe of its own: adding
	// one leaves the probe that was there running, with its state; changing the probe's own
	// resolver restarts it.
	if err := m.Apply(amsConfig(keep)); err != nil {
		t.Fatal(err)
	}
	kept = m.runners["keep/4/system/http1.1"]
	more := keep
	more.IPProtocols = []string{"ip4", "ip6"}
	if err := m.Apply(amsConfig(more)); err != nil {
		t.Fatal(err)
	}
	if m.runners["keep/4/system/http1.1"] != kept || m.runners["keep/6/system/http1.1"] == nil {
		t.Error("adding ip6 restarted the ip4 probe, or started no ip6 probe")
	}
	resolvers := func(rs ...config.Resolver) *config.Config {
		tg := keep
		tg.Resolvers = rs
		return amsConfig(tg)
	}
	local := config.Resolver{Name: "local", Server: "127.0.0.1:1"}
	if err := m.Apply(resolvers(local)); err != nil {
		t.Fatal(err)
	}
	kept = m.runners["keep/4/local/http1.1"]
	if err := m.Apply(resolvers(local, config.Resolver{Name: "far", Server: "127.0.0.2:1"})); err != nil {
		t.Fatal(err)
	}
	if m.runners["keep/4/local/http1.1"] != kept || m.runners["keep/4/far/http1.1"] == nil {
		t.Error("adding a resolver restarted the probe of another one, or started none")
	}
	kept = m.runners["keep/4/local/http1.1"]
	if err := m.Apply(resolvers(config.Resolver{Name: "local", Server: "127.0.0.1:2"})); err != nil {
		t.Fatal(err)
	}
	if m.runners["keep/4/local/http1.1"] == kept || m.runners["keep/4/far/http1.1"] != nil {
		t.Error("a resolver whose server changed kept its probe, or a removed resolver's probe stayed")
	}
	if err := m.Apply(amsConfig(keep)); err != nil {
		t.Fatal(err)
	}
	kept = m.runners["keep/4/system/http1.1"]

	changed := keep
	changed.Interval = config.Duration(60 * time.Millisecond)
	if err := m.Apply(amsConfig(changed)); err != nil {
		t.Fatal(err)
	}
	if m.runners["keep/4/system/http1.1"] == kept {
		t.Error("changed target kept its old runner")
	}
	m.Stop()
}

func TestMetricNamesMatchContract(t *testing.T) {
	want := []string{
		"pop_exporter_build_info", "pop_exporter_config_last_reload_success_timestamp_seconds",
		"pop_exporter_config_last_reload_successful", "pop_exporter_missed_intervals_total",
		"pop_exporter_probes_in_flight", "pop_exporter_schedule_delay_seconds", "pop_exporter_shard_info",
		"pop_exporter_target_file_last_load_successful", "pop_exporter_targets",
		"pop_probe_alt_svc_info", "pop_probe_baseline_info", "pop_probe_cache_age_seconds", "pop_probe_content_last_modified_timestamp_seconds",
		"pop_probe_content_propagation_window_seconds", "pop_probe_content_version_since_timestamp_seconds", "pop_probe_distance_meters",
		"pop_probe_dns_answer_info", "pop_probe_duration_seconds", "pop_probe_edge_info", "pop_probe_expected_pop",
		"pop_probe_failures_total", "pop_probe_http_status_code", "pop_probe_last_pop_change_timestamp_seconds",
		"pop_probe_max_distance_meters", "pop_probe_phase_duration_seconds", "pop_probe_phase_seconds", "pop_probe_pop_changes_total",
		"pop_probe_responses_total", "pop_probe_shift_distance_meters", "pop_probe_success",
		"pop_probe_tls_earliest_cert_expiry_timestamp_seconds", "pop_probe_tls_info", "pop_probe_tls_leaf_cert_expiry_timestamp_seconds",
		"pop_probe_ttfb_seconds", "pop_vantage_info",
	}
	got := MetricNames()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("MetricNames() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Three replicas given the same configuration probe each target exactly once between them,
// both IP families of a target on the same replica, with series labelled as without sharding;
// a reload that adds a target keeps every unchanged probe of every replica running.
func TestShardedReplicasSplitTargets(t *testing.T) {
	const replicas = 3
	var targets []config.Target
	for i := range 30 {
		tg := testTarget(t, fmt.Sprintf("www-%d", i), "http://127.0.0.1:1/")
		tg.Interval = config.Duration(time.Hour) // nothing needs to be probed here
		tg.IPProtocols = []string{"ip4", "ip6"}
		targets = append(targets, tg)
	}
	type replica struct {
		m   *Manager
		reg prometheus.Gatherer
	}
	var fleet []replica
	for i := range replicas {
		m, reg := newTestManager(t, Options{Shard: shard.Shard{Index: i, Total: replicas}})
		if err := m.Apply(amsConfig(targets...)); err != nil {
			t.Fatal(err)
		}
		if v, ok := gaugeValue(t, reg, "pop_exporter_shard_info", map[string]string{"index": fmt.Sprint(i), "total": "3"}); !ok || v != 1 {
			t.Errorf("replica %d: pop_exporter_shard_info{index=%q,total=\"3\"} = %v (present %v), want 1", i, fmt.Sprint(i), v, ok)
		}
		fleet = append(fleet, replica{m, reg})
	}
	owners := func(name string) (n int, probes int) {
		for _, r := range fleet {
			for _, ipv := range []string{"4", "6"} {
				if _, ok := gaugeValue(t, r.reg, "pop_probe_pop_changes_total",
					map[string]string{"vantage": "ams-office", "target": name, "ip_version": ipv}); ok {
					probes++
				}
			}
			if _, ok := r.m.runners[name+"/4/system/http1.1"]; ok {
				n++
			}
		}
		return n, probes
	}
	total := 0.0
	for i, r := range fleet {
		v, _ := gaugeValue(t, r.reg, "pop_exporter_targets", nil)
		if v == 0 || v == 60 {
			t.Errorf("replica %d runs %v probes: not a share of 60", i, v)
		}
		total += v
	}
	if total != 60 {
		t.Errorf("pop_exporter_targets sums to %v over the replicas, want 60 (30 targets × 2 IP families)", total)
	}
	for _, tg := range targets {
		if n, probes := owners(tg.Name); n != 1 || probes != 2 {
			t.Errorf("%s: probed by %d replicas with %d series sets, want 1 replica and 2 (ip_version 4 and 6)", tg.Name, n, probes)
		}
	}

	before := make([]map[string]*runner, replicas)
	for i, r := range fleet {
		before[i] = map[string]*runner{}
		for k, v := range r.m.runners {
			before[i][k] = v
		}
	}
	added := targets[0]
	added.Name = "added"
	for _, r := range fleet {
		if err := r.m.Apply(amsConfig(append(slices.Clone(targets), added)...)); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range fleet {
		for k, old := range before[i] {
			if r.m.runners[k] != old {
				t.Errorf("replica %d: reload restarted unchanged probe %s", i, k)
			}
		}
	}
	if n, probes := owners("added"); n != 1 || probes != 2 {
		t.Errorf("added target: probed by %d replicas with %d series sets, want 1 and 2", n, probes)
	}
}

// ip_protocols [ip4, ip6] makes two probes of one target, told apart by ip_version.
func TestBothIPFamiliesAreTwoProbes(t *testing.T) {
	m, reg := newTestManager(t, Options{})
	target := testTarget(t, "dual", "http://localhost:1/")
	target.IPProtocols = []string{"ip4", "ip6"}
	if err := m.Apply(amsConfig(target)); err != nil {
		t.Fatal(err)
	}
	if v, _ := gaugeValue(t, reg, "pop_exporter_targets", nil); v != 2 {
		t.Errorf("pop_exporter_targets = %v, want 2", v)
	}
	for _, ipv := range []string{"4", "6"} {
		if _, ok := gaugeValue(t, reg, "pop_probe_pop_changes_total", map[string]string{"target": "dual", "ip_version": ipv}); !ok {
			t.Errorf("no series with ip_version %q", ipv)
		}
	}
}

// testCAPEM is a CA certificate for tests, from config's testdata.
var testCAPEM = func() []byte {
	b, err := os.ReadFile("../config/testdata/ca.pem")
	if err != nil {
		panic(err)
	}
	return b
}()

// A server naming a new random PoP on every response, probed for real: the pop label values
// of the probe stay within the cap.
func TestRandomPoPServerIsCapped(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		i := n.Add(1)
		w.Header().Set("CF-RAY", fmt.Sprintf("9da906681ad80c13-%c%c%c", 'A'+i%26, 'A'+i/26%26, 'A'+i/676%26))
		w.Header().Set("Server", "cloudflare")
	}))
	defer srv.Close()
	m, reg := newTestManager(t, Options{MaxPoPsPerProbe: 4})
	target := testTarget(t, "random", srv.URL)
	r := newRecordingRunner(t, m, target)
	s := r.spec.Load()
	for range 60 {
		m.record(r, m.runProbe(context.Background(), s))
	}
	pops := map[string]bool{}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			for _, lp := range mt.GetLabel() {
				// The basic set's TTFB histogram is per probe, its pop label empty.
				if lp.GetName() == "pop" && lp.GetValue() != "" && mf.GetName() != "pop_probe_edge_info" && mf.GetName() != "pop_probe_baseline_info" {
					pops[lp.GetValue()] = true
				}
			}
		}
	}
	if len(pops) > 5 || !pops[OtherPoP] {
		t.Errorf("pop label values = %v: want at most 4 codes and %q", pops, OtherPoP)
	}
}

// A baseline_window longer than config.MaxBaselineProbes probes is shortened, and the log says so
// (the README documents the bound).
func TestBaselineWindowCapIsLogged(t *testing.T) {
	var logs strings.Builder
	m, _ := newTestManager(t, Options{Logger: log.NewLogfmtLogger(log.NewSyncWriter(&logs))})
	m.probe = func(ctx context.Context, _ *prober.Spec) prober.Result { <-ctx.Done(); return prober.Result{} }
	target := testTarget(t, "long", "http://127.0.0.1/")
	target.Interval, target.BaselineWindow = config.Duration(time.Second), config.Duration(24*time.Hour)
	if n, capped := baselineProbes(target); n != config.MaxBaselineProbes || !capped {
		t.Errorf("baselineProbes = %d, %v; want %d, true", n, capped, config.MaxBaselineProbes)
	}
	if err := m.Apply(amsConfig(target)); err != nil {
		t.Fatal(err)
	}
	m.Stop()
	if !strings.Contains(logs.String(), "baseline_window is longer") || !strings.Contains(logs.String(), "covers=2h46m40s") {
		t.Errorf("no warning about the shortened baseline window in:\n%s", logs.String())
	}
}
