package main

// The hostile suite: clients and servers that misbehave, replayed against the real daemon
// (run() in-process, or the built binary where a resource limit is part of the case), with
// what a user would check. Everything talks to loopback only; every case is bounded in time.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// hostileDaemon is an exporter run in-process for the hostile suite.
type hostileDaemon struct {
	addr    string
	cfgFile string
	logs    *syncBuffer
	stop    context.CancelFunc
	done    chan struct{} // closed when run returns
	code    int           // run's exit code, once done is closed
}

// startHostileDaemon runs the exporter with cfg until the test stops it (or ends).
func startHostileDaemon(t *testing.T, cfg string, args ...string) *hostileDaemon {
	t.Helper()
	d := &hostileDaemon{addr: freeAddr(t), cfgFile: filepath.Join(t.TempDir(), "pop.yml"), logs: &syncBuffer{}, done: make(chan struct{})}
	writeFile(t, d.cfgFile, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	d.stop = cancel
	args = append([]string{"--web.listen-address=" + d.addr, "--config.file=" + d.cfgFile}, args...)
	go func() { d.code = run(ctx, args, io.Discard, d.logs); close(d.done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			t.Errorf("daemon still running 10s after the test")
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get("http://" + d.addr + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return d
			}
		}
		select {
		case <-d.done:
			t.Fatalf("daemon exited with %d:\n%s", d.code, d.logs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready within 20s:\n%s", d.logs.String())
		}
	}
}

// stopWithin cancels the daemon (as SIGTERM does) and fails unless run returns 0 within d.
func (d *hostileDaemon) stopWithin(t *testing.T, limit time.Duration) {
	t.Helper()
	start := time.Now()
	d.stop()
	select {
	case <-d.done:
		if took := time.Since(start); took > limit {
			t.Errorf("stopped after %v, want < %v", took.Round(time.Millisecond), limit)
		}
		if d.code != 0 {
			t.Errorf("exit code %d", d.code)
		}
	case <-time.After(limit + 5*time.Second):
		t.Fatalf("still running %v after shutdown began", limit+5*time.Second)
	}
}

// metric scrapes the daemon and sums the samples of one metric name.
func (d *hostileDaemon) metric(t *testing.T, name string) float64 {
	t.Helper()
	code, body, _, err := timedScrape(d.addr, 10*time.Second, true)
	if err != nil || code != 200 {
		t.Fatalf("scrape for %s: %d %v", name, code, err)
	}
	return sumMetric(body, name)
}

// edgeServer answers as Cloudflare from AMS, like the edges in the other tests.
func cloudflareServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Server", "cloudflare")
		w.Header().Set("CF-RAY", "9da906681ad80c13-AMS")
		w.Header().Set("CF-Cache-Status", "HIT")
		io.WriteString(w, "ok\n")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// watchTargets are probed every second: a missed interval among them means something kept a
// probe result from being recorded for a whole interval.
func watchTargets(url string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "  - {name: watch%d, url: %s/watch%d, interval: 1s, timeout: 500ms}\n", i, url, i)
	}
	return b.String()
}

// bulkConfig is n targets probed every 30 minutes, so they add series (about 850 bytes each
// before their first probe) but almost no load, plus watch targets.
func bulkConfig(url string, n int) string {
	var b strings.Builder
	b.WriteString("vantage: {name: hostile, location: AMS}\ndefaults: {interval: 30m, timeout: 2s}\ntargets:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {name: bulk%04d, url: %s/bulk%d}\n", i, url, i)
	}
	b.WriteString(watchTargets(url, 5))
	return b.String()
}

// dialSmallBuffer connects with a 4 KiB receive buffer, so that a client that does not read
// stops the server's writes as soon as the server's send buffer is full.
func dialSmallBuffer(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		c.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return err
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// timedScrape scrapes /metrics with a client timeout and says how long it took.
func timedScrape(addr string, timeout time.Duration, gzip bool) (int, string, time.Duration, error) {
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableCompression: !gzip}}
	defer client.CloseIdleConnections()
	start := time.Now()
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, "", time.Since(start), err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), time.Since(start), err
}

