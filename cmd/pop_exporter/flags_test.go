package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/popexporter/pop_exporter/collector/geoip/geoiptest"
)

// helpFlags returns the flags --help lists, kingpin's own left out.
func helpFlags(t *testing.T) []string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &out, &errOut); code != 0 {
		t.Fatalf("--help: exit %d: %s", code, errOut.String())
	}
	var flags []string
	for _, m := range regexp.MustCompile(`(?m)^\s+(?:-\w, )?--(?:\[no-\])?([a-z][a-z0-9.-]+)`).FindAllStringSubmatch(out.String(), -1) {
		switch m[1] {
		case "help", "version", "help-long", "help-man": // kingpin's own
		default:
			flags = append(flags, m[1])
		}
	}
	return flags
}

// TestEveryHelpFlagWorks: every flag --help lists either starts the exporter (it serves
// /-/ready) or is refused with the exit code and message the README gives; none is a promise
// that fails at run time (exporter-toolkit's --web.systemd-socket and vsock:// addresses,
// which this exporter cannot honour, are not offered).
func TestEveryHelpFlagWorks(t *testing.T) {
	srv := edgeServer(t)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "pop.yml")
	writeFile(t, cfgFile, configYAML(map[string]string{"www": srv.URL}))
	webFile := filepath.Join(dir, "web.yml")
	writeFile(t, webFile, "http_server_config:\n  http2: true\n")
	geoDB := geoiptest.WriteCities(t, nil)

	type outcome struct {
		args []string
		exit int    // 0: starts and serves /-/ready
		msg  string // in stderr when refused
	}
	start := func(args ...string) outcome { return outcome{args: args} }
	refuse := func(exit int, msg string, args ...string) outcome { return outcome{args, exit, msg} }
	cases := map[string][]outcome{
		"config.file":  {start("--config.file=" + cfgFile), refuse(1, "no such file or directory", "--config.file="+filepath.Join(dir, "missing.yml"))},
		"config.check": {refuse(0, "valid configuration with 1 targets", "--config.check", "--config.file="+cfgFile)},
		"config.target-files.rescan-interval": {start("--config.target-files.rescan-interval=30s"),
			refuse(2, "invalid", "--config.target-files.rescan-interval=often")},
		"probe.max-concurrency":  {start("--probe.max-concurrency=8")},
		"shard":                  {start("--shard=1/2"), refuse(2, "3/3", "--shard=3/3")},
		"web.enable-pprof":       {start("--web.enable-pprof")},
		"web.enable-probe-debug": {start("--web.enable-probe-debug")},
		"metrics.detail":         {start("--metrics.detail=full"), refuse(2, "enum value must be one of basic,full", "--metrics.detail=most")},
		"probe.max-pops":         {start("--probe.max-pops=3")},
		"geoip.database":         {start("--geoip.database=" + geoDB), refuse(1, "cannot open the geoip database", "--geoip.database="+filepath.Join(dir, "missing.mmdb"))},
		"log.level":              {start("--log.level=debug"), refuse(2, "enum value must be one of", "--log.level=trace")},
		"log.format":             {start("--log.format=json"), refuse(2, "enum value must be one of", "--log.format=text")},
		"web.listen-address": {start("--web.listen-address=127.0.0.1:0"),
			refuse(2, `--web.listen-address="vsock://:9853" is not a TCP host:port`, "--web.listen-address=vsock://:9853")},
		"web.config.file": {start("--web.config.file=" + webFile),
			refuse(1, "web server failed", "--web.config.file="+filepath.Join(dir, "missing-web.yml"))},
		"web.max-requests":          {start("--web.max-requests=2")},
		"web.max-connections":       {start("--web.max-connections=16")},
		"web.read-header-timeout":   {start("--web.read-header-timeout=5s")},
		"web.write-timeout":         {start("--web.write-timeout=10s")},
		"web.idle-timeout":          {start("--web.idle-timeout=1m")},
		"web.health-listen-address": {start("--web.health-listen-address=127.0.0.1:0"), refuse(2, "is not a TCP host:port", "--web.health-listen-address=9854")},
	}
	flags := helpFlags(t)
	for _, f := range flags {
		if _, ok := cases[f]; !ok {
			t.Errorf("--help lists --%s, which this test does not start or refuse", f)
		}
	}
	for f, outcomes := range cases {
		if !slices.Contains(flags, f) {
			t.Errorf("--%s is tested here but --help does not list it", f)
			continue
		}
		for _, o := range outcomes {
			t.Run(strings.Join(o.args, " "), func(t *testing.T) {
				args := o.args
				if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--config.file=") }) {
					args = append(args, "--config.file="+cfgFile)
				}
				if o.exit != 0 || o.msg != "" {
					var out, errOut syncBuffer
					ctx, cancel := context.WithCancel(context.Background())
					done := make(chan int, 1)
					go func() {
						done <- run(ctx, append([]string{"--web.listen-address=127.0.0.1:0"}, args...), &out, &errOut)
					}()
					// A flag wrongly accepted starts the daemon: stop it after a moment.
					code := waitExit(t, done, cancel)
					if code != o.exit || !strings.Contains(out.String()+errOut.String(), o.msg) {
						t.Errorf("exit %d, output %q; want exit %d and %q", code, out.String()+errOut.String(), o.exit, o.msg)
					}
					return
				}
				addr, logs, stop := startDaemon(t, args...)
				defer stop()
				if strings.Contains(logs.String(), "level=error") {
					t.Errorf("started with errors:\n%s", logs)
				}
				resp, err := http.Get("http://" + addr + "/")
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("landing page: %d", resp.StatusCode)
				}
				checkLandingLinks(t, addr, string(body))
			})
		}
	}
}

