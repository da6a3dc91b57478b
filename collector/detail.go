package collector

import "fmt"

// Detail is how many series each probe gets: what --metrics.detail sets.
//
// Every series costs money and memory in Prometheus (and in Grafana Cloud, Mimir, Thanos), so
// the default is a basic set that answers every dashboard panel and every alert: per probe,
// the last probe's phases as gauges (pop_probe_phase_seconds) and one TTFB histogram with a
// few classic buckets (and full native resolution), whose quantiles the rules attribute to
// the PoP that is answering. The full set adds what it costs a whole histogram per phase and
// per (CDN, PoP, cache status) to know exactly: pop_probe_phase_duration_seconds, and
// pop_probe_ttfb_seconds split by cdn, pop and cache_status with fine classic buckets.
type Detail int

// The series sets.
const (
	DetailBasic Detail = iota // the default
	DetailFull                // today's whole set: histograms per phase and per PoP and cache status
)

// ParseDetail reads a --metrics.detail value.
func ParseDetail(s string) (Detail, error) {
	switch s {
	case "basic", "":
		return DetailBasic, nil
	case "full":
		return DetailFull, nil
	}
	return 0, fmt.Errorf("unknown metrics detail %q (want basic or full)", s)
}

// String returns the --metrics.detail value.
func (d Detail) String() string {
	if d == DetailFull {
		return "full"
	}
	return "basic"
}
