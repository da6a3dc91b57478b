package edge

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/textproto"
	"regexp"
	"strings"
)

// rule is one row of the built-in rule table: everything pop_exporter knows about one CDN.
type rule struct {
	cdn  string // cdn label value
	name string // vendor name for README.md

	// role is where this kind of service usually sits in a stack. It decides only when the
	// response holds no evidence of the order (see outermost).
	role role
	// addsVia: the CDN appends a Via hop to responses (RFC 9110 §7.6.3), so if it were the
	// outermost layer its hop would be the last one.
	addsVia bool
	// ownsServer: the CDN replaces the origin's Server header with its own product token, so
	// it cannot be the outermost layer when another product's Server arrived.
	ownsServer bool
	// cacheNames: the RFC 9211 Cache-Status member names (prefixes) this CDN writes.
	cacheNames []string

	// anycast: the CDN answers from anycast addresses, so the address a probe connected to
	// says nothing about which PoP answered and must never be geolocated as if it did.
	anycast bool

	detect  []detector  // any one of these identifies the CDN
	pop     []popSource // tried in order; the first that yields a valid code gives the PoP
	popNote string      // README.md: how the vendor's code becomes the pop label
	// upstream: second-tier (storage / shield) PoP headers, tried in order when the PoP
	// source itself named no upstream; the first valid code is Result.UpstreamPoP.
	upstream []popSource
	cache    []cacheSource // tried in order; the first that decides gives the cache status
	edgeIP   []ipSource    // tried in order; the first parsable address is Result.EdgeIP
}

// role orders stacked services when the response itself does not: security reverse proxies
// are put in front of everything, CDNs in front of hosting platforms, and origin-side caches
// behind them all.
type role int

const (
	roleSecurity role = iota // WAF / DDoS reverse proxies
	roleCDN                  // content delivery networks
	rolePlatform             // hosting platforms with their own edge (Vercel, Netlify, Fly, Google)
	roleOrigin               // caches that run next to the origin (a plain Varnish)
)

// String names the role for README.md.
func (r role) String() string {
	switch r {
	case roleSecurity:
		return "security proxies"
	case roleCDN:
		return "CDNs"
	case rolePlatform:
		return "hosting platforms"
	default:
		return "origin-side caches"
	}
}

// matchKind says how a detector looks at a header value.
type matchKind int

const (
	present     matchKind = iota // the header exists
	prefix                       // some value starts with arg (ASCII case-insensitive)
	contains                     // some value contains arg (ASCII case-insensitive)
	matches                      // some value matches re
	elemMatches                  // some element of a comma-separated value matches re
)

// detector is one piece of evidence that a CDN served the response.
type detector struct {
	header string // as the vendor documents it; key is its canonical form (set by init)
	key    string
	kind   matchKind
	arg    string
	re     *regexp.Regexp
	fast   matcher // hand-written equivalent of re, if any (set by init)

	body        bool   // match re against the body instead, for URLs containing urlContains
	urlContains string // e.g. "/cdn-cgi/trace"

	// weak: a convention other products may follow too (Akamai's Server-Timing metric
	// names), so it identifies the CDN only when no other detector matched.
	weak bool
}

// has detects the presence of a header.
func has(header string) detector { return detector{header: header, kind: present} }

// prefixed detects a value starting with p, ignoring ASCII case.
func prefixed(header, p string) detector {
	return detector{header: header, kind: prefix, arg: p}
}

// containing detects a value containing sub, ignoring ASCII case.
func containing(header, sub string) detector {
	return detector{header: header, kind: contains, arg: sub}
}

// matching detects a value matching re. hint is a literal every match contains: the regex only
// runs on values that contain it, which keeps detection cheap on long unrelated values.
func matching(header, hint string, re *regexp.Regexp) detector {
	return detector{header: header, kind: matches, arg: hint, re: re}
}

// matchingElem detects a list element matching re (anchored to the element). Only values that
// contain hint are split.
func matchingElem(header, hint string, re *regexp.Regexp) detector {
	return detector{header: header, kind: elemMatches, arg: hint, re: re}
}

