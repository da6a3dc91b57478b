package main

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// renderTime is the moment of the Azure reference sample (20250204T141149Z).
var renderTime = time.Date(2025, 2, 4, 14, 11, 49, 123456000, time.UTC)

// renderOne renders the edge headers of one answer with a fixed clock and generator.
func renderOne(t *testing.T, yml string, pop, cache string, req *http.Request) http.Header {
	t.Helper()
	sc, err := ParseScenario("inline", []byte("targets:\n"+yml))
	if err != nil {
		t.Fatal(err)
	}
	tg := sc.Targets[0]
	r := newRNG(1, fnv64(tg.Name), 0)
	h := http.Header{}
	tg.vendor.render(h, &answer{target: tg, pop: pop, cache: cache, now: renderTime, ttfb: 3 * time.Millisecond, req: req, r: &r})
	return h
}

// headerText writes a header block the way it goes on the wire (canonical names, sorted).
func headerText(h http.Header) string {
	var b strings.Builder
	for _, k := range sortedKeys(h) {
		for _, v := range h[k] {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	return b.String()
}

// The expected blocks below were checked by hand against the real samples cited in each
// renderer's comment (vendors.go); the PoP regexes are asserted separately in
// TestRenderedHeadersMatchReferenceRegexes.
func TestRenderExactHeaders(t *testing.T) {
	akamaiReq, _ := http.NewRequest("GET", "http://127.0.0.1/akamai/", nil)
	akamaiReq.Header.Set("Pragma", "akamai-x-cache-on, akamai-x-get-cache-key")
	tests := []struct {
		name  string
		yml   string
		pop   string
		cache string
		req   *http.Request
		want  string
	}{
		{"cloudflare", `- {name: cf, cdn: cloudflare, pops: {stay: AMS}}`, "AMS", "hit", nil, `
Age: 1160
Cf-Cache-Status: HIT
Cf-Ray: 6d34d37539ca38d7-AMS
Server: cloudflare
`},
		{"cloudflare-unknown", `- {name: cf, cdn: cloudflare, pops: {stay: AMS}}`, "AMS", "unknown", nil, `
Cf-Ray: 6d34d37539ca38d7-AMS
Server: cloudflare
`},
		{"cloudfront", `- {name: cfr, cdn: cloudfront, pops: {stay: FRA}}`, "FRA", "miss", nil, `
Via: 1.1 99d23e1d549cbd04d445eeb9c043856b.cloudfront.net (CloudFront)
X-Amz-Cf-Id: qw_c7RoIQWwbzsQ_kskDIdB_ft84OF-TbIXBfA603v0MfS4QowuFxp==
X-Amz-Cf-Pop: FRA52-P1
X-Cache: Miss from cloudfront
`},
		{"cloudfront-2hops", `- {name: cfr, cdn: cloudfront, pops: {stay: AMS}, shield: FRA}`, "AMS", "error", nil, `
Via: 1.1 a0fcb188060b3c0f4c438d1ffdc8e5e3.cloudfront.net (CloudFront), 1.1 99d23e1d549cbd04d445eeb9c043856b.cloudfront.net (CloudFront)
X-Amz-Cf-Id: bIXBfA603v0MfS4QowuFxpkIr1c57GpypUUtWPPGoWiv1RarrvL3Mt==
X-Amz-Cf-Pop: FRA52-C1
X-Amz-Cf-Pop: AMS52-P1
X-Cache: Error from cloudfront
`},
		{"fastly", `- {name: fa, cdn: fastly, pops: {stay: AMS}}`, "AMS", "miss", nil, `
Via: 1.1 varnish
X-Cache: MISS
X-Cache-Hits: 0
X-Fastly-Cache-Status: MISS
X-Fastly-Request-Id: 05c369606e0feed3a677940dfce37ab775f41289
X-Served-By: cache-ams68932-AMS
X-Timer: S1738678309.120456,VS0,VE3
`},
		{"fastly-shield", `- {name: fa, cdn: fastly, pops: {stay: AMS}, shield: FRA}`, "AMS", "hit", nil, `
Age: 3146
Via: 1.1 varnish, 1.1 varnish
X-Cache: MISS, HIT
X-Cache-Hits: 0, 13
X-Fastly-Cache-Status: HIT
X-Fastly-Request-Id: c369606e0feed3a677940dfce37ab775f412898d
X-Served-By: cache-fra-kfra8623797-FRA, cache-ams68932-AMS
X-Timer: S1738678309.120456,VS0,VE3
`},
		{"akamai-plain", `- {name: akamai, cdn: akamai, pops: {stay: AMS}}`, "AMS", "hit", nil, `
Akamai-Grn: 0.099b4817.1738678309.ed5f6b28
Server: AkamaiGHost
`},
		{"akamai-pragma", `- {name: akamai, cdn: akamai, pops: {stay: AMS}}`, "AMS", "miss", akamaiReq, `
Akamai-Grn: 0.099b4817.1738678309.ed5f6b28
Server: AkamaiGHost
X-Cache: TCP_MISS from a23-72-155-9.deploy.akamaitechnologies.com (AkamaiGHost/11.3.0.1-51934483) (-)
X-Cache-Key: S/L/2050/587451/1d/origin.cdnsim.test/akamai/
`},
		{"azure", `- {name: az, cdn: azure, pops: {stay: LON}}`, "LON", "hit", nil, `
Age: 1614
X-Azure-Ref: 20250204T141149Z-02sdticlazzyij9vhC1LONo75dx61f000000009a00000000z43h
X-Cache: TCP_HIT
X-Fd-Int-Roxy-Purgeid: 76839960
`},
		{"vercel", `- {name: ve, cdn: vercel, pops: {stay: SFO}, shield: FRA}`, "SFO", "miss", nil, `
Server: Vercel
X-Vercel-Cache: MISS
X-Vercel-Id: sfo1::fra1::iir92-1738678309123-e53b10ea4bbf
`},
		{"netlify-hit", `- {name: ne, cdn: netlify, pops: {stay: AMS}}`, "AMS", "hit", nil, `
Age: 3585
Cache-Status: "Netlify Edge"; hit; ttl=27240
Server: Netlify
X-Nf-Request-Id: 01JK8MV483AHEP57JEEYCVYFBY
`},
		{"netlify-miss", `- {name: ne, cdn: netlify, pops: {stay: AMS}}`, "AMS", "miss", nil, `
Cache-Status: "Netlify Durable"; fwd=miss, "Netlify Edge"; fwd=miss
Server: Netlify
X-Nf-Request-Id: 01JK8MV483AHEP57JEEYCVYFBY
`},
		{"fly", `- {name: fl, cdn: fly, pops: {stay: GRU}}`, "GRU", "unknown", nil, `
Fly-Request-Id: 01JK8MV483ZTWT7DR04N7VR5BG-gru
Server: Fly/8ba9cd3f (2025-01-30)
Via: 1.1 fly.io
`},
		{"bunny", `- {name: bu, cdn: bunny, pops: {stay: FR1}}`, "FR1", "hit", nil, `
Age: 3117
Cdn-Cache: HIT
Cdn-Cachedat: 02/04/2025 13:11:49
Cdn-Pullzone: 294192
Cdn-Requestcountrycode: NL
Cdn-Requestid: 2421bd0798a722fca15ebde669000fc7
Cdn-Uid: 08a63f07-b54d-e470-c4cf-0a5175079db5
Server: BunnyCDN-FR1-1114
`},
		{"keycdn", `- {name: kc, cdn: keycdn, pops: {stay: ussf}}`, "ussf", "hit", nil, `
Age: 1573
Server: keycdn-engine
X-Cache: HIT
X-Edge-Location: ussf
`},
		{"cdn77", `- {name: c7, cdn: cdn77, pops: {stay: pragueCZ}}`, "pragueCZ", "miss", nil, `
Server: CDN77-Turbo
X-77-Cache: MISS
X-77-Nzt: BumC0iynvEID8yJUZkMEbTW0hUOlvBRCanbr
X-77-Pop: pragueCZ
`},
		{"gcore", `- {name: gc, cdn: gcore, pops: {stay: fr5}}`, "fr5", "hit", nil, `
Age: 2556
Cache: HIT
Server: nginx
X-Cached-Since: 2025-02-04T13:11:49Z
X-Id: fr5-hw-edge-gc40
X-Id-Fe: fr5-hw-edge-gc40
X-Shard: fr5-shard0-default
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := headerText(renderOne(t, tt.yml, tt.pop, tt.cache, tt.req))
			if want := strings.TrimPrefix(tt.want, "\n"); got != want {
				t.Errorf("headers:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// PoP regexes written from the vendors' real header samples, one per format, must find the
// scripted PoP in what cdnsim renders: that is what makes the simulator a fair test of an
// identifier.
func TestRenderedHeadersMatchReferenceRegexes(t *testing.T) {
	tests := []struct {
		cdn, pop, header string
		re               string
		want             string // group 1 of re on the last value
	}{
		{"cloudflare", "AMS", "Cf-Ray", `^[0-9a-f]{16}-([A-Z]{3})(?:-[A-Z]{3})*$`, "AMS"},
		{"cloudfront", "FRA", "X-Amz-Cf-Pop", `^([A-Z]{3})[0-9]{1,3}-[A-Z][0-9]{1,2}$`, "FRA"},
		{"fastly", "NRT", "X-Served-By", `, cache-[a-z0-9-]+-([A-Z]{3})$`, "NRT"},
		{"azure", "LON", "X-Azure-Ref", `^[0-9]{8}T[0-9]{6}Z-[0-9a-z]{16}hC1([A-Z][A-Z0-9]{2})`, "LON"},
		{"vercel", "CDG", "X-Vercel-Id", `^([a-z]{3}[0-9])::`, "cdg1"},
		{"fly", "GRU", "Fly-Request-Id", `^[0-9A-HJKMNP-TV-Z]{26}-([a-z]{3})$`, "gru"},
		{"bunny", "PHX1", "Server", `^BunnyCDNE?-([A-Z]{2,3}[0-9]+)-[0-9]+$`, "PHX1"},
		{"keycdn", "defr", "X-Edge-Location", `^([a-z]{2}[a-z]{2})$`, "defr"},
		{"cdn77", "losangelesUSCA", "X-77-Pop", `^([a-z]+[A-Z]{2}(?:[A-Z]{2})?)$`, "losangelesUSCA"},
		{"gcore", "m9", "X-Id-Fe", `^([a-z]{1,3}[0-9]+)-`, "m9"},
		{"netlify", "AMS", "Cache-Status", `("Netlify Edge"); hit; ttl=[0-9]+$`, `"Netlify Edge"`},
		{"akamai", "AMS", "X-Cache", `^TCP_HIT from (a23-[0-9]+-[0-9]+-[0-9]+)\.deploy\.akamaitechnologies\.com \(AkamaiGHost/[0-9.-]+\) \(-\)$`, "a23-72-155-9"},
	}
	req, _ := http.NewRequest("GET", "http://127.0.0.1/x/", nil)
	req.Header.Set("Pragma", "akamai-x-cache-on")
	for _, tt := range tests {
		t.Run(tt.cdn, func(t *testing.T) {
			shield := ""
			if tt.cdn == "fastly" {
				shield = ", shield: FRA"
			}
			h := renderOne(t, "- {name: x, cdn: "+tt.cdn+", pops: {stay: "+tt.pop+"}"+shield+"}", tt.pop, "hit", req)
			vals := h.Values(tt.header)
			if len(vals) == 0 {
				t.Fatalf("no %s header in\n%s", tt.header, headerText(h))
			}
			m := regexp.MustCompile(tt.re).FindStringSubmatch(vals[len(vals)-1])
			if m == nil || m[1] != tt.want {
				t.Errorf("%s: %q: got %v, want group %q", tt.header, vals[len(vals)-1], m, tt.want)
			}
		})
	}
}

// Akamai-GRN carries the edge IPv4 little-endian (0.8c6bdc17… is 23.220.107.140 in the
// reference); it must name the same edge as X-Cache.
func TestAkamaiGRNEncodesEdgeIP(t *testing.T) {
	h := renderOne(t, "- {name: a, cdn: akamai, pops: {stay: AMS}}", "AMS", "hit", nil)
	grn := h.Get("Akamai-Grn")
	m := regexp.MustCompile(`^0\.([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})\.[0-9]+\.[0-9a-f]+$`).FindStringSubmatch(grn)
	if m == nil {
		t.Fatalf("Akamai-GRN %q has not the reference shape", grn)
	}
	ip := akamaiEdgeIP("AMS")
	for i := range 4 {
		if got := m[4-i]; got != fmt.Sprintf("%02x", ip[i]) {
			t.Errorf("octet %d: GRN has %s, edge IP has %d", i, got, ip[i])
		}
	}
	if h.Get("X-Cache") != "" {
		t.Errorf("X-Cache sent without Pragma: %q", h.Get("X-Cache"))
	}
}

// Every status a vendor declares renders as that vendor's raw value, and "unknown" leaves
// the vendor's cache header out.
func TestRenderCacheStatuses(t *testing.T) {
	cacheHeader := map[string]string{
		"cloudflare": "Cf-Cache-Status", "cloudfront": "X-Cache", "fastly": "X-Fastly-Cache-Status",
		"akamai": "X-Cache", "azure": "X-Cache", "vercel": "X-Vercel-Cache", "netlify": "Cache-Status",
		"bunny": "Cdn-Cache", "keycdn": "X-Cache", "cdn77": "X-77-Cache", "gcore": "Cache",
	}
	req, _ := http.NewRequest("GET", "http://127.0.0.1/x/", nil)
	req.Header.Set("Pragma", "akamai-x-cache-on")
	for _, v := range vendors {
		hdr, ok := cacheHeader[v.name]
		if !ok {
			if len(v.cache) != 0 {
				t.Errorf("%s declares cache statuses but the test knows no cache header", v.name)
			}
			continue
		}
		for status, raw := range v.cache {
			h := renderOne(t, "- {name: x, cdn: "+v.name+", pops: {stay: "+v.samplePoP+"}}", v.samplePoP, status, req)
			if got := h.Get(hdr); !strings.HasPrefix(got, raw) {
				t.Errorf("%s %s: %s = %q, want %q", v.name, status, hdr, got, raw)
			}
		}
		h := renderOne(t, "- {name: x, cdn: "+v.name+", pops: {stay: "+v.samplePoP+"}}", v.samplePoP, "unknown", req)
		if got := h.Get(hdr); got != "" {
			t.Errorf("%s unknown: %s = %q, want it absent", v.name, hdr, got)
		}
	}
}
