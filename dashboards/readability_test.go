package dashboards

import (
	"encoding/json"
	"regexp"
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
// "2 Mm". Distances are divided by 1000 in the query and shown in lengthkm.
func TestDistancesInKilometres(t *testing.T) {
	found := 0
	for name, d := range loadDashboards(t) {
		b, _ := File(name)
		if strings.Contains(string(b), `"lengthm"`) {
			t.Errorf("%s uses unit lengthm, which prints 2,000 km as 2 Mm", name)
		}
		for _, p := range allPanels(d) {
			pb, _ := json.Marshal(p)
			if !strings.Contains(string(pb), `"lengthkm"`) {
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
