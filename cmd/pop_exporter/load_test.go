package main

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"
)

// TestLoad is the scale scenario of the README's Performance section: N targets at an
// interval, plain HTTP on loopback, for a while, against the real binary. It is skipped unless
// POP_LOADTEST=1 (make loadtest):
//
//	make loadtest TARGETS=10000 INTERVAL=30s DURATION=120 DETAIL=full BLACKBOX=1
//
// (POP_LOADTEST_TARGETS, _INTERVAL, _SECONDS and _DETAIL underneath; defaults 2,000 targets
// at 10 s for 60 s in the default detail). POP_LOADTEST_PROFILE=dir (make loadtest
// PROFILE=dir) saves a CPU profile of the measurement window and heap profiles at its start
// and end there, for `go tool pprof`. With POP_LOADTEST_BLACKBOX=1 and Debian's
// prometheus-blackbox-exporter (or blackbox_exporter) on PATH, the exporter is then stopped
// and the same edge probed through blackbox_exporter at the same rate for as long, the way
// Prometheus drives it (/probe), and the CPU per probe of both is printed side by side.
func TestLoad(t *testing.T) {
	if os.Getenv("POP_LOADTEST") != "1" {
		t.Skip("load scenario: set POP_LOADTEST=1 (make loadtest)")
	}
	targets := envInt("POP_LOADTEST_TARGETS", 2000)
	seconds := envInt("POP_LOADTEST_SECONDS", 60)
	interval := 10 * time.Second
	if v, err := time.ParseDuration(os.Getenv("POP_LOADTEST_INTERVAL")); err == nil && v > 0 {
		interval = v
	}
	detail := os.Getenv("POP_LOADTEST_DETAIL")
	protocol := os.Getenv("POP_LOADTEST_PROTOCOL")
	dir := t.TempDir()
	var srv *httptest.Server
	var caFile string
	if protocol == "" {
		srv = loadEdge(t)
	} else {
		srv, caFile = loadTLSEdge(t, dir)
	}

	var cfg strings.Builder
	fmt.Fprintf(&cfg, "vantage: {name: load, location: AMS}\ndefaults: {interval: %s, timeout: 5s}\ntargets:\n", interval)
	for i := range targets {
		if protocol == "" {
			fmt.Fprintf(&cfg, "  - {name: t%d, url: %s/t%d}\n", i, srv.URL, i)
			continue
		}
		fmt.Fprintf(&cfg, "  - {name: t%d, url: %s/t%d, protocols: [%s], tls: {ca_file: %s}}\n", i, srv.URL, i, protocol, caFile)
	}
	cfgFile := filepath.Join(dir, "load.yml")
	writeFile(t, cfgFile, cfg.String())
	bin := filepath.Join(dir, "pop_exporter")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	args := []string{"--config.file=" + cfgFile, "--web.listen-address=" + addr, "--probe.max-concurrency=256"}
	if detail != "" {
		args = append(args, "--metrics.detail="+detail)
	}
	profileDir := os.Getenv("POP_LOADTEST_PROFILE")
	if profileDir != "" {
		args = append(args, "--web.enable-pprof")
		if err := os.MkdirAll(profileDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, args...)
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitHTTP(t, "http://"+addr+"/-/ready")
	// Every probe starts within its first interval: measure once all of them run.
	time.Sleep(interval + time.Second)

	cpu0 := cpuSeconds(t, cmd.Process.Pid)
	before := probeTotals(t, scrape(t, addr))
	start := time.Now()
	if profileDir != "" {
		// The CPU profile covers the measurement window; heap profiles are taken at its start
		// and end (go tool pprof -sample_index=alloc_space -base heap-start.pprof heap.pprof:
		// what the window allocated).
		saveProfile(t, addr, "heap", filepath.Join(profileDir, "heap-start.pprof"))
		saveProfile(t, addr, fmt.Sprintf("profile?seconds=%d", seconds), filepath.Join(profileDir, "cpu.pprof"))
		saveProfile(t, addr, "heap", filepath.Join(profileDir, "heap.pprof"))
	} else {
		time.Sleep(time.Duration(seconds) * time.Second)
	}
	elapsed := time.Since(start)
	cpu := cpuSeconds(t, cmd.Process.Pid) - cpu0
	after := probeTotals(t, scrape(t, addr))
	probes := after - before

	var renders []time.Duration
	var body string
	var gzSize int
	for range 5 {
		var d time.Duration
		body, gzSize, d = scrapeGzip(t, addr)
		renders = append(renders, d)
	}
	sort.Slice(renders, func(i, j int) bool { return renders[i] < renders[j] })
	rss := peakRSS(t, cmd.Process.Pid)
	missed := sumMetric(body, "pop_exporter_missed_intervals_total")
	p50 := histogramQuantile(body, "pop_exporter_schedule_delay_seconds", 0.50)
	p99 := histogramQuantile(body, "pop_exporter_schedule_delay_seconds", 0.99)
	rate := probes / elapsed.Seconds()
	expected := float64(targets) / interval.Seconds()
	cpuPerProbe := cpu / probes

	fmt.Printf("load: %d targets @ %v for %v, metrics detail %q, %s\n", targets, interval, elapsed.Round(time.Second), cmp.Or(detail, "default"),
		cmp.Or(protocol, "plain HTTP"))
	fmt.Printf("  probes/s                 %.1f (expected %.1f; %.1f%% of intervals probed)\n", rate, expected, 100*rate/expected)
	fmt.Printf("  missed intervals         %.0f\n", missed)
	fmt.Printf("  schedule delay p50/p99   %.1f ms / %.1f ms\n", p50*1000, p99*1000)
	fmt.Printf("  CPU per probe            %.3f ms (%.1f CPU s total)\n", cpuPerProbe*1000, cpu)
	fmt.Printf("  peak RSS                 %.1f MiB (heap in use %.1f MiB, GC goal %.1f MiB, stacks %.1f MiB at the end)\n", float64(rss)/(1<<20),
		sumMetric(body, "go_memstats_heap_inuse_bytes")/(1<<20), sumMetric(body, "go_memstats_next_gc_bytes")/(1<<20),
		sumMetric(body, "go_memstats_stack_inuse_bytes")/(1<<20))
	fmt.Printf("  series on /metrics       %d (%.1f per target)\n", seriesCount(body), float64(seriesCount(body))/float64(targets))
	fmt.Printf("  /metrics render (gzip)   median %v, max %v; %.1f MB compressed, %.1f MB text\n",
		renders[len(renders)/2].Round(time.Millisecond), renders[len(renders)-1].Round(time.Millisecond),
		float64(gzSize)/1e6, float64(len(body))/1e6)

	if os.Getenv("POP_LOADTEST_BLACKBOX") == "1" {
		// blackbox_exporter is measured alone, as ours was: the exporter would otherwise go on
		// probing the same edge on the same cores through blackbox_exporter's window.
		cmd.Process.Kill()
		cmd.Wait()
		compareBlackbox(t, srv.URL, targets, rate, seconds, cpuPerProbe, protocol, caFile)
	}

	if missed > 0 {
		t.Errorf("missed intervals: %v, want 0", missed)
	}
	if p99 > 0.25 {
		t.Errorf("schedule delay p99 %.3fs, want < 0.25s", p99)
	}
	// The render budget is the default series set's; the full set is reported, not held to it.
	if r := renders[len(renders)/2]; r > 250*time.Millisecond && detail != "full" {
		t.Errorf("/metrics render median %v, want < 250ms", r)
	}
	if rate < expected*0.99 {
		t.Errorf("probes/s %.1f, want at least 99%% of %.1f", rate, expected)
	}
}

// saveProfile writes /debug/pprof/<what> of the exporter at addr to file.
func saveProfile(t *testing.T, addr, what, file string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/debug/pprof/" + what)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("pprof %s: %v %s", what, err, resp.Status)
	}
	writeFile(t, file, string(b))
	fmt.Printf("  profile                  %s\n", file)
}

