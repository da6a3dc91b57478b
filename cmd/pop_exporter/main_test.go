package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/popexporter/pop_exporter/collector/shard"
)

// syncBuffer is a log sink safe to read while the daemon writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
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

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func edgeServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		// Headers as in a real Cloudflare response (CF-RAY 9da906681ad80c13-AMS).
		w.Header().Set("Server", "cloudflare")
		w.Header().Set("CF-RAY", "9da906681ad80c13-AMS")
		w.Header().Set("CF-Cache-Status", "HIT")
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv
}

func configYAML(urls map[string]string) string {
	var b strings.Builder
	b.WriteString("vantage:\n  name: test\n  location: AMS\ndefaults:\n  interval: 1s\n  timeout: 800ms\ntargets:\n")
	for name, u := range urls {
		fmt.Fprintf(&b, "  - name: %s\n    url: %s\n", name, u)
	}
	return b.String()
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	writeFile(t, good, configYAML(map[string]string{"www": "http://127.0.0.1:1/"}))
	bad := filepath.Join(dir, "bad.yml")
	writeFile(t, bad, "targets:\n  - name: www\n    url: http://127.0.0.1:1/\n    intervall: 5s\n")

	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"--config.check", "--config.file=" + good}, &out, &errOut); code != 0 {
		t.Errorf("valid config: exit %d, stderr %q", code, errOut.String())
	}
	out.Reset()
	errOut.Reset()
	if code := run(context.Background(), []string{"--config.check", "--config.file=" + bad}, &out, &errOut); code != 1 {
		t.Errorf("invalid config: exit %d, want 1", code)
	}
	if msg := errOut.String(); !strings.Contains(msg, bad+":4:") || !strings.Contains(msg, "intervall") {
		t.Errorf("invalid config message %q should name the file, line 4 and the key", msg)
	}
	errOut.Reset()
	if code := run(context.Background(), []string{"--config.check"}, &out, &errOut); code != 0 {
		t.Errorf("embedded default config: exit %d, stderr %q", code, errOut.String())
	}
}

// startDaemon runs the exporter in-process until stop is called.
func startDaemon(t *testing.T, args ...string) (addr string, logs *syncBuffer, stop func()) {
	t.Helper()
	addr = freeAddr(t)
	logs = &syncBuffer{}
	stop = startDaemonAt(t, addr, logs, args...)
	waitHTTP(t, "http://"+addr+"/-/ready")
	return addr, logs, stop
}

// startDaemonAt runs the exporter in-process on addr, logging to logs, until stop is called.
func startDaemonAt(t *testing.T, addr string, logs *syncBuffer, args ...string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"--web.listen-address=" + addr}, args...), io.Discard, logs) }()
	stop = func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("exit code %d; logs:\n%s", code, logs.String())
			}
		case <-time.After(5 * time.Second):
			t.Fatal("daemon did not stop within 5s")
		}
	}
	return stop
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitHTTP(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s not ready within 10s", url)
}

func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func waitMetric(t *testing.T, addr string, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		body := scrape(t, addr)
		if re.MatchString(body) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line matching %s in /metrics within 10s:\n%s", re, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func reload(t *testing.T, addr string) (int, string) {
	t.Helper()
	resp, err := http.Post("http://"+addr+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// verifyNoLeaks checks, after every other cleanup of the test has run (servers closed), that
// the daemon left no goroutine behind.
func verifyNoLeaks(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t, ignore)
	})
}

