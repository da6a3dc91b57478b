package main

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// answer is everything a vendor renderer needs to write one response's edge headers.
type answer struct {
	target *Target
	pop    string // scripted PoP, in the scenario's form for this vendor
	cache  string // normalised cache status; "unknown" means the vendor's header is left out
	now    time.Time
	ttfb   time.Duration
	req    *http.Request // nil in unit tests that need no request headers
	r      *rng
}

// vendor is one simulated CDN: a row of data plus a renderer that writes its header format.
// The formats follow real responses and the vendors' documentation; each renderer names the
// samples it imitates and, where there is one, the public page or repository they come from.
type vendor struct {
	name string
	// popRE is the form a scenario writes this vendor's PoPs in: IATA codes for vendors whose
	// codes embed one, the vendor's own code otherwise.
	popRE *regexp.Regexp
	// shield is true when the vendor shows an upstream PoP (Fastly shield, CloudFront inner
	// hop, Vercel function region).
	shield bool
	// cache maps normalised statuses to the vendor's raw value; statuses missing here cannot
	// be scripted for this vendor ("unknown", the header left out, always can).
	cache        map[string]string
	defaultCache string
	// samplePoP is the PoP of synthetic load-test targets (--targets.generate).
	samplePoP string
	render    func(h http.Header, a *answer)
}

// iataRE is the scenario form of vendors whose PoP codes embed an airport code.
var iataRE = regexp.MustCompile(`^[A-Z]{3}$`)

// vendors is the table of simulated CDNs.
var vendors = []*vendor{
	{
		name:   "cloudflare",
		popRE:  iataRE,
		cache:  rawSame("hit", "miss", "expired", "stale", "revalidated", "bypass", "dynamic"),
		render: renderCloudflare, defaultCache: "hit", samplePoP: "AMS",
	},
	{
		name:   "cloudfront",
		popRE:  iataRE,
		shield: true,
		cache: map[string]string{
			"hit": "Hit from cloudfront", "miss": "Miss from cloudfront",
			"revalidated": "RefreshHit from cloudfront", "dynamic": "FunctionGeneratedResponse from cloudfront",
			"error": "Error from cloudfront",
		},
		render: renderCloudFront, defaultCache: "hit", samplePoP: "FRA",
	},
	{
		name:   "fastly",
		popRE:  iataRE,
		shield: true,
		cache:  map[string]string{"hit": "HIT", "miss": "MISS", "stale": "HIT-STALE"},
		render: renderFastly, defaultCache: "hit", samplePoP: "AMS",
	},
	{
		// Akamai names no PoP: the scenario's PoP only selects the edge address.
		name:  "akamai",
		popRE: iataRE,
		cache: map[string]string{
			"hit": "TCP_HIT", "miss": "TCP_MISS", "expired": "TCP_REFRESH_MISS",
			"revalidated": "TCP_REFRESH_HIT", "stale": "TCP_REFRESH_FAIL_HIT", "error": "TCP_DENIED",
		},
		render: renderAkamai, defaultCache: "hit", samplePoP: "AMS",
	},
	{
		name:  "azure",
		popRE: regexp.MustCompile(`^[A-Z][A-Z0-9]{2}$`),
		cache: map[string]string{
			"hit": "TCP_HIT", "miss": "TCP_MISS", "expired": "TCP_EXPIRED_MISS",
			"bypass": "CONFIG_NOCACHE", "dynamic": "UNCACHEABLE", "error": "N/A",
		},
		render: renderAzure, defaultCache: "hit", samplePoP: "AMS",
	},
	{
		// Vercel region ids are an IATA code plus a digit (cdg1); the scenario writes CDG.
		name:   "vercel",
		popRE:  iataRE,
		shield: true,
		cache:  rawSame("hit", "miss", "stale", "revalidated", "bypass"),
		render: renderVercel, defaultCache: "hit", samplePoP: "CDG",
	},
	{
		// Netlify names no PoP: the scenario's PoP only selects the TTFB.
		name:  "netlify",
		popRE: iataRE,
		cache: map[string]string{
			"hit": `"Netlify Edge"; hit; ttl=`, "miss": `"Netlify Durable"; fwd=miss, "Netlify Edge"; fwd=miss`,
			"stale": `"Netlify Edge"; hit; fwd=stale`, "expired": `"Netlify Edge"; fwd=stale; fwd-status=200`,
			"revalidated": `"Netlify Edge"; fwd=stale; fwd-status=304`, "bypass": `"Netlify Edge"; fwd=bypass`,
			"error": `"Netlify Edge"; fwd=miss; fwd-status=502`,
		},
		render: renderNetlify, defaultCache: "hit", samplePoP: "AMS",
	},
	{
		// Fly.io sends no cache status at all.
		name:   "fly",
		popRE:  iataRE,
		cache:  map[string]string{},
		render: renderFly, defaultCache: "unknown", samplePoP: "AMS",
	},
	{
		name:   "bunny",
		popRE:  regexp.MustCompile(`^[A-Z]{2,3}[0-9]{1,2}$`),
		cache:  rawSame("hit", "miss", "expired"),
		render: renderBunny, defaultCache: "hit", samplePoP: "DE1",
	},
	{
		name:   "keycdn",
		popRE:  regexp.MustCompile(`^[a-z]{4}$`),
		cache:  rawSame("hit", "miss", "expired", "stale", "revalidated"),
		render: renderKeyCDN, defaultCache: "hit", samplePoP: "defr",
	},
	{
		name:   "cdn77",
		popRE:  regexp.MustCompile(`^[a-z]{2,10}[A-Z]{2}(?:[A-Z]{2})?$`),
		cache:  rawSame("hit", "miss"),
		render: renderCDN77, defaultCache: "hit", samplePoP: "frankfurtDE",
	},
	{
		name:   "gcore",
		popRE:  regexp.MustCompile(`^[a-z]{1,3}[0-9]{1,3}$`),
		cache:  rawSame("hit", "miss"),
		render: renderGcore, defaultCache: "hit", samplePoP: "fr5",
	},
}

