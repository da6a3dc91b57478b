package deploy

// Helpers of the end-to-end tests (e2e_test.go, e2e_fleet_test.go): building the binaries
// once, running processes that stop with the test, a real Prometheus per histogram mode
// loaded with the repository's config and rules, and queries against it.

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
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/popexporter/pop_exporter/dashboards"
)

// histogramMode is one Prometheus server and one way it ingests the exporter's histograms.
type histogramMode struct {
	name   string
	v3     bool // Prometheus 3 (built by `make prometheus3`) instead of the Debian 2.42 on PATH
	native bool // native histograms instead of classic buckets
	flags  []string
}

// histogramModes are the Prometheus servers of the end-to-end tests, each run side by side
// on the same exporters: the Debian 2.42 and Prometheus 3, each ingesting classic buckets
// (the default) and native histograms (Prometheus then scrapes protobuf and keeps only the
// native histogram of a histogram that has native buckets): on 2.x with
// --enable-feature=native-histograms, on 3.x with scrape_native_histograms: true in the
// configuration (the flag is a no-op there). Every dashboard panel and alert must work in
// all four.
var histogramModes = []histogramMode{
	{name: "classic"},
	{name: "native", native: true, flags: []string{"--enable-feature=native-histograms"}},
	{name: "v3-classic", v3: true},
	{name: "v3-native", v3: true, native: true},
}

// e2eEnv is what an end-to-end test needs: the prometheus binaries and the built binaries.
type e2eEnv struct {
	prometheus     string // the Debian 2.42 on PATH
	prometheus3    string // Prometheus 3, or empty with prometheus3Err saying why
	prometheus3Err error
	bins           map[string]string
}

// perVersionModes are the servers of the fleet and resolvers tests, one per Prometheus
// version: what they check reads no histogram, and each server more costs CPU that the 1 s
// scrapes and evaluations of the others need on a small machine.
var perVersionModes = []histogramMode{histogramModes[0], histogramModes[3]}

// modes calls run for each of modes whose Prometheus is there, and for a Prometheus 3 mode
// without Prometheus 3 runs a subtest that skips (fails under CI=true), saying why.
func (env e2eEnv) modes(t *testing.T, modes []histogramMode, run func(mode histogramMode)) {
	t.Helper()
	for _, mode := range modes {
		if mode.v3 && env.prometheus3Err != nil {
			t.Run(mode.name, func(t *testing.T) { requirePrometheus3(t, env.prometheus3Err) })
			continue
		}
		run(mode)
	}
}

var (
	sharedBinsOnce sync.Once
	sharedBins     map[string]string
	sharedBinsErr  error
)

// requireE2E skips the test in -short mode or without a prometheus binary, and builds cdnsim
// and pop_exporter once for every end-to-end test of the run.
func requireE2E(t *testing.T) e2eEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: builds binaries and runs Prometheus")
	}
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (Debian package prometheus; .ci/run installs it): skipping the end-to-end test")
	}
	sharedBinsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pop_exporter-e2e-bin-")
		if err != nil {
			sharedBinsErr = err
			return
		}
		sharedBins, sharedBinsErr = goBuild(dir, "cdnsim", "pop_exporter")
	})
	if sharedBinsErr != nil {
		t.Fatal(sharedBinsErr)
	}
	// Built before any scenario starts: a cold build takes minutes, and the scenarios' clocks
	// start with cdnsim.
	prom3, prom3Err := lookupPrometheus3(buildBudget(t))
	return e2eEnv{prometheus: promBin, prometheus3: prom3, prometheus3Err: prom3Err, bins: sharedBins}
}

// TestMain removes the binaries the end-to-end tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if sharedBins != nil {
		os.RemoveAll(filepath.Dir(sharedBins["cdnsim"]))
	}
	os.Exit(code)
}

