package dashboards

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// This file runs the fleet map panel as Grafana does, on frames shaped like the Prometheus
// data source's answers: the panel's transformations, then each geomap markers layer's data
// filter and colour dimension. Grafana's code is TypeScript; the few steps the dashboards use
// are rebuilt here after its source (grafana/grafana, files named at each step), and a step,
// option or colour mode the model does not know fails the test instead of being guessed.

// TestFleetMapColoursEachVantage: on the fleet map each vantage has a colour of its own,
// and the rings of the PoPs serving it take that colour, so a ring says which vantage it
// serves. Two vantages in one city (here ams-office and ams-dc, 0.006° of longitude apart)
// must look as different as two on different continents, every vantage keeps its colour
// when vantages move, and every ring is drawn once, in its own vantage's colour. Past the
// palette the panel documents, vantages share one fallback colour that is none of the
// palette's.
func TestFleetMapColoursEachVantage(t *testing.T) {
	p := panelByTitle(t, "fleet.json", "Vantages and the PoPs serving them now")
	fleet := testFleet()

	colours := checkMapColours(t, p, fleet, len(fleet))
	// The same fleet with every vantage moved: longitudes passed on round the fleet, and
	// ams-dc at exactly ams-office's longitude.
	moved := testFleet()
	for i := range moved {
		moved[i].lon = fleet[(i+1)%len(fleet)].lon
		if moved[i].name == "ams-dc" {
			moved[i].lon = fleet[0].lon
		}
	}
	for v, c := range checkMapColours(t, p, moved, len(moved)) {
		if c != colours[v] {
			t.Errorf("%s changes colour (%s to %s) when the vantages move: the colour follows the location, not the vantage", v, colours[v], c)
		}
	}

	// More vantages than the palette has colours.
	size := paletteSize(t, p)
	if size < 20 {
		t.Errorf("the fleet map's vantage palette has %d colours, want at least 20", size)
	}
	if d, _ := p["description"].(string); !strings.Contains(d, fmt.Sprintf("%d distinct colours", size)) {
		t.Errorf("the fleet map's description does not say how many vantages get a colour of their own (%d distinct colours)", size)
	}
	var big []testVantage
	for i := range size + 5 {
		big = append(big, testVantage{name: fmt.Sprintf("v%02d", i), lat: 10, lon: float64(i) / 100, exporters: 1,
			served: []testPoP{{"cloudflare", "AMS", "Amsterdam", "NL", 52.31, 4.76}}})
	}
	checkMapColours(t, p, big, size)
}

// checkMapColours draws the fleet map panel p over fleet and returns each vantage's colour.
// The first distinct vantages by name must each have a colour of their own, clearly apart
// from any other's; the others one shared fallback colour, apart from every distinct one.
func checkMapColours(t *testing.T, p map[string]any, fleet []testVantage, distinct int) map[string]string {
	t.Helper()
	frames := applyTransformations(t, p, promTableFrames(t, p, fleet))
	vantageLayer, ringLayer := mapLayers(t, p)

	triangles := drawMarkers(t, p, vantageLayer, frames)
	colours := map[string]string{}
	for _, m := range triangles {
		if c, seen := colours[m.vantage]; seen && c != m.colour {
			t.Errorf("vantage %s is drawn in two colours, %s and %s", m.vantage, c, m.colour)
		}
		colours[m.vantage] = m.colour
	}
	var names []string
	for _, v := range fleet {
		names = append(names, v.name)
		if _, ok := colours[v.name]; !ok {
			t.Errorf("vantage %s has no triangle on the map", v.name)
		}
	}
	slices.Sort(names)
	for i, a := range names {
		for _, b := range names[i+1:] {
			if i >= distinct {
				if colours[a] != colours[b] {
					t.Errorf("vantages %s and %s, both past the palette, are drawn in %s and %s, want the one fallback colour", a, b, colours[a], colours[b])
				}
				continue
			}
			if d := deltaE(t, colours[a], colours[b]); d < minColourDistance {
				t.Errorf("vantages %s and %s look alike: %s and %s are %.1f apart (CIE76 ΔE), want at least %v", a, b, colours[a], colours[b], d, minColourDistance)
			}
		}
	}

	rings := drawMarkers(t, p, ringLayer, frames)
	want := map[string]int{}
	for _, v := range fleet {
		want[v.name] = len(v.served)
	}
	got := map[string]int{}
	for _, r := range rings {
		got[r.vantage]++
		if r.colour != colours[r.vantage] {
			t.Errorf("a ring serving %s is drawn in %s, its vantage in %s: the ring names another vantage", r.vantage, r.colour, colours[r.vantage])
		}
	}
	for _, v := range names {
		if got[v] != want[v] {
			t.Errorf("vantage %s: %d rings drawn, want one per PoP serving it (%d)", v, got[v], want[v])
		}
	}
	return colours
}

