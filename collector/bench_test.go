package collector

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/popexporter/pop_exporter/collector/edge"
	"github.com/popexporter/pop_exporter/collector/exposition"
	"github.com/popexporter/pop_exporter/collector/prober"
)

// BenchmarkMetricsRender renders /metrics for 2,000 probes, each with a few PoPs and cache
// statuses recorded, as Prometheus would scrape it (gzip) and uncompressed.
func BenchmarkMetricsRender(b *testing.B) {
	reg := prometheus.NewRegistry()
	st := exposition.NewStore()
	m, err := New(reg, st, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Stop()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for i := range 2000 {
		target := testTarget(b, fmt.Sprintf("t%d", i), "http://127.0.0.1/")
		r := newRecordingRunner(b, m, target)
		for j, pop := range []string{"AMS", "AMS", "FRA", "AMS"} {
			res := cloudflareResult(pop, []string{edge.CacheHit, edge.CacheMiss}[j%2])
			res.Phases = [prober.NumPhases]time.Duration{time.Millisecond, time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond, time.Millisecond}
			res.Happened = [prober.NumPhases]bool{true, true, true, true, true} // HTTPS by name: every phase
			m.record(r, res)
		}
	}
	handler := exposition.Handler(reg, st, exposition.HandlerOpts{Logger: log.NewNopLogger()})
	for _, accept := range []struct{ name, format, encoding string }{
		{"text", "text/plain", "identity"},
		{"text-gzip", "text/plain", "gzip"},
		{"openmetrics-gzip", "application/openmetrics-text;version=1.0.0", "gzip"},
		{"protobuf-gzip", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited", "gzip"},
	} {
		b.Run(accept.name, func(b *testing.B) {
			var size int
			for b.Loop() {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest("GET", "/metrics", nil)
				req.Header.Set("Accept", accept.format)
				req.Header.Set("Accept-Encoding", accept.encoding)
				handler.ServeHTTP(rec, req)
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes")
		})
	}
}
