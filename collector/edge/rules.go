package edge

import (
	"encoding/base64"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// builtin is the rule table: one row per CDN, in the order of the fixed cdn label values
// (CDNs returns them in this order). Samples for every row are in edge_test.go, each citing
// the public source where the header was seen or documented. README.md is generated from this
// table (go test -run TestREADME -update).
//
// Stacked CDNs: the response names every layer, and the outermost (nearest the client) is
// reported. Which one that is comes from evidence in the response (Via order, Cache-Status
// order, who rewrote Server; see outermost); role and then table order decide only what the
// evidence leaves open.
var builtin = []rule{
	{
		// ownsServer: Cloudflare-proxied responses carry `Server: cloudflare` whatever the origin
		// runs; every Cloudflare capture cited in edge_test.go shows it (e.g. the
		// github.com/phonedude cs533 curl dumps of many unrelated sites).
		cdn: "cloudflare", name: "Cloudflare (also Shopify storefronts)", role: roleSecurity, ownsServer: true, anycast: true,
		detect: []detector{
			has("CF-RAY"), has("cf-cache-status"), prefixed("Server", "cloudflare"),
			{body: true, urlContains: "/cdn-cgi/trace", re: cfTraceColoRe},
		},
		pop: []popSource{
			{header: "CF-RAY", pick: pickLast, re: cfRayRe, norm: first3},
			{pick: pickBody, urlContains: "/cdn-cgi/trace", re: cfTraceColoRe, norm: same},
		},
		popNote: "IATA colo; of `…-SJC-PIG` the first code",
		cache: []cacheSource{
			{header: "cf-cache-status", parse: lastWord},
			{header: "Server-Timing", parse: serverTimingDesc("cfCacheStatus")},
		},
	},
	{
		cdn: "cloudfront", name: "Amazon CloudFront", role: roleCDN, addsVia: true,
		detect: []detector{
			has("X-Amz-Cf-Id"), has("X-Amz-Cf-Pop"), containing("Via", "(CloudFront)"),
			containing("X-Cache", " from cloudfront"),
			// The opt-in Server-Timing names the PoP even where a proxy in front strips the
			// X-Amz-* headers.
			matchingElem("Server-Timing", "cdn-pop", cloudfrontTimingPoPRe),
		},
		pop: []popSource{
			{header: "X-Amz-Cf-Pop", pick: pickList, listUpstream: true, re: cloudfrontPoPRe, norm: first3},
			{header: "Server-Timing", pick: pickList, re: cloudfrontTimingPoPRe, norm: first3},
		},
		popNote: "IATA of `FRA56-P4`; of two `X-Amz-Cf-Pop` (CloudFront on CloudFront) the last, the first is upstream",
		cache: []cacheSource{
			{header: "X-Cache", parse: cloudfrontXCache},
			{header: "Server-Timing", parse: cloudfrontServerTiming},
		},
	},
	{
		cdn: "fastly", name: "Fastly (GitHub Pages, jsDelivr, Firebase)", role: roleCDN, addsVia: true, anycast: true,
		detect: []detector{
			containing("X-Served-By", "cache-"),
			containing("X-Timer", ",VS"),
			has("X-Fastly-Request-ID"), has("Fastly-Debug-Path"), has("x-fastly-cache-status"),
		},
		pop: []popSource{
			{header: "X-Served-By", pick: pickList, listUpstream: true, re: fastlyNodeRe, norm: afterLastDash},
			// Fastly-Debug-Path (sent when the request has Fastly-Debug) lists the servers in
			// the order they handled the request: the first deliver (D) node is the edge, the
			// next deliver node the shield.
			// https://www.fastly.com/documentation/reference/http/http-headers/Fastly-Debug-Path/
			{
				header: "Fastly-Debug-Path", pick: pickWhole, re: fastlyDebugEdgeRe,
				upstream: fastlyDebugShieldRe, norm: afterLastDash,
			},
		},
		popNote: "IATA/metro suffix of the last `cache-…-XXX` entry (never the node prefix); the entry before it is the shield (upstream). Without X-Served-By: the first `(D cache-…)` of Fastly-Debug-Path, the next `(D …)` the shield",
		cache: []cacheSource{
			{header: "x-fastly-cache-status", parse: fastlyCacheStatus},
			{header: "X-Cache", parse: fastlyXCache},
		},
	},
	{
		cdn: "akamai", name: "Akamai", role: roleCDN,
		detect: []detector{
			prefixed("Server", "AkamaiGHost"), prefixed("Server", "AkamaiNetStorage"),
			has("Akamai-GRN"), has("X-Akamai-Request-ID"), has("X-Akamai-Transformed"),
			has("Akamai-Cache-Status"), containing("X-Cache", ".akamaitechnologies.com"),
			matchingElem("Server-Timing", "ak_p", regexp.MustCompile(`^ak_p\s*;`)),
			// Akamai's Server-Timing behavior (the data mPulse reads) writes `cdn-cache;
			// desc=HIT` next to `edge; dur=` and `origin; dur=` without any Server token;
			// CloudFront's metrics are `cdn-cache-hit` and the like, with no desc.
			weakly(matchingElem("Server-Timing", "cdn-cache", regexp.MustCompile(`^cdn-cache\s*;\s*desc=`))),
			// Newer edges name themselves in Akamai-Server-IP and Akamai-Request-BC.
			has("Akamai-Server-IP"), has("Akamai-Request-BC"),
			// Another Server-Timing generation names Akamai in the metric itself, `akamai;dur=14;
			// desc=cache-miss`, with `Edge-Type: akamai` and no Akamai Server (alibaba.com in the
			// phonedude/cs533-f24 dumps).
			matchingElem("Server-Timing", "akamai", akamaiTimingRe),
			matching("Edge-Type", "akamai", regexp.MustCompile(`(?i)^akamai$`)),
		},
		popNote: "none: Akamai names no PoP; the edge IP is reported instead",
		cache: []cacheSource{
			{header: "Akamai-Cache-Status", parse: akamaiCacheStatus},
			{header: "X-Cache", parse: akamaiXCache},
			{header: "Server-Timing", parse: serverTimingDesc("cdn-cache")},
			{header: "Server-Timing", parse: serverTimingDescAfter("akamai", "cache-")},
		},
		edgeIP: []ipSource{
			{header: "X-Cache", re: regexp.MustCompile(`from a([0-9]{1,3}(?:-[0-9]{1,3}){3})\.deploy\.akamaitechnologies\.com`), parse: dashedIPv4},
			{header: "Akamai-GRN", re: regexp.MustCompile(`^[0-9]+\.([0-9a-fA-F]{8})\.`), parse: hexLittleEndianIPv4},
			{header: "Akamai-Server-IP", re: regexp.MustCompile(`^\s*([0-9a-fA-F.:]{2,45})\s*$`), parse: parseIP},
			// Last resort: the second field of mPulse's ak_p metric. Akamai does not document
			// it, but in every public capture that also carries Akamai-GRN it is the same
			// edge, as a decimal IPv4 (hp.com: ak_p 400321425 and GRN 0.916bdc17, both
			// 23.220.107.145; oracle.com: 400321156 and 0.846adc17, both 23.220.106.132, in
			// the phonedude/cs533-f23 curl dumps).
			{header: "Server-Timing", re: akamaiAkPRe, parse: decimalIPv4},
		},
	},
	{
		cdn: "azure", name: "Azure Front Door / Azure CDN", role: roleCDN, anycast: true,
		detect: []detector{
			has("X-Azure-Ref"), has("X-MSEdge-Ref"), has("x-fd-int-roxy-purgeid"), has("x-cache-info"),
		},
		pop: []popSource{
			{header: "X-Azure-Ref", pick: pickLast, re: regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-z]{16}hC1([A-Z][A-Z0-9]{2})`), norm: same},
			{header: "X-Azure-Ref", pick: pickLast, decode: azureLegacyRef, re: azureSiteRe, norm: first3},
			{header: "X-MSEdge-Ref", pick: pickWhole, re: regexp.MustCompile(`Ref B: ([A-Z][A-Z0-9]{2}EDGE[0-9]{3,})`), norm: first3},
		},
		popNote: "Microsoft site code (partly IATA): `hC1LON` in the current ref, `CHGEDGE1607` in the legacy base64 ref or `Ref B:`; often absent",
		cache: []cacheSource{
			{header: "X-Cache", parse: lastWord},
		},
	},
	{
		// ownsServer: Vercel sets `server: Vercel` on every response (github.com/vercel/vercel
		// pull 4867: the dev server sets it "to match production").
		// The ZEIT Now generation (before 2020) sent `server: now`, `x-now-id` and
		// `x-now-cache` instead (vercel/vercel pulls 4216 and 4867, vercel/docs pull 400).
		cdn: "vercel", name: "Vercel (also its ZEIT Now generation)", role: rolePlatform, ownsServer: true, anycast: true,
		detect: []detector{
			prefixed("Server", "Vercel"), has("X-Vercel-Id"), has("X-Vercel-Cache"),
			matching("Server", "now", regexp.MustCompile(`^now$`)), has("X-Now-Id"), has("X-Now-Cache"),
		},
		pop: []popSource{
			{
				header: "X-Vercel-Id", pick: pickLast,
				re:       vercelEdgeRe,
				upstream: vercelFunctionRe,
				norm:     iataPrefix,
			},
			{header: "X-Now-Id", pick: pickLast, re: vercelEdgeRe, upstream: vercelFunctionRe, norm: iataPrefix},
		},
		popNote: "IATA of the edge region (`cdg1` → CDG); the function region (`sfo1::fra1::…`) is upstream",
		cache: []cacheSource{
			{header: "X-Vercel-Cache", parse: lastWord},
			{header: "X-Now-Cache", parse: lastWord},
		},
	},
	{
		cdn: "netlify", name: "Netlify", role: rolePlatform,
		cacheNames: []string{"Netlify "},
		detect: []detector{
			prefixed("Server", "Netlify"), has("X-Nf-Request-Id"),
			matchingElem("Cache-Status", "Netlify", regexp.MustCompile(`^"Netlify (?:Edge|Durable)"`)),
		},
		popNote: "none: Netlify names no PoP",
		cache: []cacheSource{
			{header: "Cache-Status", parse: cacheFromRFC9211},
		},
	},
	{
		cdn: "fly", name: "Fly.io", role: rolePlatform, addsVia: true, anycast: true,
		detect: []detector{prefixed("Server", "Fly/"), containing("Via", "fly.io"), has("Fly-Request-Id")},
		pop: []popSource{
			{header: "Fly-Request-Id", pick: pickLast, re: regexp.MustCompile(`^[0-9A-Za-z]+-([a-z]{3})$`), norm: same},
		},
		popNote: "region (IATA-like, `ams` → AMS); pre-2022 ids carry none",
	},
	{
		// Server is `BunnyCDN-{PoP code}-{server id}` (docs.bunny.net/cdn/troubleshooting/
		// run-traceroute); PoP codes come with and without a number (`DE1`, `KZ`, `AMS` in
		// bunny.net/docs/scripting/regions). The CDN-* family survives an API gateway in front
		// that rewrites Server (RapidAPI captures in edge_test.go).
		cdn: "bunny", name: "Bunny CDN", role: roleCDN,
		detect: []detector{
			prefixed("Server", "BunnyCDN"), has("CDN-PullZone"), has("CDN-Uid"), has("CDN-RequestId"), has("CDN-Cache"),
			has("CDN-ProxyVer"), has("CDN-EdgeStorageId"), has("CDN-CachedAt"), has("CDN-RequestPullSuccess"),
		},
		pop: []popSource{
			{header: "Server", pick: pickWhole, re: regexp.MustCompile(`^BunnyCDNE?-([A-Z]{2,3}[0-9]*)-[0-9]+$`), norm: same},
		},
		popNote: "Bunny's own PoP code (`DE1`, `PHX1`, `DE`, `KZ`)",
		cache: []cacheSource{
			{header: "CDN-Cache", parse: lastWord},
		},
	},
	{
		cdn: "keycdn", name: "KeyCDN", role: roleCDN,
		detect: []detector{
			prefixed("Server", "keycdn-engine"),
			matching("X-Edge-Location", "", regexp.MustCompile(`^[a-z]{4}$`)),
		},
		pop: []popSource{
			{header: "X-Edge-Location", pick: pickLast, re: regexp.MustCompile(`^([a-z]{4})$`), norm: same},
		},
		popNote: "KeyCDN's own code, country + city (`ussf` → USSF)",
		cache: []cacheSource{
			{header: "X-Cache", parse: lastWord},
		},
	},
	{
		cdn: "cdn77", name: "CDN77", role: roleCDN,
		detect: []detector{
			prefixed("Server", "CDN77"), has("X-77-POP"), has("X-77-Cache"), has("X-77-NZT"),
			has("X-77-NZT-Ray"), has("X-77-Age"),
		},
		pop: []popSource{
			{header: "X-77-POP", pick: pickLast, re: cdn77CityRe, norm: cdn77PoP},
		},
		// CDN77 Storage responses also carry X-Edge-Location, the storage PoP the edge
		// fetched from (`pragueCZ` next to `x-77-pop: frankfurtDE`).
		upstream: []popSource{
			{header: "X-Edge-Location", pick: pickLast, re: cdn77CityRe, norm: cdn77PoP},
		},
		popNote: "city slug mapped to its airport (`pragueCZ` → PRG); unmapped cities: slug + country uppercased, at most 16 characters",
		// Until 2021 the load-balancer tier in front of the edge caches reported its own
		// X-Cache-LB (`MISS, MISS`), next to the cache tier's X-Cache.
		cache: []cacheSource{
			{header: "X-77-Cache", parse: lastWord},
			{header: "X-Cache-LB", parse: lastWord},
		},
	},
	{
		cdn: "gcore", name: "Gcore", role: roleCDN,
		detect: []detector{
			has("X-ID-FE"), has("X-Shard"),
			matching("X-ID", "-", regexp.MustCompile(`^[a-z]{1,3}[0-9]+-[a-z0-9-]+$`)),
		},
		pop: []popSource{
			{header: "X-ID-FE", pick: pickLast, re: gcoreSiteRe, norm: same},
			{header: "X-ID", pick: pickLast, re: gcoreSiteRe, norm: same},
			{header: "X-Shard", pick: pickLast, re: gcoreSiteRe, norm: same},
		},
		popNote: "Gcore's own site code (`fr5-hw-edge-gc17` → FR5, `ed-hw-edge-gc38` → ED)",
		cache: []cacheSource{
			{header: "Cache", parse: lastWord},
		},
	},
	{
		// Edgio (v7) passes the origin's Server through and names the PoP in Server-Timing
		// `edgio_pop`; X-EC-Cache (on request, X-EC-Debug) names the node like Server does
		// (github.com/edgio-docs/edgio-docs captures of `edgio curl`).
		cdn: "edgecast", name: "Edgecast / Edgio / legacy Azure CDN from Verizon", role: roleCDN, anycast: true,
		detect: []detector{
			prefixed("Server", "ECS"), prefixed("Server", "ECAcc"), prefixed("Server", "ECD"), prefixed("Server", "EOS"),
			matchingElem("Server-Timing", "edgio_", regexp.MustCompile(`^edgio_(?:pop|cache)\s*;`)),
			has("X-EC-Cache"), has("X-Edg-Version"),
		},
		pop: []popSource{
			{header: "Server", pick: pickWhole, re: edgecastServerRe, norm: same},
			{header: "Server-Timing", pick: pickList, re: regexp.MustCompile(`^edgio_pop;\s*desc="?([a-z]{3})"?$`), norm: same},
			{header: "X-EC-Cache", pick: pickWhole, re: regexp.MustCompile(` from (?:ECS|ECAcc|ECD|EOS)\s*\(([a-z]{3})/[0-9A-F]+\)`), norm: same},
		},
		popNote: "Edgecast's own airport-like code with its metro letter variant kept (`dcb` → DCB, not DCA), from Server, Edgio's `edgio_pop` or X-EC-Cache",
		cache: []cacheSource{
			{header: "X-Cache", parse: lastWord},
			{header: "Server-Timing", parse: serverTimingDesc("edgio_cache")},
			{header: "X-EC-Cache", parse: firstWord},
		},
	},
	{
		cdn: "stackpath", name: "StackPath / Highwinds", role: roleCDN, anycast: true,
		// X-HW elements are `<epoch>.<node>.<pop>.<flags>`; the 2011 generation carried only
		// `<epoch>.<node>` (`1298453633.cm038a4`) and names no PoP.
		detect: []detector{
			matching("X-HW", ".", regexp.MustCompile(`^[0-9]{9,10}\.[a-z]+[0-9]+`)),
		},
		pop: []popSource{
			{header: "X-HW", pick: pickWhole, re: regexp.MustCompile(`^[0-9]+\.[a-z]+[0-9]+\.([a-z]+[0-9]+)\.[a-z]+`), norm: same},
		},
		popNote: "own code of the first element (`dc2` → DC2); cache flags are undocumented",
	},
	{
		// Newer nodes name their Via hops `kunlunN.<pop>[…]` instead of `cacheN.<pop>[…]`
		// (capture of 2021-04-23 in cnblogs.com/rsapaper/p/14694123.html).
		cdn: "alibaba", name: "Alibaba Cloud CDN", role: roleCDN, addsVia: true,
		detect: []detector{
			has("EagleId"), has("X-Swift-SaveTime"), has("X-Swift-CacheTime"), has("Ali-Swift-Global-Savetime"),
			matchingElem("Via", "[", alibabaHopRe),
		},
		pop: []popSource{
			{header: "Via", pick: pickList, re: alibabaHopRe, norm: alibabaPoP},
		},
		popNote: "own code of the last `cacheN.<pop>[`, `kunlunN.<pop>[` or edge-node `ens-cacheN.<pop>[` Via hop that is not an `l2` tier (`de1` → DE1)",
		cache: []cacheSource{
			{header: "X-Cache", parse: alibabaXCache},
		},
	},
	{
		// EdgeOne passes the origin's Server through and sends `Server: TencentEdgeOne` only
		// when the origin sent none (tencentcloud.com/document/product/1145/54212).
		cdn: "tencent", name: "Tencent Cloud CDN / EdgeOne", role: roleCDN,
		detect: []detector{
			prefixed("Server", "NWS_"), prefixed("Server", "TCDN_NWS"), has("X-NWS-LOG-UUID"),
			has("EO-Cache-Status"), has("EO-LOG-UUID"), prefixed("Server", "TencentEdgeOne"),
		},
		popNote: "none: Tencent names no PoP",
		cache: []cacheSource{
			{header: "EO-Cache-Status", parse: lastWord},
			{header: "X-Cache-Lookup", parse: lastWord},
		},
	},
	{
		cdn: "imperva", name: "Imperva (Incapsula)", role: roleSecurity, anycast: true,
		detect: []detector{
			containing("X-CDN", "Imperva"), containing("X-CDN", "Incapsula"), has("X-Iinfo"),
			// Imperva's session cookies, set on every proxied site (captures in edge_test.go).
			containing("Set-Cookie", "incap_ses_"), containing("Set-Cookie", "visid_incap_"),
		},
		popNote: "none: Imperva names no PoP",
		cache: []cacheSource{
			{header: "X-Iinfo", parse: impervaIinfo},
		},
	},
	{
		cdn: "sucuri", name: "Sucuri", role: roleSecurity, anycast: true,
		detect:  []detector{prefixed("Server", "Sucuri"), has("X-Sucuri-ID"), has("X-Sucuri-Cache"), has("X-Sucuri-Block")},
		popNote: "none documented",
		cache: []cacheSource{
			{header: "X-Sucuri-Cache", parse: lastWord},
		},
	},
	{
		cdn: "arvancloud", name: "ArvanCloud", role: roleSecurity,
		detect:  []detector{prefixed("Server", "ArvanCloud"), has("X-Sid"), containing("AR-PoweredBy", "arvancloud")},
		popNote: "none: ArvanCloud names no PoP",
		cache: []cacheSource{
			{header: "X-Cache", parse: lastWord},
		},
	},
	{
		cdn: "ovh", name: "OVHcloud CDN", role: roleCDN,
		detect: []detector{has("x-cdn-pop"), has("x-cdn-pop-ip")},
		pop: []popSource{
			{header: "x-cdn-pop", pick: pickLast, re: regexp.MustCompile(`^([a-z]{2,4}[0-9]{0,3})$`), norm: same},
		},
		popNote: "OVH data-centre code (`bhs` → BHS)",
		cache: []cacheSource{
			{header: "X-Cacheable", parse: ovhCacheable},
		},
	},
	{
		cdn: "cachefly", name: "CacheFly", role: roleCDN,
		detect: []detector{matching("X-CF1", ":", regexp.MustCompile(`^[0-9]+:[A-Za-z]+\.[a-z]+[0-9]*:`))},
		pop: []popSource{
			{header: "X-CF1", pick: pickWhole, re: regexp.MustCompile(`^[0-9]+:[A-Za-z]+\.([a-z]+[0-9]*):`), norm: iataPrefix},
		},
		popNote: "IATA of the PoP code (`hkg1` → HKG); other shapes uppercased",
	},
	{
		cdn: "google", name: "Google (GFE, Cloud CDN, Cloud Run, App Engine)", role: rolePlatform, addsVia: true, anycast: true,
		// Google's front ends (GFE) answer from anycast addresses and name no PoP. Cloud
		// Storage behind them adds its x-goog-* and X-GUploader-UploadID headers; Cloud CDN
		// and App Engine's edge cache add Age only to responses served from cache.
		detect: []detector{
			containing("Via", "1.1 google"), prefixed("Server", "Google Frontend"),
			prefixed("Server", "gws"), prefixed("Server", "ESF"), prefixed("Server", "GSE"),
			prefixed("Server", "sffe"), prefixed("Server", "gvs "),
			has("X-GUploader-UploadID"), has("X-Goog-Generation"), has("X-Goog-Storage-Class"),
		},
		popNote: "none: the GFE names no PoP",
		cache: []cacheSource{
			{header: "Age", parse: googleAge},
		},
	},
	{
		// Wikimedia's cache hosts are Varnish: they add Via hops (`1.1 varnish (Varnish/7.1)`).
		cdn: "wikimedia", name: "Wikimedia", role: roleCDN, addsVia: true,
		detect: []detector{
			matchingElem("X-Cache", "cp", wikimediaHostRe),
			matchingElem("Server-Timing", "host", wikimediaTimingRe),
		},
		pop: []popSource{
			{header: "X-Cache", pick: pickList, re: wikimediaHostRe, norm: wikimediaDC},
			{header: "Server-Timing", pick: pickList, re: wikimediaTimingRe, norm: wikimediaDC},
		},
		popNote: "data centre of the nearest cp host, by its first digit (`cp3050` → ESAMS)",
		cache: []cacheSource{
			{header: "X-Cache-Status", parse: wikimediaCacheStatus},
			{header: "X-Cache", parse: wikimediaXCache},
		},
	},
	{
		// Wangsu (ChinaNetCenter, Quantil abroad) caches append hops to their own X-Via, not
		// to Via: `1.1 PSzjjxdx6dp50:3 (Cdn Cache Server V2.0)`. A hop names the node: an
		// optional PS prefix, the site (province, city and carrier letters: zj jx dx), then the
		// node number. The last hop is the node nearest the client, the one before it its parent.
		cdn: "wangsu", name: "Wangsu / ChinaNetCenter", role: roleCDN,
		detect: []detector{
			prefixed("Server", "Cdn Cache Server"),
			containing("X-Via", "(Cdn Cache Server"),
		},
		pop: []popSource{
			{header: "X-Via", pick: pickList, listUpstream: true, re: wangsuHopRe, norm: same},
		},
		popNote: "site letters of the last `X-Via` hop (`PSzjjxdx6dp50` → ZJJXDX, `yidong67` → YIDONG); the hop before it is upstream",
	},
	{
		// CDNetworks' PWS edge names its node in X-Px: `ht h0-s1021.p12-sjc.cdngp.net`, the
		// PoP being the airport code after `pNN-`.
		cdn: "cdnetworks", name: "CDNetworks", role: roleCDN,
		detect: []detector{
			containing("X-Px", ".cdngp.net"), prefixed("Server", "PWS/"),
		},
		pop: []popSource{
			{header: "X-Px", pick: pickWhole, re: regexp.MustCompile(`\.p[0-9]{1,3}-([a-z]{3})\.cdngp\.net`), norm: same},
		},
		popNote: "airport code of the `X-Px` node (`h0-s1021.p12-sjc.cdngp.net` → SJC)",
	},
	{
		// BytePlus / Volcano Engine (ByteDance's CDN): `server: Byte-nginx`, a Via hop per
		// cache (`cache08.gdcu`, `cache73.czmp,cache05.tycm06`) and one cache word per hop in
		// X-Bdcdn-Cache-Status (`TCP_MISS,TCP_MISS`), the last being the node nearest the client.
		cdn: "byteplus", name: "BytePlus / Volcano Engine (ByteDance)", role: roleCDN, addsVia: true,
		detect: []detector{
			has("X-Bdcdn-Cache-Status"), prefixed("Server", "Byte-nginx"),
		},
		pop: []popSource{
			{header: "Via", pick: pickList, re: byteplusHopRe, norm: same},
		},
		popNote: "own site code of the last `cacheN.<site>` Via hop (`cache08.gdcu` → GDCU)",
		cache: []cacheSource{
			{header: "X-Bdcdn-Cache-Status", parse: lastWord},
		},
	},
	{
		// Huawei Cloud CDN writes its whole path into Via, client-facing node first (the
		// response times in the brackets shrink along the list):
		// `CHN-ZJwenzhou-AREACT1-CACHE4[80,TCP_MISS,115],CHN-JSwuxi-GLOBAL2-CACHE4[62,TCP_MISS,64]`.
		// AREA nodes are the edge tier, GLOBAL nodes the parents; the node's own cache word is
		// the second field of its brackets.
		cdn: "huawei", name: "Huawei Cloud CDN", role: roleCDN,
		detect: []detector{
			has("X-Hcs-Proxy-Type"), has("X-Ccdn-Cachettl"), has("X-Ccdn-Expires"),
			matchingElem("Via", "-CACHE", huaweiHopRe),
		},
		pop: []popSource{
			{header: "Via", pick: pickFirst, re: huaweiEdgeHopRe, norm: dropDashes},
		},
		popNote: "country, province and city of the first edge-tier (`AREA…`) Via hop (`CHN-ZJwenzhou-AREACT1-…` → CHNZJWENZHOU); `GLOBAL` parent tiers are skipped",
		cache: []cacheSource{
			{header: "Via", parse: huaweiViaCache},
		},
	},
	{
		// BaishanCloud lists its nodes in X-Ser, parent first and the node that answered last
		// (`BC155_dx-lt-shandong-qingdao-2-cache-2, BC90_dx-zhejiang-jinhua-4-cache-4`), and
		// that node writes X-Cache: `HIT from BC90_dx-zhejiang-jinhua-4-cache-4(baishan)`.
		cdn: "baishan", name: "BaishanCloud", role: roleCDN,
		detect: []detector{
			matchingElem("X-Ser", "BC", regexp.MustCompile(`^BC[0-9]+_`)),
			containing("X-Cache", "(baishan)"), containing("Cdn-Source", "baishan"),
		},
		pop: []popSource{
			{header: "X-Ser", pick: pickList, listUpstream: true, re: baishanNodeRe, norm: dropDashes},
		},
		popNote: "city and site number of the last `X-Ser` node (`BC90_dx-zhejiang-jinhua-4-cache-4` → JINHUA4); the node before it is upstream",
		cache: []cacheSource{
			{header: "X-Cache", parse: baishanXCache},
		},
	},
	{
		// Naver's front servers (naver.com, its shopping and cloud customers) answer with
		// `Server: nfront` and name no PoP.
		cdn: "naver", name: "Naver (nfront)", role: roleCDN,
		detect:  []detector{prefixed("Server", "nfront")},
		popNote: "none: Naver names no PoP",
	},
	{
		// Limelight (Edgio Delivery after 2022): its EdgePrism servers (`Server:
		// EdgePrism/4.6.1.0`) name themselves in Via as `1.1 cds539.lax.llnw.net:80(EdgePrism/…)`,
		// and on request (X-LLNW-Dbg-Hdrs) answer the documented debug headers
		// (edgio-docs guides/delivery/delivery/guide/features.md) and X-IP-Address (the edge's
		// address, guides/delivery/control/configure/caching_and_delivery.md).
		cdn: "limelight", name: "Limelight / Edgio Delivery (EdgePrism)", role: roleCDN, addsVia: true,
		detect: []detector{
			prefixed("Server", "EdgePrism"), containing("Via", ".llnw.net"),
			has("X-LLNW-Dbg-Cache-Hit-Type"), has("X-LLNW-Dbg-Is-Cacheable"), has("X-LLID"),
		},
		pop: []popSource{
			{header: "Via", pick: pickList, re: limelightHopRe, norm: same},
		},
		popNote: "site of the last `….<site>.llnw.net` Via hop (`cds539.lax.llnw.net` → LAX)",
		cache: []cacheSource{
			{header: "X-LLNW-Dbg-Cache-Hit-Type", parse: lastWord},
		},
		edgeIP: []ipSource{
			{header: "X-IP-Address", re: regexp.MustCompile(`^\s*([0-9a-fA-F.:]{2,45})\s*$`), parse: parseIP},
		},
	},
	{
		// Myra Security answers with `Server: myracloud` whatever the origin runs.
		cdn: "myra", name: "Myra Security", role: roleSecurity, ownsServer: true, anycast: true,
		detect:  []detector{prefixed("Server", "myracloud")},
		popNote: "none: Myra names no PoP",
	},
	{
		cdn: "qrator", name: "Qrator", role: roleSecurity, ownsServer: true, anycast: true,
		detect:  []detector{prefixed("Server", "QRATOR")},
		popNote: "none: Qrator names no PoP",
	},
	{
		// DDoS-Guard: `Server: ddos-guard` and its __ddg* cookies.
		cdn: "ddosguard", name: "DDoS-Guard", role: roleSecurity, ownsServer: true, anycast: true,
		detect: []detector{
			prefixed("Server", "ddos-guard"), containing("Set-Cookie", "__ddg"),
		},
		popNote: "none: DDoS-Guard names no PoP",
	},
	{
		// F5 Distributed Cloud (formerly Volterra) regional edges: `server: volt-adc` and
		// `x-volterra-location: pa4-par`, a site (pa4, dc12, b-sv10) and its metro's airport.
		cdn: "f5xc", name: "F5 Distributed Cloud (Volterra)", role: roleSecurity, ownsServer: true, anycast: true,
		detect: []detector{
			prefixed("Server", "volt-adc"), has("X-Volterra-Location"),
		},
		pop: []popSource{
			{header: "X-Volterra-Location", pick: pickLast, re: f5LocationRe, norm: same},
		},
		popNote: "metro airport code after the site (`pa4-par` → PAR, `b-sv10-sjc` → SJC)",
	},
	{
		// WordPress VIP's edge caches: X-Powered-By set by the platform's mu-plugins and
		// `X-Rq: dca8 181 253 80`, whose first field is the edge (the city abbreviation of
		// docs.wpvip.com/infrastructure/edge-cache/target-a-location/ and a number).
		cdn: "wpvip", name: "WordPress VIP", role: rolePlatform,
		detect: []detector{
			containing("X-Powered-By", "WordPress VIP"), matching("X-Rq", " ", wpvipRqRe),
		},
		pop: []popSource{
			{header: "X-Rq", pick: pickWhole, re: wpvipRqRe, norm: same},
		},
		popNote: "city abbreviation of the edge in `X-Rq` (`dca8 181 253 80` → DCA)",
	},
	{
		// Kinsta serves every site through Cloudflare: with Cloudflare's headers the response
		// is Cloudflare's (security proxies come first). Kinsta's own page cache says X-Kinsta-Cache.
		cdn: "kinsta", name: "Kinsta (behind Cloudflare: `cloudflare`)", role: rolePlatform,
		detect:  []detector{has("X-Kinsta-Cache")},
		popNote: "none: Kinsta names no PoP",
		cache: []cacheSource{
			{header: "X-Kinsta-Cache", parse: lastWord},
		},
	},
	{
		cdn: "wpengine", name: "WP Engine", role: rolePlatform,
		detect: []detector{
			containing("X-Powered-By", "WP Engine"), has("Wpe-Backend"), has("X-Pass-Why"),
		},
		popNote: "none: WP Engine names no PoP",
	},
	{
		// Cloudinary delivers through several CDNs; their own headers (X-Served-By, Akamai's)
		// win when present, Cloudinary's Server is what remains when they are stripped.
		cdn: "cloudinary", name: "Cloudinary (behind a CDN: that CDN)", role: rolePlatform,
		detect:  []detector{prefixed("Server", "cloudinary"), has("X-Cld-Error")},
		popNote: "none: Cloudinary names no PoP",
	},
	{
		cdn: "squarespace", name: "Squarespace", role: rolePlatform,
		detect:  []detector{prefixed("Server", "Squarespace")},
		popNote: "none: Squarespace names no PoP",
	},
	{
		cdn: "wix", name: "Wix", role: rolePlatform,
		detect:  []detector{has("X-Wix-Request-Id"), prefixed("Server", "Pepyaka")},
		popNote: "none: Wix names no PoP",
	},
	{
		// Render serves through Cloudflare: with Cloudflare's headers the response is
		// Cloudflare's.
		cdn: "render", name: "Render (behind Cloudflare: `cloudflare`)", role: rolePlatform,
		detect:  []detector{containing("X-Render-Origin-Server", "Render"), has("Rndr-Id")},
		popNote: "none: Render names no PoP",
	},
	{
		// Railway's own edge: `server: railway-edge`, `x-railway-edge: railway/us-east4-eqdc4a`
		// (region, then the data-centre site). Its edge network now names the POP there, an
		// airport code and a number (`iad1`, `ams1`), and, asked with `X-Railway-Debug`, the
		// zone that served in `X-Railway-Upstream-Zone` (github.com/railwayapp/docs
		// content/docs/networking/edge-networking.md).
		cdn: "railway", name: "Railway", role: rolePlatform,
		detect: []detector{
			prefixed("Server", "railway"), has("X-Railway-Edge"), has("X-Railway-Request-Id"),
		},
		pop: []popSource{
			{header: "X-Railway-Edge", pick: pickLast, re: railwayEdgeRe, norm: gcpRegion},
			{header: "X-Railway-Edge", pick: pickLast, re: railwayPoPRe, norm: iataPrefix},
		},
		upstream: []popSource{
			{header: "X-Railway-Upstream-Zone", pick: pickLast, re: railwayEdgeRe, norm: gcpRegion},
		},
		popNote: "airport code of the POP in `x-railway-edge` (`ams1` → AMS); in the earlier form the cloud region without dashes (`railway/us-east4-eqdc4a` → USEAST4, see Region codes)",
	},
	{
		// Deno Deploy names the region that answered in Server: `deno/gcp-asia-northeast1`,
		// earlier `deno/us-east4-a` (a zone).
		cdn: "deno", name: "Deno Deploy", role: rolePlatform, anycast: true,
		detect: []detector{prefixed("Server", "deno/")},
		pop: []popSource{
			{header: "Server", pick: pickWhole, re: denoServerRe, norm: gcpRegion},
		},
		popNote: "cloud region in `Server` without dashes (`deno/gcp-asia-northeast1` → ASIANORTHEAST1); see Region codes",
	},
	{
		// VK's (vk.com, vk.ru) own front ends: `Server: kittenx`, with the front-end host in
		// X-Frontend (`front224006`), a machine rather than a place.
		cdn: "vk", name: "VK", role: rolePlatform,
		detect:  []detector{prefixed("Server", "kittenx")},
		popNote: "none: VK names a front-end machine, not a PoP",
	},
	{
		// Heroku's router adds a Via hop: `1.1 vegur` (the router until 2024), `1.1
		// heroku-router` (Router 2.0), with `Server: Heroku`.
		cdn: "heroku", name: "Heroku", role: rolePlatform, addsVia: true,
		detect: []detector{
			containing("Via", "heroku-router"), matchingElem("Via", "vegur", herokuVegurRe),
			prefixed("Server", "Heroku"),
		},
		popNote: "none: Heroku names no PoP",
	},
	{
		cdn: "varnish", name: "Generic Varnish", role: roleOrigin, addsVia: true,
		detect:  []detector{containing("Via", "varnish"), has("X-Varnish")},
		popNote: "none",
		cache: []cacheSource{
			{header: "X-Varnish", parse: varnishXID},
		},
	},
}

// Regexes shared by more than one field of the table.
var (
	cfTraceColoRe         = regexp.MustCompile(`(?m)^colo=([A-Z]{3})\r?$`)
	azureSiteRe           = regexp.MustCompile(`([A-Z][A-Z0-9]{2}EDGE[0-9]{3,})`)
	gcoreSiteRe           = regexp.MustCompile(`^([a-z]{1,3}[0-9]*)-`)
	edgecastServerRe      = regexp.MustCompile(`^(?:ECS|ECAcc|ECD|EOS)\s*\(([a-z]{3})/[0-9A-F]+\)`)
	cfRayRe               = regexp.MustCompile(`^[0-9a-f]{16}-([A-Z]{3}(?:-[A-Z]{3})*)$`)
	cloudfrontPoPRe       = regexp.MustCompile(`^([A-Z]{3}[0-9]{1,3}-[A-Z][0-9]{1,2})$`)
	cloudfrontTimingPoPRe = regexp.MustCompile(`^cdn-pop;\s*desc="?([A-Z]{3}[0-9]{1,3}-[A-Z][0-9]{1,2})"?$`)
	cdn77CityRe           = regexp.MustCompile(`^([a-z]+[A-Z]{2}(?:[A-Z]{2})?)$`)
	vercelEdgeRe          = regexp.MustCompile(`^([a-z]{3}[0-9])::`)
	vercelFunctionRe      = regexp.MustCompile(`^[a-z]{3}[0-9]::(?:[a-z]{3}[0-9]::)*([a-z]{3}[0-9])::`)
	fastlyNodeRe          = regexp.MustCompile(`^(cache-[a-z0-9-]+-[A-Z]{3})$`)
	alibabaHopRe          = regexp.MustCompile(`^(?:cache|kunlun|ens-cache)[0-9]+\.([a-z0-9-]+)\[`)
	fastlyDebugEdgeRe     = regexp.MustCompile(`^\(D (cache-[a-z0-9-]+-[A-Z]{3}) [0-9]+\)`)
	fastlyDebugShieldRe   = regexp.MustCompile(`\) \(D (cache-[a-z0-9-]+-[A-Z]{3}) [0-9]+\)`)
	wikimediaHostRe       = regexp.MustCompile(`^(cp[1-9][0-9]{3})(?:\s|$)`)
	wikimediaTimingRe     = regexp.MustCompile(`^host;\s*desc="?(cp[1-9][0-9]{3})"?$`)
	wangsuHopRe           = regexp.MustCompile(`^[0-9.]+\s+(?:PS)?([a-z]{2,16})[0-9][0-9a-z]*(?::[0-9]+)?\s+\(Cdn Cache Server`)
	byteplusHopRe         = regexp.MustCompile(`^cache[0-9]+\.([a-z]{2,8}[0-9]{0,3})$`)
	huaweiHopRe           = regexp.MustCompile(`^[A-Z]{3}-[A-Z]{2}[a-z0-9]*-[A-Z]+[0-9]*-CACHE[0-9]+\[`)
	huaweiEdgeHopRe       = regexp.MustCompile(`^([A-Z]{3}-[A-Z]{2}[a-z0-9]*)-AREA[A-Z]*[0-9]*-CACHE[0-9]+\[`)
	baishanNodeRe         = regexp.MustCompile(`^BC[0-9]+_(?:[a-z]{2}-)+[a-z0-9]+-([a-z]+-[0-9]+)-cache-[0-9]+$`)
	limelightHopRe        = regexp.MustCompile(`^[0-9.]+\s+[a-z]+[0-9]*\.([a-z]{3,4})\.llnw\.net\b`)
	f5LocationRe          = regexp.MustCompile(`^(?:[a-z]+-)?[a-z]+[0-9]+-([a-z]{3})$`)
	railwayEdgeRe         = regexp.MustCompile(`^railway/([a-z]+-[a-z]+[0-9]+)(?:-[a-z0-9]+)?$`)
	railwayPoPRe          = regexp.MustCompile(`^([a-z]{3}[0-9]{1,2})$`)
	denoServerRe          = regexp.MustCompile(`^deno/(?:gcp-)?([a-z]+-[a-z]+[0-9]+)(?:-[a-z])?$`)
	wpvipRqRe             = regexp.MustCompile(`^([a-z]{3})[0-9]{1,2} [0-9]`)
	herokuVegurRe         = regexp.MustCompile(`^[0-9.]+\s+vegur$`)
	akamaiAkPRe           = regexp.MustCompile(`(?:^|,)\s*ak_p\s*;\s*desc="[0-9]+_([1-9][0-9]{0,9})_`)
	akamaiTimingRe        = regexp.MustCompile(`^akamai\s*;(?:[^;]*;)*\s*desc="?cache-[a-z]+"?\s*(?:;|$)`)
	wikimediaCentreFor    = [10]string{1: "EQIAD", 2: "CODFW", 3: "ESAMS", 4: "ULSFO", 5: "EQSIN", 6: "DRMRS", 7: "MAGRU"}
)

// viaHops says which CDN wrote a Via hop. "varnish" is Fastly when Fastly is detected, else
// Wikimedia's caches when Wikimedia is, else a plain Varnish.
var viaHops = []viaHop{
	{contains: "(CloudFront)", cdns: []string{"cloudfront"}},
	{contains: ".cloudfront.net", cdns: []string{"cloudfront"}},
	{contains: "varnish", cdns: []string{"fastly", "wikimedia", "varnish"}},
	{contains: "fly.io", cdns: []string{"fly"}},
	{contains: "google", cdns: []string{"google"}},
	{re: alibabaHopRe, cdns: []string{"alibaba"}},
	{re: byteplusHopRe, cdns: []string{"byteplus"}},
	{contains: ".llnw.net", cdns: []string{"limelight"}},
	{contains: "heroku-router", cdns: []string{"heroku"}},
	{re: herokuVegurRe, cdns: []string{"heroku"}},
}

// Code normalisers: vendor code in, pop label value out (upper-cased and validated by the
// caller); "" rejects the code.

// same keeps the vendor's code (upper-cased by the caller).
func same(code string) string { return code }

// first3 keeps the leading airport code: FRA56-P4 → FRA, SJC-PIG → SJC, CHGEDGE1607 → CHG.
func first3(code string) string {
	if len(code) < 3 {
		return ""
	}
	return code[:3]
}

// afterLastDash keeps what follows the last dash: cache-fra-eddf8230072-FRA → FRA.
func afterLastDash(code string) string { return code[strings.LastIndexByte(code, '-')+1:] }

// iataPrefix turns a region id made of three letters and a number into its airport
// (cdg1 → CDG, hkg1 → HKG); any other shape is kept whole.
func iataPrefix(code string) string {
	if len(code) <= 3 || strings.TrimLeft(code[3:], "0123456789") != "" {
		return code
	}
	for i := range 3 {
		if c := code[i] | 0x20; c < 'a' || c > 'z' {
			return code
		}
	}
	return code[:3]
}

// gcpRegion turns a cloud region into a label: dashes dropped and the long continent words
// shortened so every region fits the 16 characters of a pop label (us-east4 → USEAST4,
// northamerica-northeast1 → NANORTHEAST1, australia-southeast1 → AUSOUTHEAST1). It builds the
// upper-cased label in one allocation; anything longer than a label is rejected.
func gcpRegion(region string) string {
	continent, rest, _ := strings.Cut(region, "-")
	switch continent {
	case "northamerica":
		continent = "na"
	case "southamerica":
		continent = "sa"
	case "australia":
		continent = "au"
	}
	var buf [16]byte
	n := 0
	for _, part := range [2]string{continent, rest} {
		for i := 0; i < len(part); i++ {
			c := part[i]
			if c == '-' {
				continue
			}
			if n == len(buf) {
				return ""
			}
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			buf[n] = c
			n++
		}
	}
	return string(buf[:n])
}

// dropDashes joins the parts of a code: CHN-ZJwenzhou → CHNZJwenzhou, jinhua-4 → jinhua4.
func dropDashes(code string) string { return strings.ReplaceAll(code, "-", "") }

// alibabaPoP rejects the l2 (second tier) hops: they are Alibaba's internal layer, not the
// edge that answered.
func alibabaPoP(code string) string {
	if strings.HasPrefix(code, "l2") {
		return ""
	}
	return code
}

// wikimediaDC names the data centre of a cp host from its first digit.
func wikimediaDC(host string) string {
	if len(host) < 3 || host[2] < '0' || host[2] > '9' {
		return ""
	}
	return wikimediaCentreFor[host[2]-'0']
}

// cdn77Airports maps CDN77's city slugs (X-77-POP, lower-case part) to the airport of the city.
// Source: the PoP list on cdn77.com/network.
var cdn77Airports = map[string]string{
	"amsterdam": "AMS", "athens": "ATH", "atlanta": "ATL", "bangkok": "BKK", "barcelona": "BCN",
	"bogota": "BOG", "boston": "BOS", "bratislava": "BTS", "brussels": "BRU", "bucharest": "OTP",
	"budapest": "BUD", "buenosaires": "EZE", "chicago": "ORD", "copenhagen": "CPH", "dallas": "DFW",
	"denver": "DEN", "dubai": "DXB", "dublin": "DUB", "frankfurt": "FRA", "helsinki": "HEL",
	"hongkong": "HKG", "istanbul": "IST", "johannesburg": "JNB", "kiev": "KBP", "kyiv": "KBP",
	"lagos": "LOS", "lima": "LIM", "lisbon": "LIS", "london": "LHR", "losangeles": "LAX",
	"madrid": "MAD", "manchester": "MAN", "marseille": "MRS", "melbourne": "MEL", "miami": "MIA",
	"milan": "MXP", "montreal": "YUL", "moscow": "SVO", "mumbai": "BOM", "newyork": "JFK",
	"oslo": "OSL", "paris": "CDG", "prague": "PRG", "riga": "RIX", "rome": "FCO",
	"santiago": "SCL", "saopaulo": "GRU", "seattle": "SEA", "seoul": "ICN", "singapore": "SIN",
	"sofia": "SOF", "stockholm": "ARN", "sydney": "SYD", "telaviv": "TLV", "tokyo": "NRT",
	"toronto": "YYZ", "vancouver": "YVR", "vienna": "VIE", "warsaw": "WAW", "zagreb": "ZAG",
	"zurich": "ZRH", "ashburn": "IAD", "sanjose": "SJC", "siliconvalley": "SJC", "phoenix": "PHX",
	"chennai": "MAA", "delhi": "DEL", "taipei": "TPE", "osaka": "KIX", "auckland": "AKL",
}

// cdn77PoP maps pragueCZ → PRG; an unmapped city keeps its slug and country, upper-cased and
// cut to the 16 characters a pop label may have (kyotoJP → KYOTOJP).
func cdn77PoP(code string) string {
	city := strings.TrimRight(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
	if iata, ok := cdn77Airports[city]; ok {
		return iata
	}
	if len(code) > 16 {
		code = code[:16]
	}
	return code
}

// azureLegacyRef decodes a legacy X-Azure-Ref ("0" + base64) so the site code inside
// (…CHGEDGE1607…) can be matched; anything else decodes to "".
func azureLegacyRef(v string) string {
	if len(v) < 2 || v[0] != '0' || len(v) > 256 {
		return ""
	}
	b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(v[1:], "="))
	if err != nil {
		return ""
	}
	return string(b)
}

// parseIP parses a plain IPv4 or IPv6 address (Akamai-Server-IP).
func parseIP(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	return a.Unmap(), err == nil && a.Zone() == ""
}

// dashedIPv4 parses the a23-202-158-27 part of an Akamai deploy host name.
func dashedIPv4(s string) (netip.Addr, bool) {
	var b [4]byte
	for i := range b {
		part, rest, _ := strings.Cut(s, "-")
		n, err := strconv.ParseUint(part, 10, 8)
		if err != nil || (len(part) > 1 && part[0] == '0') {
			return netip.Addr{}, false
		}
		b[i] = byte(n)
		s = rest
	}
	if s != "" {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(b), true
}

// decimalIPv4 parses an IPv4 address written as one decimal number, most significant byte
// first: 400321425 → 23.220.107.145.
func decimalIPv4(s string) (netip.Addr, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}

// hexLittleEndianIPv4 parses the second field of Akamai-GRN, the edge's IPv4 address as
// eight hex digits in little-endian order: 8c6bdc17 → 23.220.107.140.
func hexLittleEndianIPv4(s string) (netip.Addr, bool) {
	n, err := strconv.ParseUint(s, 16, 32)
	if err != nil || len(s) != 8 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4([4]byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)}), true
}
