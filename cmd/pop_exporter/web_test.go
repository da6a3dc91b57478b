package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
)

// /-/healthy and /-/ready answer 503 with the reason when the collector says probes are not
// being recorded, so a liveness probe restarts a stuck exporter and a readiness probe takes it
// out of service.
func TestHealthEndpointsReportStall(t *testing.T) {
	stall := errors.New("no probe result recorded for 3m0s (expected within 2m0s)")
	for _, tc := range []struct {
		healthy, ready error
		wantHealthy    int
		wantReady      int
	}{
		{nil, nil, 200, 200},
		{nil, errors.New("no configuration applied yet"), 200, 503},
		{stall, stall, 503, 503},
	} {
		h, err := newHandler(http.NotFoundHandler(), nil, healthChecks{
			healthy: func() error { return tc.healthy },
			ready:   func() error { return tc.ready },
		})
		if err != nil {
			t.Fatal(err)
		}
		for path, want := range map[string]int{"/-/healthy": tc.wantHealthy, "/-/ready": tc.wantReady} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
			if rec.Code != want {
				t.Errorf("%s with healthy=%v ready=%v: %d, want %d", path, tc.healthy, tc.ready, rec.Code, want)
			}
			if want == 503 && !strings.Contains(rec.Body.String(), "no ") {
				t.Errorf("%s: 503 without the reason: %q", path, rec.Body.String())
			}
		}
	}
}

// The profiler is served only when --web.enable-pprof asks for it.
func TestPprofOnlyWhenEnabled(t *testing.T) {
	for _, enabled := range []bool{false, true} {
		h, err := newHandlerPprof(http.NotFoundHandler(), nil, healthChecks{}, enabled, nil)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/debug/pprof/", nil))
		if got := rec.Code == http.StatusOK && strings.Contains(rec.Body.String(), "goroutine"); got != enabled {
			t.Errorf("enabled=%v: GET /debug/pprof/ answered %d", enabled, rec.Code)
		}
	}
}

// The README's flag table lists exactly the flags the exporter has.
func TestREADMEFlagTable(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &out, &errOut); code != 0 {
		t.Fatalf("--help: exit %d: %s", code, errOut.String())
	}
	flagRE := regexp.MustCompile(`--(?:\[no-\])?([a-z][a-z0-9.-]+)`)
	have := map[string]bool{}
	for _, m := range flagRE.FindAllStringSubmatch(out.String(), -1) {
		have[m[1]] = true
	}
	for _, builtin := range []string{"help", "version", "help-long", "help-man", "completion-bash", "completion-script-bash", "completion-script-zsh"} {
		delete(have, builtin)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rowRE := regexp.MustCompile("(?m)^\\| `--([a-z][a-z0-9.-]+)` \\|")
	documented := map[string]bool{}
	for _, m := range rowRE.FindAllStringSubmatch(string(readme), -1) {
		documented[m[1]] = true
	}
	for f := range have {
		if !documented[f] {
			t.Errorf("flag --%s is not in the README's flag table", f)
		}
	}
	for f := range documented {
		if !have[f] {
			t.Errorf("the README's flag table lists --%s, which the exporter does not have", f)
		}
	}
}
