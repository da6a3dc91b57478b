package deploy

// The rule benchmark of the README's "Cost" section (make rulebench): what the repository's
// recording and alerting rules cost the Prometheus that evaluates them for a fleet. It is not
// part of `make test`: it runs a Prometheus with hundreds of thousands of series for minutes.
//
// The setup is built from one real scrape: cdnsim serves POP_RULEBENCH_TARGETS generated
// targets, one pop_exporter probes them (5 s interval) and is scraped once; that exposition is
// then served as POP_RULEBENCH_VANTAGES vantages (the vantage label rewritten, each vantage its
// own instance), counters and histograms growing with time so that every rate() sees traffic.
// A real Prometheus scrapes them every 15 s and evaluates the rules every 15 s (groups that set
// their own interval keep it) for POP_RULEBENCH_SECONDS. It prints, from the Prometheus API
// and its own metrics, each group's and rule's evaluation time, the evaluation per 15 s cycle
// per 1,000 probes, the recorded series per probe, missed iterations and Prometheus' CPU and
// memory. Everything listens on loopback.

import (
	"bufio"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// benchExposition is one scrape of the exporter split into the part of each line before the
// value and the value, so that each vantage's copy is rendered without parsing again.
type benchExposition struct {
	comments []string   // # HELP / # TYPE lines
	prefixes [][]string // metric name and labels, split where the vantage label's value goes
	values   []float64
	grows    []bool // counter, histogram bucket, sum or count: grows with time
}

// parseBenchExposition splits a text exposition and marks the vantage label for rewriting.
func parseBenchExposition(body, vantage string) (*benchExposition, error) {
	e := &benchExposition{}
	counters := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "#") {
			if f := strings.Fields(line); len(f) == 4 && f[1] == "TYPE" && (f[3] == "counter" || f[3] == "histogram") {
				counters[f[2]] = true
			}
			e.comments = append(e.comments, line)
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("exposition line %q: no value", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("exposition line %q: %w", line, err)
		}
		prefix := strings.Split(line[:i], `vantage="`+vantage+`"`)
		name := prefix[0]
		if j := strings.IndexByte(name, '{'); j >= 0 {
			name = name[:j]
		}
		base := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, suffix); ok && counters[b] {
				base = b
			}
		}
		e.prefixes = append(e.prefixes, prefix)
		e.values = append(e.values, v)
		e.grows = append(e.grows, counters[base])
	}
	return e, sc.Err()
}

// render writes the exposition as vantage sees it elapsed seconds after the start: counters
// (and histogram buckets, sums and counts) grow by their scraped value every minute, so
// buckets stay cumulative and rates stay positive.
func (e *benchExposition) render(w *bufio.Writer, vantage string, elapsed float64) {
	for _, c := range e.comments {
		w.WriteString(c)
		w.WriteByte('\n')
	}
	growth := 1 + elapsed/60
	for i, p := range e.prefixes {
		v := e.values[i]
		if e.grows[i] {
			v *= growth
		}
		for j, part := range p {
			if j > 0 {
				w.WriteString(`vantage="` + vantage + `"`)
			}
			w.WriteString(part)
		}
		w.WriteByte(' ')
		w.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		w.WriteByte('\n')
	}
}

