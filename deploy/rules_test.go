// Package deploy holds no Go code: its tests check the Prometheus configuration, the rules
// and their unit tests with promtool, and every dashboard query with Prometheus's own parser.
package deploy

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/popexporter/pop_exporter/dashboards"
)

const (
	configFile = "prometheus/prometheus.yml"
	rulesGlob  = "prometheus/rules/*.rules.yml"
	testsGlob  = "prometheus/rules/*.rules.test.yml"
)

// promtool returns the path of promtool, skipping the test when it is missing, except in CI
// (CI=true), where a missing promtool must not turn the rule tests into silent skips.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		msg := "promtool not on PATH: install it (Debian: apt-get install prometheus) to check the Prometheus config and rules"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// runPromtool runs promtool with args and fails the test with its output when it fails.
func runPromtool(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func glob(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no files match %s", pattern)
	}
	return files
}

func TestPromtoolCheckConfig(t *testing.T) {
	// Also loads the rule files the configuration names, so a broken glob shows here.
	out := runPromtool(t, "check", "config", configFile)
	if !strings.Contains(out, "SUCCESS") || !strings.Contains(out, "rules found") {
		t.Errorf("promtool check config did not load any rule file:\n%s", out)
	}
}

// TestPromtoolCheckAgentConfig: the agent configuration of README "Running a fleet" is valid
// for a Prometheus in agent mode (no rules, no alerting, remote_write).
func TestPromtoolCheckAgentConfig(t *testing.T) {
	out := runPromtool(t, "check", "config", "--agent", "prometheus/agent.yml")
	if !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool check config --agent:\n%s", out)
	}
}

func TestPromtoolCheckRules(t *testing.T) {
	runPromtool(t, append([]string{"check", "rules"}, glob(t, rulesGlob)...)...)
}

func TestPromtoolTestRules(t *testing.T) {
	out := runPromtool(t, append([]string{"test", "rules"}, glob(t, testsGlob)...)...)
	if !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool test rules did not report SUCCESS:\n%s", out)
	}
}

// TestDashboardQueriesParse hands every dashboard query, with its Grafana variables
// expanded, to promtool as a recording rule: Prometheus's own parser then checks it.
func TestDashboardQueriesParse(t *testing.T) {
	bin := promtool(t)
	qs, err := dashboards.Queries()
	if err != nil {
		t.Fatal(err)
	}
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	type group struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	}
	g := group{Name: "dashboard_queries"}
	for i, q := range qs {
		g.Rules = append(g.Rules, rule{Record: fmt.Sprintf("dashboard_query_%d", i), Expr: dashboards.Expand(q.Expr)})
	}
	b, err := yaml.Marshal(map[string][]group{"groups": {g}})
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "dashboard_queries.yml")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "check", "rules", f).CombinedOutput()
	if err != nil {
		// Name the dashboard and panel of each rule promtool rejected.
		for i, q := range qs {
			if strings.Contains(string(out), fmt.Sprintf("%q", fmt.Sprintf("dashboard_query_%d", i))) {
				t.Errorf("%s panel %q %s does not parse: %s", q.File, q.Panel, q.RefID, q.Expr)
			}
		}
		t.Fatalf("promtool rejected dashboard queries: %v\n%s", err, out)
	}
}

// ruleFile and ruleTests are the parts of the rule and unit-test files the coverage test reads.
type ruleFile struct {
	Groups []ruleGroup `yaml:"groups"`
}

type ruleGroup struct {
	Name  string `yaml:"name"`
	Rules []struct {
		Record      string            `yaml:"record"`
		Alert       string            `yaml:"alert"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
	} `yaml:"rules"`
}

// ruleGroups is every group of the repository's rule files, in their order.
func ruleGroups(t *testing.T) []ruleGroup {
	t.Helper()
	var groups []ruleGroup
	for _, f := range glob(t, rulesGlob) {
		var rf ruleFile
		readYAML(t, f, &rf)
		groups = append(groups, rf.Groups...)
	}
	return groups
}

type ruleTests struct {
	GroupEvalOrder []string `yaml:"group_eval_order"`
	Tests          []struct {
		Name          string `yaml:"name"`
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
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

// TestEveryAlertTestedAndDocumented needs no promtool: every alert has a severity, a summary
// and a description, and the unit tests show it both firing and staying silent.
func TestEveryAlertTestedAndDocumented(t *testing.T) {
	var alerts []string
	for _, g := range ruleGroups(t) {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts = append(alerts, r.Alert)
			switch r.Labels["severity"] {
			case "critical", "warning":
			default:
				t.Errorf("alert %s: severity %q, want critical or warning", r.Alert, r.Labels["severity"])
			}
			for _, a := range []string{"summary", "description"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("alert %s has no %s annotation", r.Alert, a)
				}
			}
		}
	}
	sort.Strings(alerts)
	want := []string{"PopBeyondMaxDistance", "PopCacheHitRatioDrop", "PopCertExpiringSoon", "PopCertMismatch", "PopContentInconsistent",
		"PopExporterConfigReloadFailed", "PopExporterDown", "PopExporterTargetFileFailed", "PopFlapping", "PopProbeFailing", "PopProtocolSplit", "PopResolverFar",
		"PopShiftedFar", "PopShiftedFarCDNWide", "PopTTFBHigh", "PopUnexpected"}
	if strings.Join(alerts, ",") != strings.Join(want, ",") {
		t.Errorf("alerts = %v, want %v", alerts, want)
	}

	fires, silent := map[string]bool{}, map[string]bool{}
	for _, f := range glob(t, testsGlob) {
		var rt ruleTests
		readYAML(t, f, &rt)
		for _, tc := range rt.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fires[a.Alertname] = true
				} else {
					silent[a.Alertname] = true
				}
			}
		}
	}
	for _, a := range alerts {
		if !fires[a] {
			t.Errorf("alert %s: no unit test makes it fire", a)
		}
		if !silent[a] {
			t.Errorf("alert %s: no unit test shows it staying silent", a)
		}
	}
}

// TestGroupEvalOrderNamesEveryGroup: promtool evaluates the groups that group_eval_order
// leaves out in any order, so a record read by another group (the 6-hour cache ratio reads
// the 15-minute one) would give a different value from run to run. The order must name every
// group of the rule file, in the file's order, and nothing else.
func TestGroupEvalOrderNamesEveryGroup(t *testing.T) {
	var groups []string
	for _, g := range ruleGroups(t) {
		groups = append(groups, g.Name)
	}
	for _, f := range glob(t, testsGlob) {
		var rt ruleTests
		readYAML(t, f, &rt)
		if !slices.Equal(rt.GroupEvalOrder, groups) {
			t.Errorf("%s: group_eval_order %v, want the rule groups in their order %v", f, rt.GroupEvalOrder, groups)
		}
	}
}

// TestPerProbeRecords: the vantage_target: records are the ones recorded per probe, one series
// each (the unit test "five recorded series per probe" shows it for an HTTPS probe with
// content, over two protocols and two resolvers). The central Prometheus of a fleet evaluates
// them over every vantage's probes (README, What the rules cost): a sixth is a sixth series
// for every probe of the fleet, and what it records is for the alert or panel that reads it
// to compute, or to count per target.
func TestPerProbeRecords(t *testing.T) {
	var perProbe []string
	for _, g := range ruleGroups(t) {
		for _, r := range g.Rules {
			if strings.HasPrefix(r.Record, "vantage_target:") {
				perProbe = append(perProbe, r.Record)
			}
		}
	}
	if len(perProbe) > 5 {
		t.Errorf("%d records per probe, want at most 5: %v", len(perProbe), perProbe)
	}
}