// Scrapers that misbehave, against 1,000 targets: one that stops reading and one that reads
// slowly must not delay other scrapes, probes, a reload or shutdown; many scraping at once get
// 503 quickly beyond --web.max-requests and cost no probe interval.
func TestHostileScrapers(t *testing.T) {
	srv := cloudflareServer(t)
	d := startHostileDaemon(t, bulkConfig(srv.URL, 1000))
	_, body, _, err := timedScrape(d.addr, 10*time.Second, false)
	if err != nil {
		t.Fatal(err)
	}
	missed0 := sumMetric(body, "pop_exporter_missed_intervals_total")

	// The stalled client asks for the page uncompressed and never reads; the slow one reads
	// 4 KiB every 100 ms. Each sends 8 requests at once (HTTP/1.1 pipelining, which the server
	// answers in turn): 8 pages are more than loopback's socket buffers hold (about 2.8 MB
	// here), so the server's writes really stop, as with one page of 1,000 probed targets.
	pages := strings.Repeat("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\n\r\n", 8)
	t.Logf("page: %.2f MB, 8 pages asked for by each client", float64(len(body))/1e6)
	stalled := dialSmallBuffer(t, d.addr)
	io.WriteString(stalled, pages)
	slow := dialSmallBuffer(t, d.addr)
	io.WriteString(slow, pages)
	slowDone := make(chan struct{})
	defer close(slowDone)
	go func() {
		buf := make([]byte, 4096)
		for {
			select {
			case <-slowDone:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := slow.Read(buf); err != nil {
				return
			}
		}
	}()
	time.Sleep(500 * time.Millisecond) // their responses fill the socket buffers

	t.Run("other scrapes, a reload and readiness during a stall", func(t *testing.T) {
		for i := range 4 {
			code, _, took, err := timedScrape(d.addr, 5*time.Second, i%2 == 0)
			if err != nil || code != 200 {
				t.Errorf("scrape %d during the stall: %d after %v: %v", i, code, took.Round(time.Millisecond), err)
			}
			t.Logf("scrape %d: %v", i, took.Round(time.Millisecond))
		}
		// A reload that changes a target restarts its probe, which records into the store.
		writeFile(t, d.cfgFile, strings.Replace(bulkConfig(srv.URL, 1000), "/bulk7}", "/bulk7-changed}", 1))
		start := time.Now()
		client := &http.Client{Timeout: 10 * time.Second}
		if resp, err := client.Post("http://"+d.addr+"/-/reload", "", nil); err != nil || resp.StatusCode != 200 {
			t.Errorf("reload during the stall: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("reload during the stall took %v, want < 2s", took)
		}
		if resp, err := http.Get("http://" + d.addr + "/-/ready"); err != nil || resp.StatusCode != 200 {
			t.Errorf("/-/ready during the stall: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
	})

	t.Run("parallel scrapers", func(t *testing.T) {
		// 8 scrapers with gzip, 4 scrapes each, against the 4 slots of --web.max-requests
		// (two of them still held by the stalled and the slow client).
		var ok, refused atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 4 {
					code, _, took, err := timedScrape(d.addr, 5*time.Second, true)
					switch {
					case err != nil:
						t.Errorf("parallel scrape: %v after %v", err, took)
					case code == http.StatusServiceUnavailable:
						refused.Add(1)
						if took > 2*time.Second {
							t.Errorf("503 after %v, want it at once", took)
						}
					case code == 200:
						ok.Add(1)
					default:
						t.Errorf("parallel scrape: status %d", code)
					}
				}
			})
		}
		wg.Wait()
		t.Logf("parallel scrapes: %d served, %d refused with 503", ok.Load(), refused.Load())
		if ok.Load() == 0 {
			t.Error("no parallel scrape was served")
		}
	})

	if missed := d.metric(t, "pop_exporter_missed_intervals_total") - missed0; missed != 0 {
		t.Errorf("%v missed probe intervals while scrapers misbehaved, want 0", missed)
	}
	// Shutdown (SIGTERM) with the stalled client still connected.
	d.stopWithin(t, 2*time.Second)
}

// Idle and silent connections: closed after --web.idle-timeout and --web.read-header-timeout,
// and beyond --web.max-connections the idlest makes room, so they can lock out neither a
// scraper nor the probes.
func TestHostileConnections(t *testing.T) {
	srv := cloudflareServer(t)
	cfg := "vantage: {name: hostile, location: AMS}\ntargets:\n" + watchTargets(srv.URL, 2)
	d := startHostileDaemon(t, cfg, "--web.max-connections=8", "--web.idle-timeout=500ms", "--web.read-header-timeout=500ms")
	missed0 := d.metric(t, "pop_exporter_missed_intervals_total")

	// closedWithin reads from c until the server closes it.
	closedWithin := func(c net.Conn, limit time.Duration) (time.Duration, bool) {
		start := time.Now()
		c.SetReadDeadline(start.Add(limit))
		_, err := io.Copy(io.Discard, c)
		return time.Since(start), err == nil
	}

	t.Run("idle keep-alive connection", func(t *testing.T) {
		c, err := net.Dial("tcp", d.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if took, closed := closedWithin(c, 5*time.Second); !closed || took < 300*time.Millisecond {
			t.Errorf("idle connection closed=%v after %v, want closed after the 500ms idle timeout", closed, took)
		}
	})

	t.Run("headers dripping in", func(t *testing.T) {
		c, err := net.Dial("tcp", d.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		go func() {
			for _, b := range []byte("GET /metrics HTTP/1.1\r\nX-Slow: " + strings.Repeat("a", 100)) {
				if _, err := c.Write([]byte{b}); err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
		if took, closed := closedWithin(c, 5*time.Second); !closed {
			t.Errorf("connection dripping headers still open after %v, want closed after the 500ms read-header timeout", took)
		}
	})

	t.Run("more idle connections than the limit", func(t *testing.T) {
		// 8 keep-alive connections idle after one request each, and 20 that send nothing.
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for range 8 {
			c, err := net.Dial("tcp", d.addr)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			fmt.Fprintf(c, "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
			if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
				t.Fatal(err)
			}
		}
		for range 20 {
			c, err := net.Dial("tcp", d.addr)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		code, _, took, err := timedScrape(d.addr, 10*time.Second, true)
		if err != nil || code != 200 || took > 5*time.Second {
			t.Errorf("scrape with every slot idle: %d after %v: %v", code, took.Round(time.Millisecond), err)
		}
		t.Logf("scrape with %d idle clients and 8 slots: %v", len(conns), took.Round(time.Millisecond))
	})

	if v := d.metric(t, "pop_exporter_missed_intervals_total") - missed0; v != 0 {
		t.Errorf("%v missed probe intervals, want 0", v)
	}
	d.stopWithin(t, 2*time.Second)
}

// Idle clients under a real descriptor limit: the built binary with 256 descriptors and
// 246 idle clients. The probes keep working (no "connect" failures: too many open files),
// /metrics still answers, and nothing writes "Accept error" outside the structured log.
func TestHostileIdleClientsUnderDescriptorLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildExporter(t)
	srv := cloudflareServer(t)
	cfgFile := filepath.Join(t.TempDir(), "pop.yml")
	writeFile(t, cfgFile, "vantage: {name: hostile, location: AMS}\ntargets:\n"+watchTargets(srv.URL, 5))
	addr := freeAddr(t)
	cmd := exec.Command("/bin/sh", "-c", `ulimit -n 256 && exec "$0" "$@"`, bin, "--config.file="+cfgFile, "--web.listen-address="+addr)
	logs := &syncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	waitHTTP(t, "http://"+addr+"/-/ready")
	if limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", cmd.Process.Pid)); err == nil &&
		!regexp.MustCompile(`Max open files\s+256\s`).Match(limits) {
		t.Fatalf("the descriptor limit did not apply:\n%s", limits)
	}
	connect0 := failures(t, addr, "connect")

	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range 246 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if i%2 == 0 { // half idle after a request, half silent from the start
			fmt.Fprintf(c, "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
		}
	}
	time.Sleep(2 * time.Second) // ten probe intervals of the watch targets
	code, _, took, err := timedScrape(addr, 10*time.Second, true)
	if err != nil || code != 200 {
		t.Fatalf("scrape with 246 idle clients: %d after %v: %v", code, took, err)
	}
	t.Logf("scrape with 246 idle clients under 256 descriptors: %v", took.Round(time.Millisecond))
	if n := failures(t, addr, "connect") - connect0; n != 0 {
		t.Errorf("%v probes failed to connect with 246 idle clients, want 0:\n%s", n, logs.String())
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if line != "" && !strings.HasPrefix(line, "level=") {
			t.Errorf("unstructured log line: %s", line)
		}
	}
	if !strings.Contains(logs.String(), "the open file limit is below") {
		t.Errorf("no warning that 256 descriptors are short of what the defaults may use:\n%s", logs.String())
	}
}

func failures(t *testing.T, addr, reason string) float64 {
	t.Helper()
	_, body, _, err := timedScrape(addr, 10*time.Second, true)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "pop_probe_failures_total{") && strings.Contains(line, `reason="`+reason+`"`) {
			var v float64
			fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v)
			sum += v
		}
	}
	return sum
}

// Servers that misbehave: each probe ends as a counted failure or a bounded success, and no
// header text reaches the exposition (it parses, and every label value is from the bounded
// sets of the metrics contract).
func TestHostileServers(t *testing.T) {
	var redirects atomic.Int32
	mux := http.NewServeMux()
	// 1 GiB of zeros in 1 MB of gzip (1,024 gzip members of 1 MiB each, which a decompressor
	// reads as one stream): the probe must neither inflate it nor read it all.
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	bomb := bytes.Repeat(member.Bytes(), 1024)
	mux.HandleFunc("/gzip-bomb", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Server", "cloudflare")
		w.Header().Set("CF-RAY", "9da906681ad80c13-AMS")
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(bomb)
	})
	mux.HandleFunc("/huge-headers", func(w http.ResponseWriter, _ *http.Request) {
		for i := range 1024 { // 1 MB of headers
			w.Header().Set(fmt.Sprintf("X-Junk-%d", i), strings.Repeat("j", 1000))
		}
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		redirects.Add(1)
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/inject", func(w http.ResponseWriter, _ *http.Request) {
		// Header values that try to close a label and start a sample of their own.
		w.Header().Set("Server", "cloudflare")
		w.Header().Set("CF-RAY", "9da906681ad80c13-AMS\"} 1\npop_injected{x=\"")
		w.Header().Set("CF-Cache-Status", "HIT\"} 1\n")
		w.Header().Add("X-Served-By", "cache-ams\"}\n1-AMS")
		w.Header().Set("X-Cache", "TCP_HIT from a23-45-67-89.deploy.akamaitechnologies.com\"} 1")
		w.Header().Set("Age", "1e309")
	})
	edges := httptest.NewServer(mux)
	defer edges.Close()
	trickle := newTrickleListener(t)

	cfg := fmt.Sprintf(`vantage: {name: hostile, location: AMS}
defaults: {interval: 1s, timeout: 800ms}
targets:
  - {name: gzip-bomb, url: %[1]s/gzip-bomb}
  - {name: huge-headers, url: %[1]s/huge-headers}
  - {name: redirect-loop, url: %[1]s/loop}
  - {name: inject, url: %[1]s/inject}
  - {name: slow-drip, url: http://%[2]s/}
`, edges.URL, trickle)
	d := startHostileDaemon(t, cfg)
	want := map[string]string{ // target → its pop_probe_success, or the failure reason
		"gzip-bomb":     "success",
		"huge-headers":  "other",
		"redirect-loop": "other",
		"inject":        "success",
		"slow-drip":     "timeout",
	}
	// Each outcome is waited for, not read once: a probe's result reaches its families one
	// after another, so a scrape can see its success gauge a moment before its failure count.
	outcomeSeen := func(body, target, outcome string) bool {
		if outcome == "success" {
			return strings.Contains(body, fmt.Sprintf(`pop_probe_success{ip_version="4",protocol="http1.1",resolver="system",target=%q,vantage="hostile"} 1`, target))
		}
		re := regexp.MustCompile(fmt.Sprintf(`pop_probe_failures_total\{ip_version="4",protocol="http1.1",reason=%q,resolver="system",target=%q,vantage="hostile"\} [1-9]`, outcome, target))
		return re.MatchString(body)
	}
	var body string
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body, _, _ = timedScrape(d.addr, 5*time.Second, true)
		missing := ""
		for target, outcome := range want {
			if !outcomeSeen(body, target, outcome) {
				missing = target
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %s within 10s:\n%s", missing, want[missing], grepLines(body, missing))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A redirect loop costs at most 11 requests per probe (the first and 10 redirects).
	loops := 0.0
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "pop_probe_failures_total{") && strings.Contains(line, `target="redirect-loop"`) {
			var v float64
			fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v)
			loops += v
		}
	}
	if n := float64(redirects.Load()); n > 11*(loops+1) {
		t.Errorf("redirect loop: %v requests for %v probes, want at most 11 each", n, loops)
	}

	// The page parses, has no family that a header made, and every label value is bounded.
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("the page does not parse: %v", err)
	}
	boundedPoP := regexp.MustCompile(`^([A-Z0-9]{2,16}|unknown|other|)$`)
	for name, mf := range families {
		if !strings.HasPrefix(name, "pop_") && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") {
			t.Errorf("unexpected family %s", name)
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				v := lp.GetValue()
				switch lp.GetName() {
				case "pop", "shield_pop":
					if !boundedPoP.MatchString(v) {
						t.Errorf("%s %s=%q is not a bounded PoP code", name, lp.GetName(), v)
					}
				case "cache_status":
					if !model.LabelValue(v).IsValid() || strings.ContainsAny(v, "\"}\n ") {
						t.Errorf("%s cache_status=%q", name, v)
					}
				case "edge_ip":
					if v != "" && v != "other" && net.ParseIP(v) == nil {
						t.Errorf("%s edge_ip=%q is not an address", name, v)
					}
				}
			}
		}
	}
	if strings.Contains(body, "injected") {
		t.Error("header text reached the page")
	}
	d.stopWithin(t, 2*time.Second)
}

