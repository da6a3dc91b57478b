package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSoak is the long-running scenario of the README's Performance section: the real binary
// with N targets (half in the configuration file, half in four target files), a reload
// (SIGHUP, the configuration file rewritten) and a target file rewrite (targets added or
// removed, the file replaced atomically) on a schedule, for a given time. Every report
// interval it prints RSS, open descriptors, goroutines, heap in use, missed intervals and the
// schedule delay of that interval; it fails when, after the first report (the warm-up),
// memory, descriptors or goroutines grow beyond noise, or any interval is missed. Skipped unless
// POP_SOAK=1 (make soak):
//
//	make soak SOAK_TARGETS=2000 SOAK_INTERVAL=5s SOAK_DURATION=600 SOAK_RELOAD=30s SOAK_REWRITE=10s
func TestSoak(t *testing.T) {
	if os.Getenv("POP_SOAK") != "1" {
		t.Skip("soak scenario: set POP_SOAK=1 (make soak)")
	}
	targets := envInt("POP_SOAK_TARGETS", 2000)
	seconds := envInt("POP_SOAK_SECONDS", 600)
	interval := envDuration("POP_SOAK_INTERVAL", 5*time.Second)
	reloadEvery := envDuration("POP_SOAK_RELOAD", 30*time.Second)
	rewriteEvery := envDuration("POP_SOAK_REWRITE", 10*time.Second)
	reportEvery := envDuration("POP_SOAK_REPORT", 30*time.Second)
	srv := loadEdge(t)

	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "targets"), 0o755); err != nil {
		t.Fatal(err)
	}
	own := targets / 2
	const files = 4
	perFile := (targets - own) / files
	cfgFile := filepath.Join(dir, "soak.yml")
	writeConfig := func(generation int) {
		var b strings.Builder
		fmt.Fprintf(&b, "# generation %d\nvantage: {name: soak, location: AMS}\ndefaults: {interval: %s, timeout: 2s}\n", generation, interval)
		b.WriteString("target_files: [targets/*.yml]\ntargets:\n")
		for i := range own {
			fmt.Fprintf(&b, "  - {name: t%d, url: %s/t%d}\n", i, srv.URL, i)
		}
		// One target changes with every generation: a reload restarts it and keeps the rest.
		fmt.Fprintf(&b, "  - {name: moving, url: %s/t%d}\n", srv.URL, generation%7)
		replaceFile(t, cfgFile, b.String())
	}
	// A target file holds perFile targets, and 10 more on odd generations.
	writeTargetFile := func(f, generation int) {
		var b strings.Builder
		n := perFile
		if generation%2 == 1 {
			n += 10
		}
		for i := range n {
			fmt.Fprintf(&b, "- {name: f%d_%d, url: %s/t%d}\n", f, i, srv.URL, own+f*perFile+i)
		}
		replaceFile(t, filepath.Join(dir, "targets", fmt.Sprintf("f%d.yml", f)), b.String())
	}
	writeConfig(0)
	for f := range files {
		writeTargetFile(f, 0)
	}

	addr := freeAddr(t)
	cmd := exec.Command(buildExporter(t), "--config.file="+cfgFile, "--web.listen-address="+addr, "--probe.max-concurrency=256")
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitHTTP(t, "http://"+addr+"/-/ready")
	pid := cmd.Process.Pid

	type sample struct {
		at                        time.Duration
		rss, heap                 float64 // bytes
		fds, goroutines           int
		missed                    float64 // in the report interval
		delayP50, delayP99        float64 // seconds, in the report interval
		reloads, rewrites, probes int
	}
	var samples []sample
	start := time.Now()
	prev := scrape(t, addr)
	reloadTick, rewriteTick, reportTick := time.NewTicker(reloadEvery), time.NewTicker(rewriteEvery), time.NewTicker(reportEvery)
	defer reloadTick.Stop()
	defer rewriteTick.Stop()
	defer reportTick.Stop()
	end := time.After(time.Duration(seconds) * time.Second)
	reloads, rewrites, failedReloads := 0, 0, 0
	fmt.Printf("soak: %d targets @ %v (%d in %d target files), a reload every %v, a target file rewrite every %v, for %ds\n",
		targets, interval, targets-own, files, reloadEvery, rewriteEvery, seconds)
	fmt.Printf("  %6s %6s %9s %9s %5s %10s %7s %22s %8s %9s\n", "time", "probes", "RSS MiB", "heap MiB", "fds", "goroutines", "missed", "schedule delay p50/p99", "reloads", "rewrites")
	report := func() {
		body := scrape(t, addr)
		if sumMetric(body, "pop_exporter_config_last_reload_successful") != 1 {
			failedReloads++
		}
		s := sample{
			at:         time.Since(start).Round(time.Second),
			rss:        float64(procStatus(t, pid, "VmRSS:")),
			heap:       sumMetric(body, "go_memstats_heap_inuse_bytes"),
			fds:        openFDs(t, pid),
			goroutines: int(sumMetric(body, "go_goroutines")),
			missed:     sumMetric(body, "pop_exporter_missed_intervals_total") - sumMetric(prev, "pop_exporter_missed_intervals_total"),
			delayP50:   deltaQuantile(prev, body, "pop_exporter_schedule_delay_seconds", 0.5),
			delayP99:   deltaQuantile(prev, body, "pop_exporter_schedule_delay_seconds", 0.99),
			reloads:    reloads, rewrites: rewrites, probes: int(sumMetric(body, "pop_exporter_targets")),
		}
		prev = body
		samples = append(samples, s)
		fmt.Printf("  %6v %6d %9.1f %9.1f %5d %10d %7.0f %12.1f / %5.1f ms %8d %9d\n", s.at, s.probes, s.rss/(1<<20), s.heap/(1<<20), s.fds, s.goroutines,
			s.missed, s.delayP50*1000, s.delayP99*1000, s.reloads, s.rewrites)
	}
