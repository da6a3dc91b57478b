package dashboards

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// These tests keep the dashboards reading right: what a panel shows must be what its title
// says, at any time range and with any filter.

// TestImportInputsAreUsed: Grafana's import asks for each __inputs entry and substitutes the
// answer for ${NAME} wherever it appears; an input nothing references is asked for and
// ignored, and the dashboard then opens on whatever data source is the default.
func TestImportInputsAreUsed(t *testing.T) {
	for name, d := range loadDashboards(t) {
		b, _ := File(name)
		inputs, _ := d["__inputs"].([]any)
		for _, in := range inputs {
			m, _ := in.(map[string]any)
			ref := "${" + m["name"].(string) + "}"
			if strings.Count(string(b), ref) == 0 {
				t.Errorf("%s: __inputs declares %s but nothing references %s", name, m["name"], ref)
			}
		}
		tpl, _ := d["templating"].(map[string]any)
		list, _ := tpl["list"].([]any)
		for _, v := range list {
			vm, _ := v.(map[string]any)
			if vm["name"] != "datasource" {
				continue
			}
			cur, _ := vm["current"].(map[string]any)
			if cur["value"] != "${DS_PROMETHEUS}" {
				t.Errorf("%s: the datasource variable defaults to %v, want the data source chosen at import (${DS_PROMETHEUS})", name, vm["current"])
			}
		}
	}
}

// metersRE finds a series measured in metres.
var metersRE = regexp.MustCompile(`[a-z_:]+_meters(:[a-z_]+)?\b`)

// TestDistancesInKilometres: Grafana's lengthm unit scales with SI prefixes, so 2,000 km reads
// "2 Mm". Distances are divided by 1000 in the query and shown in km (suffix:km).
func TestDistancesInKilometres(t *testing.T) {
	found := 0
	for name, d := range loadDashboards(t) {
		b, _ := File(name)
		if strings.Contains(string(b), `"lengthm"`) {
			t.Errorf("%s uses unit lengthm, which prints 2,000 km as 2 Mm", name)
		}
		for _, p := range allPanels(d) {
			pb, _ := json.Marshal(p)
			if !strings.Contains(string(pb), `"suffix:km"`) {
				continue
			}
			targets, _ := p["targets"].([]any)
			for _, tg := range targets {
				tm, _ := tg.(map[string]any)
				expr, _ := tm["expr"].(string)
				if !metersRE.MatchString(expr) {
					continue
				}
				found++
				if !strings.Contains(expr, "/ 1000") {
					t.Errorf("%s panel %q %s: shown in km but reads metres without dividing by 1000: %s", name, p["title"], tm["refId"], expr)
				}
			}
		}
	}
	if found == 0 {
		t.Error("no panel shows a distance in km")
	}
}

// TestPoPChangeAnnotations: an annotation from increase(counter[$__interval]) spans one
// scrape per window and, with left-open range selectors, sees no change at all. The PoP
// change annotation takes its time from the change timestamp the exporter records.
func TestPoPChangeAnnotations(t *testing.T) {
	d := loadDashboards(t)["pop-shifts.json"]
	ann, _ := d["annotations"].(map[string]any)
	list, _ := ann["list"].([]any)
	found := false
	for _, a := range list {
		am, _ := a.(map[string]any)
		if am["name"] != "PoP changes" {
			continue
		}
		found = true
		expr, _ := am["expr"].(string)
		if !strings.Contains(expr, "pop_probe_last_pop_change_timestamp_seconds") || !strings.HasSuffix(strings.TrimSpace(expr), "* 1000") {
			t.Errorf("PoP changes annotation does not read the change time in ms from pop_probe_last_pop_change_timestamp_seconds: %s", expr)
		}
		if strings.Contains(expr, "$__interval") || strings.Contains(expr, "$__rate_interval") {
			t.Errorf("PoP changes annotation depends on the query step: %s", expr)
		}
		if am["useValueForTime"] != true {
			t.Error("PoP changes annotation does not use the value (the change timestamp) as its time")
		}
	}
	if !found {
		t.Error(`pop-shifts.json has no "PoP changes" annotation`)
	}
}

// panelByTitle returns the panel of a dashboard with the given title.
func panelByTitle(t *testing.T, file, title string) map[string]any {
	t.Helper()
	for _, p := range allPanels(loadDashboards(t)[file]) {
		if p["title"] == title {
			return p
		}
	}
	t.Fatalf("%s has no panel %q", file, title)
	return nil
}

