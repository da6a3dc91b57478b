package edge

import (
	"regexp"
	"strings"
)

// The rule table's regexes are the specification of each vendor's format: README.md shows
// them and every row's samples are matched through them. Go's regexp engine costs about
// 300 ns per call on a small string, and Identify runs on every probe, so the regexes of the
// headers seen most often have hand-written equivalents here. FuzzFastMatchers holds each one
// to its regex: same match, same group 1, on any input.

// matcher returns the bounds of group 1 of a match in s, like the regex it stands for.
type matcher func(s string) (lo, hi int, ok bool)

// fastMatchers maps a table regex to its hand-written equivalent.
var fastMatchers = map[*regexp.Regexp]matcher{
	cfRayRe:          matchCFRay,
	cloudfrontPoPRe:  matchCloudFrontPoP,
	fastlyNodeRe:     matchFastlyNode,
	alibabaHopRe:     matchAlibabaHop,
	vercelEdgeRe:     matchVercelEdge,
	vercelFunctionRe: matchVercelFunction,
	wangsuHopRe:      matchWangsuHop,
	byteplusHopRe:    matchBytePlusHop,
	f5LocationRe:     matchF5Location,
	railwayEdgeRe:    matchRailwayEdge,
	denoServerRe:     matchDenoServer,
}

// submatch returns the bounds of group 1, through fast when there is one.
func submatch(re *regexp.Regexp, fast matcher, s string) (lo, hi int, ok bool) {
	if fast != nil {
		return fast(s)
	}
	m := re.FindStringSubmatchIndex(s)
	if m == nil || m[2] < 0 {
		return 0, 0, false
	}
	return m[2], m[3], true
}

// matchString reports whether re matches s, through fast when there is one.
func matchString(re *regexp.Regexp, fast matcher, s string) bool {
	if fast != nil {
		_, _, ok := fast(s)
		return ok
	}
	return re.MatchString(s)
}

func isUpper(c byte) bool    { return 'A' <= c && c <= 'Z' }
func isLowerHex(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' }

// allOf reports whether every byte of s satisfies f.
func allOf(s string, f func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !f(s[i]) {
			return false
		}
	}
	return true
}

// matchCFRay is ^[0-9a-f]{16}-([A-Z]{3}(?:-[A-Z]{3})*)$.
func matchCFRay(s string) (int, int, bool) {
	if len(s) < 20 || (len(s)-17)%4 != 3 || s[16] != '-' || !allOf(s[:16], isLowerHex) {
		return 0, 0, false
	}
	for i := 17; i < len(s); i += 4 {
		if !allOf(s[i:i+3], isUpper) || (i+3 < len(s) && s[i+3] != '-') {
			return 0, 0, false
		}
	}
	return 17, len(s), true
}

// digitsAt counts the digits of s from i on.
func digitsAt(s string, i int) int {
	n := 0
	for i+n < len(s) && isDigit(s[i+n]) {
		n++
	}
	return n
}

// matchCloudFrontPoP is ^([A-Z]{3}[0-9]{1,3}-[A-Z][0-9]{1,2})$.
func matchCloudFrontPoP(s string) (int, int, bool) {
	if len(s) < 7 || !allOf(s[:3], isUpper) {
		return 0, 0, false
	}
	d := digitsAt(s, 3)
	i := 3 + d
	if d < 1 || d > 3 || i+2 >= len(s) || s[i] != '-' || !isUpper(s[i+1]) {
		return 0, 0, false
	}
	if d2 := digitsAt(s, i+2); d2 < 1 || d2 > 2 || i+2+d2 != len(s) {
		return 0, 0, false
	}
	return 0, len(s), true
}

