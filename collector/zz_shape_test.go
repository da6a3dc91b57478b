package collector

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/popexporter/pop_exporter/collector/edge"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func BenchmarkShape(b *testing.B) {
	reg := prometheus.NewRegistry()
	m, _ := New(reg, Options{})
	defer m.Stop()
	for i := range 2000 {
		r := newRecordingRunner(b, m, testTarget(b, fmt.Sprintf("t%d", i), "http://127.0.0.1/"))
		for range 3 {
			res := cloudflareResult("AMS", edge.CacheHit)
			res.Phases = [numPhases]time.Duration{0, time.Millisecond, 0, 20 * time.Millisecond, time.Millisecond}
			res.Happened = [numPhases]bool{false, true, false, true, true}
			m.record(r, res)
		}
	}
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	for _, enc := range []string{"gzip", "identity"} {
		b.Run(enc, func(b *testing.B) {
			for b.Loop() {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest("GET", "/metrics", nil)
				req.Header.Set("Accept-Encoding", enc)
				h.ServeHTTP(rec, req)
				b.ReportMetric(float64(rec.Body.Len()), "bytes")
			}
		})
	}
}