// panelTargets returns the expressions of a panel's targets.
func panelTargets(p map[string]any) []map[string]any {
	ts, _ := p["targets"].([]any)
	var out []map[string]any
	for _, x := range ts {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// TestPoPTimelineOneRowPerProbe: a state timeline fed one series per probe and PoP draws one
// band per pair, and a target's history is spread over as many rows as it had PoPs. The
// timeline gets a table (one row per sample, the pop label a column) partitioned by probe, so
// each probe is one row whose state is the PoP code.
func TestPoPTimelineOneRowPerProbe(t *testing.T) {
	p := panelByTitle(t, "pop-shifts.json", "PoP answering each target from $vantage")
	if p["type"] != "state-timeline" {
		t.Fatalf("panel type %v, want state-timeline", p["type"])
	}
	for _, tg := range panelTargets(p) {
		if tg["format"] != "table" {
			t.Errorf("target %s has format %v, want table: the pop label must be a column, not part of a series name", tg["refId"], tg["format"])
		}
	}
	var partition []string
	excluded := map[string]any{}
	tr, _ := p["transformations"].([]any)
	for _, x := range tr {
		m, _ := x.(map[string]any)
		opts, _ := m["options"].(map[string]any)
		switch m["id"] {
		case "partitionByValues":
			partition = stringList(opts["fields"])
		case "organize":
			excluded, _ = opts["excludeByName"].(map[string]any)
		}
	}
	for _, want := range []string{"vantage", "target", "ip_version", "resolver"} {
		if !slices.Contains(partition, want) {
			t.Errorf("timeline is not partitioned by %s (partitionByValues fields %v): probes share rows", want, partition)
		}
	}
	if slices.Contains(partition, "pop") || excluded["pop"] == true {
		t.Error("the pop column must stay the state of each row, not split or drop it")
	}
	if opts, _ := p["options"].(map[string]any); opts["showValue"] == "never" {
		t.Error("the timeline hides its values: the PoP code would not be shown")
	}
	// Every vantage x target x IP family x resolver in one panel is unreadable with a few
	// vantages: one panel per vantage.
	if p["repeat"] != "vantage" {
		t.Errorf("the PoP timeline repeats over %v, want one panel per vantage", p["repeat"])
	}
}

// countPanel reports whether a panel shows counts per time bucket: bars or a heatmap.
func countPanel(p map[string]any) bool {
	if p["type"] == "heatmap" {
		return true
	}
	fc, _ := p["fieldConfig"].(map[string]any)
	def, _ := fc["defaults"].(map[string]any)
	custom, _ := def["custom"].(map[string]any)
	return p["type"] == "timeseries" && custom["drawStyle"] == "bars"
}

// TestCountsPerStep: a bar or heatmap cell counts what happened in its own step. A window of
// $__rate_interval (four scrapes) evaluated every $__interval counts each event in several
// cells; the windows are $__interval, with a minimum interval of at least a minute so that a
// window holds more than one scrape.
func TestCountsPerStep(t *testing.T) {
	found := 0
	for name, d := range loadDashboards(t) {
		for _, p := range allPanels(d) {
			if !countPanel(p) {
				continue
			}
			found++
			if iv, _ := p["interval"].(string); iv != "1m" && iv != "2m" && iv != "5m" {
				t.Errorf("%s panel %q: min interval %q; want at least 1m so that each step holds several scrapes", name, p["title"], iv)
			}
			for _, tg := range panelTargets(p) {
				expr, _ := tg["expr"].(string)
				if !strings.Contains(expr, "$__interval") || strings.Contains(expr, "$__rate_interval") {
					t.Errorf("%s panel %q %s: counts must cover exactly one step ($__interval): %s", name, p["title"], tg["refId"], expr)
				}
			}
		}
	}
	if found < 2 {
		t.Errorf("found %d bar or heatmap panels, want the PoP changes bars and the TTFB heatmap", found)
	}
}

// TestWindowsHoldTwoProbes: a probe runs every 60 s by default, and $__rate_interval is often
// exactly that; with left-open windows a quarter of such windows hold one probe and the graph
// of one target is gappy. Rates and averages use windows of 5 minutes (or recording rules).
func TestWindowsHoldTwoProbes(t *testing.T) {
	qs, err := Queries()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if strings.Contains(q.Expr, "$__rate_interval") {
			t.Errorf("%s %q %s: a $__rate_interval window may hold a single 60 s probe: %s", q.File, q.Panel, q.RefID, q.Expr)
		}
	}
}

// awayByDistanceRE finds "away from baseline" written as a positive shift distance, which
// misses every shift to or from a PoP without coordinates (its distance is 0).
var awayByDistanceRE = regexp.MustCompile(`shift_distance_meters(\{[^}]*\})?\s*>\s*0\b`)

// TestAwayFromBaselineComparesPoPs: "away from baseline" is the answering PoP differing from
// the baseline PoP, which the vantage_target:pop_probe_edge_baseline:info rule carries as
// baseline_pop.
func TestAwayFromBaselineComparesPoPs(t *testing.T) {
	qs, err := Queries()
	if err != nil {
		t.Fatal(err)
	}
	away := 0
	for _, q := range qs {
		if awayByDistanceRE.MatchString(q.Expr) {
			t.Errorf("%s %q %s counts a probe as away when its shift distance is > 0: %s", q.File, q.Panel, q.RefID, q.Expr)
		}
		if q.Kind == KindPanel && strings.Contains(strings.ToLower(q.Panel), "away from") && q.RefID == "A" {
			away++
			if !strings.Contains(q.Expr, `"baseline_pop"`) || !strings.Contains(q.Expr, "vantage_target:pop_probe_edge_baseline:info") {
				t.Errorf("%s %q: does not compare the answering PoP with baseline_pop: %s", q.File, q.Panel, q.Expr)
			}
		}
	}
	if away < 3 {
		t.Errorf("found %d away-from-baseline panels, want 3 (overview stat, fleet stat and graph)", away)
	}
}

// alertNameRE finds the alerts of a rule file.
var alertNameRE = regexp.MustCompile(`(?m)^\s*-\s*alert:\s*(\w+)`)

// alertRowRE finds a row of the README's Alerts table: its anchor, the alert's name and the
// rest of the row.
var alertRowRE = regexp.MustCompile(`(?m)^\| (?:<a id="([^"]*)"></a>)?(Pop[A-Za-z]+) \|(.*)$`)

// alertRows returns the rest of each Alerts table row by alert name.
func alertRows(readme string) map[string]string {
	rows := map[string]string{}
	for _, m := range alertRowRE.FindAllStringSubmatch(readme, -1) {
		rows[m[2]] = m[3]
	}
	return rows
}

// TestEveryAlertHasAPanel: an alert a user cannot find on a dashboard is an alert nobody can
// judge. Every alert of the rules file is named by a panel (in its description or query) that
// shows its signal against its threshold, and the README's row for the alert names that panel
// in italics, as *Panel title*.
func TestEveryAlertHasAPanel(t *testing.T) {
	rules, err := os.ReadFile(filepath.Join(rulesDir, "pop_exporter.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := alertRows(string(readme))
	ds := loadDashboards(t)
	alerts := alertNameRE.FindAllStringSubmatch(string(rules), -1)
	if len(alerts) < 5 {
		t.Fatalf("found %d alerts in the rules file", len(alerts))
	}
	for _, m := range alerts {
		alert := m[1]
		nameRE := regexp.MustCompile(`\b` + alert + `\b`)
		var titles []string
		for _, d := range ds {
			for _, p := range allPanels(d) {
				desc, _ := p["description"].(string)
				named := nameRE.MatchString(desc)
				for _, tg := range panelTargets(p) {
					expr, _ := tg["expr"].(string)
					named = named || nameRE.MatchString(expr)
				}
				if named && p["type"] != "stat" {
					titles = append(titles, p["title"].(string))
				}
			}
		}
		if len(titles) == 0 {
			t.Errorf("alert %s is named by no dashboard panel (description or query)", alert)
			continue
		}
		row, ok := rows[alert]
		if !ok {
			t.Errorf("README.md has no row for alert %s", alert)
			continue
		}
		if !slices.ContainsFunc(titles, func(title string) bool { return strings.Contains(row, "*"+title+"*") }) {
			t.Errorf("README.md's row for %s names none of the panels that show it: %q", alert, titles)
		}
	}
}

// TestColoursFollowThresholdRules: a panel that colours an alerting quantity takes its
// colour steps from the pop_alert:*:threshold recording rule of that alert (a config query
// and Grafana's "config from query results"), so changing the rule recolours the dashboards
// as it moves the alert; a hard-coded step would keep the old number.
func TestColoursFollowThresholdRules(t *testing.T) {
	for _, tc := range []struct{ file, panel, ref, rule string }{
		{"pop-shifts.json", "Current and baseline PoP", "B", "pop_alert:shift_distance_meters:threshold"},
		{"pop-overview.json", "Targets", "G", "pop_alert:ttfb_mean_seconds:threshold"},
		{"fleet.json", "PoP serving each target from $vantage", "A", "pop_alert:shift_distance_meters:threshold"},
		{"pop-overview.json", "PoP by resolver", "C", "pop_alert:resolver_spread:threshold"},
		{"pop-overview.json", "Certificates by PoP", "B", "pop_alert:cert_expiry_seconds:threshold"},
		{"fleet.json", "Shift scope by target", "C", "pop_alert:shift_wide_ratio:threshold"},
	} {
		p := panelByTitle(t, tc.file, tc.panel)
		exprs := map[string]string{}
		for _, tg := range panelTargets(p) {
			exprs[tg["refId"].(string)], _ = tg["expr"].(string)
		}
		found := false
		tr, _ := p["transformations"].([]any)
		for _, x := range tr {
			m, _ := x.(map[string]any)
			opts, _ := m["options"].(map[string]any)
			apply, _ := opts["applyTo"].(map[string]any)
			if m["id"] != "configFromData" || apply["options"] != tc.ref {
				continue
			}
			found = true
			cfgRef, _ := opts["configRefId"].(string)
			if !strings.Contains(exprs[cfgRef], tc.rule) {
				t.Errorf("%s %q: the colours of %s come from query %s = %q, not from %s", tc.file, tc.panel, tc.ref, cfgRef, exprs[cfgRef], tc.rule)
			}
			b, _ := json.Marshal(opts["mappings"])
			if !strings.Contains(string(b), `"threshold1"`) {
				t.Errorf("%s %q: the config query sets no threshold: %s", tc.file, tc.panel, b)
			}
		}
		if !found {
			t.Errorf("%s %q: %s is not coloured from the %s rule (no configFromData applied to it)", tc.file, tc.panel, tc.ref, tc.rule)
		}
	}
	// No colour step repeats the PopShiftedFar default distance (2000 km, 2e6 m) or the
	// PopTTFBHigh default (1 s) by hand.
	stepRE := regexp.MustCompile(`"value":\s*(2000|2000000|2e\+06)\b`)
	for name, d := range loadDashboards(t) {
		for _, p := range allPanels(d) {
			fc, _ := json.Marshal(p["fieldConfig"])
			for _, m := range regexp.MustCompile(`"thresholds","value":\{[^}]*"steps":\[[^\]]*\]`).FindAllString(string(fc), -1) {
				if stepRE.MatchString(m) {
					t.Errorf("%s %q hard-codes an alert threshold as a colour step: %s", name, p["title"], m)
				}
			}
			def, _ := p["fieldConfig"].(map[string]any)
			defs, _ := def["defaults"].(map[string]any)
			th, _ := json.Marshal(defs["thresholds"])
			if stepRE.MatchString(string(th)) {
				t.Errorf("%s %q hard-codes an alert threshold as a colour step: %s", name, p["title"], th)
			}
		}
	}
}

// TestInstantStatsDrawNoSparkline: an instant query returns one point, so a stat's sparkline
// (graphMode area) never draws and only takes room.
func TestInstantStatsDrawNoSparkline(t *testing.T) {
	for name, d := range loadDashboards(t) {
		for _, p := range allPanels(d) {
			if p["type"] != "stat" {
				continue
			}
			instant := true
			for _, tg := range panelTargets(p) {
				instant = instant && tg["instant"] == true
			}
			if opts, _ := p["options"].(map[string]any); instant && opts["graphMode"] != "none" {
				t.Errorf("%s %q: instant queries only, but graphMode %v draws an empty sparkline", name, p["title"], opts["graphMode"])
			}
		}
	}
}

// nanProneRE finds the series that are NaN or gone for a probe that fails: the TTFB of no responses
// and the share of zero responses served from cache.
var nanProneRE = regexp.MustCompile(`pop_probe_ttfb_seconds:(mean5m|last)|cache_hit_ratio`)

// TestTablesShowNoNaN: a failing probe has no TTFB and no responses, so its quantiles and
// cache ratio are NaN, which a table prints as "NaN"; table queries drop them (x >= 0 is false
// for NaN) and the cell stays empty.
func TestTablesShowNoNaN(t *testing.T) {
	found := 0
	for name, d := range loadDashboards(t) {
		for _, p := range allPanels(d) {
			if p["type"] != "table" {
				continue
			}
			for _, tg := range panelTargets(p) {
				expr, _ := tg["expr"].(string)
				if !nanProneRE.MatchString(expr) {
					continue
				}
				found++
				if !regexp.MustCompile(`>=\s*0\s*$`).MatchString(expr) {
					t.Errorf("%s %q %s: a failing probe's NaN reaches the table: %s", name, p["title"], tg["refId"], expr)
				}
			}
		}
	}
	if found == 0 {
		t.Error("no table reads a quantile or a cache ratio")
	}
}

// linkVarRE finds the variables a link fills in from the clicked row or field.
var linkVarRE = regexp.MustCompile(`\$\{(__data\.fields\.[^}:]+|__field\.labels\.[^}:]+|__value\.[^}:]+)(:[a-z]+)?\}`)

// TestLinksKeepFiltersAndEncode: a link from a probe's row or tile opens the other dashboard
// on that probe (vantage, target and IP family) and keeps the data source and CDN; values are
// URL-encoded (a target name or a URL may hold & or #), dashboard variables passed as
// ${var:queryparam}.
func TestLinksKeepFiltersAndEncode(t *testing.T) {
	urlRE := regexp.MustCompile(`"url":\s*"([^"]+)"`)
	found := 0
	for name := range loadDashboards(t) {
		b, _ := File(name)
		for _, m := range urlRE.FindAllStringSubmatch(string(b), -1) {
			u := m[1]
			if !strings.HasPrefix(u, "/d/") {
				continue
			}
			found++
			for _, v := range linkVarRE.FindAllStringSubmatch(u, -1) {
				if v[2] != ":percentencode" {
					t.Errorf("%s: link %s inserts ${%s} without :percentencode", name, u, v[1])
				}
			}
			if regexp.MustCompile(`var-[a-z_]+=\$\{?[a-z_]+\}?(&|$)`).MatchString(u) {
				t.Errorf("%s: link %s passes a dashboard variable as var-x=$x; ${x:queryparam} keeps every selected value, encoded", name, u)
			}
			if !strings.Contains(u, "${datasource:queryparam}") {
				t.Errorf("%s: link %s drops the data source", name, u)
			}
			if strings.Contains(u, "var-target=") && !strings.Contains(u, "var-ip_version=") && !strings.Contains(u, "${ip_version:queryparam}") {
				t.Errorf("%s: link %s opens a target without its IP family", name, u)
			}
			if strings.Contains(u, "var-target=") && !strings.Contains(u, "var-resolver=") && !strings.Contains(u, "${resolver:queryparam}") {
				t.Errorf("%s: link %s opens a target without its resolver", name, u)
			}
			if !strings.Contains(u, "var-cdn=") && !strings.Contains(u, "${cdn:queryparam}") {
				t.Errorf("%s: link %s drops the CDN filter", name, u)
			}
		}
	}
	if found < 4 {
		t.Errorf("found %d links between dashboards, want at least 4", found)
	}
}

// ttfbRuleAggRE finds an aggregation over a TTFB recording rule (directly, or over a range
// function of it).
var ttfbRuleAggRE = regexp.MustCompile(`\b(sum|avg|max|min|quantile)\s*(by\s*\(([^)]*)\))?\s*\(\s*(?:[a-z_]+\((?:[0-9.]+,\s*)?)?\(*\s*vantage_target:pop_probe_ttfb_seconds:(mean5m|last)`)

// TestTTFBRulesKeepVantagesApart: the TTFB rules are per probe; a panel that aggregates them
// (TTFB by PoP, by cache status, by target) keeps vantage in its grouping, so two networks
// that see a PoP at different distances are never averaged into one line.
func TestTTFBRulesKeepVantagesApart(t *testing.T) {
	qs, err := Queries()
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, q := range qs {
		for _, m := range ttfbRuleAggRE.FindAllStringSubmatch(q.Expr, -1) {
			found++
			labels := strings.Split(strings.ReplaceAll(m[3], " ", ""), ",")
			if !slices.Contains(labels, "vantage") && !slices.Contains(labels, "instance") {
				t.Errorf("%s %q %s: %s over a TTFB rule pools every selected vantage: %s", q.File, q.Panel, q.RefID, m[0], q.Expr)
			}
		}
	}
	if found == 0 {
		t.Error("no panel aggregates a TTFB rule")
	}
}

// latencySources are what the exporter measured: the histogram's sum and count (an exact
// mean), the last probe's TTFB and phases (gauges, over which quantile_over_time gives order
// statistics of real probes), and the rules made of them.
var bucketQuantileRE = regexp.MustCompile(`histogram_quantile\s*\([^,]*,[^;]*?(pop_probe_ttfb_seconds|pop_probe_phase_duration_seconds|:pop_probe_ttfb_seconds)`)

// TestLatencyFiguresAreMeasured: no latency a panel or an alert shows is interpolated inside
// histogram buckets. The basic set's TTFB buckets are 50 ms, 200 ms, 1 s and 2.5 s: a
// histogram_quantile over them draws a constant 80 ms as a p50 of 125 ms and a constant 250 ms
// as a p95 of 960 ms. Only the TTFB heatmap reads buckets, as counts per bucket. The
// end-to-end test checks the values themselves (checkLatencyPanels in deploy/).
func TestLatencyFiguresAreMeasured(t *testing.T) {
	qs, err := Queries()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if bucketQuantileRE.MatchString(q.Expr) {
			t.Errorf("%s %q %s: a latency interpolated inside histogram buckets: %s", q.File, q.Panel, q.RefID, q.Expr)
		}
	}
	var rf ruleFile
	readYAML(t, filepath.Join(rulesDir, "pop_exporter.rules.yml"), &rf)
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if bucketQuantileRE.MatchString(r.Expr) || strings.Contains(r.Record, "ttfb_seconds_bucket") {
				t.Errorf("rule %s%s interpolates TTFB inside histogram buckets: %s", r.Record, r.Alert, r.Expr)
			}
			for _, a := range r.Annotations {
				if bucketQuantileRE.MatchString(a) {
					t.Errorf("alert %s's text interpolates TTFB inside histogram buckets: %s", r.Alert, a)
				}
			}
		}
	}
}

