package config

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkParse10000Targets is how long a file of 10,000 targets takes to load (and so to
// reload):
//
//	go test -run XXX -bench Parse10000 -benchmem ./config/
func BenchmarkParse10000Targets(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("vantage: {name: bench, location: AMS}\ndefaults: {interval: 30s, headers: {Pragma: akamai-x-cache-on}}\ntargets:\n")
	for i := range 10_000 {
		fmt.Fprintf(&sb, "  - {name: t%d, url: 'https://host%d.example.com/', expected_pops: [AMS, FRA], max_distance_km: 1500}\n", i, i)
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data, "bench.yml"); err != nil {
			b.Fatal(err)
		}
	}
}
