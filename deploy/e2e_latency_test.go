package deploy

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/popexporter/pop_exporter/dashboards"
)

// constantTTFBs are the e2e scenario's targets whose first byte always takes the same time
// (testdata/e2e-scenario.yml): plain HTTP on loopback, so the exporter measures the scripted
// delay plus well under a millisecond.
var constantTTFBs = map[string]time.Duration{"ttfb-80": 80 * time.Millisecond, "ttfb-250": 250 * time.Millisecond, "ttfb-900": 900 * time.Millisecond}

// latencyTolerance is how far from the real TTFB a latency panel may draw it. The basic
// set's classic buckets (50 ms, 200 ms, 1 s, 2.5 s) interpolated by histogram_quantile drew a
// constant 80 ms as a p50 of 125 ms (+56%) and 250 ms as a p95 of 960 ms.
const latencyTolerance = 0.10

// latencyQuery reports whether a dashboard query draws a latency of the probes: TTFB, its
// phases or the whole probe. The heatmap is left out: it counts probes per bucket, and its
// cells are as wide as the buckets by design. Threshold lines read only a rule's number.
func latencyQuery(q dashboards.Query) bool {
	if q.Kind != dashboards.KindPanel || q.PanelType == "heatmap" {
		return false
	}
	if q.File != "latency.json" && q.File != "pop-overview.json" {
		return false
	}
	return strings.Contains(q.Expr, "ttfb_seconds") || strings.Contains(q.Expr, "pop_probe_phase_") ||
		strings.Contains(q.Expr, "pop_probe_duration_seconds")
}

// checkLatencyPanels runs every latency panel query of the dashboards with one constant-TTFB
// target selected, as a user picking it would, and requires each value it returns to be that
// TTFB within latencyTolerance. Phase panels are read for their processing phase (which is
// all of the TTFB on loopback but for a fraction of a millisecond of connect). It also checks
// that none of them raises PopTTFBHigh (all are under its 1 s threshold).
func checkLatencyPanels(t *testing.T, prom promClient) {
	t.Helper()
	queries, err := dashboards.Queries()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, q := range queries {
		if !latencyQuery(q) {
			continue
		}
		n++
		for target, want := range constantTTFBs {
			expr := dashboards.ExpandWith(q.Expr, map[string]string{"target": target})
			what := fmt.Sprintf("%s / %q / %s for %s shows %v", q.File, q.Panel, q.RefID, target, want)
			if !eventually(t, what, 30*time.Second, func() error { return expectNear(prom, expr, want.Seconds()) }) {
				prom.logQueries(t, expr, fmt.Sprintf(`pop_probe_phase_seconds{target=%q}`, target),
					fmt.Sprintf(`vantage_target:pop_probe_ttfb_seconds:mean5m{target=%q}`, target))
			}
		}
	}
	if n < 8 {
		t.Errorf("found %d latency panel queries, want the TTFB, phase and probe duration panels of Latency and the TTFB columns of Targets", n)
	}
	if err := prom.expectSeries(`ALERTS{alertname="PopTTFBHigh",target=~"ttfb-.*"}`); err == nil {
		t.Error("PopTTFBHigh raised for a target whose TTFB is below the threshold")
	}
}

// expectNear runs an instant query and fails unless it returns at least one value to check
// and every value is want within latencyTolerance. A series of a phase other than processing
// is not the TTFB and is skipped.
func expectNear(prom promClient, expr string, want float64) error {
	res, err := prom.queryAt(expr, time.Now())
	if err != nil {
		return err
	}
	checked := 0
	for _, s := range res {
		if ph, ok := s.Metric["phase"]; ok && ph != "processing" {
			continue
		}
		_, vs, err := s.samples()
		if err != nil {
			return err
		}
		for _, v := range vs {
			if math.IsNaN(v) || math.Abs(v-want) > latencyTolerance*want {
				return fmt.Errorf("%v = %.4g, want %.4g ± %.0f%%", s.Metric, v, want, latencyTolerance*100)
			}
			checked++
		}
	}
	if checked == 0 {
		return fmt.Errorf("no value to check (%d series)", len(res))
	}
	return nil
}