// TestTargetsShowUptime: the Targets table gives each probe's success share over the whole
// time range, so a target that failed an hour ago and recovered is still visible.
func TestTargetsShowUptime(t *testing.T) {
	p := panelByTitle(t, "pop-overview.json", "Targets")
	found := false
	for _, tg := range panelTargets(p) {
		expr, _ := tg["expr"].(string)
		if strings.Contains(expr, "avg_over_time(pop_probe_success{") && strings.Contains(expr, "[$__range])") && tg["instant"] == true {
			found = true
		}
	}
	if !found {
		t.Error("the Targets table has no uptime over the time range (avg_over_time(pop_probe_success[$__range]))")
	}
}

// TestTTFBAgainstDistance: the latency dashboard plots each probe's TTFB against the distance
// to its PoP, which tells a far PoP from a slow origin at a glance.
func TestTTFBAgainstDistance(t *testing.T) {
	p := panelByTitle(t, "latency.json", "TTFB against distance")
	if p["type"] != "xychart" {
		t.Errorf("panel type %v, want xychart", p["type"])
	}
	var distance, ttfb bool
	for _, tg := range panelTargets(p) {
		expr, _ := tg["expr"].(string)
		distance = distance || strings.Contains(expr, "pop_probe_distance_meters")
		ttfb = ttfb || strings.Contains(expr, "pop_probe_ttfb_seconds:mean5m")
	}
	if !distance || !ttfb {
		t.Errorf("TTFB against distance reads distance %v, TTFB %v; want both", distance, ttfb)
	}
}

