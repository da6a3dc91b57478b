// Package edge identifies, from one HTTP response, which CDN served it, which PoP answered and
// what the cache status was. It is pure: no network, no global state beyond compiled rules.
//
// Vendor knowledge lives in one rule table (rules.go): a row per CDN with the headers that
// detect it, where its PoP code is and how that code is normalised, and where its cache status
// is. README.md in this directory is generated from that table.
package edge

import (
	"net/http"
	"regexp"
	"slices"
)

// Normalised cache status values (the cache_status label, fixed by the metrics contract).
const (
	CacheHit         = "hit"
	CacheMiss        = "miss"
	CacheExpired     = "expired"
	CacheStale       = "stale"
	CacheRevalidated = "revalidated"
	CacheBypass      = "bypass"
	CacheDynamic     = "dynamic"
	CacheError       = "error"
	CacheUnknown     = "unknown"
)

// Unknown is the cdn and pop label value when nothing identifies them.
const Unknown = "unknown"

// cacheStatuses is the cache_status enum in the order the metrics contract lists it.
var cacheStatuses = []string{
	CacheHit, CacheMiss, CacheExpired, CacheStale, CacheRevalidated,
	CacheBypass, CacheDynamic, CacheError, CacheUnknown,
}

// CacheStatuses returns every normalised cache status, in the metrics contract's order.
func CacheStatuses() []string { return slices.Clone(cacheStatuses) }

// ValidCacheStatus reports whether s is one of the normalised cache statuses.
func ValidCacheStatus(s string) bool { return slices.Contains(cacheStatuses, s) }

// CDNs returns the cdn label values of the built-in rules, in rule-table order.
func CDNs() []string {
	names := make([]string, len(builtin))
	for i := range builtin {
		names[i] = builtin[i].cdn
	}
	return names
}

// Response is what identification looks at: one HTTP response.
type Response struct {
	StatusCode int
	Header     http.Header // every value of repeated headers, in the order received
	URL        string      // the request URL (after redirects)
	Body       []byte      // at most the first few KiB of the body; may be nil
}

// Result is what identification found. Every string that can become a label value is
// bounded: CDN is a known name or a validated user-rule name, PoP matches ^[A-Z0-9]{2,16}$ or
// is "unknown", CacheStatus is one of the Cache* constants.
type Result struct {
	CDN         string // "cloudflare", …, or "unknown"
	PoP         string // normalised PoP code ("FRA") or "unknown"
	RawPoP      string // the vendor's own code as seen ("FRA56-P4"), ^[A-Za-z0-9._-]{1,32}$ or ""
	UpstreamPoP string // shield / function-region PoP where the vendor shows one, else ""
	CacheStatus string // one of the Cache* constants
	EdgeIP      string // the edge's IP where the vendor exposes one (Akamai), else ""
	// Source is the header (or "body") that gave the PoP, or, when the CDN names no PoP, the
	// header that identified the CDN; "" when nothing was identified. For logs only.
	Source string
}

// unknownResult is what a response that no rule recognises yields.
func unknownResult() Result {
	return Result{CDN: Unknown, PoP: Unknown, CacheStatus: CacheUnknown}
}

// RuleSpec is a user PoP rule as written in the config (`rules:`).
type RuleSpec struct {
	CDN         string            // label value for cdn; must match ^[a-z][a-z0-9_]{0,31}$
	Header      string            // header whose (last) value is matched
	Regex       string            // RE2 with exactly one capture group: the PoP code
	CacheHeader string            // optional header carrying the cache status
	CacheValues map[string]string // optional raw value (case-insensitive) → cache status
}

// UserRule is a compiled, validated RuleSpec.
type UserRule struct {
	Spec  RuleSpec
	regex *regexp.Regexp

	header      string            // canonical form of Spec.Header
	cacheHeader string            // canonical form of Spec.CacheHeader, or ""
	cacheValues map[string]string // Spec.CacheValues with lower-cased keys
}

// Identifier identifies edges with user rules first, then the built-in rule table.
// It holds no mutable state and is safe for concurrent use.
type Identifier struct {
	user []*UserRule
}

// NewIdentifier returns an Identifier that tries the given user rules before the built-ins,
// in the order given. Nil entries are skipped.
func NewIdentifier(user []*UserRule) *Identifier {
	id := &Identifier{}
	for _, u := range user {
		if u != nil {
			id.user = append(id.user, u)
		}
	}
	return id
}

// Identify says which CDN, PoP and cache status one response shows. It never panics and does
// not look at the status code: a 403 from a WAF or a 503 from the edge still names its PoP.
// A nil Identifier uses the built-in rules only.
func (id *Identifier) Identify(r *Response) Result {
	if r == nil {
		return unknownResult()
	}
	if id != nil {
		for _, u := range id.user {
			if res, ok := u.identify(r.Header); ok {
				return res
			}
		}
	}
	return identifyBuiltin(r)
}

// identifyBuiltin runs the built-in rule table: detect every CDN whose headers are present,
// keep the outermost one, and let its row read PoP, cache status and edge IP.
func identifyBuiltin(r *Response) Result {
	var detected uint64
	for key, values := range r.Header {
		for _, ref := range detectIndex[key] {
			if detected&(1<<ref.rule) == 0 && builtin[ref.rule].detect[ref.detector].matchValues(values) {
				detected |= 1 << ref.rule
			}
		}
	}
	if len(r.Body) > 0 {
		for _, ref := range bodyDetectors {
			if detected&(1<<ref.rule) == 0 && builtin[ref.rule].detect[ref.detector].matchBody(r.URL, r.Body) {
				detected |= 1 << ref.rule
			}
		}
	}
	if detected == 0 {
		res := unknownResult()
		// A standard Cache-Status names its caches itself, so it can be trusted without
		// knowing the CDN; a bare X-Cache cannot (it is often the origin's own Varnish).
		if vals := r.Header["Cache-Status"]; len(vals) > 0 {
			res.CacheStatus = cacheFromRFC9211(vals, r.Header)
		}
		return res
	}
	return builtin[outermost(detected, r.Header)].identify(r)
}

// outermost picks, among the detected rules, the CDN nearest the client. http.Header does not
// keep the order of different keys, so the order comes from the rows' layer precedence,
// overruled by Via's last hop when the precedence winner is a CDN that appends its own Via hop
// (if it were the outer layer, its hop would be the last one).
func outermost(detected uint64, h http.Header) int {
	best := -1
	for i := range builtin {
		if detected&(1<<i) != 0 && (best < 0 || builtin[i].layer < builtin[best].layer) {
			best = i
		}
	}
	if detected&(detected-1) == 0 || !builtin[best].addsVia {
		return best // a single CDN, or a winner whose absence from Via says nothing
	}
	vias := h["Via"]
	if len(vias) == 0 {
		return best
	}
	hop := lastElem(vias[len(vias)-1])
	for _, vh := range viaHops {
		if !vh.matches(hop) {
			continue
		}
		for _, idx := range vh.rules {
			if detected&(1<<idx) != 0 {
				return idx
			}
		}
		break
	}
	return best
}

// lastValue returns the last value of a header (repeated headers: the last one wins).
func lastValue(h http.Header, key string) (string, bool) {
	vals := h[key]
	if len(vals) == 0 {
		return "", false
	}
	return vals[len(vals)-1], true
}
