package mixin

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestRenderedFilesAreFresh: the committed dashboards and rule file are the mixin rendered
// with its defaults. Edit the mixin and run `go generate ./dashboards/mixin/`.
func TestRenderedFilesAreFresh(t *testing.T) {
	r, err := Render("")
	if err != nil {
		t.Fatal(err)
	}
	if len(r) != 8 {
		t.Errorf("rendered %d files, want 5 dashboards, the rule file, a ServiceMonitor and a PrometheusRule", len(r))
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
}

func render(t *testing.T, config string) rendered {
	t.Helper()
	r, err := Render(config)
	if err != nil {
		t.Fatal(err)
	}
	out := rendered{variables: map[string][]string{}, rules: r[RulesFile]}
	var rf struct {
		Groups []struct {
			Rules []struct {
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
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
	checkRules(t, r.rules)
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