// legendLabelRE finds the labels a legend names, {{label}}.
var legendLabelRE = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)

// outerByRE finds the grouping of an expression's outermost aggregation.
var outerByRE = regexp.MustCompile(`^\s*\(?\s*(?:sum|min|max|avg|count|topk|bottomk|quantile)\s+by\s*\(([^)]*)\)`)

// TestLegendsNameKeptLabels: a legend may only name labels that its query's result keeps; a
// label the outermost aggregation drops prints as nothing ("via " with no resolver), and
// series that differed only by it get the same name.
func TestLegendsNameKeptLabels(t *testing.T) {
	for name, d := range loadDashboards(t) {
		for _, p := range allPanels(d) {
			for _, tg := range panelTargets(p) {
				legend, _ := tg["legendFormat"].(string)
				expr, _ := tg["expr"].(string)
				m := outerByRE.FindStringSubmatch(expr)
				if m == nil {
					continue
				}
				kept := map[string]bool{}
				for _, l := range strings.Split(m[1], ",") {
					kept[strings.TrimSpace(l)] = true
				}
				for _, l := range legendLabelRE.FindAllStringSubmatch(legend, -1) {
					if !kept[l[1]] {
						t.Errorf("%s %q %v: legend %q names %s, which %q drops", name, p["title"], tg["refId"], legend, l[1], m[0])
					}
				}
			}
		}
	}
}

// TestFleetCountsVantages: the fleet's counts of vantages per target count each vantage once,
// whatever number of resolvers it probes the target through.
func TestFleetCountsVantages(t *testing.T) {
	b, err := File("fleet.json")
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`count by \(target, ip_version\) \(count by \(vantage[^)]*resolver`).Find(b); m != nil {
		t.Errorf("fleet.json counts vantage and resolver pairs as vantages: %s", m)
	}
}

