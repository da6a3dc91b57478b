package edge

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// hdr builds a header the way net/http does: keys canonicalised by Add, repeated keys kept in
// order.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// sample is one real response (or the documented header format where the reference has no
// capture) and what identification must say about it.
type sample struct {
	name   string
	source string // where the header was seen
	status int
	url    string
	body   string
	header http.Header
	want   Result
}

// samples are grouped by CDN; every built-in row has at least two.
var samples = []sample{
	// Cloudflare
	{
		name: "cloudflare ORF", source: "github.com/phonedude/cs533-f23 curl dumps",
		header: hdr("Server", "cloudflare", "CF-RAY", "818bef0efadd4fcf-ORF"),
		want:   Result{CDN: "cloudflare", PoP: "ORF", RawPoP: "ORF", CacheStatus: CacheUnknown, Source: "Cf-Ray"},
	},
	{
		name: "cloudflare EWR hit", source: "github.com/phonedude/cs533-f23 curl dumps",
		header: hdr("Server", "cloudflare", "CF-RAY", "818beef4df4118ea-EWR", "CF-Cache-Status", "HIT"),
		want:   Result{CDN: "cloudflare", PoP: "EWR", RawPoP: "EWR", CacheStatus: CacheHit, Source: "Cf-Ray"},
	},
	{
		name: "cloudflare LAX", source: "github.com/phonedude/cs533-f24 curl dumps",
		header: hdr("server", "cloudflare", "cf-ray", "9373cfdafa74f7ad-LAX", "cf-cache-status", "DYNAMIC"),
		want:   Result{CDN: "cloudflare", PoP: "LAX", RawPoP: "LAX", CacheStatus: CacheDynamic, Source: "Cf-Ray"},
	},
	{
		name: "cloudflare cache status from Server-Timing", source: "Server-Timing cfCacheStatus;desc=…,cfEdge;dur=…,cfOrigin;dur=… as in public curl captures of Cloudflare-proxied APIs; CF-RAY: developers.cloudflare.com/fundamentals/reference/http-headers/",
		header: hdr("Server", "cloudflare", "CF-RAY", "9da906681ad80c13-AMS",
			"Server-Timing", `cfCacheStatus;desc="DYNAMIC",cfEdge;dur=9,cfOrigin;dur=256`),
		want: Result{CDN: "cloudflare", PoP: "AMS", RawPoP: "AMS", CacheStatus: CacheDynamic, Source: "Cf-Ray"},
	},
	{
		name: "cloudflare CF-RAY with a second code", source: "CF-RAY `<16 hex>-<colo>`: developers.cloudflare.com/fundamentals/reference/http-headers/; the second code after the colo is an undocumented variant (value illustrative)",
		header: hdr("CF-RAY", "8a1b2c3d4e5f6a7b-SJC-PIG", "cf-cache-status", "EXPIRED"),
		want:   Result{CDN: "cloudflare", PoP: "SJC", RawPoP: "SJC-PIG", CacheStatus: CacheExpired, Source: "Cf-Ray"},
	},
	{
		name: "cloudflare trace body", source: "gist.github.com/cnjax/2e9b4039429a4f7fba0c9436af56307e (/cdn-cgi/trace bodies: colo= and loc=)",
		url:    "https://www.cloudflare.com/cdn-cgi/trace",
		body:   "fl=28f1\nh=www.cloudflare.com\nip=203.0.113.7\nts=1697749038.1\nvisit_scheme=https\ncolo=SJC\nsliver=none\nhttp=http/2\nloc=CN\ntls=TLSv1.3\n",
		header: hdr("Content-Type", "text/plain"),
		want:   Result{CDN: "cloudflare", PoP: "SJC", RawPoP: "SJC", CacheStatus: CacheUnknown, Source: "body"},
	},
	{
		name: "cloudflare WAF block 403 still names the colo", source: "github.com/phonedude/cs533-f23 curl dumps (status 403)",
		status: 403,
		header: hdr("Server", "cloudflare", "CF-RAY", "818bef0efadd4fcf-ORF"),
		want:   Result{CDN: "cloudflare", PoP: "ORF", RawPoP: "ORF", CacheStatus: CacheUnknown, Source: "Cf-Ray"},
	},
	{
		name: "cloudflare legacy Server cloudflare-nginx", source: "github.com/CSecGroup/wafid finger.xml (Server: cloudflare-nginx, the pre-2016 Cloudflare token)",
		header: hdr("Server", "cloudflare-nginx", "CF-RAY", "2b9cbd2f5c1c0b3e-AMS"),
		want:   Result{CDN: "cloudflare", PoP: "AMS", RawPoP: "AMS", CacheStatus: CacheUnknown, Source: "Cf-Ray"},
	},

	// CloudFront
	{
		name: "cloudfront redirect", source: "documented format docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html (x-edge-location, x-edge-result-type Redirect)",
		status: 301,
		header: hdr("X-Amz-Cf-Pop", "IAD79-C3", "X-Cache", "Redirect from cloudfront", "Via", "1.1 4c6a2d5b3b1e.cloudfront.net (CloudFront)"),
		want:   Result{CDN: "cloudfront", PoP: "IAD", RawPoP: "IAD79-C3", CacheStatus: CacheDynamic, Source: "X-Amz-Cf-Pop"},
	},
	{
		name: "cloudfront error 503", source: "documented format docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html (x-edge-result-type Error)",
		status: 503,
		header: hdr("x-amz-cf-pop", "KIX56-C2", "x-cache", "Error from cloudfront"),
		want:   Result{CDN: "cloudfront", PoP: "KIX", RawPoP: "KIX56-C2", CacheStatus: CacheError, Source: "X-Amz-Cf-Pop"},
	},
	{
		name: "cloudfront FRA hit", source: "documented format docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html (x-edge-location FRA56-P4 shape, Hit)",
		header: hdr("X-Amz-Cf-Pop", "FRA56-P4", "X-Cache", "Hit from cloudfront", "X-Amz-Cf-Id", "q9Xz8h2T0c4n1u9pQZ0s3l5w8HkqQ5vR1d3E8xg=="),
		want:   Result{CDN: "cloudfront", PoP: "FRA", RawPoP: "FRA56-P4", CacheStatus: CacheHit, Source: "X-Amz-Cf-Pop"},
	},
	{
		name: "cloudfront on cloudfront: last X-Amz-Cf-Pop is the edge", source: "github.com/aws-amplify/amplify-hosting issue 592",
		header: hdr("X-Amz-Cf-Pop", "BOM50-C1", "X-Amz-Cf-Pop", "DEL54-C1", "X-Cache", "Miss from cloudfront", "X-Cache", "RefreshHit from cloudfront"),
		want:   Result{CDN: "cloudfront", PoP: "DEL", RawPoP: "DEL54-C1", UpstreamPoP: "BOM", CacheStatus: CacheRevalidated, Source: "X-Amz-Cf-Pop"},
	},
	{
		name: "cloudfront opt-in Server-Timing", source: "docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/understanding-response-headers-policies.html#server-timing-header",
		header: hdr("Via", "1.1 0a1b2c3d4e5f.cloudfront.net (CloudFront)",
			"Server-Timing", `cdn-upstream-layer;desc="EDGE",cdn-cache-miss,cdn-pop;desc="ATL56-C3",cdn-hit-layer;desc="REC"`),
		want: Result{CDN: "cloudfront", PoP: "ATL", RawPoP: "ATL56-C3", CacheStatus: CacheMiss, Source: "Server-Timing"},
	},

	// Fastly
	{
		name: "fastly single node", source: "documented format fastly.com/documentation/reference/http/http-headers/X-Served-By (cache-{datacenter}{nodeid}-{datacenter}); newer iad-k… node names as in Fastly responses",
		header: hdr("x-served-by", "cache-iad-kjyo7100133-IAD", "x-cache", "HIT", "x-timer", "S1697434404.011995,VS0,VE3"),
		want:   Result{CDN: "fastly", PoP: "IAD", RawPoP: "cache-iad-kjyo7100133-IAD", CacheStatus: CacheHit, Source: "X-Served-By"},
	},
	{
		name: "fastly shielding: client edge last, shield upstream", source: "docs.fastly.com/en/guides/checking-cache",
		header: hdr("X-Served-By", "cache-jfk1041-JFK, cache-ord1720-ORD", "X-Cache", "HIT, HIT", "X-Cache-Hits", "1, 7"),
		want:   Result{CDN: "fastly", PoP: "ORD", RawPoP: "cache-ord1720-ORD", UpstreamPoP: "JFK", CacheStatus: CacheHit, Source: "X-Served-By"},
	},
	{
		name: "fastly foreign X-Served-By entries and origin X-Cache skipped", source: "github.com/Wikia/app pull 2681",
		header: hdr("X-Served-By", "dev-macbre, varnish-s1-SJC, cache-fra1229-FRA", "X-Cache", "ORIGIN, MISS, MISS", "Via", "1.1 varnish"),
		want:   Result{CDN: "fastly", PoP: "FRA", RawPoP: "cache-fra1229-FRA", CacheStatus: CacheMiss, Source: "X-Served-By"},
	},
	{
		name: "fastly never reads the node prefix", source: "fastly.com/documentation/reference/http/http-headers/X-Served-By: the suffix is the data centre, never read the prefix",
		header: hdr("X-Served-By", "cache-sna10738-LGB", "X-Cache", "MISS", "X-Timer", "S1697434404.011995,VS0,VE120"),
		want:   Result{CDN: "fastly", PoP: "LGB", RawPoP: "cache-sna10738-LGB", CacheStatus: CacheMiss, Source: "X-Served-By"},
	},
	{
		name: "fastly new-style node name", source: "fastly.com/documentation/reference/http/http-headers/X-Served-By (suffix is the data centre; new-style node id)",
		header: hdr("X-Served-By", "cache-fra-eddf8230072-FRA", "X-Cache", "MISS", "X-Fastly-Request-ID", "5b2a0e4a7f3c9d1e"),
		want:   Result{CDN: "fastly", PoP: "FRA", RawPoP: "cache-fra-eddf8230072-FRA", CacheStatus: CacheMiss, Source: "X-Served-By"},
	},
	{
		name: "fastly shield hit, edge miss is a hit", source: "docs.fastly.com/en/guides/checking-cache (HIT, MISS)",
		header: hdr("X-Served-By", "cache-jfk1041-JFK, cache-ord1720-ORD", "X-Cache", "HIT, MISS"),
		want:   Result{CDN: "fastly", PoP: "ORD", RawPoP: "cache-ord1720-ORD", UpstreamPoP: "JFK", CacheStatus: CacheHit, Source: "X-Served-By"},
	},
	{
		name: "fastly x-fastly-cache-status stale", source: "fastly.com/documentation/reference/http/http-headers/X-Cache (HIT-… states of fastly_info.state)",
		header: hdr("X-Served-By", "cache-lcy19221-LCY", "X-Cache", "HIT", "x-fastly-cache-status", "HIT-STALE-UPDATING"),
		want:   Result{CDN: "fastly", PoP: "LCY", RawPoP: "cache-lcy19221-LCY", CacheStatus: CacheStale, Source: "X-Served-By"},
	},
	{
		name: "fastly shielding SEA → AMS, three Via hops", source: "gist.github.com/wimleers/4b82e6a7815e72804521 (drupal.org response, 2016-02-13)",
		header: hdr("Server", "Apache", "Via", "1.1 varnish", "Via", "1.1 varnish", "Via", "1.1 varnish",
			"X-Cache", "MISS, HIT, HIT", "X-Cache-Hits", "3, 16", "X-Served-By", "cache-sea1927-SEA, cache-ams4133-AMS"),
		want: Result{CDN: "fastly", PoP: "AMS", RawPoP: "cache-ams4133-AMS", UpstreamPoP: "SEA", CacheStatus: CacheHit, Source: "X-Served-By"},
	},
	{
		name: "fastly PoP and shield from Fastly-Debug-Path alone", source: "fastly.com/documentation/reference/http/http-headers/Fastly-Debug-Path (documented example value)",
		header: hdr("Fastly-Debug-Path", "(D cache-lcy1128-LCY 1415969775) (F cache-lcy1130-LCY 1415969775) (D cache-sjc3132-SJC 1415969775) (F cache-sjc3128-SJC 1415969775)"),
		want:   Result{CDN: "fastly", PoP: "LCY", RawPoP: "cache-lcy1128-LCY", UpstreamPoP: "SJC", CacheStatus: CacheUnknown, Source: "Fastly-Debug-Path"},
	},

	// Akamai
	{
		name: "akamai edge IP from X-Cache", source: "documented format techdocs.akamai.com/edge-diagnostics/docs/pragma-headers (akamai-x-cache-on → X-Cache TCP_MISS from a…deploy.akamaitechnologies.com)",
		header: hdr("Server", "AkamaiGHost", "x-cache", "TCP_MISS from a23-202-158-27.deploy.akamaitechnologies.com (AkamaiGHost/11.3.0.1-51934483) (-)"),
		want:   Result{CDN: "akamai", PoP: Unknown, CacheStatus: CacheMiss, EdgeIP: "23.202.158.27", Source: "Server"},
	},
	{
		name: "akamai edge IP from Akamai-GRN", source: "documented format techdocs.akamai.com/property-mgr/docs/global-req-number; techdocs.akamai.com/property-mgr/reference/ga-return-cache-status (child/parent)",
		header: hdr("Akamai-GRN", "0.8c6bdc17.1697748671.21d35348", "Akamai-Cache-Status", "Miss from child, Miss from parent"),
		want:   Result{CDN: "akamai", PoP: Unknown, CacheStatus: CacheMiss, EdgeIP: "23.220.107.140", Source: "Akamai-Grn"},
	},
	{
		name: "akamai parent hit", source: "techdocs.akamai.com/property-mgr/reference/ga-return-cache-status ({status} from child, {status} from parent)",
		header: hdr("Akamai-Cache-Status", "Miss from child, Hit from parent", "Akamai-GRN", "0.8c6bdc17.1697748671.21d35348"),
		want:   Result{CDN: "akamai", PoP: Unknown, CacheStatus: CacheHit, EdgeIP: "23.220.107.140", Source: "Akamai-Grn"},
	},
	{
		name: "akamai Server-Timing cdn-cache", source: "Akamai Server-Timing `cdn-cache; desc=HIT, edge; dur=…, ak_p; desc=…` as in public captures (value illustrative)",
		header: hdr("Server-Timing", "cdn-cache; desc=HIT", "Server-Timing", "edge; dur=1", "Server-Timing", "ak_p; desc=\"1697748671_388197975_1234_25_0_0_0\";dur=1", "Server", "AkamaiGHost"),
		want:   Result{CDN: "akamai", PoP: Unknown, CacheStatus: CacheHit, EdgeIP: "23.35.110.87", Source: "Server"},
	},
	{
		name: "akamai GRN documented example", source: "techdocs.akamai.com/property-mgr/docs/global-req-number (example 0.05313217.1567801841.1457a3)",
		header: hdr("Akamai-GRN", "0.05313217.1567801841.1457a3"),
		want:   Result{CDN: "akamai", PoP: Unknown, CacheStatus: CacheUnknown, EdgeIP: "23.50.49.5", Source: "Akamai-Grn"},
	},

	// Azure
	{
		name: "azure current ref without site code", source: "learn.microsoft.com/azure/frontdoor/front-door-http-headers-protocol (X-Azure-Ref); learn.microsoft.com/azure/cdn/cdn-msft-http-debug-headers (CONFIG_NOCACHE)",
		header: hdr("x-azure-ref", "20231204T013354Z-wbvs0z5ed12v92zt1drx38dua40000000tt000000000989r", "x-cache", "CONFIG_NOCACHE"),
		want:   Result{CDN: "azure", PoP: Unknown, CacheStatus: CacheBypass, Source: "X-Azure-Ref"},
	},
	{
		name: "azure current ref with site code", source: "learn.microsoft.com/azure/frontdoor/front-door-http-headers-protocol (X-Azure-Ref); site code after hC1 as seen in current AFD refs",
		header: hdr("X-Azure-Ref", "20250204T141149Z-16b9cb9c8d5lmcb4hC1LONpg1w00000004xg000000003gd1", "X-Cache", "TCP_HIT"),
		want:   Result{CDN: "azure", PoP: "LON", RawPoP: "LON", CacheStatus: CacheHit, Source: "X-Azure-Ref"},
	},
	{
		name: "azure X-MSEdge-Ref", source: "X-MSEdge-Ref `Ref A: … Ref B: ASHEDGE… Ref C: …` as in public captures of msn.com and outlook.live.com redirects (Ref A/C values illustrative)",
		header: hdr("X-MSEdge-Ref", "Ref A: 3C7B2F0E1D9A4E0C8F5B3A2D1E0F9C8B Ref B: ASHEDGE1513 Ref C: 2023-10-19T21:03:11Z", "X-Cache", "TCP_REMOTE_HIT"),
		want:   Result{CDN: "azure", PoP: "ASH", RawPoP: "ASHEDGE1513", CacheStatus: CacheHit, Source: "X-Msedge-Ref"},
	},
	{
		name: "azure legacy base64 ref", source: "learn.microsoft.com/azure/frontdoor/front-door-http-headers-protocol (legacy `0`+base64 X-Azure-Ref carrying a …EDGE… site code)",
		header: hdr("X-Azure-Ref", "0"+base64.StdEncoding.EncodeToString([]byte("\x7b\x6a\x63\x00\x00\x00\x00\x00\x7c\x34CHGEDGE1607\x00a3062460-0958-4451-bd63-b5d1005a742d")),
			"X-Cache", "TCP_EXPIRED_MISS"),
		want: Result{CDN: "azure", PoP: "CHG", RawPoP: "CHGEDGE1607", CacheStatus: CacheExpired, Source: "X-Azure-Ref"},
	},
	{
		name: "azure legacy ref, documented example", source: "learn.microsoft.com/azure/frontdoor/front-door-http-headers-protocol (X-Azure-Ref example, decodes to …WSTEDGE0619…)",
		header: hdr("X-Azure-Ref", "0zxV+XAAAAABKMMOjBv2NT4TY6SQVjC0zV1NURURHRTA2MTkANDM3YzgyY2QtMzYwYS00YTU0LTk0YzMtNWZmNzA3NjQ3Nzgz"),
		want:   Result{CDN: "azure", PoP: "WST", RawPoP: "WSTEDGE0619", CacheStatus: CacheUnknown, Source: "X-Azure-Ref"},
	},
	{
		name: "azure CDN origin shield hit", source: "learn.microsoft.com/azure/cdn/cdn-msft-http-debug-headers (TCP_REMOTE_HIT: served from the origin shield layer)",
		header: hdr("X-Azure-Ref", "20231204T013354Z-wbvs0z5ed12v92zt1drx38dua40000000tt000000000989r", "X-Cache", "TCP_REMOTE_HIT"),
		want:   Result{CDN: "azure", PoP: Unknown, CacheStatus: CacheHit, Source: "X-Azure-Ref"},
	},

	// Vercel
	{
		name: "vercel edge region", source: "vercel.com/docs/headers/request-headers (x-vercel-id lists the regions); value as quoted in a public deployment note",
		header: hdr("Server", "Vercel", "x-vercel-id", "bom1::djm5z-1788688501471-5e5ac090f2b1", "x-vercel-cache", "PRERENDER"),
		want:   Result{CDN: "vercel", PoP: "BOM", RawPoP: "bom1", CacheStatus: CacheHit, Source: "X-Vercel-Id"},
	},
	{
		name: "vercel edge and function region", source: "vercel.com/docs/headers/request-headers (x-vercel-id: regions hit, then the function region)",
		header: hdr("Server", "Vercel", "x-vercel-id", "sfo1::fra1::8tq2k-1697749038123-7c0a9f2b4e11", "x-vercel-cache", "MISS"),
		want:   Result{CDN: "vercel", PoP: "SFO", RawPoP: "sfo1", UpstreamPoP: "FRA", CacheStatus: CacheMiss, Source: "X-Vercel-Id"},
	},
	{
		name: "vercel ZEIT Now generation", source: "github.com/vercel/vercel pulls 4216 and 4867 (server: now, x-now-id `<region>::<id>`), github.com/vercel/docs pull 400 (x-now-cache values); region value illustrative",
		header: hdr("Server", "now", "X-Now-Id", "sfo1::ldnb7-1579000000000-a1b2c3d4e5f6", "X-Now-Cache", "HIT"),
		want:   Result{CDN: "vercel", PoP: "SFO", RawPoP: "sfo1", CacheStatus: CacheHit, Source: "X-Now-Id"},
	},

	// Netlify
	{
		name: "netlify edge hit", source: "netlify.com/knowledge-base/how-to-control-cdn-caching-on-netlify/ (Cache-Status on deployed URLs)",
		header: hdr("Server", "Netlify", "Cache-Status", `"Netlify Edge"; hit; ttl=16579`, "X-Nf-Request-Id", "01HD3Q5W0B3YQ5Q0Z2J8X1V4T6"),
		want:   Result{CDN: "netlify", PoP: Unknown, CacheStatus: CacheHit, Source: "Server"},
	},
	{
		name: "netlify durable bypass", source: "github.com/netlify/context-and-tools skills/netlify-caching/SKILL.md (Netlify Durable member)",
		header: hdr("Server", "Netlify", "Cache-Status", `"Netlify Durable"; fwd=bypass`),
		want:   Result{CDN: "netlify", PoP: Unknown, CacheStatus: CacheBypass, Source: "Server"},
	},
	{
		name: "netlify 404 miss", source: "RFC 9211 §2 (fwd=miss, fwd-status); github.com/netlify/context-and-tools skills/netlify-caching/SKILL.md",
		status: 404,
		header: hdr("Server", "Netlify", "Cache-Status", `"Netlify Durable"; fwd=bypass`, "Cache-Status", `"Netlify Edge"; fwd=miss; fwd-status=404`),
		want:   Result{CDN: "netlify", PoP: Unknown, CacheStatus: CacheMiss, Source: "Server"},
	},
	{
		name: "netlify identified by its Cache-Status names alone", source: "github.com/netlify/context-and-tools skills/netlify-caching/SKILL.md (`\"Netlify Edge\"; fwd=miss, \"Netlify Durable\"; hit; ttl=3600`)",
		header: hdr("Cache-Status", `"Netlify Edge"; fwd=miss, "Netlify Durable"; hit; ttl=3600`),
		want:   Result{CDN: "netlify", PoP: Unknown, CacheStatus: CacheHit, Source: "Cache-Status"},
	},

	// Fly
	{
		name: "fly region", source: "github.com/openstatusHQ/openstatus packages/header-analysis/src/parser/fly-request-id.ts (region suffix); github.com/superfly/docs issue 184",
		header: hdr("Server", "Fly/5e5ac090 (2024-05-01)", "Via", "1.1 fly.io", "Fly-Request-Id", "01KYTQQP5MJVBN077Q5CZ611Z4-gru"),
		want:   Result{CDN: "fly", PoP: "GRU", RawPoP: "gru", CacheStatus: CacheUnknown, Source: "Fly-Request-Id"},
	},
	{
		name: "fly pre-2022 id and an origin X-Cache", source: "github.com/superfly/docs issue 184 (Fly-Request-Id); Via `2 fly.io` for HTTP/2 clients",
		header: hdr("Via", "2 fly.io", "Fly-Request-Id", "01FCZ6GV2QK5T0M8Y7PZ3T1N2B", "X-Cache", "HIT"),
		want:   Result{CDN: "fly", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Via"},
	},

	// Bunny
	{
		name: "bunny FR1", source: "public capture of moddbcdn.vintagestory.at (server: BunnyCDN-FR1-1349, cdn-pullzone, cdn-cache); bunny.net/docs/cdn",
		header: hdr("server", "BunnyCDN-FR1-1349", "cdn-pullzone", "123456"),
		want:   Result{CDN: "bunny", PoP: "FR1", RawPoP: "FR1", CacheStatus: CacheUnknown, Source: "Server"},
	},
	{
		name: "bunny PH1 hit", source: "BunnyCDN-<region>-<node> format as in public weatherapi.com response captures (BunnyCDN-FR1-1074 with CDN-Cache: HIT); PH1 value illustrative",
		header: hdr("server", "BunnyCDN-PH1-1245", "cdn-cache", "HIT", "cdn-requestcountrycode", "DE"),
		want:   Result{CDN: "bunny", PoP: "PH1", RawPoP: "PH1", CacheStatus: CacheHit, Source: "Server"},
	},

	// KeyCDN
	{
		name: "keycdn ussf", source: "keycdn.com support: cdn-troubleshooting-guide",
		header: hdr("x-cache", "HIT", "x-edge-location", "ussf"),
		want:   Result{CDN: "keycdn", PoP: "USSF", RawPoP: "ussf", CacheStatus: CacheHit, Source: "X-Edge-Location"},
	},
	{
		name: "keycdn defr", source: "keycdn.com support: cdn-troubleshooting-guide (X-Edge-Location, X-Cache)",
		header: hdr("Server", "keycdn-engine", "X-Edge-Location", "defr", "X-Cache", "EXPIRED"),
		want:   Result{CDN: "keycdn", PoP: "DEFR", RawPoP: "defr", CacheStatus: CacheExpired, Source: "X-Edge-Location"},
	},

	// CDN77
	{
		name: "cdn77 prague", source: "CDN77 knowledge base (x-77-pop: pragueCZ)",
		header: hdr("Server", "CDN77-Turbo", "x-77-pop", "pragueCZ", "x-77-cache", "HIT"),
		want:   Result{CDN: "cdn77", PoP: "PRG", RawPoP: "pragueCZ", CacheStatus: CacheHit, Source: "X-77-Pop"},
	},
	{
		name: "cdn77 frankfurt", source: "CDN77 knowledge base (x-77-pop city+country format)",
		header: hdr("x-77-pop", "frankfurtDE", "x-77-cache", "MISS", "x-77-nzt", "AZgBQQAAAABhAAAA"),
		want:   Result{CDN: "cdn77", PoP: "FRA", RawPoP: "frankfurtDE", CacheStatus: CacheMiss, Source: "X-77-Pop"},
	},
	{
		name: "cdn77 los angeles with state", source: "CDN77 knowledge base (x-77-pop city+country(+US state) format)",
		header: hdr("x-77-pop", "losangelesUSCA"),
		want:   Result{CDN: "cdn77", PoP: "LAX", RawPoP: "losangelesUSCA", CacheStatus: CacheUnknown, Source: "X-77-Pop"},
	},

	// Gcore
	{
		name: "gcore x-id-fe", source: "response of https://assets.gcore.pro/assets/icons/shield-lock.svg quoted in getHeaderColo comments of public forks of XIU2/CloudflareSpeedTest (task/httping.go)",
		header: hdr("x-id-fe", "fr5-hw-edge-gc17", "x-shard", "fr5-shard0-default", "cache", "HIT"),
		want:   Result{CDN: "gcore", PoP: "FR5", RawPoP: "fr5", CacheStatus: CacheHit, Source: "X-Id-Fe"},
	},
	{
		name: "gcore docs x-id", source: "Gcore docs (Cache: HIT, X-ID: m9-up-e245)",
		header: hdr("Cache", "MISS", "X-ID", "m9-up-e245"),
		want:   Result{CDN: "gcore", PoP: "M9", RawPoP: "m9", CacheStatus: CacheMiss, Source: "X-Id"},
	},

	// Edgecast
	{
		name: "edgecast ECAcc", source: "github.com/edgio-docs/edgio-docs (`edgio curl` capture: server: ECAcc (dcd/7D26), x-cache: HIT)",
		header: hdr("Server", "ECAcc (dcd/7D26)", "X-Cache", "HIT"),
		want:   Result{CDN: "edgecast", PoP: "DCD", RawPoP: "dcd", CacheStatus: CacheHit, Source: "Server"},
	},
	{
		name: "edgecast ECD", source: "Edgecast Server `<product> (<pop>/<hex>)` format as in github.com/edgio-docs/edgio-docs captures; TCP_EXPIRED_MISS: learn.microsoft.com/previous-versions/azure/cdn/cdn-http-debug-headers",
		header: hdr("Server", "ECD (dcc/4366)", "X-Cache", "TCP_EXPIRED_MISS"),
		want:   Result{CDN: "edgecast", PoP: "DCC", RawPoP: "dcc", CacheStatus: CacheExpired, Source: "Server"},
	},
	{
		name: "edgio: PoP from Server-Timing when Server is the origin's", source: "github.com/edgio-docs/edgio-docs (`edgio curl` capture of 2023-05-31: server: Netlify, server-timing edgio_pop;desc=dcd, x-ec-cache … ECAcc (dcd/7D26))",
		header: hdr("Server", "Netlify", "Server-Timing", "edgio_cache;desc=TCP_EXPIRED_HIT,edgio_pop;desc=dcd,edgio_country;desc=US",
			"X-EC-Cache", "TCP_EXPIRED_HIT from ECAcc (dcd/7D26)", "X-Edg-Version", "53 7 4 7.0.7 2023-05-31T14:32:16Z be36ceec-4cfd-4d56-aa41-ced08cd5352c",
			"X-Nf-Request-Id", "01H1S4KY3H6QM7BZ0MRJC2C3MQ"),
		want: Result{CDN: "edgecast", PoP: "DCD", RawPoP: "dcd", CacheStatus: CacheRevalidated, Source: "Server-Timing"},
	},
	{
		name: "edgio ECAcc with Server-Timing and S3 origin", source: "github.com/edgio-docs/edgio-docs (`edgio curl` capture of 2023-07-27: server: ECAcc (dcd/7D26), edgio_cache;desc=TCP_HIT, x-cache: HIT)",
		header: hdr("Server", "ECAcc (dcd/7D26)", "Server-Timing", "edgio_cache;desc=TCP_HIT,edgio_pop;desc=dcd,edgio_country;desc=US",
			"X-Cache", "HIT", "X-Amz-Request-Id", "VP26DEYJF5M5Y2E2", "X-EC-Cache", "TCP_HIT from ECAcc (dcd/7D26)"),
		want: Result{CDN: "edgecast", PoP: "DCD", RawPoP: "dcd", CacheStatus: CacheHit, Source: "Server"},
	},

	// StackPath / Highwinds
	{
		name: "highwinds X-HW", source: "X-HW `<epoch>.<node>.<pop>.<flag>` as listed by github.com/perfsee/perfsee packages/platform/src/common/utils/cdn-detector/data/headers.ts (x-hw → Highwinds)",
		header: hdr("X-HW", "1697749038.dop206.dc2.t,1697749038.cds053.dc2.c"),
		want:   Result{CDN: "stackpath", PoP: "DC2", RawPoP: "dc2", CacheStatus: CacheUnknown, Source: "X-Hw"},
	},
	{
		name: "highwinds single element", source: "X-HW format, github.com/perfsee/perfsee cdn-detector headers.ts (x-hw → Highwinds)",
		header: hdr("X-HW", "1697749100.cds207.la2.h"),
		want:   Result{CDN: "stackpath", PoP: "LA2", RawPoP: "la2", CacheStatus: CacheUnknown, Source: "X-Hw"},
	},

	// Alibaba
	{
		name: "alibaba Via with l2 tier", source: "Alibaba OSS+CDN capture (Via cacheN.l2…/cacheN.cn…, X-Cache HIT TCP_MEM_HIT); same format as cnblogs.com/rsapaper/p/14694123.html",
		header: hdr("Via", "cache24.l2eu6-1[0,304-0,H], cache5.l2eu6-1[1,0], cache1.cn1157[0,200-0,H], cache19.cn1157[1,0]",
			"X-Cache", "HIT TCP_MEM_HIT dirn:13:799953991", "Server", "Tengine"),
		want: Result{CDN: "alibaba", PoP: "CN1157", RawPoP: "cn1157", CacheStatus: CacheHit, Source: "Via"},
	},
	{
		name: "alibaba de1", source: "Via hop format `cacheN.<pop>[…]` of cnblogs.com/rsapaper/p/14694123.html applied to a non-l2 European node",
		header: hdr("Via", "cache5.l2de2[0,200-0,H], cache5.de1[0,200-0,M]", "X-Cache", "MISS TCP_MISS dirn:-2:-2", "EagleId", "2ff6159c16977490384538829e"),
		want:   Result{CDN: "alibaba", PoP: "DE1", RawPoP: "de1", CacheStatus: CacheMiss, Source: "Via"},
	},
	{
		name: "alibaba kunlun nodes, refresh hit", source: "cnblogs.com/rsapaper/p/14694123.html (capture of 2021-04-23)",
		header: hdr("Server", "Tengine", "Ali-Swift-Global-Savetime", "1619162787", "EagleId", "3b258ea916191633699787917e",
			"Via", "cache45.l2cn1832[38,304-0,M], cache39.l2cn1832[39,0], kunlun15.cn3157[55,55,200-0,H], kunlun19.cn3157[57,0]",
			"X-Cache", "HIT TCP_REFRESH_HIT dirn:11:927701954", "X-Swift-CacheTime", "4", "X-Swift-SaveTime", "Fri, 23 Apr 2021 07:36:10 GMT"),
		want: Result{CDN: "alibaba", PoP: "CN3157", RawPoP: "cn3157", CacheStatus: CacheRevalidated, Source: "Via"},
	},

	// Tencent
	{
		name: "tencent NWS", source: "github.com/zhousulong/cdn-server-info-userscript cdn_rules.json (x-nws-log-uuid, x-cache-lookup for Tencent Cloud CDN)",
		header: hdr("Server", "NWS_SPMid", "X-NWS-LOG-UUID", "13546046566470829112", "X-Cache-Lookup", "Hit From Upstream"),
		want:   Result{CDN: "tencent", PoP: Unknown, CacheStatus: CacheHit, Source: "Server"},
	},
	{
		name: "tencent EdgeOne", source: "tencentcloud.com/document/product/1145/54212 (EO-Cache-Status, EO-LOG-UUID)",
		header: hdr("EO-Cache-Status", "MISS", "EO-LOG-UUID", "1197483742034023841"),
		want:   Result{CDN: "tencent", PoP: Unknown, CacheStatus: CacheMiss, Source: "Eo-Cache-Status"},
	},
	{
		name: "tencent cache miss phrase", source: "github.com/zhousulong/cdn-server-info-userscript cdn_rules.json (x-cache-lookup); phrase value illustrative",
		header: hdr("Server", "TCDN_NWS", "X-Cache-Lookup", "Cache Miss"),
		want:   Result{CDN: "tencent", PoP: Unknown, CacheStatus: CacheMiss, Source: "Server"},
	},
	{
		name: "tencent EdgeOne default Server", source: "tencentcloud.com/document/product/1145/54212 (Server: TencentEdgeOne when the origin sends none; EO-LOG-UUID example 4105283880544427145)",
		header: hdr("Server", "TencentEdgeOne", "EO-LOG-UUID", "4105283880544427145", "EO-Cache-Status", "RefreshHit"),
		want:   Result{CDN: "tencent", PoP: Unknown, CacheStatus: CacheRevalidated, Source: "Eo-Cache-Status"},
	},

	// Imperva
	{
		name: "imperva cached", source: "X-CDN: Imperva / X-Iinfo as listed by github.com/perfsee/perfsee cdn-detector headers.ts (x-iinfo, x-cdn incapsula)",
		header: hdr("X-CDN", "Imperva", "X-Iinfo", "9-49176764-0 0CNN RT(1697749038123 0) q(0 -1 -1 -1) r(0 -1)"),
		want:   Result{CDN: "imperva", PoP: Unknown, CacheStatus: CacheHit, Source: "X-Cdn"},
	},
	{
		name: "imperva not cached", source: "X-Iinfo / X-CDN: Incapsula as listed by github.com/perfsee/perfsee cdn-detector headers.ts",
		header: hdr("X-Iinfo", "5-17009424-17011001 PNNN RT(1697749038123 13) q(0 0 0 -1) r(0 0) U6", "X-CDN", "Incapsula"),
		want:   Result{CDN: "imperva", PoP: Unknown, CacheStatus: CacheMiss, Source: "X-Cdn"},
	},

	// Sucuri
	{
		name: "sucuri hit", source: "github.com/CSecGroup/wafid finger.xml (Server: Sucuri/Cloudproxy, X-Sucuri-ID); X-Sucuri-Cache word",
		header: hdr("Server", "Sucuri/Cloudproxy", "X-Sucuri-ID", "11014", "X-Sucuri-Cache", "HIT"),
		want:   Result{CDN: "sucuri", PoP: Unknown, CacheStatus: CacheHit, Source: "Server"},
	},
	{
		name: "sucuri without cache header", source: "github.com/CSecGroup/wafid finger.xml (X-Sucuri-ID); no cache header means unknown",
		header: hdr("X-Sucuri-ID", "16016"),
		want:   Result{CDN: "sucuri", PoP: Unknown, CacheStatus: CacheUnknown, Source: "X-Sucuri-Id"},
	},

	// ArvanCloud
	{
		name: "arvancloud hit", source: "ArvanCloud `Server: ArvanCloud`, X-Sid (format; values illustrative, no public capture with a citable path was found)",
		header: hdr("Server", "ArvanCloud", "X-Cache", "HIT", "X-Sid", "2108"),
		want:   Result{CDN: "arvancloud", PoP: Unknown, CacheStatus: CacheHit, Source: "Server"},
	},
	{
		name: "arvancloud bypass", source: "ArvanCloud `Server: ArvanCloud` (format, see above); X-Cache word BYPASS",
		header: hdr("Server", "ArvanCloud", "X-Cache", "BYPASS"),
		want:   Result{CDN: "arvancloud", PoP: Unknown, CacheStatus: CacheBypass, Source: "Server"},
	},

	// OVH
	{
		name: "ovh bhs", source: "OVH CDN x-cdn-* headers (github.com/perfsee/perfsee cdn-detector headers.ts lists x-cdn-geo for OVH CDN); x-cdn-pop value illustrative",
		header: hdr("x-cdn-pop", "bhs", "x-cdn-pop-ip", "198.51.100.20/32"),
		want:   Result{CDN: "ovh", PoP: "BHS", RawPoP: "bhs", CacheStatus: CacheUnknown, Source: "X-Cdn-Pop"},
	},
	{
		name: "ovh pop ip only", source: "OVH CDN x-cdn-* headers (github.com/perfsee/perfsee cdn-detector headers.ts); value illustrative",
		header: hdr("x-cdn-pop-ip", "198.51.100.20/32", "x-cacheable", "Cacheable"),
		want:   Result{CDN: "ovh", PoP: Unknown, CacheStatus: CacheUnknown, Source: "X-Cdn-Pop-Ip"},
	},

	// CacheFly
	{
		name: "cachefly hkg1", source: "CacheFly X-CF1 `<id>:<tag>.<pop>:…` format (value illustrative: no public capture with a citable path was found, see README)",
		header: hdr("X-CF1", "28637:fG.hkg1:co:1697749038:cacheN.hkg1-01:M"),
		want:   Result{CDN: "cachefly", PoP: "HKG", RawPoP: "hkg1", CacheStatus: CacheUnknown, Source: "X-Cf1"},
	},
	{
		name: "cachefly lax", source: "CacheFly X-CF1 format (value illustrative, see README)",
		header: hdr("X-CF1", "11372:fA.lax2:cy:1697749100:cacheN.lax2-03:H"),
		want:   Result{CDN: "cachefly", PoP: "LAX", RawPoP: "lax2", CacheStatus: CacheUnknown, Source: "X-Cf1"},
	},

	// Google
	{
		name: "google frontend", source: "github.com/perfsee/perfsee cdn-detector headers.ts (server gws/gse → Google); Via 1.1 google of Google front ends",
		header: hdr("Server", "Google Frontend", "Via", "1.1 google", "Age", "40"),
		want:   Result{CDN: "google", PoP: Unknown, CacheStatus: CacheHit, Source: "Via"},
	},
	{
		name: "google gws", source: "github.com/perfsee/perfsee cdn-detector headers.ts (server gws → Google)",
		header: hdr("Server", "gws", "X-XSS-Protection", "0"),
		want:   Result{CDN: "google", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Server"},
	},

	// Wikimedia
	{
		name: "wikimedia eqiad", source: "Wikimedia X-Cache `cpNNNN <state>` as logged in pastebin.com/8wm6qkkE (MultimediaViewer network performance events)",
		header: hdr("X-Cache", "cp1085 hit, cp1081 hit/13", "X-Cache-Status", "hit-front", "Server-Timing", `cache;desc="hit-front", host;desc="cp1081"`),
		want:   Result{CDN: "wikimedia", PoP: "EQIAD", RawPoP: "cp1081", CacheStatus: CacheHit, Source: "X-Cache"},
	},
	{
		name: "wikimedia esams pass", source: "pastebin.com/8wm6qkkE (cp3xxx hosts answering European clients: esams)",
		header: hdr("X-Cache", "cp3050 miss, cp3054 pass", "Via", "1.1 varnish (Varnish/7.1)"),
		want:   Result{CDN: "wikimedia", PoP: "ESAMS", RawPoP: "cp3054", CacheStatus: CacheBypass, Source: "X-Cache"},
	},
	{
		name: "wikimedia 2015 frontend generation", source: "pastebin.com/8wm6qkkE (XCache `cp1063 miss (0), cp3036 hit (4), cp3048 frontend miss (0)`)",
		header: hdr("X-Cache", "cp1063 miss (0), cp3036 hit (4), cp3048 frontend miss (0)", "X-Varnish", "3814216512, 2264536686 2071703119, 1800495636"),
		want:   Result{CDN: "wikimedia", PoP: "ESAMS", RawPoP: "cp3048", CacheStatus: CacheHit, Source: "X-Cache"},
	},

	// Generic Varnish
	{
		name: "varnish hit", source: "pastebin.com/iFNt3rsU (varnishlog: X-Varnish: 1468106086 1468106084 on a Hit, Via: 1.1 varnish)",
		header: hdr("Via", "1.1 varnish (Varnish/6.0)", "X-Varnish", "32773 32771"),
		want:   Result{CDN: "varnish", PoP: Unknown, CacheStatus: CacheHit, Source: "Via"},
	},
	{
		name: "varnish miss", source: "fastly.com/documentation/reference/http/http-headers/X-Varnish (one transaction id per Varnish pass)",
		header: hdr("X-Varnish", "98765", "Age", "0"),
		want:   Result{CDN: "varnish", PoP: Unknown, CacheStatus: CacheMiss, Source: "X-Varnish"},
	},
	// Header generations and product lines of the remaining CDNs. Each cites where the header
	// was seen; "value illustrative" marks a documented format filled with a made-up value.

	// CloudFront: edge functions, regional edge cache, Server-Timing without X-Amz-*
	{
		name: "cloudfront Functions generated response", source: "x-edge-result-type FunctionGeneratedResponse: docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html; PoP value from github.com/XIU2/CloudflareSpeedTest task/httping.go (x-amz-cf-pop: SIN52-P1)",
		header: hdr("X-Amz-Cf-Pop", "SIN52-P1", "X-Cache", "FunctionGeneratedResponse from cloudfront", "Via", "1.1 5b5b2b2d0c1a.cloudfront.net (CloudFront)"),
		want:   Result{CDN: "cloudfront", PoP: "SIN", RawPoP: "SIN52-P1", CacheStatus: CacheDynamic, Source: "X-Amz-Cf-Pop"},
	},
	{
		name: "cloudfront Lambda@Edge generated response", source: "x-edge-result-type LambdaGeneratedResponse: docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html; X-Amz-Cf-Pop shape IAD89-C2 of the same page (value illustrative)",
		header: hdr("X-Amz-Cf-Pop", "IAD89-C2", "X-Cache", "LambdaGeneratedResponse from cloudfront"),
		want:   Result{CDN: "cloudfront", PoP: "IAD", RawPoP: "IAD89-C2", CacheStatus: CacheDynamic, Source: "X-Amz-Cf-Pop"},
	},
	{
		name: "cloudfront regional edge cache hit in Server-Timing", source: "docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/understanding-response-headers-policies.html#server-timing-header (cdn-cache-hit, cdn-hit-layer EDGE|REC|Origin Shield, cdn-pop); values illustrative",
		header: hdr("Via", "1.1 0a1b2c3d4e5f.cloudfront.net (CloudFront)",
			"Server-Timing", `cdn-upstream-layer;desc="EDGE",cdn-cache-hit,cdn-pop;desc="TXL50-P6",cdn-hit-layer;desc="REC"`),
		want: Result{CDN: "cloudfront", PoP: "TXL", RawPoP: "TXL50-P6", CacheStatus: CacheHit, Source: "Server-Timing"},
	},
	{
		name: "cloudfront from Server-Timing alone", source: "docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/understanding-response-headers-policies.html#server-timing-header (a proxy in front that strips X-Amz-* and Via keeps Server-Timing); values illustrative",
		header: hdr("Server-Timing", `cdn-cache-miss,cdn-pop;desc="FRA56-P4",cdn-rid;desc="q9Xz8h2T0c4n1u9p"`),
		want:   Result{CDN: "cloudfront", PoP: "FRA", RawPoP: "FRA56-P4", CacheStatus: CacheMiss, Source: "Server-Timing"},
	},

	// Bunny: PoP codes without a number, the CDN-* family behind a gateway, a Varnish origin
	{
		name: "bunny PoP code without a number", source: "api.weatherapi.com response of 2022-07-15 logged in a public GitHub repository (Server: BunnyCDN-DE-880, CDN-ProxyVer 1.02, CDN-Cache MISS); format: docs.bunny.net/cdn/troubleshooting/run-traceroute, codes: bunny.net/docs/scripting/regions",
		header: hdr("Server", "BunnyCDN-DE-880", "CDN-PullZone", "93447", "CDN-ProxyVer", "1.02", "CDN-EdgeStorageId", "752", "CDN-Cache", "MISS"),
		want:   Result{CDN: "bunny", PoP: "DE", RawPoP: "DE", CacheStatus: CacheMiss, Source: "Server"},
	},
	{
		name: "bunny in front of a Varnish origin", source: "github.com/jofalck/weather constVar/forcast_api_example.js (api.weatherapi.com, 2024-02-04: Server BunnyCDN-DE1-860, CDN-Cache MISS, Via 1.1 varnish (Varnish/6.0))",
		header: hdr("CDN-PullZone", "93447", "CDN-ProxyVer", "1.04", "CDN-RequestPullSuccess", "True", "CDN-CachedAt", "02/04/2024 08:19:00",
			"CDN-EdgeStorageId", "1077", "CDN-RequestId", "23174fc0056148d3d88f648c53daae6f", "CDN-Cache", "MISS",
			"Server", "BunnyCDN-DE1-860", "Via", "1.1 varnish (Varnish/6.0)"),
		want: Result{CDN: "bunny", PoP: "DE1", RawPoP: "DE1", CacheStatus: CacheMiss, Source: "Server"},
	},
	{
		name: "bunny behind an API gateway that rewrote Server", source: "github.com/BrianMunene96/weather-app-REST weather.js (server: RapidAPI-1.2.8 with cdn-cache HIT, cdn-proxyver 1.04, cdn-edgestorageid 1079)",
		header: hdr("cdn-cache", "HIT", "cdn-cachedat", "10/11/2023 14:15:25", "cdn-edgestorageid", "1079", "cdn-proxyver", "1.04",
			"cdn-pullzone", "93447", "server", "RapidAPI-1.2.8", "via", "1.1 varnish (Varnish/6.0)"),
		want: Result{CDN: "bunny", PoP: Unknown, CacheStatus: CacheHit, Source: "Cdn-Pullzone"},
	},

	// KeyCDN
	{
		name: "keycdn chzh", source: "keycdn.com support: cdn-troubleshooting-guide (x-cache: HIT, x-edge-location: chzh)",
		header: hdr("x-cache", "HIT", "x-edge-location", "chzh", "access-control-allow-origin", "*"),
		want:   Result{CDN: "keycdn", PoP: "CHZH", RawPoP: "chzh", CacheStatus: CacheHit, Source: "X-Edge-Location"},
	},

	// CDN77: Storage PoP as upstream, newer X-77 headers
	{
		name: "cdn77 edge in front of its storage PoP", source: "CDN77 Storage download logged as JSON in a public GitHub repository (server CDN77-Turbo, x-edge-location pragueCZ, x-77-pop frankfurtDE, x-77-cache HIT, x-77-nzt-ray)",
		header: hdr("x-edge-ip", "185.152.65.83", "x-edge-location", "pragueCZ", "server", "CDN77-Turbo", "x-77-nzt", "Abk73AGyNKT/WffoAA==",
			"x-77-nzt-ray", "BPQIZFGWrLs=", "x-cache-lb", "HIT", "x-77-pop", "frankfurtDE", "x-77-cache", "HIT"),
		want: Result{CDN: "cdn77", PoP: "FRA", RawPoP: "frankfurtDE", UpstreamPoP: "PRG", CacheStatus: CacheHit, Source: "X-77-Pop"},
	},
	{
		name: "cdn77 miss through two load-balancer tiers", source: "CDN77 Storage download logged as JSON in a public GitHub repository (x-77-cache MISS, x-cache-lb \"MISS, MISS\", x-77-pop frankfurtDE, 2021-04-14)",
		header: hdr("x-77-nzt", "A7k73AFJIK6xubQOp+uoxLGP9DqBJimUwQ==", "x-77-nzt-ray", "dV+o/SNMVb8=", "x-77-cache", "MISS",
			"x-cache-lb", "MISS, MISS", "server", "CDN77-Turbo", "x-77-pop", "frankfurtDE"),
		want: Result{CDN: "cdn77", PoP: "FRA", RawPoP: "frankfurtDE", CacheStatus: CacheMiss, Source: "X-77-Pop"},
	},
	{
		name: "cdn77 from X-77-NZT-Ray alone", source: "X-77-NZT-Ray listed as a CDN77 header by CDN detectors in public GitHub repositories (x-77-age, x-77-cache, x-77-nzt, x-77-nzt-ray, x-77-pop); value illustrative",
		header: hdr("X-77-NZT-Ray", "zKhoYKRJF+0="),
		want:   Result{CDN: "cdn77", PoP: Unknown, CacheStatus: CacheUnknown, Source: "X-77-Nzt-Ray"},
	},

	// Gcore: other sites, a site code without a number, X-Shard
	{
		name: "gcore sg1", source: "github.com/XIU2/CloudflareSpeedTest task/httping.go (assets.gcore.pro: x-id-fe sg1-hw-edge-gc12, x-shard sg1-shard0-default, x-id sg1-hw-edge-gc2)",
		header: hdr("x-id-fe", "sg1-hw-edge-gc12", "x-shard", "sg1-shard0-default", "x-id", "sg1-hw-edge-gc2"),
		want:   Result{CDN: "gcore", PoP: "SG1", RawPoP: "sg1", CacheStatus: CacheUnknown, Source: "X-Id-Fe"},
	},
	{
		name: "gcore site code without a number, 410 from the streaming CDN", source: "Gcore Streaming Platform docs, secure token (curl --head on demo-protected.gvideo.io: HTTP/1.1 410 Gone, X-ID and X-ID-FE ed-hw-edge-gc38)",
		status: 410,
		header: hdr("Server", "nginx", "X-ID", "ed-hw-edge-gc38", "X-ID-FE", "ed-hw-edge-gc38"),
		want:   Result{CDN: "gcore", PoP: "ED", RawPoP: "ed", CacheStatus: CacheUnknown, Source: "X-Id-Fe"},
	},
	{
		name: "gcore PoP from X-Shard alone", source: "github.com/XIU2/CloudflareSpeedTest task/httping.go (x-shard: fr5-shard0-default)",
		header: hdr("x-shard", "fr5-shard0-default", "cache", "HIT"),
		want:   Result{CDN: "gcore", PoP: "FR5", RawPoP: "fr5", CacheStatus: CacheHit, Source: "X-Shard"},
	},

	// StackPath / Highwinds generations
	{
		name: "highwinds for Windows Update", source: "Microsoft Learn, Microsoft Connected Cache troubleshooting (Invoke-WebRequest for b1.download.windowsupdate.com: X-HW 1567797125.dop019.se2.t,…,1567797125.cds058.se2.p)",
		header: hdr("X-HW", "1567797125.dop019.se2.t,1567797125.cds058.se2.s,1567797125.dop114.at2.r,1567797125.cds079.at2.p,1567797125.cds058.se2.p"),
		want:   Result{CDN: "stackpath", PoP: "SE2", RawPoP: "se2", CacheStatus: CacheUnknown, Source: "X-Hw"},
	},
	{
		name: "stackpath with a foreign X-HW element", source: "raw response in a public PHP HTTP-client test (2023-02-07: Server: fbs, X-HW 1675760428.cds220.la3.hn,…,1675760429.cdn2-redis01-lax1.stackpath.systems.-.wx,…)",
		header: hdr("Server", "fbs", "X-HW", "1675760428.cds220.la3.hn,1675760428.cds256.la3.sc,1675760429.cdn2-redis01-lax1.stackpath.systems.-.wx,1675760429.cds256.la3.p"),
		want:   Result{CDN: "stackpath", PoP: "LA3", RawPoP: "la3", CacheStatus: CacheUnknown, Source: "X-Hw"},
	},
	{
		name: "highwinds 2011 generation without a PoP", source: "HEAD response for a podcast mp3 quoted in a public Python utility's docstring (2011-02-23: X-HW: 1298453633.cm038a4)",
		header: hdr("Accept-Ranges", "bytes", "ETag", `"1298228777"`, "Content-Type", "audio/mpeg", "X-HW", "1298453633.cm038a4"),
		want:   Result{CDN: "stackpath", PoP: Unknown, CacheStatus: CacheUnknown, Source: "X-Hw"},
	},

	// Imperva: X-Iinfo over the years, cookies
	{
		name: "imperva 2015 X-Iinfo U5", source: "raw response from www.patbase.com quoted in a public Java client (2015-05-09: X-Iinfo 10-176778394-176778505 NNNN CT(82 249 0) … U5, X-CDN: Incapsula)",
		header: hdr("X-Iinfo", "10-176778394-176778505 NNNN CT(82 249 0) RT(1431209076890 201) q(0 0 4 0) r(4 11) U5", "X-CDN", "Incapsula"),
		want:   Result{CDN: "imperva", PoP: Unknown, CacheStatus: CacheMiss, Source: "X-Cdn"},
	},
	{
		name: "imperva 2025 X-CDN: Imperva with visitor cookies", source: "SOAP call log in a public GitHub repository (2025-09-05: Set-Cookie visid_incap_…, incap_ses_…, X-CDN: Imperva, X-Iinfo 10-17146307-17146311 NNNN …)",
		header: hdr("Set-Cookie", "visid_incap_3187083=MyKQb1iGTOiPI3OIzLqOoa1Wu2gAAAAAQUIPAAAAAADBxzCJimsqdsAN9PYajniy; HttpOnly; path=/",
			"Set-Cookie", "incap_ses_1596_3187083=MTQuNTq5Tm2kS9AL+yEmFq1Wu2gAAAAAx0EW6wWdrevA3SB6vfATWg==; path=/",
			"X-CDN", "Imperva", "X-Iinfo", "10-17146307-17146311 NNNN CT(34 109 0) RT(1757107886206 68) q(0 0 2 0) r(2 2) U6"),
		want: Result{CDN: "imperva", PoP: Unknown, CacheStatus: CacheMiss, Source: "X-Cdn"},
	},
	{
		name: "imperva from its cookies alone", source: "Imperva cookie names visid_incap_<site>, incap_ses_<n>_<site> as in the captures above (values illustrative)",
		header: hdr("Set-Cookie", "nlbi_9867=TVo5XBa7yhRY; path=/", "Set-Cookie", "incap_ses_221_9867=0mplUaTn0RiS52Sk8iYRA3aETlUAAAAA; path=/"),
		want:   Result{CDN: "imperva", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Set-Cookie"},
	},

	// Sucuri
	{
		name: "sucuri miss", source: "github.com/EnableSecurity/wafw00f wafw00f/plugins/sucuri.py (X-Sucuri-ID, X-Sucuri-Cache, Server: Sucuri/Cloudproxy); capture of www.deconetwork.com in public notes (x-sucuri-id 18002, x-sucuri-cache MISS)",
		header: hdr("server", "Sucuri/Cloudproxy", "x-sucuri-id", "18002", "x-sucuri-cache", "MISS", "cache-control", "max-age=600"),
		want:   Result{CDN: "sucuri", PoP: Unknown, CacheStatus: CacheMiss, Source: "Server"},
	},
	{
		name: "sucuri expired", source: "capture of tup.edu.ph in public project notes (2026-08-20: Server: Sucuri/Cloudproxy, X-Sucuri-ID 18012, X-Sucuri-Cache HIT/EXPIRED)",
		header: hdr("Server", "Sucuri/Cloudproxy", "X-Sucuri-ID", "18012", "X-Sucuri-Cache", "EXPIRED"),
		want:   Result{CDN: "sucuri", PoP: Unknown, CacheStatus: CacheExpired, Source: "Server"},
	},

	// ArvanCloud
	{
		name: "arvancloud AR-PoweredBy", source: "Wappalyzer technology pattern for ArvanCloud (AR-PoweredBy: Arvan Cloud (arvancloud.com)), as carried by public Wappalyzer ports on GitHub",
		header: hdr("AR-PoweredBy", "Arvan Cloud (arvancloud.com)", "X-Cache", "MISS"),
		want:   Result{CDN: "arvancloud", PoP: Unknown, CacheStatus: CacheMiss, Source: "Ar-Poweredby"},
	},

	// OVH: X-Cacheable
	{
		name: "ovh docs example", source: "github.com/ovh/docs pages/web_cloud/web_hosting/cdn_how_to_use_cdn/guide.en-gb.md (X-CDN-Pop: rbx1, X-Cacheable: Cacheable)",
		header: hdr("X-Request-ID", "123456789", "X-CDN-Pop", "rbx1", "X-CDN-Pop-IP", "00.111.22.333/44", "X-Cacheable", "Cacheable", "X-IPLB-Instance", "12345"),
		want:   Result{CDN: "ovh", PoP: "RBX1", RawPoP: "rbx1", CacheStatus: CacheUnknown, Source: "X-Cdn-Pop"},
	},
	{
		name: "ovh matched cache", source: "github.com/ovh/docs CDN cache guide (curl -I, 2018-01-09: X-CDN-Pop rbx1, X-CDN-Pop-IP 51.254.41.128/26, X-Cacheable: Matched cache)",
		header: hdr("X-IPLB-Instance", "5905", "X-CDN-Pop", "rbx1", "X-CDN-Pop-IP", "51.254.41.128/26", "X-Cacheable", "Matched cache"),
		want:   Result{CDN: "ovh", PoP: "RBX1", RawPoP: "rbx1", CacheStatus: CacheHit, Source: "X-Cdn-Pop"},
	},
	{
		name: "ovh syd cacheable miss", source: "response of ovh.com logged in a public GitHub repository (2025-10-05: X-Cacheable Cacheable: miss, X-Cdn-Pop syd, X-Cdn-Pop-Ip 139.99.229.0/27)",
		header: hdr("X-Cacheable", "Cacheable: miss", "X-Cdn-Pop", "syd", "X-Cdn-Pop-Ip", "139.99.229.0/27", "X-Iplb-Instance", "54394"),
		want:   Result{CDN: "ovh", PoP: "SYD", RawPoP: "syd", CacheStatus: CacheMiss, Source: "X-Cdn-Pop"},
	},

	// Google: Cloud Storage behind the GFE, the edge cache's Age
	{
		name: "google cloud storage through the GFE", source: "cloud.google.com/storage/docs/xml-api/reference-headers (x-goog-generation, x-goog-storage-class); X-GUploader-UploadID on Cloud Storage responses (values illustrative)",
		header: hdr("X-GUploader-UploadID", "ABPtcPq0illustrative", "x-goog-generation", "1697749038123456", "x-goog-storage-class", "STANDARD", "Server", "UploadServer"),
		want:   Result{CDN: "google", PoP: Unknown, CacheStatus: CacheUnknown, Source: "X-Guploader-Uploadid"},
	},
	{
		name: "google sffe static server, served from the edge cache", source: "github.com/perfsee/perfsee cdn-detector headers.ts (server sffe → Google); Age on App Engine's edge cache: riptutorial.com/google-app-engine/topic/1827/edgecache (value illustrative)",
		header: hdr("Server", "sffe", "Age", "120", "Cache-Control", "public, max-age=3600"),
		want:   Result{CDN: "google", PoP: Unknown, CacheStatus: CacheHit, Source: "Server"},
	},

	// Generic Varnish: older Via tokens, stacked X-Varnish
	{
		name: "varnish-v4 Via token", source: "Via `1.1 varnish-v4` written by Varnish 4 (bin/varnishd default Via of that release); X-Varnish two ids = hit: pastebin.com/iFNt3rsU (values illustrative)",
		header: hdr("Via", "1.1 varnish-v4", "X-Varnish", "1468106086 1468106084"),
		want:   Result{CDN: "varnish", PoP: Unknown, CacheStatus: CacheHit, Source: "Via"},
	},
	{
		name: "varnish stacked X-Varnish: the last layer decides", source: "pastebin.com/8wm6qkkE (X-Varnish: 3814216512, 2264536686 2071703119, 1800495636 from three Varnish layers)",
		header: hdr("X-Varnish", "3814216512, 2264536686 2071703119, 1800495636", "Via", "1.1 varnish, 1.1 varnish, 1.1 varnish"),
		want:   Result{CDN: "varnish", PoP: Unknown, CacheStatus: CacheMiss, Source: "Via"},
	},
	{
		name: "self-declared X-CDN with no vendor header", source: "X-CDN self-declaration as used for detection by github.com/perfsee/perfsee cdn-detector headers.ts (x-cdn values); value illustrative",
		header: hdr("X-CDN", "Fastly", "Content-Type", "image/webp"),
		want:   Result{CDN: "fastly", PoP: Unknown, CacheStatus: CacheUnknown, Source: "X-Cdn"},
	},
	{
		name: "self-declared X-CDN loses to the vendor's own header", source: "github.com/perfsee/perfsee cdn-detector headers.ts (x-cdn); CF-RAY: developers.cloudflare.com/fundamentals/reference/http-headers/",
		header: hdr("X-CDN", "akamai", "CF-RAY", "818bef0efadd4fcf-ORF"),
		want:   Result{CDN: "cloudflare", PoP: "ORF", RawPoP: "ORF", CacheStatus: CacheUnknown, Source: "Cf-Ray"},
	},
}

func TestIdentifySamples(t *testing.T) {
	id := NewIdentifier(nil)
	for _, s := range samples {
		t.Run(s.name, func(t *testing.T) {
			resp := &Response{StatusCode: s.status, Header: s.header, URL: s.url, Body: []byte(s.body)}
			if resp.StatusCode == 0 {
				resp.StatusCode = 200
			}
			if resp.URL == "" {
				resp.URL = "https://www.example.com/"
			}
			if got := id.Identify(resp); got != s.want {
				t.Errorf("source %s\n got %+v\nwant %+v", s.source, got, s.want)
			}
		})
	}
}

// TestEveryCDNHasTwoSamples keeps the fixture table honest: adding a row means adding samples.
func TestEveryCDNHasTwoSamples(t *testing.T) {
	count := map[string]int{}
	for _, s := range samples {
		count[s.want.CDN]++
		if s.source == "" {
			t.Errorf("sample %q cites no source", s.name)
		}
	}
	for _, cdn := range CDNs() {
		if count[cdn] < 2 {
			t.Errorf("cdn %s has %d samples, want at least 2", cdn, count[cdn])
		}
	}
}

func TestStatusDoesNotMatter(t *testing.T) {
	h := hdr("x-amz-cf-pop", "KIX56-C2", "x-cache", "Error from cloudfront")
	want := NewIdentifier(nil).Identify(&Response{StatusCode: 200, Header: h})
	for _, code := range []int{0, 204, 301, 403, 404, 500, 502, 503, 599} {
		if got := NewIdentifier(nil).Identify(&Response{StatusCode: code, Header: h}); got != want {
			t.Errorf("status %d: got %+v, want %+v", code, got, want)
		}
	}
}

// TestStackedCDNsOutermostWins: every case names the evidence that decides which layer is
// outermost, and where the headers come from.
func TestStackedCDNsOutermostWins(t *testing.T) {
	tests := []struct {
		name     string
		evidence string
		source   string
		header   http.Header
		cdn      string
		pop      string
	}{
		{
			name:     "cloudflare in front of vercel",
			evidence: "Server: Vercel always sets its own Server, and `cloudflare` arrived, so Vercel is inside",
			source:   "CF-RAY/Server-Timing as in the Cloudflare samples; x-vercel-id: vercel.com/docs/headers/request-headers; server: Vercel: github.com/vercel/vercel pull 4867",
			header: hdr("Server", "cloudflare", "CF-RAY", "9da906681ad80c13-AMS", "cf-cache-status", "DYNAMIC",
				"x-vercel-id", "fra1::iad1::djm5z-1788688501471-5e5ac090f2b1", "x-vercel-cache", "MISS"),
			cdn: "cloudflare", pop: "AMS",
		},
		{
			name:     "vercel in front of a cloudflare-proxied origin",
			evidence: "Server: Cloudflare always sets `cloudflare`, and `Vercel` arrived, so Cloudflare is inside (the old fixed ranking said cloudflare)",
			source:   "constructed from the Vercel and Cloudflare samples (a Vercel rewrite to an external origin behind Cloudflare); values illustrative",
			header: hdr("Server", "Vercel", "x-vercel-id", "cdg1::iad1::abcde-1700000000000-0123456789ab", "x-vercel-cache", "MISS",
				"CF-RAY", "818bef0efadd4fcf-ORF", "cf-cache-status", "HIT"),
			cdn: "vercel", pop: "CDG",
		},
		{
			name:     "cloudflare in front of fastly",
			evidence: "Via names only Fastly (Cloudflare adds no Via hop); Server `cloudflare` is Cloudflare's own; nothing orders the two, so role then table order: cloudflare",
			source:   "Fastly X-Served-By: github.com/Wikia/app pull 2681; Cloudflare: github.com/phonedude/cs533-f23 curl dumps",
			header: hdr("X-Served-By", "cache-fra1229-FRA", "X-Cache", "HIT", "Via", "1.1 varnish",
				"Server", "cloudflare", "CF-RAY", "818bef0efadd4fcf-ORF"),
			cdn: "cloudflare", pop: "ORF",
		},
		{
			name:     "cloudflare in front of fly",
			evidence: "Via's only hop is Fly's (Cloudflare adds none); role: security proxy before platform",
			source:   "Fly-Request-Id: openstatusHQ/openstatus fly-request-id parser; Cloudflare: github.com/phonedude/cs533-f24 curl dumps",
			header: hdr("Fly-Request-Id", "01KYTQQP5MJVBN077Q5CZ611Z4-gru", "Via", "1.1 fly.io",
				"Server", "cloudflare", "CF-RAY", "9373cfdafa74f7ad-LAX"),
			cdn: "cloudflare", pop: "LAX",
		},
		{
			name:     "fastly in front of cloudfront: Via's last hop is varnish",
			evidence: "Via (RFC 9110 §7.6.3): the last hop `1.1 varnish` is Fastly's, CloudFront's hop comes before it",
			source:   "Via hop formats: docs.aws.amazon.com CloudFront (`… .cloudfront.net (CloudFront)`), fastly.com/documentation X-Served-By",
			header: hdr("X-Amz-Cf-Pop", "FRA56-P4", "X-Cache", "Hit from cloudfront, HIT",
				"Via", "1.1 4c6a2d5b3b1e.cloudfront.net (CloudFront), 1.1 varnish",
				"X-Served-By", "cache-lhr7334-LHR"),
			cdn: "fastly", pop: "LHR",
		},
		{
			name:     "fastly in front of cloudfront: separate Via lines",
			evidence: "Via: repeated field lines are one list, the last line's hop is Fastly's",
			source:   "as above",
			header: hdr("X-Amz-Cf-Pop", "FRA56-P4", "Via", "1.1 4c6a2d5b3b1e.cloudfront.net (CloudFront)",
				"Via", "1.1 varnish", "X-Served-By", "cache-lhr7334-LHR"),
			cdn: "fastly", pop: "LHR",
		},
		{
			name:     "cloudfront in front of fastly",
			evidence: "Via: the last hop is CloudFront's",
			source:   "as above",
			header: hdr("X-Served-By", "cache-iad-kjyo7100133-IAD", "Via", "1.1 varnish, 1.1 0a1b2c3d.cloudfront.net (CloudFront)",
				"X-Amz-Cf-Pop", "IAD79-C3"),
			cdn: "cloudfront", pop: "IAD",
		},
		{
			name:     "cloudfront and fastly without Via: no evidence",
			evidence: "none: both are CDNs, table order decides (cloudfront)",
			source:   "as above, Via stripped",
			header:   hdr("X-Served-By", "cache-iad-kjyo7100133-IAD", "X-Amz-Cf-Pop", "IAD79-C3"),
			cdn:      "cloudfront", pop: "IAD",
		},
		{
			name:     "cloudfront in front of netlify",
			evidence: "Via names only CloudFront; Server `Netlify` is Netlify's own; role: CDN before platform",
			source:   "X-Amz-Cf-Pop/Via formats: CloudFront standard-logs-reference and the CloudFront samples; Netlify: netlify.com knowledge base; values illustrative",
			header: hdr("Server", "Netlify", "X-Nf-Request-Id", "01HD3Q5W0B3YQ5Q0Z2J8X1V4T6",
				"Via", "1.1 0a1b2c3d.cloudfront.net (CloudFront)", "X-Amz-Cf-Pop", "TXL50-P6"),
			cdn: "cloudfront", pop: "TXL",
		},
		{
			name:     "edgio in front of netlify",
			evidence: "Server `Netlify` passed through by Edgio (Edgio keeps the origin's Server); role: CDN before platform",
			source:   "github.com/edgio-docs/edgio-docs `edgio curl` capture of 2023-05-31 (server: Netlify, x-nf-request-id, edgio_pop dcd)",
			header: hdr("Server", "Netlify", "Server-Timing", "edgio_cache;desc=TCP_EXPIRED_HIT,edgio_pop;desc=dcd,edgio_country;desc=US",
				"X-Edg-Version", "53 7 4 7.0.7 2023-05-31T14:32:16Z be36ceec-4cfd-4d56-aa41-ced08cd5352c",
				"X-Nf-Request-Id", "01H1S4KY3H6QM7BZ0MRJC2C3MQ"),
			cdn: "edgecast", pop: "DCD",
		},
		{
			name:     "a cache on fly in front of netlify",
			evidence: "Cache-Status (RFC 9211 §2): Netlify's member is followed by another cache's, so Netlify is not outermost (table order alone would say netlify)",
			source:   "RFC 9211 §2 member order; Netlify member names: github.com/netlify/context-and-tools skills/netlify-caching/SKILL.md; Fly: superfly/docs issue 184; second cache name illustrative",
			header: hdr("Cache-Status", `"Netlify Edge"; fwd=miss, Souin; hit`, "Server", "Netlify",
				"Fly-Request-Id", "01KYTQQP5MJVBN077Q5CZ611Z4-ams", "Via", "2 fly.io"),
			cdn: "fly", pop: "AMS",
		},
		{
			name:     "imperva in front of cloudfront",
			evidence: "none in the headers (no Via, no Server); role: security proxy before CDN",
			source:   "Imperva X-Iinfo/X-CDN: github.com/perfsee/perfsee cdn-detector headers.ts; CloudFront: standard-logs-reference",
			header: hdr("X-Amz-Cf-Pop", "LAX3-C4", "X-Cache", "Miss from cloudfront",
				"X-CDN", "Imperva", "X-Iinfo", "9-49176764-0 0CNN RT(1697749038123 0)"),
			cdn: "imperva", pop: Unknown,
		},
		{
			name:     "fastly in front of google (Firebase Hosting)",
			evidence: "Via: `1.1 google, 1.1 varnish`, Fastly's hop is last",
			source:   "Via `1.1 google` of Google front ends; Fastly X-Served-By docs",
			header: hdr("Via", "1.1 google, 1.1 varnish", "X-Served-By", "cache-ams21080-AMS", "X-Cache", "MISS",
				"Server", "Google Frontend"),
			cdn: "fastly", pop: "AMS",
		},
		{
			name:     "wikimedia beats its own varnish",
			evidence: "Via: the varnish hop is Wikimedia's when Wikimedia's cp hosts are detected",
			source:   "pastebin.com/8wm6qkkE (cp hosts with X-Varnish)",
			header:   hdr("X-Cache", "cp3050 hit, cp3054 hit/2", "Via", "1.1 varnish (Varnish/7.1)", "X-Varnish", "1 2"),
			cdn:      "wikimedia", pop: "ESAMS",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.evidence == "" || tt.source == "" {
				t.Fatal("a stacked sample must state its evidence and its source")
			}
			got := NewIdentifier(nil).Identify(&Response{StatusCode: 200, Header: tt.header})
			if got.CDN != tt.cdn || got.PoP != tt.pop {
				t.Errorf("evidence: %s\ngot cdn=%s pop=%s, want cdn=%s pop=%s (%+v)", tt.evidence, got.CDN, got.PoP, tt.cdn, tt.pop, got)
			}
		})
	}
}

func TestRepeatedHeadersLastWins(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		pop    string
		cache  string
	}{
		{"CF-RAY twice", hdr("CF-RAY", "818bef0efadd4fcf-ORF", "CF-RAY", "818beef4df4118ea-EWR"), "EWR", CacheUnknown},
		{"cf-cache-status twice", hdr("CF-RAY", "818bef0efadd4fcf-ORF", "cf-cache-status", "MISS", "cf-cache-status", "HIT"), "ORF", CacheHit},
		{"x-vercel-cache twice", hdr("x-vercel-id", "cdg1::abcde-1-2", "x-vercel-cache", "MISS", "x-vercel-cache", "STALE"), "CDG", CacheStale},
		{"bunny server twice", hdr("CDN-Cache", "MISS", "Server", "nginx", "Server", "BunnyCDN-DE1-1049"), "DE1", CacheMiss},
		{"fly-request-id combined list", hdr("Fly-Request-Id", "01KYTQQP5MJVBN077Q5CZ611Z4-gru, 01KYTQQP5MJVBN077Q5CZ611Z5-ams"), "AMS", CacheUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NewIdentifier(nil).Identify(&Response{Header: tt.header})
			if got.PoP != tt.pop || got.CacheStatus != tt.cache {
				t.Errorf("got pop=%s cache=%s, want pop=%s cache=%s", got.PoP, got.CacheStatus, tt.pop, tt.cache)
			}
		})
	}
}

