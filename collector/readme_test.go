package collector

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// The README's metrics reference is the document users read: every metric the registry has
// must be there with its type and labels, and nothing else.
func TestREADMEMetricsReference(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "<!-- metrics:start -->")
	section, _, ok2 := strings.Cut(section, "<!-- metrics:end -->")
	if !ok || !ok2 {
		t.Fatal("README.md has no <!-- metrics:start --> ... <!-- metrics:end --> section")
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| ([a-z]+) \\|\\s*([a-z_, ]*?)\\s*\\|")
	documented := map[string][2]string{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		documented[m[1]] = [2]string{m[2], m[3]}
	}

	code := map[string][2]string{BuildInfoName: {"gauge", "version, revision, branch, goversion, goos, goarch, tags"}}
	mt := newMetrics()
	for _, f := range mt.store.families {
		code[f.name] = [2]string{f.kind.String(), strings.Join(f.labelNames, ", ")}
	}
	for _, c := range mt.collectors() {
		dc := make(chan *prometheus.Desc, 10)
		c.Describe(dc)
		close(dc)
		kind := metricType(c)
		for d := range dc {
			code[descName(d)] = [2]string{kind, strings.Join(descLabels(d), ", ")}
		}
	}
	for name, want := range code {
		got, ok := documented[name]
		if !ok {
			t.Errorf("README metrics reference lacks %s (%s; labels %s)", name, want[0], want[1])
			continue
		}
		if name != BuildInfoName && got != want {
			t.Errorf("README says %s is %s with labels [%s]; the code has %s with [%s]", name, got[0], got[1], want[0], want[1])
		}
	}
	for name := range documented {
		if _, ok := code[name]; !ok {
			t.Errorf("README documents %s, which the exporter does not expose", name)
		}
	}
}

func metricType(c prometheus.Collector) string {
	switch c.(type) {
	case *prometheus.GaugeVec, prometheus.Gauge:
		return "gauge"
	case *prometheus.CounterVec, prometheus.Counter:
		return "counter"
	case *prometheus.HistogramVec, prometheus.Histogram:
		return "histogram"
	}
	return "unknown"
}

// descLabels extracts the variable label names of a Desc in declaration order.
func descLabels(d *prometheus.Desc) []string {
	s := d.String()
	_, rest, ok := strings.Cut(s, "variableLabels: {")
	if !ok {
		return nil
	}
	rest, _, _ = strings.Cut(rest, "}")
	if rest == "" {
		return nil
	}
	return slices.Collect(strings.SplitSeq(rest, ","))
}
