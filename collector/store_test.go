package collector

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"

	"github.com/popexporter/pop_exporter/collector/edge"
)

// The store writes the text formats itself; they must be exactly what expfmt makes of the
// same series gathered as protobuf messages, label escaping, histograms and all.
func TestStoreWritesWhatExpfmtWrites(t *testing.T) {
	m, _ := newTestManager(t, Options{MaxPoPsPerProbe: 3})
	for i := range 3 {
		target := testTarget(t, fmt.Sprintf("t%d", i), "http://127.0.0.1/")
		target.ExpectedPoPs = []string{"AMS"}
		target.MaxDistanceKM = 1234.5
		r := newRecordingRunner(t, m, target)
		for j, pop := range []string{"AMS", "FRA", "SIN", "LHR", "AMS"} {
			res := cloudflareResult(pop, []string{edge.CacheHit, edge.CacheMiss, edge.CacheStale}[j%3])
			res.TTFB = time.Duration(j*37+i) * time.Millisecond
			res.Phases = [numPhases]time.Duration{time.Millisecond, 2 * time.Millisecond, 0, time.Duration(j) * 40 * time.Millisecond, time.Microsecond}
			res.Happened = [numPhases]bool{true, true, false, true, true}
			res.CacheAge = float64(j * 10)
			m.record(r, res)
		}
		m.record(r, Result{Start: time.Now(), CacheAge: -1, FailureReason: ReasonTLS})
	}
	// A label value that needs escaping.
	m.metrics.vantageInfo.set(1, `vant"age`, "AMS", `back\slash`, "NL", "EU", "52.3086", "4.7639")

	for _, tc := range []struct {
		name   string
		format expfmt.Format
		om     bool
	}{
		{"text", expfmt.NewFormat(expfmt.TypeTextPlain), false},
		{"openmetrics", expfmt.NewFormat(expfmt.TypeOpenMetrics), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got bytes.Buffer
			w := bufio.NewWriter(&got)
			if err := m.metrics.store.write(w, tc.om); err != nil {
				t.Fatal(err)
			}
			w.Flush()

			mfs, err := m.Gather()
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			enc := expfmt.NewEncoder(&want, tc.format)
			for _, mf := range mfs {
				if err := enc.Encode(mf); err != nil {
					t.Fatal(err)
				}
			}
			if got.String() != want.String() {
				gl, wl := strings.Split(got.String(), "\n"), strings.Split(want.String(), "\n")
				for i := range min(len(gl), len(wl)) {
					if gl[i] != wl[i] {
						t.Fatalf("line %d differs:\n got %s\nwant %s", i+1, gl[i], wl[i])
					}
				}
				t.Fatalf("got %d lines, want %d", len(gl), len(wl))
			}
			if !strings.Contains(got.String(), `pop_probe_ttfb_seconds_bucket{cache_status="hit",cdn="cloudflare",ip_version="4",pop="AMS",target="t0",vantage="ams-office",le="0.005"}`) {
				t.Errorf("no TTFB bucket line for t0 at AMS in:\n%s", got.String())
			}
		})
	}
}

func TestStoreRemoveProbe(t *testing.T) {
	m, reg := newTestManager(t, Options{})
	for _, name := range []string{"t1", "t10", "t2"} {
		r := newRecordingRunner(t, m, testTarget(t, name, "http://127.0.0.1/"))
		m.record(r, cloudflareResult("AMS", edge.CacheHit))
	}
	for _, f := range m.metrics.perProbe() {
		f.removeProbe([]string{"ams-office", "t1", "4"})
	}
	mfs, _ := reg.Gather()
	seen := map[string]bool{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			for _, lp := range mt.GetLabel() {
				if lp.GetName() == "target" {
					seen[lp.GetValue()] = true
				}
			}
		}
	}
	if seen["t1"] || !seen["t10"] || !seen["t2"] {
		t.Errorf("targets left after removing t1: %v, want t10 and t2 only", seen)
	}
}