func TestReloadGoodAndBad(t *testing.T) {
	verifyNoLeaks(t)
	srv := edgeServer(t)
	cfgFile := filepath.Join(t.TempDir(), "pop.yml")
	writeFile(t, cfgFile, configYAML(map[string]string{"one": srv.URL + "/one", "two": srv.URL + "/two"}))
	addr, logs, stop := startDaemon(t, "--config.file="+cfgFile)

	waitMetric(t, addr, regexp.MustCompile(`pop_probe_edge_info\{cdn="cloudflare".*pop="AMS",pop_source="header",protocol="http1.1",resolver="system",shield_pop="",target="two"`))
	waitMetric(t, addr, regexp.MustCompile(`pop_probe_success\{ip_version="4",protocol="http1.1",resolver="system",target="one",vantage="test"\} 1`))

	// A good reload removes target two and all its series.
	writeFile(t, cfgFile, configYAML(map[string]string{"one": srv.URL + "/one"}))
	if code, body := reload(t, addr); code != 200 {
		t.Fatalf("good reload: %d %s", code, body)
	}
	body := scrape(t, addr)
	if strings.Contains(body, `target="two"`) {
		t.Errorf("target two still has series after it was removed")
	}

	// A bad file keeps the old config running, answers with the error and sets the gauge to 0.
	writeFile(t, cfgFile, "targets: [")
	code, msg := reload(t, addr)
	if code != http.StatusInternalServerError || !strings.Contains(msg, cfgFile) {
		t.Errorf("bad reload answered %d %q, want 500 naming the file", code, msg)
	}
	body = waitMetric(t, addr, regexp.MustCompile(`(?m)^pop_exporter_config_last_reload_successful 0$`))
	if !strings.Contains(body, `pop_probe_success{ip_version="4",protocol="http1.1",resolver="system",target="one",vantage="test"} 1`) {
		t.Errorf("target one stopped after a bad reload:\n%s", body)
	}
	if !strings.Contains(logs.String(), "reload failed") {
		t.Errorf("bad reload not logged:\n%s", logs.String())
	}
	if resp, err := http.Get("http://" + addr + "/-/reload"); err != nil {
		t.Error(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET /-/reload = %d, want 405", resp.StatusCode)
		}
	}
	stop()
}

// promtool check metrics lints a real scrape: names, units, help texts, histogram shape.
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian package prometheus); CI installs it")
	}
	srv := edgeServer(t)
	cfgFile := filepath.Join(t.TempDir(), "pop.yml")
	writeFile(t, cfgFile, configYAML(map[string]string{"www": srv.URL}))
	addr, _, stop := startDaemon(t, "--config.file="+cfgFile)
	defer stop()
	body := waitMetric(t, addr, regexp.MustCompile(`pop_probe_ttfb_seconds_count`))

	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// buildDir holds the binary that buildExporter builds once for the tests that need a process
// of their own (a signal, a resource limit); TestMain removes it.
var (
	buildDir  string
	buildOnce sync.Once
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// buildExporter builds pop_exporter once per test run and returns the binary's path.
func buildExporter(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "pop_exporter-test"); buildErr != nil {
			return
		}
		if out, err := exec.Command("go", "build", "-o", buildDir, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "pop_exporter")
}

// SIGTERM stops the daemon, probes in flight included, within 2 s.
func TestSIGTERMStopsWithinTwoSeconds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildExporter(t)
	// A target that never answers keeps a probe in flight for its whole 3.9 s timeout.
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer hang.Close()
	cfgFile := filepath.Join(t.TempDir(), "pop.yml")
	writeFile(t, cfgFile, fmt.Sprintf("defaults:\n  interval: 4s\n  timeout: 3900ms\ntargets:\n  - name: hang\n    url: %s\n", hang.URL))
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--config.file="+cfgFile, "--web.listen-address="+addr)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, bufio.NewReader(stderr))
	waitHTTP(t, "http://"+addr+"/-/ready")
	waitMetricLine(t, addr, "pop_exporter_probes_in_flight 1")

	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("stopped after %v, want < 2s", d)
		}
	case <-time.After(2 * time.Second):
		cmd.Process.Kill()
		t.Fatal("still running 2s after SIGTERM")
	}
}

func waitMetricLine(t *testing.T, addr, line string) {
	t.Helper()
	waitMetric(t, addr, regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(line)+`$`))
}

