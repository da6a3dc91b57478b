package config

import (
	"fmt"
	"os"
	"path/filepath"
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

// BenchmarkLoadTargetFile10000Targets is how long a target file of 10,000 targets takes to
// read and parse with its configuration's defaults, which is what a change to it costs:
//
//	go test -run XXX -bench TargetFile -benchmem ./config/
func BenchmarkLoadTargetFile10000Targets(b *testing.B) {
	cfg, err := Parse([]byte("vantage: {name: bench, location: AMS}\ndefaults: {interval: 30s, headers: {Pragma: akamai-x-cache-on}}\ntarget_files: [targets/*.yml]\n"), "pop.yml")
	if err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	for i := range 10_000 {
		fmt.Fprintf(&sb, "- {name: t%d, url: 'https://host%d.example.com/', expected_pops: [AMS, FRA], max_distance_km: 1500}\n", i, i)
	}
	path := filepath.Join(b.TempDir(), "targets.yml")
	if err := os.WriteFile(path, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(sb.Len()))
	for b.Loop() {
		tf, err := cfg.LoadTargetFile(path)
		if err != nil {
			b.Fatal(err)
		}
		if len(tf.Targets) != 10_000 {
			b.Fatalf("%d targets", len(tf.Targets))
		}
	}
}