func TestOriginXCacheIgnored(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		cdn    string
		cache  string
	}{
		{"bare X-Cache identifies nothing", hdr("X-Cache", "HIT", "Server", "nginx"), Unknown, CacheUnknown},
		{"GitHub Pages origin cache headers", hdr("x-proxy-cache", "MISS", "x-origin-cache", "HIT"), Unknown, CacheUnknown},
		{"cloudflare keeps its own word", hdr("CF-RAY", "818bef0efadd4fcf-ORF", "X-Cache", "HIT", "cf-cache-status", "MISS"), "cloudflare", CacheMiss},
		{"cloudflare without cf-cache-status", hdr("CF-RAY", "818bef0efadd4fcf-ORF", "X-Cache", "HIT"), "cloudflare", CacheUnknown},
		{"vercel ignores X-Cache", hdr("x-vercel-id", "cdg1::abcde-1-2", "X-Cache", "HIT"), "vercel", CacheUnknown},
		{"cloudfront ignores an origin X-Cache", hdr("X-Amz-Cf-Pop", "FRA56-P4", "X-Cache", "HIT"), "cloudfront", CacheUnknown},
		{"akamai ignores an origin X-Cache", hdr("Server", "AkamaiGHost", "X-Cache", "HIT"), "akamai", CacheUnknown},
		{"unknown CDN with RFC 9211", hdr("Cache-Status", `Caddy; hit; ttl=30`), Unknown, CacheHit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NewIdentifier(nil).Identify(&Response{Header: tt.header})
			if got.CDN != tt.cdn || got.CacheStatus != tt.cache {
				t.Errorf("got cdn=%s cache=%s, want cdn=%s cache=%s", got.CDN, got.CacheStatus, tt.cdn, tt.cache)
			}
		})
	}
}