// weakly marks a detector as evidence that counts only when no other detector matched.
func weakly(d detector) detector {
	d.weak = true
	return d
}

// describe renders the detector for README.md.
func (d *detector) describe() string {
	switch {
	case d.body:
		return fmt.Sprintf("body of `…%s` matching `%s`", d.urlContains, d.re)
	case d.kind == present:
		return "`" + d.header + "`"
	case d.kind == prefix:
		return fmt.Sprintf("`%s: %s…`", d.header, d.arg)
	case d.kind == contains:
		return fmt.Sprintf("`%s: …%s…`", d.header, d.arg)
	case d.kind == elemMatches && d.weak:
		return fmt.Sprintf("`%s` element ~ `%s` (only when nothing else matches)", d.header, d.re)
	case d.kind == elemMatches:
		return fmt.Sprintf("`%s` element ~ `%s`", d.header, d.re)
	default:
		return fmt.Sprintf("`%s` ~ `%s`", d.header, d.re)
	}
}

func (d *detector) matchValues(values []string) bool {
	if d.kind == present {
		return true
	}
	for _, v := range values {
		switch d.kind {
		case prefix:
			// The first byte rejects most of the many Server: prefixes without a call.
			if len(v) >= len(d.arg) && v[0]|0x20 == d.arg[0]|0x20 && hasPrefixFold(v, d.arg) {
				return true
			}
		case contains:
			if containsFold(v, d.arg) {
				return true
			}
		case matches:
			if strings.Contains(v, d.arg) && matchString(d.re, d.fast, v) {
				return true
			}
		case elemMatches:
			if !strings.Contains(v, d.arg) {
				continue
			}
			for v != "" {
				var e string
				e, v = nextElem(v)
				if strings.Contains(e, d.arg) && matchString(d.re, d.fast, e) {
					return true
				}
			}
		}
	}
	return false
}

func (d *detector) matchBody(url string, body []byte) bool {
	return len(body) > 0 && strings.Contains(url, d.urlContains) && d.re.Match(body)
}

// pick says which part of a header a popSource reads.
type pick int

const (
	pickLast  pick = iota // the last element of the last value (repeated headers: last wins)
	pickWhole             // the whole last value
	pickList              // every element of every value in order: the last match is the PoP
	pickBody              // the body, for URLs containing urlContains
	pickFirst             // every element of every value in order: the first match is the PoP (lists written client-facing node first)
)

// popSource is one place a CDN writes its PoP code.
type popSource struct {
	header string
	key    string // canonical header key (set by init)
	pick   pick
	// decode optionally transforms the value before matching (Azure's legacy base64 ref).
	decode func(string) string
	// re's group 1 is the vendor's own code (Result.RawPoP).
	re   *regexp.Regexp
	fast matcher // hand-written equivalent of re, if any (set by init)
	// norm turns the vendor code into a pop label value; "" rejects the match.
	norm func(string) string
	// upstream, when set, is matched against the same value; its group 1, normalised with
	// norm, is the upstream PoP (Vercel's function region).
	upstream     *regexp.Regexp
	upstreamFast matcher // hand-written equivalent of upstream, if any (set by init)
	// listUpstream (pickList): the match before the last is a separate upstream layer
	// (Fastly shield, inner CloudFront), not just another node of the same PoP.
	listUpstream bool
	urlContains  string // pickBody only
}

// cacheSource is one place a CDN writes its cache status.
type cacheSource struct {
	header string
	key    string // canonical header key (set by init)
	// parse returns a Cache* constant, or "" when this source does not decide.
	parse func(values []string, h http.Header) string
}

// ipSource is one place a CDN exposes the edge's IP address.
type ipSource struct {
	header string
	key    string // canonical header key (set by init)
	re     *regexp.Regexp
	parse  func(group string) (netip.Addr, bool)
}

// viaHop maps a Via hop to the CDNs that write it, first match wins.
type viaHop struct {
	contains string
	re       *regexp.Regexp
	cdns     []string
	rules    []int // indexes of cdns in builtin (set by init)
}

