package deploy

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/popexporter/pop_exporter/dashboards"
)

// TestFleetEndToEnd runs a fleet on loopback: one cdnsim playing the CDN for three offices
// (testdata/e2e-fleet-scenario.yml), three pop_exporters, one per office, each probing from
// its own source address (127.0.0.2 Amsterdam, 127.0.0.3 Singapore, 127.0.0.4 Washington),
// and a Prometheus 2.42 (classic histograms) and a Prometheus 3 (native histograms), see
// perVersionModes, scraping all three with the repository's rules. It shows that each office is
// served by its own PoP, that a shift seen from one office pages PopShiftedFar for that office
// alone and calls itself local, that a shift of every office pages PopShiftedFarCDNWide once
// (and each PopShiftedFar calls itself CDN-wide), and that every panel of the fleet dashboard
// returns data. Alerts' `for:` run 60 times faster than in the rule files.
func TestFleetEndToEnd(t *testing.T) {
	env := requireE2E(t)
	t.Parallel()
	dir := t.TempDir()
	started := time.Now()

	vantages := []string{"ams-office", "sin-office", "iad-office"}
	startProcess(t, "cdnsim", env.bins["cdnsim"],
		"--scenario.file=testdata/e2e-fleet-scenario.yml",
		"--http.listen-address=127.0.0.1:0", "--https.listen-address=127.0.0.1:0",
		"--tls.ca-file="+filepath.Join(dir, "ca.pem"),
		"--config.out="+filepath.Join(dir, "exporter-{vantage}.yml"), "--print-config.interval=1s")
	for _, v := range vantages {
		waitFile(t, filepath.Join(dir, "exporter-"+v+".yml"))
	}
	shiftAt := time.Now().Add(50 * time.Second) // both scripted shifts, counted from cdnsim's start

	var exporters []string
	for _, v := range vantages {
		exporters = append(exporters, startExporter(t, env, "pop_exporter "+v, filepath.Join(dir, "exporter-"+v+".yml")))
	}
	env.modes(t, perVersionModes, func(mode histogramMode) {
		prom := startPrometheus(t, env, dir, mode, exporters...)
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			checkFleet(t, prom, shiftAt)
			t.Logf("fleet end-to-end test (%s) took %v", mode.name, time.Since(started).Round(time.Second))
		})
	})
}

func checkFleet(t *testing.T, prom promClient, shiftAt time.Time) {
	eventually(t, "three exporters up", 30*time.Second, func() error {
		return prom.expectCount(`up{job="pop_exporter"} == 1`, 3)
	})

	// The source address decides the PoP, as anycast or DNS steering does for networks.
	for vantage, pop := range map[string]string{"ams-office": "AMS", "sin-office": "SIN", "iad-office": "IAD"} {
		eventually(t, vantage+" served by "+pop, 20*time.Second, func() error {
			return prom.expectSeries(fmt.Sprintf(`pop_probe_edge_info{vantage=%q,target="regional",pop=%q}`, vantage, pop))
		})
	}
	// Before the shift (a machine too busy to get here before it skips this check: the
	// checks after the shift still tell a local shift from a CDN-wide one).
	if before := time.Until(shiftAt) - time.Second; before > 0 {
		eventually(t, "three vantages probe wide-move, none far yet", before, func() error {
			if err := prom.expectSeries(`target:pop_probe_vantages:count{target="wide-move"} == 3`); err != nil {
				return err
			}
			return prom.expectSeries(`target:pop_probe_vantages_shifted_far:count{target="wide-move"} == 0`)
		})
	} else {
		t.Logf("reached the pre-shift check %v after the shift: skipped", -before)
	}

	// At shiftAt the CDN moves every office's wide-move to Johannesburg, and Amsterdam's own
	// path moves local-move to Singapore.
	// The alerts fire until the new PoPs become the baselines (~45 s after the shift): they
	// are checked together, so that a slow machine cannot make one check wait out another's
	// window.
	time.Sleep(time.Until(shiftAt))
	eventually(t, "PopShiftedFarCDNWide firing once for wide-move, PopShiftedFar for local-move from ams-office and for wide-move from every office",
		30*time.Second, func() error {
			if err := prom.expectCount(`ALERTS{alertname="PopShiftedFarCDNWide",target="wide-move",alertstate="firing"}`, 1); err != nil {
				return err
			}
			if err := prom.expectSeries(`ALERTS{alertname="PopShiftedFar",target="local-move",vantage="ams-office",alertstate="firing"}`); err != nil {
				return err
			}
			if err := prom.expectCount(`ALERTS{alertname="PopShiftedFar",target="wide-move",alertstate="firing"}`, 3); err != nil {
				return err
			}
			// The fleet's "Local shifts paging" counts the pages Alertmanager sends: local-move
			// from Amsterdam, not the three wide-move pages that the CDN-wide alert holds back.
			if err := statShows(prom, "fleet.json", "Local shifts paging", 1); err != nil {
				return err
			}
			// The CDN-wide alert's panel reaches its line for wide-move (3 of 3 far) and stays
			// below it for local-move (1 of 3: the share and the count are both short).
			return cdnWideCondition(prom, map[string]bool{"wide-move": true, "local-move": false})
		})
	for _, c := range []struct {
		what, query string
		want        int
	}{
		{"local-move pages one vantage only", `ALERTS{alertname="PopShiftedFar",target="local-move"}`, 1},
		{"local-move is not CDN-wide", `ALERTS{alertname="PopShiftedFarCDNWide",target="local-move"}`, 0},
		{"regional never moved", `ALERTS{alertname=~"PopShiftedFar.*",target="regional"}`, 0},
	} {
		if err := prom.expectCount(c.query, c.want); err != nil {
			t.Errorf("%s: %v", c.what, err)
		}
	}

	// The annotations say the scope.
	expectAnnotations(t, prom, "PopShiftedFar", map[string]string{"target": "local-move"},
		"seen from 1 of 3 vantages", "local to this vantage")
	expectAnnotations(t, prom, "PopShiftedFar", map[string]string{"target": "wide-move", "vantage": "iad-office"},
		"seen from 3 of 3 vantages", "a CDN-wide shift (see PopShiftedFarCDNWide)")
	// The moved vantages, each with its baseline and new PoP; in a fleet whose vantages are
	// told apart by a cluster label (rules rendered with multiCluster), each with its cluster.
	clusters := map[string]string{}
	if vs, err := prom.queryAt("pop_vantage_info", time.Now()); err != nil {
		t.Error(err)
	} else {
		for _, v := range vs {
			if c := v.Metric["cluster"]; c != "" {
				clusters[v.Metric["vantage"]] = " (" + c + ")"
			}
		}
	}
	expectAnnotations(t, prom, "PopShiftedFarCDNWide", map[string]string{"target": "wide-move"},
		"wide-move moved to a distant PoP from 3 of 3 vantages at once",
		fmt.Sprintf("ams-office%s AMS to fastly JNB, iad-office%s IAD to fastly JNB, sin-office%s SIN to fastly JNB",
			clusters["ams-office"], clusters["iad-office"], clusters["sin-office"]))

	expectPanelsReturnData(t, prom, "fleet.json")
}

