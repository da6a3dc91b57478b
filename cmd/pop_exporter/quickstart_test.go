package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// quickStart returns the README's Quick start section.
func quickStart(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(readme), "\n## Quick start\n")
	if !ok {
		t.Fatal("README.md has no Quick start")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	return sec
}

// TestQuickStartOwnURL follows the Quick start's "probe your own URL": its pop.yml passes
// --config.check with the command it shows, and the exporter runs it (the URL pointed at a
// loopback edge) and serves the edge of target www on /metrics.
func TestQuickStartOwnURL(t *testing.T) {
	sec := quickStart(t)
	_, yml, ok := strings.Cut(sec, "```yaml\n")
	yml, _, _ = strings.Cut(yml, "```")
	if !ok {
		t.Fatal("the Quick start has no pop.yml")
	}
	for _, cmd := range []string{"go run ./cmd/pop_exporter\n", "make test\n", "make demo", "go run ./cmd/pop_exporter --config.check --config.file=pop.yml\n", "go run ./cmd/pop_exporter --config.file=pop.yml\n"} {
		if !strings.Contains(sec, cmd) {
			t.Errorf("the Quick start no longer shows %q", strings.TrimSpace(cmd))
		}
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "pop.yml")
	writeFile(t, file, yml)
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"--config.check", "--config.file=" + file}, &out, &errOut); code != 0 {
		t.Fatalf("--config.check of the Quick start's pop.yml: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "valid configuration with 1 targets") {
		t.Errorf("--config.check printed %q", out.String())
	}

	srv := edgeServer(t)
	url := regexp.MustCompile(`url: \S+`)
	// A 1 s interval, so that the first probe (at a random offset inside the first interval)
	// comes at once.
	writeFile(t, file, url.ReplaceAllString(yml, "url: "+srv.URL+"/")+"defaults: {interval: 1s, timeout: 800ms}\n")
	addr, _, stop := startDaemon(t, "--config.file="+file)
	defer stop()
	waitMetric(t, addr, regexp.MustCompile(`pop_probe_edge_info\{[^}]*pop="AMS"[^}]*target="www"`))
}

// TestQuickStartCommands: the Quick start's first command runs the embedded default (valid,
// on the default port the README gives), and `make test` does what the README says it does
// first: check the requirements and build Helm and Prometheus 3, then run the race tests.
func TestQuickStartCommands(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"--config.check"}, &out, &errOut); code != 0 {
		t.Fatalf("the embedded default does not pass --config.check: %s", errOut.String())
	}
	if !strings.Contains(quickStart(t), "http://localhost"+DefaultListenAddress+"/metrics") {
		t.Errorf("the Quick start does not point at the default address %s", DefaultListenAddress)
	}
	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Skip("make is not installed")
	}
	dry, err := exec.Command(makeBin, "-C", "../..", "-n", "test").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n test: %v\n%s", err, dry)
	}
	steps := []string{"C compiler", "prometheus and promtool are missing", "amtool is missing",
		"TestHelmBinary", "TestPrometheus3Binary", "go test -race -count=1 -timeout 20m ./..."}
	at := 0
	for _, step := range steps {
		i := strings.Index(string(dry[at:]), step)
		if i < 0 {
			t.Errorf("make test does not %q (in this order):\n%s", step, dry)
			break
		}
		at += i
	}
}
