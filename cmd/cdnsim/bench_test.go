package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
)

// discardWriter is a reusable ResponseWriter so the benchmark measures the simulator, not
// a recorder.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }

// BenchmarkServe serves requests round-robin over 2,000 generated targets (every vendor
// format) with zero TTFB: the per-request cost of the simulator itself.
func BenchmarkServe(b *testing.B) {
	sc := &Scenario{}
	if err := sc.addGenerated(2000); err != nil {
		b.Fatal(err)
	}
	for _, t := range sc.Targets {
		t.TTFB = map[string]TTFBSpec{"default": {}}
	}
	s := newSimulator(sc, 1, time.Now, promslog.NewNopLogger())
	reqs := make([]*http.Request, len(sc.Targets))
	for i, t := range sc.Targets {
		reqs[i], _ = http.NewRequest("GET", "http://127.0.0.1/"+t.Name+"/", nil)
	}
	w := &discardWriter{h: make(http.Header, 16)}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		clear(w.h)
		s.ServeHTTP(w, reqs[i%len(reqs)])
		i++
	}
}
