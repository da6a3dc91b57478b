package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"gopkg.in/yaml.v3"

	"github.com/popexporter/pop_exporter/dashboards/mixin"
)

// The monitoring mixin's _config in the Operator's objects: the Helm chart's mixin values and
// the multi-cluster kustomize component.

const multiClusterValues = chartDir + "/ci/multi-cluster-values.yaml"

// TestHelmChartMultiCluster renders the chart with ci/multi-cluster-values.yaml (multiCluster,
// cluster label k8s_cluster, a selector of job and namespace): the PrometheusRule is the
// Operator's object and holds exactly the mixin's rules rendered with those settings, every
// join and grouping on job and instance or by vantage keeps k8s_cluster, and every dashboard
// is the mixin's, with a Cluster variable over k8s_cluster.
func TestHelmChartMultiCluster(t *testing.T) {
	var values struct {
		Mixin struct {
			MultiCluster bool   `yaml:"multiCluster"`
			ClusterLabel string `yaml:"clusterLabel"`
			Selector     string `yaml:"selector"`
		}
	}
	readYAML(t, multiClusterValues, &values)
	m := values.Mixin
	if !m.MultiCluster || m.ClusterLabel != "k8s_cluster" || m.Selector == "" {
		t.Fatalf("%s: mixin %+v, want multiCluster with cluster label k8s_cluster and a selector", multiClusterValues, m)
	}
	want, err := mixin.Render(fmt.Sprintf("{multiCluster: true, clusterLabel: %q, selector: %q}", m.ClusterLabel, m.Selector))
	if err != nil {
		t.Fatal(err)
	}
	objs := renderChart(t, "-f", multiClusterValues)
	out := renderedText(t, objs)
	if strings.Contains(out, mixin.ClusterLabelPlaceholder) {
		t.Errorf("the chart's output still holds %s", mixin.ClusterLabelPlaceholder)
	}

	const where = "chart (ci/multi-cluster-values.yaml)"
	pr := decodeOperatorDoc[monitoringv1.PrometheusRule](t, where+" PrometheusRule", objs["PrometheusRule"][0])
	var exprs []string
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr.String())
		}
	}
	checkJoinsKeepCluster(t, where+" PrometheusRule", exprs, m.ClusterLabel)
	if !slices.ContainsFunc(exprs, func(e string) bool { return strings.Contains(e, "up{"+m.Selector+"}") }) {
		t.Errorf("%s: no rule selects up{%s}", where, m.Selector)
	}
	checkRuleGroups(t, where, objs["PrometheusRule"][0], want[mixin.RulesFile])

	dashboards := dashboardConfigMaps(t, objs)
	for name, b := range want {
		if !strings.HasPrefix(name, mixin.DashboardsDir+"/") {
			continue
		}
		file := path.Base(name)
		got, ok := dashboards[file]
		if !ok {
			t.Errorf("%s: no dashboard ConfigMap holds %s", where, file)
			continue
		}
		var vars struct {
			Templating struct {
				List []struct {
					Name       string `json:"name"`
					Definition string `json:"definition"`
				} `json:"list"`
			} `json:"templating"`
		}
		var gv, wv any
		if err := errors.Join(json.Unmarshal([]byte(got), &gv), json.Unmarshal(b, &wv), json.Unmarshal([]byte(got), &vars)); err != nil {
			t.Fatalf("%s: %s: %v", where, file, err)
		}
		if !reflect.DeepEqual(gv, wv) {
			t.Errorf("%s: %s differs from the mixin's rendering with the chart's mixin values", where, file)
		}
		if l := vars.Templating.List; len(l) < 2 || l[1].Name != "cluster" || l[1].Definition != "label_values(pop_vantage_info, "+m.ClusterLabel+")" {
			t.Errorf("%s: %s has no Cluster variable over %s after the data source: %+v", where, file, m.ClusterLabel, l)
		}
	}
}

// TestHelmChartMixinDefaults: the default mixin values, and a selector given as the
// ServiceMonitor's job, give the repository's rules and dashboards with that job and no
// cluster label.
func TestHelmChartMixinDefaults(t *testing.T) {
	want, err := mixin.Render(`{selector: 'job="cdn-probes"'}`)
	if err != nil {
		t.Fatal(err)
	}
	objs := renderChart(t, "-f", shardedValues, "--set", "serviceMonitor.job=cdn-probes")
	const where = "chart (serviceMonitor.job=cdn-probes)"
	checkRuleGroups(t, where, objs["PrometheusRule"][0], want[mixin.RulesFile])
	sm := decodeOperatorDoc[monitoringv1.ServiceMonitor](t, where, objs["ServiceMonitor"][0])
	if job := *sm.Spec.Endpoints[0].RelabelConfigs[0].Replacement; job != "cdn-probes" {
		t.Errorf("%s: the ServiceMonitor sets job %q", where, job)
	}
	dashboards := dashboardConfigMaps(t, objs)
	for name, b := range want {
		if strings.HasPrefix(name, mixin.DashboardsDir+"/") && dashboards[path.Base(name)] != strings.TrimRight(string(b), "\n") {
			t.Errorf("%s: %s differs from the mixin's rendering with that selector", where, path.Base(name))
		}
	}
	if out := renderedText(t, objs); strings.Contains(out, "cluster") || strings.Contains(out, mixin.DefaultSelector) {
		t.Errorf("%s: the output names a cluster or still selects %s", where, mixin.DefaultSelector)
	}
}

