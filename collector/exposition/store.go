// Package exposition owns the per-probe series and the /metrics endpoint: a Store of metric
// families whose series are written in the text and OpenMetrics formats directly (fast with
// thousands of probes), and a Handler that negotiates text, OpenMetrics or protobuf (native
// histograms) and serves the Store together with any other prometheus.Gatherer.
//
// It knows nothing of probes, targets or PoPs: it imports no package of this project, so it
// can serve any store filled by anyone (the collector package fills it).
package exposition

import (
	"bufio"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Store holds the per-probe series and writes them in the text and OpenMetrics formats itself.
//
// Why not client_golang vectors: with 2,000 targets, /metrics carries ~150,000 lines, and
// Registry.Gather builds a protobuf message per series, checks and sorts them all and lets
// the GC collect them again on every scrape: ~0.6 s per scrape on a 2-core machine, against a
// budget of 250 ms. The store keeps its families and series in a fixed order and appends lines
// straight to the output, each series' label text made from its label values in a reused
// buffer. Histograms keep their classic buckets and their native buckets (native.go) side by
// side; the text formats write the classic ones, and Gather, which serves the protobuf
// format, both.
//
// Writers never wait for a client: Write and Gather copy what they need under the lock (a
// snapshot) and format and send it after releasing it, so a scrape whose client stops reading
// holds nothing that Set, Add, Observe or another scrape needs. A family keeps its series in
// columns (one slice per field, indexed by slot), so that copy is a few memmoves per family
// rather than a walk over every series.
type Store struct {
	mu       sync.Mutex
	families []*Family // sorted by name
	// shared holds one copy of each series key in use by families that have the same label
	// names as another family, with the number of series using it: a probe's series in the
	// families that carry only the probe's labels have the same key, which is then kept once
	// instead of once per family. (A family whose label names no other family has keeps its
	// keys itself: sharing them would cost an entry here and save nothing.)
	shared map[string]*sharedString
}

// sharedString is one string of Store.shared and how many series use it.
type sharedString struct {
	s    string
	refs int32
}

// share returns the store's copy of str (for a family that shares its strings), making it
// str if there is none, and counts one more use of it. s.mu must be held.
func (s *Store) share(str string) string {
	if str == "" {
		return ""
	}
	if e, ok := s.shared[str]; ok {
		e.refs++
		return e.s
	}
	e := &sharedString{s: str, refs: 1}
	s.shared[e.s] = e
	return e.s
}

// unshare counts one use less of a string share returned, forgetting it after the last.
func (s *Store) unshare(f *Family, str string) {
	if !f.shares {
		return
	}
	if e, ok := s.shared[str]; ok {
		if e.refs--; e.refs == 0 {
			delete(s.shared, str)
		}
	}
}

// Kind is the type of a metric family.
type Kind int

// The kinds of metric family a Store holds.
const (
	Gauge Kind = iota
	Counter
	Histogram
)

// String returns the kind as the TYPE line names it.
func (k Kind) String() string {
	return [...]string{"gauge", "counter", "histogram"}[k]
}

// Family is one metric family of a Store: a name, a help text, label names and series. Its
// methods are safe for concurrent use.
type Family struct {
	store      *Store
	name, help string
	kind       Kind
	labelNames []string
	order      []int // label indexes sorted by label name: the order labels are written in
	// labelText holds, in that order, what a series' label text has before each value:
	// `{name="` for the first label, `",name="` for the others.
	labelText  []string
	buckets    []float64
	bucketText []string // le values as the text format writes them
	bucketOM   []string // le values as OpenMetrics writes them
	nopts      nativeOpts
	shares     bool // its keys are in Store.shared

	// The series, under the store's lock: slot by key, slots in output order, and the
	// columns indexed by slot. A removed series' slot goes to free and is reused.
	index   map[string]int32
	scratch []byte  // get's key buffer
	ordered []int32 // sorted by key
	free    []int32
	columns
}

// columns hold a family's series field by field, indexed by slot.
type columns struct {
	// keys hold each series' label values joined with \xff, which no valid UTF-8 label value
	// contains: the index and the output order use it, and Write and Gather split it again.
	// Neither the label values nor the series' label text are kept a second time: at 10,000
	// probes the values were tens of megabytes, and the text 22 MB of a 105 MB live heap
	// (make loadtest TARGETS=10000 INTERVAL=30s PROFILE=dir, inuse_space), which a scrape now
	// writes from the key as it goes.
	keys   []string  // seriesKey of the label values; "" for a free slot
	values []float64 // gauge or counter value; a histogram's sum
	// counts holds, for a histogram, len(buckets)+1 numbers per slot: the observations per
	// classic bucket (not cumulative), then the total.
	counts []uint64
	native []nativeHist // histograms: their native buckets (native.go)
}

// NewStore returns an empty Store.
func NewStore() *Store { return &Store{shared: map[string]*sharedString{}} }

// NewFamily adds a family to the store. opts is required for a Histogram (its buckets and
// native-histogram settings; name and help are taken from the arguments) and ignored otherwise.
func (s *Store) NewFamily(name, help string, kind Kind, labelNames []string, opts *prometheus.HistogramOpts) *Family {
	f := &Family{store: s, name: name, help: help, kind: kind, labelNames: labelNames, index: map[string]int32{}}
	f.order = make([]int, len(labelNames))
	for i := range f.order {
		f.order[i] = i
	}
	sort.Slice(f.order, func(a, b int) bool { return labelNames[f.order[a]] < labelNames[f.order[b]] })
	for n, i := range f.order {
		if n == 0 {
			f.labelText = append(f.labelText, "{"+labelNames[i]+`="`)
		} else {
			f.labelText = append(f.labelText, `",`+labelNames[i]+`="`)
		}
	}
	if opts != nil {
		f.nopts = newNativeOpts(*opts)
		f.buckets = opts.Buckets
		for _, b := range f.buckets {
			f.bucketText = append(f.bucketText, string(appendFloat(nil, b, false)))
			f.bucketOM = append(f.bucketOM, string(appendFloat(nil, b, true)))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Families with the same label names make the same keys of the same label values: they
	// share them (see Store.shared), unless one of them has series already.
	var same []*Family
	for _, g := range s.families {
		if slices.Equal(g.labelNames, labelNames) {
			same = append(same, g)
		}
	}
	if len(same) > 0 && !slices.ContainsFunc(same, func(g *Family) bool { return len(g.ordered) > 0 }) {
		for _, g := range same {
			g.shares = true
		}
		f.shares = true
	}
	i, _ := slices.BinarySearchFunc(s.families, name, func(f *Family, n string) int { return strings.Compare(f.name, n) })
	s.families = slices.Insert(s.families, i, f)
	return f
}

func seriesKey(lv []string) string { return string(appendSeriesKey(nil, lv)) }

// appendSeriesKey appends the series key of label values lv to b: the values joined with
// \xff. A value that is not valid UTF-8 goes in with U+FFFD for each run of invalid bytes, so
// that no value splits its key (valid UTF-8 has no \xff byte) and the text formats stay
// parseable. The label values the exporter records are checked long before (configured names,
// PoP codes, hex digests); this is the store's own guarantee.
func appendSeriesKey(b []byte, lv []string) []byte {
	for i, v := range lv {
		if i > 0 {
			b = append(b, '\xff')
		}
		if !utf8.ValidString(v) {
			v = strings.ToValidUTF8(v, "\uFFFD")
		}
		b = append(b, v...)
	}
	return b
}

// stride is the number of counts a histogram series keeps.
func (f *Family) stride() int { return len(f.buckets) + 1 }

// get returns the slot of the series with these label values, creating it. f.store.mu must
// be held.
func (f *Family) get(lv []string) int32 {
	// The key is built in a buffer the family reuses (under the store's lock) and looked up
	// without converting it to a string: a series that exists, which is nearly every call,
	// costs no allocation.
	f.scratch = appendSeriesKey(f.scratch[:0], lv)
	if slot, ok := f.index[string(f.scratch)]; ok {
		return slot
	}
	key := string(f.scratch)
	if f.shares {
		key = f.store.share(key)
	}
	var native nativeHist
	if f.kind == Histogram {
		native.clear(f.nopts, time.Now().UnixNano())
	}

	var slot int32
	if n := len(f.free); n > 0 {
		slot, f.free = f.free[n-1], f.free[:n-1]
		f.keys[slot], f.values[slot] = key, 0
		if f.kind == Histogram {
			clear(f.counts[int(slot)*f.stride() : int(slot+1)*f.stride()])
			f.native[slot] = native
		}
	} else {
		slot = int32(len(f.keys))
		f.keys = append(f.keys, key)
		f.values = append(f.values, 0)
		if f.kind == Histogram {
			f.counts = append(f.counts, make([]uint64, f.stride())...)
			f.native = append(f.native, native)
		}
	}
	f.index[key] = slot
	i, _ := f.search(key)
	f.ordered = slices.Insert(f.ordered, i, slot)
	return slot
}

// Handle remembers which slot of a family a caller's series was in, so that writing the same
// series again (a probe's success, duration, … on every probe) needs no lookup: the slot's
// label values are compared with the call's, and only when they differ (the series was
// removed, or the caller writes another one) is the series looked up again. The zero Handle
// is ready to use; a Handle is for one family and one caller at a time.
type Handle struct{ slot int32 }

// getCached is get through h. f.store.mu must be held.
func (f *Family) getCached(h *Handle, lv []string) int32 {
	if h.slot > 0 && int(h.slot) <= len(f.keys) && keyIs(f.keys[h.slot-1], lv) {
		return h.slot - 1
	}
	slot := f.get(lv)
	h.slot = slot + 1 // 0 is "none"
	return slot
}

// keyIs says whether key is seriesKey(lv), without building it. It is false for the key ""
// (a free slot's, and that of a series without label values, which is looked up instead).
func keyIs(key string, lv []string) bool {
	if key == "" {
		return false
	}
	for i, v := range lv {
		if i > 0 {
			if key == "" || key[0] != '\xff' {
				return false
			}
			key = key[1:]
		}
		if len(key) < len(v) || key[:len(v)] != v {
			return false
		}
		key = key[len(v):]
	}
	return key == ""
}

// search finds where the series with this key is or would be in f.ordered.
func (f *Family) search(key string) (int, bool) {
	return slices.BinarySearchFunc(f.ordered, key, func(slot int32, k string) int { return strings.Compare(f.keys[slot], k) })
}

// release frees a slot that f.index and f.ordered no longer name.
func (f *Family) release(slot int32) {
	f.store.unshare(f, f.keys[slot])
	f.keys[slot] = ""
	if f.kind == Histogram {
		f.native[slot] = nativeHist{}
	}
	f.free = append(f.free, slot)
}

// Set sets the gauge or counter value of the series with label values lv, creating it.
func (f *Family) Set(v float64, lv ...string) {
	f.store.mu.Lock()
	f.values[f.get(lv)] = v
	f.store.mu.Unlock()
}

// SetCached is Set through a Handle (see Handle).
func (f *Family) SetCached(h *Handle, v float64, lv ...string) {
	f.store.mu.Lock()
	f.values[f.getCached(h, lv)] = v
	f.store.mu.Unlock()
}

// AddCached is Add through a Handle (see Handle).
func (f *Family) AddCached(h *Handle, v float64, lv ...string) {
	f.store.mu.Lock()
	f.values[f.getCached(h, lv)] += v
	f.store.mu.Unlock()
}

// Add adds v to the value of the series with label values lv, creating it at 0 first.
func (f *Family) Add(v float64, lv ...string) {
	f.store.mu.Lock()
	f.values[f.get(lv)] += v
	f.store.mu.Unlock()
}

// Observe adds one observation to the histogram series with label values lv, creating it.
func (f *Family) Observe(v float64, lv ...string) {
	now := time.Now().UnixNano()
	f.store.mu.Lock()
	f.observe(f.get(lv), v, now)
	f.store.mu.Unlock()
}

// ObserveCached is Observe through a Handle (see Handle).
func (f *Family) ObserveCached(h *Handle, v float64, lv ...string) {
	now := time.Now().UnixNano()
	f.store.mu.Lock()
	f.observe(f.getCached(h, lv), v, now)
	f.store.mu.Unlock()
}

// observe adds v to the histogram in slot. f.store.mu must be held.
func (f *Family) observe(slot int32, v float64, now int64) {
	counts := f.counts[int(slot)*f.stride() : int(slot+1)*f.stride()]
	if !f.native[slot].observe(v, f.nopts, now) {
		// Too many native buckets and the last reset long enough ago: the series starts
		// again, from this observation, as client_golang's histograms do.
		clear(counts)
		f.values[slot] = 0
		f.native[slot].clear(f.nopts, now)
		f.native[slot].observe(v, f.nopts, now)
	}
	i, _ := slices.BinarySearch(f.buckets, v) // first bucket with bound >= v
	if i < len(f.buckets) && !math.IsNaN(v) { // NaN is counted in no bucket but +Inf
		counts[i]++
	}
	counts[len(f.buckets)]++
	f.values[slot] += v
}

// Remove deletes the series with exactly these label values, if it exists.
func (f *Family) Remove(lv ...string) {
	f.store.mu.Lock()
	// Most calls find nothing to remove (a phase that did not happen, an Age header that is
	// still absent): look up without building a key string, as get does.
	f.scratch = appendSeriesKey(f.scratch[:0], lv)
	if _, ok := f.index[string(f.scratch)]; ok {
		f.removeKey(string(f.scratch))
	}
	f.store.mu.Unlock()
}

func (f *Family) removeKey(key string) {
	slot, ok := f.index[key]
	if !ok {
		return
	}
	delete(f.index, key)
	if i, found := f.search(key); found {
		f.ordered = slices.Delete(f.ordered, i, i+1)
	}
	f.release(slot)
}

// RemovePrefix deletes every series whose first label values are prefix (for a probe: its
// vantage, target and ip_version).
func (f *Family) RemovePrefix(prefix []string) {
	f.store.mu.Lock()
	defer f.store.mu.Unlock()
	if len(f.labelNames) == len(prefix) {
		f.removeKey(seriesKey(prefix))
		return
	}
	// Keys sort by their label values in order, so a probe's series are one contiguous run.
	p := seriesKey(prefix) + "\xff"
	i, _ := f.search(p)
	j := i
	for j < len(f.ordered) && strings.HasPrefix(f.keys[f.ordered[j]], p) {
		delete(f.index, f.keys[f.ordered[j]])
		f.release(f.ordered[j])
		j++
	}
	f.ordered = slices.Delete(f.ordered, i, j)
}

// Reset deletes every series of the family.
func (f *Family) Reset() {
	f.store.mu.Lock()
	for _, slot := range f.ordered {
		f.store.unshare(f, f.keys[slot])
	}
	f.index, f.ordered, f.free, f.columns = map[string]int32{}, nil, nil, columns{}
	f.store.mu.Unlock()
}

// familySnapshot is one family as a scrape copied it.
type familySnapshot struct {
	f       *Family
	ordered []int32 // slots in output order
	columns         // native only when the copy is for Gather
	// The native histograms' buckets (Gather only): the copies in native point into these.
	bucketKeys   []int32
	bucketCounts []uint64
}

// eachFamily calls fn with a copy of every non-empty family in turn, made under the lock and
// read by fn without it. A scrape copies one family at a time into the same arrays: the
// lock is held for a few memmoves of one family, which is all Set, Add and Observe may have
// to wait for, and a scrape holds a copy of one family at a time, not of the whole store.
// (A probe's results are recorded family by family, each under the lock on its own, so a
// copy of every family at once would not be one moment of every probe anyway.) Nothing is
// allocated under the lock: the arrays grow, when a family has outgrown them, between two
// attempts. Native histograms are copied only for Gather, which needs them.
func (s *Store) eachFamily(forGather bool, fn func(*familySnapshot) error) error {
	s.mu.Lock()
	families := slices.Clone(s.families)
	s.mu.Unlock()
	var fs familySnapshot
	for _, f := range families {
		if !fs.copyFrom(f, forGather) {
			continue
		}
		if err := fn(&fs); err != nil {
			return err
		}
	}
	return nil
}

// copyFrom copies f into fs's arrays, growing them (without the lock) until f fits; it returns
// false for an empty family.
func (fs *familySnapshot) copyFrom(f *Family, forGather bool) bool {
	for {
		f.store.mu.Lock()
		if len(f.ordered) == 0 {
			f.store.mu.Unlock()
			return false
		}
		nb := 0
		if forGather {
			for i := range f.native {
				nb += len(f.native[i].pos.keys) + len(f.native[i].neg.keys)
			}
		}
		need := [...]int{len(f.ordered), len(f.keys), len(f.counts), len(f.native), nb}
		have := [...]int{cap(fs.ordered), cap(fs.keys), cap(fs.counts), cap(fs.native), cap(fs.bucketKeys)}
		if !forGather {
			need[3], need[4] = 0, 0
		}
		if need[0] <= have[0] && need[1] <= have[1] && need[2] <= have[2] && need[3] <= have[3] && need[4] <= have[4] {
			fs.f = f
			fs.ordered = append(fs.ordered[:0], f.ordered...)
			fs.keys = append(fs.keys[:0], f.keys...)
			fs.values = append(fs.values[:0], f.values...)
			fs.counts = append(fs.counts[:0], f.counts...)
			if forGather {
				fs.native = fs.native[:0]
				fs.bucketKeys, fs.bucketCounts = fs.bucketKeys[:0], fs.bucketCounts[:0]
				for i := range f.native {
					var h nativeHist
					h, fs.bucketKeys, fs.bucketCounts = f.native[i].copyTo(fs.bucketKeys, fs.bucketCounts)
					fs.native = append(fs.native, h)
				}
			}
			f.store.mu.Unlock()
			return true
		}
		f.store.mu.Unlock()
		// A little room for series added in the meantime.
		grow := func(n int) int { return n + n/16 + 64 }
		fs.ordered = make([]int32, 0, grow(need[0]))
		fs.keys = make([]string, 0, grow(need[1]))
		fs.values = make([]float64, 0, grow(need[1]))
		fs.counts = make([]uint64, 0, grow(need[2]))
		if forGather {
			fs.native = make([]nativeHist, 0, grow(need[3]))
			fs.bucketKeys = make([]int32, 0, grow(need[4]))
			fs.bucketCounts = make([]uint64, 0, grow(need[4]))
		}
	}
}

// Write appends every family in the text exposition format 0.0.4, or in OpenMetrics 1.0
// (without the final "# EOF", which the caller writes after all other families). It formats
// and writes a snapshot without holding the store's lock, so a slow or stalled w delays
// nothing but this call.
func (s *Store) Write(w *bufio.Writer, openMetrics bool) error {
	buf := make([]byte, 0, 256)
	var labels []byte // the series' label text, made from its key
	var bounds []int
	return s.eachFamily(false, func(fs *familySnapshot) error {
		f := fs.f
		metaName := f.name
		if openMetrics && f.kind == Counter {
			metaName = strings.TrimSuffix(f.name, "_total")
		}
		buf = append(buf[:0], "# HELP "...)
		buf = append(buf, metaName...)
		buf = append(buf, ' ')
		buf = append(buf, f.help...)
		buf = append(buf, "\n# TYPE "...)
		buf = append(buf, metaName...)
		buf = append(buf, ' ')
		buf = append(buf, f.kind.String()...)
		buf = append(buf, '\n')
		if _, err := w.Write(buf); err != nil {
			return err
		}
		les := f.bucketText
		if openMetrics {
			les = f.bucketOM
		}
		stride := f.stride()
		for _, slot := range fs.ordered {
			labels, bounds = f.appendLabels(labels[:0], fs.keys[slot], bounds)
			buf = buf[:0]
			if f.kind != Histogram {
				buf = appendSample(buf, f.name, "", labels, fs.values[slot], openMetrics)
			} else {
				counts := fs.counts[int(slot)*stride : int(slot+1)*stride]
				var cum uint64
				for b, c := range counts[:len(f.buckets)] {
					cum += c
					buf = appendBucket(buf, f.name, labels, les[b], cum)
				}
				total := counts[len(f.buckets)]
				buf = appendBucket(buf, f.name, labels, "+Inf", total)
				buf = appendSample(buf, f.name, "_sum", labels, fs.values[slot], openMetrics)
				buf = append(buf, f.name...)
				buf = append(buf, "_count"...)
				buf = appendLabelsClose(buf, labels)
				buf = strconv.AppendUint(append(buf, ' '), total, 10)
				buf = append(buf, '\n')
			}
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
		return nil
	})
}

// appendLabels appends the label text of the series with key to buf: `{a="x",b="y"` with the
// label names sorted and the values escaped, without the closing brace; nothing for a family
// without labels. bounds is scratch space for where each label value starts in key.
func (f *Family) appendLabels(buf []byte, key string, bounds []int) ([]byte, []int) {
	if len(f.labelNames) == 0 {
		return buf, bounds
	}
	// Value i is key[bounds[i] : bounds[i+1]-1]. One pass finds them and whether any value
	// needs escaping (hardly ever).
	bounds = append(bounds[:0], 0)
	escape := false
	for i := 0; i < len(key); i++ {
		switch key[i] {
		case '\xff':
			bounds = append(bounds, i+1)
		case '\\', '\n', '"':
			escape = true
		}
	}
	bounds = append(bounds, len(key)+1)
	for n, i := range f.order {
		buf = append(buf, f.labelText[n]...)
		if i+1 < len(bounds) {
			v := key[bounds[i] : bounds[i+1]-1]
			if escape {
				v = escapeLabelValue(v)
			}
			buf = append(buf, v...)
		}
	}
	return append(buf, '"'), bounds
}

func appendLabelsClose(buf []byte, labels []byte) []byte {
	if len(labels) == 0 {
		return buf
	}
	return append(append(buf, labels...), '}')
}

func appendSample(buf []byte, name, suffix string, labels []byte, v float64, openMetrics bool) []byte {
	buf = append(buf, name...)
	buf = append(buf, suffix...)
	buf = appendLabelsClose(buf, labels)
	buf = appendFloat(append(buf, ' '), v, openMetrics)
	return append(buf, '\n')
}

func appendBucket(buf []byte, name string, labels []byte, le string, count uint64) []byte {
	buf = append(buf, name...)
	buf = append(buf, "_bucket"...)
	if len(labels) == 0 {
		buf = append(buf, `{le="`...)
	} else {
		buf = append(buf, labels...)
		buf = append(buf, `,le="`...)
	}
	buf = append(buf, le...)
	buf = append(buf, `"} `...)
	buf = strconv.AppendUint(buf, count, 10)
	return append(buf, '\n')
}

// appendFloat formats a sample value as expfmt does: shortest representation, and in
// OpenMetrics always with a decimal point or exponent.
func appendFloat(buf []byte, f float64, openMetrics bool) []byte {
	switch {
	case math.IsNaN(f):
		return append(buf, "NaN"...)
	case math.IsInf(f, +1):
		return append(buf, "+Inf"...)
	case math.IsInf(f, -1):
		return append(buf, "-Inf"...)
	}
	start := len(buf)
	buf = strconv.AppendFloat(buf, f, 'g', -1, 64)
	if openMetrics && !strings.ContainsAny(string(buf[start:]), "e.") {
		buf = append(buf, ".0"...)
	}
	return buf
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)

func escapeLabelValue(v string) string { return labelEscaper.Replace(v) }

// Gather returns the store's families as protobuf messages, for the protobuf exposition
// format (native histograms) and for tests. It is the slow path the text formats avoid, and
// like Write it builds the messages from a snapshot, without the store's lock.
func (s *Store) Gather() ([]*dto.MetricFamily, error) {
	var out []*dto.MetricFamily
	err := s.eachFamily(true, func(fs *familySnapshot) error {
		f := fs.f
		mf := &dto.MetricFamily{Name: proto.String(f.name), Help: proto.String(f.help)}
		switch f.kind {
		case Gauge:
			mf.Type = dto.MetricType_GAUGE.Enum()
		case Counter:
			mf.Type = dto.MetricType_COUNTER.Enum()
		case Histogram:
			mf.Type = dto.MetricType_HISTOGRAM.Enum()
		}
		stride := f.stride()
		for _, slot := range fs.ordered {
			m := &dto.Metric{}
			switch f.kind {
			case Histogram:
				counts := fs.counts[int(slot)*stride : int(slot+1)*stride]
				h := &dto.Histogram{
					SampleCount:      proto.Uint64(counts[len(f.buckets)]),
					SampleSum:        proto.Float64(fs.values[slot]),
					Bucket:           make([]*dto.Bucket, len(f.buckets)),
					CreatedTimestamp: timestamppb.New(time.Unix(0, fs.native[slot].created)),
				}
				var cum uint64
				for b, bound := range f.buckets {
					cum += counts[b]
					h.Bucket[b] = &dto.Bucket{CumulativeCount: proto.Uint64(cum), UpperBound: proto.Float64(bound)}
				}
				if f.nopts.schema != math.MinInt32 {
					fs.native[slot].write(h)
				}
				m.Histogram = h
			case Gauge:
				m.Gauge = &dto.Gauge{Value: proto.Float64(fs.values[slot])}
			case Counter:
				m.Counter = &dto.Counter{Value: proto.Float64(fs.values[slot])}
			}
			if len(f.labelNames) > 0 {
				lv := strings.Split(fs.keys[slot], "\xff")
				for _, i := range f.order {
					m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(f.labelNames[i]), Value: proto.String(lv[i])})
				}
			}
			mf.Metric = append(mf.Metric, m)
		}
		out = append(out, mf)
		return nil
	})
	return out, err
}
