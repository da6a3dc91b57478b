package deploy

import (
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/popexporter/pop_exporter/dashboards"
)

// changeBarsStep is the step of the "PoP changes" bars in checkPoPChangeEvents: their
// $__interval, and the range query's step, as Grafana sends them.
const changeBarsStep = 5 * time.Second

// checkPoPChangeEvents runs the two views of PoP changes in pop-shifts.json as Grafana runs
// them over the test's time range, and checks them against the scripted scenario: the
// "PoP changes" annotation gives exactly one event per PoP change (Grafana's grouping of an
// annotation query's results included), and the "PoP changes" bars add up to the number of
// changes. cf-shift-sin moved once (AMS -> SIN), cf-flap as often as its counter says (at
// least 3 times by now), and every other target never. from is a time before the exporter
// started; shiftSeen, when the test saw the shift counted.
func checkPoPChangeEvents(t *testing.T, prom promClient, from, shiftSeen time.Time) {
	t.Helper()
	// The queries below look a little into the past: past the moment the shift was seen.
	if d := time.Until(shiftSeen.Add(4 * time.Second)); d > 0 {
		time.Sleep(d)
	}
	var anno, bars string
	queries, err := dashboards.Queries()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range queries {
		switch {
		case q.File != "pop-shifts.json" || q.Panel != "PoP changes":
		case q.Kind == dashboards.KindAnnotation:
			anno = dashboards.Expand(q.Expr)
		case q.Kind == dashboards.KindPanel:
			bars = dashboards.Expand(strings.ReplaceAll(q.Expr, "$__interval", changeBarsStep.String()))
		}
	}
	if anno == "" || bars == "" {
		t.Fatal(`pop-shifts.json has no "PoP changes" annotation or no "PoP changes" panel`)
	}

	// One moment for every query, a little in the past so that its scrape has been ingested,
	// and a range that starts before the exporter did.
	end := time.Now().Add(-2 * time.Second).Truncate(time.Second)
	start := end.Add(-time.Duration(int(end.Sub(from)/changeBarsStep)+2) * changeBarsStep)

	// A scrape stamped before end can still be committed while these queries run: the
	// counters are read again after the annotation and the bars, and the whole reading is
	// repeated until the counters it started from did not move under it.
	var changes, sums map[string]float64
	var events map[string]int
	read := func() {
		changes = map[string]float64{} // per target: the exporter's count of PoP changes at end
		res, err := prom.queryAt(`pop_probe_pop_changes_total{job="pop_exporter"}`, end)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range res {
			_, vs, err := s.samples()
			if err != nil || len(vs) != 1 {
				t.Fatalf("pop_probe_pop_changes_total %v: %v %v", s.Metric, vs, err)
			}
			changes[s.Metric["target"]] += vs[0]
		}

		// The annotation, as Grafana turns its result into events with useValueForTime: per series,
		// the values (change times in ms) are the event times, and values no more than one step
		// apart are one event.
		const annoStep = time.Second
		res, err = prom.queryRange(anno, start, end, annoStep)
		if err != nil {
			t.Fatal(err)
		}
		//
		// The exporter records a probe's series family by family and a scrape copies them
		// family by family, so one scrape can pair a change's time with the PoP before it
		// (or the PoP after it with the previous change's time): Grafana then draws a second
		// marker at a moment that already has one. What the test holds the annotation to is
		// the moments it marks: one per PoP change.
		events = map[string]int{}
		times := map[string][]float64{}
		for _, s := range res {
			_, vs, err := s.samples()
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vs {
				if v > 0 {
					times[s.Metric["target"]] = append(times[s.Metric["target"]], v)
				}
			}
		}
		for target, ts := range times {
			slices.Sort(ts)
			for i, v := range ts {
				if i == 0 || v > ts[i-1]+float64(annoStep.Milliseconds()) {
					events[target]++
				}
			}
		}

		// The bars: what happened in each step, summed over the range.
		res, err = prom.queryRange(bars, start, end, changeBarsStep)
		if err != nil {
			t.Fatal(err)
		}
		sums = map[string]float64{}
		for _, s := range res {
			_, vs, err := s.samples()
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vs {
				sums[s.Metric["target"]] += v
			}
		}
	}
	for try := 0; ; try++ {
		read()
		before := changes
		res, err := prom.queryAt(`pop_probe_pop_changes_total{job="pop_exporter"}`, end)
		if err != nil {
			t.Fatal(err)
		}
		after := map[string]float64{}
		for _, s := range res {
			if _, vs, err := s.samples(); err == nil && len(vs) == 1 {
				after[s.Metric["target"]] += vs[0]
			}
		}
		if maps.Equal(before, after) || try == 4 {
			break
		}
		time.Sleep(time.Second)
	}

	if len(changes) == 0 {
		t.Fatal("no pop_probe_pop_changes_total series")
	}
	for target, n := range changes {
		want := 0.0
		switch target {
		case "cf-shift-sin":
			want = 1
		case "cf-flap": // every 8 s since cdnsim started: at least 3 changes once PopFlapping fired
			want = math.Max(n, 3)
		}
		if n != want {
			t.Errorf("%s: pop_probe_pop_changes_total is %v, the scenario scripted %v", target, n, want)
		}
		if float64(events[target]) != n {
			t.Errorf("%s: the PoP changes annotation gives %d events for %v PoP changes", target, events[target], n)
		}
		if sums[target] != n {
			t.Errorf("%s: the PoP changes bars add up to %v for %v PoP changes", target, sums[target], n)
		}
	}
	for target, n := range events {
		if _, ok := changes[target]; !ok {
			t.Errorf("%s: %d PoP change events for a target without a change counter", target, n)
		}
	}
	t.Logf("PoP changes at %s: counters %v, annotation events %v, bars %v", end.Format(time.TimeOnly), changes, events, sums)
}
