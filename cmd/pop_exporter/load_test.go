package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLoad is the scale scenario of the README's Performance section: N targets (default
// 2,000) at a 10 s interval, plain HTTP on loopback, for 60 s, against the real binary.
// It is skipped unless POP_LOADTEST=1 (make loadtest):
//
//	POP_LOADTEST=1 go test -run TestLoad -v -timeout 10m ./cmd/pop_exporter/
//
// POP_LOADTEST_TARGETS and POP_LOADTEST_SECONDS change the size and the length.
func TestLoad(t *testing.T) {
	if os.Getenv("POP_LOADTEST") != "1" {
		t.Skip("load scenario: set POP_LOADTEST=1 (make loadtest)")
	}
	targets := envInt("POP_LOADTEST_TARGETS", 2000)
	seconds := envInt("POP_LOADTEST_SECONDS", 60)
	const interval = 10 * time.Second

	// The edges: one loopback server answering as Cloudflare from a handful of PoPs.
	pops := []string{"AMS", "FRA", "LHR", "CDG", "SIN"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/t"))
		w.Header().Set("Server", "cloudflare")
		w.Header().Set("CF-RAY", "9da906681ad80c13-"+pops[n%len(pops)])
		w.Header().Set("CF-Cache-Status", "HIT")
		w.Header().Set("Age", "12")
		io.WriteString(w, "ok\n")
	}))
	defer srv.Close()

	dir := t.TempDir()
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "vantage: {name: load, location: AMS}\ndefaults: {interval: %s, timeout: 5s}\ntargets:\n", interval)
	for i := range targets {
		fmt.Fprintf(&cfg, "  - {name: t%d, url: %s/t%d}\n", i, srv.URL, i)
	}
	cfgFile := filepath.Join(dir, "load.yml")
	writeFile(t, cfgFile, cfg.String())
	bin := filepath.Join(dir, "pop_exporter")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--config.file="+cfgFile, "--web.listen-address="+addr, "--probe.max-concurrency=256")
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitHTTP(t, "http://"+addr+"/-/ready")

	cpu0 := cpuSeconds(t, cmd.Process.Pid)
	before := probeTotals(t, scrape(t, addr))
	start := time.Now()
	time.Sleep(time.Duration(seconds) * time.Second)
	elapsed := time.Since(start)
	cpu := cpuSeconds(t, cmd.Process.Pid) - cpu0

	var renders []time.Duration
	var body string
	for range 5 {
		t0 := time.Now()
		body = scrape(t, addr)
		renders = append(renders, time.Since(t0))
	}
	sort.Slice(renders, func(i, j int) bool { return renders[i] < renders[j] })
	after := probeTotals(t, body)
	probes := after - before
	rss := peakRSS(t, cmd.Process.Pid)
	missed := sumMetric(body, "pop_exporter_missed_intervals_total")
	p50 := histogramQuantile(body, "pop_exporter_schedule_delay_seconds", 0.50)
	p99 := histogramQuantile(body, "pop_exporter_schedule_delay_seconds", 0.99)
	rate := probes / elapsed.Seconds()

	fmt.Printf("load: %d targets @ %v for %v\n", targets, interval, elapsed.Round(time.Second))
	fmt.Printf("  probes/s achieved        %.1f (expected %.1f)\n", rate, float64(targets)/interval.Seconds())
	fmt.Printf("  CPU s per 1,000 probes   %.3f (%.1f CPU s total)\n", cpu/probes*1000, cpu)
	fmt.Printf("  peak RSS                 %.1f MiB (heap in use %.1f MiB, stacks %.1f MiB at the end)\n", float64(rss)/(1<<20),
		sumMetric(body, "go_memstats_heap_inuse_bytes")/(1<<20), sumMetric(body, "go_memstats_stack_inuse_bytes")/(1<<20))
	fmt.Printf("  schedule delay p50/p99   %.1f ms / %.1f ms\n", p50*1000, p99*1000)
	fmt.Printf("  missed intervals         %.0f\n", missed)
	fmt.Printf("  /metrics render          median %v, max %v, %d bytes, %d lines\n",
		renders[len(renders)/2].Round(time.Millisecond), renders[len(renders)-1].Round(time.Millisecond), len(body), strings.Count(body, "\n"))

	if missed > 0 {
		t.Errorf("missed intervals: %v, want 0", missed)
	}
	if p99 > 0.25 {
		t.Errorf("schedule delay p99 %.3fs, want < 0.25s", p99)
	}
	if rss > 150<<20 {
		t.Errorf("peak RSS %d MiB, want < 150 MiB", rss>>20)
	}
	if r := renders[len(renders)/2]; r > 250*time.Millisecond {
		t.Errorf("/metrics render median %v, want < 250ms", r)
	}
	if want := float64(targets) / interval.Seconds(); rate < want*0.95 {
		t.Errorf("probes/s %.1f, want about %.1f", rate, want)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// cpuSeconds reads utime+stime of a process from /proc (Linux).
func cpuSeconds(t *testing.T, pid int) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}

func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// probeTotals is every probe that finished: responses plus failures without a response.
func probeTotals(t *testing.T, body string) float64 {
	t.Helper()
	return sumMetric(body, "pop_probe_responses_total") + sumMetric(body, "pop_probe_failures_total")
}

func sumMetric(body, name string) float64 {
	sum := 0.0
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
				sum += v
			}
		}
	}
	return sum
}

// histogramQuantile interpolates a quantile from classic buckets, like PromQL's
// histogram_quantile.
func histogramQuantile(body, name string, q float64) float64 {
	type bucket struct{ le, count float64 }
	var buckets []bucket
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name+"_bucket{") {
			continue
		}
		i := strings.Index(line, `le="`)
		j := strings.Index(line[i+4:], `"`)
		le, _ := strconv.ParseFloat(line[i+4:i+4+j], 64)
		c, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		buckets = append(buckets, bucket{le, c})
	}
	if len(buckets) == 0 {
		return math.NaN()
	}
	sort.Slice(buckets, func(i, j int) bool { return buckets[i].le < buckets[j].le })
	total := buckets[len(buckets)-1].count
	rank := q * total
	prevLE, prevCount := 0.0, 0.0
	for _, b := range buckets {
		if b.count >= rank {
			if math.IsInf(b.le, 1) {
				return prevLE
			}
			return prevLE + (b.le-prevLE)*(rank-prevCount)/math.Max(b.count-prevCount, 1)
		}
		prevLE, prevCount = b.le, b.count
	}
	return prevLE
}