// expectAnnotations finds the active alert name whose labels include match and checks that
// its summary and description, together, contain every one of want.
func expectAnnotations(t *testing.T, prom promClient, name string, match map[string]string, want ...string) {
	t.Helper()
	alerts, err := prom.alerts(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alerts {
		matched := true
		for k, v := range match {
			matched = matched && a.Labels[k] == v
		}
		if !matched {
			continue
		}
		text := a.Annotations["summary"] + "\n" + a.Annotations["description"]
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s %v: annotations lack %q:\n%s", name, match, w, text)
			}
		}
		return
	}
	t.Errorf("no active %s alert with labels %v among %d", name, match, len(alerts))
}

// statShows runs a stat panel's query with every filter on "All", as the dashboard opens,
// and returns an error unless it shows want.
func statShows(prom promClient, file, panel string, want float64) error {
	queries, err := prom.dashboardQueries()
	if err != nil {
		return err
	}
	for _, q := range queries {
		if q.File != file || q.Panel != panel || q.Kind != dashboards.KindPanel {
			continue
		}
		res, err := prom.queryAt(dashboards.Expand(q.Expr), time.Now())
		if err != nil {
			return err
		}
		if len(res) != 1 {
			return fmt.Errorf("%s %q shows %d values, want one: %v", file, panel, len(res), res)
		}
		_, vs, err := res[0].samples()
		if err != nil || len(vs) != 1 || vs[0] != want {
			return fmt.Errorf("%s %q shows %v (%v), want %v", file, panel, vs, err, want)
		}
		return nil
	}
	return fmt.Errorf("%s has no panel %q", file, panel)
}

// cdnWideCondition runs the query of the CDN-wide alert's panel and returns an error unless,
// for each target, it draws the target at or above its 100 % line (where the alert's two
// conditions hold) exactly when want says so.
func cdnWideCondition(prom promClient, want map[string]bool) error {
	queries, err := prom.dashboardQueries()
	if err != nil {
		return err
	}
	for _, q := range queries {
		if q.File != "fleet.json" || q.Panel != "Share of the fleet served far from baseline" || q.RefID != "A" {
			continue
		}
		res, err := prom.queryAt(dashboards.Expand(q.Expr), time.Now())
		if err != nil {
			return err
		}
		got := map[string]bool{}
		for _, s := range res {
			_, vs, err := s.samples()
			if err == nil && len(vs) == 1 {
				got[s.Metric["target"]] = vs[0] >= 1
			}
		}
		for target, w := range want {
			if met, ok := got[target]; !ok || met != w {
				return fmt.Errorf("the CDN-wide panel draws %s at or above its line: %v (drawn: %v), want %v", target, met, ok, w)
			}
		}
		return nil
	}
	return fmt.Errorf("fleet.json has no CDN-wide condition query")
}
