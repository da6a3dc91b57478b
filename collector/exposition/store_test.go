package exposition

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

var testBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1}

// testStore has one family of each kind, with probe-like labels, filled for a few probes.
func testStore(probes int) *Store {
	st := NewStore()
	probeLabels := []string{"vantage", "target", "ip_version"}
	up := st.NewFamily("test_probe_success", "1 if the last probe succeeded.", Gauge, probeLabels, nil)
	fails := st.NewFamily("test_probe_failures_total", "Failures by reason.", Counter, append(probeLabels, "reason"), nil)
	ttfb := st.NewFamily("test_probe_ttfb_seconds", "Time to first byte.", Histogram, append(probeLabels, "pop", "cache_status"),
		&prometheus.HistogramOpts{Buckets: testBuckets, NativeHistogramBucketFactor: 1.1, NativeHistogramMaxBucketNumber: 100})
	info := st.NewFamily("test_info", "Labels that need escaping; always 1.", Gauge, []string{"vantage", "city"}, nil)
	for i := range probes {
		lv := []string{"ams-office", fmt.Sprintf("t%d", i), "4"}
		up.Set(float64(i%2), lv...)
		fails.Add(0, append(lv, "dns")...)
		fails.Add(float64(i), append(lv, "timeout")...)
		for j, pop := range []string{"AMS", "FRA", "SIN", "AMS"} {
			ttfb.Observe(float64(j*37+i)/1000, append(lv, pop, []string{"hit", "miss"}[j%2])...)
		}
	}
	info.Set(1, `vant"age`, `back\slash`+"\nnewline")
	info.Set(1, "plain", "Zürich")
	return st
}

// The store writes the text formats itself; they must be exactly what expfmt makes of the
// same series gathered as protobuf messages, label escaping, histograms and all.
func TestStoreWritesWhatExpfmtWrites(t *testing.T) {
	st := testStore(3)
	for _, tc := range []struct {
		name   string
		format expfmt.Format
		om     bool
	}{
		{"text", expfmt.NewFormat(expfmt.TypeTextPlain), false},
		{"openmetrics", expfmt.NewFormat(expfmt.TypeOpenMetrics), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got bytes.Buffer
			w := bufio.NewWriter(&got)
			if err := st.Write(w, tc.om); err != nil {
				t.Fatal(err)
			}
			w.Flush()

			mfs, err := st.Gather()
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			enc := expfmt.NewEncoder(&want, tc.format)
			for _, mf := range mfs {
				if err := enc.Encode(mf); err != nil {
					t.Fatal(err)
				}
			}
			if got.String() != want.String() {
				gl, wl := strings.Split(got.String(), "\n"), strings.Split(want.String(), "\n")
				for i := range min(len(gl), len(wl)) {
					if gl[i] != wl[i] {
						t.Fatalf("line %d differs:\n got %s\nwant %s", i+1, gl[i], wl[i])
					}
				}
				t.Fatalf("got %d lines, want %d", len(gl), len(wl))
			}
			if !strings.Contains(got.String(), `test_probe_ttfb_seconds_bucket{cache_status="hit",ip_version="4",pop="AMS",target="t0",vantage="ams-office",le="0.005"}`) {
				t.Errorf("no TTFB bucket line for t0 at AMS in:\n%s", got.String())
			}
		})
	}
}

// Removing a probe removes exactly its series: t1's, not t10's, whose key shares a prefix.
func TestStoreRemovePrefix(t *testing.T) {
	st := testStore(11)
	for _, f := range st.families {
		if f.labelNames[0] == "vantage" && len(f.labelNames) >= 3 {
			f.RemovePrefix([]string{"ams-office", "t1", "4"})
		}
	}
	mfs, _ := st.Gather()
	seen := map[string]bool{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			for _, lp := range mt.GetLabel() {
				if lp.GetName() == "target" {
					seen[lp.GetValue()] = true
				}
			}
			if h := mt.GetHistogram(); h != nil {
				seen["histogram"] = true
			}
		}
	}
	if seen["t1"] || !seen["t10"] || !seen["t2"] || len(seen) != 11 {
		t.Errorf("targets left after removing t1: %v, want t0, t2..t10 and histograms", seen)
	}
}