// newTrickleListener accepts connections and sends a response head one byte every 100 ms.
func newTrickleListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				for _, b := range []byte("HTTP/1.1 200 OK\r\nX-Slow: " + strings.Repeat("a", 200) + "\r\n\r\n") {
					select {
					case <-done:
						return
					case <-time.After(100 * time.Millisecond):
					}
					if _, err := c.Write([]byte{b}); err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

// A storm of SIGHUPs, with a good and then a bad file: reloads coalesce, probes keep
// recording, a bad file keeps the old configuration, and the daemon stops in time.
func TestHostileSIGHUPStorm(t *testing.T) {
	// While this test sends SIGHUP to its own process, a SIGHUP arriving after the daemon
	// stopped listening must not end the test binary: keep it caught for the rest of the run.
	guard := make(chan os.Signal, 1)
	signal.Notify(guard, syscall.SIGHUP)

	srv := cloudflareServer(t)
	cfg := "vantage: {name: hostile, location: AMS}\ntargets:\n" + watchTargets(srv.URL, 3)
	d := startHostileDaemon(t, cfg)
	missed0 := d.metric(t, "pop_exporter_missed_intervals_total")
	storm := func() {
		for range 200 {
			syscall.Kill(os.Getpid(), syscall.SIGHUP)
		}
	}
	storm()
	waitFor(t, func() bool { return strings.Contains(d.logs.String(), `trigger=SIGHUP`) })
	if v := d.metric(t, "pop_exporter_config_last_reload_successful"); v != 1 {
		t.Errorf("after a storm with a good file: reload successful = %v", v)
	}

	writeFile(t, d.cfgFile, "targets: [")
	storm()
	waitFor(t, func() bool { return d.metric(t, "pop_exporter_config_last_reload_successful") == 0 })
	time.Sleep(1500 * time.Millisecond) // the old configuration keeps probing
	code, body, _, err := timedScrape(d.addr, 5*time.Second, true)
	if err != nil || code != 200 || !strings.Contains(body, `target="watch2"`) {
		t.Errorf("after a storm with a bad file the old targets are gone: %d %v", code, err)
	}
	if v := sumMetric(body, "pop_exporter_missed_intervals_total") - missed0; v != 0 {
		t.Errorf("%v missed probe intervals during the storms, want 0", v)
	}
	reloads := strings.Count(d.logs.String(), "reload failed") + strings.Count(d.logs.String(), "configuration reloaded")
	t.Logf("400 SIGHUPs made %d reloads", reloads)
	d.stopWithin(t, 2*time.Second)
}

// The standard library's log lines (http.Server's "Accept error", TLS handshake errors, and
// anything a library writes with package log) come out as structured log lines.
func TestStdlibLogIsStructured(t *testing.T) {
	srv := cloudflareServer(t)
	d := startHostileDaemon(t, "targets:\n"+watchTargets(srv.URL, 1))
	stdlog.Printf("http: Accept error: accept tcp: too many open files; retrying in 5ms")
	d.stopWithin(t, 2*time.Second)
	var line string
	for _, l := range strings.Split(d.logs.String(), "\n") {
		if strings.Contains(l, "Accept error") {
			line = l
		}
	}
	if !regexp.MustCompile(`^level=warn ts=\S+ msg="http: Accept error: accept tcp: too many open files; retrying in 5ms"$`).MatchString(line) {
		t.Errorf("standard library log line came out as %q", line)
	}

	// http.Server's ErrorLog goes the same way.
	var out bytes.Buffer
	_, _, stdLogger := newLoggers(&out, "logfmt", "info")
	(&webOptions{}).server(http.NotFoundHandler(), nil, stdLogger).ErrorLog.Printf("http: TLS handshake error from 127.0.0.1:1: EOF")
	if !strings.HasPrefix(out.String(), "level=warn ") || !strings.Contains(out.String(), `msg="http: TLS handshake error from 127.0.0.1:1: EOF"`) {
		t.Errorf("server error log line came out as %q", out.String())
	}
}

// grepLines returns the lines of body that mention target, for failure messages.
func grepLines(body, target string) string {
	var out []string
	for _, line := range strings.Split(body, "\n") {
		if strings.Contains(line, `target="`+target+`"`) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// mkfifo makes a named pipe at path and, when the test ends, opens it for writing once so that
// a reader blocked in open (what this suite guards against) is let go.
func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
}

// runWithin runs the exporter in-process with args and returns its exit code and output,
// failing if it has not returned within limit.
func runWithin(t *testing.T, limit time.Duration, args ...string) (int, string) {
	t.Helper()
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, out, out) }()
	select {
	case code := <-done:
		return code, out.String()
	case <-time.After(limit):
		t.Fatalf("%v still running after %v:\n%s", args, limit, out.String())
		return 0, ""
	}
}

