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
// constant 80 ms as a p50 of 125 ms (+56%), 250 ms as a p95 of 960 ms and 900 ms as a p50 of
// 600 ms (-33%).
const latencyTolerance = 0.10

// slowestProbe is the longest whole probe (pop_probe_duration_seconds, the exporter's raw
// gauge: no rule, no bucket) of a target over the panels' 5-minute window. On a quiet machine
// it is the scripted delay plus a millisecond; on one too busy to fire timers on time the
// exporter really measured more, and a panel may show what it measured.
func slowestProbe(prom promClient, target string) (float64, error) {
	res, err := prom.queryAt(fmt.Sprintf(`max(max_over_time(pop_probe_duration_seconds{target=%q}[5m]))`, target), time.Now())
	if err != nil || len(res) != 1 {
		return 0, fmt.Errorf("slowest probe of %s: %v (%d series)", target, err, len(res))
	}
	_, vs, err := res[0].samples()
	if err != nil || len(vs) != 1 {
		return 0, fmt.Errorf("slowest probe of %s: %v", target, err)
	}
	return vs[0], nil
}

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
// TTFB within latencyTolerance (above it, up to the slowest probe the exporter measured, if a
// busy machine made probes slower than scripted). Phase panels are read for their processing phase (which is
// all of the TTFB on loopback but for a fraction of a millisecond of connect). It also checks
// that the 80 ms and 250 ms targets do not raise PopTTFBHigh.
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
			if !eventually(t, what, 30*time.Second, func() error {
				slowest, err := slowestProbe(prom, target)
				if err != nil {
					return err
				}
				return expectNear(prom, expr, want.Seconds(), max(want.Seconds(), slowest))
			}) {
				prom.logQueries(t, expr, fmt.Sprintf(`pop_probe_phase_seconds{target=%q}`, target),
					fmt.Sprintf(`vantage_target:pop_probe_ttfb_seconds:mean5m{target=%q}`, target))
			}
		}
	}
	if n < 8 {
		t.Errorf("found %d latency panel queries, want the TTFB, phase and probe duration panels of Latency and the TTFB columns of Targets", n)
	}
	// 900 ms is left out: on a machine too busy to fire timers on time its probes do take
	// more than the 1 s threshold, and the alert then rightly fires.
	if err := prom.expectSeries(`ALERTS{alertname="PopTTFBHigh",target=~"ttfb-80|ttfb-250"}`); err == nil {
		t.Error("PopTTFBHigh raised for a target whose TTFB is far below the threshold")
	}
}

// expectNear runs an instant query and fails unless it returns at least one value to check
// and every value is between want and upTo, within latencyTolerance. A series of a phase
// other than processing is not the TTFB and is skipped.
func expectNear(prom promClient, expr string, want, upTo float64) error {
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
			if math.IsNaN(v) || v < want*(1-latencyTolerance) || v > upTo*(1+latencyTolerance) {
				return fmt.Errorf("%v = %.4g, want %.4g (up to the slowest probe measured, %.4g) ± %.0f%%", s.Metric, v, want, upTo, latencyTolerance*100)
			}
			checked++
		}
	}
	if checked == 0 {
		return fmt.Errorf("no value to check (%d series)", len(res))
	}
	return nil
}

// checkFailureShown runs the PoP timeline's query: cf-failing, whose edge answers every probe
// with a 503, is on the timeline as "AMS failing", never as a plain "AMS" that reads as
// healthy, while cloudflare, which succeeds, is plain "AMS".
func checkFailureShown(t *testing.T, prom promClient) {
	t.Helper()
	queries, err := dashboards.Queries()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range queries {
		if q.File != "pop-shifts.json" || q.Panel != "PoP answering each target from $vantage" {
			continue
		}
		for target, want := range map[string]string{"cf-failing": "AMS failing", "cloudflare": "AMS"} {
			expr := dashboards.ExpandWith(q.Expr, map[string]string{"target": target})
			eventually(t, fmt.Sprintf("the PoP timeline shows %s as %q", target, want), 20*time.Second, func() error {
				res, err := prom.queryAt(expr, time.Now())
				if err != nil {
					return err
				}
				if len(res) != 1 || res[0].Metric["pop"] != want {
					var got []string
					for _, s := range res {
						got = append(got, s.Metric["pop"])
					}
					return fmt.Errorf("states %q, want [%q]", got, want)
				}
				return nil
			})
		}
		return
	}
	t.Error(`pop-shifts.json has no "PoP answering each target from $vantage" panel`)
}
