package dashboards

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/popexporter/pop_exporter/collector"
)

// rulesDir holds the Prometheus rules that the dashboards and the alerts share.
const rulesDir = "../deploy/prometheus/rules"

// prometheusSeries are series that Prometheus itself writes, not the exporter.
var prometheusSeries = map[string]bool{"up": true, "ALERTS": true, "ALERTS_FOR_STATE": true}

// requiredVariables are the template variables every dashboard offers.
var requiredVariables = []string{"datasource", "vantage", "target", "ip_version", "resolver", "protocol", "cdn"}

// loadDashboards returns every embedded dashboard as generic JSON, by file name.
func loadDashboards(t *testing.T) map[string]map[string]any {
	t.Helper()
	names, err := Names()
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 4 {
		t.Fatalf("found %d dashboards (%v), want at least 4", len(names), names)
	}
	out := map[string]map[string]any{}
	for _, n := range names {
		b, err := File(n)
		if err != nil {
			t.Fatal(err)
		}
		var d map[string]any
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s is not valid JSON: %v", n, err)
		}
		out[n] = d
	}
	return out
}

// allPanels flattens a dashboard's panels, including those inside collapsed rows.
func allPanels(d map[string]any) []map[string]any {
	var out []map[string]any
	var walk func(v any)
	walk = func(v any) {
		ps, _ := v.([]any)
		for _, p := range ps {
			pm, ok := p.(map[string]any)
			if !ok {
				continue
			}
			out = append(out, pm)
			walk(pm["panels"])
		}
	}
	walk(d["panels"])
	return out
}

func TestDashboardModel(t *testing.T) {
	ds := loadDashboards(t)
	uids := map[string]string{}
	titles := map[string]string{}
	for name, d := range ds {
		uid, _ := d["uid"].(string)
		if uid == "" {
			t.Errorf("%s: no uid: links and provisioning need a stable one", name)
		}
		if other, dup := uids[uid]; dup {
			t.Errorf("%s and %s share uid %q", name, other, uid)
		}
		uids[uid] = name
		title, _ := d["title"].(string)
		if other, dup := titles[title]; dup || title == "" {
			t.Errorf("%s: title %q empty or also used by %s", name, title, other)
		}
		titles[title] = name
		if v, _ := d["schemaVersion"].(float64); v < 39 {
			t.Errorf("%s: schemaVersion %v, want >= 39", name, d["schemaVersion"])
		}
		if _, ok := d["id"]; ok && d["id"] != nil {
			t.Errorf("%s: id is %v; an importable dashboard has id null", name, d["id"])
		}

		inputs, _ := d["__inputs"].([]any)
		hasPromInput := false
		for _, in := range inputs {
			m, _ := in.(map[string]any)
			if m["type"] == "datasource" && m["pluginId"] == "prometheus" {
				hasPromInput = true
			}
		}
		if !hasPromInput {
			t.Errorf("%s: no Prometheus datasource in __inputs: Grafana's import would not ask for one", name)
		}

		tags := stringList(d["tags"])
		if !slices.Contains(tags, "pop_exporter") {
			t.Errorf("%s: tags %v lack pop_exporter, which the dashboard links select", name, tags)
		}
		links, _ := d["links"].([]any)
		linked := false
		for _, l := range links {
			m, _ := l.(map[string]any)
			if m["type"] == "dashboards" && slices.Contains(stringList(m["tags"]), "pop_exporter") {
				linked = true
			}
		}
		if !linked {
			t.Errorf("%s: no link to the other pop_exporter dashboards", name)
		}

		defined := definedVariables(d)
		for _, v := range requiredVariables {
			if !defined[v] {
				t.Errorf("%s: variable %q not defined", name, v)
			}
		}

		ids := map[float64]string{}
		for _, p := range allPanels(d) {
			title, _ := p["title"].(string)
			id, ok := p["id"].(float64)
			if !ok {
				t.Errorf("%s: panel %q has no numeric id", name, title)
				continue
			}
			if other, dup := ids[id]; dup {
				t.Errorf("%s: panels %q and %q share id %v", name, title, other, id)
			}
			ids[id] = title
			if _, ok := p["gridPos"].(map[string]any); !ok {
				t.Errorf("%s: panel %q has no gridPos", name, title)
			}
			targets, _ := p["targets"].([]any)
			refs := map[string]bool{}
			for _, tg := range targets {
				tm, _ := tg.(map[string]any)
				ref, _ := tm["refId"].(string)
				if ref == "" || refs[ref] {
					t.Errorf("%s: panel %q: refId %q empty or repeated", name, title, ref)
				}
				refs[ref] = true
				dsm, _ := tm["datasource"].(map[string]any)
				if dsm["uid"] != "${datasource}" {
					t.Errorf("%s: panel %q target %s uses datasource %v, want ${datasource}", name, title, ref, tm["datasource"])
				}
			}
			if p["type"] != "row" && len(targets) > 0 {
				dsm, _ := p["datasource"].(map[string]any)
				if dsm["uid"] != "${datasource}" {
					t.Errorf("%s: panel %q uses datasource %v, want ${datasource}", name, title, p["datasource"])
				}
			}
		}
	}

	// Every link to a dashboard by uid must land on one of ours.
	linkRE := regexp.MustCompile(`/d/([A-Za-z0-9_-]+)`)
	for name := range ds {
		b, _ := File(name)
		for _, m := range linkRE.FindAllStringSubmatch(string(b), -1) {
			if _, ok := uids[m[1]]; !ok {
				t.Errorf("%s links to dashboard uid %q, which does not exist", name, m[1])
			}
		}
	}
}

