package deploy

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestEndToEnd runs the whole product on loopback: cmd/cdnsim serving simulated CDN edges,
// pop_exporter probing them, and real Prometheus servers loaded with this repository's
// Prometheus config and rules at a 1 s interval: the Debian 2.42 and Prometheus 3, each once
// ingesting classic histogram buckets and once native histograms, all four scraping the same
// exporter. Against each it checks what a user would look at: the exporter is up, every
// simulated CDN is identified with its scripted PoP, a failing target raises the
// probe-failing alert, a slow target raises the TTFB alert, a scripted AMS -> SIN shift is
// counted and raises the distant-PoP alert, a flapping target raises the flapping alert, the
// PoP-change annotation gives one event per scripted change and the change bars add up to
// them, the overview map gives the CDNs sharing a city different rings, and every dashboard
// panel query returns data (a DNS-steered target, asked through two resolvers, gives the
// resolver panels theirs). Alerts' `for:` run 60 times faster than
// in the rule files (see writePrometheusConfig).
func TestEndToEnd(t *testing.T) {
	env := requireE2E(t)
	t.Parallel()
	dir := t.TempDir()
	started := time.Now()

	// 1. cdnsim on kernel-picked ports; it writes the exporter config once it listens.
	exporterCfg := filepath.Join(dir, "exporter.yml")
	startProcess(t, "cdnsim", env.bins["cdnsim"],
		"--scenario.file=testdata/e2e-scenario.yml",
		"--http.listen-address=127.0.0.1:0", "--https.listen-address=127.0.0.1:0", "--dns.listen-port=0",
		"--tls.ca-file="+filepath.Join(dir, "ca.pem"),
		"--config.out="+exporterCfg, "--print-config.interval=1s")
	waitFile(t, exporterCfg)
	shiftAt := time.Now().Add(45 * time.Second) // the scenario's shift, counted from cdnsim's start (at most this late)

	// 2. pop_exporter probing every simulated edge once a second (cf-slow every 3 s).
	exporterAddr := startExporter(t, env, "pop_exporter", exporterCfg)

	// 3. Prometheus in each histogram mode, scraping and evaluating every second.
	env.modes(t, histogramModes, func(mode histogramMode) {
		prom := startPrometheus(t, env, dir, mode, exporterAddr)
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			checkEndToEnd(t, prom, mode, started, shiftAt)
			t.Logf("end-to-end test (%s) took %v", mode.name, time.Since(started).Round(time.Second))
		})
	})
}

func checkEndToEnd(t *testing.T, prom promClient, mode histogramMode, started, shiftAt time.Time) {
	eventually(t, "the exporter is up", 30*time.Second, func() error {
		return prom.expectSeries(`up{job="pop_exporter"} == 1`)
	})

	// Prometheus really ingests the TTFB histogram the way this mode says.
	eventually(t, "TTFB histogram ingested as "+mode.name, 20*time.Second, func() error {
		classic, native := `pop_probe_ttfb_seconds_bucket`, `pop_probe_ttfb_seconds`
		if mode.native {
			classic, native = native, classic
		}
		if err := prom.expectSeries(classic); err != nil {
			return err
		}
		return prom.expectCount(native, 0)
	})

	// Every simulated CDN is identified, with the PoP the scenario scripted.
	edges := map[string][2]string{ // target -> cdn, pop
		"cloudflare": {"cloudflare", "AMS"}, "cloudfront": {"cloudfront", "FRA"},
		"fastly": {"fastly", "AMS"}, "akamai": {"akamai", "unknown"}, "azure": {"azure", "LHR"},
		"vercel": {"vercel", "FRA"}, "netlify": {"netlify", "unknown"}, "fly": {"fly", "AMS"},
		"bunny": {"bunny", "DE1"}, "keycdn": {"keycdn", "DEFR"}, "cdn77": {"cdn77", "PRG"},
		"gcore": {"gcore", "FR5"}, "cf-failing": {"cloudflare", "AMS"}, "cf-slow": {"cloudflare", "AMS"},
	}
	for target, want := range edges {
		eventually(t, "edge of "+target, 20*time.Second, func() error {
			return prom.expectSeries(fmt.Sprintf(`pop_probe_edge_info{target=%q,cdn=%q,pop=%q}`, target, want[0], want[1]))
		})
	}

	// The scripted shift: Amsterdam to Singapore, seen from a vantage in Amsterdam. Checked
	// first: the exporter has probed Amsterdam for only ~45 s, so Singapore becomes the usual
	// (baseline) PoP about as long after the shift and PopShiftedFar resolves. (The 45 s
	// leave a loaded machine, running the whole suite, time for the checks before it.)
	time.Sleep(time.Until(shiftAt))
	eventually(t, "the AMS -> SIN shift is counted", 30*time.Second, func() error {
		if err := prom.expectSeries(`pop_probe_edge_info{target="cf-shift-sin",pop="SIN"}`); err != nil {
			return err
		}
		return prom.expectSeries(`pop_probe_pop_changes_total{target="cf-shift-sin"} >= 1`)
	})
	shiftSeen := time.Now()
	if !eventually(t, "PopShiftedFar for cf-shift-sin", 30*time.Second, func() error {
		return prom.expectSeries(`ALERTS{alertname="PopShiftedFar",target="cf-shift-sin",alertstate=~"pending|firing"}`)
	}) {
		prom.logQueries(t, `up`, `pop_probe_shift_distance_meters{target="cf-shift-sin"}`,
			`pop_probe_baseline_info{target="cf-shift-sin"}`, `pop_probe_edge_info{target="cf-shift-sin"}`,
			`vantage_target:pop_probe_edge_baseline:info{target="cf-shift-sin"}`, `pop_alert:shift_distance_meters:threshold`)
	}
	if err := prom.expectSeries(`ALERTS{alertname="PopShiftedFar",target="cloudflare"}`); err == nil {
		t.Error("PopShiftedFar also raised for a target that never moved")
	}

	// A failing target (503 from the edge) raises the probe-failing alert.
	eventually(t, "PopProbeFailing firing for cf-failing", 30*time.Second, func() error {
		return prom.expectSeries(`ALERTS{alertname="PopProbeFailing",target="cf-failing",alertstate="firing"}`)
	})

	// A target whose first byte takes 1.3 s raises the TTFB alert, from classic buckets or
	// from the native histogram.
	eventually(t, "PopTTFBHigh firing for cf-slow", 40*time.Second, func() error {
		return prom.expectSeries(`ALERTS{alertname="PopTTFBHigh",target="cf-slow",alertstate="firing"}`)
	})

	// A target flapping between Amsterdam and Frankfurt every 8 s raises PopFlapping.
	eventually(t, "PopFlapping firing for cf-flap", 60*time.Second, func() error {
		return prom.expectSeries(`ALERTS{alertname="PopFlapping",target="cf-flap",alertstate="firing"}`)
	})
	if err := prom.expectSeries(`ALERTS{alertname="PopFlapping",target=~"cloudflare|cf-shift-sin"}`); err == nil {
		t.Error("PopFlapping also raised for a target that stayed or moved once")
	}

	// The PoP-change annotation and bars count each scripted change once.
	checkPoPChangeEvents(t, prom, started, shiftSeen)

	// The overview map draws the CDNs sharing a city on rings of their own.
	checkMapRings(t, prom)

	// Every latency panel draws a constant TTFB as it is, not as the buckets it falls in, and
	// the PoP timeline shows a failing probe as failing.
	checkLatencyPanels(t, prom)
	checkFailureShown(t, prom)

	// Every panel of every dashboard shows data.
	expectPanelsReturnData(t, prom)
}
