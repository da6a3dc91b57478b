package main

import (
	"strconv"
	"strings"
	"time"
)

// The helpers below make the random-looking identifiers CDNs put in their headers (ray ids,
// request ids, ULIDs). They draw from the request's rng so a run is reproducible.

const (
	hexDigits   = "0123456789abcdef"
	lowerAlnum  = "0123456789abcdefghijklmnopqrstuvwxyz"
	base64URL   = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	base64Std   = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	crockford32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)

// randString returns n characters drawn from alphabet.
func randString(r *rng, n int, alphabet string) string {
	var buf [64]byte
	b := buf[:0]
	if n > len(buf) {
		b = make([]byte, 0, n)
	}
	for range n {
		b = append(b, alphabet[r.Intn(len(alphabet))])
	}
	return string(b)
}

// ulid returns a ULID (Crockford base32: 48-bit millisecond time, 80 random bits) as Fly.io
// and Netlify use for request ids.
func ulid(now time.Time, r *rng) string {
	var b [26]byte
	ms := uint64(now.UnixMilli())
	for i := 9; i >= 0; i-- {
		b[i] = crockford32[ms&31]
		ms >>= 5
	}
	for i := 10; i < 26; i++ {
		b[i] = crockford32[r.Intn(32)]
	}
	return string(b[:])
}

// fnv64 is FNV-1a; used to derive stable per-PoP numbers (facility ids, edge addresses), so
// the same PoP always renders the same way within and across runs.
func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// stableNum maps s to a number in [lo, lo+span).
func stableNum(s string, lo, span int) int {
	return lo + int(fnv64(s)%uint64(span))
}

// itoa is strconv.Itoa, named for brevity in header templates.
func itoa(n int) string { return strconv.Itoa(n) }

// lower is strings.ToLower for ASCII codes.
func lower(s string) string { return strings.ToLower(s) }
