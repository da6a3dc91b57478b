package exposition

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

// TestNativeHistogramsMatchClientGolang feeds the same observations to a store histogram and to
// a client_golang histogram with the same options, and requires the same protobuf message
// (bar the creation time): what Prometheus ingests from a scrape in the protobuf format does
// not depend on which of the two kept the counts.
func TestNativeHistogramsMatchClientGolang(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	powersOfTwo := []float64{0.125, 0.25, 0.5, 1, 2, 4}
	// Next to the edges of schema 3's buckets, where an off-by-one would show (a few ulps
	// off: exactly on an edge, see nativeBounds).
	var bounds []float64
	for _, b := range nativeBounds(3) {
		bounds = append(bounds, 2*b*(1+1e-15), b/4*(1-1e-15), 8*b*(1+1e-15))
	}
	lognormal := func(n int, median, sigma float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = median * math.Exp(sigma*rng.NormFloat64())
		}
		return v
	}
	cases := []struct {
		name     string
		values   []float64
		factor   float64
		max      uint32
		minReset time.Duration
	}{
		{"ttfb-like", lognormal(2000, 0.03, 0.6), 1.1, 100, time.Hour},
		{"bucket edges", append(append([]float64{0, -0.5, 1e-40, -1e-40, 3e-39}, powersOfTwo...), bounds...), 1.1, 100, time.Hour},
		{"infinities and NaN", []float64{math.Inf(1), math.Inf(-1), math.NaN(), 1, math.MaxFloat64}, 1.1, 100, time.Hour},
		// 2,000 values over twelve orders of magnitude overflow 100 buckets: the schema
		// drops, several times, and no reset is due yet.
		{"schema lowered", lognormal(2000, 0.01, 6), 1.1, 100, time.Hour},
		{"schema lowered to the coarsest", lognormal(500, 1, 200), 1.1, 4, time.Hour},
		// A minimum reset duration that has always passed: the histogram starts again from the
		// observation that overflows it, classic buckets, count and sum included.
		{"reset", lognormal(300, 0.01, 6), 1.1, 20, time.Nanosecond},
		{"no limit", lognormal(300, 0.01, 6), 1.1, 0, 0},
		{"coarse factor", lognormal(300, 0.05, 2), 4, 100, time.Hour},
		{"finest factor", lognormal(300, 0.05, 0.1), 1.0001, 100, time.Hour},
		{"classic only", lognormal(100, 0.05, 1), 0, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := prometheus.HistogramOpts{
				Name: "h", Help: "h", Buckets: []float64{.05, .2, 1, 2.5},
				NativeHistogramBucketFactor: c.factor, NativeHistogramMaxBucketNumber: c.max,
				NativeHistogramMinResetDuration: c.minReset,
			}
			st := NewStore()
			f := st.NewFamily("h", "h", Histogram, []string{"probe"}, &opts)
			ref := prometheus.NewHistogram(opts)
			for _, v := range c.values {
				f.Observe(v, "p")
				ref.Observe(v)
			}
			got := gatherOne(t, st)
			var want dto.Metric
			if err := ref.Write(&want); err != nil {
				t.Fatal(err)
			}
			got.Histogram.CreatedTimestamp, want.Histogram.CreatedTimestamp = nil, nil
			got.Label = nil
			if !proto.Equal(got.Histogram, want.Histogram) {
				t.Errorf("store histogram differs from client_golang's\n got: %s\nwant: %s",
					prototext.Format(got.Histogram), prototext.Format(want.Histogram))
			}
			if c.name == "schema lowered" && got.Histogram.GetSchema() >= 3 {
				t.Errorf("schema %d: the case no longer overflows the bucket limit", got.Histogram.GetSchema())
			}
			if c.name == "reset" && got.Histogram.GetSampleCount() >= uint64(len(c.values)) {
				t.Errorf("count %d: the case no longer resets", got.Histogram.GetSampleCount())
			}
		})
	}
}

// TestNativeResetWhenDue: after the schema was lowered, the histogram starts again (at the
// finest schema) with the first observation once the minimum reset duration has passed since
// its creation.
func TestNativeResetWhenDue(t *testing.T) {
	o := nativeOpts{schema: 3, maxBucket: 4, minReset: time.Hour}
	var h nativeHist
	start := time.Now().UnixNano()
	h.clear(o, start)
	for _, v := range []float64{1, 2, 4, 8, 16, 32} {
		if !h.observe(v, o, start) {
			t.Fatalf("reset at %v before the minimum reset duration", v)
		}
	}
	if h.schema >= 3 || h.resetDue != start+int64(time.Hour) {
		t.Fatalf("schema %d, reset due %d: want a lowered schema and a reset due in an hour", h.schema, h.resetDue-start)
	}
	if !h.observe(1, o, start+int64(time.Hour)-1) {
		t.Fatal("reset before it was due")
	}
	if h.observe(1, o, start+int64(time.Hour)) {
		t.Fatal("no reset when due")
	}
	h.clear(o, start+int64(time.Hour))
	if h.schema != 3 || h.resetDue != 0 || len(h.pos.keys) != 0 || h.zero != 0 {
		t.Fatalf("after clear: %+v", h)
	}
}

// BenchmarkObserve is one observation into a histogram series that exists: the classic and
// native buckets under the store's lock.
func BenchmarkObserve(b *testing.B) {
	opts := prometheus.HistogramOpts{Buckets: []float64{.05, .2, 1, 2.5}, NativeHistogramBucketFactor: 1.1,
		NativeHistogramMaxBucketNumber: 100, NativeHistogramMinResetDuration: time.Hour}
	f := NewStore().NewFamily("h", "h", Histogram, []string{"vantage", "target", "ip_version"}, &opts)
	values := make([]float64, 1024)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range values {
		values[i] = 0.03 * math.Exp(0.5*rng.NormFloat64())
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		f.Observe(values[i%len(values)], "v", "t", "ip4")
	}
}

func gatherOne(t *testing.T, st *Store) *dto.Metric {
	t.Helper()
	mfs, err := st.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 1 || len(mfs[0].Metric) != 1 {
		t.Fatalf("want one family with one series, got %v", mfs)
	}
	return mfs[0].Metric[0]
}