// minColourDistance is how far apart (CIE76 ΔE in CIELAB) two vantages' colours must be to
// read as different colours at a glance; 2.3 is a just noticeable difference.
const minColourDistance = 20

// testVantage is one vantage of a test fleet: where it stands, how many exporters report for
// it (2 for an HA pair) and the PoPs answering it now.
type testVantage struct {
	name      string
	lat, lon  float64
	exporters int
	served    []testPoP
}

type testPoP struct {
	cdn, pop, city, country string
	lat, lon                float64
}

// testFleet: two vantages in Amsterdam a few hundred metres apart, one served from Singapore,
// a vantage named after its city (so a PoP's city can equal a vantage name), an HA pair, and
// vantages on every continent.
func testFleet() []testVantage {
	ams := testPoP{"cloudflare", "AMS", "Amsterdam", "NL", 52.31, 4.76}
	fra := testPoP{"fastly", "FRA", "Frankfurt", "DE", 50.03, 8.56}
	sin := testPoP{"cloudflare", "SIN", "Singapore", "SG", 1.36, 103.99}
	iad := testPoP{"fastly", "IAD", "Ashburn", "US", 38.94, -77.46}
	nrt := testPoP{"cloudflare", "NRT", "Tokyo", "JP", 35.76, 140.39}
	syd := testPoP{"cloudflare", "SYD", "Sydney", "AU", -33.94, 151.18}
	gru := testPoP{"fastly", "GRU", "São Paulo", "BR", -23.43, -46.47}
	lhr := testPoP{"cloudflare", "LHR", "London", "GB", 51.47, -0.45}
	return []testVantage{
		{"ams-office", 52.3676, 4.9041, 2, []testPoP{ams, fra, sin}},
		{"ams-dc", 52.3702, 4.8980, 1, []testPoP{ams, fra}},
		{"Frankfurt", 50.1109, 8.6821, 1, []testPoP{fra, ams}},
		{"lon-office", 51.5074, -0.1278, 1, []testPoP{lhr, ams}},
		{"iad-office", 38.9047, -77.0164, 1, []testPoP{iad}},
		{"gru-office", -23.5505, -46.6333, 1, []testPoP{gru, iad}},
		{"sin-office", 1.3521, 103.8198, 1, []testPoP{sin}},
		{"nrt-office", 35.6762, 139.6503, 1, []testPoP{nrt, sin}},
		{"syd-office", -33.8688, 151.2093, 1, []testPoP{syd, sin}},
	}
}

// gfFrame is a Grafana data frame: the result of one query, or of a transformation.
type gfFrame struct {
	refID  string
	fields []gfField
}

// gfField is one column; values are string, float64 or nil.
type gfField struct {
	name   string
	values []any
}

func (f gfFrame) length() int {
	if len(f.fields) == 0 {
		return 0
	}
	return len(f.fields[0].values)
}

func (f gfFrame) field(name string) *gfField {
	for i := range f.fields {
		if f.fields[i].name == name {
			return &f.fields[i]
		}
	}
	return nil
}

