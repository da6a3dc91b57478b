package collector

import "time"

// popTracker remembers the PoPs a probe saw: the current one, how often it changed, and the
// usual one (the baseline): the most frequent PoP over the last window observations. A tie
// keeps the old baseline, so a single flap never moves it.
type popTracker struct {
	// The last window observations, oldest first from runs[head], as runs of the same PoP:
	// a probe answered by one PoP keeps one run, not one entry per probe.
	runs     []popRun
	head     int
	window   int
	filled   int // observations in the runs
	counts   map[string]int
	current  string
	baseline string
	changes  uint64
	changed  time.Time // when the PoP last changed
}

// popRun is n consecutive observations of one PoP.
type popRun struct {
	pop string
	n   int
}

func newPoPTracker(window int) *popTracker {
	if window < 1 {
		window = 1
	}
	return &popTracker{window: window, counts: map[string]int{}}
}

// observe records the PoP of one response and reports whether it differs from the previous
// response's PoP.
func (t *popTracker) observe(pop string, now time.Time) (changed bool) {
	if t.filled == t.window { // the oldest observation leaves the window
		oldest := &t.runs[t.head]
		if t.counts[oldest.pop]--; t.counts[oldest.pop] == 0 {
			delete(t.counts, oldest.pop)
		}
		if oldest.n--; oldest.n == 0 {
			t.runs[t.head] = popRun{}
			if t.head++; t.head >= len(t.runs)/2 { // keep the slice from creeping forward
				t.runs = append(t.runs[:0], t.runs[t.head:]...)
				t.head = 0
			}
		}
	} else {
		t.filled++
	}
	if last := len(t.runs) - 1; last >= t.head && t.runs[last].pop == pop {
		t.runs[last].n++
	} else {
		t.runs = append(t.runs, popRun{pop: pop, n: 1})
	}
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
