package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/popexporter/pop_exporter/dashboards"
)

// TestEndToEnd runs the whole product on loopback: cmd/cdnsim serving simulated CDN edges,
// pop_exporter probing them, and a real Prometheus server (Debian package prometheus) loaded
// with this repository's Prometheus config and rules at a 1 s interval. It checks what a user
// would look at: the exporter is up, every simulated CDN is identified with its scripted PoP,
// a scripted AMS -> SIN shift is counted and raises the distant-PoP alert, a failing target
// raises the probe-failing alert, and every dashboard panel query returns data.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: builds binaries and runs Prometheus")
	}
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (Debian package prometheus; .ci/run installs it): skipping the end-to-end test")
	}
	dir := t.TempDir()
	started := time.Now()

	bins := buildBinaries(t, dir, "cdnsim", "pop_exporter")

	// 1. cdnsim on kernel-picked ports; it writes the exporter config once it listens.
	exporterCfg := filepath.Join(dir, "exporter.yml")
	startProcess(t, "cdnsim", bins["cdnsim"],
		"--scenario.file=testdata/e2e-scenario.yml",
		"--http.listen-address=127.0.0.1:0", "--https.listen-address=127.0.0.1:0",
		"--tls.ca-file="+filepath.Join(dir, "ca.pem"),
		"--config.out="+exporterCfg, "--print-config.interval=1s")
	waitFile(t, exporterCfg)
	shiftAt := time.Now().Add(20 * time.Second) // the scenario's shift, counted from cdnsim's start (at most this late)

	// 2. pop_exporter probing every simulated edge once a second.
	exporterAddr := freeAddr(t)
	startProcess(t, "pop_exporter", bins["pop_exporter"], "--config.file="+exporterCfg,
		"--web.listen-address="+exporterAddr)
	waitHTTP(t, "http://"+exporterAddr+"/-/ready")

	// 3. Prometheus with the repository's config and rules, scraping and evaluating every second.
	promAddr := freeAddr(t)
	promCfg := writePrometheusConfig(t, dir, exporterAddr)
	startProcess(t, "prometheus", promBin, "--config.file="+promCfg,
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--web.listen-address="+promAddr)
	waitHTTP(t, "http://"+promAddr+"/-/ready")
	prom := promClient{base: "http://" + promAddr}

	eventually(t, "the exporter is up", 30*time.Second, func() error {
		return prom.expectSeries(`up{job="pop_exporter"} == 1`)
	})

	// Every simulated CDN is identified, with the PoP the scenario scripted.
	edges := map[string][2]string{ // target -> cdn, pop
		"cloudflare": {"cloudflare", "AMS"}, "cloudfront": {"cloudfront", "FRA"},
		"fastly": {"fastly", "AMS"}, "akamai": {"akamai", "unknown"}, "azure": {"azure", "LHR"},
		"vercel": {"vercel", "FRA"}, "netlify": {"netlify", "unknown"}, "fly": {"fly", "AMS"},
		"bunny": {"bunny", "DE1"}, "keycdn": {"keycdn", "DEFR"}, "cdn77": {"cdn77", "PRG"},
		"gcore": {"gcore", "FR5"}, "cf-failing": {"cloudflare", "AMS"},
	}
	for target, want := range edges {
		eventually(t, "edge of "+target, 20*time.Second, func() error {
			return prom.expectSeries(fmt.Sprintf(`pop_probe_edge_info{target=%q,cdn=%q,pop=%q}`, target, want[0], want[1]))
		})
	}

	// A failing target (503 from the edge) raises the probe-failing alert.
	eventually(t, "PopProbeFailing for cf-failing", 30*time.Second, func() error {
		return prom.expectSeries(`ALERTS{alertname="PopProbeFailing",target="cf-failing"}`)
	})

	// The scripted shift: Amsterdam to Singapore, seen from a vantage in Amsterdam.
	time.Sleep(time.Until(shiftAt))
	eventually(t, "the AMS -> SIN shift is counted", 30*time.Second, func() error {
		if err := prom.expectSeries(`pop_probe_edge_info{target="cf-shift-sin",pop="SIN"}`); err != nil {
			return err
		}
		return prom.expectSeries(`pop_probe_pop_changes_total{target="cf-shift-sin"} >= 1`)
	})
	eventually(t, "PopShiftedFar for cf-shift-sin", 30*time.Second, func() error {
		return prom.expectSeries(`ALERTS{alertname="PopShiftedFar",target="cf-shift-sin",alertstate=~"pending|firing"}`)
	})
	if err := prom.expectSeries(`ALERTS{alertname="PopShiftedFar",target="cloudflare"}`); err == nil {
		t.Error("PopShiftedFar also raised for a target that never moved")
	}

	// Every panel of every dashboard shows data.
	queries, err := dashboards.Queries()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range queries {
		if q.Kind != dashboards.KindPanel {
			continue
		}
		expr := dashboards.Expand(q.Expr)
		eventually(t, fmt.Sprintf("%s / %q / %s returns data", q.File, q.Panel, q.RefID), 30*time.Second, func() error {
			return prom.expectSeries(expr)
		})
	}
	t.Logf("end-to-end test took %v", time.Since(started).Round(time.Second))
}

func buildBinaries(t *testing.T, dir string, names ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	args := []string{"build", "-o", dir + "/"}
	for _, n := range names {
		args = append(args, "../cmd/"+n)
		out[n] = filepath.Join(dir, n)
	}
	if b, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return out
}

// logBuffer keeps a process's output for the failure report.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(b.buf.String()), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func startProcess(t *testing.T, name, bin string, args ...string) {
	t.Helper()
	logs := &logBuffer{}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("last lines of %s:\n%s", name, logs.tail(30))
		}
	})
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s not written within 30s", path)
}

func waitHTTP(t *testing.T, u string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not ready within 30s", u)
}

// writePrometheusConfig takes deploy/prometheus/prometheus.yml as users get it and changes only
// what a test must: 1 s intervals, the exporter's address, absolute rule paths, no Alertmanager.
func writePrometheusConfig(t *testing.T, dir, exporterAddr string) string {
	t.Helper()
	raw, err := os.ReadFile("prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["global"] = map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"}
	delete(cfg, "alerting")
	rules, err := filepath.Abs("prometheus")
	if err != nil {
		t.Fatal(err)
	}
	var ruleFiles []any
	for _, f := range cfg["rule_files"].([]any) {
		ruleFiles = append(ruleFiles, filepath.Join(rules, f.(string)))
	}
	cfg["rule_files"] = ruleFiles
	scrapes := cfg["scrape_configs"].([]any)
	found := false
	for _, s := range scrapes {
		sc := s.(map[string]any)
		if sc["job_name"] == "pop_exporter" {
			sc["static_configs"] = []any{map[string]any{"targets": []any{exporterAddr}}}
			found = true
		}
	}
	if !found {
		t.Fatal(`deploy/prometheus/prometheus.yml has no "pop_exporter" job`)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type promClient struct{ base string }

// expectSeries runs an instant query and fails unless it returns at least one series.
func (p promClient) expectSeries(query string) error {
	resp, err := http.Get(p.base + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string            `json:"resultType"`
			Result     []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("query %s: %v: %s", query, err, body)
	}
	if r.Status != "success" {
		return fmt.Errorf("query %s: %s", query, r.Error)
	}
	if r.Data.ResultType == "scalar" || len(r.Data.Result) > 0 {
		return nil
	}
	return fmt.Errorf("query %s returned no series", query)
}

// eventually retries check until it passes or the time is up.
func eventually(t *testing.T, what string, within time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: not within %v: %v", what, within, err)
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}
