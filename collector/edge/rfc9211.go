package edge

import (
	"errors"
	"net/http"
	"strings"
)

// The RFC 9211 Cache-Status field is a Structured Fields List (RFC 8941, RFC 9651): one member
// per cache, from the one nearest the origin to the one nearest the user. The last member is
// the edge that answered, so only it decides the cache status. A field that does not parse is
// ignored as a whole, as RFC 8941 §4.2 requires, and yields "unknown".

// cacheStatusEntry is one member of a Cache-Status list with the parameters RFC 9211 defines.
// Parameters of the wrong type are ignored, like unknown ones.
type cacheStatusEntry struct {
	cache        string // the cache's identifier (token or string)
	hit          bool
	fwd          string // bypass, method, uri-miss, vary-miss, miss, request, stale, partial
	fwdStatus    int64
	hasFwdStatus bool
	ttl          int64
	hasTTL       bool
	stored       bool
	collapsed    bool
	key          string
	detail       string
}

// errSF is the one error of the structured-field parser: the position does not matter to
// anyone, the field is ignored either way.
var errSF = errors.New("malformed structured field")

// sfKind is the type of a bare item.
type sfKind int

const (
	sfInteger sfKind = iota
	sfDecimal
	sfString
	sfToken
	sfBytes
	sfBoolean
	sfDate
	sfDisplayString
)

// sfItem is a parsed bare item. str holds strings, tokens, byte sequences (still base64) and
// display strings (still percent-encoded); num holds integers and dates; b holds booleans.
type sfItem struct {
	kind sfKind
	str  string
	num  int64
	b    bool
}

// sfParser walks one field line.
type sfParser struct {
	s string
	i int
}

// parseCacheStatus parses every Cache-Status field line as one list (RFC 9110 §5.3: repeated
// lines are one comma-joined list) and returns its last member.
func parseCacheStatus(values []string) (cacheStatusEntry, error) {
	var last cacheStatusEntry
	found := false
	for _, v := range values {
		p := sfParser{s: v}
		p.skipSP()
		if p.done() {
			continue // an empty line is an empty list
		}
		for {
			e, err := p.member()
			if err != nil {
				return cacheStatusEntry{}, err
			}
			last, found = e, true
			p.skipOWS()
			if p.done() {
				break
			}
			if p.s[p.i] != ',' {
				return cacheStatusEntry{}, errSF
			}
			p.i++
			p.skipOWS()
			if p.done() {
				return cacheStatusEntry{}, errSF // trailing comma
			}
		}
	}
	if !found {
		return cacheStatusEntry{}, errSF
	}
	return last, nil
}

// cacheFromRFC9211 normalises the edge member of a Cache-Status field.
func cacheFromRFC9211(values []string, _ http.Header) string {
	e, err := parseCacheStatus(values)
	if err != nil {
		return CacheUnknown
	}
	return e.status()
}

// status maps the edge's Cache-Status parameters to a cache_status value.
func (e cacheStatusEntry) status() string {
	if e.hit {
		// Netlify sends `hit; fwd=stale` for stale-while-revalidate; a negative ttl is an
		// object served past its freshness lifetime.
		if e.fwd == "stale" || (e.hasTTL && e.ttl < 0) {
			return CacheStale
		}
		return CacheHit
	}
	if e.hasFwdStatus && e.fwdStatus >= 500 {
		return CacheError
	}
	switch e.fwd {
	case "":
		return CacheUnknown
	case "stale":
		if e.hasFwdStatus && e.fwdStatus == 304 {
			return CacheRevalidated
		}
		return CacheExpired
	case "bypass", "method", "request":
		return CacheBypass
	default:
		// miss, uri-miss, vary-miss, partial, and any future reason: the request went
		// forward towards the origin.
		return CacheMiss
	}
}

func (p *sfParser) done() bool { return p.i >= len(p.s) }