var vendorByName = func() map[string]*vendor {
	m := make(map[string]*vendor, len(vendors))
	for _, v := range vendors {
		m[v.name] = v
	}
	return m
}()

func vendorNames() []string {
	names := make([]string, len(vendors))
	for i, v := range vendors {
		names[i] = v.name
	}
	return names
}

func (v *vendor) cacheNames() []string {
	var out []string
	for _, s := range cacheStatuses {
		if _, ok := v.cache[s]; ok || s == "unknown" {
			out = append(out, s)
		}
	}
	return out
}

// rawSame maps each status to its uppercase self, as most vendors write them (HIT, MISS, …).
func rawSame(statuses ...string) map[string]string {
	m := make(map[string]string, len(statuses))
	for _, s := range statuses {
		m[s] = strings.ToUpper(s)
	}
	return m
}

// setAge adds an Age header to cached answers, as caches do (RFC 9111 section 5.1).
func setAge(h http.Header, a *answer) {
	if a.cache == "hit" || a.cache == "stale" {
		h["Age"] = []string{itoa(1 + a.r.Intn(3600))}
	}
}

// renderCloudflare imitates `cf-ray: 818bef0efadd4fcf-ORF` with `Server: cloudflare` and
// `cf-cache-status` (github.com/phonedude/cs533-f23 curl dumps).
func renderCloudflare(h http.Header, a *answer) {
	h["Server"] = []string{"cloudflare"}
	h["Cf-Ray"] = []string{randString(a.r, 16, hexDigits) + "-" + a.pop}
	if raw, ok := a.target.vendor.cache[a.cache]; ok {
		h["Cf-Cache-Status"] = []string{raw}
	}
	setAge(h, a)
}

// cloudFrontPoP renders an IATA code as a CloudFront edge id such as `FRA56-P4` or
// `IAD89-C3`: airport, facility number, tier. The facility is stable per airport.
func cloudFrontPoP(iata string, tier byte) string {
	return iata + itoa(stableNum(iata, 50, 10)) + "-" + string(tier) + itoa(stableNum(iata+"t", 1, 4))
}

