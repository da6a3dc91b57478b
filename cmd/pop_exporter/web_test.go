package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
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
