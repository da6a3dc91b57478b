package targetfiles

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/popexporter/pop_exporter/collector"
	"github.com/popexporter/pop_exporter/collector/exposition"
	"github.com/popexporter/pop_exporter/config"
)

// flappingEdge answers as Cloudflare: from AMS, except /flap, which alternates between AMS
// and FRA so that its pop_probe_pop_changes_total grows with every probe.
func flappingEdge(t *testing.T) *httptest.Server {
	var mu sync.Mutex
	flaps := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pop := "AMS"
		if r.URL.Path == "/flap" {
			mu.Lock()
			flaps++
			if flaps%2 == 0 {
				pop = "FRA"
			}
			mu.Unlock()
		}
		w.Header().Set("Server", "cloudflare")
		w.Header().Set("CF-RAY", "9da906681ad80c13-"+pop)
		w.Header().Set("CF-Cache-Status", "HIT")
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// metricValue sums the samples of name whose labels include labels; ok is false when there
// are none.
func metricValue(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) (v float64, ok bool) {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, want := range labels {
				if have[k] != want {
					continue metrics
				}
			}
			ok = true
			v += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return v, ok
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 15s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The whole path with the real collector, probing a loopback edge every second: target files
// added, changed, corrupted and removed while probes run, observed on the metrics. A target
// untouched by a change keeps its runner: its pop_probe_pop_changes_total goes on counting
// instead of starting again at 0.
func TestTargetFilesWithManager(t *testing.T) {
	// Cleanups run last registered first: the collector stops, then Run, then the edge, and
	// then nothing may be left.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	srv := flappingEdge(t)
	reg := prometheus.NewRegistry()
	store := exposition.NewStore()
	mgr, err := collector.New(reg, store, collector.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := prometheus.Gatherers{reg, store}
	s := newSetup(t)
	s.fs = New(mgr, Options{Logger: log.NewLogfmtLogger(s.logs), Debounce: 20 * time.Millisecond})
	target := func(name string, extra ...string) string {
		return fmt.Sprintf("- name: %s\n  url: %s/%s\n%s", name, srv.URL, name, strings.Join(extra, ""))
	}
	has := func(name string, labels map[string]string) bool {
		_, ok := metricValue(t, g, name, labels)
		return ok
	}
	changes := func() float64 {
		v, _ := metricValue(t, g, "pop_probe_pop_changes_total", map[string]string{"target": "flap"})
		return v
	}
	fileStatus := func(name string) (float64, bool) {
		return metricValue(t, g, "pop_exporter_target_file_last_load_successful",
			map[string]string{"file": filepath.Join(s.dir, "targets", name)})
	}

	path := filepath.Join(s.dir, "pop.yml")
	s.write(path, fmt.Sprintf("vantage: {name: test, location: AMS}\ndefaults: {interval: 1s, timeout: 500ms}\n"+
		"target_files: [targets/*.yml]\ntargets:\n  - {name: www, url: '%s/www'}\n", srv.URL))
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s.file("a.yml", target("flap")+target("one"))
	s.load(cfg)
	runFiles(t, s.fs)
	t.Cleanup(mgr.Stop)
	waitUntil(t, "flap changed PoP twice", func() bool { return changes() >= 2 })

	// A new file: its target appears.
	before := changes()
	s.file("b.yml", target("two"))
	waitUntil(t, "target two appeared", func() bool { return has("pop_probe_pop_changes_total", map[string]string{"target": "two"}) })
	if after := changes(); after < before {
		t.Errorf("adding b.yml reset flap's pop changes from %v to %v", before, after)
	}

	// A change to another target of the same file.
	before = changes()
	s.file("a.yml", target("flap")+target("one", "  max_distance_km: 1500\n"))
	waitUntil(t, "one's max_distance_km applied", func() bool {
		v, _ := metricValue(t, g, "pop_probe_max_distance_meters", map[string]string{"target": "one"})
		return v == 1.5e6
	})
	if after := changes(); after < before {
		t.Errorf("changing target one reset flap's pop changes from %v to %v", before, after)
	}
	waitUntil(t, "flap keeps counting", func() bool { return changes() > before })

	// A corrupt file keeps its targets probing and raises the failing metric.
	if err := os.WriteFile(filepath.Join(s.dir, "targets", "b.yml"), []byte(target("two")+"- name: three\n   url: http"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "b.yml reported failing", func() bool { v, ok := fileStatus("b.yml"); return ok && v == 0 })
	if v, _ := fileStatus("a.yml"); v != 1 {
		t.Errorf("a.yml status %v, want 1", v)
	}
	responses := func() float64 {
		v, _ := metricValue(t, g, "pop_probe_responses_total", map[string]string{"target": "two"})
		return v
	}
	r := responses()
	waitUntil(t, "two keeps probing while b.yml is corrupt", func() bool { return responses() > r })
	if !strings.Contains(s.logs.String(), "target file not used") {
		t.Errorf("the corrupt file was not logged:\n%s", s.logs)
	}

	// A removed file: its targets and its status series go.
	if err := os.Remove(filepath.Join(s.dir, "targets", "b.yml")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "target two gone", func() bool { return !has("pop_probe_pop_changes_total", map[string]string{"target": "two"}) })
	if _, ok := fileStatus("b.yml"); ok {
		t.Error("b.yml still has a status series after it was removed")
	}
	if !has("pop_probe_success", map[string]string{"target": "www"}) {
		t.Error("the configuration file's own target stopped")
	}
}