// renderCloudFront imitates `X-Amz-Cf-Pop: FRA56-P4`, `X-Cache: Hit from cloudfront` and the
// two-value CloudFront-on-CloudFront form `BOM50-C1` then `DEL54-C1`, inner layer first
// (github.com/aws-amplify/amplify-hosting/issues/592).
func renderCloudFront(h http.Header, a *answer) {
	via := "1.1 " + randString(a.r, 32, hexDigits) + ".cloudfront.net (CloudFront)"
	pops := []string{cloudFrontPoP(a.pop, 'P')}
	if s := a.target.Shield; s != "" {
		via = "1.1 " + randString(a.r, 32, hexDigits) + ".cloudfront.net (CloudFront), " + via
		pops = []string{cloudFrontPoP(s, 'C'), pops[0]}
	}
	if raw, ok := a.target.vendor.cache[a.cache]; ok {
		h["X-Cache"] = []string{raw}
	}
	h["Via"] = []string{via}
	h["X-Amz-Cf-Pop"] = pops
	h["X-Amz-Cf-Id"] = []string{randString(a.r, 54, base64URL) + "=="}
	setAge(h, a)
}

// renderFastly imitates the Fastly docs' `X-Served-By: cache-jfk1041-JFK, cache-ord1720-ORD`
// with `X-Cache: HIT, HIT` and `X-Cache-Hits: 1, 7` (docs.fastly.com/en/guides/checking-cache),
// shield first and the client edge last, the shield named like `cache-iad-kiad7000151-IAD`,
// and `x-timer: S1697434404.011995,VS0,VE3`.
func renderFastly(h http.Header, a *answer) {
	edge := "cache-" + lower(a.pop) + itoa(10000+a.r.Intn(90000)) + "-" + a.pop
	edgeCache, hits := "MISS", 0
	if a.cache == "hit" || a.cache == "stale" {
		edgeCache, hits = "HIT", 1+a.r.Intn(20)
	}
	servedBy, xcache, xhits, via := edge, edgeCache, itoa(hits), "1.1 varnish"
	if s := a.target.Shield; s != "" {
		shield := "cache-" + lower(s) + "-k" + lower(s) + itoa(7000000+a.r.Intn(3000000)) + "-" + s
		servedBy = shield + ", " + edge
		xcache = "MISS, " + edgeCache
		xhits = "0, " + xhits
		via = "1.1 varnish, 1.1 varnish"
	}
	h["Via"] = []string{via}
	h["X-Served-By"] = []string{servedBy}
	if raw, ok := a.target.vendor.cache[a.cache]; ok {
		h["X-Cache"] = []string{xcache}
		h["X-Cache-Hits"] = []string{xhits}
		h["X-Fastly-Cache-Status"] = []string{raw}
	}
	start := a.now.Add(-a.ttfb)
	h["X-Timer"] = []string{fmt.Sprintf("S%d.%06d,VS0,VE%d", start.Unix(), start.Nanosecond()/1000, a.ttfb.Milliseconds())}
	h["X-Fastly-Request-Id"] = []string{randString(a.r, 40, hexDigits)}
	setAge(h, a)
}

// akamaiEdgeIP is the edge address an Akamai PoP answers from: stable per scenario PoP, in
// 23.0.0.0/8 like the samples (a23-202-158-27).
func akamaiEdgeIP(pop string) [4]byte {
	x := fnv64("akamai/" + pop)
	return [4]byte{23, byte(1 + x%254), byte(1 + (x>>8)%254), byte(1 + (x>>16)%254)}
}

// renderAkamai imitates `Server: AkamaiGHost`, `Akamai-GRN: 0.8c6bdc17.1697748671.21d35348`
// (the edge IPv4 little-endian, 23.220.107.140 there) and, only when asked with the Pragma
// debug headers (Akamai techdocs "pragma headers"), `x-cache: TCP_MISS from
// a23-202-158-27.deploy.akamaitechnologies.com (AkamaiGHost/11.3.0.1-51934483) (-)`.
func renderAkamai(h http.Header, a *answer) {
	ip := akamaiEdgeIP(a.pop)
	h["Server"] = []string{"AkamaiGHost"}
	grnID := randString(a.r, 8, hexDigits)
	h["Akamai-Grn"] = []string{fmt.Sprintf("0.%02x%02x%02x%02x.%d.%s", ip[3], ip[2], ip[1], ip[0], a.now.Unix(), grnID)}
	if a.req == nil {
		return
	}
	for _, p := range a.req.Header.Values("Pragma") {
		for tok := range strings.SplitSeq(p, ",") {
			switch strings.ToLower(strings.TrimSpace(tok)) {
			case "akamai-x-cache-on":
				if raw, ok := a.target.vendor.cache[a.cache]; ok {
					h["X-Cache"] = []string{fmt.Sprintf("%s from a%d-%d-%d-%d.deploy.akamaitechnologies.com (AkamaiGHost/11.3.0.1-51934483) (-)", raw, ip[0], ip[1], ip[2], ip[3])}
				}
			case "akamai-x-get-cache-key":
				h["X-Cache-Key"] = []string{"S/L/2050/587451/1d/origin.cdnsim.test/" + a.target.Name + "/"}
			case "akamai-x-check-cacheable":
				cacheable := "YES"
				if a.cache == "bypass" || a.cache == "dynamic" {
					cacheable = "NO"
				}
				h["X-Check-Cacheable"] = []string{cacheable}
			case "akamai-x-get-request-id":
				h["X-Akamai-Request-Id"] = []string{grnID}
			}
		}
	}
}