// matchFastlyNode is ^(cache-[a-z0-9-]+-[A-Z]{3})$.
func matchFastlyNode(s string) (int, int, bool) {
	const prefix = "cache-"
	if len(s) < len(prefix)+5 || s[:len(prefix)] != prefix || s[len(s)-4] != '-' || !allOf(s[len(s)-3:], isUpper) {
		return 0, 0, false
	}
	if !allOf(s[len(prefix):len(s)-4], func(c byte) bool { return isLCAlpha(c) || isDigit(c) || c == '-' }) {
		return 0, 0, false
	}
	return 0, len(s), true
}

// matchAlibabaHop is ^(?:cache|kunlun|ens-cache)[0-9]+\.([a-z0-9-]+)\[.
func matchAlibabaHop(s string) (int, int, bool) {
	var n int
	switch {
	case strings.HasPrefix(s, "cache"):
		n = len("cache")
	case strings.HasPrefix(s, "kunlun"):
		n = len("kunlun")
	case strings.HasPrefix(s, "ens-cache"):
		n = len("ens-cache")
	default:
		return 0, 0, false
	}
	d := digitsAt(s, n)
	lo := n + d + 1
	if d == 0 || lo > len(s) || s[lo-1] != '.' {
		return 0, 0, false
	}
	hi := lo
	for hi < len(s) && (isLCAlpha(s[hi]) || isDigit(s[hi]) || s[hi] == '-') {
		hi++
	}
	if hi == lo || hi == len(s) || s[hi] != '[' {
		return 0, 0, false
	}
	return lo, hi, true
}

// isRegion reports whether s[i:] starts with a Vercel region id and "::" ([a-z]{3}[0-9]::).
func isRegion(s string, i int) bool {
	return i+6 <= len(s) && isLCAlpha(s[i]) && isLCAlpha(s[i+1]) && isLCAlpha(s[i+2]) &&
		isDigit(s[i+3]) && s[i+4] == ':' && s[i+5] == ':'
}

// matchVercelEdge is ^([a-z]{3}[0-9])::.
func matchVercelEdge(s string) (int, int, bool) {
	if !isRegion(s, 0) {
		return 0, 0, false
	}
	return 0, 4, true
}

// matchVercelFunction is ^[a-z]{3}[0-9]::(?:[a-z]{3}[0-9]::)*([a-z]{3}[0-9])::, whose greedy
// repetition leaves the last of the region ids after the first as group 1.
func matchVercelFunction(s string) (int, int, bool) {
	if !isRegion(s, 0) || !isRegion(s, 6) {
		return 0, 0, false
	}
	i := 6
	for isRegion(s, i+6) {
		i += 6
	}
	return i, i + 4, true
}

// lowerAt counts the lower-case ASCII letters of s from i on.
func lowerAt(s string, i int) int {
	n := 0
	for i+n < len(s) && isLCAlpha(s[i+n]) {
		n++
	}
	return n
}

// isSpace is RE2's \s: [\t\n\f\r ].
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

// matchWangsuHop is ^[0-9.]+\s+(?:PS)?([a-z]{2,16})[0-9][0-9a-z]*(?::[0-9]+)?\s+\(Cdn Cache Server.
func matchWangsuHop(s string) (int, int, bool) {
	i := 0
	for i < len(s) && (isDigit(s[i]) || s[i] == '.') {
		i++
	}
	sp := 0
	for i+sp < len(s) && isSpace(s[i+sp]) {
		sp++
	}
	if i == 0 || sp == 0 {
		return 0, 0, false
	}
	i += sp
	if strings.HasPrefix(s[i:], "PS") {
		i += 2
	}
	lo := i
	l := lowerAt(s, i)
	hi := lo + l
	if l < 2 || l > 16 || hi >= len(s) || !isDigit(s[hi]) {
		return 0, 0, false
	}
	i = hi
	for i < len(s) && (isDigit(s[i]) || isLCAlpha(s[i])) {
		i++
	}
	if i < len(s) && s[i] == ':' {
		d := digitsAt(s, i+1)
		if d == 0 {
			return 0, 0, false
		}
		i += 1 + d
	}
	sp = 0
	for i+sp < len(s) && isSpace(s[i+sp]) {
		sp++
	}
	if sp == 0 || !strings.HasPrefix(s[i+sp:], "(Cdn Cache Server") {
		return 0, 0, false
	}
	return lo, hi, true
}