// loadEdge is the edge of the load scenario: one loopback server answering as Cloudflare
// from a handful of PoPs, in this process (so its CPU is not the exporter's).
func loadEdge(t *testing.T) *httptest.Server {
	pops := []string{"AMS", "FRA", "LHR", "CDG", "SIN"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/t"))
		w.Header().Set("Server", "cloudflare")
		w.Header().Set("CF-RAY", "9da906681ad80c13-"+pops[n%len(pops)])
		w.Header().Set("CF-Cache-Status", "HIT")
		w.Header().Set("Age", "12")
		io.WriteString(w, "ok\n")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// loadTLSEdge is loadEdge over HTTPS as CDN edges serve it today: TLS 1.3 with an ECDSA
// P-256 certificate (the key exchange and signature most CDNs use), HTTP/1.1 and HTTP/2 by ALPN
// on TCP and HTTP/3 on the same port over UDP. It returns the server and the CA file that
// trusts it.
func loadTLSEdge(t *testing.T, dir string) (*httptest.Server, string) {
	pops := []string{"AMS", "FRA", "LHR", "CDG", "SIN"}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/t"))
		w.Header().Set("Server", "cloudflare")
		w.Header().Set("CF-RAY", "9da906681ad80c13-"+pops[n%len(pops)])
		w.Header().Set("CF-Cache-Status", "HIT")
		w.Header().Set("Age", "12")
		io.WriteString(w, "ok\n")
	})
	cert, caPEM := ecdsaCertificate(t)
	caFile := filepath.Join(dir, "ca.pem")
	writeFile(t, caFile, string(caPEM))
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().(*net.TCPAddr)
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: addr.IP, Port: addr.Port})
	if err != nil {
		t.Fatal(err)
	}
	h3 := &http3.Server{Handler: h, TLSConfig: http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}})}
	go h3.Serve(udp)
	t.Cleanup(func() { h3.Close(); udp.Close() })
	return srv, caFile
}