// TestOperatorObjectsKustomizeMultiCluster: the multi-cluster component's objects are the
// Operator's, its PrometheusRule holds the mixin's multi-cluster rules, whose joins keep the
// cluster label.
func TestOperatorObjectsKustomizeMultiCluster(t *testing.T) {
	const dir = "kubernetes/monitoring-multi-cluster"
	want, err := mixin.Render("{multiCluster: true}")
	if err != nil {
		t.Fatal(err)
	}
	sm := decodeOperatorDoc[monitoringv1.ServiceMonitor](t, dir+"/servicemonitor.yaml", loadYAMLDocs(t, dir+"/servicemonitor.yaml")[0])
	checkOperatorServiceMonitor(t, dir, sm)
	doc := loadYAMLDocs(t, dir+"/prometheusrule.yaml")[0]
	pr := decodeOperatorDoc[monitoringv1.PrometheusRule](t, dir+"/prometheusrule.yaml", doc)
	var exprs []string
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr.String())
		}
	}
	checkJoinsKeepCluster(t, dir, exprs, "cluster")
	checkRuleGroups(t, dir, doc, want[mixin.RulesFile])
	var kust struct {
		Kind      string
		Resources []string
	}
	if err := loadYAMLDocs(t, dir+"/kustomization.yaml")[0].decode(&kust); err != nil {
		t.Fatal(err)
	}
	if w := []string{"servicemonitor.yaml", "prometheusrule.yaml"}; kust.Kind != "Component" || !reflect.DeepEqual(kust.Resources, w) {
		t.Errorf("%s/kustomization.yaml: a %s of %v, want a Component of %v", dir, kust.Kind, kust.Resources, w)
	}
}

// joinRE matches a by (...) or on(...) label list.
var joinRE = regexp.MustCompile(`(?:by|on) ?\(([^)]*)\)`)

// checkJoinsKeepCluster fails for every join or grouping that names instance, or groups by
// vantage first, without the cluster label: two clusters' exporters share an instance string
// and may share a vantage name, so such a query mixes them (or fails on a many-to-many match).
func checkJoinsKeepCluster(t *testing.T, where string, exprs []string, label string) {
	t.Helper()
	checked := 0
	for _, e := range exprs {
		for _, m := range joinRE.FindAllStringSubmatch(e, -1) {
			labels := strings.Split(m[1], ", ")
			if !strings.Contains(m[1], "instance") && labels[0] != "vantage" {
				continue
			}
			checked++
			if !slices.Contains(labels, label) {
				t.Errorf("%s: %q does not keep %s: %.300s", where, m[0], label, e)
			}
		}
	}
	if checked < 10 {
		t.Errorf("%s: checked %d joins and groupings, expected the rules' dozens", where, checked)
	}
}

// checkRuleGroups fails unless a PrometheusRule's groups are those of a rendered rule file.
func checkRuleGroups(t *testing.T, where string, doc k8sDoc, rules []byte) {
	t.Helper()
	var pr struct{ Spec struct{ Groups any } }
	if err := doc.decode(&pr); err != nil {
		t.Fatal(err)
	}
	var file struct{ Groups any }
	if err := yaml.Unmarshal(rules, &file); err != nil {
		t.Fatal(err)
	}
	if file.Groups == nil || !reflect.DeepEqual(file.Groups, pr.Spec.Groups) {
		a, _ := yaml.Marshal(file.Groups)
		b, _ := yaml.Marshal(pr.Spec.Groups)
		t.Errorf("%s: the PrometheusRule's groups differ from the mixin's rendering (first difference at line %d)", where,
			firstDifferentLine(string(a), string(b)))
	}
}

func firstDifferentLine(a, b string) int {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}

// dashboardConfigMapList returns the chart's ConfigMaps other than the exporter's own: the
// dashboards'.
func dashboardConfigMapList(t *testing.T, objs map[string][]k8sDoc) []k8sConfigMap {
	t.Helper()
	var out []k8sConfigMap
	for _, d := range objs["ConfigMap"] {
		var cm k8sConfigMap
		if err := d.decode(&cm); err != nil {
			t.Fatal(err)
		}
		if cm.Metadata.Name != chartFullname {
			out = append(out, cm)
		}
	}
	return out
}

// dashboardConfigMaps returns the dashboards of the chart's dashboard ConfigMaps by file name.
func dashboardConfigMaps(t *testing.T, objs map[string][]k8sDoc) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, cm := range dashboardConfigMapList(t, objs) {
		for k, v := range cm.Data {
			out[k] = v
		}
	}
	if len(out) == 0 {
		t.Fatal("no dashboard ConfigMaps")
	}
	return out
}

// renderedText is the chart's objects as YAML text, to look for strings anywhere in them.
func renderedText(t *testing.T, objs map[string][]k8sDoc) string {
	t.Helper()
	var b strings.Builder
	for _, docs := range objs {
		for _, d := range docs {
			out, err := yaml.Marshal(&d.node)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(out)
		}
	}
	return b.String()
}