// dashboardURLRE takes a dashboard_url template apart: the dashboard uid, the panel id and
// the rest (the var- filters).
var dashboardURLRE = regexp.MustCompile(`/d/([a-z0-9-]+)/[a-z0-9-]+\?viewPanel=(\d+)(.*)$`)

// urlVarRE finds a var- filter of a dashboard_url and the alert label it is filled from.
var urlVarRE = regexp.MustCompile(`&var-([a-z_]+)=\{\{ (?:\. \| urlquery|\. \| first \| label "([a-z_]+)" \| urlquery) \}\}`)

// TestEveryAlertLinks: every alert says what to do and where to look. Its runbook_url is the
// README's Alerts row of that alert (an anchor that exists, on that very row), and its
// dashboard_url opens a panel that shows the alert's signal (one the README row names, in the
// dashboard the URL names) with the alert's vantage, target, IP family and resolver as that
// dashboard's filters. promtool's unit tests check the rendered URLs.
func TestEveryAlertLinks(t *testing.T) {
	var rf ruleFile
	readYAML(t, filepath.Join(rulesDir, "pop_exporter.rules.yml"), &rf)
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]string{}
	for _, m := range alertRowRE.FindAllStringSubmatch(string(readme), -1) {
		anchors[m[2]] = m[1]
	}
	rows := alertRows(string(readme))
	byUID := map[string]map[string]any{}
	for _, d := range loadDashboards(t) {
		byUID[d["uid"].(string)] = d
	}
	n := 0
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			n++
			a := r.Alert
			rb := r.Annotations["runbook_url"]
			_, anchor, _ := strings.Cut(rb, "#")
			if !strings.Contains(rb, `label "runbook_url"`) || anchor == "" {
				t.Errorf("alert %s: runbook_url %q is not the links rule's runbook_url and an anchor", a, rb)
			} else if anchors[a] != anchor {
				t.Errorf("alert %s: runbook_url anchor #%s, but the README's row for it has anchor %q", a, anchor, anchors[a])
			}

			du := r.Annotations["dashboard_url"]
			m := dashboardURLRE.FindStringSubmatch(du)
			if !strings.Contains(du, `label "grafana_url"`) || m == nil {
				t.Errorf("alert %s: dashboard_url %q is not <grafana_url>/d/<uid>/<slug>?viewPanel=<id>…", a, du)
				continue
			}
			d, ok := byUID[m[1]]
			if !ok {
				t.Errorf("alert %s: dashboard_url names dashboard %q, which does not exist", a, m[1])
				continue
			}
			var panel map[string]any
			for _, p := range allPanels(d) {
				if id, _ := p["id"].(float64); strconv.FormatFloat(id, 'f', -1, 64) == m[2] {
					panel = p
				}
			}
			if panel == nil {
				t.Errorf("alert %s: dashboard %s has no panel %s", a, m[1], m[2])
				continue
			}
			if title, _ := panel["title"].(string); !strings.Contains(rows[a], "*"+title+"*") {
				t.Errorf("alert %s: dashboard_url opens panel %q, which the README's row for it does not name as showing it", a, title)
			}
			vars := definedVariables(d)
			for _, v := range urlVarRE.FindAllStringSubmatch(m[3], -1) {
				if !vars[v[1]] {
					t.Errorf("alert %s: dashboard_url sets var-%s, which %s does not define", a, v[1], m[1])
				}
				from := v[2]
				if from == "" {
					from = v[1]
					if !strings.Contains(m[3], "{{ with $labels."+from+" }}&var-"+from+"=") {
						t.Errorf("alert %s: var-%s is not filled from the alert's own %s label", a, v[1], from)
					}
				}
			}
			// The CDN-wide alert is one per target and IP family, over every vantage; the
			// certificate and content alerts compare a target's probes across vantages.
			if want := "var-vantage="; perTargetAlerts[a] {
				if !strings.Contains(m[3], "var-target=") {
					t.Errorf("alert %s: dashboard_url does not filter the dashboard to the alert's target", a)
				}
			} else if !strings.Contains(m[3], want) {
				t.Errorf("alert %s: dashboard_url does not filter the dashboard to the alert's vantage", a)
			}
		}
	}
	if n < 10 {
		t.Errorf("found %d alerts", n)
	}
}

// perTargetAlerts are the alerts about a target across the fleet, not one vantage's probe:
// their dashboard_url filters to the target, not to a vantage.
var perTargetAlerts = map[string]bool{"PopShiftedFarCDNWide": true, "PopCertMismatch": true, "PopContentInconsistent": true}

// answeringSelectorRE finds a selector of what answers a probe now (its edge, the distance to
// it, its shift from the baseline), except the filters' own selectors (cdn!~"$cdn").
var answeringSelectorRE = regexp.MustCompile(`(pop_probe_edge_info|pop_probe_distance_meters|pop_probe_shift_distance_meters)\{(?:[^}!]|![^~])*\}`)

// answeredRE is the condition that the probe's last attempt got a response.
var answeredRE = regexp.MustCompile(`^\s+and on\(job, instance, vantage, target, ip_version, resolver, protocol\) \(pop_probe_http_status_code > 0\)`)

// TestAnsweringPanelsShowFailures: the exporter keeps a probe's last edge while the probe
// gets no response, so a panel of "who answers now" would keep drawing a PoP that answers
// nothing. The maps, "PoPs answering", the fleet tiles and the distance and shift graphs
// read each of those series only where the last attempt got a response; the PoP timeline
// shows "<PoP> failing" and "no response" as states, and the fleet tiles "no response".
func TestAnsweringPanelsShowFailures(t *testing.T) {
	panels := map[string][]string{
		"pop-overview.json": {"PoPs answering", "Vantage points and the PoPs answering them now", "Probes per answering PoP"},
		"pop-shifts.json":   {"Distance from the vantage to the PoP", "Shift distance from the baseline PoP", "Resolver spread: how much farther than the nearest resolver's PoP"},
		"fleet.json":        {"Vantages served far", "Vantages and the PoPs serving them now", "PoP serving each target from $vantage", "Vantages away from their baseline PoP, by target"},
		"latency.json":      {"TTFB against distance"},
	}
	for file, titles := range panels {
		for _, title := range titles {
			p := panelByTitle(t, file, title)
			for _, tg := range panelTargets(p) {
				expr, _ := tg["expr"].(string)
				for _, loc := range answeringSelectorRE.FindAllStringIndex(expr, -1) {
					if !answeredRE.MatchString(expr[loc[1]:]) {
						t.Errorf("%s %q %s: %s is read whether or not the probe's last attempt got a response", file, title, tg["refId"], expr[loc[0]:loc[1]])
					}
				}
			}
		}
	}
	tl := panelByTitle(t, "pop-shifts.json", "PoP answering each target from $vantage")
	b, _ := json.Marshal(tl)
	for _, want := range []string{`$1 failing`, `no response`, `pop_probe_success == 0`, `pop_probe_http_status_code{`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the PoP timeline does not show a failing probe as such: no %q", want)
		}
	}
	tiles := panelByTitle(t, "fleet.json", "PoP serving each target from $vantage")
	if b, _ := json.Marshal(tiles); !strings.Contains(string(b), `"no response"`) {
		t.Error("the fleet tiles do not show a probe that gets no response")
	}
}

