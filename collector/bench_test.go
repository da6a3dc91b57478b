package collector

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/popexporter/pop_exporter/collector/edge"
	"github.com/popexporter/pop_exporter/config"
)

// BenchmarkTTFBAccuracy measures how far the measured processing phase and TTFB are from a
// server delay D that is known exactly, over 200 probes each (see README, Performance):
//
//	go test -run XXX -bench TTFBAccuracy -benchtime 1x ./collector/
func BenchmarkTTFBAccuracy(b *testing.B) {
	const probes = 200
	for _, delay := range []time.Duration{50 * time.Millisecond, 200 * time.Millisecond} {
		b.Run(delay.String(), func(b *testing.B) {
			srv := delayServer(delay)
			defer srv.Close()
			target := testTarget(b, "accuracy", srv.URL)
			target.Timeout = config.Duration(5 * time.Second)
			s := testSpec(b, target)
			ident := edge.NewIdentifier(nil)
			for b.Loop() {
				var ttfbErr, procErr []time.Duration
				for range probes {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					res := s.run(ctx, ident)
					cancel()
					if !res.Success {
						b.Fatalf("probe failed: %s %v", res.FailureReason, res.Err)
					}
					ttfbErr = append(ttfbErr, res.TTFB-delay)
					procErr = append(procErr, res.Phases[PhaseProcessing]-delay)
				}
				slices.Sort(ttfbErr)
				slices.Sort(procErr)
				p50, p99 := func(d []time.Duration) time.Duration { return d[len(d)/2] }, func(d []time.Duration) time.Duration { return d[len(d)*99/100] }
				b.ReportMetric(float64(p50(ttfbErr).Microseconds()), "ttfb-err-p50-µs")
				b.ReportMetric(float64(p99(ttfbErr).Microseconds()), "ttfb-err-p99-µs")
				b.ReportMetric(float64(p50(procErr).Microseconds()), "processing-err-p50-µs")
				b.ReportMetric(float64(p99(procErr).Microseconds()), "processing-err-p99-µs")
				fmt.Printf("D=%v over %d probes: ttfb-D median %v p99 %v min %v; processing-D median %v p99 %v min %v\n",
					delay, probes, p50(ttfbErr), p99(ttfbErr), ttfbErr[0], p50(procErr), p99(procErr), procErr[0])
			}
		})
	}
}

// BenchmarkMetricsRender renders /metrics for 2,000 probes, each with a few PoPs and cache
// statuses recorded, as Prometheus would scrape it (gzip) and uncompressed.
func BenchmarkMetricsRender(b *testing.B) {
	reg := prometheus.NewRegistry()
	m, err := New(reg, Options{})
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
			res.Phases = [numPhases]time.Duration{time.Millisecond, time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond, time.Millisecond}
			res.Happened = [numPhases]bool{true, true, true, true, true} // HTTPS by name: every phase
			m.record(r, res)
		}
	}
	handler := Handler(reg, m, log.NewNopLogger())
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