// renderAzure imitates the current Front Door reference `X-Azure-Ref:
// 20250204T141149Z-<16 alnum>hC1LON…` with an `x-cache` value such as `TCP_HIT` or
// `CONFIG_NOCACHE` (learn.microsoft.com/azure/cdn/cdn-msft-http-debug-headers).
func renderAzure(h http.Header, a *answer) {
	ref := a.now.UTC().Format("20060102T150405Z") + "-" + randString(a.r, 16, lowerAlnum) + "hC1" + a.pop +
		randString(a.r, 8, lowerAlnum) + "00000000" + randString(a.r, 2, lowerAlnum) + "00000000" + randString(a.r, 4, lowerAlnum)
	h["X-Azure-Ref"] = []string{ref}
	if raw, ok := a.target.vendor.cache[a.cache]; ok {
		h["X-Cache"] = []string{raw}
	}
	h["X-Fd-Int-Roxy-Purgeid"] = []string{itoa(10000000 + a.r.Intn(90000000))}
	setAge(h, a)
}

// renderVercel imitates `x-vercel-id: bom1::djm5z-1788688501471-5e5ac090f2b1` and the
// edge-plus-function form `sfo1::fra1::…`, with `X-Vercel-Cache`.
func renderVercel(h http.Header, a *answer) {
	id := lower(a.pop) + "1::"
	if s := a.target.Shield; s != "" {
		id += lower(s) + "1::"
	}
	id += randString(a.r, 5, lowerAlnum) + "-" + strconv.FormatInt(a.now.UnixMilli(), 10) + "-" + randString(a.r, 12, hexDigits)
	h["Server"] = []string{"Vercel"}
	h["X-Vercel-Id"] = []string{id}
	if raw, ok := a.target.vendor.cache[a.cache]; ok {
		h["X-Vercel-Cache"] = []string{raw}
	}
	setAge(h, a)
}

// renderNetlify imitates `Server: Netlify` with the RFC 9211 `Cache-Status: "Netlify Edge";
// hit; ttl=16579` and `"Netlify Durable"; fwd=bypass`, as real Netlify responses carry them.
func renderNetlify(h http.Header, a *answer) {
	h["Server"] = []string{"Netlify"}
	h["X-Nf-Request-Id"] = []string{ulid(a.now, a.r)}
	if raw, ok := a.target.vendor.cache[a.cache]; ok {
		if a.cache == "hit" {
			raw += itoa(60 + a.r.Intn(30000))
		}
		h["Cache-Status"] = []string{raw}
	}
	setAge(h, a)
}

// renderFly imitates `Fly-Request-Id: 01KYTQQP5MJVBN077Q5CZ611Z4-gru` with `Server: Fly/…`
// and `Via: 1.1 fly.io`.
func renderFly(h http.Header, a *answer) {
	h["Server"] = []string{"Fly/8ba9cd3f (2025-01-30)"}
	h["Via"] = []string{"1.1 fly.io"}
	h["Fly-Request-Id"] = []string{ulid(a.now, a.r) + "-" + lower(a.pop)}
}