func stringList(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func definedVariables(d map[string]any) map[string]bool {
	out := map[string]bool{}
	tpl, _ := d["templating"].(map[string]any)
	list, _ := tpl["list"].([]any)
	for _, v := range list {
		m, _ := v.(map[string]any)
		if n, ok := m["name"].(string); ok {
			out[n] = true
		}
	}
	return out
}

// TestVariablesDefined finds every variable reference anywhere in a dashboard (queries,
// legends, links, titles) and checks that the dashboard defines it. Grafana's own variables
// start with "__".
func TestVariablesDefined(t *testing.T) {
	ds := loadDashboards(t)
	for name, d := range ds {
		defined := definedVariables(d)
		inputs, _ := d["__inputs"].([]any)
		for _, in := range inputs {
			m, _ := in.(map[string]any)
			if n, ok := m["name"].(string); ok {
				defined[n] = true // Grafana's import replaces ${NAME} with the answer
			}
		}
		b, _ := File(name)
		used := map[string]bool{}
		for _, m := range grafanaVar.FindAllStringSubmatch(string(b), -1) {
			v := m[1] + m[2] + m[3]
			if strings.HasPrefix(v, "__") {
				continue
			}
			if _, err := strconv.Atoi(v); err == nil {
				continue // a regex back-reference such as $1 in label_replace
			}
			used[v] = true
			if !defined[v] {
				t.Errorf("%s uses variable $%s, which it does not define", name, v)
			}
		}
		for _, v := range requiredVariables[1:] {
			if !used[v] {
				t.Errorf("%s defines $%s but no query uses it", name, v)
			}
		}
	}
}

func TestQueries(t *testing.T) {
	qs, err := Queries()
	if err != nil {
		t.Fatal(err)
	}
	perDashboard := map[string]int{}
	kinds := map[Kind]int{}
	for _, q := range qs {
		perDashboard[q.Dashboard]++
		kinds[q.Kind]++
		if q.Kind == KindPanel && q.RefID == "" {
			t.Errorf("%s %q: panel query without refId", q.File, q.Panel)
		}
		e := Expand(q.Expr)
		if strings.Contains(e, "$__") || regexp.MustCompile(`\$\{?(vantage|target|ip_version|resolver|protocol|cdn|pop)\b`).MatchString(e) {
			t.Errorf("%s %q %s: variables left after Expand: %s", q.File, q.Panel, q.RefID, e)
		}
	}
	for _, uid := range []string{"pop-overview", "pop-shifts", "pop-latency", "pop-cache", "pop-fleet"} {
		if perDashboard[uid] == 0 {
			t.Errorf("no queries found for dashboard %s", uid)
		}
	}
	if kinds[KindPanel] == 0 || kinds[KindAnnotation] == 0 || kinds[KindVariable] == 0 {
		t.Errorf("query kinds found: %v; want panel, annotation and variable queries", kinds)
	}
	for _, q := range qs {
		if q.Kind == KindVariable && q.Panel == "vantage" {
			if want := "count by (vantage) (pop_vantage_info)"; q.Expr != want {
				t.Errorf("vantage variable as PromQL = %q, want %q", q.Expr, want)
			}
		}
	}
}

func TestExpand(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`pop_probe_success{vantage=~"$vantage", target=~"${target}"}`, `pop_probe_success{vantage=~".*", target=~".*"}`},
		{`x{cdn=~"${cdn:regex}", pop=~"[[pop]]", ip_version=~"$ip_version"}`, `x{cdn=~".*", pop=~".*", ip_version=~".*"}`},
		{`rate(x[$__rate_interval]) + increase(y[$__range]) + z[${__interval}]`, `rate(x[1m]) + increase(y[1m]) + z[1m]`},
		{`label_replace(x, "a", "$1", "b", "(.*)")`, `label_replace(x, "a", "$1", "b", "(.*)")`},
	} {
		if got := Expand(tc.in); got != tc.want {
			t.Errorf("Expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// metricNames returns the metric names an expression selects. It is a small PromQL lexer, not
// a parser: it skips strings, label matchers, ranges, numbers, keywords, function and
// aggregation names and the label lists of by/without/on/ignoring/group_left/group_right;
// every other identifier is a metric name.
func metricNames(expr string) ([]string, error) {
	var out []string
	s := expr
	i := 0
	skipString := func() error {
		q := s[i]
		for i++; i < len(s); i++ {
			if s[i] == '\\' && q != '`' {
				i++
				continue
			}
			if s[i] == q {
				i++
				return nil
			}
		}
		return fmt.Errorf("unterminated string in %q", expr)
	}
	skipGroup := func(open, close byte) error {
		depth := 0
		for i < len(s) {
			switch c := s[i]; {
			case c == '"' || c == '\'' || c == '`':
				if err := skipString(); err != nil {
					return err
				}
				continue
			case c == open:
				depth++
			case c == close:
				depth--
				if depth == 0 {
					i++
					return nil
				}
			}
			i++
		}
		return fmt.Errorf("unbalanced %c%c in %q", open, close, expr)
	}
	nextNonSpace := func(j int) int {
		for j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r') {
			j++
		}
		return j
	}
	labelLists := map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}
	keywords := map[string]bool{"bool": true, "and": true, "or": true, "unless": true, "offset": true, "atan2": true, "inf": true, "nan": true}
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			if err := skipString(); err != nil {
				return nil, err
			}
		case c == '{':
			if err := skipGroup('{', '}'); err != nil {
				return nil, err
			}
		case c == '[':
			if err := skipGroup('[', ']'); err != nil {
				return nil, err
			}
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c >= '0' && c <= '9', c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			for i < len(s) && (isIdentChar(s[i]) || s[i] == '.') {
				if (s[i] == 'e' || s[i] == 'E') && i+1 < len(s) && (s[i+1] == '+' || s[i+1] == '-') {
					i++
				}
				i++
			}
		case isIdentStart(c):
			j := i
			for j < len(s) && (isIdentChar(s[j]) || s[j] == ':') {
				j++
			}
			word := s[i:j]
			i = j
			k := nextNonSpace(j)
			lw := strings.ToLower(word)
			switch {
			case labelLists[lw]:
				if k < len(s) && s[k] == '(' {
					i = k
					if err := skipGroup('(', ')'); err != nil {
						return nil, err
					}
				}
			case keywords[lw]:
			case k < len(s) && s[k] == '(', aggregationModifierRE.MatchString(s[k:]):
				// a function or aggregation (sum by (…) (…)): its arguments are lexed in turn
			default:
				out = append(out, word)
			}
		default:
			i++
		}
	}
	return out, nil
}

