package edge

import (
	"net/http"
	"strings"
)

// cacheWords is the vendor cache vocabulary, upper-cased, from the vendors' documentation
// (the samples in edge_test.go cite it per CDN). The CDNs agree on the words they share, so
// one table serves every row; which header a word is trusted from is decided by the rule table.
var cacheWords = map[string]string{
	"HIT": CacheHit, "TCP_HIT": CacheHit, "TCP_MEM_HIT": CacheHit, "TCP_IMS_HIT": CacheHit,
	"TCP_NEGATIVE_HIT": CacheHit, "TCP_REMOTE_HIT": CacheHit, "PRERENDER": CacheHit,

	"MISS": CacheMiss, "TCP_MISS": CacheMiss,

	"EXPIRED": CacheExpired, "TCP_REFRESH_MISS": CacheExpired, "TCP_EXPIRED_MISS": CacheExpired,

	"STALE": CacheStale, "UPDATING": CacheStale, "TCP_REFRESH_FAIL_HIT": CacheStale,
	"HITSTALE": CacheStale, "TCP_STALE_HIT": CacheStale,

	"REVALIDATED": CacheRevalidated, "REFRESHHIT": CacheRevalidated, "TCP_REFRESH_HIT": CacheRevalidated,
	"REVALIDATE": CacheRevalidated,
	// Edgecast/Edgio: an expired object the origin confirmed unchanged (304), served from
	// cache (learn.microsoft.com/previous-versions/azure/cdn/cdn-http-debug-headers).
	"TCP_EXPIRED_HIT": CacheRevalidated,

	"BYPASS": CacheBypass, "PRIVATE_NOSTORE": CacheBypass, "CONFIG_NOCACHE": CacheBypass,
	"TCP_CLIENT_REFRESH_MISS": CacheBypass, "NOTCACHEABLE": CacheBypass, "PASS": CacheBypass,

	"DYNAMIC": CacheDynamic, "IGNORED": CacheDynamic, "REDIRECT": CacheDynamic,
	"FUNCTIONGENERATEDRESPONSE": CacheDynamic, "LAMBDAGENERATEDRESPONSE": CacheDynamic,
	"CONSTRUCTED": CacheDynamic, "UNCACHEABLE": CacheDynamic,

	"ERROR": CacheError, "LIMITEXCEEDED": CacheError, "CAPACITYEXCEEDED": CacheError,
	"TCP_DENIED": CacheError, "N/A": CacheError, "FUNCTIONEXECUTIONERROR": CacheError,
	"FUNCTIONTHROTTLEDERROR": CacheError,

	"NONE": CacheUnknown, "UNKNOWN": CacheUnknown,

	// Limelight / Edgio Delivery's X-LLNW-Dbg-Cache-Hit-Type (edgio-docs
	// guides/delivery/delivery/guide/features.md), Squid's words without the TCP_ prefix.
	"REFRESH_HIT": CacheRevalidated, "REF_FAIL_HIT": CacheStale, "REFRESH_MISS": CacheExpired,
	"CLIENT_REFRESH_MISS": CacheBypass, "IMS_HIT": CacheHit, "NEGATIVE_HIT": CacheHit,
	"OFFLINE_HIT": CacheStale, "DENIED": CacheError,
}

// word looks a vendor word up in cacheWords, case-insensitively and without allocating.
// It returns "" for words it does not know.
func word(w string) string {
	var buf [32]byte
	if w == "" || len(w) > len(buf) {
		return ""
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		buf[i] = c
	}
	return cacheWords[string(buf[:len(w)])]
}

// phrase classifies a value such as "HIT", "Hit from cloudfront", "TCP_MISS from a23-…" or
// Tencent's "Cache Miss": the first word decides, else the last word.
func phrase(v string) string {
	v = trimOWS(v)
	if s := word(firstField(v)); s != "" {
		return s
	}
	return word(lastField(v))
}

// lastWord reads the last element of the last value (repeated headers: the last wins).
func lastWord(values []string, _ http.Header) string {
	return phrase(lastElem(values[len(values)-1]))
}

