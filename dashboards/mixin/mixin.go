// Package mixin renders the pop_exporter monitoring mixin (mixin.libsonnet and the files it
// imports, all in this folder) with go-jsonnet: the Grafana dashboards and the Prometheus
// rule file, from one _config.
//
// `go generate ./dashboards/mixin/` writes the default rendering over dashboards/*.json and
// deploy/prometheus/rules/pop_exporter.rules.yml, and the multi-cluster renderings of the Helm
// chart and the kustomize component (Generate), which stay committed; a test fails when they
// differ from a fresh rendering. `go run ./dashboards/mixin/render -config my.jsonnet` renders
// a user's own _config.
package mixin

//go:generate go run ./render -generate -out ../..

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/google/go-jsonnet"
	"gopkg.in/yaml.v3"
)

//go:embed *.libsonnet dashboards/*.json
var sources embed.FS

// RulesFile is where the rendered rules go, relative to the repository root.
const RulesFile = "deploy/prometheus/rules/pop_exporter.rules.yml"

// DashboardsDir is where the rendered dashboards go, relative to the repository root.
const DashboardsDir = "dashboards"

// OperatorDir is the kustomize component whose Prometheus Operator objects are rendered.
const OperatorDir = "deploy/kubernetes/monitoring"

// operatorHeaders are the comments of the rendered Operator objects.
var operatorHeaders = map[string]string{
	"servicemonitor.yaml": `# Scrape config for the Prometheus Operator (kube-prometheus-stack and the like), rendered from
# the monitoring mixin (dashboards/mixin/, _config.jobName) by ` + "`go generate ./dashboards/mixin/`" + `.
# Part of the kustomize component in this folder (components: [monitoring] in
# ../kustomization.yaml); give it the label your Prometheus resource selects
# (serviceMonitorSelector), often ` + "`release: <helm release name>`" + `. Without the operator,
# scrape the Service (port 9853) as job pop_exporter, as deploy/prometheus/prometheus.yml does.
`,
	"prometheusrule.yaml": `# The recording rules and alerts of deploy/prometheus/rules/pop_exporter.rules.yml as a
# PrometheusRule for the Prometheus Operator, rendered from the monitoring mixin
# (dashboards/mixin/) by ` + "`go generate ./dashboards/mixin/`" + `. Part of the kustomize
# component in this folder; give it the label your Prometheus resource selects (ruleSelector).
`,
}

// multiClusterOperatorHeaders are the comments of the multi-cluster component's objects.
var multiClusterOperatorHeaders = map[string]string{
	"servicemonitor.yaml": `# Scrape config for the Prometheus Operator, rendered from the monitoring mixin
# (dashboards/mixin/, _config.jobName) by ` + "`go generate ./dashboards/mixin/`" + `: the same as
# ../monitoring/servicemonitor.yaml, part of the multi-cluster component in this folder.
`,
	"prometheusrule.yaml": `# The recording rules and alerts of the monitoring mixin rendered with multiCluster: true
# (cluster label "cluster") as a PrometheusRule for the Prometheus Operator, by
# ` + "`go generate ./dashboards/mixin/`" + `: for the store where a fleet's agents remote-write
# (README, Running a fleet). Part of the kustomize component in this folder, used instead of
# ../monitoring; give it the label your Prometheus resource selects (ruleSelector).
`,
}

// Rendering is the mixin rendered for one _config: file contents by path relative to the
// repository root.
type Rendering map[string][]byte

// Render evaluates the mixin with config, a jsonnet object merged into the mixin's _config
// (for example `{multiCluster: true, selector: 'job="probes"'}`); empty means the defaults.
// It gives the dashboards, the rule file and the kustomize component's Operator objects at
// the paths of the repository's defaults.
func Render(config string) (Rendering, error) {
	raw, err := evaluate(config)
	if err != nil {
		return nil, err
	}
	r := Rendering{}
	if r[RulesFile], err = rulesYAML(rulesHeader, raw.Rules); err != nil {
		return nil, err
	}
	if err := raw.addOperator(r, OperatorDir, operatorHeaders); err != nil {
		return nil, err
	}
	return r, raw.addDashboards(r, DashboardsDir)
}

// ClusterLabelPlaceholder stands for the cluster label in the Helm chart's multi-cluster
// rendering, and DefaultSelector is the selector of every default rendering: the mixin inserts
// _config.clusterLabel and _config.selector last, by replacing these two strings, so a chart
// can render any cluster label and selector from one committed rendering by replacing them
// in the rules' expressions and annotations and in the dashboards' JSON.
const (
	ClusterLabelPlaceholder = "__CLUSTER_LABEL__"
	DefaultSelector         = `job="pop_exporter"`
)

// ChartMultiClusterDir holds the multi-cluster rendering the Helm chart deploys with
// mixin.multiCluster (its rule file and dashboards/), with ClusterLabelPlaceholder for the
// cluster label.
const ChartMultiClusterDir = "deploy/helm/pop-exporter/files/multi-cluster"

