// Package dashboards ships the Grafana dashboards of pop_exporter and gives tests access to
// every PromQL query in them, so that a renamed metric or a query that returns nothing is
// caught before a user imports a broken dashboard.
//
// It imports no package of this project; its tests check the dashboards against
// collector.MetricNames.
package dashboards

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
)

// files holds the dashboards exactly as users import them into Grafana.
//
//go:embed *.json
var files embed.FS

// Kind says where in a dashboard a query comes from.
type Kind string

// Kinds of query found in a dashboard.
const (
	// KindPanel is a panel target: it must return data once the exporter has run.
	KindPanel Kind = "panel"
	// KindAnnotation is an annotation query: it returns data only around events
	// (for example PoP changes).
	KindAnnotation Kind = "annotation"
	// KindVariable is a template variable query, translated from Grafana's
	// label_values(selector, label) into the equivalent PromQL.
	KindVariable Kind = "variable"
)

// Query is one PromQL expression of a dashboard, with enough context to name it in a test
// failure.
type Query struct {
	// File is the dashboard file name, e.g. "pop-overview.json".
	File string
	// Dashboard is the dashboard uid.
	Dashboard string
	// Panel is the panel title, the annotation name or the variable name.
	Panel string
	// RefID is the target's refId ("A", "B", …); empty for variables.
	RefID string
	// Kind says whether the query is a panel target, an annotation or a variable.
	Kind Kind
	// Instant is true for panel targets that Grafana runs as instant queries.
	Instant bool
	// Expr is the PromQL expression as written in the dashboard, Grafana variables and all.
	// For variables it is PromQL equivalent to the label_values() call.
	Expr string
	// Raw is the query text as stored in the dashboard (differs from Expr for variables).
	Raw string
	// PanelType is the panel's Grafana type ("timeseries", "table", "heatmap", …); empty
	// for annotations and variables.
	PanelType string
	// Legend is the target's legend format, as written in the dashboard.
	Legend string
}

// Names returns the file names of the embedded dashboards, sorted.
func Names() ([]string, error) {
	names, err := fs.Glob(files, "*.json")
	if err != nil {
		return nil, fmt.Errorf("listing embedded dashboards: %w", err)
	}
	sort.Strings(names)
	return names, nil
}

// File returns the raw JSON of one embedded dashboard, as a user would import it.
func File(name string) ([]byte, error) {
	b, err := files.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("reading dashboard %s: %w", name, err)
	}
	return b, nil
}

