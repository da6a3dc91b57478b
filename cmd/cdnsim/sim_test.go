package main

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
)

// fakeClock is a settable clock: timelines are tested at chosen instants, never by sleeping.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock               { return &fakeClock{t: renderTime} }

func mustScenario(t *testing.T, yml string) *Scenario {
	t.Helper()
	sc, err := ParseScenario("inline", []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

const timelineScenario = `
targets:
  - {name: stay, cdn: cloudflare, pops: {stay: AMS}}
  - {name: shift, cdn: cloudflare, pops: {shift: {from: AMS, to: SIN, after: 60s}}}
  - {name: flap, cdn: cloudfront, pops: {flap: {between: [FRA, AMS], every: 30s}}}
  - {name: random, cdn: azure, pops: {random: [AMS, LHR, FRA]}}
`

// popsAt asks each target which PoP answers a request at elapsed time.
func popsAt(s *simulator, elapsed time.Duration) map[string]string {
	out := map[string]string{}
	for _, t := range s.order {
		n := t.requests.Add(1) - 1
		out[t.Name] = s.decide(t, n, elapsed, -1, "", false).pop
	}
	return out
}

func TestTimelines(t *testing.T) {
	clock := newFakeClock()
	s := newSimulator(mustScenario(t, timelineScenario), 1, clock.now, promslog.NewNopLogger())
	for _, tc := range []struct {
		at                time.Duration
		stay, shift, flap string
	}{
		{0, "AMS", "AMS", "FRA"},
		{29 * time.Second, "AMS", "AMS", "FRA"},
		{30 * time.Second, "AMS", "AMS", "AMS"},
		{59*time.Second + 999*time.Millisecond, "AMS", "AMS", "AMS"},
		{60 * time.Second, "AMS", "SIN", "FRA"},
		{95 * time.Second, "AMS", "SIN", "AMS"},
		{time.Hour, "AMS", "SIN", "FRA"},
	} {
		got := popsAt(s, tc.at)
		if got["stay"] != tc.stay || got["shift"] != tc.shift || got["flap"] != tc.flap {
			t.Errorf("at %v: stay %s shift %s flap %s, want %s %s %s", tc.at, got["stay"], got["shift"], got["flap"], tc.stay, tc.shift, tc.flap)
		}
	}
	// A random timeline visits every PoP of its set and nothing else.
	seen := map[string]int{}
	for range 300 {
		seen[popsAt(s, time.Minute)["random"]]++
	}
	if len(seen) != 3 || seen["AMS"] == 0 || seen["LHR"] == 0 || seen["FRA"] == 0 {
		t.Errorf("random PoPs seen %v, want each of AMS, LHR, FRA", seen)
	}
}

// Time is measured from the simulator's start: the served PoP follows the injected clock.
func TestServedPoPFollowsClock(t *testing.T) {
	clock := newFakeClock()
	s := newSimulator(mustScenario(t, timelineScenario), 1, clock.now, promslog.NewNopLogger())
	get := func() string {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", "/shift/index.html", nil))
		return rec.Header().Get("Cf-Ray")[17:]
	}
	if pop := get(); pop != "AMS" {
		t.Errorf("at start: CF-RAY PoP %s, want AMS", pop)
	}
	clock.advance(61 * time.Second)
	if pop := get(); pop != "SIN" {
		t.Errorf("after 61s: CF-RAY PoP %s, want SIN", pop)
	}
}

// serveSequence serves the same request sequence and returns every response's headers.
func serveSequence(t *testing.T, seed int64) []http.Header {
	t.Helper()
	sc := mustScenario(t, `
targets:
  - {name: r, cdn: fastly, shield: FRA, pops: {random: [AMS, LHR, CDG]}, cache: {hit: 0.5, miss: 0.3, stale: 0.2}, faults: {error_rate: 0.3}, ttfb: {default: {median: 0s}}}
  - {name: a, cdn: akamai, pops: {random: [AMS, FRA]}, cache: {hit: 0.5, miss: 0.5}, ttfb: {default: {median: 0s}}}
`)
	s := newSimulator(sc, seed, newFakeClock().now, promslog.NewNopLogger())
	var out []http.Header
	for i := range 40 {
		path := []string{"/r/", "/a/x"}[i%2]
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Pragma", "akamai-x-cache-on")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		h := rec.Header().Clone()
		h.Set("X-Test-Status", http.StatusText(rec.Code))
		out = append(out, h)
	}
	return out
}

func TestDeterministicForSeed(t *testing.T) {
	a, b := serveSequence(t, 42), serveSequence(t, 42)
	if !reflect.DeepEqual(a, b) {
		for i := range a {
			if !reflect.DeepEqual(a[i], b[i]) {
				t.Fatalf("response %d differs between two runs with seed 42:\n%v\n%v", i, a[i], b[i])
			}
		}
	}
	c := serveSequence(t, 43)
	if reflect.DeepEqual(a, c) {
		t.Error("seeds 42 and 43 gave identical runs")
	}
	// The draws vary within a run too: several edges and both normal and error statuses.
	edges, statuses := map[string]bool{}, map[string]bool{}
	for _, h := range a {
		if sb := h.Get("X-Served-By"); sb != "" {
			edges[sb[len(sb)-3:]] = true
		}
		statuses[h.Get("X-Test-Status")] = true
	}
	if len(edges) != 3 {
		t.Errorf("fastly edges seen %v, want AMS, LHR and CDG", edges)
	}
	if !statuses["OK"] || !statuses["Service Unavailable"] {
		t.Errorf("statuses %v: want both 200 and 503 with error_rate 0.3", statuses)
	}
}

func TestCacheMixAndTTFB(t *testing.T) {
	sc := mustScenario(t, `
targets:
  - name: m
    cdn: cloudflare
    pops: {stay: AMS}
    cache: {hit: 3, miss: 1}
    ttfb: {AMS: {median: 100ms, jitter: 10ms}}
`)
	s := newSimulator(sc, 7, newFakeClock().now, promslog.NewNopLogger())
	tg := s.targets["m"]
	counts := map[string]int{}
	var sum time.Duration
	const n = 4000
	for i := range uint64(n) {
		d := s.decide(tg, i, 0, -1, "", false)
		counts[d.cache]++
		sum += d.ttfb
		if d.ttfb < 65*time.Millisecond || d.ttfb > 135*time.Millisecond {
			t.Fatalf("ttfb %v outside median ± 3.5 jitter", d.ttfb)
		}
	}
	if hit := float64(counts["hit"]) / n; hit < 0.72 || hit > 0.78 {
		t.Errorf("hit share %.3f, want about 0.75 (weights 3:1)", hit)
	}
	if mean := sum / n; mean < 99*time.Millisecond || mean > 101*time.Millisecond {
		t.Errorf("mean ttfb %v, want about 100ms", mean)
	}
}

func TestFaultWindow(t *testing.T) {
	sc := mustScenario(t, `
targets:
  - {name: w, cdn: cloudflare, pops: {stay: AMS}, faults: {error_rate: 1, after: 1m, until: 2m}}
`)
	s := newSimulator(sc, 1, newFakeClock().now, promslog.NewNopLogger())
	tg := s.targets["w"]
	for _, tc := range []struct {
		at   time.Duration
		want fault
	}{{0, faultNone}, {time.Minute, faultError}, {119 * time.Second, faultError}, {2 * time.Minute, faultNone}} {
		if got := s.decide(tg, 0, tc.at, -1, "", false).fault; got != tc.want {
			t.Errorf("at %v: fault %v, want %v", tc.at, got, tc.want)
		}
	}
}

func TestIndexAndUnknownTarget(t *testing.T) {
	s := newSimulator(mustScenario(t, timelineScenario), 1, newFakeClock().now, promslog.NewNopLogger())
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	want := "# cdnsim: 4 targets, seed 1, started 2025-02-04T14:11:49Z\n" +
		"/stay/\tcloudflare\thttps\tstay AMS\n" +
		"/shift/\tcloudflare\thttps\tshift AMS->SIN after 1m0s\n" +
		"/flap/\tcloudfront\thttps\tflap FRA/AMS every 30s\n" +
		"/random/\tazure\thttps\trandom AMS,LHR,FRA\n"
	if rec.Body.String() != want {
		t.Errorf("index:\n%s\nwant:\n%s", rec.Body.String(), want)
	}
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/nope/", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("unknown target: status %d, want 404", rec.Code)
	}
}

func TestCloudflareTrace(t *testing.T) {
	s := newSimulator(mustScenario(t, timelineScenario), 1, newFakeClock().now, promslog.NewNopLogger())
	req := httptest.NewRequest("GET", "http://edge.test/shift/cdn-cgi/trace", nil)
	req.Header.Set("User-Agent", "pop_exporter/test")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	body := rec.Body.String()
	// The body follows the real trace's line order (`fl=… colo=SJC … loc=CN tls=…`).
	re := `^fl=[0-9]{3}[0-9a-f]{3}\nh=edge\.test\nip=192\.0\.2\.1\nts=1738678309\.123\nvisit_scheme=http\nuag=pop_exporter/test\ncolo=AMS\nsliver=none\nhttp=http/1\.1\nloc=NL\ntls=off\nsni=off\nwarp=off\ngateway=off\nrbi=off\n$`
	if !regexpMatch(re, body) {
		t.Errorf("trace body:\n%s\ndoes not match %s", body, re)
	}
	if rec.Header().Get("Cf-Cache-Status") != "" || rec.Header().Get("Cf-Ray") == "" {
		t.Errorf("trace headers: %v", rec.Header())
	}
}