// TestCDNWidePanelsShowBothConditions: PopShiftedFarCDNWide fires when the share of a
// target's vantages served far reaches pop_alert:shift_wide_ratio:threshold and at least
// pop_alert:shift_wide_vantages:threshold vantages are far. Its panel draws both conditions
// (the lower of the two, as a fraction of its threshold), the scope table says when both
// hold, and no panel draws a CDN's share against a threshold no alert uses or colours a share
// red at a number of its own.
func TestCDNWidePanelsShowBothConditions(t *testing.T) {
	p := panelByTitle(t, "fleet.json", "Share of the fleet served far from baseline")
	var all string
	for _, tg := range panelTargets(p) {
		expr, _ := tg["expr"].(string)
		all += expr + "\n"
		if strings.Contains(expr, "cdn:") {
			t.Errorf("the CDN-wide alert's panel draws per-CDN shares, which no alert reads: %s", expr)
		}
	}
	for _, rule := range []string{"pop_alert:shift_wide_ratio:threshold", "pop_alert:shift_wide_vantages:threshold", "target:pop_probe_vantages_shifted_far:count"} {
		if !strings.Contains(all, rule) {
			t.Errorf("the CDN-wide alert's panel does not read %s: it shows one of the alert's two conditions", rule)
		}
	}
	scope := panelByTitle(t, "fleet.json", "Shift scope by target")
	b, _ := json.Marshal(scope)
	if !strings.Contains(string(b), "pop_alert:shift_wide_vantages:threshold") {
		t.Error("Shift scope by target does not say when the alert's second condition (vantages far) holds")
	}
	for _, title := range []string{"Shift scope by target", "Shift scope by CDN"} {
		fc, _ := json.Marshal(panelByTitle(t, "fleet.json", title)["fieldConfig"])
		if regexp.MustCompile(`"color":"red","value":0\.5\b`).Match(fc) {
			t.Errorf("%s colours a share red at a hard-coded 0.5", title)
		}
	}
}

// TestThresholdLinesAreOneLine: a dashed red line is an alert's line. One per series
// ("max: www", "alert below: api", …) draws identical dashes, so a series crossing another
// target's line looks alerting. Each dashed line is one series of its own (no {{label}} in
// its legend), matched by name; per-target limits are drawn as each target's margin against
// one line.
func TestThresholdLinesAreOneLine(t *testing.T) {
	found := 0
	for name, d := range loadDashboards(t) {
		for _, p := range allPanels(d) {
			fc, _ := p["fieldConfig"].(map[string]any)
			ovs, _ := fc["overrides"].([]any)
			legends := map[string]string{}
			for _, tg := range panelTargets(p) {
				l, _ := tg["legendFormat"].(string)
				e, _ := tg["expr"].(string)
				legends[l] = e
			}
			for _, o := range ovs {
				om, _ := o.(map[string]any)
				b, _ := json.Marshal(om["properties"])
				if !strings.Contains(string(b), `"custom.lineStyle"`) || !strings.Contains(string(b), `"dash"`) {
					continue
				}
				found++
				m, _ := om["matcher"].(map[string]any)
				opt, _ := m["options"].(string)
				if m["id"] == "byRegexp" && regexp.MustCompile(`^\^[^.*+?\[\]()|\\]*\$$`).MatchString(opt) {
					opt = strings.TrimSuffix(strings.TrimPrefix(opt, "^"), "$") // one literal name
				} else if m["id"] != "byName" {
					t.Errorf("%s %q: dashed line matched by %v %q: one dash per matching series", name, p["title"], m["id"], opt)
					continue
				}
				expr, ok := legends[opt]
				if !ok {
					continue // a legend built by a transformation; one name is one series
				}
				if strings.Contains(opt, "{{") {
					t.Errorf("%s %q: dashed line %q is one per series", name, p["title"], opt)
				}
				if regexp.MustCompile(`\bby\s*\([^)]*\btarget\b`).MatchString(expr) {
					t.Errorf("%s %q: dashed line %q is grouped by target: %s", name, p["title"], opt, expr)
				}
			}
		}
	}
	if found == 0 {
		t.Error("no dashed threshold line found")
	}
}

// TestSeriesNamesSayWhichSeries: a row or a legend entry names everything that tells it from
// the others: the PoP timeline's rows name the resolver (two resolvers of one target are two
// probes), "Alerts firing" keeps the protocol, the resolver, the exporter instance and the
// target file apart, and "Exporter health" names the vantage, which is what a user looks for, with the
// instance.
func TestSeriesNamesSayWhichSeries(t *testing.T) {
	tl := panelByTitle(t, "pop-shifts.json", "PoP answering each target from $vantage")
	fc, _ := tl["fieldConfig"].(map[string]any)
	defs, _ := fc["defaults"].(map[string]any)
	if dn, _ := defs["displayName"].(string); !strings.Contains(dn, "__field.labels.resolver") {
		t.Errorf("the PoP timeline's rows %q do not name the resolver", dn)
	}
	for _, tc := range []struct {
		file, title string
		keep        []string // labels the outermost grouping must keep
		legend      []string // labels the legend must name
	}{
		{"pop-overview.json", "Alerts firing", []string{"alertname", "target", "instance", "file", "via", "ipv", "over", "at"}, []string{"alertname", "target", "instance", "file", "via", "ipv", "over", "at"}},
		{"pop-overview.json", "Exporter health", nil, []string{"vantage", "instance", "what"}},
	} {
		p := panelByTitle(t, tc.file, tc.title)
		for _, tg := range panelTargets(p) {
			expr, _ := tg["expr"].(string)
			legend, _ := tg["legendFormat"].(string)
			if m := outerByRE.FindStringSubmatch(expr); len(tc.keep) > 0 {
				var by []string
				if m != nil {
					by = strings.Split(strings.ReplaceAll(m[1], " ", ""), ",")
				}
				for _, l := range tc.keep {
					if !slices.Contains(by, l) {
						t.Errorf("%s %q: the query's grouping %v drops %s: series that differ only by it merge", tc.file, tc.title, by, l)
					}
				}
			}
			for _, l := range tc.legend {
				if !strings.Contains(legend, "{{"+l+"}}") {
					t.Errorf("%s %q: legend %q does not name %s", tc.file, tc.title, legend, l)
				}
			}
		}
	}
}

// filterVariables are the filters every dashboard offers.
var filterVariables = []string{"vantage", "target", "ip_version", "resolver", "protocol", "cdn"}

