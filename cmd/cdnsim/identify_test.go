package main

import (
	"io"
	"net/http/httptest"
	"testing"

	"github.com/popexporter/pop_exporter/collector/edge"
	"github.com/prometheus/common/promslog"
)

// TestSimulatedHeadersIdentify feeds every simulated vendor's responses, for every cache
// status it can show, to the exporter's identifier and checks that it finds the CDN, PoP,
// upstream PoP and cache status the scenario scripted. This is the contract the end-to-end
// test and the demo rely on.
func TestSimulatedHeadersIdentify(t *testing.T) {
	type want struct {
		pop, upstream, edgeIP string
	}
	cases := []struct {
		yml  string
		want want
	}{
		{`{name: x, cdn: cloudflare, pops: {stay: SIN}}`, want{pop: "SIN"}},
		{`{name: x, cdn: cloudfront, pops: {stay: FRA}}`, want{pop: "FRA"}},
		{`{name: x, cdn: cloudfront, pops: {stay: AMS}, shield: FRA}`, want{pop: "AMS", upstream: "FRA"}},
		{`{name: x, cdn: fastly, pops: {stay: NRT}}`, want{pop: "NRT"}},
		{`{name: x, cdn: fastly, pops: {stay: AMS}, shield: FRA}`, want{pop: "AMS", upstream: "FRA"}},
		{`{name: x, cdn: akamai, pops: {stay: AMS}}`, want{pop: edge.Unknown, edgeIP: "23.72.155.9"}},
		{`{name: x, cdn: azure, pops: {stay: LON}}`, want{pop: "LON"}},
		{`{name: x, cdn: vercel, pops: {stay: CDG}}`, want{pop: "CDG"}},
		{`{name: x, cdn: vercel, pops: {stay: SFO}, shield: IAD}`, want{pop: "SFO", upstream: "IAD"}},
		{`{name: x, cdn: netlify, pops: {stay: AMS}}`, want{pop: edge.Unknown}},
		{`{name: x, cdn: fly, pops: {stay: GRU}}`, want{pop: "GRU"}},
		{`{name: x, cdn: bunny, pops: {stay: DE1}}`, want{pop: "DE1"}},
		{`{name: x, cdn: keycdn, pops: {stay: defr}}`, want{pop: "DEFR"}},
		{`{name: x, cdn: cdn77, pops: {stay: frankfurtDE}}`, want{pop: "FRA"}},
		{`{name: x, cdn: cdn77, pops: {stay: losangelesUSCA}}`, want{pop: "LAX"}},
		{`{name: x, cdn: gcore, pops: {stay: fr5}}`, want{pop: "FR5"}},
	}
	id := edge.NewIdentifier(nil)
	for _, c := range cases {
		sc := mustScenario(t, "targets:\n  - "+c.yml)
		tg := sc.Targets[0]
		statuses := append(tg.vendor.cacheNames(), "") // "" marks the trace endpoint run below
		for _, status := range statuses {
			if status == "" && tg.CDN != "cloudflare" {
				continue
			}
			name := tg.CDN + "/" + tg.Shield + "/" + status
			t.Run(name, func(t *testing.T) {
				if status != "" {
					tg.Cache = map[string]float64{status: 1}
					if err := tg.validateCache(); err != nil {
						t.Fatal(err)
					}
				}
				s := newSimulator(sc, 1, newFakeClock().now, promslog.NewNopLogger())
				path := "/x/"
				wantCache := status
				if status == "" {
					path, wantCache = "/x/cdn-cgi/trace", edge.CacheUnknown
				}
				req := httptest.NewRequest("GET", "http://127.0.0.1:8081"+path, nil)
				req.Header.Set("Pragma", "akamai-x-cache-on, akamai-x-get-cache-key")
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				resp := rec.Result()
				body, _ := io.ReadAll(resp.Body)
				got := id.Identify(&edge.Response{StatusCode: resp.StatusCode, Header: resp.Header, URL: req.URL.String(), Body: body})

				if got.CDN != tg.CDN || got.PoP != c.want.pop || got.CacheStatus != wantCache {
					t.Errorf("identified cdn=%s pop=%s cache=%s, scripted cdn=%s pop=%s cache=%s\nheaders:\n%s",
						got.CDN, got.PoP, got.CacheStatus, tg.CDN, c.want.pop, wantCache, headerText(resp.Header))
				}
				if c.want.upstream != "" && got.UpstreamPoP != c.want.upstream {
					t.Errorf("upstream PoP %q, scripted shield %s", got.UpstreamPoP, c.want.upstream)
				}
				if c.want.edgeIP != "" && got.EdgeIP != c.want.edgeIP {
					t.Errorf("edge IP %q, want %s", got.EdgeIP, c.want.edgeIP)
				}
			})
		}
	}
}
