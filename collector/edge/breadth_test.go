package edge

import (
	"net/http"
	"testing"
)

// breadthSamples are the CDNs, platforms and header generations added after the first 24
// rows, each from a public capture or vendor document named in source. Where a repository path
// could not be had, source names the capture itself (site, date, header values) as quoted in
// public code. They run with the other samples (TestIdentifySamples, TestEveryCDNHasTwoSamples).
var breadthSamples = []sample{
	// Wangsu / ChinaNetCenter
	{
		name: "wangsu X-Via with a PS node", source: "github.com/Ekultek/WhatWaf/issues/328 (183.134.53.49:8082, 2019-07-31)",
		status: 400,
		header: hdr("Server", "Cdn Cache Server V2.0", "X-Cache-Error", "ERR_INVALID_URL 0",
			"X-Via", "1.0 PSzjjxdx6dp50:3 (Cdn Cache Server V2.0)[0 400 3]"),
		want: Result{CDN: "wangsu", PoP: "ZJJXDX", RawPoP: "zjjxdx", CacheStatus: CacheUnknown, Source: "X-Via"},
	},
	{
		name: "wangsu X-Via plain node", source: "github.com/Ekultek/WhatWaf/issues/326 (112.29.194.67:8081, 2019-07-31)",
		status: 400,
		header: hdr("Server", "Cdn Cache Server V2.0", "X-Via", "1.0 yidong67:5 (Cdn Cache Server V2.0)[0 400 3]"),
		want:   Result{CDN: "wangsu", PoP: "YIDONG", RawPoP: "yidong", CacheStatus: CacheUnknown, Source: "X-Via"},
	},
	{
		name: "wangsu two X-Via hops: the last is the edge, the first its parent", source: "Qiniu developer documentation, error-response example (X-Via of two Wangsu hops behind an origin's nginx/1.0.14)",
		status: 400,
		header: hdr("Server", "nginx/1.0.14", "X-Via", "1.1 jssq179:8080 (Cdn Cache Server V2.0), 1.1 jsyc96:9080 (Cdn Cache Server V2.0)"),
		want:   Result{CDN: "wangsu", PoP: "JSYC", RawPoP: "jsyc", UpstreamPoP: "JSSQ", CacheStatus: CacheUnknown, Source: "X-Via"},
	},

	// CDNetworks
	{
		name: "cdnetworks X-Px", source: "capture of a sina.com.cn response of 2016-07-08 quoted in public code (Server: PWS/8.1.38, X-Px: ht h0-s1021.p12-sjc.cdngp.net)",
		header: hdr("Server", "PWS/8.1.38", "X-Px", "ht h0-s1021.p12-sjc.cdngp.net", "Age", "84"),
		want:   Result{CDN: "cdnetworks", PoP: "SJC", RawPoP: "sjc", CacheStatus: CacheUnknown, Source: "X-Px"},
	},
	{
		name: "cdnetworks X-Px without PWS Server", source: "X-Px example `ht h0-s204.p5-cdg.cdngp.net` in a public CDN finder's CDNetworks detection (`Header (X-Px)`)",
		header: hdr("X-Px", "ht h0-s204.p5-cdg.cdngp.net"),
		want:   Result{CDN: "cdnetworks", PoP: "CDG", RawPoP: "cdg", CacheStatus: CacheUnknown, Source: "X-Px"},
	},

	// BytePlus / Volcano Engine
	{
		name: "byteplus hit", source: "public capture (2022-07) quoted in GitHub code: server: Byte-nginx, via: cache08.gdcu, x-bdcdn-cache-status: TCP_HIT; header names: github.com/steelcutoatmeal/cdnperf cdnprobe/providers/byteplus.py",
		header: hdr("server", "Byte-nginx", "via", "cache08.gdcu", "x-bdcdn-cache-status", "TCP_HIT"),
		want:   Result{CDN: "byteplus", PoP: "GDCU", RawPoP: "gdcu", CacheStatus: CacheHit, Source: "Via"},
	},
	{
		name: "byteplus two tiers: the last hop and word are the edge", source: "public capture (2023-05-24) quoted in GitHub code: Via: cache73.czmp,cache05.tycm06, X-Bdcdn-Cache-Status: TCP_MISS,TCP_MISS, X-Response-Cache: miss",
		header: hdr("Via", "cache73.czmp,cache05.tycm06", "X-Bdcdn-Cache-Status", "TCP_MISS,TCP_MISS", "X-Response-Cache", "miss"),
		want:   Result{CDN: "byteplus", PoP: "TYCM06", RawPoP: "tycm06", CacheStatus: CacheMiss, Source: "Via"},
	},
	{
		name: "byteplus behind cloudflare is cloudflare", source: "public capture quoted in GitHub code: Server: cloudflare with X-Bdcdn-Cache-Status: TCP_MISS,TCP_MISS and X-Request-Ip 172.69.150.169 (a Cloudflare address: Cloudflare fetched from BytePlus)",
		header: hdr("Server", "cloudflare", "X-Bdcdn-Cache-Status", "TCP_MISS,TCP_MISS", "X-Request-Ip", "172.69.150.169"),
		want:   Result{CDN: "cloudflare", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Server"},
	},

	// Huawei Cloud CDN
	{
		name: "huawei edge tier first in Via", source: "public capture quoted in GitHub test code: via: CHN-ZJwenzhou-AREACT1-CACHE66[117],CHN-ZJwenzhou-AREACT1-CACHE4[80,TCP_MISS,115],CHN-JSwuxi-GLOBAL2-CACHE103[66],CHN-JSwuxi-GLOBAL2-CACHE4[62,TCP_MISS,64], x-hcs-proxy-type: 0, X-CCDN-CacheTTL: 0",
		header: hdr("via", "CHN-ZJwenzhou-AREACT1-CACHE66[117],CHN-ZJwenzhou-AREACT1-CACHE4[80,TCP_MISS,115],CHN-JSwuxi-GLOBAL2-CACHE103[66],CHN-JSwuxi-GLOBAL2-CACHE4[62,TCP_MISS,64]",
			"x-hcs-proxy-type", "0", "X-CCDN-CacheTTL", "0", "X-CCDN-REQ-ID-46B1", "61b0b5983a9ed0c7202e2c79172cced7", "Cache-Control", "max-age=60"),
		want: Result{CDN: "huawei", PoP: "CHNZJWENZHOU", RawPoP: "CHN-ZJwenzhou", CacheStatus: CacheMiss, Source: "Via"},
	},
	{
		name: "huawei parent tiers only: detected, no PoP", source: "public capture quoted in GitHub code (the visible end of its Via: CHN-JSwuxi-GLOBAL2-CACHE74[0,TCP_HIT,2],CHN-SH-GLOBAL1-CACHE92[589],…, X-Hcs-Proxy-Type: 1, X-Ccdn-Cachettl: 31536000, X-Ccdn-Expires: 30684021, Nginx-Hit: 1)",
		header: hdr("Via", "CHN-JSwuxi-GLOBAL2-CACHE74[0,TCP_HIT,2],CHN-SH-GLOBAL1-CACHE92[589],CHN-SH-GLOBAL1-CACHE152[555,TCP_MISS,588],CHN-HElangfang-GLOBAL2-CACHE41[493],CHN-HElangfang-GLOBAL2-CACHE24[487,TCP_MISS,491]",
			"X-Hcs-Proxy-Type", "1", "X-Ccdn-Cachettl", "31536000", "X-Ccdn-Expires", "30684021", "Nginx-Hit", "1", "Age", "851993"),
		want: Result{CDN: "huawei", PoP: Unknown, CacheStatus: CacheHit, Source: "X-Hcs-Proxy-Type"},
	},

	// BaishanCloud
	{
		name: "baishan X-Ser: the last node answered", source: "public capture of dlied6.qq.com (2019) quoted in GitHub code: X-Ser: BC155_dx-lt-shandong-qingdao-2-cache-2, BC90_dx-zhejiang-jinhua-4-cache-4, X-Cache: HIT from BC90_dx-zhejiang-jinhua-4-cache-4(baishan)",
		header: hdr("Server", "Tengine", "X-Ser", "BC155_dx-lt-shandong-qingdao-2-cache-2, BC90_dx-zhejiang-jinhua-4-cache-4",
			"X-Cache", "HIT from BC90_dx-zhejiang-jinhua-4-cache-4(baishan)"),
		want: Result{CDN: "baishan", PoP: "JINHUA4", RawPoP: "jinhua-4", UpstreamPoP: "QINGDAO2", CacheStatus: CacheHit, Source: "X-Ser"},
	},
	{
		name: "baishan block page", source: "public capture of 2021-06-29 quoted in GitHub test code: 403, Server: web cache, X-Ser: BC22_dx-guangdong-zhuhai-16-cache-5, X-Cache-Remote: HIT, cdn-source: baishan",
		status: 403,
		header: hdr("Server", "web cache", "X-Ser", "BC22_dx-guangdong-zhuhai-16-cache-5", "X-Cache-Remote", "HIT", "cdn-source", "baishan"),
		want:   Result{CDN: "baishan", PoP: "ZHUHAI16", RawPoP: "zhuhai-16", CacheStatus: CacheUnknown, Source: "X-Ser"},
	},
	{
		name: "baishan three nodes", source: "www.163.com response headers printed by public example code: X-Ser: BC51_dx-lt-yd-shandong-jinan-5-cache-6, BC18_dx-lt-yd-shandong-jinan-5-cache-6, BC79_dx-guangdong-jiangmen-7-cache-4",
		header: hdr("Server", "nginx", "X-Ser", "BC51_dx-lt-yd-shandong-jinan-5-cache-6, BC18_dx-lt-yd-shandong-jinan-5-cache-6, BC79_dx-guangdong-jiangmen-7-cache-4"),
		want:   Result{CDN: "baishan", PoP: "JIANGMEN7", RawPoP: "jiangmen-7", UpstreamPoP: "JINAN5", CacheStatus: CacheUnknown, Source: "X-Ser"},
	},
	{
		name: "baishan in front of qiniu", source: "curl -v capture of 2018-04-05 quoted in GitHub notes: X-Qnm-Cache: Hit (Qiniu), X-Ser: BC23_dx-lt-yd-shandong-jinan-5-cache-8, BC12_dx-jiangsu-yancheng-3-cache-1, X-Cache: HIT from BC12_dx-jiangsu-yancheng-3-cache-1(baishan)",
		header: hdr("Server", "nginx", "X-Qnm-Cache", "Hit", "X-Ser", "BC23_dx-lt-yd-shandong-jinan-5-cache-8, BC12_dx-jiangsu-yancheng-3-cache-1",
			"X-Cache", "HIT from BC12_dx-jiangsu-yancheng-3-cache-1(baishan)"),
		want: Result{CDN: "baishan", PoP: "YANCHENG3", RawPoP: "yancheng-3", UpstreamPoP: "JINAN5", CacheStatus: CacheHit, Source: "X-Ser"},
	},

	// VK
	{
		name: "vk front end", source: "github.com/phonedude/cs533-f23 curl dumps (curl -ILk vk.com: HTTP/1.1 418, Server: kittenx, X-Frontend: front224006)",
		status: 418,
		header: hdr("Server", "kittenx", "X-Frontend", "front224006", "Access-Control-Expose-Headers", "X-Frontend"),
		want:   Result{CDN: "vk", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Server"},
	},
	{
		name: "vk redirect", source: "curl -v capture of 2022-02-14 quoted in public code: HTTP/1.1 301, Server: kittenx, Location: https://vk.com/",
		status: 301,
		header: hdr("Server", "kittenx", "Content-Type", "text/html", "Location", "https://vk.com/"),
		want:   Result{CDN: "vk", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Server"},
	},

	// Naver
	{
		name: "naver redirect", source: "curl -v of www.naver.com (2025-10-04) quoted in GitHub notes: Location: https://www.naver.com/, Referrer-Policy: unsafe-url, Server: nfront, Vary: Accept-Encoding,User-Agent",
		status: 301,
		header: hdr("Content-Type", "text/html", "Location", "https://www.naver.com/", "Referrer-Policy", "unsafe-url", "Server", "nfront", "Vary", "Accept-Encoding,User-Agent"),
		want:   Result{CDN: "naver", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Server"},
	},
	{
		name: "naver rate limit", source: "public notes on Naver SmartStore quoted in GitHub: 429 with `server: nfront` and no Retry-After",
		status: 429,
		header: hdr("server", "nfront"),
		want:   Result{CDN: "naver", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Server"},
	},

	// Limelight / Edgio Delivery
	{
		name: "limelight EdgePrism redirect", source: "capture of a www.nasa.gov video redirect (2018-11-21) quoted in public code: Server = \"EdgePrism/4.6.1.0\", Content-Length 0, Location …",
		status: 302,
		header: hdr("Server", "EdgePrism/4.6.1.0", "Content-Length", "0", "Location", "https://www.nasa.gov/sites/default/files/atoms/video/285_lightningacrosssolarsystem.mp4"),
		want:   Result{CDN: "limelight", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Server"},
	},
	{
		name: "limelight Via names the site, debug header the cache", source: "github.com/edgio-docs/edgio-docs guides/delivery/delivery/guide/features.md (Via: 1.1 cds539.lax.llnw.net:80(EdgePrism/4.0.0.3); X-LLNW-Dbg-Is-Cacheable: Yes, X-LLNW-Dbg-Cache-Hit-Type: HIT)",
		header: hdr("Via", "1.1 cds539.lax.llnw.net:80(EdgePrism/4.0.0.3)", "X-LLNW-Dbg-Is-Cacheable", "Yes", "X-LLNW-Dbg-Cache-Hit-Type", "HIT"),
		want:   Result{CDN: "limelight", PoP: "LAX", RawPoP: "lax", CacheStatus: CacheHit, Source: "Via"},
	},
	{
		name: "limelight refresh hit and the edge address", source: "github.com/edgio-docs/edgio-docs guides/delivery/delivery/guide/features.md (REFRESH_HIT) and guides/delivery/control/configure/caching_and_delivery.md (X-IP-Address); the address is of the documented log example's edge (185.76.48.149)",
		header: hdr("X-LLNW-Dbg-Cache-Hit-Type", "REFRESH_HIT", "X-IP-Address", "185.76.48.149"),
		want:   Result{CDN: "limelight", PoP: Unknown, CacheStatus: CacheRevalidated, EdgeIP: "185.76.48.149", Source: "X-Llnw-Dbg-Cache-Hit-Type"},
	},
	{
		name: "limelight request id", source: "public capture of 2023-05-15 quoted in GitHub notes (HTTP/2.0 404, x-amcn-cache: MISS, x-llid: ab3cd1cdbdb7b80adde1a535a486570a)",
		status: 404,
		header: hdr("content-type", "application/json; charset=utf-8", "x-amcn-cache", "MISS", "x-llid", "ab3cd1cdbdb7b80adde1a535a486570a"),
		want:   Result{CDN: "limelight", PoP: Unknown, CacheStatus: CacheUnknown, Source: "X-Llid"},
	},

	// Myra Security
	{
		name: "myra", source: "public curl capture of warnung.bund.de (2026-08) quoted in GitHub code: HTTP/1.1 200, Server: myracloud",
		header: hdr("Server", "myracloud", "Content-Type", "application/json"),
		want:   Result{CDN: "myra", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Server"},
	},
	{
		name: "myra redirect", source: "github.com/phonedude/cs533-f23 assignments/Arcand/3/response_files/php.net.txt (php.net, 2023-10-14: HTTP/1.1 301, Server: myracloud, Content-Type: text/html)",
		status: 301,
		header: hdr("Server", "myracloud", "Content-Type", "text/html"),
		want:   Result{CDN: "myra", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Server"},
	},

	// Qrator
	{
		name: "qrator", source: "github.com/EnableSecurity/wafw00f wafw00f/plugins/qrator.py (Server: QRATOR)",
		header: hdr("Server", "QRATOR"),
		want:   Result{CDN: "qrator", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Server"},
	},
	{
		name: "qrator block page", source: "github.com/EnableSecurity/wafw00f wafw00f/plugins/qrator.py (Server: QRATOR on its block responses)",
		status: 403,
		header: hdr("Server", "QRATOR", "Content-Type", "text/html"),
		want:   Result{CDN: "qrator", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Server"},
	},

	// DDoS-Guard
	{
		name: "ddosguard challenge", source: "github.com/Ekultek/WhatWaf/issues/1005 (apteka.ru, 2020-12-26)",
		status: 403,
		header: hdr("Server", "ddos-guard", "Set-Cookie", "__ddg3=Qf3cEK5OpZHbAuzG; Domain=.apteka.ru; Path=/; Expires=Sun, 27-Dec-2020 11:35:22 GMT"),
		want:   Result{CDN: "ddosguard", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Server"},
	},
	{
		name: "ddosguard cookie only", source: "cookie names: github.com/EnableSecurity/wafw00f wafw00f/plugins/ddosguard.py (__ddg1, __ddg2) and github.com/Ljzd-PRO/KToolBox/issues/269; cookie value as in WhatWaf issue 1005",
		header: hdr("Server", "nginx", "Set-Cookie", "__ddg1_=Qf3cEK5OpZHbAuzG; Path=/"),
		want:   Result{CDN: "ddosguard", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Set-Cookie"},
	},

	// F5 Distributed Cloud (Volterra)
	{
		name: "f5xc WAF block names its metro", source: "public curl capture (2024-07-31) quoted in GitHub docs: HTTP/2 403, server: volt-adc, x-volterra-location: pa4-par; header names: github.com/enthec/webappanalyzer src/technologies/f.json",
		status: 403,
		header: hdr("server", "volt-adc", "x-volterra-location", "pa4-par", "cache-control", "no-cache"),
		want:   Result{CDN: "f5xc", PoP: "PAR", RawPoP: "par", CacheStatus: CacheUnknown, Source: "X-Volterra-Location"},
	},
	{
		name: "f5xc three-part site", source: "public capture quoted in GitHub notes: server: volt-adc, x-volterra-location: b-sv10-sjc (San Jose)",
		header: hdr("server", "volt-adc", "x-volterra-location", "b-sv10-sjc"),
		want:   Result{CDN: "f5xc", PoP: "SJC", RawPoP: "sjc", CacheStatus: CacheUnknown, Source: "X-Volterra-Location"},
	},
	{
		name: "f5xc Ashburn", source: "github.com/phonedude/cs533-f23 assignments/Arcand/3/response_files/nginx.com.txt (nginx.com, 2023-10-14: 301, x-volterra-location: dc12-ash, server: volt-adc)",
		header: hdr("x-volterra-location", "dc12-ash", "server", "volt-adc"),
		want:   Result{CDN: "f5xc", PoP: "ASH", RawPoP: "ash", CacheStatus: CacheUnknown, Source: "X-Volterra-Location"},
	},

	// WordPress VIP
	{
		name: "wpvip X-Rq names the edge", source: "X-Powered-By: github.com/Automattic/vip-go-mu-plugins 000-vip-init.php; X-Rq: dca8 181 253 80 in a public capture of a VIP site quoted in GitHub code; city abbreviations: docs.wpvip.com/infrastructure/edge-cache/target-a-location/",
		header: hdr("Server", "nginx", "X-Powered-By", "WordPress VIP <https://wpvip.com>", "X-Rq", "dca8 181 253 80"),
		want:   Result{CDN: "wpvip", PoP: "DCA", RawPoP: "dca", CacheStatus: CacheUnknown, Source: "X-Rq"},
	},
	{
		name: "wpvip without X-Rq", source: "curl -sI of a WordPress VIP backend quoted in GitHub notes (server: nginx, x-powered-by: WordPress VIP <https://wpvip.com>)",
		header: hdr("server", "nginx", "x-powered-by", "WordPress VIP <https://wpvip.com>"),
		want:   Result{CDN: "wpvip", PoP: Unknown, CacheStatus: CacheUnknown, Source: "X-Powered-By"},
	},

	// Kinsta
	{
		name: "kinsta page cache hit", source: "public capture quoted in GitHub code (Ki-Origin: g1p, X-Kinsta-Cache: HIT); header name: github.com/enthec/webappanalyzer src/technologies/k.json",
		header: hdr("Ki-Origin", "g1p", "X-Kinsta-Cache", "HIT", "X-Edge-Location-Klb", "1"),
		want:   Result{CDN: "kinsta", PoP: Unknown, CacheStatus: CacheHit, Source: "X-Kinsta-Cache"},
	},
	{
		name: "kinsta behind cloudflare is cloudflare", source: "public notes quoted in GitHub code: `CF-Cache-Status: HIT`, `x-kinsta-cache: HIT` on one response",
		header: hdr("CF-Cache-Status", "HIT", "x-kinsta-cache", "HIT"),
		want:   Result{CDN: "cloudflare", PoP: Unknown, CacheStatus: CacheHit, Source: "Cf-Cache-Status"},
	},

	{
		name: "kinsta cache bypass", source: "public notes quoted in GitHub code: the cache-busted render answered `x-kinsta-cache: BYPASS`",
		header: hdr("x-kinsta-cache", "BYPASS"),
		want:   Result{CDN: "kinsta", PoP: Unknown, CacheStatus: CacheBypass, Source: "X-Kinsta-Cache"},
	},

	// WP Engine
	{
		name: "wpengine", source: "github.com/enthec/webappanalyzer src/technologies/w.json (X-Powered-By: WP Engine, wpe-backend); `wpe-backend: apache` as noted in intrigue-core's WP Engine check",
		header: hdr("X-Powered-By", "WP Engine", "Wpe-Backend", "apache"),
		want:   Result{CDN: "wpengine", PoP: Unknown, CacheStatus: CacheUnknown, Source: "X-Powered-By"},
	},
	{
		name: "wpengine backend header only", source: "`wpe-backend: apache` as noted in intrigue-core's WP Engine check; header: github.com/enthec/webappanalyzer src/technologies/w.json",
		header: hdr("wpe-backend", "apache"),
		want:   Result{CDN: "wpengine", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Wpe-Backend"},
	},

	// Cloudinary
	{
		name: "cloudinary", source: "github.com/Ekultek/WhatWaf/issues/149 (images.stylonomy.com, 2018-11-22)",
		status: 401,
		header: hdr("Server", "cloudinary", "X-Cld-Error", "Unknown customer shoppergasm", "X-Request-Id", "b88621499d4dc9b7"),
		want:   Result{CDN: "cloudinary", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Server"},
	},
	{
		name: "cloudinary error header without its Server", source: "github.com/Ekultek/WhatWaf/issues/149 (the X-Cld-Error of that capture, Server rewritten by a proxy)",
		status: 401,
		header: hdr("Server", "nginx", "X-Cld-Error", "Unknown customer shoppergasm"),
		want:   Result{CDN: "cloudinary", PoP: Unknown, CacheStatus: CacheUnknown, Source: "X-Cld-Error"},
	},

	// Squarespace
	{
		name: "squarespace", source: "github.com/EnableSecurity/wafw00f wafw00f/plugins/squarespace.py; curl -I of a parked Squarespace site quoted in GitHub notes (HTTP/2 200, server: Squarespace)",
		header: hdr("server", "Squarespace"),
		want:   Result{CDN: "squarespace", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Server"},
	},
	{
		name: "squarespace 404", source: "curl capture quoted in GitHub notes (2026-08-27): `Server: Squarespace` and 404 for /about",
		status: 404,
		header: hdr("Server", "Squarespace"),
		want:   Result{CDN: "squarespace", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Server"},
	},

	// Wix
	{
		name: "wix", source: "public capture quoted in GitHub code (X-Wix-Request-Id sent twice); header: github.com/enthec/webappanalyzer src/technologies/w.json",
		header: hdr("X-Wix-Request-Id", "1755591144.079172597310943348307", "X-Wix-Request-Id", "1755591144.079172597310943348307", "Cache-Control", "no-store, no-cache"),
		want:   Result{CDN: "wix", PoP: Unknown, CacheStatus: CacheUnknown, Source: "X-Wix-Request-Id"},
	},
	{
		name: "wix Pepyaka", source: "curl -sSI capture quoted in GitHub notes: HTTP/2 404, server: Pepyaka (Wix's edge server)",
		status: 404,
		header: hdr("server", "Pepyaka"),
		want:   Result{CDN: "wix", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Server"},
	},

	// Render
	{
		name: "render request id", source: "Render documentation on the Rndr-Id header (example `Rndr-Id: 58ebfa3c3-8929-4885`)",
		header: hdr("Rndr-Id", "58ebfa3c3-8929-4885"),
		want:   Result{CDN: "render", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Rndr-Id"},
	},
	{
		name: "render origin server", source: "github.com/enthec/webappanalyzer src/technologies/r.json (x-render-origin-server: Render)",
		header: hdr("x-render-origin-server", "Render"),
		want:   Result{CDN: "render", PoP: Unknown, CacheStatus: CacheUnknown, Source: "X-Render-Origin-Server"},
	},
	{
		name: "render behind cloudflare is cloudflare", source: "public curl capture quoted in GitHub notes (2026-09-29): cf-cache-status: DYNAMIC, rndr-id: 65273441-6df5-4e1f, server: cloudflare, x-render-origin-server: uvicorn, cf-ray: a4285b99e8e15dee-HKG",
		header: hdr("cf-cache-status", "DYNAMIC", "rndr-id", "65273441-6df5-4e1f", "server", "cloudflare",
			"x-render-origin-server", "uvicorn", "cf-ray", "a4285b99e8e15dee-HKG"),
		want: Result{CDN: "cloudflare", PoP: "HKG", RawPoP: "HKG", CacheStatus: CacheDynamic, Source: "Cf-Ray"},
	},

	// Railway
	{
		name: "railway edge region", source: "public curl capture quoted in GitHub notes (2026-01-21): 401, Server: railway-edge, X-Railway-Edge: railway/us-west2, X-Railway-Request-Id: ucE8S2t-Qn6AKhHY0_TJvA; the X-Railway-Edge value is in the header table of github.com/railwayapp/docs content/docs/networking/edge-networking.md at 6b2cbc2361ca (2026-02-06)",
		status: 401,
		header: hdr("Server", "railway-edge", "X-Railway-Edge", "railway/us-west2", "X-Railway-Request-Id", "ucE8S2t-Qn6AKhHY0_TJvA"),
		want:   Result{CDN: "railway", PoP: "USWEST2", RawPoP: "us-west2", CacheStatus: CacheUnknown, Source: "X-Railway-Edge"},
	},
	{
		name: "railway metal site", source: "public capture quoted in GitHub notes (2025-12-27): server: railway-edge, x-railway-edge: railway/europe-west4-drams3a, x-railway-request-id: 3BsSCxDDT8uq2MeOw9P4nw; the X-Railway-Edge value is in the header table of github.com/railwayapp/docs content/docs/networking/edge-networking.md at 6b2cbc2361ca (2026-02-06)",
		status: 404,
		header: hdr("server", "railway-edge", "x-railway-edge", "railway/europe-west4-drams3a", "x-railway-request-id", "3BsSCxDDT8uq2MeOw9P4nw"),
		want:   Result{CDN: "railway", PoP: "EUROPEWEST4", RawPoP: "europe-west4", CacheStatus: CacheUnknown, Source: "X-Railway-Edge"},
	},
	{
		name: "railway hikari generation", source: "public capture quoted in GitHub API docs (2026-06-03): server: railway-hikari, x-hikari-trace: sin1.nzn2, x-railway-edge: railway/asia-southeast1-eqsg3a; the X-Railway-Edge value is in the header table of github.com/railwayapp/docs content/docs/networking/edge-networking.md at 6b2cbc2361ca (2026-02-06)",
		header: hdr("server", "railway-hikari", "x-hikari-trace", "sin1.nzn2", "x-railway-edge", "railway/asia-southeast1-eqsg3a", "x-railway-request-id", "DvsXhjI3Q22ZBPla-8Y8hA"),
		want:   Result{CDN: "railway", PoP: "ASIASOUTHEAST1", RawPoP: "asia-southeast1", CacheStatus: CacheUnknown, Source: "X-Railway-Edge"},
	},

	{
		name: "railway POP generation with the debug zone", source: "github.com/railwayapp/docs content/guides/multi-region-api-failover.md (response to X-Railway-Debug: x-railway-edge: ams1, x-railway-upstream-zone: railway/europe-west4-drams3a)",
		header: hdr("x-railway-edge", "ams1", "x-railway-upstream-zone", "railway/europe-west4-drams3a"),
		want:   Result{CDN: "railway", PoP: "AMS", RawPoP: "ams1", UpstreamPoP: "EUROPEWEST4", CacheStatus: CacheUnknown, Source: "X-Railway-Edge"},
	},
	{
		name: "railway POP generation, Ashburn", source: "github.com/railwayapp/docs content/docs/networking/edge-networking.md (X-Railway-Edge: iad1, an Ashburn POP)",
		header: hdr("X-Railway-Edge", "iad1"),
		want:   Result{CDN: "railway", PoP: "IAD", RawPoP: "iad1", CacheStatus: CacheUnknown, Source: "X-Railway-Edge"},
	},

	// Deno Deploy
	{
		name: "deno zone generation", source: "curl -I https://deno.land → server: deno/us-east4-a (deno.com blog post on Deno Deploy, quoted in public notes)",
		header: hdr("server", "deno/us-east4-a"),
		want:   Result{CDN: "deno", PoP: "USEAST4", RawPoP: "us-east4", CacheStatus: CacheUnknown, Source: "Server"},
	},
	{
		name: "deno zone in Europe", source: "public blog post quoted on GitHub: `server: deno/europe-west9-c` (Paris)",
		header: hdr("server", "deno/europe-west9-c"),
		want:   Result{CDN: "deno", PoP: "EUROPEWEST9", RawPoP: "europe-west9", CacheStatus: CacheUnknown, Source: "Server"},
	},
	{
		name: "deno gcp region generation", source: "public API notes quoted on GitHub (orderfoodonline.deno.dev): server: deno/gcp-asia-southeast1",
		header: hdr("content-type", "application/json; charset=UTF-8", "server", "deno/gcp-asia-southeast1"),
		want:   Result{CDN: "deno", PoP: "ASIASOUTHEAST1", RawPoP: "asia-southeast1", CacheStatus: CacheUnknown, Source: "Server"},
	},
	{
		name: "deno behind cloudfront is cloudfront", source: "public capture of 2023-01-19 quoted in GitHub code: Server: deno/gcp-asia-northeast1, Via: http/1.1 edgeproxy-h, x-amz-cf-id",
		header: hdr("Server", "deno/gcp-asia-northeast1", "Via", "http/1.1 edgeproxy-h",
			"x-amz-cf-id", "XC6EXcrFVMNRRovmyYwlNmWWisceHlPkF70hEgfbgGrKxy9TKQnB"),
		want: Result{CDN: "cloudfront", PoP: Unknown, CacheStatus: CacheUnknown, Source: "X-Amz-Cf-Id"},
	},

	// Heroku
	{
		name: "heroku router 2.0", source: "public capture quoted in GitHub test code: server: Heroku, via: 1.1 heroku-router, x-powered-by: Express",
		header: hdr("Server", "Heroku", "Via", "1.1 heroku-router", "X-Powered-By", "Express"),
		want:   Result{CDN: "heroku", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Via"},
	},
	{
		name: "heroku vegur router", source: "github.com/enthec/webappanalyzer src/technologies/h.json (Via `[\\d.-]+ vegur$`)",
		header: hdr("Via", "1.1 vegur"),
		want:   Result{CDN: "heroku", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Via"},
	},

	// Header generations of known CDNs.
	{
		name: "alibaba ENS edge-node Via hop (l2 tier: detected, no PoP)", source: "github.com/steelcutoatmeal/cdnperf cdnprobe/providers/alibaba.py (`ens-cache29.l2us4[231,230,404-1280,M]`)",
		header: hdr("Via", "ens-cache29.l2us4[231,230,404-1280,M]"),
		want:   Result{CDN: "alibaba", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Via"},
	},
	{
		name: "cdn77 2021 generation: storage and load-balancer tiers", source: "CDN77 Storage response of 2021 quoted in public code (x-edge-ip, x-edge-location: pragueCZ, x-cache: HIT, x-cache-lb: HIT, x-age-lb, x-77-cache: HIT, x-77-pop: frankfurtDE, server: CDN77-Turbo)",
		header: hdr("x-edge-ip", "185.152.65.83", "x-edge-location", "pragueCZ", "server", "CDN77-Turbo",
			"x-77-nzt", "Abk73AGyNKT/WffoAA==", "x-77-nzt-ray", "BPQIZFGWrLs=", "x-cache-lb", "HIT", "x-age-lb", "15267673",
			"x-77-pop", "frankfurtDE", "x-77-cache", "HIT"),
		want: Result{CDN: "cdn77", PoP: "FRA", RawPoP: "frankfurtDE", UpstreamPoP: "PRG", CacheStatus: CacheHit, Source: "X-77-Pop"},
	},
	{
		name: "cdn77 load-balancer tier decides without X-77-Cache", source: "the 2021 CDN77 Storage capture above (x-cache-lb: MISS, MISS of its miss twin) without the X-77-Cache of the cache tier",
		header: hdr("server", "CDN77-Turbo", "x-77-pop", "frankfurtDE", "x-cache-lb", "MISS, MISS"),
		want:   Result{CDN: "cdn77", PoP: "FRA", RawPoP: "frankfurtDE", CacheStatus: CacheMiss, Source: "X-77-Pop"},
	},
	{
		name: "akamai without AkamaiGHost: Akamai-Server-IP and Akamai-Request-BC", source: "Akamai response of 2023-12-26 quoted in a public browser-cache dump (Akamai-Request-BC: [a=23.205.70.102 … n=ID_JI_SURABAYA …], Akamai-Cache-Status: Hit from child, Akamai-Server-IP: 23.205.70.102)",
		header: hdr("Akamai-Request-BC", "[a=23.205.70.102 b=505153526 c=g n=ID_JI_SURABAYA o=7713]",
			"Akamai-Cache-Status", "Hit from child", "Akamai-Server-IP", "23.205.70.102", "Timing-Allow-Origin", "*"),
		want: Result{CDN: "akamai", PoP: Unknown, CacheStatus: CacheHit, EdgeIP: "23.205.70.102", Source: "Akamai-Cache-Status"},
	},
	{
		name: "akamai from its Server-Timing cache metric alone", source: "github.com/steelcutoatmeal/cdnperf cdnprobe/providers/akamai.py (Akamai's `server-timing` as `cdn-cache; desc=HIT, edge; dur=10`)",
		header: hdr("Server-Timing", "cdn-cache; desc=HIT, edge; dur=10"),
		want:   Result{CDN: "akamai", PoP: Unknown, CacheStatus: CacheHit, Source: "Server-Timing"},
	},

	// Stacks with a Chinese CDN outside.
	{
		name: "tencent in front of cloudflare: Tencent's Server replaced Cloudflare's", source: "constructed from the Tencent (Server: NWS_SPMid; X-Cache-Lookup: Hit From Disktank, the value github.com/steelcutoatmeal/cdnperf cdnprobe/providers/tencent.py gives) and Cloudflare (CF-RAY 818bef0efadd4fcf-ORF) samples; values illustrative",
		header: hdr("Server", "NWS_SPMid", "CF-RAY", "818bef0efadd4fcf-ORF", "X-Cache-Lookup", "Hit From Disktank"),
		want:   Result{CDN: "tencent", PoP: Unknown, CacheStatus: CacheHit, Source: "Server"},
	},
	{
		name: "byteplus in front of cloudfront: its Via hop is last", source: "constructed from the CloudFront (X-Amz-Cf-Pop IAD79-C3, Via …cloudfront.net (CloudFront)) and BytePlus (cache08.gdcu, TCP_HIT) samples; values illustrative",
		header: hdr("X-Amz-Cf-Pop", "IAD79-C3", "X-Cache", "Hit from cloudfront",
			"Via", "1.1 4c6a2d5b3b1e.cloudfront.net (CloudFront), cache08.gdcu", "X-Bdcdn-Cache-Status", "TCP_HIT"),
		want: Result{CDN: "byteplus", PoP: "GDCU", RawPoP: "gdcu", CacheStatus: CacheHit, Source: "Via"},
	},
	{
		name: "cloudfront in front of byteplus: CloudFront's Via hop is last", source: "constructed from the BytePlus and CloudFront samples; values illustrative",
		header: hdr("X-Amz-Cf-Pop", "IAD79-C3", "X-Cache", "Hit from cloudfront",
			"Via", "cache08.gdcu, 1.1 4c6a2d5b3b1e.cloudfront.net (CloudFront)", "X-Bdcdn-Cache-Status", "TCP_HIT"),
		want: Result{CDN: "cloudfront", PoP: "IAD", RawPoP: "IAD79-C3", CacheStatus: CacheHit, Source: "X-Amz-Cf-Pop"},
	},
	{
		name: "alibaba ENS in front of cloudfront: its Via hop is last", source: "constructed from the CloudFront samples and Alibaba's Via hop shapes (cache5.de1[…], ens-cache…); values illustrative",
		header: hdr("Via", "1.1 4c6a2d5b3b1e.cloudfront.net (CloudFront), ens-cache29.l2us4[231,230,404-1280,M], cache5.de1[0,200-0,H]",
			"X-Amz-Cf-Pop", "FRA56-P4", "EagleId", "2ff6189c16977486716157361e"),
		want: Result{CDN: "alibaba", PoP: "DE1", RawPoP: "de1", CacheStatus: CacheUnknown, Source: "Via"},
	},
}

// dumpSamples are whole responses from the curl dumps of github.com/phonedude/cs533-f23 and
// cs533-f24 (students' captures of popular sites, dated in each file), each cited by its path.
var dumpSamples = []sample{
	{
		name: "wix behind fastly is fastly", source: "github.com/phonedude/cs533-f23 assignments/Arcand/3/response_files/www.wix.com.txt (www.wix.com, 2023-10-14)",
		status: 301,
		header: hdr("Age", "28806", "X-Wix-Request-Id", "1697313924.2038943027512861", "cache-control", "public,max-age=0,must-revalidate",
			"Server", "Pepyaka/1.19.10", "X-Served-By", "cache-pdk-kpdk1780040-PDK", "X-Cache", "MISS"),
		want: Result{CDN: "fastly", PoP: "PDK", RawPoP: "cache-pdk-kpdk1780040-PDK", CacheStatus: CacheMiss, Source: "X-Served-By"},
	},
	{
		name: "heroku behind fastly: Fastly's varnish hop is last", source: "github.com/phonedude/cs533-f23 assignments/Bradford/3/responses/unsplash.com (unsplash.com, 2023-10-06)",
		header: hdr("Server", "Cowboy", "Via", "1.1 vegur, 1.1 varnish", "Age", "311",
			"X-Served-By", "cache-iad-kiad7000138-IAD", "X-Cache", "HIT", "X-Cache-Hits", "1"),
		want: Result{CDN: "fastly", PoP: "IAD", RawPoP: "cache-iad-kiad7000138-IAD", CacheStatus: CacheHit, Source: "X-Served-By"},
	},
	{
		name: "qrator redirect", source: "github.com/phonedude/cs533-f23 assignments/Calano/3/files/ria.ru (ria.ru, 2023-10-16)",
		status: 301,
		header: hdr("Server", "QRATOR", "Content-Length", "0", "Keep-Alive", "timeout=15", "location", "https://ria.ru/"),
		want:   Result{CDN: "qrator", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Server"},
	},
	{
		name: "ddosguard with its cookies", source: "github.com/phonedude/cs533-f24 assignments/Hanson/3/output_files/narod_ru_.txt (narod.ru, 2025-04-28)",
		status: 301,
		header: hdr("Server", "ddos-guard",
			"Set-Cookie", "__ddg8_=QCg97Z08ooqHPdNe; Domain=.narod.ru; Path=/; Expires=Mon, 28-Apr-2025 04:47:33 GMT",
			"Set-Cookie", "__ddg10_=1745814453; Domain=.narod.ru; Path=/; Expires=Mon, 28-Apr-2025 04:47:33 GMT",
			"Set-Cookie", "__ddg1_=BazlRrDm1AMsLqASDc9O; Domain=.narod.ru; HttpOnly; Path=/; Expires=Tue, 28-Apr-2026 04:27:33 GMT"),
		want: Result{CDN: "ddosguard", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Server"},
	},
	{
		name: "naver front page", source: "github.com/phonedude/cs533-f24 assignments/Rasmussen/3/response_files/naver.com.txt (www.naver.com, 2024-10-30)",
		header: hdr("Content-Type", "text/html; charset=UTF-8", "Cache-Control", "no-cache, no-store, must-revalidate",
			"referrer-policy", "unsafe-url", "Server", "nfront"),
		want: Result{CDN: "naver", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Server"},
	},
	{
		name: "kinsta behind cloudflare: Cloudflare's PoP and cache status", source: "github.com/phonedude/cs533-f23 assignments/Calano/3/files/plos.org (plos.org, 2023-10-16)",
		header: hdr("cf-ray", "816dedd2282b4fe8-ORF", "cf-cache-status", "DYNAMIC", "ki-cache-type", "None",
			"ki-cf-cache-status", "BYPASS", "ki-edge", "v=20.2.2;mv=2.3.2", "x-edge-location-klb", "1",
			"x-kinsta-cache", "HIT", "server", "cloudflare"),
		want: Result{CDN: "cloudflare", PoP: "ORF", RawPoP: "ORF", CacheStatus: CacheDynamic, Source: "Cf-Ray"},
	},
	{
		name: "akamai in front of varnish and envoy, named only by Akamai-Request-BC", source: "github.com/phonedude/cs533-f23 assignments/Bradford/3/responses/nba.com (www.nba.com, 2023-10-06)",
		header: hdr("x-full-ttl", "300.000", "x-varnish", "343148508", "x-status", "miss", "x-cache-ability", "uncacheable",
			"Server", "envoy", "Cache-Control", "private, no-cache, no-store, must-revalidate",
			"Akamai-Request-BC", "[a=23.222.0.207,b=520991191,c=g,n=US_VA_ASHBURN,o=20940],[c=c,n=US_VA_ASHBURN,o=20940]"),
		want: Result{CDN: "akamai", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Akamai-Request-Bc"},
	},
	{
		name: "wpvip edge in Toronto behind Yahoo's ATS", source: "github.com/phonedude/cs533-f24 assignments/Ecker/3/responses/techcrunch_com_8af91c5db20ecae609379422a65a99bd.txt (techcrunch.com, 2024-10-19)",
		header: hdr("Cache-Control", "max-age=300, must-revalidate", "Age", "0", "Server", "ATS",
			"Host-Header", "a9130478a60e5f9135f765b23f26593b", "X-Cache", "HIT",
			"X-Powered-By", "WordPress VIP <https://wpvip.com>", "X-Rq", "yyz2 85 187 443"),
		want: Result{CDN: "wpvip", PoP: "YYZ", RawPoP: "yyz", CacheStatus: CacheUnknown, Source: "X-Rq"},
	},
	{
		name: "wpengine behind cloudflare is cloudflare", source: "github.com/phonedude/cs533-f23 assignments/Calano/3/files/networkadvertising.org (networkadvertising.org redirected to thenai.org, 2023-10-16)",
		header: hdr("x-powered-by", "WP Engine", "x-cacheable", "SHORT", "cache-control", "max-age=600, must-revalidate",
			"x-cache", "HIT: 49", "x-cache-group", "normal", "cf-cache-status", "DYNAMIC", "server", "cloudflare", "cf-ray", "816dedb6fd423812-IAD"),
		want: Result{CDN: "cloudflare", PoP: "IAD", RawPoP: "IAD", CacheStatus: CacheDynamic, Source: "Cf-Ray"},
	},

	// Akamai without `Server: AkamaiGHost`: the `akamai;…;desc=cache-…` Server-Timing metric
	// and Edge-Type, in front of Alibaba's origin (its EagleId and eagleid metric passed
	// through; Akamai's metric is appended after them), and mPulse's cache metric next to
	// ak_p behind another Server.
	{
		name: "akamai in front of alibaba: akamai Server-Timing metric and Edge-Type", source: "github.com/phonedude/cs533-f24 assignments/Rasmussen/3/response_files/alibaba.com.txt (www.alibaba.com, 2024-10-30)",
		header: hdr("Content-Type", "text/html;charset=UTF-8", "Cache-Control", "no-cache, no-store, max-age=0, must-revalidate",
			"Timing-Allow-Origin", "*", "EagleId", "21032fb717303222634175545e92e1",
			"Server-Timing", "rt;dur=0.008,eagleid;desc=21032fb717303222634175545e92e1, akamai;dur=14;desc=cache-miss",
			"Object-Status", "ttl=-1,age=0", "Edge-Type", "akamai"),
		want: Result{CDN: "akamai", PoP: Unknown, CacheStatus: CacheMiss, Source: "Server-Timing"},
	},
	{
		name: "akamai in front of alibaba, a second capture", source: "github.com/phonedude/cs533-f24 assignments/Rasmussen/3/response_files_2/alibaba.com.txt (www.alibaba.com, 2024-11-01)",
		header: hdr("Content-Type", "text/html;charset=UTF-8", "EagleId", "2101eeb517305040856225596e08dc",
			"Server-Timing", "rt;dur=0.008,eagleid;desc=2101eeb517305040856225596e08dc, akamai;dur=19;desc=cache-miss",
			"Content-Length", "0", "Object-Status", "ttl=-1,age=0", "Edge-Type", "akamai"),
		want: Result{CDN: "akamai", PoP: Unknown, CacheStatus: CacheMiss, Source: "Server-Timing"},
	},
	{
		name: "akamai in front of alibaba, its metric on its own Server-Timing line", source: "github.com/rbarr006/cs533-f25 assignments/Mcfarlane/3/responses/alibaba.com.txt (www.alibaba.com, 2025-10-05)",
		header: hdr("content-type", "text/plain", "server", "Tengine", "render_policy", "blocked-by-nginx",
			"eagleeye-traceid", "214100e417596395497042275e0c56", "eagleid", "214100e417596395497042275e0c56",
			"server-timing", "rt;dur=0.002,eagleid;desc=214100e417596395497042275e0c56,brt;dur=0",
			"server-timing", "akamai;dur=47;desc=cache-miss", "object-status", "ttl=0,age=0", "edge-type", "akamai"),
		want: Result{CDN: "akamai", PoP: Unknown, CacheStatus: CacheMiss, Source: "Server-Timing"},
	},
	{
		name: "tencent edgeone behind Tencent's stgw gateway", source: "github.com/rbarr006/cs533-f25 assignments/Wright/3/responses/qq.com.txt (www.qq.com, 2025-09-28)",
		status: 501,
		header: hdr("Server", "stgw", "Content-Length", "326", "EO-LOG-UUID", "8535538603872573163", "EO-Cache-Status", "MISS"),
		want:   Result{CDN: "tencent", PoP: Unknown, CacheStatus: CacheMiss, Source: "Eo-Cache-Status"},
	},
	{
		name: "akamai named by Edge-Type alone in front of alibaba", source: "the alibaba.com capture of github.com/phonedude/cs533-f24 assignments/Rasmussen/3/response_files/alibaba.com.txt without Akamai's Server-Timing metric (as a proxy that keeps only the first Server-Timing line leaves it)",
		header: hdr("EagleId", "21032fb717303222634175545e92e1",
			"Server-Timing", "rt;dur=0.008,eagleid;desc=21032fb717303222634175545e92e1", "Edge-Type", "akamai"),
		want: Result{CDN: "akamai", PoP: Unknown, CacheStatus: CacheUnknown, Source: "Edge-Type"},
	},
	{
		name: "akamai mPulse cache metric, no Server at all", source: "github.com/phonedude/cs533-f24 assignments/Rasmussen/3/response_files/npr.org.txt (www.npr.org, 2024-10-30)",
		header: hdr("Content-Type", "text/html; charset=UTF-8", "X-Cache-NPR", "HIT", "X-Served-By", "pod-www-render-nginx-77f66c6698-bp9dq",
			"X-Akamai-Transformed", "9 - 0 pmb=mRUM,1", "Cache-Control", "no-cache",
			"Server-Timing", `cdn-cache; desc=HIT, edge; dur=1, ak_p; desc="1730322341974_389073066_1905843128_33_11516_22_56_-";dur=1`),
		want: Result{CDN: "akamai", PoP: Unknown, CacheStatus: CacheHit, EdgeIP: "23.48.200.170", Source: "X-Akamai-Transformed"},
	},
	{
		name: "akamai mPulse cache metric on separate Server-Timing lines behind openresty", source: "github.com/phonedude/cs533-f24 assignments/Ecker/3/responses/theglobeandmail_com_0f0112d9e7bcf333da2a97ccfb317d67.txt (www.theglobeandmail.com, 2024-10-19)",
		header: hdr("Cache-Control", "private, max-age=60", "Server", "openresty", "Content-Type", "text/html; charset=utf-8",
			"Server-Timing", "cdn-cache; desc=HIT", "Server-Timing", "edge; dur=39", "Server-Timing", "origin; dur=0",
			"Server-Timing", `ak_p; desc="1729311761542_388398613_369021192_3923_7729_16_32_-";dur=1`,
			"X-Akamai-Transformed", "9 642819 0 pmb=mRUM,2"),
		want: Result{CDN: "akamai", PoP: Unknown, CacheStatus: CacheHit, EdgeIP: "23.38.126.21", Source: "X-Akamai-Transformed"},
	},
	// Alibaba's edge-node (ENS) tier in front of Sina's own edge: Alibaba's hops come last in
	// Via, the l2 pair (parent) before the us26 pair (the edge that answered).
	{
		name: "alibaba ENS edge in front of Sina's edge: the last non-l2 ens-cache hop", source: "github.com/phonedude/cs533-f24 assignments/Rasmussen/3/response_files/sina.com.cn.txt (www.sina.com.cn, 2024-10-30)",
		header: hdr("Server", "Tengine", "Cache-Control", "max-age=60",
			"Via", "http/1.1 ctc.guangzhou.union.184 (ApacheTrafficServer/6.2.1 [cRs f ]), ens-cache2.l2us3[0,0,200-0,H], ens-cache23.l2us3[1,0], ens-cache14.us26[0,0,200-0,H], ens-cache3.us26[3,0]",
			"X-Via-CDN", "f=aliyun,s=ens-cache3.us26,c=2600:8805:1729:2d00:88f2:5fb0:d13f:d4a3;f=sinaedge,s=cnc.guangzhou.union.24.nb.sinaedge.com,c=163.181.67.150;f=Edge,s=ctc.guangzhou.union.184,c=172.16.116.24",
			"Age", "44", "Ali-Swift-Global-Savetime", "1730322314", "X-Cache", "HIT TCP_MEM_HIT dirn:-2:-2",
			"X-Swift-SaveTime", "Wed, 30 Oct 2024 21:05:22 GMT", "X-Swift-CacheTime", "52", "EagleId", "0819529717303223580062710e"),
		want: Result{CDN: "alibaba", PoP: "US26", RawPoP: "us26", CacheStatus: CacheHit, Source: "Via"},
	},
	{
		name: "alibaba ENS edge in front of Sina's edge, 2025", source: "github.com/rbarr006/cs533-f25 assignments/Kassa/3/sina.com.cn.txt (www.sina.com.cn, 2025-10-04)",
		header: hdr("Server", "Tengine",
			"Via", "http/1.1 cmcc.guangzhou.union.39 (ApacheTrafficServer/6.2.1 [cRs f ]), ens-cache6.l2us5[0,0,200-0,H], ens-cache28.l2us5[0,0], ens-cache11.us25[0,0,200-0,H], ens-cache8.us25[4,0]",
			"Age", "22", "X-Cache", "HIT TCP_MEM_HIT dirn:-2:-2", "X-Swift-SaveTime", "Sat, 04 Oct 2025 03:27:25 GMT",
			"X-Swift-CacheTime", "51", "EagleId", "2ff6149c17595484588513533e"),
		want: Result{CDN: "alibaba", PoP: "US25", RawPoP: "us25", CacheStatus: CacheHit, Source: "Via"},
	},
	{
		name: "akamai 503 with Akamai-GRN and ak_p naming the same edge", source: "github.com/phonedude/cs533-f23 assignments/Llinas-Marimon/4/HTTP_response_headers/hp.com.txt (hp.com, 2023-12-04)",
		status: 503,
		header: hdr("Server", "AkamaiGHost", "Akamai-GRN", "0.916bdc17.1701653638.e0427d2",
			"Server-Timing", `ak_p; desc="1701653638490_400321425_235153362_37_11675_6_0_-";dur=1`),
		want: Result{CDN: "akamai", PoP: Unknown, CacheStatus: CacheUnknown, EdgeIP: "23.220.107.145", Source: "Server"},
	},
}

func init() { samples = append(append(samples, breadthSamples...), dumpSamples...) }

// TestAkamaiAkPIsTheGRNEdge: in the captures that carry both, the second field of ak_p names
// the same edge as Akamai-GRN, which is why ak_p is read (last) for the edge IP.
func TestAkamaiAkPIsTheGRNEdge(t *testing.T) {
	for _, c := range []struct{ site, grn, akp string }{
		// github.com/phonedude/cs533-f23 assignments/Llinas-Marimon/4/HTTP_response_headers/hp.com.txt
		{"hp.com", "0.916bdc17.1701653638.e0427d2", `ak_p; desc="1701653638490_400321425_235153362_37_11675_6_0_-";dur=1`},
		// github.com/phonedude/cs533-f23 assignments/patel/3/http-responses/oracle.com.txt
		{"oracle.com", "0.846adc17.1697678845.50fc59d2", `ak_p; desc="1697678845373_400321156_1358715346_21_9783_19_13_-";dur=1`},
	} {
		id := NewIdentifier(nil)
		byGRN := id.Identify(&Response{StatusCode: 200, Header: hdr("Akamai-GRN", c.grn)})
		byAkP := id.Identify(&Response{StatusCode: 200, Header: hdr("Server-Timing", c.akp)})
		if byGRN.EdgeIP == "" || byAkP.EdgeIP != byGRN.EdgeIP || byAkP.CDN != "akamai" {
			t.Errorf("%s: edge %q from Akamai-GRN, %q (%s) from ak_p", c.site, byGRN.EdgeIP, byAkP.EdgeIP, byAkP.CDN)
		}
	}
}

// TestGCPRegionLabels: cloud regions become labels that fit ^[A-Z0-9]{2,16}$, the longest
// continent names shortened so no region is lost.
func TestGCPRegionLabels(t *testing.T) {
	for in, want := range map[string]string{
		"us-east4": "USEAST4", "europe-west4": "EUROPEWEST4", "asia-southeast1": "ASIASOUTHEAST1",
		"northamerica-northeast1": "NANORTHEAST1", "southamerica-east1": "SAEAST1",
		"australia-southeast1": "AUSOUTHEAST1", "europe-southwest1": "EUROPESOUTHWEST1",
	} {
		if got := popLabel(gcpRegion(in)); got != want {
			t.Errorf("gcpRegion(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPlatformsBehindTheirCDN: platforms that ride on another CDN are named by the CDN that
// answers when that CDN's headers are there, and by themselves only otherwise.
func TestPlatformsBehindTheirCDN(t *testing.T) {
	cases := []struct {
		name string
		h    http.Header
		want string
	}{
		{"cloudinary over fastly", hdr("Server", "cloudinary", "X-Served-By", "cache-fra-eddf8230072-FRA"), "fastly"},
		{"wix over fastly", hdr("Server", "Pepyaka", "X-Served-By", "cache-jfk1041-JFK"), "fastly"},
		{"railway behind cloudflare", hdr("Server", "cloudflare", "CF-RAY", "818bef0efadd4fcf-ORF", "X-Railway-Edge", "railway/us-west2"), "cloudflare"},
		{"railway in front of a cloudflare-proxied origin", hdr("Server", "railway-edge", "CF-RAY", "818bef0efadd4fcf-ORF", "X-Railway-Edge", "railway/us-west2"), "railway"},
		{"myra in front of cloudflare", hdr("Server", "myracloud", "CF-RAY", "818bef0efadd4fcf-ORF"), "myra"},
		{"heroku behind fastly", hdr("Via", "1.1 vegur, 1.1 varnish", "X-Served-By", "cache-jfk1041-JFK"), "fastly"},
		{"fastly behind heroku's router", hdr("Via", "1.1 varnish, 1.1 heroku-router", "X-Served-By", "cache-jfk1041-JFK"), "heroku"},
		// Akamai's Server-Timing metric name is a convention another CDN may follow: it names
		// Akamai only when no vendor header is there.
		{"a cdn-cache metric next to bunny's headers", hdr("Server", "BunnyCDN-DE1-880", "Server-Timing", "cdn-cache; desc=HIT"), "bunny"},
		{"a cdn-cache metric alone", hdr("Server-Timing", "cdn-cache; desc=HIT"), "akamai"},
	}
	for _, c := range cases {
		if got := NewIdentifier(nil).Identify(&Response{Header: c.h}); got.CDN != c.want {
			t.Errorf("%s: cdn %s, want %s", c.name, got.CDN, c.want)
		}
	}
}
