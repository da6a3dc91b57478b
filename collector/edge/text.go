package edge

import (
	"net/netip"
	"strings"
)

// Header values are untrusted text from the network. The helpers here slice them without
// allocating and bound anything that may end up in a label value.

// nextElem splits the first element off a comma-separated header list. Commas inside quoted
// strings, (comments) and [brackets] do not split: Via carries `(CloudFront)` comments and
// Alibaba's Via hops look like `cache5.de1[0,200-0,H]`. The element is trimmed of OWS.
func nextElem(s string) (elem, rest string) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ',':
			return trimOWS(s[:i]), s[i+1:]
		case '"', '(', '[':
			return nextElemNested(s, i)
		}
	}
	return trimOWS(s), ""
}

// nextElemNested is nextElem from the first quote or bracket on.
func nextElemNested(s string, i int) (elem, rest string) {
	depth, quoted := 0, false
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case quoted:
			if c == '\\' {
				i++
			} else if c == '"' {
				quoted = false
			}
		case c == '"':
			quoted = true
		case c == '(' || c == '[':
			depth++
		case (c == ')' || c == ']') && depth > 0:
			depth--
		case c == ',' && depth == 0:
			return trimOWS(s[:i]), s[i+1:]
		}
	}
	return trimOWS(s), ""
}

// lastElem returns the last non-empty element of a comma-separated header list.
func lastElem(s string) string {
	if strings.IndexByte(s, ',') < 0 {
		return trimOWS(s) // the common single-element value
	}
	last := ""
	for s != "" {
		var e string
		e, s = nextElem(s)
		if e != "" {
			last = e
		}
	}
	return last
}

// trimOWS trims the optional whitespace (SP, HTAB) HTTP allows around list elements.
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// firstField returns the first whitespace-separated field of s.
func firstField(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' || s[i] == '\t' {
			return s[:i]
		}
	}
	return s
}

// lastField returns the last whitespace-separated field of s.
func lastField(s string) string {
	s = trimOWS(s)
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ' ' || s[i] == '\t' {
			return s[i+1:]
		}
	}
	return s
}

// hasPrefixFold is strings.HasPrefix ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// hasSuffixFold is strings.HasSuffix ignoring ASCII case.
func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// containsFold is strings.Contains ignoring ASCII case, without allocating: it jumps (with
// IndexByte) to each occurrence of the first byte in either case and compares from there.
func containsFold(s, sub string) bool {
	if sub == "" {
		return true
	}
	lo, up := sub[0]|0x20, sub[0]&^0x20
	if lo < 'a' || lo > 'z' {
		lo, up = sub[0], sub[0]
	}
	for len(s) >= len(sub) {
		i := strings.IndexByte(s[:len(s)-len(sub)+1], lo)
		if lo != up {
			if j := strings.IndexByte(s[:len(s)-len(sub)+1], up); j >= 0 && (i < 0 || j < i) {
				i = j
			}
		}
		if i < 0 {
			return false
		}
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
		s = s[i+1:]
	}
	return false
}

// upperASCII upper-cases ASCII letters; strings.ToUpper returns s itself when it has no lower
// case letters, so the common already-upper code costs no allocation.
func upperASCII(s string) string { return strings.ToUpper(s) }

// validPoP reports whether s may be a pop label value: ^[A-Z0-9]{2,16}$.
func validPoP(s string) bool {
	if len(s) < 2 || len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// validPoPFold is validPoP after upper-casing, without allocating the upper-cased copy.
func validPoPFold(s string) bool {
	if len(s) < 2 || len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// sanitizeRaw returns the vendor's raw code if it matches ^[A-Za-z0-9._-]{1,32}$, else "".
// The raw code is shown as seen, so anything else is dropped rather than rewritten.
func sanitizeRaw(s string) string {
	if len(s) == 0 || len(s) > 32 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return ""
		}
	}
	return s
}

// popLabel upper-cases a normalised code and returns it if it is a valid pop label, else "".
func popLabel(code string) string {
	code = upperASCII(code)
	if !validPoP(code) {
		return ""
	}
	return code
}

// ipString formats a parsed address for Result.EdgeIP; invalid addresses give "".
func ipString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.Unmap().String()
}

// lastElems splits every value of a list header (elements separated by commas, across
// repeated headers) into ring, keeping the last len(ring) elements; ring[i%len(ring)] is the
// i-th element for the returned count n's last len(ring) values of i. Splitting forward is
// cheap, so callers then look at elements from the end.
func lastElems(vals []string, ring *[16]string) (n int) {
	for _, v := range vals {
		for v != "" {
			var e string
			e, v = nextElem(v)
			if e != "" {
				ring[n%len(ring)] = e
				n++
			}
		}
	}
	return n
}