loop:
	for {
		select {
		case <-reloadTick.C:
			reloads++
			writeConfig(reloads)
			if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
		case <-rewriteTick.C:
			rewrites++
			writeTargetFile(rewrites%files, rewrites/files+1)
		case <-reportTick.C:
			report()
		case <-end:
			report()
			break loop
		}
	}

	if failedReloads > 0 {
		t.Errorf("%d reports saw the last reload failed", failedReloads)
	}
	if len(samples) < 3 {
		t.Fatalf("%d reports: run longer than three report intervals to judge growth", len(samples))
	}
	// The first report is the warm-up: every probe has started, every series exists. From
	// then on nothing should grow but noise: the GC goal (1.5x the live heap) moves RSS, a
	// scrape or a reload in flight adds goroutines and descriptors for a moment.
	first, last := samples[1], samples[len(samples)-1]
	var missed float64
	for _, s := range samples[1:] {
		missed += s.missed
	}
	if missed > 0 {
		t.Errorf("%v intervals missed after the warm-up, want 0", missed)
	}
	if last.rss > first.rss*1.25+16<<20 {
		t.Errorf("RSS grew from %.1f MiB to %.1f MiB", first.rss/(1<<20), last.rss/(1<<20))
	}
	if last.heap > first.heap*1.25+8<<20 {
		t.Errorf("heap in use grew from %.1f MiB to %.1f MiB", first.heap/(1<<20), last.heap/(1<<20))
	}
	if last.fds > first.fds+16 {
		t.Errorf("open descriptors grew from %d to %d", first.fds, last.fds)
	}
	if last.goroutines > first.goroutines+20 {
		t.Errorf("goroutines grew from %d to %d", first.goroutines, last.goroutines)
	}
}

// replaceFile writes path atomically: a temporary file in the same directory, renamed over it.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// procStatus reads a size field ("VmRSS:") of /proc/<pid>/status in bytes (Linux).
func procStatus(t *testing.T, pid int, field string) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// openFDs counts the open file descriptors of a process (Linux).
func openFDs(t *testing.T, pid int) int {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// deltaQuantile is the quantile q of the observations a classic histogram got between two
// scrapes, before and after, as PromQL's histogram_quantile over an increase.
func deltaQuantile(before, after, name string, q float64) float64 {
	buckets := func(body string) map[float64]float64 {
		m := map[float64]float64{}
		for _, line := range strings.Split(body, "\n") {
			if !strings.HasPrefix(line, name+"_bucket{") {
				continue
			}
			i := strings.Index(line, `le="`)
			j := strings.Index(line[i+4:], `"`)
			le, _ := strconv.ParseFloat(line[i+4:i+4+j], 64)
			c, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			m[le] += c
		}
		return m
	}
	b, a := buckets(before), buckets(after)
	var les []float64
	for le := range a {
		les = append(les, le)
	}
	sort.Float64s(les)
	if len(les) == 0 {
		return math.NaN()
	}
	total := a[les[len(les)-1]] - b[les[len(les)-1]]
	if total <= 0 {
		return math.NaN()
	}
	rank := q * total
	prevLE, prevCount := 0.0, 0.0
	for _, le := range les {
		c := a[le] - b[le]
		if c >= rank {
			if math.IsInf(le, 1) {
				return prevLE
			}
			return prevLE + (le-prevLE)*(rank-prevCount)/math.Max(c-prevCount, 1)
		}
		prevLE, prevCount = le, c
	}
	return prevLE
}
