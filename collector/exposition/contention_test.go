package exposition

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// blockingWriter blocks every Write until release is closed, like a client that stopped
// reading; entered is closed at the first Write.
type blockingWriter struct {
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func newBlockingWriter() *blockingWriter {
	return &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	b.once.Do(func() { close(b.entered) })
	<-b.release
	return len(p), nil
}

// within fails the test unless f returns within d.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s still waiting after %v", what, d)
	}
}

// A scrape whose client stops reading in the middle of the page must not keep probes from
// recording, series from being removed, or other scrapes from being served.
func TestStalledWriteBlocksNothing(t *testing.T) {
	st := testStore(50)
	bw := newBlockingWriter()
	defer close(bw.release)
	stalled := make(chan error, 1)
	go func() { stalled <- st.Write(bufio.NewWriterSize(bw, 16), false) }()
	<-bw.entered

	f := st.families[slices.IndexFunc(st.families, func(f *Family) bool { return f.name == "test_probe_ttfb_seconds" })]
	lv := []string{"ams-office", "t1", "4", "SIN", "miss"}
	within(t, 5*time.Second, "Observe during a stalled scrape", func() { f.Observe(0.2, lv...) })
	within(t, 5*time.Second, "RemovePrefix during a stalled scrape", func() { f.RemovePrefix(lv[:3]) })
	within(t, 5*time.Second, "NewFamily during a stalled scrape", func() {
		st.NewFamily("test_late", "Added during a scrape.", Gauge, nil, nil).Set(1)
	})
	within(t, 5*time.Second, "another scrape during a stalled scrape", func() {
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		if err := st.Write(w, true); err != nil {
			t.Error(err)
		}
		w.Flush()
		if !bytes.Contains(buf.Bytes(), []byte("test_late 1.0")) {
			t.Errorf("the second scrape lacks the family added during the first")
		}
	})
	within(t, 5*time.Second, "Gather during a stalled scrape", func() {
		if _, err := st.Gather(); err != nil {
			t.Error(err)
		}
	})
	select {
	case err := <-stalled:
		t.Fatalf("stalled scrape returned early: %v", err)
	default:
	}
}

// stallingResponse is a ResponseWriter whose body writes block until released.
type stallingResponse struct {
	*httptest.ResponseRecorder
	w *blockingWriter
}

func (s stallingResponse) Write(p []byte) (int, error) { return s.w.Write(p) }

// Scrapes beyond MaxRequestsInFlight are refused at once with 503; a slot frees when a scrape
// ends.
func TestHandlerBoundsRequestsInFlight(t *testing.T) {
	h := Handler(prometheus.NewRegistry(), testStore(50), HandlerOpts{MaxRequestsInFlight: 1})
	bw := newBlockingWriter()
	first := make(chan struct{})
	go func() {
		defer close(first)
		h.ServeHTTP(stallingResponse{httptest.NewRecorder(), bw}, httptest.NewRequest("GET", "/metrics", nil))
	}()
	<-bw.entered

	rec := httptest.NewRecorder()
	within(t, 5*time.Second, "the refused scrape", func() { h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil)) })
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("second scrape while one is in flight: %d (Retry-After %q), want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	close(bw.release)
	<-first
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("scrape after the first ended: %d, want 200", rec.Code)
	}
}

type countingWriter int

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

// benchStore is shaped like the collector's store for n probes: a dozen gauges and counters
// per probe, failures by 8 reasons, and two histograms (5 phases with 10 buckets, 3 PoP and
// cache-status combinations with 15 buckets).
func benchStore(n int) *Store {
	st := NewStore()
	pl := []string{"vantage", "target", "ip_version"}
	var gauges []*Family
	for i := range 12 {
		gauges = append(gauges, st.NewFamily(fmt.Sprintf("bench_gauge_%d", i), "A gauge.", Gauge, pl, nil))
	}
	fails := st.NewFamily("bench_failures_total", "Failures.", Counter, append(slices.Clone(pl), "reason"), nil)
	phase := st.NewFamily("bench_phase_seconds", "Phases.", Histogram, append(slices.Clone(pl), "phase"),
		&prometheus.HistogramOpts{Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}})
	ttfb := st.NewFamily("bench_ttfb_seconds", "TTFB.", Histogram, append(slices.Clone(pl), "cdn", "pop", "cache_status"),
		&prometheus.HistogramOpts{Buckets: []float64{.005, .01, .025, .05, .075, .1, .15, .2, .3, .5, .75, 1, 2.5, 5, 10}})
	for i := range n {
		lv := []string{"ams-office", fmt.Sprintf("target-%05d", i), "4"}
		for _, g := range gauges {
			g.Set(float64(i), lv...)
		}
		for _, r := range []string{"dns", "connect", "tls", "timeout", "http_status", "body", "panic", "other"} {
			fails.Add(1, append(slices.Clone(lv), r)...)
		}
		for _, p := range []string{"dns", "connect", "tls", "processing", "transfer"} {
			phase.Observe(0.02, append(slices.Clone(lv), p)...)
		}
		for _, c := range []string{"AMS/hit", "AMS/miss", "FRA/hit"} {
			ttfb.Observe(0.03, append(slices.Clone(lv), "cloudflare", c[:3], c[4:])...)
		}
	}
	return st
}

// BenchmarkStoreLockHeld measures, for 2,000 probes, how long a scrape holds the store's lock
// at a time (the copy of the largest family) against the whole render, which copies every
// family under the lock in turn and formats it without:
//
//	go test -run XXX -bench StoreLockHeld -benchmem ./collector/exposition/
func BenchmarkStoreLockHeld(b *testing.B) {
	st := benchStore(2000)
	b.Run("largest-family-under-lock", func(b *testing.B) {
		largest := st.families[0]
		for _, f := range st.families {
			if len(f.counts)+len(f.ordered) > len(largest.counts)+len(largest.ordered) {
				largest = f
			}
		}
		var fs familySnapshot
		fs.copyFrom(largest, false) // sizes the arrays, as the previous family did
		for b.Loop() {
			fs.copyFrom(largest, false)
		}
	})
	b.Run("whole-write", func(b *testing.B) {
		var n countingWriter
		w := bufio.NewWriterSize(&n, 64<<10)
		for b.Loop() {
			if err := st.Write(w, false); err != nil {
				b.Fatal(err)
			}
		}
		w.Flush()
		b.ReportMetric(float64(n)/float64(b.N), "bytes/page")
	})
}