// postReload asks for a reload, failing if no answer comes within limit.
func postReload(t *testing.T, addr string, limit time.Duration) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: limit}
	defer client.CloseIdleConnections()
	resp, err := client.Post("http://"+addr+"/-/reload", "", nil)
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Named pipes and devices where files belong: opening a pipe for reading blocks until a writer
// comes, and /dev/zero never ends. A pipe matched by target_files, a configuration file
// replaced by one, and --geoip.database naming one or /dev/zero are each refused at once: the
// exporter starts, a reload answers, --config.check and a start with the bad database exit 1,
// and SIGTERM stops the daemon in time.
func TestHostileNamedPipes(t *testing.T) {
	srv := cloudflareServer(t)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "targets"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "targets", "a.yml"), fmt.Sprintf("- {name: a1, url: '%s/a1'}\n", srv.URL))
	pipe := filepath.Join(dir, "targets", "pipe.yml")
	mkfifo(t, pipe)
	cfg := "vantage: {name: hostile, location: AMS}\ntarget_files: [" + filepath.Join(dir, "targets", "*.yml") + "]\n" +
		"targets:\n" + watchTargets(srv.URL, 2)

	d := startHostileDaemon(t, cfg)
	waitMetricLine(t, d.addr, `pop_exporter_target_file_last_load_successful{file="`+pipe+`"} 0`)
	if want := pipe + `: not a regular file (a named pipe)`; !strings.Contains(d.logs.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, d.logs.String())
	}
	if got := d.metric(t, "pop_exporter_targets"); got != 3 {
		t.Errorf("pop_exporter_targets %v, want 3", got)
	}

	// The configuration file replaced by a pipe: the reload fails at once, the old one runs.
	if err := os.Remove(d.cfgFile); err != nil {
		t.Fatal(err)
	}
	mkfifo(t, d.cfgFile)
	code, msg := postReload(t, d.addr, 10*time.Second)
	if code != http.StatusInternalServerError || !strings.Contains(msg, d.cfgFile+": not a regular file (a named pipe)") {
		t.Errorf("reload answered %d %q, want 500 naming the pipe", code, msg)
	}
	if code, out := runWithin(t, 10*time.Second, "--config.check", "--config.file="+d.cfgFile); code != 1 || !strings.Contains(out, "not a regular file") {
		t.Errorf("--config.check on a pipe: exit %d:\n%s", code, out)
	}
	d.stopWithin(t, 3*time.Second)

	// --geoip.database naming a pipe or a device that never ends: the start fails at once.
	geoPipe := filepath.Join(dir, "geo.mmdb")
	mkfifo(t, geoPipe)
	good := filepath.Join(dir, "good.yml")
	writeFile(t, good, cfg)
	for _, db := range []string{geoPipe, "/dev/zero"} {
		code, out := runWithin(t, 10*time.Second, "--web.listen-address="+freeAddr(t), "--config.file="+good, "--geoip.database="+db)
		if code != 1 || !strings.Contains(out, "geoip database "+db+": not a regular file") {
			t.Errorf("--geoip.database=%s: exit %d:\n%s", db, code, out)
		}
	}
}

