package deploy

// The Prometheus Operator's objects that the repository ships (the Helm chart's ServiceMonitor
// and PrometheusRule, the kustomize component deploy/kubernetes/monitoring) decoded with the
// Operator's own Go types, strictly: a field the Operator does not know, or a value of the
// wrong type, fails, as the API server's schema would refuse the object.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"gopkg.in/yaml.v3"
	k8syaml "sigs.k8s.io/yaml"
)

// decodeOperator decodes one manifest into an Operator type, refusing unknown fields.
func decodeOperator[T any](raw []byte) (T, error) {
	var v T
	j, err := k8syaml.YAMLToJSON(raw)
	if err != nil {
		return v, err
	}
	d := json.NewDecoder(bytes.NewReader(j))
	d.DisallowUnknownFields()
	if err := d.Decode(&v); err != nil {
		return v, fmt.Errorf("as the Operator's %T: %w", v, err)
	}
	return v, nil
}

func decodeOperatorDoc[T any](t *testing.T, where string, d k8sDoc) T {
	t.Helper()
	raw, err := yaml.Marshal(&d.node)
	if err != nil {
		t.Fatal(err)
	}
	v, err := decodeOperator[T](raw)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	return v
}

// TestOperatorDecodingIsStrict: the decoding the tests below rely on refuses a field the
// Operator does not know (a typo of interval) and a value of the wrong type.
func TestOperatorDecodingIsStrict(t *testing.T) {
	for _, bad := range []string{
		"apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: x}\nspec:\n  selector: {}\n  endpoints: [{port: http-metrics, intervall: 30s}]\n",
		"apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: x}\nspec:\n  groups: [{name: g, rules: [{record: r, expr: up, for: [5m]}]}]\n",
	} {
		if _, err := decodeOperator[monitoringv1.ServiceMonitor]([]byte(bad)); err == nil {
			if _, err := decodeOperator[monitoringv1.PrometheusRule]([]byte(bad)); err == nil {
				t.Errorf("decoded without error:\n%s", bad)
			}
		}
	}
}

// TestOperatorObjectsKustomize: the monitoring component's ServiceMonitor and PrometheusRule are
// the Operator's objects, the ServiceMonitor scrapes the base's Service as job pop_exporter, and
// the PrometheusRule holds the groups of the rule file.
func TestOperatorObjectsKustomize(t *testing.T) {
	sm := decodeOperatorDoc[monitoringv1.ServiceMonitor](t, "kubernetes/monitoring/servicemonitor.yaml",
		loadYAMLDocs(t, "kubernetes/monitoring/servicemonitor.yaml")[0])
	checkOperatorServiceMonitor(t, "kubernetes/monitoring", sm)
	pr := decodeOperatorDoc[monitoringv1.PrometheusRule](t, "kubernetes/monitoring/prometheusrule.yaml",
		loadYAMLDocs(t, "kubernetes/monitoring/prometheusrule.yaml")[0])
	checkOperatorRules(t, "kubernetes/monitoring", pr)
	var kust struct{ Resources []string }
	if err := loadYAMLDocs(t, "kubernetes/monitoring/kustomization.yaml")[0].decode(&kust); err != nil {
		t.Fatal(err)
	}
	if want := []string{"servicemonitor.yaml", "prometheusrule.yaml"}; !reflect.DeepEqual(kust.Resources, want) {
		t.Errorf("kubernetes/monitoring/kustomization.yaml resources %v, want %v", kust.Resources, want)
	}
}

// TestOperatorObjectsHelm: the same for the Helm chart's objects.
func TestOperatorObjectsHelm(t *testing.T) {
	objs := renderChart(t, "-f", shardedValues)
	sm := decodeOperatorDoc[monitoringv1.ServiceMonitor](t, "chart ServiceMonitor", objs["ServiceMonitor"][0])
	checkOperatorServiceMonitor(t, "chart", sm)
	pr := decodeOperatorDoc[monitoringv1.PrometheusRule](t, "chart PrometheusRule", objs["PrometheusRule"][0])
	checkOperatorRules(t, "chart", pr)
}