// aggregationModifierRE matches what follows an aggregation operator written with its
// grouping first, as in "sum by (le) (…)".
var aggregationModifierRE = regexp.MustCompile(`^(?i:by|without)\s*\(`)

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool {
	return isIdentStart(c) || (c >= '0' && c <= '9')
}

func TestMetricNamesLexer(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`histogram_quantile(0.95, sum by (le, pop) (rate(pop_probe_ttfb_seconds_bucket{pop=~"A|B", x="}"}[5m])))`, []string{"pop_probe_ttfb_seconds_bucket"}},
		{`a * on(job, instance) group_left(cdn, pop) b offset 5m / 1e3 > bool 2`, []string{"a", "b"}},
		{`sum(x) without (le) or vector(0) unless on() y:rec:rate5m`, []string{"x", "y:rec:rate5m"}},
		{`label_replace(m, "dst", "$1", "src", "(.*)") and topk by (t) (1, n[5m:1m])`, []string{"m", "n"}},
		{`-Inf < NaN`, nil},
	} {
		got, err := metricNames(tc.expr)
		if err != nil {
			t.Errorf("metricNames(%q): %v", tc.expr, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("metricNames(%q) = %v, want %v", tc.expr, got, tc.want)
		}
	}
	if _, err := metricNames(`x{a="b}`); err == nil {
		t.Error("metricNames accepted an unterminated matcher")
	}
}

