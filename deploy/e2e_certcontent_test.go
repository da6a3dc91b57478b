package deploy

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/popexporter/pop_exporter/dashboards"
)

// TestCertContentEndToEnd runs two offices against one cdnsim
// (testdata/e2e-certcontent-scenario.yml), one pop_exporter each, probing from their own
// source addresses (127.0.0.2 Amsterdam, 127.0.0.3 Singapore), scraped by a Prometheus 2.42
// and a Prometheus 3 (perVersionModes) with the repository's rules. It shows that a PoP still
// serving the certificate rotated away from pages PopCertMismatch, a certificate 3 days from
// expiry pages PopCertExpiringSoon from both offices, a PoP that missed a purge pages
// PopContentInconsistent, and that the healthy target (its own certificate, one version)
// pages none of them. Alerts' `for:` run 60 times faster than in the rule files: the
// mismatch's 30 minutes are 30 s.
func TestCertContentEndToEnd(t *testing.T) {
	env := requireE2E(t)
	t.Parallel()
	dir := t.TempDir()
	started := time.Now()

	vantages := []string{"ams-office", "sin-office"}
	startProcess(t, "cdnsim", env.bins["cdnsim"],
		"--scenario.file=testdata/e2e-certcontent-scenario.yml",
		"--http.listen-address=127.0.0.1:0", "--https.listen-address=127.0.0.1:0",
		"--tls.ca-file="+filepath.Join(dir, "ca.pem"),
		"--config.out="+filepath.Join(dir, "exporter-{vantage}.yml"), "--print-config.interval=1s")
	var exporters []string
	for _, v := range vantages {
		waitFile(t, filepath.Join(dir, "exporter-"+v+".yml"))
		exporters = append(exporters, startExporter(t, env, "pop_exporter "+v, filepath.Join(dir, "exporter-"+v+".yml")))
	}
	env.modes(t, perVersionModes, func(mode histogramMode) {
		prom := startPrometheus(t, env, dir, mode, exporters...)
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			checkCertContent(t, prom)
			t.Logf("certificates and content end-to-end test (%s) took %v", mode.name, time.Since(started).Round(time.Second))
		})
	})
}

func checkCertContent(t *testing.T, prom promClient) {
	eventually(t, "two exporters up", 30*time.Second, func() error {
		return prom.expectCount(`up{job="pop_exporter"} == 1`, 2)
	})
	// What the exporters see: two leaves of cert-rotated (AMS the new one, SIN the old one),
	// one of healthy from both PoPs, two versions of content-stale and one of healthy.
	eventually(t, "certificates and versions per PoP", 30*time.Second, func() error {
		for _, c := range []struct {
			query string
			want  int
		}{
			{`count by (fingerprint) (pop_probe_tls_leaf_cert_expiry_timestamp_seconds{target="cert-rotated"} * on(job, instance, vantage, target, ip_version, resolver, protocol) group_left(cdn, pop) pop_probe_edge_info)`, 2},
			{`pop_probe_tls_leaf_cert_expiry_timestamp_seconds{target="healthy"} * on(job, instance, vantage, target, ip_version, resolver, protocol) group_left(cdn, pop) pop_probe_edge_info`, 2},
			{`count by (fingerprint) (pop_probe_tls_leaf_cert_expiry_timestamp_seconds{target="healthy"} * on(job, instance, vantage, target, ip_version, resolver, protocol) group_left(cdn, pop) pop_probe_edge_info)`, 1},
			{`count by (version) (pop_probe_content_version_since_timestamp_seconds{target="content-stale"} * on(job, instance, vantage, target, ip_version, resolver, protocol) group_left(cdn, pop) pop_probe_edge_info)`, 2},
			{`count by (version) (pop_probe_content_version_since_timestamp_seconds{target="healthy"} * on(job, instance, vantage, target, ip_version, resolver, protocol) group_left(cdn, pop) pop_probe_edge_info)`, 1},
			// The per-target counts the alerts read, recorded without a per-probe series.
			{`target_cdn:pop_probe_tls_leaf_certs:count{target="cert-rotated"} == 2`, 1},
			{`target_cdn:pop_probe_tls_leaf_certs:count{target="healthy"} == 1`, 1},
			{`pop_probe_tls_info{target="healthy",version="TLS 1.3",alpn="http/1.1",ocsp_stapled="false"}`, 2},
		} {
			if err := prom.expectCount(c.query, c.want); err != nil {
				return err
			}
		}
		return nil
	})
	// cert-expiring expires in 3 days, under the 14-day threshold: from both offices.
	eventually(t, "PopCertExpiringSoon firing for cert-expiring from both offices, PopContentInconsistent for content-stale",
		40*time.Second, func() error {
			if err := prom.expectCount(`ALERTS{alertname="PopCertExpiringSoon",target="cert-expiring",alertstate="firing"}`, 2); err != nil {
				return err
			}
			return prom.expectCount(`ALERTS{alertname="PopContentInconsistent",target="content-stale",alertstate="firing"}`, 1)
		})
	// The rotation window (30 minutes, 30 s here) has to pass.
	eventually(t, "PopCertMismatch firing for cert-rotated", 60*time.Second, func() error {
		return prom.expectCount(`ALERTS{alertname="PopCertMismatch",target="cert-rotated",cdn="cloudflare",alertstate="firing"}`, 1)
	})
	for _, c := range []struct {
		what, query string
		want        int
	}{
		{"healthy pages nothing", `ALERTS{target="healthy"}`, 0},
		{"cert-rotated's certificates are not expiring", `ALERTS{alertname="PopCertExpiringSoon",target="cert-rotated"}`, 0},
		{"one certificate everywhere is no mismatch", `ALERTS{alertname="PopCertMismatch",target="cert-expiring"}`, 0},
		{"only content targets can be inconsistent", `ALERTS{alertname="PopContentInconsistent",target=~"cert-.*"}`, 0},
	} {
		if err := prom.expectCount(c.query, c.want); err != nil {
			t.Errorf("%s: %v", c.what, err)
		}
	}
	expectAnnotations(t, prom, "PopContentInconsistent", map[string]string{"target": "content-stale"},
		"served in 2 different versions", "by PoP SIN to sin-office", "by PoP AMS to ams-office")
	expectAnnotations(t, prom, "PopCertMismatch", map[string]string{"target": "cert-rotated"},
		"2 different leaf certificates by cloudflare", "by PoP SIN to sin-office", "by PoP AMS to ams-office")
	expectAnnotations(t, prom, "PopCertExpiringSoon", map[string]string{"target": "cert-expiring", "vantage": "sin-office"},
		"expires in 2d 23h")

	// The certificate and content panels of the overview show these probes.
	expectPanelQueriesReturnData(t, prom, func(q dashboards.Query) bool {
		return q.File == "pop-overview.json" && (q.Panel == "Certificates by PoP" || q.Panel == "Content version by PoP")
	})
}
