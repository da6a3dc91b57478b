package deploy

import (
	"fmt"
	"testing"
)

// TestFleetMapQueries runs the fleet map's three queries with promtool over a small fleet: an
// HA pair (two exporters of vantage ams-office), ams-dc in the same city, and a vantage named
// Frankfurt after its city, served by PoPs in Amsterdam and Frankfurt; one of ams-dc's probes
// gets no response. The map numbers the vantages in Grafana (sorted by name, row index) in
// both the vantages' query (A) and the one-row-per-vantage query (C) that the rings (B) are
// joined with, so A and C must give each vantage exactly one row, the same vantages, and
// every ring's vantage must be one of them (dashboards.TestFleetMapColoursEachVantage runs
// Grafana's steps over such rows).
func TestFleetMapQueries(t *testing.T) {
	type vantage struct{ name, code, city, country, lat, lon string }
	vantages := []vantage{
		{"ams-office", "AMS", "Amsterdam", "NL", "52.3676", "4.9041"},
		{"ams-dc", "AMS", "Amsterdam", "NL", "52.3702", "4.898"},
		{"Frankfurt", "FRA", "Frankfurt", "DE", "50.1109", "8.6821"},
	}
	pops := map[string]string{ // pop -> its edge labels
		"AMS": `cdn="cloudflare",pop="AMS",city="Amsterdam",country="NL",continent="EU",latitude="52.31",longitude="4.76"`,
		"FRA": `cdn="fastly",pop="FRA",city="Frankfurt",country="DE",continent="EU",latitude="50.03",longitude="8.56"`,
	}
	var series []map[string]string
	add := func(name, values string) {
		series = append(series, map[string]string{"series": name, "values": values})
	}
	for _, v := range vantages {
		instances := []string{"a:9853"}
		if v.name == "ams-office" {
			instances = append(instances, "b:9853")
		}
		for _, inst := range instances {
			l := fmt.Sprintf(`job="pop_exporter",instance="%s-%s",vantage="%s"`, v.name, inst, v.name)
			add(fmt.Sprintf(`pop_vantage_info{%s,code="%s",city="%s",country="%s",continent="EU",latitude="%s",longitude="%s"}`,
				l, v.code, v.city, v.country, v.lat, v.lon), "1x20")
			for target, pop := range map[string]string{"www": "AMS", "api": "FRA"} {
				probe := fmt.Sprintf(`%s,target="%s",ip_version="4",resolver="system"`, l, target)
				status := "200"
				if v.name == "ams-dc" && target == "api" {
					status = "0"
				}
				add("pop_probe_http_status_code{"+probe+"}", status+"x20")
				add("pop_probe_edge_info{"+probe+","+pops[pop]+"}", "1x20")
			}
		}
	}

	ring := func(v, pop string, n float64) sample {
		l := map[string]string{
			"AMS": `cdn="cloudflare",pop="AMS",city="Amsterdam",country="NL",latitude="52.31",longitude="4.76"`,
			"FRA": `cdn="fastly",pop="FRA",city="Frankfurt",country="DE",latitude="50.03",longitude="8.56"`,
		}[pop]
		return sample{fmt.Sprintf(`{vantage="%s",%s}`, v, l), n}
	}
	var a, c []sample
	for _, v := range vantages {
		a = append(a, sample{fmt.Sprintf(`{vantage="%s",code="%s",city="%s",country="%s",continent="EU",latitude="%s",longitude="%s"}`,
			v.name, v.code, v.city, v.country, v.lat, v.lon), 1})
		n := 1.0
		if v.name == "ams-office" {
			n = 2
		}
		c = append(c, sample{fmt.Sprintf(`{vantage="%s"}`, v.name), n})
	}
	const panel = "Vantages and the PoPs serving them now"
	checkPanelsWithPromtool(t, "the fleet map's rows", series, map[panelKey][]sample{
		{"fleet.json", panel, "A"}: a,
		{"fleet.json", panel, "C"}: c,
		// cloudflare draws ring 1, fastly ring 7 (the per-CDN ring table of the query).
		{"fleet.json", panel, "B"}: {
			ring("ams-office", "AMS", 1), ring("ams-office", "FRA", 7),
			ring("ams-dc", "AMS", 1),
			ring("Frankfurt", "AMS", 1), ring("Frankfurt", "FRA", 7),
		},
	})
}