func checkOperatorServiceMonitor(t *testing.T, where string, sm monitoringv1.ServiceMonitor) {
	t.Helper()
	if sm.Kind != "ServiceMonitor" || len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("%s: %s with %d endpoints, want a ServiceMonitor with one", where, sm.Kind, len(sm.Spec.Endpoints))
	}
	ep := sm.Spec.Endpoints[0]
	job := ""
	for _, r := range ep.RelabelConfigs {
		if r.TargetLabel == "job" && r.Replacement != nil {
			job = *r.Replacement
		}
	}
	if ep.Port != "http-metrics" || job != exporterJob {
		t.Errorf("%s: ServiceMonitor scrapes port %q as job %q, want http-metrics as %q", where, ep.Port, job, exporterJob)
	}
	if ep.Interval == "" {
		t.Errorf("%s: ServiceMonitor endpoint has no interval", where)
	}
}

func checkOperatorRules(t *testing.T, where string, pr monitoringv1.PrometheusRule) {
	t.Helper()
	var file struct {
		Groups []struct {
			Name     string
			Interval string
			Rules    []struct{ Record, Alert, Expr, For string }
		}
	}
	readYAML(t, "prometheus/rules/pop_exporter.rules.yml", &file)
	if len(pr.Spec.Groups) != len(file.Groups) {
		t.Fatalf("%s: PrometheusRule has %d groups, the rule file %d", where, len(pr.Spec.Groups), len(file.Groups))
	}
	for i, g := range pr.Spec.Groups {
		fg := file.Groups[i]
		interval := ""
		if g.Interval != nil {
			interval = string(*g.Interval)
		}
		if g.Name != fg.Name || interval != fg.Interval || len(g.Rules) != len(fg.Rules) {
			t.Errorf("%s: group %d is %s every %q with %d rules, the file's %s every %q with %d", where, i,
				g.Name, interval, len(g.Rules), fg.Name, fg.Interval, len(fg.Rules))
			continue
		}
		for j, r := range g.Rules {
			fr := fg.Rules[j]
			forTime := ""
			if r.For != nil {
				forTime = string(*r.For)
			}
			if r.Record != fr.Record || r.Alert != fr.Alert || r.Expr.String() != fr.Expr || forTime != fr.For {
				t.Errorf("%s: group %s rule %d differs from the rule file: %s%s", where, g.Name, j, r.Record, r.Alert)
			}
		}
	}
}

// TestHelmValuesDocumented: every value of the chart (and every key of its Operator, dashboard
// and mixin sections) is named in the README's Helm table, as `key`, `key.sub` or, after a
// `key.sub` in the same cell, `.sub`.
func TestHelmValuesDocumented(t *testing.T) {
	var values map[string]any
	readYAML(t, chartDir+"/values.yaml", &values)
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	start := strings.Index(section, "\n### Helm\n")
	if start < 0 {
		t.Fatal("README has no Helm section")
	}
	section = section[start+1:]
	if end := strings.Index(section[1:], "\n#"); end > 0 {
		section = section[:end]
	}
	named := map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cell := strings.SplitN(line, "|", 3)[1]
		prefix := ""
		for _, m := range regexp.MustCompile("`([^`]*)`").FindAllStringSubmatch(cell, -1) {
			key := m[1]
			if strings.HasPrefix(key, ".") {
				key = prefix + key
			} else if p, _, ok := strings.Cut(key, "."); ok {
				prefix = p
			}
			named[key] = true
		}
	}
	for key, v := range values {
		if !named[key] && !hasPrefixKey(named, key+".") {
			t.Errorf("README, Helm: the value %s is not described", key)
		}
		if sub, ok := v.(map[string]any); ok && (key == "serviceMonitor" || key == "prometheusRule" || key == "dashboards" || key == "mixin") {
			for k := range sub {
				if !named[key+"."+k] {
					t.Errorf("README, Helm: the value %s.%s is not described", key, k)
				}
			}
		}
	}
}

func hasPrefixKey(m map[string]bool, prefix string) bool {
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}