// TestRuleBench is `make rulebench`.
func TestRuleBench(t *testing.T) {
	if os.Getenv("POP_RULEBENCH") != "1" {
		t.Skip("rule benchmark: set POP_RULEBENCH=1 (make rulebench)")
	}
	env := requireE2E(t)
	targets := envInt(t, "POP_RULEBENCH_TARGETS", 1000)
	vantages := envInt(t, "POP_RULEBENCH_VANTAGES", 5)
	seconds := envInt(t, "POP_RULEBENCH_SECONDS", 150)
	rulesFile := os.Getenv("POP_RULEBENCH_RULES")
	if rulesFile == "" {
		rulesFile = "prometheus/rules/pop_exporter.rules.yml"
	} else if filepath.Base(rulesFile) == "none" {
		rulesFile = "none"
	}
	bin, server := env.prometheus, "Prometheus 2.42"
	if os.Getenv("POP_RULEBENCH_PROMETHEUS3") == "1" {
		requirePrometheus3(t, env.prometheus3Err)
		bin, server = env.prometheus3, "Prometheus 3"
	}
	dir := t.TempDir()

	// One real scrape of one exporter probing the generated targets; both stop after it, so
	// that only Prometheus and the replaying server use the CPU while it is measured.
	cdnsim := exec.Command(env.bins["cdnsim"], "--targets.generate="+strconv.Itoa(targets),
		"--http.listen-address=127.0.0.1:0", "--https.listen-address=127.0.0.1:0",
		"--tls.ca-file="+filepath.Join(dir, "ca.pem"), "--config.out="+filepath.Join(dir, "exporter.yml"),
		"--print-config.interval=5s")
	exporterAddr := freeAddr(t)
	exporter := exec.Command(env.bins["pop_exporter"], "--config.file="+filepath.Join(dir, "exporter.yml"),
		"--web.listen-address="+exporterAddr)
	if err := cdnsim.Start(); err != nil {
		t.Fatal(err)
	}
	waitFile(t, filepath.Join(dir, "exporter.yml"))
	if err := exporter.Start(); err != nil {
		cdnsim.Process.Kill()
		t.Fatal(err)
	}
	time.Sleep(22 * time.Second) // four probes of every target
	body, err := httpGetBody("http://" + exporterAddr + "/metrics")
	for _, c := range []*exec.Cmd{exporter, cdnsim} {
		c.Process.Kill()
		c.Wait()
	}
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Vantage struct{ Name string } `yaml:"vantage"`
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "exporter.yml"))
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Vantage.Name == "" {
		cfg.Vantage.Name = "default"
	}
	expo, err := parseBenchExposition(body, cfg.Vantage.Name)
	if err != nil {
		t.Fatal(err)
	}
	probes := strings.Count(body, "\npop_probe_success{")
	if probes == 0 {
		t.Fatalf("the exporter's scrape has no pop_probe_success series:\n%.2000s", body)
	}

	// The fleet: one path per vantage on one loopback server.
	start := time.Now()
	mux := http.NewServeMux()
	mux.HandleFunc("/vantage/{v}/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		bw := bufio.NewWriterSize(w, 1<<16)
		expo.render(bw, r.PathValue("v"), time.Since(start).Seconds())
		bw.Flush()
	})
	fleetAddr := freeAddr(t)
	srv := &http.Server{Addr: fleetAddr, Handler: mux}
	go srv.ListenAndServe()
	t.Cleanup(func() { srv.Close() })

	var static []any
	for i := range vantages {
		v := fmt.Sprintf("bench-%02d", i+1)
		static = append(static, map[string]any{"targets": []any{fleetAddr},
			"labels": map[string]any{"instance": v + ":9853", "__metrics_path__": "/vantage/" + v + "/metrics"}})
	}
	// RULES=none measures Prometheus without rules: what scraping and storing costs, the
	// part of its CPU that is not the rules'.
	var ruleFiles []any
	if rulesFile != "none" {
		absRules, err := filepath.Abs(rulesFile)
		if err != nil {
			t.Fatal(err)
		}
		ruleFiles = []any{absRules}
	}
	promCfg := map[string]any{
		"global":     map[string]any{"scrape_interval": "15s", "evaluation_interval": "15s", "scrape_timeout": "14s"},
		"rule_files": ruleFiles,
		"scrape_configs": []any{map[string]any{"job_name": "pop_exporter", "static_configs": static},
			map[string]any{"job_name": "prometheus", "static_configs": []any{map[string]any{"targets": []any{"PROMADDR"}}}}},
	}
	promAddr := freeAddr(t)
	out, _ := yaml.Marshal(promCfg)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(cfgPath, []byte(strings.ReplaceAll(string(out), "PROMADDR", promAddr)), 0o600)
	startProcess(t, server, bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+promAddr)
	waitHTTP(t, "http://"+promAddr+"/-/ready")
	prom := promClient{base: "http://" + promAddr}
	t.Logf("%s: %d vantages × %d probes (%d targets), rules %s, %d s; load average at start %s",
		server, vantages, probes, targets, rulesFile, seconds, loadAverage())

	// Evaluation times are sampled after every cycle, skipping the first minute (the first
	// evaluations run on one or two samples per series).
	type ruleStat struct {
		group, name string
		interval    float64
		times       []float64
	}
	stats := map[string]*ruleStat{}
	var mu sync.Mutex
	seen := map[string]float64{} // last evaluation seen per group
	cpuStart := -1.0
	var cpuStartAt time.Time
	deadline := start.Add(time.Duration(seconds) * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(5 * time.Second)
		if time.Since(start) < time.Minute {
			continue
		}
		if cpuStart < 0 {
			if v, err := scalarQuery(prom, `process_cpu_seconds_total{job="prometheus"}`); err == nil {
				cpuStart, cpuStartAt = v, time.Now()
			}
		}
		var rules struct {
			Groups []struct {
				Name           string  `json:"name"`
				Interval       float64 `json:"interval"`
				EvaluationTime float64 `json:"evaluationTime"`
				LastEvaluation string  `json:"lastEvaluation"`
				Rules          []struct {
					Name           string  `json:"name"`
					Type           string  `json:"type"`
					EvaluationTime float64 `json:"evaluationTime"`
					Health         string  `json:"health"`
					LastError      string  `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		}
		if err := prom.get("/api/v1/rules", &rules); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		for _, g := range rules.Groups {
			// A group not evaluated yet (a group with a long interval, early in the run)
			// reports the zero time and an evaluation time of 0: no sample, or it would
			// halve that group's mean.
			at, err := time.Parse(time.RFC3339Nano, g.LastEvaluation)
			if err != nil || at.Year() < 2000 || float64(at.UnixNano()) == seen[g.Name] {
				continue
			}
			seen[g.Name] = float64(at.UnixNano())
			key := g.Name + "\x00"
			if stats[key] == nil {
				stats[key] = &ruleStat{group: g.Name, interval: g.Interval}
			}
			stats[key].times = append(stats[key].times, g.EvaluationTime)
			for _, r := range g.Rules {
				if r.Health == "err" {
					t.Errorf("group %s rule %s: %s", g.Name, r.Name, r.LastError)
				}
				k := g.Name + "\x00" + r.Name
				if stats[k] == nil {
					stats[k] = &ruleStat{group: g.Name, name: r.Name, interval: g.Interval}
				}
				stats[k].times = append(stats[k].times, r.EvaluationTime)
			}
		}
		mu.Unlock()
	}
	if err := prom.expectCount(`up{job="pop_exporter"} == 1`, vantages); err != nil {
		var targets any
		prom.get("/api/v1/targets", &targets)
		t.Fatalf("%v: %v", err, targets)
	}
	cpu, _ := scalarQuery(prom, `process_cpu_seconds_total{job="prometheus"}`)
	cores := (cpu - cpuStart) / time.Since(cpuStartAt).Seconds()
	rss, _ := scalarQuery(prom, `process_resident_memory_bytes{job="prometheus"}`)
	head, _ := scalarQuery(prom, `prometheus_tsdb_head_series`)
	missed, _ := scalarQuery(prom, `sum(prometheus_rule_group_iterations_missed_total)`)
	allProbes, err := scalarQuery(prom, `count(pop_probe_success)`)
	if err != nil {
		t.Fatal(err)
	}

	keys := make([]string, 0, len(stats))
	for k := range stats {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	perCycle := 0.0
	fmt.Fprintf(&b, "\n%-34s %-58s %8s %10s %10s %6s\n", "group", "rule", "interval", "mean s", "max s", "evals")
	for _, k := range keys {
		s := stats[k]
		mean, peak := meanMax(s.times)
		if s.name == "" {
			perCycle += mean * 15 / s.interval
		}
		fmt.Fprintf(&b, "%-34s %-58s %7.0fs %10.4f %10.4f %6d\n", s.group, s.name, s.interval, mean, peak, len(s.times))
	}
	fmt.Fprintf(&b, "\nrecorded series per probe (%0.f probes):\n", allProbes)
	var names []string
	for _, s := range stats {
		if s.name != "" && !strings.HasPrefix(s.name, "Pop") {
			names = append(names, s.name)
		}
	}
	sort.Strings(names)
	perProbe, total := 0.0, 0.0
	for _, n := range names {
		c, _ := scalarQuery(prom, fmt.Sprintf(`count({__name__=%q})`, n))
		fmt.Fprintf(&b, "  %-58s %8.0f %6.2f\n", n, c, c/allProbes)
		total += c / allProbes
		if strings.HasPrefix(n, "vantage_target") {
			perProbe += c / allProbes
		}
	}
	fmt.Fprintf(&b, "  %-58s %8s %6.2f\n", "per-probe records (vantage_target*)", "", perProbe)
	fmt.Fprintf(&b, "  %-58s %8s %6.2f\n", "all records", "", total)
	fmt.Fprintf(&b, "\nhead series %.0f; evaluation per 15 s cycle %.3f s = %.3f s per 1,000 probes; missed iterations %.0f\n",
		head, perCycle, perCycle/allProbes*1000, missed)
	fmt.Fprintf(&b, "Prometheus CPU %.2f cores, RSS %.2f GiB; load average at the end %s (%d CPUs)\n",
		cores, rss/(1<<30), loadAverage(), runtime.NumCPU())
	t.Log(b.String())
}

// loadAverage is the machine's 1, 5 and 15 minute load average: evaluation times are wall
// times, and grow with everything else the machine runs.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func meanMax(xs []float64) (mean, peak float64) {
	for _, x := range xs {
		mean += x
		peak = math.Max(peak, x)
	}
	if len(xs) > 0 {
		mean /= float64(len(xs))
	}
	return mean, peak
}

// scalarQuery runs an instant query that returns one sample and returns its value.
func scalarQuery(p promClient, q string) (float64, error) {
	res, err := p.queryAt(q, time.Now())
	if err != nil {
		return 0, err
	}
	if len(res) != 1 {
		return 0, fmt.Errorf("query %s returned %d series", q, len(res))
	}
	_, vs, err := res[0].samples()
	if err != nil || len(vs) != 1 {
		return 0, fmt.Errorf("query %s: %v", q, err)
	}
	return vs[0], nil
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, s)
	}
	return n
}