// knownNames is what a PromQL expression may select: the exporter's metric families (with
// the series suffixes of histograms and counters), the recording rules, and Prometheus's
// own series.
type knownNames struct {
	exporter map[string]bool
	records  map[string]bool
}

func (k knownNames) check(name string) error {
	if k.exporter[name] || k.records[name] || prometheusSeries[name] {
		return nil
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count", "_created"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && k.exporter[base] {
			return nil
		}
	}
	if strings.Contains(name, ":") {
		return fmt.Errorf("recording rule %s is not defined in %s", name, rulesDir)
	}
	return fmt.Errorf("metric %s is not exposed by pop_exporter (collector.MetricNames)", name)
}

func TestKnownNamesReportsRenamedMetric(t *testing.T) {
	k := knownNames{exporter: map[string]bool{"pop_probe_ttfb_seconds": true}, records: map[string]bool{"a:b:c": true}}
	for _, ok := range []string{"pop_probe_ttfb_seconds_bucket", "pop_probe_ttfb_seconds_count", "a:b:c", "up"} {
		if err := k.check(ok); err != nil {
			t.Errorf("check(%s) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"pop_probe_ttfb_secs_bucket", "pop_probe_ttfb_seconds_total", "a:b:d"} {
		if err := k.check(bad); err == nil {
			t.Errorf("check(%s) = nil, want an error", bad)
		}
	}
}

// ruleFile is the part of a Prometheus rule file this test reads.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record      string            `yaml:"record"`
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// ruleTestFile is the part of a promtool unit test file this test reads.
type ruleTestFile struct {
	Tests []struct {
		InputSeries []struct {
			Series string `yaml:"series"`
		} `yaml:"input_series"`
		PromQLExprTest []struct {
			Expr string `yaml:"expr"`
		} `yaml:"promql_expr_test"`
	} `yaml:"tests"`
}

// templateQueryRE finds the PromQL that alert annotations run through the query function
// (printf "…" … | query, or query "…").
var templateQueryRE = regexp.MustCompile(`printf\s+"((?:[^"\\]|\\.)*)"[^|}]*\|\s*query\b|\bquery\s+"((?:[^"\\]|\\.)*)"`)

// TestEveryMetricIsExported checks every PromQL expression in the dashboards, the rules
// (expressions and the queries their annotations run) and the rule unit tests against the
// metric families the exporter registers and the recording rules the rule files define, so
// that renaming a metric or a recording rule breaks the build instead of a dashboard.
func TestEveryMetricIsExported(t *testing.T) {
	k := knownNames{exporter: map[string]bool{}, records: map[string]bool{}}
	for _, n := range collector.MetricNames() {
		k.exporter[n] = true
	}
	if len(k.exporter) < 10 {
		t.Fatalf("collector.MetricNames() returned %d names: %v", len(k.exporter), collector.MetricNames())
	}

	type source struct{ where, expr string }
	var exprs []source
	used := map[string]bool{}

	ruleFiles, err := filepath.Glob(filepath.Join(rulesDir, "*.rules.yml"))
	if err != nil || len(ruleFiles) == 0 {
		t.Fatalf("no rule files in %s (%v)", rulesDir, err)
	}
	for _, f := range ruleFiles {
		var rf ruleFile
		readYAML(t, f, &rf)
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				if r.Record != "" {
					if strings.Count(r.Record, ":") != 2 {
						t.Errorf("%s: recording rule %q does not follow level:metric:operations", f, r.Record)
					}
					if k.records[r.Record] {
						t.Errorf("%s: recording rule %q defined twice", f, r.Record)
					}
					k.records[r.Record] = true
				}
				name := r.Record + r.Alert
				exprs = append(exprs, source{fmt.Sprintf("%s %s", filepath.Base(f), name), r.Expr})
				for key, a := range r.Annotations {
					for _, m := range templateQueryRE.FindAllStringSubmatch(a, -1) {
						q := strings.ReplaceAll(m[1]+m[2], `\"`, `"`)
						exprs = append(exprs, source{fmt.Sprintf("%s %s annotation %s", filepath.Base(f), name, key), q})
					}
				}
			}
		}
	}

	testFiles, _ := filepath.Glob(filepath.Join(rulesDir, "*.rules.test.yml"))
	if len(testFiles) == 0 {
		t.Errorf("no rule unit tests (*.rules.test.yml) in %s", rulesDir)
	}
	for _, f := range testFiles {
		var tf ruleTestFile
		readYAML(t, f, &tf)
		for i, tc := range tf.Tests {
			for _, s := range tc.InputSeries {
				name, _, _ := strings.Cut(s.Series, "{")
				if err := k.check(strings.TrimSpace(name)); err != nil {
					t.Errorf("%s test %d input series: %v", filepath.Base(f), i, err)
				}
			}
			for _, e := range tc.PromQLExprTest {
				exprs = append(exprs, source{fmt.Sprintf("%s test %d", filepath.Base(f), i), e.Expr})
			}
		}
	}

	qs, err := Queries()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		exprs = append(exprs, source{fmt.Sprintf("%s %q %s", q.File, q.Panel, q.RefID), Expand(q.Expr)})
	}

	for _, src := range exprs {
		names, err := metricNames(src.expr)
		if err != nil {
			t.Errorf("%s: %v", src.where, err)
			continue
		}
		if len(names) == 0 && !strings.Contains(src.expr, "vector(") {
			t.Errorf("%s: no metric found in %q", src.where, src.expr)
		}
		for _, n := range names {
			used[n] = true
			if err := k.check(n); err != nil {
				t.Errorf("%s: %v", src.where, err)
			}
		}
	}

	// A recording rule nobody reads is load on Prometheus for nothing.
	var unused []string
	for r := range k.records {
		if !used[r] {
			unused = append(unused, r)
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		t.Errorf("recording rules used by no dashboard or alert: %v", unused)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s is not valid YAML: %v", path, err)
	}
}