// --config.check reads the target files too, and names each bad one.
func TestConfigCheckTargetFiles(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "pop.yml")
	writeFile(t, cfgFile, "target_files: [targets/*.yml]\ntargets:\n  - {name: www, url: 'http://127.0.0.1:1/'}\n")
	if err := os.Mkdir(filepath.Join(dir, "targets"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "targets", "a.yml"), "- {name: a, url: 'http://127.0.0.1:1/a'}\n- {name: b, url: 'http://127.0.0.1:1/b'}\n")

	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"--config.check", "--config.file=" + cfgFile}, &out, &errOut); code != 0 {
		t.Errorf("valid target files: exit %d, stderr %q", code, errOut.String())
	}
	if want := cfgFile + ": valid configuration with 3 targets (2 of them in target files)\n"; out.String() != want {
		t.Errorf("stdout %q, want %q", out.String(), want)
	}

	bad := filepath.Join(dir, "targets", "b.yml")
	writeFile(t, bad, "- name: c\n  url: http://127.0.0.1:1/c\n  timeout: 1m\n")
	out.Reset()
	if code := run(context.Background(), []string{"--config.check", "--config.file=" + cfgFile}, &out, &errOut); code != 1 {
		t.Errorf("bad target file: exit %d, want 1", code)
	}
	if want := bad + ":3: [0].timeout: timeout 1m must be shorter than interval 30s (built-in default)\n"; errOut.String() != want {
		t.Errorf("stderr %q, want %q", errOut.String(), want)
	}
}

// At the start a bad target file is logged and reported and the rest runs; a fixed file is
// read without a reload; a reload that would duplicate a name fails, naming both places.
func TestTargetFiles(t *testing.T) {
	verifyNoLeaks(t)
	srv := edgeServer(t)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "pop.yml")
	main := "target_files: [targets/*.yml]\n" + configYAML(map[string]string{"www": srv.URL + "/www"})
	writeFile(t, cfgFile, main)
	if err := os.Mkdir(filepath.Join(dir, "targets"), 0o755); err != nil {
		t.Fatal(err)
	}
	good, bad := filepath.Join(dir, "targets", "good.yml"), filepath.Join(dir, "targets", "bad.yml")
	writeFile(t, good, fmt.Sprintf("- {name: one, url: '%s/one'}\n", srv.URL))
	writeFile(t, bad, fmt.Sprintf("- {name: two, url: '%s/two', intervall: 1s}\n", srv.URL))
	addr, logs, stop := startDaemon(t, "--config.file="+cfgFile)

	body := waitMetric(t, addr, regexp.MustCompile(`pop_probe_success\{ip_version="4",protocol="http1.1",resolver="system",target="one",vantage="test"\} 1`))
	for _, line := range []string{
		`pop_exporter_target_file_last_load_successful{file="` + good + `"} 1`,
		`pop_exporter_target_file_last_load_successful{file="` + bad + `"} 0`,
		`pop_exporter_config_last_reload_successful 1`,
	} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("/metrics lacks %s", line)
		}
	}
	if want := bad + `:1: [0]: unknown key \"intervall\"`; !strings.Contains(logs.String(), want) {
		t.Errorf("log lacks %s:\n%s", want, logs.String())
	}

	// Fixed in place: read without a reload.
	writeFile(t, bad, fmt.Sprintf("- {name: two, url: '%s/two'}\n", srv.URL))
	waitMetricLine(t, addr, `pop_exporter_target_file_last_load_successful{file="`+bad+`"} 1`)
	waitMetric(t, addr, regexp.MustCompile(`pop_probe_success\{ip_version="4",protocol="http1.1",resolver="system",target="two",vantage="test"\} 1`))

	// The configuration file takes the name "one": the reload fails and changes nothing.
	writeFile(t, cfgFile, main+fmt.Sprintf("  - {name: one, url: '%s/one'}\n", srv.URL))
	code, msg := reload(t, addr)
	want := fmt.Sprintf(`duplicate target name "one" (first at %s:1)`, good)
	if code != http.StatusInternalServerError || !strings.Contains(msg, cfgFile+":") || !strings.Contains(msg, want) {
		t.Errorf("reload answered %d %q, want 500 naming %s and %s", code, msg, cfgFile, want)
	}
	waitMetricLine(t, addr, "pop_exporter_config_last_reload_successful 0")
	stop()
}