// matchBytePlusHop is ^cache[0-9]+\.([a-z]{2,8}[0-9]{0,3})$.
func matchBytePlusHop(s string) (int, int, bool) {
	if !strings.HasPrefix(s, "cache") {
		return 0, 0, false
	}
	d := digitsAt(s, len("cache"))
	lo := len("cache") + d + 1
	if d == 0 || lo > len(s) || s[lo-1] != '.' {
		return 0, 0, false
	}
	l := lowerAt(s, lo)
	if l < 2 || l > 8 {
		return 0, 0, false
	}
	if d2 := digitsAt(s, lo+l); d2 > 3 || lo+l+d2 != len(s) {
		return 0, 0, false
	}
	return lo, len(s), true
}

// lettersDigits reports whether s is [a-z]+[0-9]+.
func lettersDigits(s string) bool {
	l := lowerAt(s, 0)
	return l > 0 && l < len(s) && digitsAt(s, l) == len(s)-l
}

// matchF5Location is ^(?:[a-z]+-)?[a-z]+[0-9]+-([a-z]{3})$.
func matchF5Location(s string) (int, int, bool) {
	n := len(s)
	if n < 6 || s[n-4] != '-' || lowerAt(s, n-3) != 3 {
		return 0, 0, false
	}
	site := s[:n-4]
	if pre, rest, ok := strings.Cut(site, "-"); ok {
		if len(pre) == 0 || lowerAt(pre, 0) != len(pre) {
			return 0, 0, false
		}
		site = rest
	}
	if !lettersDigits(site) {
		return 0, 0, false
	}
	return n - 3, n, true
}

// regionAt matches [a-z]+-[a-z]+[0-9]+ at s[i:] and returns where it ends, or -1.
func regionAt(s string, i int) int {
	l := lowerAt(s, i)
	if l == 0 || i+l >= len(s) || s[i+l] != '-' {
		return -1
	}
	i += l + 1
	l = lowerAt(s, i)
	d := digitsAt(s, i+l)
	if l == 0 || d == 0 {
		return -1
	}
	return i + l + d
}

// matchRailwayEdge is ^railway/([a-z]+-[a-z]+[0-9]+)(?:-[a-z0-9]+)?$.
func matchRailwayEdge(s string) (int, int, bool) {
	const lo = len("railway/")
	if !strings.HasPrefix(s, "railway/") {
		return 0, 0, false
	}
	hi := regionAt(s, lo)
	if hi < 0 {
		return 0, 0, false
	}
	if hi < len(s) {
		if s[hi] != '-' || hi+1 == len(s) {
			return 0, 0, false
		}
		for i := hi + 1; i < len(s); i++ {
			if !isLCAlpha(s[i]) && !isDigit(s[i]) {
				return 0, 0, false
			}
		}
	}
	return lo, hi, true
}

// matchDenoServer is ^deno/(?:gcp-)?([a-z]+-[a-z]+[0-9]+)(?:-[a-z])?$: the gcp- prefix is
// taken when the rest then matches, as RE2's leftmost-first choice does.
func matchDenoServer(s string) (int, int, bool) {
	if !strings.HasPrefix(s, "deno/") {
		return 0, 0, false
	}
	try := func(lo int) (int, int, bool) {
		hi := regionAt(s, lo)
		if hi < 0 || (hi != len(s) && (hi+2 != len(s) || s[hi] != '-' || !isLCAlpha(s[hi+1]))) {
			return 0, 0, false
		}
		return lo, hi, true
	}
	if strings.HasPrefix(s[len("deno/"):], "gcp-") {
		if lo, hi, ok := try(len("deno/gcp-")); ok {
			return lo, hi, true
		}
	}
	return try(len("deno/"))
}