// ignoredFilters are the panels that do not apply some filters, and why; the panel's
// description says it too.
var ignoredFilters = map[string]map[string]string{
	"Vantages reporting": {"target": "exporter", "ip_version": "exporter", "resolver": "exporter", "protocol": "exporter", "cdn": "exporter"},
	"Schedule delay p99": {"target": "exporter", "ip_version": "exporter", "resolver": "exporter", "protocol": "exporter", "cdn": "exporter"},
	"Missed intervals":   {"target": "exporter", "ip_version": "exporter", "resolver": "exporter", "protocol": "exporter", "cdn": "exporter"},
	"Exporter health":    {"target": "exporter", "ip_version": "exporter", "resolver": "exporter", "protocol": "exporter", "cdn": "exporter"},
	"Vantage points and the PoPs answering them now": {"target": "the vantage layer", "ip_version": "the vantage layer", "resolver": "the vantage layer", "protocol": "the vantage layer", "cdn": "the vantage layer"},
	"Vantages and the PoPs serving them now":         {"target": "the vantage layer", "ip_version": "the vantage layer", "resolver": "the vantage layer", "protocol": "the vantage layer", "cdn": "the vantage layer"},
	"CDN-wide shifts paging":                         {"vantage": "fleet scope", "resolver": "fleet scope", "protocol": "fleet scope"},
	"Shift scope by target":                          {"vantage": "fleet scope", "resolver": "fleet scope", "protocol": "fleet scope"},
	"Share of the fleet served far from baseline":    {"vantage": "fleet scope", "resolver": "fleet scope", "protocol": "fleet scope"},
	"Shift scope by CDN":                             {"vantage": "fleet scope", "target": "fleet scope", "ip_version": "fleet scope", "resolver": "fleet scope", "protocol": "fleet scope"},
	"PoP by resolver":                                {"cdn": "the DNS answer has no CDN"},
}

// TestPanelsApplyFilters: a panel that ignores a dashboard filter shows the whole fleet under
// a title that reads as the selection. Every panel query applies every filter, except the
// panels listed in ignoredFilters (exporter-wide figures, the fleet-wide scope that the
// CDN-wide alert counts), whose descriptions say so; threshold and constant lines have no
// selection.
func TestPanelsApplyFilters(t *testing.T) {
	for name, d := range loadDashboards(t) {
		for _, p := range allPanels(d) {
			title, _ := p["title"].(string)
			for _, tg := range panelTargets(p) {
				expr, _ := tg["expr"].(string)
				if strings.HasPrefix(expr, "pop_alert:") || strings.HasPrefix(expr, "label_replace(pop_alert:") || strings.HasPrefix(expr, "vector(") {
					continue
				}
				for _, v := range filterVariables {
					if strings.Contains(expr, "$"+v) || strings.Contains(expr, "${"+v) {
						continue
					}
					if _, ok := ignoredFilters[title][v]; ok {
						continue
					}
					t.Errorf("%s %q %s ignores the %s filter: %s", name, title, tg["refId"], v, expr)
				}
			}
		}
	}
}

// TestAwayColoursComeFromThePoP: a probe answered by another PoP than its baseline is away,
// however near that PoP is: the same metro (0 km) or a PoP with no known location (no shift
// distance). The fleet tiles and the Current and baseline PoP table colour a probe away
// (orange) by comparing its PoP with its baseline PoP, not only by the shift distance,
// which is 0 for those.
func TestAwayColoursComeFromThePoP(t *testing.T) {
	for _, tc := range []struct{ file, title, ref, config string }{
		{"fleet.json", "PoP serving each target from $vantage", "A", "B"},
		{"pop-shifts.json", "Current and baseline PoP", "B", "D"},
	} {
		p := panelByTitle(t, tc.file, tc.title)
		exprs := map[string]string{}
		for _, tg := range panelTargets(p) {
			exprs[tg["refId"].(string)], _ = tg["expr"].(string)
		}
		e := exprs[tc.ref]
		if !strings.Contains(e, `"pop", "$1", "baseline_pop", "(.*)"`) || !strings.Contains(e, "clamp_min(") {
			t.Errorf("%s %q %s: an away probe at 0 km is coloured from its shift distance alone (green): %s", tc.file, tc.title, tc.ref, e)
		}
		// The orange step starts above 0 and no higher than the smallest value an away probe gets.
		m := regexp.MustCompile(`"away", "([0-9.]+)"`).FindStringSubmatch(exprs[tc.config])
		if m == nil {
			t.Errorf("%s %q: no away step in the colour config %s", tc.file, tc.title, exprs[tc.config])
			continue
		}
		step, _ := strconv.ParseFloat(m[1], 64)
		low := regexp.MustCompile(`clamp_min\(.*, ([0-9.]+)\) and on`).FindStringSubmatch(e)
		if low == nil {
			continue
		}
		if v, _ := strconv.ParseFloat(low[1], 64); step <= 0 || step > v {
			t.Errorf("%s %q: away step %v does not colour an away probe's %v", tc.file, tc.title, step, v)
		}
	}
}

// haDedupRE is how a panel counts each probe once when two exporters (an HA pair) probe it:
// a max over the exporters, per probe, or one exporter's series per probe.
var haDedupRE = regexp.MustCompile(`^max by \(vantage, target, ip_version, resolver, protocol\b|and on\(job, instance, vantage, target, ip_version, resolver, protocol\) topk by \(vantage, target, ip_version, resolver, protocol\) \(1, `)

// TestHAPairsCountOnce: the two exporters of an HA pair probe the same targets from the same
// vantage, and Prometheus keeps both (instance differs). A panel that adds up counts across
// exporters counts every probe twice: these panels take each probe once.
func TestHAPairsCountOnce(t *testing.T) {
	for _, tc := range []struct{ file, title string }{
		{"pop-shifts.json", "PoP changes"},
		{"pop-overview.json", "Probe failures by reason"},
		{"latency.json", "TTFB distribution"},
		{"cache.json", "Cache-status mix"},
		{"cache.json", "Cache status over the time range"},
		{"cache.json", "Cache status by target"},
	} {
		p := panelByTitle(t, tc.file, tc.title)
		for _, tg := range panelTargets(p) {
			expr, _ := tg["expr"].(string)
			if !haDedupRE.MatchString(expr) {
				t.Errorf("%s %q %s adds up the exporters of an HA pair: %s", tc.file, tc.title, tg["refId"], expr)
			}
		}
	}
	p := panelByTitle(t, "pop-overview.json", "Probes configured")
	for _, tg := range panelTargets(p) {
		if expr, _ := tg["expr"].(string); !strings.HasPrefix(expr, "count(count by (vantage, target, ip_version, resolver, protocol) (") {
			t.Errorf("Probes configured adds up the exporters of an HA pair: %s", expr)
		}
	}
}

