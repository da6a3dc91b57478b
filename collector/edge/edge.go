// Package edge identifies, from one HTTP response, which CDN served it, which PoP answered and
// what the cache status was. It is pure: no network, no global state beyond compiled rules.
package edge

import (
	"net/http"
	"regexp"
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
	RawPoP      string // the vendor's own code as seen ("FRA56-P4"), bounded and sanitised
	UpstreamPoP string // shield / function-region PoP where the vendor shows one, else ""
	CacheStatus string // one of the Cache* constants
	EdgeIP      string // the edge's IP where the vendor exposes one (Akamai), else ""
	Source      string // the header (or "body") that decided the PoP, for logs
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
}

// CompileRule validates a user rule and compiles its regex once.
func CompileRule(spec RuleSpec) (*UserRule, error) {
	re, err := regexp.Compile(spec.Regex)
	if err != nil {
		return nil, err
	}
	return &UserRule{Spec: spec, regex: re}, nil
}

// Identifier identifies edges with user rules first, then the built-in rule table.
type Identifier struct {
	user []*UserRule
}

// NewIdentifier returns an Identifier that tries the given user rules before the built-ins.
func NewIdentifier(user []*UserRule) *Identifier {
	return &Identifier{user: user}
}

// Identify says which CDN, PoP and cache status one response shows. It never panics.
func (id *Identifier) Identify(r *Response) Result {
	// Placeholder until the rule table lands (issue 3).
	return Result{CDN: Unknown, PoP: Unknown, CacheStatus: CacheUnknown}
}