// firstWord reads the first word of the last value: Edgio's X-EC-Cache
// "TCP_HIT from ECAcc (dcd/7D26)".
func firstWord(values []string, _ http.Header) string {
	return word(firstField(values[len(values)-1]))
}

// alibabaXCache reads Alibaba's "HIT TCP_MEM_HIT dirn:13:…": the Squid-style second word
// is the more precise one (TCP_REFRESH_HIT is a revalidation), else the first word decides.
func alibabaXCache(values []string, _ http.Header) string {
	v := trimOWS(values[len(values)-1])
	first := firstField(v)
	if s := word(firstField(v[len(first):])); s != "" {
		return s
	}
	return word(first)
}

// cloudfrontXCache reads the last "… from cloudfront" value; an origin's own X-Cache is not
// CloudFront's word.
func cloudfrontXCache(values []string, _ http.Header) string {
	for i := len(values) - 1; i >= 0; i-- {
		if v := trimOWS(values[i]); hasSuffixFold(v, " from cloudfront") {
			return word(firstField(v))
		}
	}
	return ""
}

// akamaiXCache reads X-Cache only where Akamai wrote it ("TCP_MISS from a23-….deploy.
// akamaitechnologies.com (AkamaiGHost/…)"), which it does when asked with Pragma.
func akamaiXCache(values []string, _ http.Header) string {
	for i := len(values) - 1; i >= 0; i-- {
		if containsFold(values[i], "akamai") {
			return word(firstField(values[i]))
		}
	}
	return ""
}

// akamaiCacheStatus reads "Miss from child, Hit from parent": the child (edge) decides unless
// it missed, in which case a parent that had the object still kept the request off the origin.
func akamaiCacheStatus(values []string, _ http.Header) string {
	v := values[len(values)-1]
	e, rest := nextElem(v)
	child := word(firstField(e))
	if child != CacheMiss {
		return child
	}
	for rest != "" {
		e, rest = nextElem(rest)
		switch parent := word(firstField(e)); parent {
		case CacheHit, CacheStale, CacheRevalidated:
			return parent
		}
	}
	return CacheMiss
}

// fastlyWord classifies one Fastly cache word: HIT, HIT-CLUSTER, HIT-SYNTH, HIT-STALE…,
// MISS, MISS-CLUSTER, PASS, ERROR.
func fastlyWord(w string) string {
	switch {
	case hasPrefixFold(w, "HIT-STALE"):
		return CacheStale
	case hasPrefixFold(w, "HIT"):
		return CacheHit
	case hasPrefixFold(w, "MISS"):
		return CacheMiss
	case hasPrefixFold(w, "PASS"):
		return CacheBypass
	case strings.EqualFold(w, "ERROR"):
		return CacheError
	}
	return ""
}

// fastlyCacheStatus reads x-fastly-cache-status, which Fastly writes once for the edge.
func fastlyCacheStatus(values []string, _ http.Header) string {
	return fastlyWord(lastElem(values[len(values)-1]))
}

// fastlyXCache reads Fastly's per-node X-Cache list ("HIT, MISS"), aligned from the end with
// the cache-… entries of X-Served-By so an origin's own X-Cache words in front are skipped.
// The edge decides; if it missed, a shield that hit still kept the request off the origin
// ("anything but MISS means not forwarded to origin").
func fastlyXCache(values []string, h http.Header) string {
	nodes := 0
	for _, v := range h["X-Served-By"] {
		for v != "" {
			var e string
			e, v = nextElem(v)
			if strings.HasPrefix(e, "cache-") {
				nodes++
			}
		}
	}
	nodes = max(nodes, 1)
	// Collect the last `nodes` words, walking the list from the end.
	var words [8]string
	n := 0
	for i := len(values) - 1; i >= 0 && n < nodes && n < len(words); i-- {
		v := values[i]
		for v != "" && n < nodes && n < len(words) {
			cut := strings.LastIndexByte(v, ',')
			if w := trimOWS(v[cut+1:]); w != "" {
				words[n] = w
				n++
			}
			if cut < 0 {
				break
			}
			v = v[:cut]
		}
	}
	if n == 0 {
		return ""
	}
	edge := fastlyWord(words[0])
	if edge != CacheMiss {
		return edge
	}
	for _, w := range words[1:n] {
		if s := fastlyWord(w); s == CacheHit || s == CacheStale {
			return s
		}
	}
	return edge
}