func TestTraceBodyOnlyOnTraceURL(t *testing.T) {
	body := []byte("fl=28f1\ncolo=SJC\nloc=CN\n")
	got := NewIdentifier(nil).Identify(&Response{URL: "https://example.com/notes.txt", Body: body, Header: hdr("Server", "nginx")})
	if got.CDN != Unknown {
		t.Errorf("a colo= line outside /cdn-cgi/trace identified %+v", got)
	}
	// loc= is the client's country and must never be read as a PoP.
	got = NewIdentifier(nil).Identify(&Response{URL: "https://1.1.1.1/cdn-cgi/trace", Body: []byte("fl=1\nloc=NL\n")})
	if got.CDN != Unknown || got.PoP != Unknown {
		t.Errorf("trace body without colo: got %+v", got)
	}
	// With CF-RAY present, the header decides and the body agrees.
	got = NewIdentifier(nil).Identify(&Response{URL: "https://1.1.1.1/cdn-cgi/trace", Body: body, Header: hdr("CF-RAY", "818bef0efadd4fcf-SJC")})
	if got.PoP != "SJC" || got.Source != "Cf-Ray" {
		t.Errorf("trace with CF-RAY: got %+v", got)
	}
}

func TestAkamaiEdgeIPRejectsGarbage(t *testing.T) {
	for _, v := range []string{
		"TCP_MISS from a23-202-158-270.deploy.akamaitechnologies.com (AkamaiGHost/11.3.0.1-51934483) (-)",
		"TCP_MISS from a23-202-158.deploy.akamaitechnologies.com",
		"TCP_MISS from a023-202-158-27.deploy.akamaitechnologies.com",
	} {
		got := NewIdentifier(nil).Identify(&Response{Header: hdr("X-Cache", v)})
		if got.CDN != "akamai" || got.EdgeIP != "" {
			t.Errorf("%q: got %+v, want akamai without edge IP", v, got)
		}
	}
}