// A target directory that cannot be listed (a symbolic link loop stands for EACCES, EIO or a
// stale NFS handle, and fails for root too) keeps every target of its files running and sets
// their pop_exporter_target_file_last_load_successful to 0, so PopExporterTargetFileFailed
// can fire; listed again, the files are back to 1.
func TestHostileUnreadableTargetDirectory(t *testing.T) {
	srv := cloudflareServer(t)
	dir := t.TempDir()
	targets := filepath.Join(dir, "targets")
	if err := os.Mkdir(targets, 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := range 50 {
		fmt.Fprintf(&b, "- {name: t%d, url: '%s/t%d', interval: 30m}\n", i, srv.URL, i)
	}
	file := filepath.Join(targets, "a.yml")
	writeFile(t, file, b.String())
	d := startHostileDaemon(t, "vantage: {name: hostile, location: AMS}\ntarget_files: ["+filepath.Join(targets, "*.yml")+"]\ntargets:\n"+watchTargets(srv.URL, 2))
	waitMetricLine(t, d.addr, `pop_exporter_target_file_last_load_successful{file="`+file+`"} 1`)

	if err := os.Rename(targets, targets+".real"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("targets", targets); err != nil {
		t.Fatal(err)
	}
	if code, msg := postReload(t, d.addr, 10*time.Second); code != 200 { // a reload reads every target file
		t.Fatalf("reload: %d %s", code, msg)
	}
	waitMetricLine(t, d.addr, `pop_exporter_target_file_last_load_successful{file="`+file+`"} 0`)
	if got := d.metric(t, "pop_exporter_targets"); got != 52 {
		t.Errorf("pop_exporter_targets %v with the directory unreadable, want all 52 still running", got)
	}

	if err := os.Remove(targets); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(targets+".real", targets); err != nil {
		t.Fatal(err)
	}
	postReload(t, d.addr, 10*time.Second)
	waitMetricLine(t, d.addr, `pop_exporter_target_file_last_load_successful{file="`+file+`"} 1`)
	d.stopWithin(t, 3*time.Second)
}

// Flag values that would do harm instead of what was meant are refused before anything
// starts, exit 2, with a message that names the flag, the value and the minimum: a 1ns rescan
// interval keeps a core busy reading files, a 1ns write timeout makes every response empty.
func TestHostileFlagMinimums(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "pop.yml")
	writeFile(t, cfgFile, "targets: [{name: www, url: 'http://127.0.0.1:1/'}]\n")
	for flag, want := range map[string]string{
		"--config.target-files.rescan-interval=1ns": "--config.target-files.rescan-interval=1ns: must be 0 (off) or at least 1s",
		"--config.target-files.rescan-interval=1ms": "--config.target-files.rescan-interval=1ms: must be 0 (off) or at least 1s",
		"--web.write-timeout=1ns":                   "--web.write-timeout=1ns: must be 0 (off) or at least 1s",
		"--web.read-header-timeout=0s":              "--web.read-header-timeout=0s: must be at least 100ms",
		"--web.read-header-timeout=10ms":            "--web.read-header-timeout=10ms: must be at least 100ms",
		"--web.idle-timeout=1ns":                    "--web.idle-timeout=1ns: must be at least 100ms",
		"--web.max-connections=-1":                  "--web.max-connections=-1: must be at least 0",
		"--web.max-requests=-5":                     "--web.max-requests=-5: must be at least 0",
		"--probe.max-concurrency=0":                 "--probe.max-concurrency=0: must be at least 1",
		"--probe.max-pops=-1":                       "--probe.max-pops=-1: must be at least 1",
		"--shard=00/2":                              "INDEX and TOTAL are written without leading zeros (0/2)",
	} {
		code, out := runWithin(t, 10*time.Second, flag, "--config.file="+cfgFile, "--web.listen-address=127.0.0.1:0")
		if code != 2 || !strings.Contains(out, want) {
			t.Errorf("%s: exit %d, output %q; want exit 2 and %q", flag, code, out, want)
		}
	}
	// The minimums themselves and 0 where it means off are accepted (--config.check exits 0).
	code, out := runWithin(t, 10*time.Second, "--config.check", "--config.file="+cfgFile, "--config.target-files.rescan-interval=0",
		"--web.write-timeout=0", "--web.read-header-timeout=100ms", "--web.idle-timeout=100ms", "--web.max-connections=0", "--web.max-requests=0")
	if code != 0 {
		t.Errorf("minimum values refused: exit %d:\n%s", code, out)
	}
}

// dripHeaders keeps n connections to addr sending a request's header lines one every 200–500
// ms and never finishing them, each dialled again as soon as the server closes it, until the
// test ends. It returns how many connections were dialled so far.
func dripHeaders(t *testing.T, addr string, n int) *atomic.Int64 {
	t.Helper()
	var dials atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					select {
					case <-stop:
						return
					case <-time.After(100 * time.Millisecond):
					}
					continue
				}
				dials.Add(1)
				_, err = io.WriteString(c, "GET /-/healthy HTTP/1.1\r\nHost: x\r\n")
				for line := 0; err == nil; line++ {
					select {
					case <-stop:
						c.Close()
						return
					case <-time.After(time.Duration(200+(i*37+line*53)%300) * time.Millisecond):
					}
					_, err = fmt.Fprintf(c, "X-Drip-%d: %s\r\n", line, strings.Repeat("a", 20))
				}
				c.Close()
			}
		})
	}
	t.Cleanup(func() {
		close(stop)
		wg.Wait()
	})
	return &dials
}

