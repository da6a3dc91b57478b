package dashboards

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/popexporter/pop_exporter/collector/edge"
)

// ringEntryRE finds one entry of the per-CDN ring table of the overview map's PoP query.
var ringEntryRE = regexp.MustCompile(`label_replace\(vector\((\d+)\), "cdn", "([a-z0-9_-]+)", "", ""\)`)

// TestMapShowsEveryCDNAndVantage: on a map the PoPs of different CDNs in one city share
// coordinates, so one circle per PoP would hide the others. Each CDN is drawn as a ring of its
// own size (the query gives each row its CDN's ring number, the layer sizes by it, value
// mappings name the CDN), rings are nearly transparent so inner ones show, every built-in CDN
// has a ring of its own and any other CDN (a user rule) the outermost, and each row is one
// vantage's PoP, so the tooltip says which vantage it serves. The overview colours each CDN
// (a colour of its own per ring); the fleet map colours by the vantage served.
func TestMapShowsEveryCDNAndVantage(t *testing.T) {
	checkRings(t, "pop-overview.json", "Vantage points and the PoPs answering them now", "Value #B")
	checkRings(t, "fleet.json", "Vantages and the PoPs serving them now", "vantage_longitude")
}

func checkRings(t *testing.T, file, title, colourField string) {
	t.Helper()
	p := panelByTitle(t, file, title)
	var expr string
	for _, tg := range panelTargets(p) {
		if tg["refId"] == "B" {
			expr, _ = tg["expr"].(string)
		}
	}
	if m := regexp.MustCompile(`count by \(([^)]*)\)`).FindStringSubmatch(expr); m == nil ||
		!strings.Contains(m[1], "vantage") || !strings.Contains(m[1], "cdn") || !strings.Contains(m[1], "pop") {
		t.Errorf("the PoP query does not keep one row per vantage, CDN and PoP: %s", expr)
	}
	rings := map[string]int{}
	used := map[int]string{}
	for _, m := range ringEntryRE.FindAllStringSubmatch(expr, -1) {
		n, _ := strconv.Atoi(m[1])
		if other, dup := used[n]; dup {
			t.Errorf("CDNs %s and %s share ring %d: one would hide the other", m[2], other, n)
		}
		used[n], rings[m[2]] = m[2], n
	}
	for _, cdn := range edge.CDNs() {
		if _, ok := rings[cdn]; !ok {
			t.Errorf("CDN %s has no ring on the map: its PoPs would hide under another CDN's", cdn)
		}
	}
	other := len(edge.CDNs()) + 1
	if !strings.Contains(expr, "* 0 + "+strconv.Itoa(other)) {
		t.Errorf("a CDN of a user rule gets no ring (want the outermost, %d): %s", other, expr)
	}

	var layer map[string]any
	for _, l := range p["options"].(map[string]any)["layers"].([]any) {
		lm := l.(map[string]any)
		if f, _ := lm["filterData"].(map[string]any); f["options"] == "B" {
			layer = lm
		}
	}
	if layer == nil {
		t.Fatal("no map layer draws query B")
	}
	style := layer["config"].(map[string]any)["style"].(map[string]any)
	if f, _ := style["size"].(map[string]any)["field"].(string); f != "Value #B" {
		t.Errorf("%s: the PoP layer's size is %v, want it from the ring number (Value #B)", file, style["size"])
	}
	// Grafana scales the ring number from the field's min..max (the Value #B override) to the
	// layer's size min..max: neighbouring rings must differ by a visible step.
	var fieldMin, fieldMax float64
	var haveMin, haveMax bool
	for _, o := range p["fieldConfig"].(map[string]any)["overrides"].([]any) {
		om := o.(map[string]any)
		if om["matcher"].(map[string]any)["options"] != "Value #B" {
			continue
		}
		for _, prop := range om["properties"].([]any) {
			pm := prop.(map[string]any)
			switch pm["id"] {
			case "min":
				fieldMin, haveMin = pm["value"].(float64)
			case "max":
				fieldMax, haveMax = pm["value"].(float64)
			}
		}
	}
	size := style["size"].(map[string]any)
	pxMin, _ := size["min"].(float64)
	pxMax, _ := size["max"].(float64)
	if !haveMin || !haveMax || fieldMax <= fieldMin {
		t.Errorf("%s: the ring number has no fixed range (min/max of Value #B): ring sizes would change with the data", file)
	} else if step := (pxMax - pxMin) / (fieldMax - fieldMin); step < 1 {
		t.Errorf("%s: neighbouring rings differ by %.2f px (sizes %v..%v px over rings %v..%v), want at least 1", file, step, pxMin, pxMax, fieldMin, fieldMax)
	}
	if f, _ := style["color"].(map[string]any)["field"].(string); f != colourField {
		t.Errorf("%s: the PoP layer's colour is %v, want it from %s", file, style["color"], colourField)
	}
	if op, _ := style["opacity"].(float64); op > 0.3 {
		t.Errorf("the PoP rings have fill opacity %v: a large ring would cover the smaller ones", op)
	}
	if layer["tooltip"] != true {
		t.Error("the PoP layer has no tooltip: the vantage a PoP serves would not show")
	}

	// Value mappings: every ring number names its CDN and has a colour of its own.
	colours := map[string]string{}
	named := map[int]bool{}
	for _, o := range p["fieldConfig"].(map[string]any)["overrides"].([]any) {
		om := o.(map[string]any)
		if om["matcher"].(map[string]any)["options"] != "Value #B" {
			continue
		}
		for _, prop := range om["properties"].([]any) {
			pm := prop.(map[string]any)
			if pm["id"] != "mappings" {
				continue
			}
			for _, mp := range pm["value"].([]any) {
				for k, v := range mp.(map[string]any)["options"].(map[string]any) {
					n, _ := strconv.Atoi(k)
					vm := v.(map[string]any)
					text, _ := vm["text"].(string)
					colour, _ := vm["color"].(string)
					if n <= len(edge.CDNs()) && text != used[n] {
						t.Errorf("ring %d is named %q, want %q", n, text, used[n])
					}
					if colourField == "Value #B" && colour == "" {
						t.Errorf("%s: ring %d (%s) has no colour of its own", file, n, text)
					}
					if prev, dup := colours[colour]; dup && colour != "" {
						t.Errorf("%s and %s share colour %s", text, prev, colour)
					}
					colours[colour], named[n] = text, true
				}
			}
		}
	}
	for n := 1; n <= other; n++ {
		if !named[n] {
			t.Errorf("ring %d has no value mapping: the tooltip would show a number, not the CDN", n)
		}
	}
}