// Series of different families with the same labels share one copy of their key (their label
// values, from which a scrape writes their label text), and a removed series gives its copy
// up: a store emptied of its series keeps none.
func TestStoreSharesLabelValues(t *testing.T) {
	st := NewStore()
	probeLabels := []string{"vantage", "target", "ip_version"}
	up := st.NewFamily("up", "h", Gauge, probeLabels, nil)
	dur := st.NewFamily("duration", "h", Gauge, probeLabels, nil)
	phase := st.NewFamily("phase", "h", Gauge, append(probeLabels, "phase"), nil)
	for i := range 100 {
		lv := []string{"ams", fmt.Sprint("t", i), "ip4"}
		up.Set(1, lv...)
		dur.Set(2, lv...)
		phase.Set(3, append(lv, "dns")...)
		phase.Set(4, append(lv, "connect")...)
	}
	// Per probe: one key for up and duration together; phase, whose label names no other
	// family has, keeps its own.
	if n := len(st.shared); n != 100 {
		t.Errorf("%d shared strings, want %d", n, 100)
	}
	if up.shares != true || dur.shares != true || phase.shares != false {
		t.Errorf("shares: up %v, duration %v, phase %v; want true, true, false", up.shares, dur.shares, phase.shares)
	}
	if a, b := up.keys[up.index["ams\xfft7\xffip4"]], dur.keys[dur.index["ams\xfft7\xffip4"]]; unsafe.StringData(a) != unsafe.StringData(b) {
		t.Errorf("up and duration keep separate copies of %q", a)
	}
	for i := range 50 {
		lv := []string{"ams", fmt.Sprint("t", i), "ip4"}
		up.Remove(lv...)
		for _, f := range []*Family{dur, phase} {
			f.RemovePrefix(lv)
		}
	}
	if n := len(st.shared); n != 50 {
		t.Errorf("%d shared strings after removing half the probes, want %d", n, 50)
	}
	for _, f := range []*Family{up, dur, phase} {
		f.Reset()
	}
	if n := len(st.shared); n != 0 {
		t.Errorf("%d shared strings left in an empty store", n)
	}
}

// A Handle finds its series again without a lookup, and never writes to another series: not
// after the caller changes the label values it passes, nor after its series was removed and
// its slot given to another one.
func TestHandleWritesTheRightSeries(t *testing.T) {
	st := NewStore()
	f := st.NewFamily("g", "h", Gauge, []string{"target", "pop"}, nil)
	value := func(lv ...string) float64 {
		slot, ok := f.index[seriesKey(lv)]
		if !ok {
			return math.NaN()
		}
		return f.values[slot]
	}
	var h Handle
	f.SetCached(&h, 1, "a", "AMS")
	f.SetCached(&h, 2, "a", "AMS")
	if v := value("a", "AMS"); v != 2 || len(f.ordered) != 1 {
		t.Fatalf("a/AMS = %v with %d series, want 2 with 1", v, len(f.ordered))
	}
	f.SetCached(&h, 3, "a", "FRA") // another series through the same handle
	if a, b := value("a", "AMS"), value("a", "FRA"); a != 2 || b != 3 {
		t.Fatalf("a/AMS = %v, a/FRA = %v; want 2 and 3", a, b)
	}
	f.Remove("a", "FRA")
	f.Set(4, "b", "FRA") // takes the free slot the handle points at
	f.SetCached(&h, 5, "a", "FRA")
	if b, a := value("b", "FRA"), value("a", "FRA"); b != 4 || a != 5 {
		t.Fatalf("b/FRA = %v, a/FRA = %v; want 4 and 5", b, a)
	}
	// Prefixes of one another are different series: "a" "AMS" is not "a\xffAMS" "".
	if keyIs("a\xffAMS", []string{"a", "AM"}) || keyIs("a\xffAMS", []string{"a"}) || keyIs("", []string{""}) || !keyIs("a\xffAMS", []string{"a", "AMS"}) {
		t.Error("keyIs matches a key it is not")
	}
	hf := st.NewFamily("h_seconds", "h", Histogram, []string{"target"}, &prometheus.HistogramOpts{Buckets: []float64{1}})
	var hh Handle
	for range 3 {
		hf.ObserveCached(&hh, 0.5, "a")
	}
	hf.ObserveCached(&hh, 2, "b")
	if n := hf.counts[int(hf.index["a"])*hf.stride()+1]; n != 3 {
		t.Errorf("histogram a counted %d observations, want 3", n)
	}
}

// A label value that is not valid UTF-8 (a \xff byte would split the series key where the
// store joins label values) is written with U+FFFD, in its own label, as one series however
// often it is set.
func TestStoreInvalidUTF8LabelValue(t *testing.T) {
	st := NewStore()
	f := st.NewFamily("test_info", "h", Gauge, []string{"a", "b", "c"}, nil)
	var h Handle
	for range 3 {
		f.Set(1, "x\xffy", "ok", "\xfe")
		f.SetCached(&h, 2, "x\xffy", "ok", "\xfe")
	}
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	if err := st.Write(w, false); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	want := "test_info{a=\"x\uFFFDy\",b=\"ok\",c=\"\uFFFD\"} 2\n"
	if !strings.HasSuffix(out.String(), want) || strings.Count(out.String(), "test_info{") != 1 {
		t.Errorf("got\n%s\nwant one series, %q", out.String(), want)
	}
	mfs, err := st.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(mfs[0].GetMetric()[0].GetLabel()); n != 3 {
		t.Errorf("Gather: %d labels, want 3", n)
	}
}
