package mixin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestRenderedFilesAreFresh: the committed dashboards, rule file and Operator objects are the
// mixin rendered with its defaults, and the Helm chart's and the kustomize component's
// multi-cluster renderings are the mixin rendered with multiCluster. Edit the mixin and run
// `go generate ./dashboards/mixin/`.
func TestRenderedFilesAreFresh(t *testing.T) {
	r, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	if len(r) != 16 {
		t.Errorf("rendered %d files, want twice 5 dashboards and a rule file (defaults, the chart's multi-cluster), and twice a ServiceMonitor and a PrometheusRule (kustomize, one and many clusters)", len(r))
	}
	for name, want := range r {
		got, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the mixin's rendering: run `go generate ./dashboards/mixin/` (first difference at line %d)",
				name, firstDifferentLine(got, want))
		}
	}
}

func firstDifferentLine(a, b []byte) int {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}

// rendered is what a test reads of a rendering: every PromQL expression of the rules and the
// dashboards, the rules' annotations and the dashboards' variables.
type rendered struct {
	exprs       []string // rule expressions, then dashboard queries
	annotations []string
	variables   map[string][]string // dashboard file → variable names
	rules       []byte
	dashboards  map[string][]byte // dashboard file → JSON
}

// rulesFile is what the tests read of a rendered rules file.
type rulesFile struct {
	Groups []struct {
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func render(t *testing.T, config string) rendered {
	t.Helper()
	r, err := Render(config)
	if err != nil {
		t.Fatal(err)
	}
	out := rendered{variables: map[string][]string{}, rules: r[RulesFile], dashboards: map[string][]byte{}}
	var rf rulesFile
	if err := yaml.Unmarshal(r[RulesFile], &rf); err != nil {
		t.Fatal(err)
	}
	for _, g := range rf.Groups {
		for _, rule := range g.Rules {
			out.exprs = append(out.exprs, rule.Expr)
			for _, a := range rule.Annotations {
				out.annotations = append(out.annotations, a)
			}
		}
	}
	for name, b := range r {
		if !strings.HasPrefix(name, DashboardsDir+"/") {
			continue
		}
		out.dashboards[path.Base(name)] = b
		var d struct {
			Templating struct {
				List []struct {
					Name       string `json:"name"`
					Definition string `json:"definition"`
				} `json:"list"`
			} `json:"templating"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, v := range d.Templating.List {
			out.variables[name] = append(out.variables[name], v.Name)
			if v.Definition != "" {
				out.exprs = append(out.exprs, v.Definition)
			}
		}
		for _, m := range regexp.MustCompile(`"expr": ("(?:[^"\\]|\\.)*")`).FindAllSubmatch(b, -1) {
			var e string
			if err := json.Unmarshal(m[1], &e); err != nil {
				t.Fatal(err)
			}
			out.exprs = append(out.exprs, e)
		}
	}
	return out
}

// TestSelectorIsConfigurable: a user who relabels job renders rules and dashboards that select
// their job, and nothing selects job="pop_exporter" any more.
func TestSelectorIsConfigurable(t *testing.T) {
	r := render(t, `{selector: 'job="cdn-probes"'}`)
	found := false
	for _, e := range append(r.exprs, r.annotations...) {
		if strings.Contains(e, `job="pop_exporter"`) {
			t.Errorf("still selects job=\"pop_exporter\": %.200s", e)
		}
		found = found || strings.Contains(e, `up{job="cdn-probes"}`)
	}
	if !found {
		t.Error(`no rule selects up{job="cdn-probes"}`)
	}
}

// TestMultiCluster: with multiCluster every join and grouping on job and instance, and every
// grouping by vantage, keeps the cluster label (agents in two clusters may share an instance
// string and a vantage name); alert descriptions look their probe up by cluster too, and
// their look-ups join and group by it; every
// dashboard has a cluster variable; and the rendered rules are valid for promtool.
func TestMultiCluster(t *testing.T) {
	r := render(t, `{multiCluster: true, clusterLabel: 'k8s_cluster'}`)
	joins := regexp.MustCompile(`(?:by|on) ?\(([^)]*)\)`)
	checked := 0
	for _, e := range r.exprs {
		for _, m := range joins.FindAllStringSubmatch(e, -1) {
			labels := strings.Split(m[1], ", ")
			if !strings.Contains(m[1], "instance") && (len(labels) == 0 || labels[0] != "vantage") {
				continue
			}
			checked++
			if !slices.Contains(labels, "k8s_cluster") {
				t.Errorf("%q does not keep k8s_cluster: %.300s", m[0], e)
			}
		}
	}
	if checked < 100 {
		t.Errorf("checked %d joins and groupings, expected the rules' and dashboards' hundreds", checked)
	}
	for _, a := range r.annotations {
		if strings.Contains(a, "instance=%q") && !strings.Contains(a, "k8s_cluster=%q,instance=%q") {
			t.Errorf("an annotation looks a probe up without its cluster: %.300s", a)
		}
		// An exporter named by its instance, or a vantage of a list, is named with its
		// cluster: both may repeat across clusters.
		for _, name := range []string{"pop_exporter {{ $labels.instance }}", "{{ $s.Labels.vantage }}"} {
			if strings.Contains(a, name) && !strings.Contains(a, name+" ({{ index $") {
				t.Errorf("an annotation names %s without its cluster: %.300s", name, a)
			}
		}
		// The look-ups' own joins and groupings: a join on instance without the cluster
		// matches another cluster's probe of the same instance string, a grouping by vantage
		// merges two clusters' vantages of the same name.
		for _, m := range joins.FindAllStringSubmatch(a, -1) {
			labels := strings.Split(m[1], ", ")
			if (slices.Contains(labels, "instance") || slices.Contains(labels, "vantage")) && !slices.Contains(labels, "k8s_cluster") {
				t.Errorf("an annotation's look-up %q does not keep k8s_cluster: %.300s", m[0], a)
			}
		}
	}
	for file, vars := range r.variables {
		if len(vars) < 2 || vars[1] != "cluster" {
			t.Errorf("%s: variables %v, want cluster after the data source", file, vars)
		}
	}
	// The Alerts firing rows name the cluster: PopExporterDown of two clusters sharing an
	// instance string would read the same.
	if !bytes.Contains(r.dashboards["pop-overview.json"], []byte(`{{at}} {{k8s_cluster}} {{instance}}`)) {
		t.Error("the Alerts firing rows do not name the cluster")
	}
	checkRules(t, r.rules)
}

// TestClusterLabelAndSelectorGoInLast: the renderings for a cluster label and a selector are
// the placeholder rendering (the Helm chart's files/multi-cluster/) and the default one with
// ClusterLabelPlaceholder and DefaultSelector replaced, in the rules' expressions and
// annotations and anywhere in the dashboards' JSON, which is what the chart does with its
// mixin values. Selectors with regular expressions, several matchers and a quote, and labels
// that contain the names the mixin looks for, render the same both ways.
func TestClusterLabelAndSelectorGoInLast(t *testing.T) {
	generated, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	chartRules := generated[path.Join(ChartMultiClusterDir, path.Base(RulesFile))]
	for _, c := range []struct {
		multi           bool
		label, selector string
	}{
		{false, "cluster", `job="cdn-probes"`},
		{true, "k8s_cluster", `job=~"pop|probes", env="prod"`},
		{true, "vantage_instance", `job="say \"hi\""`},
		{true, "cluster", `job="pop_exporter", namespace="monitoring"`}, // the default selector inside
	} {
		config := fmt.Sprintf("{multiCluster: %v, clusterLabel: %q, selector: %q}", c.multi, c.label, c.selector)
		want, err := Render(config)
		if err != nil {
			t.Fatal(err)
		}
		rules, dashboardsDir := generated[RulesFile], DashboardsDir
		if c.multi {
			rules, dashboardsDir = chartRules, path.Join(ChartMultiClusterDir, "dashboards")
		}
		got := replaceInRules(t, rules, c.label, c.selector)
		if w := parseRules(t, want[RulesFile]); !reflect.DeepEqual(got, w) {
			t.Errorf("%s: the rules with the label and selector replaced differ from the mixin's rendering", config)
		}
		jsonSelector, _ := json.Marshal(c.selector)
		for name, b := range want {
			if !strings.HasPrefix(name, DashboardsDir+"/") {
				continue
			}
			src := generated[path.Join(dashboardsDir, path.Base(name))]
			replaced := strings.ReplaceAll(strings.ReplaceAll(string(src), ClusterLabelPlaceholder, c.label),
				`job=\"pop_exporter\"`, string(jsonSelector[1:len(jsonSelector)-1]))
			if replaced != string(b) {
				t.Errorf("%s: %s with the label and selector replaced differs from the mixin's rendering at line %d", config, name,
					firstDifferentLine([]byte(replaced), b))
			}
		}
	}
	// The placeholder is in the chart's multi-cluster files only.
	for name, b := range generated {
		if has := bytes.Contains(b, []byte(ClusterLabelPlaceholder)); has != strings.HasPrefix(name, ChartMultiClusterDir+"/") {
			t.Errorf("%s: placeholder %s present: %v", name, ClusterLabelPlaceholder, has)
		}
	}
	// The placeholder and the default selector are the mixin's own.
	err = fs.WalkDir(sources, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := sources.ReadFile(p)
		if strings.Count(string(b), ClusterLabelPlaceholder) > 0 && p != "mixin.libsonnet" {
			t.Errorf("%s contains %s: it would be replaced by the cluster label", p, ClusterLabelPlaceholder)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	mixin, _ := sources.ReadFile("mixin.libsonnet")
	for _, want := range []string{fmt.Sprintf("clusterLabelPlaceholder:: '%s'", ClusterLabelPlaceholder), fmt.Sprintf("defaultSelector:: '%s'", DefaultSelector)} {
		if !strings.Contains(string(mixin), want) {
			t.Errorf("mixin.libsonnet has no %s", want)
		}
	}
}

type ruleFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []map[string]any
	} `yaml:"groups"`
}

func parseRules(t *testing.T, b []byte) ruleFile {
	t.Helper()
	var rf ruleFile
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatal(err)
	}
	return rf
}