func TestNilSafety(t *testing.T) {
	var id *Identifier
	if got := id.Identify(&Response{Header: hdr("CF-RAY", "818bef0efadd4fcf-ORF")}); got.PoP != "ORF" {
		t.Errorf("nil Identifier: got %+v", got)
	}
	if got := NewIdentifier(nil).Identify(nil); got != unknownResult() {
		t.Errorf("nil response: got %+v", got)
	}
	if got := NewIdentifier(nil).Identify(&Response{}); got != unknownResult() {
		t.Errorf("empty response: got %+v", got)
	}
}

func TestCDNsOrderAndLabels(t *testing.T) {
	want := strings.Split("cloudflare cloudfront fastly akamai azure vercel netlify fly bunny keycdn cdn77 gcore "+
		"edgecast stackpath alibaba tencent imperva sucuri arvancloud ovh cachefly google wikimedia "+
		"wangsu cdnetworks byteplus huawei baishan naver limelight myra qrator ddosguard f5xc wpvip kinsta wpengine cloudinary "+
		"squarespace wix render railway deno vk heroku varnish", " ")
	if got := CDNs(); !slices.Equal(got, want) {
		t.Errorf("CDNs() = %v, want %v", got, want)
	}
	CDNs()[0] = "mutated"
	if CDNs()[0] != "cloudflare" {
		t.Error("CDNs() returned the table's own slice")
	}
}