func (p *sfParser) skipSP() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *sfParser) skipOWS() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// member parses one list member: an item whose bare item identifies the cache, then its
// parameters. An inner list is valid Structured Fields but names no cache, so the field is
// rejected as a Cache-Status.
func (p *sfParser) member() (cacheStatusEntry, error) {
	var e cacheStatusEntry
	if !p.done() && p.s[p.i] == '(' {
		return e, errSF
	}
	id, err := p.bareItem()
	if err != nil {
		return e, err
	}
	if id.kind != sfString && id.kind != sfToken {
		return e, errSF
	}
	e.cache = id.str
	for !p.done() && p.s[p.i] == ';' {
		p.i++
		p.skipSP()
		key, err := p.key()
		if err != nil {
			return e, err
		}
		val := sfItem{kind: sfBoolean, b: true}
		if !p.done() && p.s[p.i] == '=' {
			p.i++
			if val, err = p.bareItem(); err != nil {
				return e, err
			}
		}
		e.set(key, val)
	}
	return e, nil
}

// set records one parameter; later duplicates overwrite earlier ones (RFC 8941 §4.2.3.2).
func (e *cacheStatusEntry) set(key string, v sfItem) {
	switch key {
	case "hit":
		if v.kind == sfBoolean {
			e.hit = v.b
		}
	case "fwd":
		if v.kind == sfToken {
			e.fwd = v.str
		}
	case "fwd-status":
		if v.kind == sfInteger {
			e.fwdStatus, e.hasFwdStatus = v.num, true
		}
	case "ttl":
		if v.kind == sfInteger {
			e.ttl, e.hasTTL = v.num, true
		}
	case "stored":
		if v.kind == sfBoolean {
			e.stored = v.b
		}
	case "collapsed":
		if v.kind == sfBoolean {
			e.collapsed = v.b
		}
	case "key":
		if v.kind == sfString {
			e.key = v.str
		}
	case "detail":
		if v.kind == sfToken || v.kind == sfString {
			e.detail = v.str
		}
	}
}

// key parses a parameter key: ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" ).
func (p *sfParser) key() (string, error) {
	start := p.i
	if p.done() || !(isLCAlpha(p.s[p.i]) || p.s[p.i] == '*') {
		return "", errSF
	}
	p.i++
	for !p.done() {
		c := p.s[p.i]
		if !(isLCAlpha(c) || isDigit(c) || c == '_' || c == '-' || c == '.' || c == '*') {
			break
		}
		p.i++
	}
	return p.s[start:p.i], nil
}

// bareItem parses one bare item (RFC 9651 §4.2.3.1).
func (p *sfParser) bareItem() (sfItem, error) {
	if p.done() {
		return sfItem{}, errSF
	}
	switch c := p.s[p.i]; {
	case c == '-' || isDigit(c):
		return p.number()
	case c == '"':
		return p.str()
	case c == '*' || isAlpha(c):
		return p.token(), nil
	case c == ':':
		return p.bytes()
	case c == '?':
		return p.boolean()
	case c == '@':
		p.i++
		it, err := p.number()
		if err != nil || it.kind != sfInteger {
			return sfItem{}, errSF
		}
		it.kind = sfDate
		return it, nil
	case c == '%':
		return p.displayString()
	}
	return sfItem{}, errSF
}

// number parses an Integer (at most 15 digits) or a Decimal (at most 12 integer and 3
// fractional digits). Decimals are validated but their value is not needed here.
func (p *sfParser) number() (sfItem, error) {
	neg := false
	if p.done() {
		return sfItem{}, errSF // a Date's "@" at the end
	}
	if p.s[p.i] == '-' {
		neg = true
		p.i++
	}
	if p.done() || !isDigit(p.s[p.i]) {
		return sfItem{}, errSF
	}
	var n int64
	digits := 0
	for !p.done() && isDigit(p.s[p.i]) {
		n = n*10 + int64(p.s[p.i]-'0')
		digits++
		p.i++
		if digits > 15 {
			return sfItem{}, errSF
		}
	}
	if !p.done() && p.s[p.i] == '.' {
		if digits > 12 {
			return sfItem{}, errSF
		}
		p.i++
		frac := 0
		for !p.done() && isDigit(p.s[p.i]) {
			frac++
			p.i++
		}
		if frac < 1 || frac > 3 {
			return sfItem{}, errSF
		}
		return sfItem{kind: sfDecimal}, nil
	}
	if neg {
		n = -n
	}
	return sfItem{kind: sfInteger, num: n}, nil
}