// replaceInRules replaces the cluster label placeholder and the default selector in every
// rule's expression and annotations, in that order, as the Helm chart's PrometheusRule does.
func replaceInRules(t *testing.T, b []byte, label, selector string) ruleFile {
	t.Helper()
	rf := parseRules(t, b)
	replace := func(s string) string {
		return strings.ReplaceAll(strings.ReplaceAll(s, ClusterLabelPlaceholder, label), DefaultSelector, selector)
	}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if e, ok := r["expr"].(string); ok {
				r["expr"] = replace(e)
			}
			if a, ok := r["annotations"].(map[string]any); ok {
				for k, v := range a {
					a[k] = replace(v.(string))
				}
			}
		}
	}
	return rf
}

// TestDefaultsAreOneCluster: the default rendering names no cluster label anywhere.
func TestDefaultsAreOneCluster(t *testing.T) {
	r := render(t, "")
	for _, e := range append(r.exprs, r.annotations...) {
		if strings.Contains(e, "cluster") {
			t.Errorf("the default rendering names a cluster: %.200s", e)
		}
	}
}

// TestThresholdsForAndRunbooks: thresholds, for: times and the runbook link pattern come from
// _config.
func TestThresholdsForAndRunbooks(t *testing.T) {
	r := render(t, `{thresholds+: {shiftDistanceKm: 3500, cacheHitRatioDrop: 0.25}, 'for'+: {PopShiftedFar: '7m'},
	  runbookURLPattern: 'https://runbooks.example/pop/%(anchor)s'}`)
	rules := string(r.rules)
	for _, want := range []string{"vector(3500e3)", "vector(0.25)", "for: 7m",
		"runbook_url: https://runbooks.example/pop/popshiftedfar"} {
		if !strings.Contains(rules, want) {
			t.Errorf("the rendered rules have no %q", want)
		}
	}
	checkRules(t, r.rules)
}

