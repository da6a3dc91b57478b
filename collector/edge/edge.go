// Package edge identifies, from one HTTP response, which CDN served it, which PoP answered and
// what the cache status was. It is pure: no network, no global state beyond compiled rules.
//
// Vendor knowledge lives in one rule table (rules.go): a row per CDN with the headers that
// detect it, where its PoP code is and how that code is normalised, and where its cache status
// is. README.md in this directory is generated from that table.
//
// It is a leaf: it imports no package of this project, so that config (user rules), the
// prober and cdnsim can all build on it.
package edge

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
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

// Anycast reports whether the built-in CDN named cdn answers from anycast addresses, so that
// the address a probe connected to must not be geolocated as if it named a PoP. Unknown names
// (user rules, "unknown") are not anycast as far as this package knows.
func Anycast(cdn string) bool {
	i := ruleIndex(cdn)
	return i >= 0 && builtin[i].anycast
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
// keep the outermost one, and let its row read PoP, cache status and edge IP. A response no
// vendor header identifies may still name its CDN itself (X-CDN) or carry a standard
// Cache-Status.
func identifyBuiltin(r *Response) Result {
	var detected, weak uint64
	for key, values := range r.Header {
		for _, ref := range detectIndex[key] {
			d := &builtin[ref.rule].detect[ref.detector]
			if d.weak {
				if weak&(1<<ref.rule) == 0 && d.matchValues(values) {
					weak |= 1 << ref.rule
				}
				continue
			}
			if detected&(1<<ref.rule) == 0 && d.matchValues(values) {
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
		// Evidence that other products could also send counts only when no vendor header
		// identified anything.
		detected = weak
	}
	if detected != 0 {
		return builtin[outermost(detected, r.Header)].identify(r)
	}
	if idx, key := selfDeclared(r.Header); idx >= 0 {
		res := builtin[idx].identify(r)
		if res.Source == "" {
			res.Source = key
		}
		return res
	}
	res := unknownResult()
	// A standard Cache-Status names its caches itself, so it can be trusted without
	// knowing the CDN; a bare X-Cache cannot (it is often the origin's own Varnish).
	if vals := r.Header["Cache-Status"]; len(vals) > 0 {
		res.CacheStatus = cacheFromRFC9211(vals, r.Header)
	}
	return res
}

// outermost picks, among the detected rules, the one nearest the client, from evidence in
// the response (http.Header does not keep the order of different keys, so the order of
// headers cannot be used):
//
//  1. Via: every proxy appends its hop (RFC 9110 §7.6.3), so the owner of the last hop that
//     belongs to a detected CDN is outside every other detected CDN that adds Via hops.
//  2. Cache-Status: members run from the cache nearest the origin to the one nearest the
//     client (RFC 9211 §2), so a CDN whose member is followed by another cache's is not
//     outermost, and the owner of the last member is outside the others named there.
//  3. Server: a CDN that replaces Server with its own token cannot be outermost when the
//     Server that arrived is another product's.
//
// Each step only removes candidates and never removes the last one. Rules that no evidence
// orders are ordered by role (security proxy, CDN, platform, origin cache), then by table
// order.
func outermost(detected uint64, h http.Header) int {
	cand := detected
	if cand&(cand-1) != 0 {
		if vias := h["Via"]; len(vias) > 0 {
			if owner := viaOwner(detected, vias); owner >= 0 {
				cand = narrow(cand, ^(addsViaRules &^ (1 << owner)))
			}
		}
	}
	if cand&(cand-1) != 0 {
		if cs := h["Cache-Status"]; len(cs) > 0 {
			cand = narrow(cand, cacheStatusKeep(detected, cs))
		}
	}
	if cand&(cand-1) != 0 && cand&ownsServerRules != 0 {
		if server, ok := lastValue(h, "Server"); ok {
			keep := ^ownsServerRules
			if owner := serverOwner(detected, server); owner >= 0 {
				keep |= 1 << owner
			}
			cand = narrow(cand, keep)
		}
	}
	best := -1
	for i := range builtin {
		if cand&(1<<i) != 0 && (best < 0 || builtin[i].role < builtin[best].role) {
			best = i
		}
	}
	return best
}

// narrow keeps the candidates in keep, unless that would leave none.
func narrow(cand, keep uint64) uint64 {
	if cand&keep != 0 {
		return cand & keep
	}
	return cand
}

// viaOwner returns the detected rule that wrote the last Via hop attributable to any detected
// rule, or -1. Only the last 16 hops are looked at.
func viaOwner(detected uint64, vias []string) int {
	var ring [16]string
	n := lastElems(vias, &ring)
	for i := n - 1; i >= 0 && i >= n-len(ring); i-- {
		hop := ring[i%len(ring)]
		for j := range viaHops {
			vh := &viaHops[j]
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
	}
	return -1
}

// cacheStatusKeep reads the order of the Cache-Status members: a rule whose member is not the
// last one had a cache outside it, so it is not outermost; and when the last member is a
// detected rule's, the other rules that name themselves there are inside it. It returns the
// mask of rules that may still be outermost (all ones when the field does not parse).
func cacheStatusKeep(detected uint64, values []string) uint64 {
	var seen uint64
	last := -1
	for _, v := range values {
		p := sfParser{s: v}
		p.skipSP()
		for !p.done() {
			e, err := p.member()
			if err != nil {
				return ^uint64(0)
			}
			last = cacheNameOwner(e.cache)
			if last >= 0 && detected&(1<<last) != 0 {
				seen |= 1 << last
			} else {
				last = -1
			}
			p.skipOWS()
			if p.done() {
				break
			}
			if p.s[p.i] != ',' {
				return ^uint64(0)
			}
			p.i++
			p.skipOWS()
		}
	}
	if last < 0 {
		return ^seen
	}
	return ^((seen | cacheNamesRules) &^ (1 << last))
}

// cacheNameOwner returns the rule whose cacheNames prefix the Cache-Status member name, or -1.
func cacheNameOwner(name string) int {
	for i := range builtin {
		for _, prefix := range builtin[i].cacheNames {
			if strings.HasPrefix(name, prefix) {
				return i
			}
		}
	}
	return -1
}

// serverOwner returns the detected rule whose Server detector matches the Server value, or -1.
func serverOwner(detected uint64, server string) int {
	vals := []string{server}
	for _, ref := range serverDetectRefs {
		if detected&(1<<ref.rule) != 0 && builtin[ref.rule].detect[ref.detector].matchValues(vals) {
			return ref.rule
		}
	}
	return -1
}

// selfDeclaredNames maps a normalised X-CDN / CDN value (lower case, letters and digits only)
// to the rule it names. Sites and multi-CDN switches use this header to say which CDN they
// routed to; it counts only when no vendor's own header identified a CDN.
var selfDeclaredNames = map[string]string{
	"cloudflare": "cloudflare", "cloudfront": "cloudfront", "amazoncloudfront": "cloudfront",
	"fastly": "fastly", "akamai": "akamai", "azure": "azure", "azurefrontdoor": "azure",
	"azurecdn": "azure", "vercel": "vercel", "netlify": "netlify", "fly": "fly", "flyio": "fly",
	"bunny": "bunny", "bunnycdn": "bunny", "bunnynet": "bunny", "keycdn": "keycdn",
	"cdn77": "cdn77", "gcore": "gcore", "gcorelabs": "gcore", "edgecast": "edgecast",
	"edgio": "edgecast", "stackpath": "stackpath", "highwinds": "stackpath",
	"alibaba": "alibaba", "alibabacloud": "alibaba", "aliyun": "alibaba", "tencent": "tencent",
	"tencentcloud": "tencent", "edgeone": "tencent", "imperva": "imperva", "incapsula": "imperva",
	"sucuri": "sucuri", "arvancloud": "arvancloud", "ovh": "ovh", "ovhcloud": "ovh",
	"cachefly": "cachefly", "google": "google", "googlecloudcdn": "google",
	"wangsu": "wangsu", "chinanetcenter": "wangsu", "cdnetworks": "cdnetworks",
	"byteplus": "byteplus", "volcengine": "byteplus", "myra": "myra", "myrasecurity": "myra",
	"qrator": "qrator", "ddosguard": "ddosguard", "f5xc": "f5xc", "volterra": "f5xc",
	"f5distributedcloud": "f5xc", "wpvip": "wpvip", "wordpressvip": "wpvip", "kinsta": "kinsta",
	"wpengine": "wpengine", "cloudinary": "cloudinary", "squarespace": "squarespace",
	"wix": "wix", "render": "render", "railway": "railway", "deno": "deno",
	"denodeploy": "deno", "heroku": "heroku", "huawei": "huawei", "huaweicloud": "huawei",
	"baishan": "baishan", "baishancloud": "baishan", "vk": "vk", "limelight": "limelight",
	"limelightnetworks": "limelight", "naver": "naver", "navercloud": "naver",
}

// selfDeclaredIndex is selfDeclaredNames with rule indexes (set by init).
var selfDeclaredIndex = map[string]int{}

func init() {
	for name, cdn := range selfDeclaredNames {
		idx := ruleIndex(cdn)
		if idx < 0 {
			panic("edge: self-declared name for unknown cdn " + cdn)
		}
		selfDeclaredIndex[name] = idx
	}
}

// selfDeclared reads X-CDN (then CDN): the rule whose name its last value gives, and the
// header key, or -1.
func selfDeclared(h http.Header) (int, string) {
	for _, key := range [...]string{"X-Cdn", "Cdn"} {
		v, ok := lastValue(h, key)
		if !ok {
			continue
		}
		var buf [24]byte
		n := 0
		for i := 0; i < len(v); i++ {
			c := v[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if !('a' <= c && c <= 'z') && !('0' <= c && c <= '9') {
				continue
			}
			if n == len(buf) {
				n = -1 // longer than any name
				break
			}
			buf[n] = c
			n++
		}
		if n <= 0 {
			continue
		}
		if idx, ok := selfDeclaredIndex[string(buf[:n])]; ok {
			return idx, key
		}
	}
	return -1, ""
}

// lastValue returns the last value of a header (repeated headers: the last one wins).
func lastValue(h http.Header, key string) (string, bool) {
	vals := h[key]
	if len(vals) == 0 {
		return "", false
	}
	return vals[len(vals)-1], true
}
