package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// sections are the mappings of the schema, each with what a message calls it, so that an
// unknown key can be sent where it belongs: a top-level "location:" is vantage's, an
// "interval:" under vantage is a target's or the defaults'.
var sections = []struct {
	name string
	t    reflect.Type
}{
	{"the top level", reflect.TypeFor[Config]()},
	{"vantage:", reflect.TypeFor[Vantage]()},
	{"defaults: (or a target)", reflect.TypeFor[Defaults]()},
	{"a target (an entry of targets:)", reflect.TypeFor[Target]()},
	{"a target's tls:", reflect.TypeFor[TLSConfig]()},
	{"an entry of resolvers:", reflect.TypeFor[Resolver]()},
	{"an entry of rules:", reflect.TypeFor[Rule]()},
}

// unknownKey is the message for key, unknown in a mapping of type t: the nearest known key
// when there is one close enough ("intervall" → "interval", "expected_pop" →
// "expected_pops"), else the section the key belongs to when it is known elsewhere.
// The second result is the suggested key, if any.
func unknownKey(t reflect.Type, path, key string) (string, string) {
	fields := yamlFields(t)
	known := make([]string, 0, len(fields))
	for k := range fields {
		known = append(known, k)
	}
	slices.Sort(known)
	if near := nearest(key, known); near != "" {
		return fmt.Sprintf("unknown key %q (did you mean %q?)", key, near), near
	}
	for _, s := range sections {
		if s.t == t || (s.t == reflect.TypeFor[Defaults]() && t == reflect.TypeFor[Target]()) {
			continue
		}
		if _, ok := yamlFields(s.t)[key]; ok {
			if s.t == reflect.TypeFor[Vantage]() && path == "" {
				return fmt.Sprintf("unknown key %q at the top level: it belongs under vantage: (vantage: {%s: …})", key, key), ""
			}
			return fmt.Sprintf("unknown key %q: it belongs in %s", key, s.name), ""
		}
	}
	return fmt.Sprintf("unknown key %q (known keys: %s)", key, strings.Join(known, ", ")), ""
}

// nearest returns the known key closest to key, if it is close enough to be a typo: at most
// one edit for short keys, two for longer ones, ignoring case and '-' for '_'.
func nearest(key string, known []string) string {
	norm := strings.ReplaceAll(strings.ToLower(key), "-", "_")
	best, bestDist := "", 3
	for _, k := range known {
		limit := 1
		if len(k) >= 6 {
			limit = 2
		}
		if d := editDistance(norm, k); d <= limit && d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, counted in bytes (keys are ASCII).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64 // no key is that long: not a typo of one
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
