package exposition

import (
	"math"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// A histogram series keeps its native (exponential, sparse) buckets itself, next to its classic
// bucket counts, under the store's lock. It used to keep a client_golang Histogram beside the
// classic counts: every observation was then counted twice, and each of those histograms
// (two sets of counts, two sync.Maps of buckets, a mutex) weighed about 1 KiB; with one per
// probe that was a tenth of the exporter's heap at 10,000 targets. The semantics are those of
// the Prometheus native histogram specification, as client_golang implements them for the
// options the store accepts (bucket factor, maximum bucket number, minimum reset duration;
// the zero bucket keeps its default width):
//
//   - schema s: bucket k covers (2^((k-1)·2^-s), 2^(k·2^-s)]; the largest s in [-4, 8] whose
//     bucket growth 2^(2^-s) is at most the bucket factor;
//   - observations of magnitude at most the zero threshold go to the zero bucket, NaN to no
//     bucket (only to the count and sum), ±Inf to the bucket above the largest float;
//   - when more buckets than the maximum are in use: if the last reset is at least the
//     minimum reset duration ago, the histogram (classic buckets, count and sum included)
//     starts again from the observation that overflowed it; otherwise the schema is lowered by
//     one (two neighbouring buckets merge) and a reset is due once that duration has passed.

// nativeZeroThreshold is the width of the zero bucket: client_golang's default,
// prometheus.DefNativeHistogramZeroThreshold (2^-128).
const nativeZeroThreshold = prometheus.DefNativeHistogramZeroThreshold

// nativeOpts are a family's native-histogram settings.
type nativeOpts struct {
	schema    int32         // the initial (finest) schema; math.MinInt32: no native buckets
	maxBucket int           // 0: no limit
	minReset  time.Duration // 0: never reset
}

// newNativeOpts derives the settings from histogram options.
func newNativeOpts(o prometheus.HistogramOpts) nativeOpts {
	n := nativeOpts{schema: math.MinInt32, maxBucket: int(o.NativeHistogramMaxBucketNumber), minReset: o.NativeHistogramMinResetDuration}
	if o.NativeHistogramBucketFactor > 1 {
		n.schema = schemaFor(o.NativeHistogramBucketFactor)
	}
	return n
}

// schemaFor returns the largest schema in [-4, 8] whose buckets grow by at most factor (> 1).
func schemaFor(factor float64) int32 {
	s := -math.Floor(math.Log2(math.Log2(factor)))
	return int32(min(max(s, -4), 8))
}

// nativeHist is the native part of one histogram series.
type nativeHist struct {
	schema   int32
	resetDue int64 // unix nanoseconds when a reset is due after the schema was lowered; 0: none
	created  int64 // unix nanoseconds of the series' creation or last reset
	zero     uint64
	pos, neg sparseBuckets
}

// sparseBuckets are the populated buckets of one sign, by ascending index.
type sparseBuckets struct {
	keys   []int32
	counts []uint64
}

func (b *sparseBuckets) add(key int32, n uint64) (created bool) {
	i, found := slices.BinarySearch(b.keys, key)
	if found {
		b.counts[i] += n
		return false
	}
	b.keys = slices.Insert(b.keys, i, key)
	b.counts = slices.Insert(b.counts, i, n)
	return true
}

func (b *sparseBuckets) reset() { b.keys, b.counts = b.keys[:0], b.counts[:0] }

// halve merges every pair of neighbouring buckets: the indexes of the schema one lower.
func (b *sparseBuckets) halve() {
	out := 0
	for i, k := range b.keys {
		k = ceilHalf(k) // bucket k of schema s lies in bucket ceil(k/2) of schema s-1
		if out > 0 && b.keys[out-1] == k {
			b.counts[out-1] += b.counts[i]
			continue
		}
		b.keys[out], b.counts[out] = k, b.counts[i]
		out++
	}
	b.keys, b.counts = b.keys[:out], b.counts[:out]
}

// ceilHalf is ceil(k/2); Go's division truncates toward zero, which is the ceiling for k ≤ 0.
func ceilHalf(k int32) int32 {
	if k > 0 {
		return (k + 1) / 2
	}
	return k / 2
}

// bucketKey is the index of the bucket of magnitude a (> 0, finite or +Inf) in schema s.
func bucketKey(a float64, s int32) int32 {
	inf := math.IsInf(a, 1)
	if inf {
		a = math.MaxFloat64
	}
	frac, exp := math.Frexp(a) // a = frac · 2^exp, frac in [0.5, 1)
	var key int32
	if s > 0 {
		// log2(a) = exp + log2(frac); the bucket is the smallest k with
		// a ≤ 2^(k·2^-s), i.e. k = ceil(log2(a)·2^s). Counted within the octave by the
		// bounds 2^(i·2^-s)/2 that frac is compared with.
		bounds := nativeBounds(s)
		i, _ := slices.BinarySearch(bounds, frac) // first bound ≥ frac
		key = int32(i + (exp-1)*len(bounds))
	} else {
		key = int32(exp)
		if frac == 0.5 { // a power of two is the upper bound of the bucket below
			key--
		}
		div := int32(1) << -s
		key = (key + div - 1) >> -s // ceil(key / 2^-s)
	}
	if inf {
		key++
	}
	return key
}

// nativeBounds returns, for schema s in 1…8, the fractions 2^(i·2^-s)/2, i = 0…2^s-1: the lower
// edges, within one octave [0.5, 1) of frexp, of the buckets of schema s, rounded to the
// nearest float64 from 2^i square-rooted s times in 256-bit precision. (client_golang and the
// Prometheus server carry a table of these printed to 16 digits, a few of which are one unit
// in the last place off: a value within a unit or two of an edge may land one bucket apart,
// which no duration measured in nanoseconds does in practice.)
func nativeBounds(s int32) []float64 { return boundTables()[s] }

var boundTables = sync.OnceValue(func() [9][]float64 {
	var b [9][]float64
	for s := 1; s <= 8; s++ {
		n := 1 << s
		b[s] = make([]float64, n)
		for i := range n {
			x := new(big.Float).SetPrec(256).SetInt64(1)
			x.SetMantExp(x, i)
			for range s {
				x.Sqrt(x)
			}
			b[s][i], _ = x.SetMantExp(x, -1).Float64()
		}
	}
	return b
})

// observe adds v to the native buckets; it returns false when the bucket limit requires a
// reset (the caller resets the whole series and observes v again).
func (h *nativeHist) observe(v float64, o nativeOpts, now int64) bool {
	if o.schema == math.MinInt32 || math.IsNaN(v) {
		return true
	}
	if h.resetDue != 0 && now >= h.resetDue {
		return false
	}
	var created bool
	switch {
	case v > nativeZeroThreshold:
		created = h.pos.add(bucketKey(v, h.schema), 1)
	case v < -nativeZeroThreshold:
		created = h.neg.add(bucketKey(-v, h.schema), 1)
	default:
		h.zero++
	}
	if !created || o.maxBucket == 0 {
		return true
	}
	for len(h.pos.keys)+len(h.neg.keys) > o.maxBucket {
		if o.minReset > 0 && h.resetDue == 0 && now-h.created >= int64(o.minReset) {
			return false
		}
		if h.schema == -4 {
			break // the coarsest resolution: the limit cannot be kept
		}
		if o.minReset > 0 && h.resetDue == 0 {
			h.resetDue = h.created + int64(o.minReset)
		}
		h.schema--
		h.pos.halve()
		h.neg.halve()
	}
	return true
}

// clear starts the native part again at time now.
func (h *nativeHist) clear(o nativeOpts, now int64) {
	h.schema, h.resetDue, h.created, h.zero = o.schema, 0, now, 0
	h.pos.reset()
	h.neg.reset()
}

// copyTo returns a copy of h whose buckets are appended to the arenas keys and counts.
func (h *nativeHist) copyTo(keys []int32, counts []uint64) (nativeHist, []int32, []uint64) {
	c := *h
	c.pos.keys, keys = appendArena(keys, h.pos.keys)
	c.pos.counts, counts = appendArena(counts, h.pos.counts)
	c.neg.keys, keys = appendArena(keys, h.neg.keys)
	c.neg.counts, counts = appendArena(counts, h.neg.counts)
	return c, keys, counts
}

// appendArena appends s to arena and returns the copy and the arena.
func appendArena[T any](arena, s []T) ([]T, []T) {
	n := len(arena)
	arena = append(arena, s...)
	return arena[n:len(arena):len(arena)], arena
}

// write fills the native fields of out.
func (h *nativeHist) write(out *dto.Histogram) {
	out.Schema = proto.Int32(h.schema)
	out.ZeroThreshold = proto.Float64(nativeZeroThreshold)
	out.ZeroCount = proto.Uint64(h.zero)
	out.PositiveSpan, out.PositiveDelta = h.pos.spans()
	out.NegativeSpan, out.NegativeDelta = h.neg.spans()
}

// spans encodes the buckets as spans and count deltas; gaps of up to two empty buckets are
// written as empty buckets rather than a new span, which is shorter.
func (b *sparseBuckets) spans() ([]*dto.BucketSpan, []int64) {
	if len(b.keys) == 0 {
		return nil, nil
	}
	var spans []*dto.BucketSpan
	deltas := make([]int64, 0, len(b.keys))
	var prev int64
	next := int32(0)
	for i, k := range b.keys {
		if gap := k - next; i == 0 || gap > 2 {
			spans = append(spans, &dto.BucketSpan{Offset: proto.Int32(gap), Length: proto.Uint32(0)})
		} else {
			for range gap {
				*spans[len(spans)-1].Length++
				deltas = append(deltas, -prev)
				prev = 0
			}
		}
		*spans[len(spans)-1].Length++
		c := int64(b.counts[i])
		deltas = append(deltas, c-prev)
		prev = c
		next = k + 1
	}
	return spans, deltas
}
