package deploy

import "testing"

// TestCertContentPanels runs the certificate and content panels with promtool over target www
// probed from two vantages: ams by an HA pair (instances a:9853 and b:9853, the same series
// twice), answered by PoP AMS with the rotated certificate and version 2 of the object; sin
// answered by PoP SIN with the old certificate and version 1. Each probe is one row, an HA
// pair once, with its PoP: which certificate and version each PoP serves, the chain's days
// left (10 at 10m) against the 14-day threshold, and since when each version is served.
func TestCertContentPanels(t *testing.T) {
	var series []map[string]string
	add := func(inst, vantage, pop, fp, serial, leafEnd, version, since, lastModified string) {
		l := `job="pop_exporter",instance="` + inst + `",vantage="` + vantage + `",target="www",ip_version="4",resolver="system"`
		series = append(series,
			map[string]string{"series": "pop_probe_http_status_code{" + l + "}", "values": "200x20"},
			map[string]string{"series": "pop_probe_edge_info{" + l + `,cdn="cloudflare",pop="` + pop + `"}`, "values": "1x20"},
			map[string]string{"series": "pop_probe_tls_earliest_cert_expiry_timestamp_seconds{" + l + "}", "values": "864600x20"},
			map[string]string{"series": "pop_probe_tls_leaf_cert_expiry_timestamp_seconds{" + l + `,fingerprint="` + fp + `",serial="` + serial + `"}`, "values": leafEnd + "x20"},
			map[string]string{"series": "pop_probe_tls_info{" + l + `,version="TLS 1.3",cipher="TLS_AES_128_GCM_SHA256",alpn="http/1.1",ocsp_stapled="false"}`, "values": "1x20"},
			map[string]string{"series": "pop_probe_content_version_since_timestamp_seconds{" + l + `,version="` + version + `"}`, "values": since + "x20"},
			map[string]string{"series": "pop_probe_content_last_modified_timestamp_seconds{" + l + "}", "values": lastModified + "x20"},
			map[string]string{"series": "pop_probe_content_propagation_window_seconds{" + l + "}", "values": "300x20"},
		)
	}
	add("a:9853", "ams", "AMS", "2222222222222222", "02", "9000000", "bbbbbbbbbbbbbbbb", "60", "60")
	add("b:9853", "ams", "AMS", "2222222222222222", "02", "9000000", "bbbbbbbbbbbbbbbb", "60", "60")
	add("s:9853", "sin", "SIN", "1111111111111111", "01", "1000000", "aaaaaaaaaaaaaaaa", "0", "-3600")
	probe := func(vantage, extra string) string {
		return `{vantage="` + vantage + `",target="www",ip_version="4",resolver="system"` + extra + `}`
	}
	checkPanelsWithPromtool(t, "certificates and content of www from ams and sin", series, map[panelKey][]sample{
		{"pop-overview.json", "Certificates by PoP", "A"}: {
			{probe("ams", `,cdn="cloudflare",pop="AMS",fingerprint="2222222222222222",serial="02"`), 9000000 * 1000},
			{probe("sin", `,cdn="cloudflare",pop="SIN",fingerprint="1111111111111111",serial="01"`), 1000000 * 1000},
		},
		{"pop-overview.json", "Certificates by PoP", "B"}: {{probe("ams", ""), 10}, {probe("sin", ""), 10}},
		{"pop-overview.json", "Certificates by PoP", "C"}: {
			{probe("ams", `,version="TLS 1.3",cipher="TLS_AES_128_GCM_SHA256",alpn="http/1.1",ocsp_stapled="false"`), 1},
			{probe("sin", `,version="TLS 1.3",cipher="TLS_AES_128_GCM_SHA256",alpn="http/1.1",ocsp_stapled="false"`), 1},
		},
		{"pop-overview.json", "Certificates by PoP", "D"}: {{"{}", 14}},
		{"pop-overview.json", "Content version by PoP", "A"}: {
			{probe("ams", `,cdn="cloudflare",pop="AMS",version="bbbbbbbbbbbbbbbb"`), 60000},
			{probe("sin", `,cdn="cloudflare",pop="SIN",version="aaaaaaaaaaaaaaaa"`), 0},
		},
		{"pop-overview.json", "Content version by PoP", "B"}: {{probe("ams", ""), 60000}, {probe("sin", ""), -3600000}},
		{"pop-overview.json", "Content version by PoP", "C"}: {{probe("ams", ""), 300}, {probe("sin", ""), 300}},
	})
}
