package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/popexporter/pop_exporter/dashboards"
	"github.com/popexporter/pop_exporter/dashboards/mixin"
)

// The clusters of the remote-write fleet: each office's agent labels what it sends with its
// own cluster, and every office's exporter has the same instance string, as the same
// Kubernetes Service name has in every cluster.
var fleetClusters = map[string]string{"ams-office": "eu-west", "sin-office": "ap-southeast", "iad-office": "us-east"}

const fleetInstance = "pop-exporter:9853"

// TestRemoteWriteFleetEndToEnd runs the fleet of TestFleetEndToEnd (same cdnsim scenario,
// three offices, one exporter each) the way multi-region fleets are built: each office's
// exporter is scraped by its own Prometheus in agent mode (deploy/prometheus/agent.yml, with
// external_labels cluster and the same instance string everywhere), which remote-writes to one
// central Prometheus (--web.enable-remote-write-receiver) that evaluates the rules of the
// monitoring mixin rendered with multiCluster: true. It shows the same per-vantage and
// CDN-wide alerts as TestFleetEndToEnd, no rule evaluation error (a many-to-many match is
// one), panels of the multi-cluster dashboards that return data and never mix two clusters'
// series, and that an office whose agent dies is reported down (PopExporterDown for its
// cluster) while the scope counts still expect it.
//
// All four histogramModes run: Prometheus 2.42 (agents with --enable-feature=agent) and
// Prometheus 3 (--agent), each forwarding and storing classic buckets and native histograms
// (send_native_histograms, the receiver's native-histogram ingestion). The shift and
// agent-death scenario reads no histogram, so it runs once per version (2.42 classic, 3
// native, as perVersionModes), on servers started with cdnsim because it is scripted in time.
// The version's other mode then checks what the histogram form changes (the form stored, the
// TTFB panels of every cluster, no panel mixing clusters, healthy rules) on servers of its
// own, started after the scenario's are stopped: the suite's wall time grows by those checks
// (~20 s), not by two more scenarios, and no more servers run at once than before.
func TestRemoteWriteFleetEndToEnd(t *testing.T) {
	env := requireE2E(t)
	t.Parallel()
	dir := t.TempDir()
	started := time.Now()

	rendering, err := mixin.Render(`{multiCluster: true, silentAfterSeconds: 10}`)
	if err != nil {
		t.Fatal(err)
	}
	rulesFile := filepath.Join(dir, "rendered", filepath.Base(mixin.RulesFile))
	if err := os.MkdirAll(filepath.Dir(rulesFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rulesFile, rendering[mixin.RulesFile], 0o600); err != nil {
		t.Fatal(err)
	}
	var queries []dashboards.Query
	for name, b := range rendering {
		if strings.HasPrefix(name, mixin.DashboardsDir+"/") {
			qs, err := dashboards.ParseQueries(filepath.Base(name), b)
			if err != nil {
				t.Fatal(err)
			}
			queries = append(queries, qs...)
		}
	}

	vantages := []string{"ams-office", "sin-office", "iad-office"}
	startProcess(t, "cdnsim", env.bins["cdnsim"],
		"--scenario.file=testdata/e2e-fleet-scenario.yml",
		"--http.listen-address=127.0.0.1:0", "--https.listen-address=127.0.0.1:0",
		"--tls.ca-file="+filepath.Join(dir, "ca.pem"),
		"--config.out="+filepath.Join(dir, "exporter-{vantage}.yml"), "--print-config.interval=1s")
	for _, v := range vantages {
		waitFile(t, filepath.Join(dir, "exporter-"+v+".yml"))
	}
	shiftAt := time.Now().Add(50 * time.Second)
	exporters := map[string]string{}
	for _, v := range vantages {
		exporters[v] = startExporter(t, env, "pop_exporter "+v, filepath.Join(dir, "exporter-"+v+".yml"))
	}

	// Per Prometheus version: the scenario in one histogram mode, on servers started now, then
	// the other mode's checks on servers of its own.
	for _, version := range []struct {
		name           string
		scenario, also histogramMode
	}{
		{"prometheus-2.42", histogramModes[0], histogramModes[1]},
		{"prometheus-3", histogramModes[3], histogramModes[2]},
	} {
		if version.scenario.v3 && env.prometheus3Err != nil {
			t.Run(version.name, func(t *testing.T) { requirePrometheus3(t, env.prometheus3Err) })
			continue
		}
		start := func(t *testing.T, mode histogramMode) (central promClient, agents map[string]func(), stop func()) {
			var kill []func()
			central, stopCentral := startCentral(t, env, dir, mode, rulesFile)
			central.queries = queries
			kill = append(kill, stopCentral)
			agents = map[string]func(){}
			for _, v := range vantages {
				agents[v] = startAgent(t, env, dir, mode, fleetClusters[v], exporters[v], central.base+"/api/v1/write")
				kill = append(kill, agents[v])
			}
			return central, agents, func() {
				for _, k := range kill {
					k()
				}
			}
		}
		central, agents, stop := start(t, version.scenario)
		t.Run(version.name, func(t *testing.T) {
			t.Parallel()
			t.Run(version.scenario.name, func(t *testing.T) {
				checkFleet(t, central, shiftAt)
				checkHistogramForm(t, central, version.scenario)
				checkClustersApart(t, central)
				checkHistogramPanelsPerCluster(t, central)
				expectRulesHealthy(t, central)

				// The Singapore office's agent dies: nobody writes up=0 for it.
				agents["sin-office"]()
				eventually(t, "PopExporterDown for the Singapore cluster alone; regional still expects 3 vantages, 2 report", 60*time.Second, func() error {
					if err := central.expectCount(`ALERTS{alertname="PopExporterDown",alertstate="firing",cluster="ap-southeast",instance="`+fleetInstance+`"}`, 1); err != nil {
						return err
					}
					if err := central.expectCount(`ALERTS{alertname="PopExporterDown"}`, 1); err != nil {
						return err
					}
					if err := central.expectSeries(`target:pop_probe_vantages:count{target="regional"} == 3`); err != nil {
						return err
					}
					return central.expectSeries(`target:pop_probe_vantages_reporting:count{target="regional"} == 2`)
				})
				expectAnnotations(t, central, "PopExporterDown", map[string]string{"cluster": "ap-southeast"}, "vantage sin-office")
				expectRulesHealthy(t, central)
				t.Logf("remote-write fleet end-to-end test (%s) took %v", version.scenario.name, time.Since(started).Round(time.Second))
			})
			stop()

			t.Run(version.also.name, func(t *testing.T) {
				central, _, _ := start(t, version.also)
				eventually(t, "three clusters' exporters up", 30*time.Second, func() error {
					return central.expectCount(`count by (cluster) (up{job="pop_exporter"} == 1)`, 3)
				})
				checkHistogramForm(t, central, version.also)
				checkClustersApart(t, central)
				checkHistogramPanelsPerCluster(t, central)
				expectRulesHealthy(t, central)
				t.Logf("remote-write fleet end-to-end test (%s) took %v", version.also.name, time.Since(started).Round(time.Second))
			})
		})
	}
}

// checkHistogramForm fails unless the central Prometheus holds the TTFB histogram of every
// cluster in the mode's form alone: native histograms forwarded by the agents
// (send_native_histograms) and stored by the receiver, or classic buckets.
func checkHistogramForm(t *testing.T, prom promClient, mode histogramMode) {
	t.Helper()
	eventually(t, "TTFB histogram of every cluster stored as "+mode.name, 30*time.Second, func() error {
		have, lack := `pop_probe_ttfb_seconds_bucket`, `pop_probe_ttfb_seconds`
		if mode.native {
			have, lack = lack, have
		}
		if err := prom.expectCount(`count by (cluster) (`+have+`)`, 3); err != nil {
			return err
		}
		return prom.expectCount(lack, 0)
	})
}

// startCentral runs the central Prometheus of a remote-write fleet: no scrapes of its own, a
// remote-write receiver, and the rules of rulesFile with their `for:` and group intervals
// compressed as in the other end-to-end tests. Its lookback is 15 s instead of 5 minutes (the
// agents send every second), so that a dead agent's series leave instant queries within
// seconds, as they leave a production Prometheus' within 5 minutes.
func startCentral(t *testing.T, env e2eEnv, dir string, mode histogramMode, rulesFile string) (central promClient, kill func()) {
	t.Helper()
	dir = filepath.Join(dir, "central-"+mode.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{
		"global":     map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"},
		"rule_files": []any{compressRuleFile(t, rulesFile, dir)},
	}
	path := writeYAML(t, filepath.Join(dir, "prometheus.yml"), cfg)
	addr := freeAddr(t)
	bin, server := env.prometheus, "central Prometheus 2"
	if mode.v3 {
		bin, server = env.prometheus3, "central Prometheus 3"
	}
	args := append([]string{"--config.file=" + path, "--storage.tsdb.path=" + filepath.Join(dir, "tsdb"),
		"--web.listen-address=" + addr, "--web.enable-remote-write-receiver", "--query.lookback-delta=15s"}, mode.flags...)
	kill = startProcess(t, server+" ("+mode.name+")", bin, args...)
	waitHTTP(t, "http://"+addr+"/-/ready")
	return promClient{base: "http://" + addr}, kill
}

// startAgent runs one cluster's Prometheus in agent mode with deploy/prometheus/agent.yml as
// users get it, changing only what a test must: 1 s scrapes and sends, the cluster, the
// exporter's address (its instance label stays the shared Service name) and the central
// Prometheus' URL. It returns a function that kills the agent.
func startAgent(t *testing.T, env e2eEnv, dir string, mode histogramMode, cluster, exporter, writeURL string) func() {
	t.Helper()
	raw, err := os.ReadFile("prometheus/agent.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	global := cfg["global"].(map[string]any)
	global["scrape_interval"] = "1s"
	global["external_labels"].(map[string]any)["cluster"] = cluster
	if mode.v3 && mode.native {
		global["scrape_native_histograms"] = true
	}
	sc := cfg["scrape_configs"].([]any)[0].(map[string]any)
	if sc["job_name"] != "pop_exporter" {
		t.Fatalf(`deploy/prometheus/agent.yml: the first scrape config is %v, not the "pop_exporter" job`, sc["job_name"])
	}
	sc["static_configs"] = []any{map[string]any{"targets": []any{exporter}, "labels": map[string]any{"instance": fleetInstance}}}
	rw := cfg["remote_write"].([]any)[0].(map[string]any)
	rw["url"] = writeURL
	rw["queue_config"] = map[string]any{"batch_send_deadline": "1s", "min_backoff": "100ms", "max_backoff": "1s"}

	dir = filepath.Join(dir, "agent-"+cluster+"-"+mode.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := writeYAML(t, filepath.Join(dir, "agent.yml"), cfg)
	addr := freeAddr(t)
	bin, agentFlag := env.prometheus, "--enable-feature=agent"
	if mode.v3 {
		bin, agentFlag = env.prometheus3, "--agent"
	}
	args := append([]string{agentFlag, "--config.file=" + path, "--storage.agent.path=" + filepath.Join(dir, "wal"),
		"--web.listen-address=" + addr}, mode.flags...)
	kill := startProcess(t, "agent "+cluster+" ("+mode.name+")", bin, args...)
	waitHTTP(t, "http://"+addr+"/-/ready")
	return kill
}

func writeYAML(t *testing.T, path string, v any) string {
	t.Helper()
	out, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkClustersApart runs every panel query of the multi-cluster dashboards, as they open
// (every filter on All), and fails for a series that names a vantage or an exporter without
// its cluster, or with another vantage's cluster: such a series mixes two clusters (the three
// exporters share one instance string).
func checkClustersApart(t *testing.T, prom promClient) {
	t.Helper()
	queries, err := prom.dashboardQueries()
	if err != nil {
		t.Fatal(err)
	}
	ran, withVantage := 0, 0
	for _, q := range queries {
		if q.Kind != dashboards.KindPanel {
			continue
		}
		res, err := prom.queryAt(dashboards.Expand(q.Expr), time.Now())
		if err != nil {
			t.Errorf("%s / %q / %s: %v", q.File, q.Panel, q.RefID, err)
			continue
		}
		ran++
		for _, s := range res {
			vantage, hasVantage := s.Metric["vantage"]
			_, hasInstance := s.Metric["instance"]
			cluster, hasCluster := s.Metric["cluster"]
			if hasVantage {
				withVantage++
			}
			switch {
			case (hasVantage || hasInstance) && !hasCluster:
				t.Errorf("%s / %q / %s: a series without its cluster: %v", q.File, q.Panel, q.RefID, s.Metric)
			case hasVantage && fleetClusters[vantage] != "" && cluster != fleetClusters[vantage]:
				t.Errorf("%s / %q / %s: vantage %s with cluster %s, want %s", q.File, q.Panel, q.RefID, vantage, cluster, fleetClusters[vantage])
			}
		}
	}
	if withVantage == 0 {
		t.Errorf("%d panel queries ran and no series named a vantage", ran)
	}
	t.Logf("%d panel queries, %d series per vantage, each with its own cluster", ran, withVantage)
}

// perClusterAndVantage matches a query whose outermost aggregation keeps cluster and vantage.
var perClusterAndVantage = regexp.MustCompile(`^[a-z_]+ by \(cluster, vantage`)

// checkHistogramPanelsPerCluster runs every panel query of the multi-cluster dashboards that
// reads the TTFB histogram per vantage, and fails unless each returns series of all three
// clusters: the histogram (classic buckets or native, as the mode ingests it) reached the
// central Prometheus from every agent, and the panels' classic-or-native queries read it.
func checkHistogramPanelsPerCluster(t *testing.T, prom promClient) {
	t.Helper()
	pick := func(q dashboards.Query) bool {
		// By cache status, the default basic set shows a probe only while all its responses of
		// 5 minutes had one status: the scenario's mixed hits and misses leave it empty.
		return strings.Contains(q.Expr, "pop_probe_ttfb_seconds") && perClusterAndVantage.MatchString(q.Expr) &&
			!strings.HasPrefix(q.Expr, "sum by (cluster, vantage, cache_status)")
	}
	everyCluster := func(expr string) error {
		res, err := prom.queryAt(expr, time.Now())
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, s := range res {
			seen[s.Metric["cluster"]] = true
		}
		for _, cluster := range fleetClusters {
			if !seen[cluster] {
				return fmt.Errorf("no series of cluster %s among %d", cluster, len(res))
			}
		}
		return nil
	}
	if n := eachPanelQuery(t, prom, pick, "shows every cluster", everyCluster); n < 5 {
		t.Errorf("%d panel queries read the TTFB histogram per cluster and vantage, expected the Latency and Cache dashboards' many", n)
	}
}

// expectRulesHealthy fails for every rule whose last evaluation failed (a many-to-many match
// is such a failure) on the Prometheus that evaluates the rules.
func expectRulesHealthy(t *testing.T, prom promClient) {
	t.Helper()
	var r struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Name      string `json:"name"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := prom.get("/api/v1/rules", &r); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range r.Groups {
		for _, rule := range g.Rules {
			n++
			if rule.Health == "err" || rule.LastError != "" {
				t.Errorf("group %s rule %s: %s", g.Name, rule.Name, rule.LastError)
			}
		}
	}
	if n == 0 {
		t.Error("no rules loaded")
	}
}