var (
	byListRE    = regexp.MustCompile(`\bby \(([^)]*)\)`)
	countByRE   = regexp.MustCompile(`count by \(([^)]*)\)`)
	probeTimeMs = 1.7e12
)

// promTableFrames answers each target of p, in the panel's order, as Grafana's Prometheus
// data source answers an instant query formatted as a table: one frame per query with a
// Time column, a column per label (sorted) and the value in "Value #<refId>". What each
// query returns is modelled from the fleet for the shapes the fleet map uses (promtool runs
// the real queries: deploy.TestFleetMapQueries): a query of pop_probe_edge_info gives one
// row per distinct set of its count by (...) labels, over each vantage's PoPs; a query of
// pop_vantage_info one row per exporter, or per distinct set of its innermost by (...)
// labels.
func promTableFrames(t *testing.T, p map[string]any, fleet []testVantage) []gfFrame {
	t.Helper()
	rings := map[string]float64{}
	var frames []gfFrame
	targets := panelTargets(p)
	for _, tg := range targets {
		expr, _ := tg["expr"].(string)
		ref, _ := tg["refId"].(string)
		var rows []map[string]string
		var values []float64
		// add adds a row, or for a row already there adds to its value (count) or keeps
		// it (max, topk, the ring number).
		add := func(l map[string]string, v float64, sum bool) {
			for i, r := range rows {
				if fmt.Sprint(r) == fmt.Sprint(l) {
					if sum {
						values[i] += v
					}
					return
				}
			}
			rows, values = append(rows, l), append(values, v)
		}
		switch {
		case strings.Contains(expr, "pop_probe_edge_info"):
			m := countByRE.FindStringSubmatch(expr)
			if m == nil {
				t.Fatalf("%s: no count by (...) in the PoP query: %s", ref, expr)
			}
			for _, e := range ringEntryRE.FindAllStringSubmatch(expr, -1) {
				rings[e[2]], _ = strconv.ParseFloat(e[1], 64)
			}
			for _, v := range fleet {
				for _, pop := range v.served {
					all := map[string]string{"vantage": v.name, "cdn": pop.cdn, "pop": pop.pop, "city": pop.city,
						"country": pop.country, "latitude": ftoa(pop.lat), "longitude": ftoa(pop.lon), "vantage_longitude": ftoa(v.lon)}
					ring, ok := rings[pop.cdn]
					if !ok {
						t.Fatalf("%s: CDN %s has no ring number", ref, pop.cdn)
					}
					add(project(t, all, m[1]), ring, false)
				}
			}
		case strings.Contains(expr, "pop_vantage_info"):
			for _, v := range fleet {
				for i := range v.exporters {
					all := map[string]string{"__name__": "pop_vantage_info", "job": "pop_exporter", "instance": fmt.Sprintf("%s-%d:9853", v.name, i),
						"vantage": v.name, "code": "", "city": "", "country": "", "continent": "", "latitude": ftoa(v.lat), "longitude": ftoa(v.lon)}
					if m := byListRE.FindAllStringSubmatch(expr, -1); m != nil {
						all = project(t, all, m[len(m)-1][1])
					}
					add(all, 1, strings.HasPrefix(expr, "count"))
				}
			}
		default:
			t.Fatalf("%s: the model does not know what %s returns", ref, expr)
		}
		f := gfFrame{refID: ref, fields: []gfField{{name: "Time"}}}
		var labels []string
		for _, r := range rows {
			for k := range r {
				if !slices.Contains(labels, k) {
					labels = append(labels, k)
				}
			}
		}
		slices.Sort(labels)
		for _, l := range labels {
			f.fields = append(f.fields, gfField{name: l})
		}
		valueName := "Value"
		if len(targets) > 1 {
			valueName = "Value #" + ref
		}
		f.fields = append(f.fields, gfField{name: valueName})
		for i, r := range rows {
			f.fields[0].values = append(f.fields[0].values, probeTimeMs)
			for j, l := range labels {
				f.fields[j+1].values = append(f.fields[j+1].values, r[l])
			}
			f.fields[len(f.fields)-1].values = append(f.fields[len(f.fields)-1].values, values[i])
		}
		frames = append(frames, f)
	}
	return frames
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// project keeps the labels a by (...) list names.
func project(t *testing.T, all map[string]string, by string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, l := range strings.Split(by, ",") {
		l = strings.TrimSpace(l)
		v, ok := all[l]
		if !ok {
			t.Fatalf("the model has no label %q", l)
		}
		out[l] = v
	}
	return out
}

// applyTransformations runs the panel's transformations in order, as transformDataFrame
// (packages/grafana-data/src/transformations/transformDataFrame.ts) does: a transformation
// with a filter (a frame matcher) sees only the frames it matches, and the others are put
// back afterwards, spliced in at the index of the first of them.
func applyTransformations(t *testing.T, p map[string]any, frames []gfFrame) []gfFrame {
	t.Helper()
	list, _ := p["transformations"].([]any)
	for _, x := range list {
		cfg, _ := x.(map[string]any)
		if cfg["disabled"] == true {
			continue
		}
		id, _ := cfg["id"].(string)
		opts, _ := cfg["options"].(map[string]any)
		in := frames
		var match func(gfFrame) bool
		if f, _ := cfg["filter"].(map[string]any); f != nil && f["options"] != nil && f["options"] != "" {
			match = frameMatcher(t, f)
			in = nil
			for _, fr := range frames {
				if match(fr) {
					in = append(in, fr)
				}
			}
		}
		out := transform(t, id, opts, in)
		if match != nil {
			insert := 0
			var keep []gfFrame
			for i, fr := range frames {
				if !match(fr) {
					if insert == 0 {
						insert = i
					}
					keep = append(keep, fr)
				}
			}
			insert = min(insert, len(out))
			out = slices.Insert(slices.Clone(out), insert, keep...)
		}
		frames = out
	}
	return frames
}

// frameMatcher builds a frame matcher (packages/grafana-data/src/transformations/matchers):
// byRefId (refIdMatcher.ts: "/…/" is a regular expression, else the refId itself) and
// invertMatch (predicates.ts).
func frameMatcher(t *testing.T, cfg map[string]any) func(gfFrame) bool {
	t.Helper()
	switch cfg["id"] {
	case "byRefId":
		pattern, _ := cfg["options"].(string)
		if strings.HasPrefix(pattern, "/") {
			m := regexp.MustCompile(`^/(.*?)/([gimys]*)$`).FindStringSubmatch(pattern)
			if m == nil || m[2] != "" {
				t.Fatalf("refId pattern %q: the model knows /…/ without flags", pattern)
			}
			re := regexp.MustCompile(m[1])
			return func(f gfFrame) bool { return re.MatchString(f.refID) }
		}
		if strings.ContainsAny(pattern, "|^$.*+?()[]{}\\") {
			t.Fatalf("refId pattern %q reads differently in Grafana versions (a bare regular expression before 11, the refId itself after): write /…/", pattern)
		}
		return func(f gfFrame) bool { return f.refID == pattern }
	case "invertMatch":
		sub, _ := cfg["options"].(map[string]any)
		m := frameMatcher(t, sub)
		return func(f gfFrame) bool { return !m(f) }
	}
	t.Fatalf("frame matcher %v: not modelled", cfg["id"])
	return nil
}

// transform applies one transformation to frames.
func transform(t *testing.T, id string, opts map[string]any, frames []gfFrame) []gfFrame {
	t.Helper()
	switch id {
	case "convertFieldType":
		// convertFieldType.ts: each conversion turns the named field's values into numbers;
		// what does not parse becomes null.
		convs, _ := opts["conversions"].([]any)
		var out []gfFrame
		for _, fr := range frames {
			fr = gfFrame{refID: fr.refID, fields: slices.Clone(fr.fields)}
			for _, c := range convs {
				cm, _ := c.(map[string]any)
				if cm["destinationType"] != "number" {
					t.Fatalf("convertFieldType to %v: not modelled", cm["destinationType"])
				}
				for i, f := range fr.fields {
					if f.name != cm["targetField"] {
						continue
					}
					vals := make([]any, len(f.values))
					for j, v := range f.values {
						switch v := v.(type) {
						case float64:
							vals[j] = v
						case string:
							if n, err := strconv.ParseFloat(v, 64); err == nil {
								vals[j] = n
							}
						}
					}
					fr.fields[i] = gfField{name: f.name, values: vals}
				}
			}
			out = append(out, fr)
		}
		return out
	case "sortBy":
		// sortBy.ts: each frame is sorted by the first sort field (sortDataFrame, a stable
		// sort). Grafana compares strings with localeCompare; the order only decides which
		// colour each vantage gets, so the model compares code points.
		sorts, _ := opts["sort"].([]any)
		if len(sorts) == 0 {
			return frames
		}
		s, _ := sorts[0].(map[string]any)
		desc := s["desc"] == true
		var out []gfFrame
		for _, fr := range frames {
			key := fr.field(s["field"].(string))
			if key == nil {
				out = append(out, fr)
				continue
			}
			idx := make([]int, fr.length())
			for i := range idx {
				idx[i] = i
			}
			sort.SliceStable(idx, func(a, b int) bool {
				c := compareValues(key.values[idx[a]], key.values[idx[b]])
				if desc {
					return c > 0
				}
				return c < 0
			})
			sorted := gfFrame{refID: fr.refID}
			for _, f := range fr.fields {
				vals := make([]any, len(idx))
				for i, j := range idx {
					vals[i] = f.values[j]
				}
				sorted.fields = append(sorted.fields, gfField{name: f.name, values: vals})
			}
			out = append(out, sorted)
		}
		return out
	case "calculateField":
		// calculateField.ts: unless timeSeries is false, several frames are first joined into
		// one by time (ensureColumns), which would merge query results that have nothing to do
		// with each other; mode "index" then adds the row number, 0 to length-1, to each frame.
		if opts["mode"] != "index" {
			t.Fatalf("calculateField mode %v: not modelled", opts["mode"])
		}
		if opts["timeSeries"] != false && len(frames) > 1 {
			t.Fatal("calculateField over several frames without timeSeries: false joins them by time first")
		}
		if ix, _ := opts["index"].(map[string]any); ix["asPercentile"] == true {
			t.Fatal("calculateField index as percentile: not modelled")
		}
		name := "Row"
		if a, ok := opts["alias"].(string); ok {
			name = a
		}
		var out []gfFrame
		for _, fr := range frames {
			idx := make([]any, fr.length())
			for i := range idx {
				idx[i] = float64(i)
			}
			f := gfField{name: name, values: idx}
			if opts["replaceFields"] == true {
				out = append(out, gfFrame{refID: fr.refID, fields: []gfField{f}})
			} else {
				out = append(out, gfFrame{refID: fr.refID, fields: append(slices.Clone(fr.fields), f)})
			}
		}
		return out
	case "joinByField":
		return joinInner(t, opts, frames)
	}
	t.Fatalf("transformation %q: not modelled", id)
	return nil
}

// joinInner is joinByField.ts in mode "inner" (joinDataFrames.ts): the join field of each
// frame (the first named byField) and its other fields become one frame without a refId.
// Grafana's joinInner walks the frames in order and takes a row of a later frame when the
// row built so far *includes* its join value anywhere, not only in the join column; so the
// frame listed first should hold nothing but the join value that a later join value could
// equal.
func joinInner(t *testing.T, opts map[string]any, frames []gfFrame) []gfFrame {
	t.Helper()
	if opts["mode"] != "inner" {
		t.Fatalf("joinByField mode %v: not modelled", opts["mode"])
	}
	if len(frames) <= 1 {
		return frames
	}
	by, _ := opts["byField"].(string)
	type table struct {
		key    []any
		fields []gfField
	}
	var tables []table
	out := gfFrame{}
	for _, fr := range frames {
		var tb table
		found := false
		for _, f := range fr.fields {
			if !found && f.name == by {
				tb.key, found = f.values, true
				continue
			}
			tb.fields = append(tb.fields, f)
		}
		if !found {
			continue // a frame without the join field is left out
		}
		if len(tables) == 0 {
			out.fields = append(out.fields, gfField{name: by})
		}
		for _, f := range tb.fields {
			out.fields = append(out.fields, gfField{name: f.name})
		}
		tables = append(tables, tb)
	}
	var rows [][]any
	var walk func(ti int, row []any)
	walk = func(ti int, row []any) {
		if ti == len(tables) {
			rows = append(rows, row)
			return
		}
		for i, v := range tables[ti].key {
			if ti > 0 && !slices.Contains(row, v) {
				continue
			}
			next := slices.Clone(row)
			if ti == 0 {
				next = append(next, v)
			}
			for _, f := range tables[ti].fields {
				next = append(next, f.values[i])
			}
			walk(ti+1, next)
		}
	}
	walk(0, nil)
	for _, r := range rows {
		for i := range out.fields {
			out.fields[i].values = append(out.fields[i].values, r[i])
		}
	}
	return []gfFrame{out}
}

func compareValues(a, b any) int {
	switch a := a.(type) {
	case string:
		if b, ok := b.(string); ok {
			return strings.Compare(a, b)
		}
	case float64:
		if b, ok := b.(float64); ok {
			return cmp.Compare(a, b)
		}
	}
	return 0
}

// mapLayers returns the fleet map's two markers layers: the vantages', then the PoPs'.
func mapLayers(t *testing.T, p map[string]any) (vantages, pops map[string]any) {
	t.Helper()
	layers, _ := p["options"].(map[string]any)["layers"].([]any)
	if len(layers) != 2 {
		t.Fatalf("the fleet map has %d layers, want the vantages and the PoPs", len(layers))
	}
	for _, l := range layers {
		if l.(map[string]any)["type"] != "markers" {
			t.Fatalf("layer %v is not a markers layer", l.(map[string]any)["name"])
		}
	}
	return layers[0].(map[string]any), layers[1].(map[string]any)
}

type marker struct{ vantage, colour string }

// drawMarkers draws a markers layer (public/app/plugins/panel/geomap/layers/data/
// markersLayer.tsx): the panel keeps the frames the layer's data filter matches
// (applyLayerFilter, a frame matcher), and the layer draws the first of them only, each row a
// marker coloured by the style's colour dimension.
func drawMarkers(t *testing.T, p, layer map[string]any, frames []gfFrame) []marker {
	t.Helper()
	if f, _ := layer["filterData"].(map[string]any); f != nil {
		m := frameMatcher(t, f)
		var kept []gfFrame
		for _, fr := range frames {
			if m(fr) {
				kept = append(kept, fr)
			}
		}
		frames = kept
	}
	if len(frames) == 0 {
		return nil
	}
	fr := frames[0]
	style := layer["config"].(map[string]any)["style"].(map[string]any)
	colour := colourDimension(t, p, fr, style["color"].(map[string]any))
	vantage := fr.field("vantage")
	if vantage == nil {
		t.Fatalf("layer %v draws a frame without the vantage", layer["name"])
	}
	var out []marker
	for i := range fr.length() {
		v, _ := vantage.values[i].(string)
		out = append(out, marker{v, colour(i)})
	}
	return out
}

// colourDimension is getColorDimensionForField (public/app/features/dimensions/color.ts):
// without the named field, the fixed colour; with a colour mode by value, or value
// mappings, each row's colour from the field's display processor
// (packages/grafana-data/src/field/displayProcessor.ts: a mapping's colour first, else the
// colour mode's for the value); otherwise one colour for every row.
func colourDimension(t *testing.T, p map[string]any, fr gfFrame, cfg map[string]any) func(int) string {
	t.Helper()
	name, _ := cfg["field"].(string)
	f := fr.field(name)
	if f == nil {
		fixed, _ := cfg["fixed"].(string)
		return func(int) string { return fixed }
	}
	fc := fieldConfig(p, name)
	mode := "thresholds"
	if c, ok := fc["color"].(map[string]any); ok {
		mode, _ = c["mode"].(string)
	}
	mappings, _ := fc["mappings"].([]any)
	byValue := mode == "thresholds" || strings.HasPrefix(mode, "continuous-")
	if !byValue && len(mappings) == 0 {
		c := modeColour(t, fc, mode, f, 0)
		return func(int) string { return c }
	}
	return func(i int) string {
		v := f.values[i]
		if c := mappingColour(t, mappings, v); c != "" {
			return c
		}
		return modeColour(t, fc, mode, f, i)
	}
}

// mappingColour returns the colour of the first value mapping that matches v and has one
// (packages/grafana-data/src/utils/valueMappings.ts: a value mapping matches String(value)).
func mappingColour(t *testing.T, mappings []any, v any) string {
	t.Helper()
	if v == nil {
		return ""
	}
	key := fmt.Sprint(v)
	if n, ok := v.(float64); ok {
		key = ftoa(n)
	}
	for _, m := range mappings {
		mm, _ := m.(map[string]any)
		if mm["type"] != "value" {
			t.Fatalf("value mapping type %v: not modelled", mm["type"])
		}
		opts, _ := mm["options"].(map[string]any)
		if r, ok := opts[key].(map[string]any); ok {
			if c, _ := r["color"].(string); c != "" {
				return c
			}
			return ""
		}
	}
	return ""
}

// modeColour is the colour the field's colour mode gives row i
// (packages/grafana-data/src/field/fieldColor.ts, scale.ts).
func modeColour(t *testing.T, fc map[string]any, mode string, f *gfField, i int) string {
	t.Helper()
	colour, _ := fc["color"].(map[string]any)
	switch {
	case mode == "fixed":
		c, _ := colour["fixedColor"].(string)
		return c
	case mode == "continuous-viridis":
		v, ok := f.values[i].(float64)
		if !ok {
			return "#cccccc"
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, x := range f.values {
			if x, ok := x.(float64); ok {
				lo, hi = math.Min(lo, x), math.Max(hi, x)
			}
		}
		if m, ok := fc["min"].(float64); ok {
			lo = m
		}
		if m, ok := fc["max"].(float64); ok {
			hi = m
		}
		pct := 0.0
		if hi > lo {
			pct = math.Max(0, math.Min(1, (v-lo)/(hi-lo)))
		}
		return viridis(pct)
	case mode == "thresholds":
		th, _ := fc["thresholds"].(map[string]any)
		steps, _ := th["steps"].([]any)
		v, _ := f.values[i].(float64)
		c := ""
		for _, s := range steps {
			sm, _ := s.(map[string]any)
			if sv, ok := sm["value"].(float64); !ok || v >= sv {
				c, _ = sm["color"].(string)
			}
		}
		return c
	}
	t.Fatalf("colour mode %q: not modelled", mode)
	return ""
}

// viridis interpolates the viridis scheme linearly between its values at 0, ¼, ½, ¾ and 1
// (Grafana draws it smoother; over 360° of longitude either gives two places 0.01° apart
// the same colour).
func viridis(pct float64) string {
	stops := []string{"#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"}
	x := pct * float64(len(stops)-1)
	i := min(int(x), len(stops)-2)
	a, b := hexRGB(stops[i]), hexRGB(stops[i+1])
	f := x - float64(i)
	return fmt.Sprintf("#%02x%02x%02x", int(math.Round(a[0]+(b[0]-a[0])*f)), int(math.Round(a[1]+(b[1]-a[1])*f)), int(math.Round(a[2]+(b[2]-a[2])*f)))
}

// fieldConfig is the field config Grafana gives the field named name: the panel's defaults
// with the properties of every byName override for it, in order.
func fieldConfig(p map[string]any, name string) map[string]any {
	fcAll, _ := p["fieldConfig"].(map[string]any)
	out := map[string]any{}
	defaults, _ := fcAll["defaults"].(map[string]any)
	for k, v := range defaults {
		out[k] = v
	}
	overrides, _ := fcAll["overrides"].([]any)
	for _, o := range overrides {
		om, _ := o.(map[string]any)
		m, _ := om["matcher"].(map[string]any)
		if m["id"] != "byName" || m["options"] != name {
			continue
		}
		props, _ := om["properties"].([]any)
		for _, pr := range props {
			pm, _ := pr.(map[string]any)
			out[pm["id"].(string)] = pm["value"]
		}
	}
	return out
}

// paletteSize is the number of vantages the fleet map colours apart: the value mappings of
// its vantages' colour field give colours to row numbers 0, 1, … up to the first gap.
func paletteSize(t *testing.T, p map[string]any) int {
	t.Helper()
	vantages, _ := mapLayers(t, p)
	style := vantages["config"].(map[string]any)["style"].(map[string]any)
	field, _ := style["color"].(map[string]any)["field"].(string)
	mappings, _ := fieldConfig(p, field)["mappings"].([]any)
	n := 0
	for mappingColour(t, mappings, float64(n)) != "" {
		n++
	}
	return n
}

// grafanaColours are the named colours of Grafana's dark theme
// (packages/grafana-data/src/themes/createVisualizationColors.ts) that a test may meet.
var grafanaColours = map[string]string{
	"text": "#ccccdc", "green": "#73bf69", "blue": "#5794f2", "orange": "#ff9830", "red": "#f2495c",
	"yellow": "#fade2a", "purple": "#b877d9",
}

func hexRGB(h string) [3]float64 {
	var r, g, b int
	fmt.Sscanf(strings.TrimPrefix(h, "#"), "%02x%02x%02x", &r, &g, &b)
	return [3]float64{float64(r), float64(g), float64(b)}
}

// deltaE is the CIE76 colour difference of two colours (hex, or a named colour).
func deltaE(t *testing.T, a, b string) float64 {
	t.Helper()
	la, lb := lab(t, a), lab(t, b)
	return math.Sqrt((la[0]-lb[0])*(la[0]-lb[0]) + (la[1]-lb[1])*(la[1]-lb[1]) + (la[2]-lb[2])*(la[2]-lb[2]))
}

// lab converts an sRGB colour to CIELAB (D65).
func lab(t *testing.T, c string) [3]float64 {
	t.Helper()
	if named, ok := grafanaColours[c]; ok {
		c = named
	}
	if !regexp.MustCompile(`^#[0-9a-fA-F]{6}$`).MatchString(c) {
		t.Fatalf("colour %q: not a #rrggbb colour or a known named one", c)
	}
	rgb := hexRGB(strings.ToLower(c))
	var lin [3]float64
	for i, v := range rgb {
		v /= 255
		if v <= 0.04045 {
			lin[i] = v / 12.92
		} else {
			lin[i] = math.Pow((v+0.055)/1.055, 2.4)
		}
	}
	x := (0.4124*lin[0] + 0.3576*lin[1] + 0.1805*lin[2]) / 0.95047
	y := 0.2126*lin[0] + 0.7152*lin[1] + 0.0722*lin[2]
	z := (0.0193*lin[0] + 0.1192*lin[1] + 0.9505*lin[2]) / 1.08883
	f := func(v float64) float64 {
		if v > 0.008856 {
			return math.Cbrt(v)
		}
		return 7.787*v + 16.0/116
	}
	return [3]float64{116*f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))}
}