func (v *viaHop) matches(hop string) bool {
	if v.re != nil {
		return matchString(v.re, fastMatchers[v.re], hop)
	}
	return containsFold(hop, v.contains)
}

// detectRef points from a header key to one detector of one built-in rule.
type detectRef struct {
	rule, detector int
}

// detectIndex maps a canonical header key to the detectors that look at it, so that
// detection walks the response's headers once instead of every rule's header list.
var detectIndex = map[string][]detectRef{}

// bodyDetectors are the detectors that read the body instead of a header.
var bodyDetectors []detectRef

// Bitmasks of the rules that leave each kind of stacking evidence (set by init).
var (
	addsViaRules     uint64 // rules with addsVia
	ownsServerRules  uint64 // rules with ownsServer
	cacheNamesRules  uint64 // rules with cacheNames
	serverDetectRefs []detectRef
)

func init() {
	if len(builtin) > 64 {
		panic("edge: detection bitmask holds at most 64 rules")
	}
	canon := textproto.CanonicalMIMEHeaderKey
	for i := range builtin {
		r := &builtin[i]
		for j := range r.detect {
			d := &r.detect[j]
			if d.body {
				bodyDetectors = append(bodyDetectors, detectRef{rule: i, detector: j})
				continue
			}
			d.fast = fastMatchers[d.re]
			d.key = canon(d.header)
			addDetector(d.key, detectRef{rule: i, detector: j})
			if d.key == "Server" {
				serverDetectRefs = append(serverDetectRefs, detectRef{rule: i, detector: j})
			}
		}
		if r.addsVia {
			addsViaRules |= 1 << i
		}
		if r.ownsServer {
			ownsServerRules |= 1 << i
		}
		if len(r.cacheNames) > 0 {
			cacheNamesRules |= 1 << i
		}
		for _, srcs := range [][]popSource{r.pop, r.upstream} {
			for j := range srcs {
				p := &srcs[j]
				p.key = canon(p.header)
				p.fast = fastMatchers[p.re]
				if p.upstream != nil {
					p.upstreamFast = fastMatchers[p.upstream]
				}
			}
		}
		for j := range r.cache {
			r.cache[j].key = canon(r.cache[j].header)
		}
		for j := range r.edgeIP {
			r.edgeIP[j].key = canon(r.edgeIP[j].header)
		}
	}
	for i := range viaHops {
		for _, name := range viaHops[i].cdns {
			idx := ruleIndex(name)
			if idx < 0 {
				panic("edge: via hop names unknown cdn " + name)
			}
			viaHops[i].rules = append(viaHops[i].rules, idx)
		}
	}
}

func addDetector(key string, ref detectRef) {
	detectIndex[key] = append(detectIndex[key], ref)
}

// ruleIndex returns the index of the built-in rule for cdn, or -1.
func ruleIndex(cdn string) int {
	for i := range builtin {
		if builtin[i].cdn == cdn {
			return i
		}
	}
	return -1
}

// identify reads PoP, cache status and edge IP for a response this rule detected.
func (r *rule) identify(resp *Response) Result {
	res := Result{CDN: r.cdn, PoP: Unknown, CacheStatus: CacheUnknown}
	h := resp.Header
	for i := range r.pop {
		if r.pop[i].extract(resp, &res) {
			break
		}
	}
	if res.Source == "" {
		res.Source = r.detectedBy(resp)
	}
	if res.PoP != Unknown && res.UpstreamPoP == "" {
		for i := range r.upstream {
			if up := r.upstream[i].upstreamCode(h); up != "" {
				res.UpstreamPoP = up
				break
			}
		}
	}
	for i := range r.cache {
		c := &r.cache[i]
		vals := h[c.key]
		if len(vals) == 0 {
			continue
		}
		if s := c.parse(vals, h); s != "" {
			res.CacheStatus = s
			break
		}
	}
	for i := range r.edgeIP {
		if ip := r.edgeIP[i].extract(h); ip != "" {
			res.EdgeIP = ip
			break
		}
	}
	return res
}