// getWithin asks for url with a fresh connection and a client timeout, as a kubelet probe or
// a load balancer check does, and says how long it took.
func getWithin(url string, timeout time.Duration) (int, time.Duration, error) {
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	resp, err := client.Get(url)
	if err != nil {
		return 0, time.Since(start), err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start), nil
}

// Clients that drip their request headers and never finish them, from the same address as
// the real clients (the worst case: nothing but behaviour tells them apart): 200 on the health
// listener must not keep a kubelet probe (fresh connection, 5 s timeout) from an answer, nor
// 400 on the main listener a scrape. Connections that have not finished their headers make
// room for new ones, so the drippers only churn among themselves.
func TestHostileDrippingHeaders(t *testing.T) {
	srv := cloudflareServer(t)
	health := freeAddr(t)
	d := startHostileDaemon(t, "vantage: {name: hostile, location: AMS}\ntargets:\n"+watchTargets(srv.URL, 2),
		"--web.health-listen-address="+health)
	missed0 := d.metric(t, "pop_exporter_missed_intervals_total")

	healthDials := dripHeaders(t, health, 200)
	mainDials := dripHeaders(t, d.addr, 400)
	waitFor(t, func() bool { return healthDials.Load() >= 200 && mainDials.Load() >= 400 })

	var worst time.Duration
	for i := range 7 {
		code, took, err := getWithin("http://"+health+"/-/healthy", 5*time.Second)
		if err != nil || code != 200 {
			t.Errorf("health probe %d: %d after %v: %v", i, code, took.Round(time.Millisecond), err)
		}
		worst = max(worst, took)
		code, took, err = getWithin("http://"+d.addr+"/metrics", 5*time.Second)
		if err != nil || code != 200 {
			t.Errorf("scrape %d: %d after %v: %v", i, code, took.Round(time.Millisecond), err)
		}
		worst = max(worst, took)
		time.Sleep(300 * time.Millisecond) // let the drippers churn between probes
	}
	t.Logf("slowest of 7 health probes and 7 scrapes: %v; %d connections dialled by dripping clients",
		worst.Round(time.Millisecond), healthDials.Load()+mainDials.Load())
	if v := d.metric(t, "pop_exporter_missed_intervals_total") - missed0; v != 0 {
		t.Errorf("%v missed probe intervals, want 0", v)
	}
	d.stopWithin(t, 3*time.Second)
}

