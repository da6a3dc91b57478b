package edge

import (
	"fmt"
	"net/http"
	"net/textproto"
	"regexp"
	"sort"
	"strings"
)

// userCDNRe bounds the cdn label value a user rule may set.
var userCDNRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// RuleError is a problem with one field of a user rule, as returned by CompileRule.
type RuleError struct {
	// Field is the config key of the field: "cdn", "header", "regex", "cache_header" or
	// "cache_values".
	Field string
	// Err says what is wrong; its text names the field already ("header must not be empty").
	Err error
}

// Error returns the text of Err, which names the field.
func (e *RuleError) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *RuleError) Unwrap() error { return e.Err }

// ruleErrorf returns a *RuleError for field. Format verbs work as in fmt.Errorf (%w wraps).
func ruleErrorf(field, format string, args ...any) *RuleError {
	return &RuleError{Field: field, Err: fmt.Errorf(format, args...)}
}

// CompileRule validates a user rule and compiles its regex once. Errors are *RuleError:
// short, lower-case and naming the field (the config package prefixes them with file, line
// and rule, and places them on the field's line).
func CompileRule(spec RuleSpec) (*UserRule, error) {
	if !userCDNRe.MatchString(spec.CDN) {
		return nil, ruleErrorf("cdn", "cdn %q must match %s", spec.CDN, userCDNRe)
	}
	if spec.CDN == Unknown || spec.CDN == "other" {
		return nil, ruleErrorf("cdn", "cdn %q is reserved", spec.CDN)
	}
	if spec.Header == "" {
		return nil, ruleErrorf("header", "header must not be empty")
	}
	if !ValidHeaderName(spec.Header) {
		return nil, ruleErrorf("header", "header %q is not a valid header name", spec.Header)
	}
	re, err := regexp.Compile(spec.Regex)
	if err != nil {
		return nil, ruleErrorf("regex", "regex %q does not compile: %w", spec.Regex, err)
	}
	if n := re.NumSubexp(); n != 1 {
		return nil, ruleErrorf("regex", "regex must have exactly one capture group, has %d", n)
	}
	if spec.CacheHeader != "" && !ValidHeaderName(spec.CacheHeader) {
		return nil, ruleErrorf("cache_header", "cache_header %q is not a valid header name", spec.CacheHeader)
	}
	if len(spec.CacheValues) > 0 && spec.CacheHeader == "" {
		return nil, ruleErrorf("cache_values", "cache_values needs cache_header")
	}
	u := &UserRule{
		Spec:   spec,
		regex:  re,
		header: textproto.CanonicalMIMEHeaderKey(spec.Header),
	}
	if spec.CacheHeader != "" {
		u.cacheHeader = textproto.CanonicalMIMEHeaderKey(spec.CacheHeader)
	}
	if len(spec.CacheValues) > 0 {
		u.cacheValues = make(map[string]string, len(spec.CacheValues))
		// Sorted so that the first bad entry reported is the same on every run.
		raws := make([]string, 0, len(spec.CacheValues))
		for raw := range spec.CacheValues {
			raws = append(raws, raw)
		}
		sort.Strings(raws)
		for _, raw := range raws {
			status := spec.CacheValues[raw]
			if !ValidCacheStatus(status) {
				return nil, ruleErrorf("cache_values", "cache_values[%q]: %q is not one of %s",
					raw, status, strings.Join(cacheStatuses, ", "))
			}
			u.cacheValues[strings.ToLower(strings.TrimSpace(raw))] = status
		}
	}
	return u, nil
}

// ValidHeaderName reports whether s is an RFC 9110 field name (a token). It is the one check
// of header names: for user rules here, and for the request headers of the config.
func ValidHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTChar(s[i]) {
			return false
		}
	}
	return true
}

// PoPCodePattern is what a PoP code written by a user (a target's expected_pops) must match:
// upper-cased, it is then a possible pop label value (^[A-Z0-9]{2,16}$).
const PoPCodePattern = `^[A-Za-z0-9]{2,16}$`

// ValidPoPCode reports whether s matches PoPCodePattern.
func ValidPoPCode(s string) bool { return validPoPFold(s) }

// identify applies the rule: it matches when its header is present and the regex matches the
// last value. The PoP is the capture group, upper-cased; a group that is not a valid PoP code
// gives pop "unknown", but the response is still the rule's CDN.
func (u *UserRule) identify(h http.Header) (Result, bool) {
	v, ok := lastValue(h, u.header)
	if !ok {
		return Result{}, false
	}
	m := u.regex.FindStringSubmatchIndex(v)
	if m == nil {
		return Result{}, false
	}
	res := Result{CDN: u.Spec.CDN, PoP: Unknown, CacheStatus: u.cacheStatus(h), Source: u.header}
	if m[2] >= 0 {
		raw := v[m[2]:m[3]]
		if pop := popLabel(raw); pop != "" {
			res.PoP = pop
		}
		res.RawPoP = sanitizeRaw(raw)
	}
	return res, true
}

// cacheStatus reads the rule's cache header: the value map first (case-insensitive), then the
// built-in vendor vocabulary (HIT, MISS, TCP_HIT, …). Without a cache header, a standard
// RFC 9211 Cache-Status is used when present.
func (u *UserRule) cacheStatus(h http.Header) string {
	if u.cacheHeader == "" {
		if vals := h["Cache-Status"]; len(vals) > 0 {
			return cacheFromRFC9211(vals, h)
		}
		return CacheUnknown
	}
	v, ok := lastValue(h, u.cacheHeader)
	if !ok {
		return CacheUnknown
	}
	v = trimOWS(v)
	if u.cacheValues != nil {
		if s, ok := u.cacheValues[strings.ToLower(v)]; ok {
			return s
		}
	}
	if s := phrase(v); s != "" {
		return s
	}
	return CacheUnknown
}
