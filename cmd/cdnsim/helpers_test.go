package main

import (
	"maps"
	"net/http"
	"regexp"
	"slices"
)

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// sortedKeys lists a header's names in order, for stable comparisons.
func sortedKeys(h http.Header) []string { return slices.Sorted(maps.Keys(h)) }