func checkRules(t *testing.T, rules []byte) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool is not installed (Debian package prometheus): the rendered rules are not checked")
		return
	}
	f := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(f, rules, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", f).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
}

// Descriptions that say how long a condition has held say the alert's own `for:`, as
// rendered: a changed `for:` does not leave the text claiming the default.
func TestDescriptionsSayTheirFor(t *testing.T) {
	r := render(t, `{'for'+: {PopShiftedFar: '7m', PopShiftedFarCDNWide: '1m', PopResolverFar: '1h', PopProtocolSplit: '20m',
	  PopBeyondMaxDistance: '15m', PopUnexpected: '3m', PopProbeFailing: '90s', PopTTFBHigh: '1h30m', PopCertMismatch: '2h',
	  PopExporterDown: '6m'}}`)
	var file rulesFile
	if err := yaml.Unmarshal(r.rules, &file); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"PopShiftedFar": "answered for 7 minutes by", "PopShiftedFarCDNWide": "For 1 minute ",
		"PopResolverFar": "For 1 hour resolver", "PopProtocolSplit": "For 20 minutes target",
		"PopBeyondMaxDistance": "answered for 15 minutes by", "PopUnexpected": "answered for 3 minutes by",
		"PopProbeFailing": "has failed for 90 seconds.", "PopTTFBHigh": "threshold for 1h30m and",
		"PopCertMismatch": "For 2 hours the probes", "PopExporterDown": "stopped arriving, for 6 minutes:",
	}
	seen := 0
	for _, g := range file.Groups {
		for _, rule := range g.Rules {
			w, ok := want[rule.Alert]
			if !ok {
				continue
			}
			seen++
			if d := rule.Annotations["description"]; !strings.Contains(d, w) {
				t.Errorf("%s (for: %s): description %.160q…, want it to say %q", rule.Alert, rule.For, d, w)
			}
		}
	}
	if seen != len(want) {
		t.Errorf("found %d of the %d alerts", seen, len(want))
	}
}