// impervaIinfo reads the cache flag of X-Iinfo ("9-49176764-0 0CNN RT(…)"): the second
// character of the second field is C for a hit, V for revalidated, anything else a miss.
func impervaIinfo(values []string, _ http.Header) string {
	v := trimOWS(values[len(values)-1])
	id := firstField(v)
	flags := firstField(v[len(id):])
	if len(flags) < 2 {
		return ""
	}
	switch flags[1] {
	case 'C':
		return CacheHit
	case 'V':
		return CacheRevalidated
	}
	return CacheMiss
}

// varnishXID reads X-Varnish: two transaction ids (this request's and the one that stored
// the object) mean a hit, one means the object came from the backend. Stacked Varnish layers
// append their own element (`3814216512, 2264536686 2071703119, 1800495636`): the last one is
// the layer nearest the client.
func varnishXID(values []string, _ http.Header) string {
	v := lastElem(values[len(values)-1])
	ids := 0
	for v != "" {
		v = strings.TrimLeft(v, " \t")
		if v == "" {
			break
		}
		id := firstField(v)
		if strings.Trim(id, "0123456789") != "" {
			return ""
		}
		ids++
		v = v[len(id):]
	}
	switch ids {
	case 1:
		return CacheMiss
	case 2:
		return CacheHit
	}
	return ""
}

// wikimediaCacheStatus reads X-Cache-Status: hit-front, hit-local, hit-remote, miss, pass,
// int-front (generated by the cache layer itself), …
func wikimediaCacheStatus(values []string, _ http.Header) string {
	return wikimediaWord(trimOWS(values[len(values)-1]))
}

// wikimediaXCache reads the last element of X-Cache ("cp1085 hit, cp1081 hit/13").
//
// In 2015 the elements read "cp3048 frontend miss (0)" (host, tier, state, hits). The
// element nearest the client decides, except that a miss there in front of a tier that hit
// never reached the origin, so it is a hit.
func wikimediaXCache(values []string, _ http.Header) string {
	v := values[len(values)-1]
	edge, hitBehind := "", false
	for v != "" {
		var e string
		e, v = nextElem(v)
		if e == "" {
			continue
		}
		s := wikimediaElemState(e)
		if edge == CacheHit {
			hitBehind = true
		}
		edge = s
	}
	if edge == CacheMiss && hitBehind {
		return CacheHit
	}
	return edge
}

// wikimediaElemState reads the state of one X-Cache element: the first field after the host
// that is neither the tier name "frontend" nor a "(hits)" count.
func wikimediaElemState(e string) string {
	rest := e[len(firstField(e)):]
	for {
		f := firstField(rest)
		if f == "" {
			return ""
		}
		if f != "frontend" && f[0] != '(' {
			return wikimediaWord(f)
		}
		rest = rest[strings.Index(rest, f)+len(f):]
	}
}

func wikimediaWord(w string) string {
	if i := strings.IndexAny(w, "-/"); i >= 0 {
		w = w[:i]
	}
	switch {
	case strings.EqualFold(w, "hit"):
		return CacheHit
	case strings.EqualFold(w, "miss"):
		return CacheMiss
	case strings.EqualFold(w, "pass"):
		return CacheBypass
	case strings.EqualFold(w, "int"):
		return CacheDynamic
	}
	return ""
}

// serverTimingDesc returns a parser for the desc of one Server-Timing metric:
// cfCacheStatus;desc="HIT" (Cloudflare), cdn-cache; desc=HIT (Akamai).
func serverTimingDesc(metric string) func([]string, http.Header) string {
	return serverTimingDescAfter(metric, "")
}