// histogramFamilies are the exporter's histograms, found by their classic series suffix
// being selectable: every histogram is exposed with classic and native buckets.
var histogramFamilies = []string{"pop_probe_ttfb_seconds", "pop_probe_phase_duration_seconds", "pop_exporter_schedule_delay_seconds"}

// nativeTwin returns the name a histogram query must also read for Prometheus with native
// histograms enabled (which then ingests no classic series), or "" when name needs none.
// Classic pop_probe_ttfb_seconds_bucket and _sum/_count pair with pop_probe_ttfb_seconds; a
// recording rule of classic buckets, x_bucket:rate5m, pairs with its native twin x:rate5m.
func nativeTwin(name string) string {
	if strings.Contains(name, ":") {
		if level, rest, ok := strings.Cut(name, ":"); ok && strings.Contains(rest, "_bucket:") {
			return level + ":" + strings.Replace(rest, "_bucket:", ":", 1)
		}
		return ""
	}
	for _, h := range histogramFamilies {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if name == h+suffix {
				return h
			}
		}
	}
	return ""
}

// TestHistogramsClassicAndNative: Prometheus ingests the exporter's histograms as classic
// buckets (the default) or, with native histograms enabled, as native histograms only. Every
// dashboard query and rule that reads a classic series must also read its native twin (joined
// with `or`), and a recording rule of classic buckets must have a native twin rule, so that
// no panel or alert goes blank when native histograms are switched on.
func TestHistogramsClassicAndNative(t *testing.T) {
	for _, h := range histogramFamilies {
		if !slices.Contains(collector.MetricNames(), h) {
			t.Errorf("histogram %s is not exposed by pop_exporter", h)
		}
	}
	type source struct{ where, expr string }
	var exprs []source
	records := map[string]bool{}
	ruleFiles, _ := filepath.Glob(filepath.Join(rulesDir, "*.rules.yml"))
	for _, f := range ruleFiles {
		var rf ruleFile
		readYAML(t, f, &rf)
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				if r.Record != "" {
					records[r.Record] = true
				}
				exprs = append(exprs, source{filepath.Base(f) + " " + r.Record + r.Alert, r.Expr})
			}
		}
	}
	for r := range records {
		if twin := nativeTwin(r); twin != "" && !records[twin] {
			t.Errorf("recording rule %s of classic buckets has no native twin %s", r, twin)
		}
	}
	qs, err := Queries()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		exprs = append(exprs, source{fmt.Sprintf("%s %q %s", q.File, q.Panel, q.RefID), Expand(q.Expr)})
	}
	checked := 0
	for _, src := range exprs {
		names, err := metricNames(src.expr)
		if err != nil {
			t.Errorf("%s: %v", src.where, err)
			continue
		}
		for _, n := range names {
			twin := nativeTwin(n)
			if twin == "" {
				continue
			}
			checked++
			if !slices.Contains(names, twin) && !isClassicRecording(src.where, records) {
				t.Errorf("%s reads %s but not %s: it is empty when Prometheus ingests native histograms\n%s", src.where, n, twin, src.expr)
			}
		}
	}
	if checked == 0 {
		t.Error("no query reads a histogram: the check found nothing to check")
	}
}

