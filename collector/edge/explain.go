package edge

import (
	"fmt"
	"net/http"
	"strings"
)

// Explanation says why identification gave what it gave: which rule decided the CDN, where
// the PoP and the cache status came from, or why each stayed unknown. It is for people (the
// exporter's probe debug page), never for labels; header values in it are shown as
// ShowValue shows them (credentials redacted), shortened.
type Explanation struct {
	Result Result
	CDN    string // which rule recognised the CDN and by what, or why none did
	PoP    string // where the PoP came from, or why it is unknown
	Cache  string // where the cache status came from, or why it is unknown
}

// Explain identifies r as Identify does and says why. It costs more than Identify (it
// formats text), so it runs only for the debug page, never on the probe path.
func (id *Identifier) Explain(r *Response) (x Explanation) {
	if r == nil {
		return Explanation{Result: unknownResult(), CDN: "no response"}
	}
	res := id.Identify(r)
	x = Explanation{Result: res}
	h := r.Header
	if id != nil {
		var tried []string
		for i, u := range id.user {
			v, ok := lastValue(h, u.header)
			switch {
			case !ok:
				tried = append(tried, fmt.Sprintf("user rule %d (%s): no %s header", i, u.Spec.CDN, u.header))
			case u.regex.FindStringSubmatchIndex(v) == nil:
				tried = append(tried, fmt.Sprintf("user rule %d (%s): %s %s does not match %s", i, u.Spec.CDN, u.header, ShowValue(u.header, v), u.Spec.Regex))
			default:
				x.CDN = fmt.Sprintf("user rule %d: %s %s matches %s", i, u.header, ShowValue(u.header, v), u.Spec.Regex)
				if res.PoP != Unknown {
					x.PoP = fmt.Sprintf("the rule's capture group: %q", res.RawPoP)
				} else {
					x.PoP = "the rule's capture group is not a PoP code (2-16 letters or digits)"
				}
				x.Cache = u.explainCache(h, res.CacheStatus)
				return x
			}
		}
		if len(tried) > 0 {
			defer func() { x.CDN += " (" + strings.Join(tried, "; ") + ")" }()
		}
	}
	idx := ruleIndex(res.CDN)
	if res.CDN == Unknown || idx < 0 {
		x.CDN = "no built-in rule recognised a header of this response (nor an X-CDN header): see the supported CDNs and their headers in collector/edge/README.md, or add a rule under rules:"
		x.PoP = "unknown because the CDN is unknown"
		if vals := h["Cache-Status"]; len(vals) > 0 && res.CacheStatus != CacheUnknown {
			x.Cache = fmt.Sprintf("the standard Cache-Status %s", ShowValue("Cache-Status", vals[len(vals)-1]))
		} else {
			x.Cache = "unknown: no CDN identified and no standard Cache-Status header"
		}
		return x
	}
	rl := &builtin[idx]
	if src := rl.detectedBy(r); src != "" {
		if src != "body" {
			src = "the " + src + " header"
		} else {
			src = "the response body"
		}
		x.CDN = fmt.Sprintf("built-in rule %s: recognised by %s", rl.name, src)
	} else {
		x.CDN = fmt.Sprintf("built-in rule %s: named by the response's own %s header", rl.name, res.Source)
	}
	x.PoP = rl.explainPoP(r, res)
	x.Cache = rl.explainCache(h, res.CacheStatus)
	return x
}

// explainPoP says which PoP source gave the PoP, or what each one found.
func (rl *rule) explainPoP(r *Response, res Result) string {
	if len(rl.pop) == 0 {
		return fmt.Sprintf("%s names no PoP in its responses (pop is unknown unless --geoip.database places its edge address)", rl.name)
	}
	var why []string
	for i := range rl.pop {
		p := &rl.pop[i]
		var scratch Result
		if p.extract(r, &scratch) {
			where := p.header
			if p.pick == pickBody {
				where = "the body"
			}
			s := fmt.Sprintf("from %s: vendor code %q", where, scratch.RawPoP)
			if res.UpstreamPoP != "" {
				s += fmt.Sprintf(", shield/upstream %s", res.UpstreamPoP)
			}
			return s
		}
		switch vals := r.Header[p.key]; {
		case p.pick == pickBody && !strings.Contains(r.URL, p.urlContains):
			why = append(why, fmt.Sprintf("the body is read only on URLs containing %q", p.urlContains))
		case p.pick == pickBody:
			why = append(why, "the body holds no PoP code")
		case len(vals) == 0:
			why = append(why, fmt.Sprintf("no %s header", p.header))
		default:
			why = append(why, fmt.Sprintf("%s %s holds no PoP code this rule knows", p.header, ShowValue(p.key, vals[len(vals)-1])))
		}
	}
	return "unknown: " + strings.Join(why, "; ")
}

// explainCache says which cache source decided, or what the rule looked for.
func (rl *rule) explainCache(h http.Header, status string) string {
	if len(rl.cache) == 0 {
		return fmt.Sprintf("unknown: %s sends no cache status this exporter reads", rl.name)
	}
	var looked []string
	for i := range rl.cache {
		c := &rl.cache[i]
		vals := h[c.key]
		if len(vals) == 0 {
			looked = append(looked, c.header)
			continue
		}
		if s := c.parse(vals, h); s != "" {
			return fmt.Sprintf("%s from %s %s", s, c.header, ShowValue(c.key, vals[len(vals)-1]))
		}
		looked = append(looked, fmt.Sprintf("%s %s (not a known status)", c.header, ShowValue(c.key, vals[len(vals)-1])))
	}
	if status != CacheUnknown {
		return status
	}
	return "unknown: none of " + strings.Join(looked, ", ") + " decided"
}

// explainCache says where a user rule's cache status came from.
func (u *UserRule) explainCache(h http.Header, status string) string {
	key := u.cacheHeader
	if key == "" {
		key = "Cache-Status"
	}
	v, ok := lastValue(h, key)
	if !ok {
		return fmt.Sprintf("%s: no %s header", status, key)
	}
	return fmt.Sprintf("%s from %s %s", status, key, ShowValue(key, v))
}

// sensitiveHeaders hold credentials or session state: the debug page shows that they came,
// never what they said.
var sensitiveHeaders = map[string]bool{
	"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Set-Cookie": true,
	"Set-Cookie2": true, "X-Api-Key": true, "X-Auth-Token": true, "X-Csrf-Token": true,
	"X-Amz-Security-Token": true, "Proxy-Authenticate": false,
}

// Sensitive says whether a header's value is a credential or a cookie: Authorization,
// Cookie, Set-Cookie and their kind, and any header whose name says token, secret, session,
// password or api-key.
func Sensitive(name string) bool {
	key := http.CanonicalHeaderKey(name)
	if sensitiveHeaders[key] {
		return true
	}
	l := strings.ToLower(key)
	for _, word := range []string{"token", "secret", "session", "password", "api-key", "apikey", "credential"} {
		if strings.Contains(l, word) {
			return true
		}
	}
	return false
}

// maxShownValue bounds a header value as shown: enough for any PoP or cache header.
const maxShownValue = 256

// ShowValue quotes a header value for people: "(redacted, N bytes)" for a sensitive header,
// else the value quoted (control characters escaped), shortened past maxShownValue bytes.
func ShowValue(name, v string) string {
	if Sensitive(name) {
		return fmt.Sprintf("(redacted, %d bytes)", len(v))
	}
	if len(v) > maxShownValue {
		return fmt.Sprintf("%q… (%d bytes)", v[:maxShownValue], len(v))
	}
	return fmt.Sprintf("%q", v)
}
