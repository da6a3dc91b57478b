package exposition

import (
	"compress/gzip"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

func TestHandlerFormats(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "test_exporter_targets", Help: "Targets."}))
	h := Handler(reg, testStore(1), HandlerOpts{Logger: log.NewNopLogger()})

	get := func(accept, encoding string) (string, []byte) {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.Header.Set("Accept", accept)
		req.Header.Set("Accept-Encoding", encoding)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body := rec.Body.Bytes()
		if rec.Header().Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(rec.Body)
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(zr)
		}
		return rec.Header().Get("Content-Type"), body
	}

	ct, body := get("text/plain", "gzip")
	if !strings.HasPrefix(ct, "text/plain") || !strings.Contains(string(body), `test_probe_success{ip_version="4",target="t0",vantage="ams-office"} 0`) ||
		!strings.Contains(string(body), "test_exporter_targets") {
		t.Errorf("text: %s\n%s", ct, body)
	}

	ct, body = get("application/openmetrics-text;version=1.0.0", "identity")
	if !strings.HasPrefix(ct, "application/openmetrics-text") || !strings.HasSuffix(string(body), "# EOF\n") ||
		strings.Count(string(body), "# EOF") != 1 || !strings.Contains(string(body), "# TYPE test_probe_failures counter") {
		t.Errorf("openmetrics: %s\n%s", ct, body)
	}

	// Protobuf is what Prometheus asks for with native histograms on: they must be there.
	ct, body = get("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited", "gzip")
	dec := expfmt.NewDecoder(strings.NewReader(string(body)), expfmt.Format(ct))
	found := false
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err != nil {
			break
		}
		if mf.GetName() == "test_probe_ttfb_seconds" {
			h := mf.GetMetric()[0].GetHistogram()
			found = h.Schema != nil && h.GetSampleCount() == 1 && len(h.GetBucket()) == len(testBuckets)
		}
	}
	if !found {
		t.Errorf("protobuf exposition lacks test_probe_ttfb_seconds with classic and native buckets")
	}
}

func TestAcceptsGzip(t *testing.T) {
	for in, want := range map[string]bool{
		"": false, "gzip": true, "deflate, gzip;q=0.5": true, "gzip;q=0": false, "GZIP": true, "br": false,
	} {
		if got := acceptsGzip(in); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", in, got, want)
		}
	}
}