// isClassicRecording reports whether where names a recording rule of classic buckets, which
// reads only the classic series by design (its native twin reads the other).
func isClassicRecording(where string, records map[string]bool) bool {
	_, name, _ := strings.Cut(where, " ")
	return records[name] && nativeTwin(name) != ""
}

// quantileGroupingRE finds the grouping of the aggregation directly inside histogram_quantile.
var quantileGroupingRE = regexp.MustCompile(`histogram_quantile\(\s*[0-9.]+\s*,\s*[a-z]+\s+by\s*\(([^)]*)\)`)

// TestQuantilesKeepVantagesApart: with several vantages selected, a quantile over all of them
// pools networks that see the same PoP at very different distances; each panel's quantiles
// keep vantages apart (by vantage, or by exporter instance).
func TestQuantilesKeepVantagesApart(t *testing.T) {
	qs, err := Queries()
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, q := range qs {
		for _, m := range quantileGroupingRE.FindAllStringSubmatch(q.Expr, -1) {
			found++
			labels := strings.Split(strings.ReplaceAll(m[1], " ", ""), ",")
			if !slices.Contains(labels, "vantage") && !slices.Contains(labels, "instance") {
				t.Errorf("%s %q %s: histogram_quantile over by (%s) pools every selected vantage", q.File, q.Panel, q.RefID, m[1])
			}
		}
	}
	if found == 0 {
		t.Error("no histogram_quantile found in the dashboards")
	}
}

// The fleet dashboard answers "is a shift local or CDN-wide?": a map of vantages and the
// PoPs serving each, a vantage x target matrix (one row per vantage), the scope tables and
// the away-over-time graph, with links into the other dashboards that keep the vantage.
func TestFleetDashboard(t *testing.T) {
	d := loadDashboards(t)["fleet.json"]
	if d == nil {
		t.Fatal("dashboards/fleet.json is missing")
	}
	byType := map[string][]map[string]any{}
	for _, p := range allPanels(d) {
		byType[p["type"].(string)] = append(byType[p["type"].(string)], p)
	}
	if len(byType["geomap"]) != 1 {
		t.Fatalf("want one geomap, got %d", len(byType["geomap"]))
	}
	geo, _ := json.Marshal(byType["geomap"][0])
	// TestFleetMapColoursEachVantage checks what colour each marker gets.
	for _, want := range []string{"pop_vantage_info", "pop_probe_edge_info", `"field":"vantage colour"`} {
		if !strings.Contains(string(geo), want) {
			t.Errorf("geomap lacks %s: vantage and PoP markers share the vantage's colour", want)
		}
	}
	matrix := 0
	for _, p := range byType["stat"] {
		if p["repeat"] != "vantage" {
			continue
		}
		matrix++
		b, _ := json.Marshal(p)
		for _, want := range []string{"/d/pop-shifts/", "/d/pop-latency/", "var-vantage=${__field.labels.vantage:percentencode}", "var-ip_version=${__field.labels.ip_version:percentencode}", "{{pop}}", "pop_probe_shift_distance_meters"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("matrix panel %q lacks %s", p["title"], want)
			}
		}
	}
	if matrix != 1 {
		t.Errorf("want one stat panel repeated per vantage (the vantage x target matrix), got %d", matrix)
	}
	b, _ := File("fleet.json")
	for _, want := range []string{"target:pop_probe_vantages_shifted_far:ratio", "cdn:pop_probe_vantages_shifted_far:ratio",
		"pop_alert:shift_wide_ratio:threshold", "PopShiftedFarCDNWide", "${vantage:queryparam}"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("fleet.json does not use %s", want)
		}
	}
}