// TestTTFBBandPerTarget: the smokeping view of each target from each vantage: a band from the
// fastest to the slowest TTFB of each step, with p50 and p95 lines, all over the same measured
// TTFBs of the last probes (which the default basic metric set has). Steps of at least 5 minutes hold several probes; the band is filled between
// max and min of each IP family.
func TestTTFBBandPerTarget(t *testing.T) {
	d := loadDashboards(t)["latency.json"]
	p := panelByTitle(t, "latency.json", "TTFB band: $target")
	if p["repeat"] != "target" {
		t.Errorf("the TTFB band repeats over %v, want one panel per target", p["repeat"])
	}
	rowRepeats := false
	for _, r := range allPanels(d) {
		if r["type"] == "row" && r["repeat"] == "vantage" {
			rowRepeats = true
		}
	}
	if !rowRepeats {
		t.Error("no row repeats the TTFB bands per vantage: bands of several vantages would share a panel")
	}
	if p["interval"] != "5m" {
		t.Errorf("the TTFB band's min interval is %v, want 5m", p["interval"])
	}
	want := map[string]string{
		"min": "min_over_time(", "max": "max_over_time(",
		"p50": "quantile_over_time(0.5,", "p95": "quantile_over_time(0.95,",
	}
	for _, tg := range panelTargets(p) {
		legend, _ := tg["legendFormat"].(string)
		expr, _ := tg["expr"].(string)
		for k, w := range want {
			if strings.HasSuffix(legend, " "+k) {
				if !strings.Contains(expr, w) {
					t.Errorf("band %s does not read %s: %s", k, w, expr)
				}
				if !strings.Contains(expr, "vantage_target:pop_probe_ttfb_seconds:last{") {
					t.Errorf("band %s does not read the last probes' TTFBs (from their phases, in both metric sets): %s", k, expr)
				}
				delete(want, k)
			}
		}
	}
	for k := range want {
		t.Errorf("the TTFB band has no %s series", k)
	}
	fills := map[string]string{}
	for _, o := range p["fieldConfig"].(map[string]any)["overrides"].([]any) {
		om := o.(map[string]any)
		name, _ := om["matcher"].(map[string]any)["options"].(string)
		for _, prop := range om["properties"].([]any) {
			if pm := prop.(map[string]any); pm["id"] == "custom.fillBelowTo" {
				fills[name], _ = pm["value"].(string)
			}
		}
	}
	for _, ipv := range []string{"4", "6"} {
		if fills["IPv"+ipv+" max"] != "IPv"+ipv+" min" {
			t.Errorf("IPv%s: the band is not filled from max down to min (fillBelowTo %v)", ipv, fills)
		}
	}
}