// str parses a String: printable ASCII, with \" and \\ as the only escapes.
func (p *sfParser) str() (sfItem, error) {
	p.i++ // opening quote
	start, escaped := p.i, false
	for !p.done() {
		c := p.s[p.i]
		switch {
		case c == '\\':
			p.i++
			if p.done() || (p.s[p.i] != '"' && p.s[p.i] != '\\') {
				return sfItem{}, errSF
			}
			escaped = true
		case c == '"':
			raw := p.s[start:p.i]
			p.i++
			if escaped {
				raw = unescapeSF(raw)
			}
			return sfItem{kind: sfString, str: raw}, nil
		case c < 0x20 || c > 0x7e:
			return sfItem{}, errSF
		}
		p.i++
	}
	return sfItem{}, errSF // unterminated
}

// unescapeSF removes the backslashes of a validated String body.
func unescapeSF(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// token parses a Token: ( ALPHA / "*" ) *( tchar / ":" / "/" ).
func (p *sfParser) token() sfItem {
	start := p.i
	p.i++
	for !p.done() && (isTChar(p.s[p.i]) || p.s[p.i] == ':' || p.s[p.i] == '/') {
		p.i++
	}
	return sfItem{kind: sfToken, str: p.s[start:p.i]}
}

// bytes parses a Byte Sequence, :base64:, checking only its alphabet.
func (p *sfParser) bytes() (sfItem, error) {
	p.i++
	start := p.i
	for !p.done() && p.s[p.i] != ':' {
		c := p.s[p.i]
		if !(isAlpha(c) || isDigit(c) || c == '+' || c == '/' || c == '=') {
			return sfItem{}, errSF
		}
		p.i++
	}
	if p.done() {
		return sfItem{}, errSF
	}
	p.i++
	return sfItem{kind: sfBytes, str: p.s[start : p.i-1]}, nil
}

// boolean parses ?0 or ?1.
func (p *sfParser) boolean() (sfItem, error) {
	if p.i+1 >= len(p.s) || (p.s[p.i+1] != '0' && p.s[p.i+1] != '1') {
		return sfItem{}, errSF
	}
	b := p.s[p.i+1] == '1'
	p.i += 2
	return sfItem{kind: sfBoolean, b: b}, nil
}

// displayString parses a Display String, %"…" with lower-case %xx escapes (RFC 9651).
func (p *sfParser) displayString() (sfItem, error) {
	if p.i+1 >= len(p.s) || p.s[p.i+1] != '"' {
		return sfItem{}, errSF
	}
	p.i += 2
	start := p.i
	for !p.done() {
		c := p.s[p.i]
		switch {
		case c == '%':
			if p.i+2 >= len(p.s) || !isLCHex(p.s[p.i+1]) || !isLCHex(p.s[p.i+2]) {
				return sfItem{}, errSF
			}
			p.i += 2
		case c == '"':
			p.i++
			return sfItem{kind: sfDisplayString, str: p.s[start : p.i-1]}, nil
		case c < 0x20 || c > 0x7e:
			return sfItem{}, errSF
		}
		p.i++
	}
	return sfItem{}, errSF
}

func isDigit(c byte) bool   { return '0' <= c && c <= '9' }
func isLCAlpha(c byte) bool { return 'a' <= c && c <= 'z' }
func isAlpha(c byte) bool   { return isLCAlpha(c) || 'A' <= c && c <= 'Z' }
func isLCHex(c byte) bool   { return isDigit(c) || 'a' <= c && c <= 'f' }

// isTChar reports an RFC 9110 token character.
func isTChar(c byte) bool {
	return isAlpha(c) || isDigit(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
