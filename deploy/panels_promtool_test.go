package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/popexporter/pop_exporter/dashboards"
)

// panelKey names one query of a dashboard panel: file, panel title and refId ("" for a
// panel's only or first query).
type panelKey struct{ file, panel, ref string }

// sample is one expected result of a panel query in promtool's form.
type sample struct {
	Labels string  `yaml:"labels"`
	Value  float64 `yaml:"value"`
}

// checkPanelsWithPromtool runs panel queries (every variable on All) with promtool over the
// given input series and the repository's rules, at 10m, and fails unless each returns
// exactly the samples wanted.
func checkPanelsWithPromtool(t *testing.T, name string, series []map[string]string, want map[panelKey][]sample) {
	t.Helper()
	promtool(t)
	queries, err := dashboards.Queries()
	if err != nil {
		t.Fatal(err)
	}
	var exprTests []map[string]any
	for _, q := range queries {
		if q.Kind != dashboards.KindPanel {
			continue
		}
		for _, k := range []panelKey{{q.File, q.Panel, q.RefID}, {q.File, q.Panel, ""}} {
			exp, ok := want[k]
			if !ok {
				continue
			}
			delete(want, k)
			exprTests = append(exprTests, map[string]any{"expr": dashboards.Expand(q.Expr), "eval_time": "10m", "exp_samples": exp})
			break
		}
	}
	for k := range want {
		t.Errorf("%s has no panel %q (query %q)", k.file, k.panel, k.ref)
	}
	rules, err := filepath.Abs("prometheus/rules/pop_exporter.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(map[string]any{
		"rule_files":          []string{rules},
		"evaluation_interval": "1m",
		"tests": []any{map[string]any{
			"name": name, "interval": "1m", "input_series": series, "promql_expr_test": exprTests,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "panels.test.yml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	if res := runPromtool(t, "test", "rules", path); !strings.Contains(res, "SUCCESS") {
		t.Error(res)
	}
}

// TestHAPairCountsOnce runs dashboard panel queries with promtool over the series of an HA
// pair: two exporters (instances a:9853 and b:9853) of vantage ams probing target www, each
// exposing the same series, as they do. Each panel must show the one probe once: one probe
// configured, 5 timeouts in 5 minutes (one a minute), 2 responses a minute served from cache,
// all of them hits. Counted per exporter, every figure doubles.
func TestHAPairCountsOnce(t *testing.T) {
	probe := `job="pop_exporter",vantage="ams",target="www",ip_version="4",resolver="system"`
	var series []map[string]string
	for _, inst := range []string{"a:9853", "b:9853"} {
		l := probe + `,instance="` + inst + `"`
		series = append(series,
			map[string]string{"series": "pop_probe_success{" + l + "}", "values": "1x20"},
			map[string]string{"series": "pop_probe_http_status_code{" + l + "}", "values": "200x20"},
			map[string]string{"series": "pop_probe_edge_info{" + l + `,cdn="cloudflare",pop="AMS"}`, "values": "1x20"},
			map[string]string{"series": "pop_probe_failures_total{" + l + `,reason="timeout"}`, "values": "0+1x20"},
			map[string]string{"series": "pop_probe_responses_total{" + l + `,cdn="cloudflare",pop="AMS",cache_status="hit"}`, "values": "0+2x20"},
		)
	}
	checkPanelsWithPromtool(t, "an HA pair probes www from ams", series, map[panelKey][]sample{
		{"pop-overview.json", "Probes configured", ""}:        {{"{}", 1}},
		{"pop-overview.json", "Probe failures by reason", ""}: {{`{vantage="ams",target="www",ip_version="4",resolver="system",reason="timeout"}`, 5}},
		{"cache.json", "Cache status by target", ""}:          {{`{vantage="ams",target="www",ip_version="4",resolver="system",cache_status="hit"}`, 2.0 / 60}},
		{"cache.json", "Cache-status mix", ""}:                {{`{cache_status="hit"}`, 1}},
	})
}

// TestAnsweringNowPanels runs the "who answers now" panels with promtool over four probes of
// vantage ams: "ok" at its baseline PoP AMS; "near" answered by FRA instead of its baseline
// AMS but 0 km from it (as two PoPs of one metro are); "err" answered by AMS with a 503 (the
// probe fails, the edge answers); "down", answered by AMS until it stopped getting any
// response (status code 0). The fleet tiles draw ok green (0), near orange (0.001, above
// the away step, not 0 km's green), down as "no response" (-1) and leave err at its PoP; the
// PoP timeline shows AMS, FRA, "AMS failing" and "no response".
func TestAnsweringNowPanels(t *testing.T) {
	var series []map[string]string
	add := func(target, pop, basePop string, shift, status, success string) {
		l := `job="pop_exporter",instance="a:9853",vantage="ams",target="` + target + `",ip_version="4",resolver="system"`
		series = append(series,
			map[string]string{"series": "pop_probe_success{" + l + "}", "values": success + "x20"},
			map[string]string{"series": "pop_probe_http_status_code{" + l + "}", "values": status + "x20"},
			map[string]string{"series": "pop_probe_edge_info{" + l + `,cdn="cloudflare",pop="` + pop + `"}`, "values": "1x20"},
			map[string]string{"series": "pop_probe_baseline_info{" + l + `,cdn="cloudflare",pop="` + basePop + `"}`, "values": "1x20"},
			map[string]string{"series": "pop_probe_shift_distance_meters{" + l + "}", "values": shift + "x20"},
		)
	}
	add("ok", "AMS", "AMS", "0", "200", "1")
	add("near", "FRA", "AMS", "0", "200", "1")
	add("err", "AMS", "AMS", "0", "503", "0")
	add("down", "AMS", "AMS", "0", "0", "0")
	probe := func(target, extra string) string {
		return `{vantage="ams",target="` + target + `",ip_version="4",resolver="system",` + extra + `}`
	}
	checkPanelsWithPromtool(t, "who answers now", series, map[panelKey][]sample{
		{"fleet.json", "PoP serving each target from $vantage", "A"}: {
			{probe("ok", `pop="AMS"`), 0}, {probe("near", `pop="FRA"`), 0.001},
			{probe("err", `pop="AMS"`), 0}, {probe("down", `pop="no response"`), -1},
		},
		{"pop-shifts.json", "PoP answering each target from $vantage", "A"}: {
			{probe("ok", `cdn="cloudflare",pop="AMS"`), 1}, {probe("near", `cdn="cloudflare",pop="FRA"`), 1},
			{probe("err", `cdn="cloudflare",pop="AMS failing"`), 1}, {probe("down", `pop="no response"`), 0},
		},
	})
}

// TestAlertsFiringNamesTheProtocol runs the Alerts firing panel with promtool over two alerts
// that differ only by protocol, as PopProtocolSplit or PopProbeFailing fire for a target
// probed over HTTP/2 and HTTP/3: two rows, each naming its protocol, never one row for both.
func TestAlertsFiringNamesTheProtocol(t *testing.T) {
	var series []map[string]string
	for _, proto := range []string{"http2", "http3"} {
		series = append(series, map[string]string{
			"series": `ALERTS{alertname="PopProbeFailing",alertstate="firing",severity="warning",job="pop_exporter",instance="a:9853",vantage="ams",target="www",ip_version="4",resolver="system",protocol="` + proto + `"}`,
			"values": "1x20",
		})
	}
	row := func(proto string) string {
		return `{alertname="PopProbeFailing",severity="warning",target="www",ipv="IPv4",over="over ` + proto + `",via="via system",at="@ ams",instance="a:9853"}`
	}
	checkPanelsWithPromtool(t, "one target failing over two protocols", series, map[panelKey][]sample{
		{"pop-overview.json", "Alerts firing", ""}: {{row("http2"), 1}, {row("http3"), 1}},
	})
}