// renderBunny imitates `server: BunnyCDN-PH1-1245` with `cdn-cache: HIT` and Bunny's other
// CDN-* headers. CDN-RequestCountryCode is the client's country, never the PoP's.
func renderBunny(h http.Header, a *answer) {
	h["Server"] = []string{"BunnyCDN-" + a.pop + "-" + itoa(stableNum(a.pop, 1000, 400)+a.r.Intn(8))}
	h["Cdn-Pullzone"] = []string{itoa(stableNum(a.target.Name, 100000, 900000))}
	h["Cdn-Uid"] = []string{bunnyUID(a.target.Name)}
	h["Cdn-Requestcountrycode"] = []string{"NL"}
	h["Cdn-Requestid"] = []string{randString(a.r, 32, hexDigits)}
	if raw, ok := a.target.vendor.cache[a.cache]; ok {
		h["Cdn-Cache"] = []string{raw}
	}
	if a.cache == "hit" {
		h["Cdn-Cachedat"] = []string{a.now.Add(-time.Hour).UTC().Format("01/02/2006 15:04:05")}
	}
	setAge(h, a)
}

// bunnyUID is a pull zone's stable UUID-shaped id.
func bunnyUID(name string) string {
	x, y := fnv64(name), fnv64(name+"/uid")
	s := fmt.Sprintf("%016x%016x", x, y)
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// renderKeyCDN imitates `x-edge-location: ussf` with `x-cache: HIT` and `Server:
// keycdn-engine` (keycdn.com support: cdn-troubleshooting-guide).
func renderKeyCDN(h http.Header, a *answer) {
	h["Server"] = []string{"keycdn-engine"}
	h["X-Edge-Location"] = []string{a.pop}
	if raw, ok := a.target.vendor.cache[a.cache]; ok {
		h["X-Cache"] = []string{raw}
	}
	setAge(h, a)
}

// renderCDN77 imitates `x-77-pop: pragueCZ` (CDN77 knowledge base) with `Server:
// CDN77-Turbo`, `X-77-Cache` and the opaque `X-77-NZT` trace blob.
func renderCDN77(h http.Header, a *answer) {
	h["Server"] = []string{"CDN77-Turbo"}
	h["X-77-Pop"] = []string{a.pop}
	if raw, ok := a.target.vendor.cache[a.cache]; ok {
		h["X-77-Cache"] = []string{raw}
	}
	h["X-77-Nzt"] = []string{randString(a.r, 36, base64Std)}
	setAge(h, a)
}

// renderGcore imitates `x-id-fe: fr5-hw-edge-gc17`, `x-shard: fr5-shard0-default` and the
// Gcore docs' `Cache: HIT`.
func renderGcore(h http.Header, a *answer) {
	node := a.pop + "-hw-edge-gc" + itoa(1+a.r.Intn(40))
	h["Server"] = []string{"nginx"}
	h["X-Id"] = []string{node}
	h["X-Id-Fe"] = []string{node}
	h["X-Shard"] = []string{a.pop + "-shard0-default"}
	if raw, ok := a.target.vendor.cache[a.cache]; ok {
		h["Cache"] = []string{raw}
	}
	if a.cache == "hit" {
		h["X-Cached-Since"] = []string{a.now.Add(-time.Hour).UTC().Format(time.RFC3339)}
	}
	setAge(h, a)
}

// cloudflareTrace is the body of /cdn-cgi/trace as Cloudflare writes it (`fl=… colo=SJC …
// loc=CN tls=TLSv1.3 …`; see https://www.cloudflare.com/cdn-cgi/trace). loc is the client's
// country: the simulated vantage stands in Amsterdam.
func cloudflareTrace(a *answer, host, clientIP, ua string, https bool) string {
	var b strings.Builder
	b.Grow(256)
	scheme, tls, sni := "http", "off", "off"
	if https {
		scheme, tls, sni = "https", "TLSv1.3", "plaintext"
	}
	fmt.Fprintf(&b, "fl=%d%s\nh=%s\nip=%s\nts=%d.%03d\nvisit_scheme=%s\nuag=%s\ncolo=%s\nsliver=none\nhttp=http/1.1\nloc=NL\ntls=%s\nsni=%s\nwarp=off\ngateway=off\nrbi=off\n",
		100+a.r.Intn(900), randString(a.r, 3, hexDigits), host, clientIP, a.now.Unix(), a.now.Nanosecond()/1e6, scheme, ua, a.pop, tls, sni)
	if https {
		b.WriteString("kex=X25519\n")
	}
	return b.String()
}