// dashboard is the part of Grafana's dashboard JSON model that holds queries.
type dashboard struct {
	UID         string  `json:"uid"`
	Panels      []panel `json:"panels"`
	Annotations struct {
		List []struct {
			Name string `json:"name"`
			Expr string `json:"expr"`
		} `json:"list"`
	} `json:"annotations"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Title   string  `json:"title"`
	Type    string  `json:"type"`
	Panels  []panel `json:"panels"` // a collapsed row keeps its panels here
	Targets []struct {
		RefID   string `json:"refId"`
		Expr    string `json:"expr"`
		Legend  string `json:"legendFormat"`
		Instant bool   `json:"instant"`
		Hide    bool   `json:"hide"`
	} `json:"targets"`
}

type variable struct {
	Name  string          `json:"name"`
	Type  string          `json:"type"`
	Query json.RawMessage `json:"query"`
}

// Queries returns every PromQL query of every embedded dashboard: panel targets (hidden ones
// excluded), Prometheus annotations and query variables, in file and panel order.
func Queries() ([]Query, error) {
	names, err := Names()
	if err != nil {
		return nil, err
	}
	var out []Query
	for _, name := range names {
		b, err := File(name)
		if err != nil {
			return nil, err
		}
		qs, err := ParseQueries(name, b)
		if err != nil {
			return nil, err
		}
		out = append(out, qs...)
	}
	return out, nil
}

// ParseQueries returns every PromQL query of one dashboard's JSON, named name: as Queries
// does for the embedded ones, for a dashboard rendered with another configuration (the
// monitoring mixin's _config).
func ParseQueries(name string, b []byte) ([]Query, error) {
	var out []Query
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("parsing dashboard %s: %w", name, err)
	}
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				if t.Hide || strings.TrimSpace(t.Expr) == "" {
					continue
				}
				out = append(out, Query{File: name, Dashboard: d.UID, Panel: p.Title,
					RefID: t.RefID, Kind: KindPanel, Instant: t.Instant, Expr: t.Expr, Raw: t.Expr,
					PanelType: p.Type, Legend: t.Legend})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, a := range d.Annotations.List {
		if strings.TrimSpace(a.Expr) == "" {
			continue // the built-in Grafana annotation has no query
		}
		out = append(out, Query{File: name, Dashboard: d.UID, Panel: a.Name,
			Kind: KindAnnotation, Expr: a.Expr, Raw: a.Expr})
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		raw, err := variableQuery(v.Query)
		if err != nil {
			return nil, fmt.Errorf("dashboard %s variable %s: %w", name, v.Name, err)
		}
		expr, err := labelValuesToPromQL(raw)
		if err != nil {
			return nil, fmt.Errorf("dashboard %s variable %s: %w", name, v.Name, err)
		}
		out = append(out, Query{File: name, Dashboard: d.UID, Panel: v.Name,
			Kind: KindVariable, Instant: true, Expr: expr, Raw: raw})
	}
	return out, nil
}

// variableQuery accepts both forms Grafana stores: a plain string (older dashboards) and the
// object of the current Prometheus variable editor.
func variableQuery(m json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(m, &s); err == nil {
		return s, nil
	}
	var o struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal(m, &o); err != nil {
		return "", fmt.Errorf("variable query is neither a string nor an object: %w", err)
	}
	return o.Query, nil
}

var labelValuesRE = regexp.MustCompile(`^\s*label_values\(\s*(.*?)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$`)

// labelValuesToPromQL turns Grafana's label_values(selector, label) into a PromQL query with
// one series per label value.
func labelValuesToPromQL(q string) (string, error) {
	m := labelValuesRE.FindStringSubmatch(q)
	if m == nil {
		return "", fmt.Errorf("unsupported variable query %q: want label_values(selector, label)", q)
	}
	return fmt.Sprintf("count by (%s) (%s)", m[2], m[1]), nil
}

// grafanaVar matches $name, ${name}, ${name:format} and the deprecated [[name]] forms.
var grafanaVar = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)(?::[^\]]*)?\]\]`)

// intervalVars are Grafana's built-in time variables, replaced by what a one-minute-old
// Prometheus can answer.
var intervalVars = map[string]string{
	"__rate_interval": "1m",
	"__interval":      "1m",
	"__range":         "1m",
	"__interval_ms":   "60000",
	"__range_ms":      "60000",
	"__range_s":       "60",
}

// filterVars are the dashboards' template variables. They are only used in =~ matchers, so
// matching everything is what "All" means.
var filterVars = map[string]bool{"cluster": true, "vantage": true, "target": true, "ip_version": true, "resolver": true, "protocol": true, "cdn": true, "pop": true}

// Expand substitutes Grafana variables so that expr can run against a real Prometheus:
// the dashboard variables ($cluster of the mixin's multi-cluster rendering, $vantage, $target, $ip_version, $resolver, $cdn, $pop, in any of Grafana's
// syntaxes) become ".*", and the interval variables ($__rate_interval, $__interval, $__range
// and their _ms/_s forms) become one minute. Anything else that looks like a variable, such as "$1" in a
// label_replace replacement, is left alone, as Grafana leaves it.
func Expand(expr string) string {
	return ExpandWith(expr, nil)
}

// ExpandWith is Expand with some dashboard variables set, as a user selecting them would:
// values maps a variable name (without $) to the regular expression its matchers get.
func ExpandWith(expr string, values map[string]string) string {
	return grafanaVar.ReplaceAllStringFunc(expr, func(m string) string {
		sub := grafanaVar.FindStringSubmatch(m)
		name := sub[1] + sub[2] + sub[3]
		if v, ok := intervalVars[name]; ok {
			return v
		}
		if v, ok := values[name]; ok && filterVars[name] {
			return v
		}
		if filterVars[name] {
			return ".*"
		}
		return m
	})
}
