package collector

import (
	"math/rand/v2"
	"testing"
	"time"
)

// The tracker keeps its window as runs of one PoP; its baseline must be exactly what a plain
// ring of the last observations gives, whatever the sequence (flaps, long runs, many PoPs).
func TestPoPTrackerMatchesAPlainWindow(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		window := 1 + rng.IntN(12)
		pops := []string{"cloudflare/AMS", "cloudflare/FRA", "cloudflare/SIN", "fastly/LHR"}[:1+rng.IntN(4)]
		tr := newPoPTracker(window)
		var ring []string // the plain window, for reference
		counts := map[string]int{}
		baseline := ""
		for i := range 300 {
			pop := pops[rng.IntN(len(pops))]
			if rng.IntN(4) > 0 && len(ring) > 0 { // runs, as real probes mostly are
				pop = ring[len(ring)-1]
			}
			tr.observe(pop, time.Unix(int64(i), 0))

			ring = append(ring, pop)
			counts[pop]++
			if len(ring) > window {
				if counts[ring[0]]--; counts[ring[0]] == 0 {
					delete(counts, ring[0])
				}
				ring = ring[1:]
			}
			best, bestN := baseline, counts[baseline]
			for p, n := range counts {
				switch {
				case n > bestN:
					best, bestN = p, n
				case n == bestN && best != baseline && best != pop && (p == pop || p < best):
					best = p
				}
			}
			baseline = best
			if tr.baseline != baseline || tr.filled != len(ring) {
				t.Fatalf("trial %d, observation %d (window %d): baseline %q filled %d, want %q and %d",
					trial, i, window, tr.baseline, tr.filled, baseline, len(ring))
			}
		}
		if live := len(tr.runs) - tr.head; live > window {
			t.Fatalf("trial %d: %d runs for a window of %d", trial, live, window)
		}
	}
}