// ecdsaCertificate makes a self-signed ECDSA P-256 certificate for 127.0.0.1, returning it
// and its PEM (the CA file).
func ecdsaCertificate(t *testing.T) (tls.Certificate, []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "load edge"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// blackboxSuccess runs one probe through blackbox_exporter and returns its probe_success and
// probe_http_version lines.
func blackboxSuccess(t *testing.T, client *http.Client, addr, edge string) string {
	resp, err := client.Get(fmt.Sprintf("http://%s/probe?module=http_2xx&target=%s/t0", addr, edge))
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "probe_success ") || strings.HasPrefix(line, "probe_http_version ") {
			out = append(out, line)
		}
	}
	return strings.Join(out, ", ")
}

// compareBlackbox probes the same edge through blackbox_exporter at the same rate for the same
// time, as Prometheus would (a /probe request per probe over kept-alive connections), and
// prints its CPU per probe beside ours.
//
// Over HTTPS (protocol set), blackbox_exporter trusts the edge's CA and speaks HTTP/1.1 for
// http1.1 and HTTP/2 otherwise: Debian's package (0.23) has no HTTP/3, so an http3 probe of
// ours is set beside its HTTP/2 one.
func compareBlackbox(t *testing.T, edge string, targets int, rate float64, seconds int, ours float64, protocol, caFile string) {
	bin, err := exec.LookPath("prometheus-blackbox-exporter")
	if err != nil {
		if bin, err = exec.LookPath("blackbox_exporter"); err != nil {
			t.Log("blackbox comparison skipped: neither prometheus-blackbox-exporter nor blackbox_exporter is on PATH")
			return
		}
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "blackbox.yml")
	module := "modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n"
	if protocol != "" {
		module += fmt.Sprintf("    http:\n      preferred_ip_protocol: ip4\n      enable_http2: %v\n      tls_config: {ca_file: %s}\n",
			protocol != "http1.1", caFile)
	}
	writeFile(t, cfg, module)
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--config.file="+cfg, "--web.listen-address="+addr)
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitHTTP(t, "http://"+addr+"/-/healthy")

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	cpu0 := cpuSeconds(t, cmd.Process.Pid)
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	end := time.Now().Add(time.Duration(seconds) * time.Second)
	var wg sync.WaitGroup
	var done atomic.Int64
	sem := make(chan struct{}, 256)
	for i := 0; time.Now().Before(end); i++ {
		<-tick.C
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			resp, err := client.Get(fmt.Sprintf("http://%s/probe?module=http_2xx&target=%s/t%d", addr, edge, i%targets))
			if err != nil {
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			done.Add(1)
		}()
	}
	wg.Wait()
	theirs := (cpuSeconds(t, cmd.Process.Pid) - cpu0) / float64(done.Load())
	fmt.Printf("  blackbox_exporter        %.3f ms CPU per probe over %d probes (%s)\n", theirs*1000, done.Load(), filepath.Base(bin))
	if protocol != "" {
		// A probe that failed costs less than one that did not: say how many succeeded.
		fmt.Printf("  blackbox probe_success   %s\n", blackboxSuccess(t, client, addr, edge))
	}
	fmt.Printf("  pop_exporter/blackbox    %.2fx\n", ours/theirs)
}

// scrapeGzip fetches /metrics as Prometheus does (gzip), returning the text, the compressed
// size and how long the whole response took.
func scrapeGzip(t *testing.T, addr string) (string, int, time.Duration) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
	req.Header.Set("Accept-Encoding", "gzip") // set by hand: the client leaves the body compressed
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	compressed, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(text), len(compressed), took
}

// seriesCount counts the samples of a text exposition: one line per series.
func seriesCount(body string) int {
	n := 0
	for _, line := range strings.Split(body, "\n") {
		if line != "" && line[0] != '#' {
			n++
		}
	}
	return n
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

// peakRSS is the most resident memory the process has had (Linux).
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	return procStatus(t, pid, "VmHWM:")
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