// waitExit waits for run to return; a daemon that started instead is stopped and reported
// as exit -1.
func waitExit(t *testing.T, done chan int, cancel func()) int {
	t.Helper()
	defer cancel()
	select {
	case code := <-done:
		return code
	case <-time.After(3 * time.Second):
		cancel()
		<-done
		return -1
	}
}

// checkLandingLinks follows every link of the landing page: none may lead to a 404.
func checkLandingLinks(t *testing.T, addr, page string) {
	t.Helper()
	for _, m := range regexp.MustCompile(`href="([^"#]+)"`).FindAllStringSubmatch(page, -1) {
		link := m[1]
		if strings.HasPrefix(link, "http://") || strings.HasPrefix(link, "https://") {
			continue // documentation elsewhere
		}
		if strings.Contains(link, "profile?seconds=") || strings.Contains(link, "/trace") {
			link = "/debug/pprof/" // a CPU profile takes its seconds: the index proves it is served
		}
		if !strings.HasPrefix(link, "/") {
			link = "/" + link
		}
		resp, err := http.Get("http://" + addr + link)
		if err != nil {
			t.Errorf("landing page link %s: %v", m[1], err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("landing page links %s, which answers %d", m[1], resp.StatusCode)
		}
	}
}

// TestLandingPageLinksPprofOnlyWhenServed: the landing page offers the profiler's reports
// exactly when --web.enable-pprof serves them.
func TestLandingPageLinksPprofOnlyWhenServed(t *testing.T) {
	srv := edgeServer(t)
	cfgFile := filepath.Join(t.TempDir(), "pop.yml")
	writeFile(t, cfgFile, configYAML(map[string]string{"www": srv.URL}))
	for _, pprof := range []bool{false, true} {
		args := []string{"--config.file=" + cfgFile}
		if pprof {
			args = append(args, "--web.enable-pprof")
		}
		addr, _, stop := startDaemon(t, args...)
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := strings.Contains(string(body), "debug/pprof/heap"); got != pprof {
			t.Errorf("--web.enable-pprof=%v: landing page links the profiler: %v", pprof, got)
		}
		checkLandingLinks(t, addr, string(body))
		stop()
	}
}
