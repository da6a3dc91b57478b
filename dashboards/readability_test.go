package dashboards

import (
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
