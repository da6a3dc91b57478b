package main

import (
	"math"
	"time"
)

// rng is a SplitMix64 generator. It is a value type so a request's generator lives on the
// stack: the simulator must serve thousands of targets without per-request allocation, and a
// run must be reproducible from (seed, target, request number) alone.
type rng struct{ state uint64 }

// newRNG seeds a generator for one request of one target.
func newRNG(seed int64, targetHash, request uint64) rng {
	r := rng{state: uint64(seed)*0x9e3779b97f4a7c15 ^ targetHash}
	r.state ^= mix64(request + 0x632be59bd9b4e019)
	return r
}

// Uint64 returns the next 64 random bits.
func (r *rng) Uint64() uint64 {
	r.state += 0x9e3779b97f4a7c15
	return mix64(r.state)
}

// Float64 returns a number in [0, 1).
func (r *rng) Float64() float64 { return float64(r.Uint64()>>11) / (1 << 53) }

// Intn returns a number in [0, n).
func (r *rng) Intn(n int) int { return int(r.Uint64() % uint64(n)) }

// approxNormal returns a roughly standard-normal number bounded to ±3.46: the sum of four
// uniforms, rescaled. Bounded tails keep a scripted TTFB from producing absurd outliers.
func (r *rng) approxNormal() float64 {
	s := r.Float64() + r.Float64() + r.Float64() + r.Float64()
	return (s - 2) * math.Sqrt(3)
}

func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// popAt says which PoP answers at elapsed time since the simulator started; region is the
// dns region whose address the request arrived on ("" for none). Only a random timeline
// draws from r.
func (tl *Timeline) popAt(elapsed time.Duration, r *rng, region string) string {
	switch {
	case tl.DNS:
		if region == "" {
			return tl.dns.fallbackRegion()
		}
		return region
	case tl.Stay != "":
		return tl.Stay
	case tl.Shift != nil:
		if elapsed >= time.Duration(tl.Shift.After) {
			return tl.Shift.To
		}
		return tl.Shift.From
	case tl.Flap != nil:
		period := int64(elapsed / time.Duration(tl.Flap.Every))
		return tl.Flap.Between[period%2]
	default:
		return tl.Random[r.Intn(len(tl.Random))]
	}
}

// ttfbFor draws the delay before the response head for a PoP, as seen by a vantage (view nil:
// none). The most specific entry wins: the vantage's for the PoP, the vantage's default, the
// target's for the PoP, the target's default, then 20 ms ± 5 ms.
func (t *Target) ttfbFor(pop string, view *VantageView, r *rng) time.Duration {
	spec := TTFBSpec{Median: Duration(20 * time.Millisecond), Jitter: Duration(5 * time.Millisecond)}
	var tables []map[string]TTFBSpec
	if view != nil {
		tables = append(tables, view.TTFB)
	}
	tables = append(tables, t.TTFB)
lookup:
	for _, table := range tables {
		for _, key := range [...]string{pop, "default"} {
			if s, ok := table[key]; ok {
				spec = s
				break lookup
			}
		}
	}
	d := time.Duration(spec.Median) + time.Duration(r.approxNormal()*float64(spec.Jitter))
	return max(d, 0)
}

// cacheFor draws a normalised cache status from the target's mix.
func (t *Target) cacheFor(r *rng) string {
	u := r.Float64()
	for _, s := range t.cacheCW {
		if u < s.upTo {
			return s.status
		}
	}
	return t.cacheCW[len(t.cacheCW)-1].status
}

// fault is what goes wrong with one request, if anything.
type fault int

const (
	faultNone fault = iota
	faultError
	faultTimeout
	faultReset
	faultSlowHeaders
)

var faultNames = [...]string{"none", "error", "timeout", "reset", "slow_headers"}

// String names the value as the scenario file writes it.
func (f fault) String() string { return faultNames[f] }

// faultFor draws the fault of one request. It always consumes one draw so that the PoP and
// cache draws after it do not depend on whether the fault window is open.
func (t *Target) faultFor(elapsed time.Duration, r *rng) fault {
	u := r.Float64()
	f := &t.Faults
	if elapsed < time.Duration(f.After) || (f.Until != 0 && elapsed >= time.Duration(f.Until)) {
		return faultNone
	}
	for i, rate := range [...]float64{f.ErrorRate, f.TimeoutRate, f.ResetRate, f.SlowHeadersRate} {
		if u < rate {
			return fault(i + 1)
		}
		u -= rate
	}
	return faultNone
}