func buildBinaries(t *testing.T, dir string, names ...string) map[string]string {
	t.Helper()
	out, err := goBuild(dir, names...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// goBuild builds the named commands of cmd/ into dir.
func goBuild(dir string, names ...string) (map[string]string, error) {
	out := map[string]string{}
	args := []string{"build", "-o", dir + "/"}
	for _, n := range names {
		args = append(args, "../cmd/"+n)
		out[n] = filepath.Join(dir, n)
	}
	if b, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return out, nil
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

// startProcess runs a process that stops with the test, and returns a function that kills it
// at once (as a crash or a lost machine would: no clean shutdown).
func startProcess(t *testing.T, name, bin string, args ...string) (kill func()) {
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
	return func() {
		cmd.Process.Kill()
		<-done
	}
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

// startExporter runs pop_exporter with a config and waits until it is ready; it returns the
// address Prometheus scrapes.
func startExporter(t *testing.T, env e2eEnv, name, configFile string) string {
	t.Helper()
	addr := freeAddr(t)
	startProcess(t, name, env.bins["pop_exporter"], "--config.file="+configFile, "--web.listen-address="+addr)
	waitHTTP(t, "http://"+addr+"/-/ready")
	return addr
}

// startPrometheus runs a real Prometheus of one histogram mode, scraping exporterAddrs with
// the repository's config and rules (see writePrometheusConfig), and waits until it is ready.
func startPrometheus(t *testing.T, env e2eEnv, dir string, mode histogramMode, exporterAddrs ...string) promClient {
	t.Helper()
	dir = filepath.Join(dir, "prometheus-"+mode.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	bin, server := env.prometheus, "Prometheus 2"
	if mode.v3 {
		bin, server = env.prometheus3, "Prometheus 3"
	}
	args := append([]string{"--config.file=" + writePrometheusConfig(t, dir, mode, exporterAddrs...),
		"--storage.tsdb.path=" + filepath.Join(dir, "tsdb"), "--web.listen-address=" + addr}, mode.flags...)
	startProcess(t, server+" ("+mode.name+")", bin, args...)
	waitHTTP(t, "http://"+addr+"/-/ready")
	return promClient{base: "http://" + addr}
}

// forCompression is how much faster than in production the alerts' `for:` durations run in
// the end-to-end tests, so that an alert reaches firing within seconds (every `for:` of 5m
// or more still holds for 5 s or more, over 1 s evaluations).
const forCompression = 60

// writePrometheusConfig takes deploy/prometheus/prometheus.yml as users get it and changes only
// what a test must: 1 s intervals, scrape_native_histograms in Prometheus 3's native mode, the
// exporters' addresses, no Alertmanager, and the rule files copied with every alert's `for:`
// divided by forCompression. Expressions, thresholds and annotations are the repository's.
func writePrometheusConfig(t *testing.T, dir string, mode histogramMode, exporterAddrs ...string) string {
	t.Helper()
	raw, err := os.ReadFile("prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	global := map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"}
	if mode.v3 && mode.native {
		global["scrape_native_histograms"] = true
	}
	cfg["global"] = global
	delete(cfg, "alerting")
	var ruleFiles []any
	for _, f := range cfg["rule_files"].([]any) {
		matches, err := filepath.Glob(filepath.Join("prometheus", f.(string)))
		if err != nil || len(matches) == 0 {
			t.Fatalf("rule_files %s matches nothing (%v)", f, err)
		}
		for _, m := range matches {
			ruleFiles = append(ruleFiles, compressRuleFile(t, m, dir))
		}
	}
	cfg["rule_files"] = ruleFiles
	targets := make([]any, len(exporterAddrs))
	for i, a := range exporterAddrs {
		targets[i] = a
	}
	found := false
	for _, s := range cfg["scrape_configs"].([]any) {
		sc := s.(map[string]any)
		if sc["job_name"] == "pop_exporter" {
			sc["static_configs"] = []any{map[string]any{"targets": targets}}
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

// compressRuleFile writes a copy of a rule file into dir with every `for:` and every group's
// own `interval:` divided by forCompression (at least 1s), and returns its path.
func compressRuleFile(t *testing.T, file, dir string) string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rf map[string]any
	if err := yaml.Unmarshal(raw, &rf); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for _, g := range rf["groups"].([]any) {
		group := g.(map[string]any)
		if iv, ok := group["interval"].(string); ok {
			d, err := model.ParseDuration(iv)
			if err != nil {
				t.Fatalf("%s: group %v: interval %q: %v", file, group["name"], iv, err)
			}
			group["interval"] = model.Duration(max(time.Duration(d)/forCompression, time.Second)).String()
		}
		for _, r := range group["rules"].([]any) {
			rule := r.(map[string]any)
			f, ok := rule["for"].(string)
			if !ok {
				continue
			}
			d, err := model.ParseDuration(f)
			if err != nil {
				t.Fatalf("%s: alert %v: for %q: %v", file, rule["alert"], f, err)
			}
			rule["for"] = model.Duration(max(time.Duration(d)/forCompression, time.Second)).String()
		}
	}
	out, err := yaml.Marshal(rf)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, filepath.Base(file))
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// promClient queries one Prometheus. Its dashboards are the committed ones unless it was given
// a rendering of the monitoring mixin with another _config.
type promClient struct {
	base    string
	queries []dashboards.Query
}

// dashboardQueries returns the queries of the dashboards this Prometheus is read by.
func (p promClient) dashboardQueries() ([]dashboards.Query, error) {
	if p.queries != nil {
		return p.queries, nil
	}
	return dashboards.Queries()
}

// query runs an instant query and returns how many series (or samples) it returned.
func (p promClient) query(query string) (int, error) {
	var r struct {
		ResultType string            `json:"resultType"`
		Result     []json.RawMessage `json:"result"`
	}
	if err := p.get("/api/v1/query?query="+url.QueryEscape(query), &r); err != nil {
		return 0, fmt.Errorf("query %s: %w", query, err)
	}
	if r.ResultType == "scalar" {
		return 1, nil
	}
	return len(r.Result), nil
}

// series is one series of a query result: its labels and its samples (one for an instant
// query), each a unix time and a value.
type series struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
	Values [][2]any          `json:"values"`
}

// samples returns the series' samples as unix seconds and values.
func (s series) samples() (ts []float64, vs []float64, err error) {
	pts := s.Values
	if pts == nil && s.Value[0] != nil {
		pts = [][2]any{s.Value}
	}
	for _, p := range pts {
		t, ok := p[0].(float64)
		str, ok2 := p[1].(string)
		if !ok || !ok2 {
			return nil, nil, fmt.Errorf("sample %v: not [time, \"value\"]", p)
		}
		v, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return nil, nil, err
		}
		ts, vs = append(ts, t), append(vs, v)
	}
	return ts, vs, nil
}

// queryAt runs an instant query evaluated at time at.
func (p promClient) queryAt(query string, at time.Time) ([]series, error) {
	var r struct {
		Result []series `json:"result"`
	}
	q := url.Values{"query": {query}, "time": {strconv.FormatInt(at.Unix(), 10)}}
	if err := p.get("/api/v1/query?"+q.Encode(), &r); err != nil {
		return nil, fmt.Errorf("query %s: %w", query, err)
	}
	return r.Result, nil
}

// queryRange runs a range query, as Grafana runs a panel's or an annotation's query.
func (p promClient) queryRange(query string, start, end time.Time, step time.Duration) ([]series, error) {
	var r struct {
		Result []series `json:"result"`
	}
	q := url.Values{"query": {query}, "start": {strconv.FormatInt(start.Unix(), 10)},
		"end": {strconv.FormatInt(end.Unix(), 10)}, "step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}}
	if err := p.get("/api/v1/query_range?"+q.Encode(), &r); err != nil {
		return nil, fmt.Errorf("query_range %s: %w", query, err)
	}
	return r.Result, nil
}

// get fetches a Prometheus API path and decodes its data into v.
func (p promClient) get(path string, v any) error {
	resp, err := http.Get(p.base + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var r struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("%v: %s", err, body)
	}
	if r.Status != "success" {
		return fmt.Errorf("%s", r.Error)
	}
	return json.Unmarshal(r.Data, v)
}

// expectSeries runs an instant query and fails unless it returns at least one series.
func (p promClient) expectSeries(query string) error {
	n, err := p.query(query)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("query %s returned no series", query)
	}
	return nil
}

// expectCount fails unless an instant query returns exactly want series.
func (p promClient) expectCount(query string, want int) error {
	n, err := p.query(query)
	if err != nil {
		return err
	}
	if n != want {
		return fmt.Errorf("query %s returned %d series, want %d", query, n, want)
	}
	return nil
}

// alert is one active alert as /api/v1/alerts lists it.
type alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
}

// alerts returns the active (pending or firing) alerts named name.
func (p promClient) alerts(name string) ([]alert, error) {
	var r struct {
		Alerts []alert `json:"alerts"`
	}
	if err := p.get("/api/v1/alerts", &r); err != nil {
		return nil, err
	}
	var out []alert
	for _, a := range r.Alerts {
		if a.Labels["alertname"] == name {
			out = append(out, a)
		}
	}
	return out, nil
}

// expectPanelsReturnData runs every panel query of the named dashboards (all when none are
// named) and fails for each that returns nothing.
func expectPanelsReturnData(t *testing.T, prom promClient, files ...string) {
	t.Helper()
	expectPanelQueriesReturnData(t, prom, func(q dashboards.Query) bool {
		return len(files) == 0 || slices.Contains(files, q.File)
	})
}

// expectPanelQueriesReturnData runs every panel query that pick picks and fails for each that
// returns nothing, or when it picks none.
func expectPanelQueriesReturnData(t *testing.T, prom promClient, pick func(dashboards.Query) bool) {
	t.Helper()
	if n := eachPanelQuery(t, prom, pick, "returns data", prom.expectSeries); n == 0 {
		t.Error("no panel queries found")
	}
}

// eachPanelQuery expands every panel query that pick picks and waits up to 30 s for check to
// accept it, failing for each it never does (the failure says the query "should"); it returns
// how many queries it picked.
func eachPanelQuery(t *testing.T, prom promClient, pick func(dashboards.Query) bool, should string, check func(expr string) error) int {
	t.Helper()
	queries, err := prom.dashboardQueries()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, q := range queries {
		if q.Kind != dashboards.KindPanel || !pick(q) {
			continue
		}
		n++
		expr := dashboards.Expand(q.Expr)
		eventually(t, fmt.Sprintf("%s / %q / %s %s", q.File, q.Panel, q.RefID, should), 30*time.Second, func() error {
			return check(expr)
		})
	}
	return n
}

// logQueries logs what each query returns now, to explain a failure.
func (p promClient) logQueries(t *testing.T, queries ...string) {
	t.Helper()
	for _, q := range queries {
		res, err := p.queryAt(q, time.Now())
		var b strings.Builder
		for _, s := range res {
			fmt.Fprintf(&b, "\n  %v %v", s.Metric, s.Value[1])
		}
		t.Logf("%s: %v%s", q, err, b.String())
	}
}

// eventually retries check until it passes or the time is up, and reports whether it passed.
func eventually(t *testing.T, what string, within time.Duration, check func() error) bool {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := check()
		if err == nil {
			return true
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: not within %v: %v", what, within, err)
			return false
		}
		time.Sleep(500 * time.Millisecond)
	}
}
