package edge

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// headerText encodes a header as "Key: value" lines, the fuzzer's input format.
func headerText(h http.Header) string {
	var b strings.Builder
	for k, vs := range h {
		for _, v := range vs {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	return b.String()
}

// parseHeaderText decodes headerText, canonicalising keys the way net/http does. Lines
// without a colon are skipped; values may hold any bytes.
func parseHeaderText(s string) http.Header {
	h := http.Header{}
	for line := range strings.Lines(s) {
		k, v, ok := strings.Cut(strings.TrimSuffix(line, "\n"), ":")
		if !ok || k == "" {
			continue
		}
		h.Add(k, strings.TrimPrefix(v, " "))
	}
	return h
}

// checkInvariants asserts the bounds the metrics contract relies on.
func checkInvariants(t *testing.T, res Result, userCDNs []string) {
	t.Helper()
	if res.CDN != Unknown && !slices.Contains(CDNs(), res.CDN) && !slices.Contains(userCDNs, res.CDN) {
		t.Errorf("cdn %q is not a known label value", res.CDN)
	}
	if res.PoP != Unknown && !validPoP(res.PoP) {
		t.Errorf("pop %q out of bounds", res.PoP)
	}
	if res.UpstreamPoP != "" && !validPoP(res.UpstreamPoP) {
		t.Errorf("upstream pop %q out of bounds", res.UpstreamPoP)
	}
	if res.RawPoP != "" && sanitizeRaw(res.RawPoP) != res.RawPoP {
		t.Errorf("raw pop %q out of bounds", res.RawPoP)
	}
	if res.EdgeIP != "" {
		a, err := netip.ParseAddr(res.EdgeIP)
		if err != nil || a.String() != res.EdgeIP {
			t.Errorf("edge ip %q is not a formatted address", res.EdgeIP)
		}
	}
	if !ValidCacheStatus(res.CacheStatus) {
		t.Errorf("cache status %q not in the enum", res.CacheStatus)
	}
	if res.CDN == Unknown && (res.PoP != Unknown || res.RawPoP != "" || res.EdgeIP != "") {
		t.Errorf("unknown cdn with details: %+v", res)
	}
}

func FuzzIdentify(f *testing.F) {
	for _, s := range samples {
		f.Add(headerText(s.header), s.url, []byte(s.body))
	}
	f.Add("X-Edge: edge-ams12\nX-Edge-Cache: served-from-ram\n", "https://example.com/", []byte(nil))
	f.Add("Cache-Status: \"a\\\"b\"; hit; ttl=-1, c; fwd=stale; fwd-status=304\n", "", []byte(nil))
	f.Add("Server: Netlify\nCache-Status: c; d=@1697749038; s=%\"caf%c3%a9\"; b=:aGk=:; x=1.5\n", "", []byte(nil))

	user, err := CompileRule(RuleSpec{
		CDN: "mycdn", Header: "X-Edge", Regex: `^edge-(.*)$`,
		CacheHeader: "X-Edge-Cache", CacheValues: map[string]string{"served-from-ram": "hit"},
	})
	if err != nil {
		f.Fatal(err)
	}
	withUser := NewIdentifier([]*UserRule{user})
	builtinOnly := NewIdentifier(nil)

	f.Fuzz(func(t *testing.T, headers, url string, body []byte) {
		r := &Response{StatusCode: 200, Header: parseHeaderText(headers), URL: url, Body: body}
		checkInvariants(t, builtinOnly.Identify(r), nil)
		checkInvariants(t, withUser.Identify(r), []string{"mycdn"})
		// The trace body rule only reads bodies of trace URLs; force that path too.
		r.URL = "https://example.com/cdn-cgi/trace"
		checkInvariants(t, builtinOnly.Identify(r), nil)
	})
}

// benchmarkMix is a realistic mix of response header sets from at least fifteen CDNs, with the
// ordinary headers every response carries.
func benchmarkMix() []*Response {
	common := []string{
		"Content-Type", "text/html; charset=utf-8", "Date", "Thu, 19 Oct 2023 21:03:11 GMT",
		"Cache-Control", "public, max-age=300", "Content-Length", "52113", "Vary", "Accept-Encoding",
		"Strict-Transport-Security", "max-age=31536000", "Age", "120", "Etag", `"5f3a-62e1c1e8"`,
	}
	sets := [][]string{
		{"Server", "cloudflare", "CF-RAY", "818bef0efadd4fcf-ORF", "cf-cache-status", "HIT", "Server-Timing", `cfCacheStatus;desc="HIT",cfEdge;dur=9`},
		{"X-Amz-Cf-Pop", "FRA56-P4", "X-Amz-Cf-Id", "q9Xz8h2T0c4n1u9pQZ0s3l5w8HkqQ5vR1d3E8xg==", "X-Cache", "Hit from cloudfront", "Via", "1.1 4c6a2d5b3b1e.cloudfront.net (CloudFront)"},
		{"X-Served-By", "cache-jfk1041-JFK, cache-ord1720-ORD", "X-Cache", "HIT, MISS", "X-Timer", "S1697434404.011995,VS0,VE3", "Via", "1.1 varnish, 1.1 varnish"},
		{"Server", "AkamaiGHost", "X-Cache", "TCP_MISS from a23-202-158-27.deploy.akamaitechnologies.com (AkamaiGHost/11.3.0.1-51934483) (-)", "Akamai-GRN", "0.8c6bdc17.1697748671.21d35348"},
		{"X-Azure-Ref", "20250204T141149Z-16b9cb9c8d5lmcb4hC1LONpg1w00000004xg000000003gd1", "X-Cache", "TCP_HIT"},
		{"Server", "Vercel", "X-Vercel-Id", "sfo1::fra1::8tq2k-1697749038123-7c0a9f2b4e11", "X-Vercel-Cache", "HIT"},
		{"Server", "Netlify", "Cache-Status", `"Netlify Edge"; hit; ttl=16579`, "X-Nf-Request-Id", "01HD3Q5W0B3YQ5Q0Z2J8X1V4T6"},
		{"Server", "Fly/5e5ac090 (2024-05-01)", "Via", "1.1 fly.io", "Fly-Request-Id", "01KYTQQP5MJVBN077Q5CZ611Z4-gru"},
		{"Server", "BunnyCDN-PH1-1245", "CDN-Cache", "HIT", "CDN-PullZone", "123456"},
		{"Server", "CDN77-Turbo", "X-77-POP", "frankfurtDE", "X-77-Cache", "MISS"},
		{"X-ID-FE", "fr5-hw-edge-gc17", "X-Shard", "fr5-shard0-default", "Cache", "HIT"},
		{"Via", "cache24.l2eu6-1[0,304-0,H], cache5.l2eu6-1[1,0], cache1.cn1157[0,200-0,H], cache19.cn1157[1,0]", "X-Cache", "HIT TCP_MEM_HIT dirn:13:799953991", "Server", "Tengine"},
		{"X-CDN", "Imperva", "X-Iinfo", "9-49176764-0 0CNN RT(1697749038123 0) q(0 -1 -1 -1) r(0 -1)"},
		{"Server", "cloudflare", "CF-RAY", "9da906681ad80c13-AMS", "cf-cache-status", "DYNAMIC", "X-Vercel-Id", "fra1::iad1::djm5z-1788688501471-5e5ac090f2b1"},
		{"Server", "nginx", "X-Via", "1.1 jssq179:8080 (Cdn Cache Server V2.0), 1.1 jsyc96:9080 (Cdn Cache Server V2.0)"},
		{"Server", "Byte-nginx", "Via", "cache73.czmp,cache05.tycm06", "X-Bdcdn-Cache-Status", "TCP_MISS,TCP_MISS"},
		{"Server", "volt-adc", "X-Volterra-Location", "pa4-par"},
		{"Server", "railway-edge", "X-Railway-Edge", "railway/us-east4-eqdc4a", "X-Railway-Request-Id", "ucE8S2t-Qn6AKhHY0_TJvA"},
		{"Server", "deno/gcp-asia-northeast1"},
		{"Server", "nginx", "X-Cache", "HIT"},
	}
	var mix []*Response
	for _, s := range sets {
		mix = append(mix, &Response{StatusCode: 200, Header: hdr(append(slices.Clone(common), s...)...), URL: "https://www.example.com/"})
	}
	return mix
}

func BenchmarkIdentify(b *testing.B) {
	mix := benchmarkMix()
	id := NewIdentifier(nil)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = id.Identify(mix[i%len(mix)])
		i++
	}
}

func BenchmarkIdentifyWithUserRule(b *testing.B) {
	mix := benchmarkMix()
	u, err := CompileRule(RuleSpec{CDN: "mycdn", Header: "X-Edge", Regex: `^edge-([a-z]{3})[0-9]+$`})
	if err != nil {
		b.Fatal(err)
	}
	id := NewIdentifier([]*UserRule{u})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = id.Identify(mix[i%len(mix)])
		i++
	}
}

// TestBenchmarkMixIdentifies keeps the benchmark honest: its header sets must be recognised.
func TestBenchmarkMixIdentifies(t *testing.T) {
	cdns := map[string]bool{}
	for _, r := range benchmarkMix() {
		res := NewIdentifier(nil).Identify(r)
		checkInvariants(t, res, nil)
		cdns[res.CDN] = true
	}
	delete(cdns, Unknown)
	if len(cdns) < 15 {
		t.Errorf("benchmark mix covers %d CDNs, want at least 15", len(cdns))
	}
}