// MultiClusterOperatorDir is the kustomize component of the Operator objects rendered with
// multiCluster: true and the default cluster label, the alternative to OperatorDir.
const MultiClusterOperatorDir = "deploy/kubernetes/monitoring-multi-cluster"

// Generate renders every file of the repository that the mixin writes: Render's defaults,
// the Helm chart's multi-cluster rendering and the multi-cluster kustomize component.
// `go generate ./dashboards/mixin/` writes them.
func Generate() (Rendering, error) {
	r, err := Render("")
	if err != nil {
		return nil, err
	}
	chart, err := evaluate(fmt.Sprintf("{multiCluster: true, clusterLabel: %q}", ClusterLabelPlaceholder))
	if err != nil {
		return nil, err
	}
	if r[path.Join(ChartMultiClusterDir, path.Base(RulesFile))], err = rulesYAML(chartRulesHeader, chart.Rules); err != nil {
		return nil, err
	}
	if err := chart.addDashboards(r, path.Join(ChartMultiClusterDir, "dashboards")); err != nil {
		return nil, err
	}
	fleet, err := evaluate("{multiCluster: true}")
	if err != nil {
		return nil, err
	}
	return r, fleet.addOperator(r, MultiClusterOperatorDir, multiClusterOperatorHeaders)
}

// evaluated is the mixin evaluated for one _config, before it is written as files.
type evaluated struct {
	Rules      json.RawMessage            `json:"rules"`
	Dashboards map[string]json.RawMessage `json:"dashboards"`
	Operator   map[string]json.RawMessage `json:"operator"`
}

func evaluate(config string) (*evaluated, error) {
	if strings.TrimSpace(config) == "" {
		config = "{}"
	}
	vm := jsonnet.MakeVM()
	files := map[string]jsonnet.Contents{}
	err := fs.WalkDir(sources, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := sources.ReadFile(p)
		files[p] = jsonnet.MakeContents(string(b))
		return err
	})
	if err != nil {
		return nil, err
	}
	vm.Importer(&jsonnet.MemoryImporter{Data: files})
	vm.TLACode("config", config)
	out, err := vm.EvaluateAnonymousSnippet("render.jsonnet", `function(config)
  local m = (import 'mixin.libsonnet') + { _config+:: config };
  { rules: m.renderedRules, dashboards: m.grafanaDashboards, operator: m.operatorObjects }`)
	if err != nil {
		return nil, fmt.Errorf("rendering the mixin: %w", err)
	}
	var e evaluated
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// addOperator writes the Operator objects into dir, each after its header.
func (e *evaluated) addOperator(r Rendering, dir string, headers map[string]string) error {
	for name, raw := range e.Operator {
		header, ok := headers[name]
		if !ok {
			return fmt.Errorf("operator object %s: no header", name)
		}
		var err error
		if r[path.Join(dir, name)], err = manifestYAML(header, raw); err != nil {
			return err
		}
	}
	return nil
}

// addDashboards writes the dashboards into dir, keys in the order of their sources.
func (e *evaluated) addDashboards(r Rendering, dir string) error {
	for name, raw := range e.Dashboards {
		src, err := sources.ReadFile(path.Join("dashboards", name))
		if err != nil {
			return err
		}
		if r[path.Join(dir, name)], err = dashboardJSON(raw, src); err != nil {
			return fmt.Errorf("dashboard %s: %w", name, err)
		}
	}
	return nil
}

const rulesHeader = `# Recording and alerting rules for pop_exporter: rendered from the monitoring mixin in
# dashboards/mixin/ (rules.libsonnet, alerts.libsonnet, settings in config.libsonnet) by
# ` + "`go generate ./dashboards/mixin/`" + `. Edit the mixin, not this file; the comments there say
# what each rule is for. Render your own settings (exporter selector, cluster label,
# thresholds, ` + "`for:`" + ` times, runbook links) with ` + "`go run ./dashboards/mixin/render`" + `
# (README, Monitoring mixin).
#
# The dashboards in dashboards/ read the recording rules below: load this file into the
# Prometheus that Grafana queries (or the ruler of Thanos, Mimir, Cortex: one group per
# concern, so that rulers sharding by group can spread them).
`

// ruleKeyOrder is the order of keys in the rule file, as Prometheus documents them.
var ruleKeyOrder = []string{"apiVersion", "kind", "metadata", "spec", "groups", "name", "interval", "rules", "record", "alert", "expr", "for", "labels", "annotations",
	"runbook_url", "dashboard_url", "summary", "description"}

// chartRulesHeader heads the Helm chart's multi-cluster rule file.
const chartRulesHeader = `# The recording rules and alerts of the monitoring mixin (dashboards/mixin/) rendered with
# multiCluster: true for the Helm chart (deploy/helm/pop-exporter, value mixin.multiCluster) by
# ` + "`go generate ./dashboards/mixin/`" + `. Not a rule file to load as it is: ` + ClusterLabelPlaceholder + `
# stands for the cluster label and ` + DefaultSelector + ` for the exporter selector, which the
# chart replaces with mixin.clusterLabel and mixin.selector in every expression and annotation;
# the mixin inserts both the same way, last, so the result is the mixin's rendering for them.
# Outside Helm, render your own _config (README, Monitoring mixin).
`

