package main

import (
	"fmt"
	"time"
)

// addGenerated appends n synthetic targets for load tests, cycling through the CDN formats
// and alternating http and https. Each stays on its vendor's sample PoP with a mostly-hit
// cache mix, so every request exercises the full rendering path.
func (s *Scenario) addGenerated(n int) error {
	names := make(map[string]bool, len(s.Targets))
	for _, t := range s.Targets {
		names[t.Name] = true
	}
	for i := range n {
		v := vendors[i%len(vendors)]
		t := &Target{
			Name:   fmt.Sprintf("gen-%05d-%s", i+1, v.name),
			CDN:    v.name,
			Scheme: []string{"http", "https"}[i%2],
			PoPs:   Timeline{Stay: v.samplePoP},
			TTFB:   map[string]TTFBSpec{"default": {Median: Duration(10 * time.Millisecond), Jitter: Duration(2 * time.Millisecond)}},
		}
		if _, ok := v.cache["miss"]; ok {
			t.Cache = map[string]float64{"hit": 0.9, "miss": 0.1}
		}
		if names[t.Name] {
			return fmt.Errorf("generated target %s: name already used in the scenario", t.Name)
		}
		if err := t.validate(s.DNS); err != nil {
			return fmt.Errorf("generated target %s: %w", t.Name, err)
		}
		s.Targets = append(s.Targets, t)
	}
	return nil
}