func TestCacheStatuses(t *testing.T) {
	want := []string{"hit", "miss", "expired", "stale", "revalidated", "bypass", "dynamic", "error", "unknown"}
	if got := CacheStatuses(); !slices.Equal(got, want) {
		t.Errorf("CacheStatuses() = %v, want %v", got, want)
	}
	for _, s := range want {
		if !ValidCacheStatus(s) {
			t.Errorf("ValidCacheStatus(%q) = false", s)
		}
	}
	for _, s := range []string{"", "HIT", "Hit", "other", "refresh"} {
		if ValidCacheStatus(s) {
			t.Errorf("ValidCacheStatus(%q) = true", s)
		}
	}
}

// TestVendorCacheWords checks every raw value of the reference's normalisation table through
// the header its CDN sends it in.
func TestVendorCacheWords(t *testing.T) {
	tests := []struct {
		detect []string // headers that identify the CDN
		header string
		values map[string]string
	}{
		{[]string{"CF-RAY", "818bef0efadd4fcf-ORF"}, "cf-cache-status", map[string]string{
			"HIT": CacheHit, "MISS": CacheMiss, "EXPIRED": CacheExpired, "STALE": CacheStale, "UPDATING": CacheStale,
			"REVALIDATED": CacheRevalidated, "BYPASS": CacheBypass, "DYNAMIC": CacheDynamic, "IGNORED": CacheDynamic,
			"NONE": CacheUnknown, "UNKNOWN": CacheUnknown,
		}},
		{[]string{"X-Amz-Cf-Pop", "FRA56-P4"}, "X-Cache", map[string]string{
			"Hit from cloudfront": CacheHit, "Miss from cloudfront": CacheMiss, "RefreshHit from cloudfront": CacheRevalidated,
			"Redirect from cloudfront": CacheDynamic, "FunctionGeneratedResponse from cloudfront": CacheDynamic,
			"LambdaGeneratedResponse from cloudfront": CacheDynamic, "Error from cloudfront": CacheError,
			"LimitExceeded from cloudfront": CacheError, "CapacityExceeded from cloudfront": CacheError,
		}},
		{[]string{"X-Served-By", "cache-fra1229-FRA"}, "X-Cache", map[string]string{
			"HIT": CacheHit, "HIT-CLUSTER": CacheHit, "HIT-SYNTH": CacheHit, "MISS": CacheMiss, "PASS": CacheBypass,
			"HIT-STALE": CacheStale,
		}},
		{[]string{"Server", "AkamaiGHost"}, "Akamai-Cache-Status", map[string]string{
			"Hit from child": CacheHit, "Miss from child": CacheMiss, "Miss from child, Miss from parent": CacheMiss,
			"HitStale from child": CacheStale, "RefreshHit from child": CacheRevalidated, "NotCacheable from child": CacheBypass,
			"Constructed from child": CacheDynamic, "Redirect from child": CacheDynamic, "Error from child": CacheError,
		}},
		{[]string{"Server", "AkamaiGHost"}, "X-Cache", map[string]string{
			"TCP_HIT from a1-2-3-4.deploy.akamaitechnologies.com (AkamaiGHost/11.3.0.1-51934483) (-)":     CacheHit,
			"TCP_MEM_HIT from a1-2-3-4.deploy.akamaitechnologies.com (AkamaiGHost/11.3.0.1-51934483) (-)": CacheHit,
			"TCP_IMS_HIT from a1-2-3-4.deploy.akamaitechnologies.com (AkamaiGHost/11.3.0.1-51934483) (-)": CacheHit,
			"TCP_NEGATIVE_HIT from a1-2-3-4.deploy.akamaitechnologies.com (AkamaiGHost/11.3.0.1)":         CacheHit,
			"TCP_REFRESH_MISS from a1-2-3-4.deploy.akamaitechnologies.com (AkamaiGHost/11.3.0.1)":         CacheExpired,
			"TCP_REFRESH_FAIL_HIT from a1-2-3-4.deploy.akamaitechnologies.com (AkamaiGHost/11.3.0.1)":     CacheStale,
			"TCP_REFRESH_HIT from a1-2-3-4.deploy.akamaitechnologies.com (AkamaiGHost/11.3.0.1)":          CacheRevalidated,
			"TCP_DENIED from a1-2-3-4.deploy.akamaitechnologies.com (AkamaiGHost/11.3.0.1) (-)":           CacheError,
			"TCP_MISS from a1-2-3-4.deploy.akamaitechnologies.com (AkamaiGHost/11.3.0.1-51934483) (-)":    CacheMiss,
		}},
		{[]string{"X-Azure-Ref", "20231204T013354Z-wbvs0z5ed12v92zt1drx38dua40000000tt000000000989r"}, "X-Cache", map[string]string{
			"TCP_HIT": CacheHit, "TCP_REMOTE_HIT": CacheHit, "TCP_MISS": CacheMiss, "TCP_EXPIRED_MISS": CacheExpired,
			"PRIVATE_NOSTORE": CacheBypass, "CONFIG_NOCACHE": CacheBypass, "TCP_CLIENT_REFRESH_MISS": CacheBypass,
			"UNCACHEABLE": CacheDynamic, "N/A": CacheError,
		}},
		{[]string{"X-Vercel-Id", "cdg1::abcde-1-2"}, "X-Vercel-Cache", map[string]string{
			"HIT": CacheHit, "PRERENDER": CacheHit, "MISS": CacheMiss, "STALE": CacheStale,
			"REVALIDATED": CacheRevalidated, "BYPASS": CacheBypass,
		}},
		{[]string{"EO-LOG-UUID", "1"}, "EO-Cache-Status", map[string]string{
			"HIT": CacheHit, "MISS": CacheMiss, "RefreshHit": CacheRevalidated,
		}},
		{[]string{"Server", "keycdn-engine"}, "X-Cache", map[string]string{
			"HIT": CacheHit, "MISS": CacheMiss, "EXPIRED": CacheExpired, "STALE": CacheStale, "UPDATING": CacheStale,
			"REVALIDATED": CacheRevalidated,
		}},
		{[]string{"X-Iinfo", "1-2-3 PNNN"}, "X-Iinfo", map[string]string{
			"9-49176764-0 0CNN RT(1 0)": CacheHit, "9-49176764-0 0VNN RT(1 0)": CacheRevalidated, "5-17009424-17011001 PNNN": CacheMiss,
		}},
		{[]string{"X-Cache", "cp1085 hit, cp1081 hit/13"}, "X-Cache-Status", map[string]string{
			"hit-front": CacheHit, "hit-local": CacheHit, "miss": CacheMiss, "pass": CacheBypass, "int-front": CacheDynamic,
		}},
	}
	for _, tt := range tests {
		for raw, want := range tt.values {
			h := hdr(tt.detect...)
			if tt.header == tt.detect[0] {
				h = http.Header{}
			}
			h.Add(tt.header, raw)
			got := NewIdentifier(nil).Identify(&Response{Header: h})
			if got.CacheStatus != want {
				t.Errorf("%s on %s: %s: %q → %s, want %s", tt.detect[0], got.CDN, tt.header, raw, got.CacheStatus, want)
			}
		}
	}
}

// TestAnycast: the anycast property marks the CDNs whose connected address must never be
// geolocated as a PoP, and nothing else.
func TestAnycast(t *testing.T) {
	for _, cdn := range []string{"cloudflare", "fastly", "google", "imperva", "sucuri", "vercel", "fly",
		"myra", "qrator", "ddosguard", "f5xc", "deno"} {
		if !Anycast(cdn) {
			t.Errorf("Anycast(%q) = false", cdn)
		}
	}
	for _, cdn := range []string{"akamai", "netlify", "cloudfront", "tencent", "alibaba", "varnish", "wangsu",
		"byteplus", "heroku", Unknown, "mycdn", ""} {
		if Anycast(cdn) {
			t.Errorf("Anycast(%q) = true", cdn)
		}
	}
}
