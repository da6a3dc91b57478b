package collector

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/popexporter/pop_exporter/collector/edge"
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
	for _, d := range Definitions() {
		code[d.Name] = [2]string{d.Type, strings.Join(d.Labels, ", ")}
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

// TestREADMECDNLabelValues: the README lists the bounded values of the cdn label; the list
// must be the built-in rule table's, in its order, with its count.
func TestREADMECDNLabelValues(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("`cdn` is one of `([a-z0-9_,\\s]+)` \\(([0-9]+)\\)").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md does not list the cdn label values (\"`cdn` is one of `…` (N)\")")
	}
	var got []string
	for _, v := range strings.Split(string(m[1]), ",") {
		got = append(got, strings.TrimSpace(v))
	}
	if want := edge.CDNs(); !slices.Equal(got, want) {
		t.Errorf("README lists cdn values\n%v\nthe rule table has\n%v", got, want)
	}
	if n := strconv.Itoa(len(edge.CDNs())); string(m[2]) != n {
		t.Errorf("README counts %s cdn values, the rule table has %s", m[2], n)
	}
}
