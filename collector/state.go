package collector

import "time"

// popTracker remembers the PoPs a probe saw: the current one, how often it changed, and the
// usual one (the baseline): the most frequent PoP over the last window observations. A tie
// keeps the old baseline, so a single flap never moves it.
type popTracker struct {
	window   []string // ring buffer of the last observations
	next     int      // where the next observation goes
	filled   int      // observations in the ring
	counts   map[string]int
	current  string
	baseline string
	changes  uint64
	changed  time.Time // when the PoP last changed
}

func newPoPTracker(window int) *popTracker {
	if window < 1 {
		window = 1
	}
	return &popTracker{window: make([]string, window), counts: map[string]int{}}
}

// observe records the PoP of one response and reports whether it differs from the previous
// response's PoP.
func (t *popTracker) observe(pop string, now time.Time) (changed bool) {
	if pop == t.current {
		pop = t.current // keep one copy in the window, not one per probe
	}
	if t.filled == len(t.window) {
		old := t.window[t.next]
		if t.counts[old]--; t.counts[old] == 0 {
			delete(t.counts, old)
		}
	} else {
		t.filled++
	}
	t.window[t.next] = pop
	t.next = (t.next + 1) % len(t.window)
	t.counts[pop]++

	if t.current != "" && t.current != pop {
		changed = true
		t.changes++
		t.changed = now
	}
	t.current = pop

	// Ties keep the old baseline; among other tied candidates the current PoP wins, then the
	// smallest code, so the result never depends on map order.
	best, bestN := t.baseline, t.counts[t.baseline]
	for p, n := range t.counts {
		switch {
		case n > bestN:
			best, bestN = p, n
		case n == bestN && best != t.baseline && best != pop && (p == pop || p < best):
			best = p
		}
	}
	t.baseline = best
	return changed
}