func rulesYAML(header string, raw json.RawMessage) ([]byte, error) {
	return manifestYAML(header+"\n", raw)
}

// manifestYAML writes a rendered object as YAML after a header comment, keys in the order
// Prometheus and Kubernetes document them.
func manifestYAML(header string, raw json.RawMessage) ([]byte, error) {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(header)
	e := yaml.NewEncoder(&b)
	e.SetIndent(2)
	if err := e.Encode(yamlNode(v)); err != nil {
		return nil, err
	}
	return b.Bytes(), e.Close()
}

func yamlNode(v any) *yaml.Node {
	switch v := v.(type) {
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode}
		for _, k := range orderedKeys(v, ruleKeyOrder) {
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, yamlNode(v[k]))
		}
		return n
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for _, e := range v {
			n.Content = append(n.Content, yamlNode(e))
		}
		return n
	case string:
		n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
		if strings.Contains(strings.TrimSuffix(v, "\n"), "\n") {
			n.Style = yaml.LiteralStyle
		}
		return n
	case json.Number:
		return &yaml.Node{Kind: yaml.ScalarNode, Value: shortNumber(v)}
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Value: fmt.Sprint(v)}
	default:
		return &yaml.Node{Kind: yaml.ScalarNode, Value: "null"}
	}
}

// orderedKeys lists m's keys in the order of order, then the others sorted.
func orderedKeys(m map[string]any, order []string) []string {
	var keys []string
	seen := map[string]bool{}
	for _, k := range order {
		if _, ok := m[k]; ok && !seen[k] {
			keys = append(keys, k)
			seen[k] = true
		}
	}
	var rest []string
	for k := range m {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(keys, rest...)
}

// dashboardJSON writes a rendered dashboard with two-space indentation and each object's
// keys in the order of the object at the same place in the source file (jsonnet sorts keys;
// Grafana's order, name first, is easier to read and to review), new keys sorted after them.
func dashboardJSON(raw json.RawMessage, src []byte) ([]byte, error) {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	order, err := keyOrder(json.NewDecoder(bytes.NewReader(src)))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	writeJSON(&b, v, order, "")
	b.WriteString("\n")
	return b.Bytes(), nil
}

// orderTree is the key order of a JSON value: an object's keys and the trees of its members,
// or an array's elements' trees.
type orderTree struct {
	keys     []string
	members  map[string]*orderTree
	elements []*orderTree
}

func keyOrder(d *json.Decoder) (*orderTree, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	t := &orderTree{}
	switch tok {
	case json.Delim('{'):
		t.members = map[string]*orderTree{}
		for d.More() {
			k, err := d.Token()
			if err != nil {
				return nil, err
			}
			key, _ := k.(string)
			child, err := keyOrder(d)
			if err != nil {
				return nil, err
			}
			t.keys = append(t.keys, key)
			t.members[key] = child
		}
		_, err = d.Token()
	case json.Delim('['):
		for d.More() {
			child, err := keyOrder(d)
			if err != nil {
				return nil, err
			}
			t.elements = append(t.elements, child)
		}
		_, err = d.Token()
	}
	return t, err
}

func writeJSON(b *bytes.Buffer, v any, order *orderTree, indent string) {
	inner := indent + "  "
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			b.WriteString("{}")
			return
		}
		var keys []string
		if order != nil {
			keys = orderedKeys(v, order.keys)
		} else {
			keys = orderedKeys(v, nil)
		}
		b.WriteString("{\n")
		for i, k := range keys {
			var child *orderTree
			if order != nil {
				child = order.members[k]
			}
			b.WriteString(inner)
			writeString(b, k)
			b.WriteString(": ")
			writeJSON(b, v[k], child, inner)
			if i < len(keys)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString(indent + "}")
	case []any:
		if len(v) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[\n")
		for i, e := range v {
			var child *orderTree
			if order != nil && i < len(order.elements) {
				child = order.elements[i]
			}
			b.WriteString(inner)
			writeJSON(b, e, child, inner)
			if i < len(v)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString(indent + "]")
	case string:
		writeString(b, v)
	case json.Number:
		b.WriteString(shortNumber(v))
	case bool:
		fmt.Fprint(b, v)
	default:
		b.WriteString("null")
	}
}

// shortNumber writes a number as it was written in the source: jsonnet prints 17 significant
// digits (0.90000000000000002), the shortest form that reads back the same is 0.9.
func shortNumber(n json.Number) string {
	f, err := n.Float64()
	if err != nil {
		return n.String()
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func writeString(b *bytes.Buffer, s string) {
	var sb bytes.Buffer
	e := json.NewEncoder(&sb)
	e.SetEscapeHTML(false)
	e.Encode(s)
	b.Write(bytes.TrimSuffix(sb.Bytes(), []byte("\n")))
}