// TestFleetShowsVantagesDown: with three of five exporters down the fleet view must not read
// as a fleet of two. It shows the vantages not reporting, and the scope table how many of a
// target's expected vantages are silent (the scope rules keep them expected for an hour; the
// rule unit tests check the counts).
func TestFleetShowsVantagesDown(t *testing.T) {
	b, _ := json.Marshal(panelByTitle(t, "fleet.json", "Vantages reporting")["targets"])
	if !strings.Contains(string(b), "last_over_time(pop_vantage_info") || !strings.Contains(string(b), "not reporting") {
		t.Errorf("Vantages reporting does not show the vantages that stopped reporting: %s", b)
	}
	b, _ = json.Marshal(panelByTitle(t, "fleet.json", "Shift scope by target"))
	if !strings.Contains(string(b), "target:pop_probe_vantages_reporting:count") || !strings.Contains(string(b), `"Not reporting"`) {
		t.Error("Shift scope by target does not say how many of a target's vantages are not reporting")
	}
}

// TestTTFBByPoPAndCacheStatusAnswerTheirTitles: "TTFB by PoP" counts each probe's TTFB for
// the PoP that answered that very probe (the same probe's edge, joined inside the window),
// never an average of per-target quantiles; "TTFB by cache status" splits by the cache
// status the exporter recorded with each TTFB (the full set's histograms), and in the basic
// set counts a probe only while all its responses had one status, never giving a probe's
// whole histogram to its most frequent status.
func TestTTFBByPoPAndCacheStatusAnswerTheirTitles(t *testing.T) {
	p := panelByTitle(t, "latency.json", "TTFB by PoP")
	for _, tg := range panelTargets(p) {
		expr, _ := tg["expr"].(string)
		if !strings.Contains(expr, "group_left(cdn, pop) pop_probe_edge_info") || !strings.Contains(expr, "[5m:]") {
			t.Errorf("TTFB by PoP %s does not attribute each probe's TTFB to the PoP that answered it: %s", tg["refId"], expr)
		}
		if regexp.MustCompile(`avg by \([^)]*\) \([a-z_]+:pop_probe_ttfb_seconds:p\d\d`).MatchString(expr) {
			t.Errorf("TTFB by PoP %s averages quantiles over targets: %s", tg["refId"], expr)
		}
	}
	p = panelByTitle(t, "latency.json", "TTFB by cache status")
	for _, tg := range panelTargets(p) {
		expr, _ := tg["expr"].(string)
		if strings.Contains(expr, "topk") {
			t.Errorf("TTFB by cache status %s gives a probe's TTFBs to its most frequent cache status: %s", tg["refId"], expr)
		}
		if !strings.Contains(expr, `cache_status!=""`) || !strings.Contains(expr, "== 1)") {
			t.Errorf("TTFB by cache status %s does not read the per-status histograms, or probes of one status: %s", tg["refId"], expr)
		}
	}
}

// legendPattern turns a legend format into a regular expression of the names it gives.
func legendPattern(legend string) *regexp.Regexp {
	parts := legendLabelRE.Split(legend, -1)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
}

// TestPanelDetails: the smaller things a user trips over.
//   - An override by name matches a series the panel draws ("dns" never matches "dns @ ams").
//   - A query whose series vanish at zero (x > 0) has no "last non-null" in its legend: a
//     reason that stopped failing would read as still failing.
//   - Percent stacking draws shares on an axis in the panel's unit: a panel stacked to 100 %
//     is in percent, its shares computed in the query.
//   - __requires names every panel type the dashboard uses, so an import says what it needs.
func TestPanelDetails(t *testing.T) {
	for name, d := range loadDashboards(t) {
		required := map[string]bool{}
		reqs, _ := d["__requires"].([]any)
		for _, r := range reqs {
			rm, _ := r.(map[string]any)
			if rm["type"] == "panel" {
				required[rm["id"].(string)] = true
			}
		}
		for _, p := range allPanels(d) {
			typ, _ := p["type"].(string)
			if typ != "row" && !required[typ] {
				t.Errorf("%s: __requires does not name panel type %s (%q)", name, typ, p["title"])
			}
			var legends []*regexp.Regexp
			dynamic := false
			for _, tg := range panelTargets(p) {
				l, _ := tg["legendFormat"].(string)
				if l == "" || l == "__auto" {
					dynamic = true
					continue
				}
				legends = append(legends, legendPattern(l))
				expr, _ := tg["expr"].(string)
				if regexp.MustCompile(`>\s*0\s*$`).MatchString(expr) {
					opts, _ := p["options"].(map[string]any)
					leg, _ := opts["legend"].(map[string]any)
					if slices.Contains(stringList(leg["calcs"]), "lastNotNull") {
						t.Errorf("%s %q: series vanish at 0, and the legend's lastNotNull shows a stale value", name, p["title"])
					}
				}
			}
			fc, _ := p["fieldConfig"].(map[string]any)
			defs, _ := fc["defaults"].(map[string]any)
			custom, _ := defs["custom"].(map[string]any)
			if st, _ := custom["stacking"].(map[string]any); st["mode"] == "percent" {
				t.Errorf("%s %q: percent stacking of values in %v", name, p["title"], defs["unit"])
			}
			if dynamic || typ == "table" || typ == "geomap" || typ == "state-timeline" || typ == "stat" || typ == "xychart" || typ == "piechart" {
				continue
			}
			ovs, _ := fc["overrides"].([]any)
			for _, o := range ovs {
				m, _ := o.(map[string]any)["matcher"].(map[string]any)
				if m["id"] != "byName" {
					continue
				}
				opt, _ := m["options"].(string)
				if !slices.ContainsFunc(legends, func(re *regexp.Regexp) bool { return re.MatchString(opt) }) {
					t.Errorf("%s %q: override for %q matches no series the panel draws", name, p["title"], opt)
				}
			}
		}
	}
}

// TestPoPFilterSurvivesLinks: Latency and Cache filter by PoP. The dashboard links carry the
// current dashboard's variables (includeVars), so a dashboard without a pop variable drops the
// PoP filter on the way through it: every dashboard defines pop (hidden where it does not
// apply), and every data link into Latency or Cache passes it on.
func TestPoPFilterSurvivesLinks(t *testing.T) {
	for name, d := range loadDashboards(t) {
		if !definedVariables(d)["pop"] {
			t.Errorf("%s has no pop variable: a link through it loses the PoP filter of Latency and Cache", name)
		}
		b, _ := json.Marshal(d)
		for _, u := range regexp.MustCompile(`/d/pop-(?:latency|cache)/[a-z-]+\?[^"]*`).FindAllString(string(b), -1) {
			if !strings.Contains(u, "${pop:queryparam}") && !strings.Contains(u, "var-pop=") {
				t.Errorf("%s: link %s does not pass the PoP filter on", name, u)
			}
		}
	}
}
