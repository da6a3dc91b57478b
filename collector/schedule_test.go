package collector

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// The due heap hands entries out earliest first, whatever the order they came in, and says when
// a new entry is the earliest (the scheduler is then woken to sleep less).
func TestDueHeapOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var h dueHeap
	var want []int64
	for round := range 50 {
		for range rng.IntN(200) {
			at := rng.Int64N(1000)
			earliest := len(h) == 0 || at < h[0].at
			if first := h.push(dueEntry{at: at}) == 0; first != earliest {
				t.Fatalf("round %d: push(%d) first=%v, want %v (earliest was %d)", round, at, first, earliest, h[0].at)
			}
			want = append(want, at)
		}
		slices.Sort(want)
		n := rng.IntN(len(want) + 1)
		for i := range n {
			if got := h.pop().at; got != want[i] {
				t.Fatalf("round %d: pop %d gave %d, want %d", round, i, got, want[i])
			}
		}
		want = want[n:]
		if len(h) != len(want) {
			t.Fatalf("round %d: %d entries left, want %d", round, len(h), len(want))
		}
	}
}