// serverTimingDescAfter is serverTimingDesc for a desc that carries the cache outcome behind
// prefix (compared case-insensitively): akamai;dur=14;desc=cache-miss is a miss.
func serverTimingDescAfter(metric, prefix string) func([]string, http.Header) string {
	return func(values []string, _ http.Header) string {
		for i := len(values) - 1; i >= 0; i-- {
			v := values[i]
			for v != "" {
				var e string
				e, v = nextElem(v)
				name, params, _ := strings.Cut(e, ";")
				if !strings.EqualFold(trimOWS(name), metric) {
					continue
				}
				d := serverTimingParam(params, "desc")
				if len(d) < len(prefix) || !strings.EqualFold(d[:len(prefix)], prefix) {
					continue
				}
				if s := word(d[len(prefix):]); s != "" {
					return s
				}
			}
		}
		return ""
	}
}

// serverTimingParam returns the unquoted value of one parameter of a Server-Timing metric.
func serverTimingParam(params, name string) string {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, ok := strings.Cut(p, "=")
		if ok && strings.EqualFold(trimOWS(k), name) {
			v = trimOWS(v)
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v
		}
	}
	return ""
}

// cloudfrontServerTiming reads CloudFront's opt-in Server-Timing metric names
// cdn-cache-hit, cdn-cache-miss and cdn-cache-refresh.
func cloudfrontServerTiming(values []string, _ http.Header) string {
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for v != "" {
			var e string
			e, v = nextElem(v)
			name, _, _ := strings.Cut(e, ";")
			switch name = trimOWS(name); {
			case strings.EqualFold(name, "cdn-cache-hit"):
				return CacheHit
			case strings.EqualFold(name, "cdn-cache-miss"):
				return CacheMiss
			case strings.EqualFold(name, "cdn-cache-refresh"):
				return CacheRevalidated
			}
		}
	}
	return ""
}

// ovhCacheable reads OVHcloud CDN's X-Cacheable: `Matched cache` and `Cacheable: hit` were
// served from cache, `Cacheable: miss` was not; a bare `Cacheable` only says the object may be
// cached, and `Not cacheable` is a bypass.
func ovhCacheable(values []string, _ http.Header) string {
	v := trimOWS(values[len(values)-1])
	switch {
	case hasPrefixFold(v, "Matched cache"):
		return CacheHit
	case hasPrefixFold(v, "Not cacheable"), hasPrefixFold(v, "Uncacheable"):
		return CacheBypass
	}
	if _, state, ok := strings.Cut(v, ":"); ok {
		return word(trimOWS(state))
	}
	return ""
}

// googleAge reads Age on a Google front end: Cloud CDN and App Engine's edge cache add it only
// to responses served from their cache, so its presence is a hit. Its absence says nothing (the
// front end may have no cache in front of the backend at all).
func googleAge(values []string, _ http.Header) string {
	v := trimOWS(values[len(values)-1])
	if v == "" || strings.Trim(v, "0123456789") != "" {
		return ""
	}
	return CacheHit
}

// huaweiViaCache reads the cache word of the first Via hop that has one: Huawei lists the
// client-facing node first, `CHN-ZJwenzhou-AREACT1-CACHE4[80,TCP_MISS,115]` (a hop without a
// word, `…-CACHE66[117]`, is a load balancer in front of the cache).
func huaweiViaCache(values []string, _ http.Header) string {
	for _, v := range values {
		for v != "" {
			var e string
			e, v = nextElem(v)
			if !strings.Contains(e, "-CACHE") {
				continue
			}
			open := strings.IndexByte(e, '[')
			if open < 0 {
				continue
			}
			fields := e[open+1:]
			_, rest, ok := strings.Cut(fields, ",")
			if !ok {
				continue
			}
			w, _, _ := strings.Cut(rest, ",")
			return word(strings.TrimSuffix(w, "]"))
		}
	}
	return ""
}

// baishanXCache reads BaishanCloud's `HIT from BC90_…(baishan)`; an X-Cache of another cache
// is not Baishan's word.
func baishanXCache(values []string, _ http.Header) string {
	for i := len(values) - 1; i >= 0; i-- {
		if v := trimOWS(values[i]); strings.Contains(v, "(baishan)") {
			return word(firstField(v))
		}
	}
	return ""
}