// detectedBy names the first detector of the rule that matches, for Result.Source.
func (r *rule) detectedBy(resp *Response) string {
	for i := range r.detect {
		d := &r.detect[i]
		if d.body {
			if d.matchBody(resp.URL, resp.Body) {
				return "body"
			}
			continue
		}
		if vals := resp.Header[d.key]; len(vals) > 0 && d.matchValues(vals) {
			return d.key
		}
	}
	return ""
}

// extract fills PoP, RawPoP, UpstreamPoP and Source when this source yields a valid code.
func (p *popSource) extract(resp *Response, res *Result) bool {
	if p.pick == pickBody {
		if len(resp.Body) == 0 || !strings.Contains(resp.URL, p.urlContains) {
			return false
		}
		m := p.re.FindSubmatchIndex(resp.Body)
		if m == nil || m[2] < 0 {
			return false
		}
		// Copy only the short match out of the body buffer, which the caller may reuse.
		return p.accept(string(resp.Body[m[2]:m[3]]), "", "body", res)
	}
	vals := resp.Header[p.key]
	if len(vals) == 0 {
		return false
	}
	switch p.pick {
	case pickLast:
		return p.matchOne(lastElem(vals[len(vals)-1]), res)
	case pickWhole:
		return p.matchOne(vals[len(vals)-1], res)
	case pickFirst:
		for _, v := range vals {
			for v != "" {
				var e string
				e, v = nextElem(v)
				if code, ok := p.code(e); ok {
					return p.accept(code, "", p.key, res)
				}
			}
		}
		return false
	}
	// pickList: the last matching element is the edge nearest the client, the one before it
	// the shield / upstream layer. Elements are split forward (cheap) and matched from the end
	// (a regex each), so usually only one or two are matched.
	var ring [16]string
	n := lastElems(vals, &ring)
	var raw, prev string
	for i := n - 1; i >= 0 && i >= n-len(ring); i-- {
		code, ok := p.code(ring[i%len(ring)])
		if !ok {
			continue
		}
		if raw == "" {
			raw = code
			if !p.listUpstream {
				break
			}
			continue
		}
		prev = code
		break
	}
	if raw == "" {
		return false
	}
	return p.accept(raw, prev, p.key, res)
}

// code matches one value or element and returns the vendor code when it normalises.
func (p *popSource) code(v string) (string, bool) {
	if p.decode != nil {
		v = p.decode(v)
	}
	lo, hi, ok := submatch(p.re, p.fast, v)
	if !ok {
		return "", false
	}
	raw := v[lo:hi]
	if !validPoPFold(p.norm(raw)) {
		return "", false
	}
	return raw, true
}

// upstreamCode returns the normalised code of a second-tier PoP header, or "".
func (p *popSource) upstreamCode(h http.Header) string {
	vals := h[p.key]
	if len(vals) == 0 {
		return ""
	}
	raw, ok := p.code(lastElem(vals[len(vals)-1]))
	if !ok {
		return ""
	}
	return popLabel(p.norm(raw))
}

func (p *popSource) matchOne(v string, res *Result) bool {
	raw, ok := p.code(v)
	if !ok {
		return false
	}
	upstream := ""
	if p.upstream != nil {
		if lo, hi, ok := submatch(p.upstream, p.upstreamFast, v); ok {
			upstream = v[lo:hi]
		}
	}
	return p.accept(raw, upstream, p.key, res)
}

// accept writes a matched vendor code (and optional upstream code) into res.
func (p *popSource) accept(raw, upstream, source string, res *Result) bool {
	pop := popLabel(p.norm(raw))
	if pop == "" {
		return false
	}
	res.PoP = pop
	res.RawPoP = sanitizeRaw(raw)
	res.Source = source
	if upstream != "" {
		res.UpstreamPoP = popLabel(p.norm(upstream))
	}
	return true
}

func (s *ipSource) extract(h http.Header) string {
	vals := h[s.key]
	for i := len(vals) - 1; i >= 0; i-- {
		m := s.re.FindStringSubmatchIndex(vals[i])
		if m == nil || m[2] < 0 {
			continue
		}
		if a, ok := s.parse(vals[i][m[2]:m[3]]); ok {
			return ipString(a)
		}
	}
	return ""
}