// A target file rewritten in place by a writer that pauses: caught cut at an entry boundary
// (fewer targets) or inside a value (a truncated URL), it parses, but it is not used until the
// file has been left alone for 2 s; the targets in use keep running, with their series. Left
// alone for good, the shorter file is used.
func TestHostileHalfWrittenTargetFile(t *testing.T) {
	srv := cloudflareServer(t)
	dir := t.TempDir()
	var b strings.Builder
	for i := range 500 {
		fmt.Fprintf(&b, "- name: t%03d\n  interval: 30m\n  url: %s/t%03d\n", i, srv.URL, i)
	}
	full := b.String()
	file := filepath.Join(dir, "a.yml")
	writeFile(t, file, full)
	d := startHostileDaemon(t, "vantage: {name: hostile, location: AMS}\ntarget_files: ["+file+"]\ntargets:\n"+watchTargets(srv.URL, 2))
	if got := d.metric(t, "pop_exporter_targets"); got != 502 {
		t.Fatalf("pop_exporter_targets %v, want 502", got)
	}

	cutAtEntry := full[:strings.Index(full, "- name: t100\n")]
	cutInValue := full[:strings.Index(full, "/t499\n")+3] // parses: t499's URL ends in /t4
	for _, half := range []string{cutAtEntry, cutInValue} {
		start := time.Now()
		if err := os.WriteFile(file, []byte(half), 0o600); err != nil {
			t.Fatal(err)
		}
		code, msg := postReload(t, d.addr, 10*time.Second) // a reload reads the file now
		targets, body := d.metric(t, "pop_exporter_targets"), scrape(t, d.addr)
		if took := time.Since(start); took > 1500*time.Millisecond {
			t.Skipf("the machine took %v to reload and scrape, too near the 2 s the file must be left alone to tell", took)
		}
		if code != 200 || targets != 502 || !strings.Contains(body, `pop_exporter_target_file_last_load_successful{file="`+file+`"} 1`) {
			t.Errorf("half-written file: reload %d %q, %v targets; want 200 and all 502 still running\n%s", code, msg, targets, regexp.MustCompile(`(?m)^pop_exporter_target_file.*$`).FindAllString(body, -1))
		}
		if !strings.Contains(body, `target="t499"`) {
			t.Error("t499 lost its series while its file was half-written")
		}
		if err := os.WriteFile(file, []byte(full), 0o600); err != nil { // the writer finishes
			t.Fatal(err)
		}
	}

	// Left cut for good: used once settled, without a reload.
	if err := os.WriteFile(file, []byte(cutAtEntry), 0o600); err != nil {
		t.Fatal(err)
	}
	waitMetricLine(t, d.addr, "pop_exporter_targets 102")
	d.stopWithin(t, 3*time.Second)
}

// A shutdown never waits for a reload: SIGTERM while a SIGHUP reload is still reading a large
// configuration file (50,000 targets, seconds of parsing) stops the daemon within 3 s. (A
// reload stuck in a hung network file system is the case this stands for.)
func TestHostileShutdownDuringReload(t *testing.T) {
	guard := make(chan os.Signal, 1) // as in TestHostileSIGHUPStorm: a late SIGHUP must not end the test binary
	signal.Notify(guard, syscall.SIGHUP)
	srv := cloudflareServer(t)
	d := startHostileDaemon(t, "vantage: {name: hostile, location: AMS}\ntargets:\n"+watchTargets(srv.URL, 2))
	writeFile(t, d.cfgFile, bulkConfig(srv.URL, 50_000))
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	time.Sleep(300 * time.Millisecond) // the reload has begun reading the file
	d.stopWithin(t, 3*time.Second)
}