// A --shard that names no replica is refused before anything starts, with a message that
// quotes the value and says what is wrong.
func TestShardFlagRefusesInvalid(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "pop.yml")
	writeFile(t, cfgFile, configYAML(map[string]string{"www": "http://127.0.0.1:1/"}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a value wrongly accepted makes run start and return at once, not hang
	for value, want := range map[string]string{
		"0/0":  "TOTAL must be from 1 to 1000",
		"1/0":  "TOTAL must be from 1 to 1000",
		"3/3":  "INDEX must be from 0 to 2",
		"-1/2": "INDEX must be from 0 to 1",
		"2/1":  "INDEX must be 0",
		"a/b":  "want INDEX/TOTAL",
		"1":    "want INDEX/TOTAL",
		"/3":   "INDEX is empty",
	} {
		var out, errOut bytes.Buffer
		code := run(ctx, []string{"--shard=" + value, "--config.file=" + cfgFile, "--web.listen-address=127.0.0.1:0"}, &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), fmt.Sprintf("shard %q: %s", value, want)) {
			t.Errorf("--shard=%s: exit %d, stderr %q; want exit 2 and %q", value, code, errOut.String(), want)
		}
	}
}

// Two replicas of one vantage split the targets between them: each exposes its shard and only
// its share of the targets, labelled as an unsharded exporter labels them.
func TestShardedReplicas(t *testing.T) {
	verifyNoLeaks(t)
	srv := edgeServer(t)
	urls := map[string]string{}
	for i := range 8 {
		name := fmt.Sprintf("www-%d", i)
		urls[name] = srv.URL + "/" + name
	}
	cfgFile := filepath.Join(t.TempDir(), "pop.yml")
	writeFile(t, cfgFile, configYAML(urls))
	probedBy := map[string][]int{}
	for index := range 2 {
		addr, _, stop := startDaemon(t, "--config.file="+cfgFile, fmt.Sprintf("--shard=%d/2", index))
		want := 0
		for name := range urls {
			if shard.Owner(name, 2) == index {
				want++
				waitMetricLine(t, addr, fmt.Sprintf(`pop_probe_success{ip_version="4",protocol="http1.1",resolver="system",target=%q,vantage="test"} 1`, name))
			}
		}
		body := waitMetric(t, addr, regexp.MustCompile(fmt.Sprintf(`(?m)^pop_exporter_shard_info\{index="%d",total="2"\} 1$`, index)))
		if !strings.Contains(body, fmt.Sprintf("\npop_exporter_targets %d\n", want)) {
			t.Errorf("replica %d/2: want pop_exporter_targets %d", index, want)
		}
		for name := range urls {
			if strings.Contains(body, fmt.Sprintf("target=%q", name)) {
				probedBy[name] = append(probedBy[name], index)
			}
		}
		stop()
	}
	for name := range urls {
		if len(probedBy[name]) != 1 {
			t.Errorf("%s has series on replicas %v, want exactly one", name, probedBy[name])
		}
	}
}

// --config.check reports every mistake of a file, one "file:line: field: message" line each,
// and exits 1.
func TestConfigCheckReportsEveryError(t *testing.T) {
	file := "../../config/testdata/invalid-several.yml"
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"--config.check", "--config.file=" + file}, &out, &errOut); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	want := file + `:4: vantage.location: unknown IATA code "XQZ"
` + file + `:8: targets[0]: unknown key "intervall" (did you mean "interval"?)
` + file + `:11: targets[1].timeout: timeout 40s must be shorter than interval 30s (built-in default)
`
	if errOut.String() != want {
		t.Errorf("--config.check printed\n%s\nwant\n%s", errOut.String(), want)
	}
}
