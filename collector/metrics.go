package collector

import (
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "pop"

// probeLabels are carried by every per-probe series (the metrics contract).
var probeLabels = []string{"vantage", "target", "ip_version"}

func withProbeLabels(extra ...string) []string {
	return append(append([]string(nil), probeLabels...), extra...)
}

// Phases, in the order a request goes through them, named as curl names them.
var phaseNames = [numPhases]string{"dns", "connect", "tls", "processing", "transfer"}

// Failure reasons, the values of the reason label of pop_probe_failures_total. Every probe
// starts with all of them at 0 so that rate() and increase() work from the first failure.
const (
	ReasonDNS        = "dns"         // name resolution failed
	ReasonConnect    = "connect"     // TCP connect failed (refused, unreachable)
	ReasonTLS        = "tls"         // TLS handshake or certificate verification failed
	ReasonTimeout    = "timeout"     // the probe's deadline passed
	ReasonHTTPStatus = "http_status" // a response came, with a status not in valid_status_codes
	ReasonBody       = "body"        // reading the body failed
	ReasonPanic      = "panic"       // a bug: the probe panicked and was recovered
	ReasonOther      = "other"       // anything else: malformed response, reset, too many redirects
)

var failureReasons = []string{ReasonDNS, ReasonConnect, ReasonTLS, ReasonTimeout, ReasonHTTPStatus,
	ReasonBody, ReasonPanic, ReasonOther}

// ttfbBuckets suit web latency from a few milliseconds (a PoP next door) to seconds (an
// origin fetch across an ocean, a timeout), finest where PoP distance shows: 10-300 ms.
var ttfbBuckets = []float64{.005, .01, .025, .05, .075, .1, .15, .2, .3, .5, .75, 1, 2.5, 5, 10}

// phaseBuckets are coarser: five phases per probe make this the largest family on /metrics,
// and native histograms give full resolution where Prometheus scrapes them.
var phaseBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}

// Native histogram settings: ~10% resolution, bounded bucket count, reset at most hourly.
const (
	nativeBucketFactor = 1.1
	nativeMaxBuckets   = 100
	nativeMinReset     = time.Hour
)

func histogramOpts(name, help string, buckets []float64) prometheus.HistogramOpts {
	return prometheus.HistogramOpts{
		Namespace:                       namespace,
		Name:                            name,
		Help:                            help,
		Buckets:                         buckets,
		NativeHistogramBucketFactor:     nativeBucketFactor,
		NativeHistogramMaxBucketNumber:  nativeMaxBuckets,
		NativeHistogramMinResetDuration: nativeMinReset,
	}
}

// metrics holds every metric the collector exposes; they are declared here, once, and only
// (*Manager).record and the lifecycle code in manager.go write to them. Per-probe families
// live in the store (see store.go for why); the exporter's own metrics are ordinary
// client_golang collectors in the registry.
type metrics struct {
	store *store

	success       *family
	duration      *family
	phaseDuration *family
	ttfb          *family
	statusCode    *family
	responses     *family
	failures      *family
	edgeInfo      *family
	distance      *family
	baselineInfo  *family
	shiftDistance *family
	popChanges    *family
	lastPoPChange *family
	expectedPoP   *family
	maxDistance   *family
	cacheAge      *family
	vantageInfo   *family

	reloadSuccess   prometheus.Gauge
	reloadTimestamp prometheus.Gauge
	targets         prometheus.Gauge
	inFlight        prometheus.Gauge
	scheduleDelay   prometheus.Histogram
	missed          prometheus.Counter
}

func newMetrics() *metrics {
	s := &store{}
	gauge := func(name, help string, extra ...string) *family {
		return s.newFamily(namespace+"_"+name, help, kindGauge, withProbeLabels(extra...), nil)
	}
	counter := func(name, help string, extra ...string) *family {
		return s.newFamily(namespace+"_"+name, help, kindCounter, withProbeLabels(extra...), nil)
	}
	histogram := func(name, help string, buckets []float64, extra ...string) *family {
		opts := histogramOpts(name, help, buckets)
		return s.newFamily(namespace+"_"+name, help, kindHistogram, withProbeLabels(extra...), &opts)
	}
	return &metrics{
		store:    s,
		success:  gauge("probe_success", "1 if the last probe got a valid response, 0 otherwise."),
		duration: gauge("probe_duration_seconds", "How long the last probe took, from start to the end of the body read."),
		phaseDuration: histogram("probe_phase_duration_seconds",
			"Duration of each phase of a probe (dns, connect, tls, processing, transfer), summed over redirects.", phaseBuckets, "phase"),
		ttfb: histogram("probe_ttfb_seconds",
			"Time to first byte: probe start to the first byte of the final response (curl time_starttransfer).", ttfbBuckets,
			"cdn", "pop", "cache_status"),
		statusCode:    gauge("probe_http_status_code", "HTTP status code of the last response, 0 when none came."),
		responses:     counter("probe_responses_total", "Responses by the CDN and PoP that answered and their cache status.", "cdn", "pop", "cache_status"),
		failures:      counter("probe_failures_total", "Failed probes by reason.", "reason"),
		edgeInfo:      gauge("probe_edge_info", "The edge that answered the last response; always 1.", "cdn", "pop", "city", "country", "continent", "latitude", "longitude"),
		distance:      gauge("probe_distance_meters", "Great-circle distance from the vantage point to the PoP that answered last."),
		baselineInfo:  gauge("probe_baseline_info", "The usual PoP of this probe: the most frequent over the baseline window; always 1.", "cdn", "pop"),
		shiftDistance: gauge("probe_shift_distance_meters", "Great-circle distance from the baseline PoP to the PoP that answered last (0 when they are the same)."),
		popChanges:    counter("probe_pop_changes_total", "Times the answering PoP changed from one response to the next."),
		lastPoPChange: gauge("probe_last_pop_change_timestamp_seconds", "Unix time of the last change of the answering PoP."),
		expectedPoP:   gauge("probe_expected_pop", "1 if the PoP that answered last is in expected_pops, 0 if not; absent when expected_pops is not set."),
		maxDistance:   gauge("probe_max_distance_meters", "max_distance_km of the target, in meters; absent when not set."),
		cacheAge:      gauge("probe_cache_age_seconds", "Age header of the last response, when present."),
		vantageInfo: s.newFamily(namespace+"_vantage_info", "Where this exporter stands; always 1.", kindGauge,
			[]string{"vantage", "code", "city", "country", "continent", "latitude", "longitude"}, nil),
		reloadSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Subsystem: "exporter", Name: "config_last_reload_successful",
			Help: "1 if the last configuration load succeeded, 0 if it failed (the previous configuration keeps running)."}),
		reloadTimestamp: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Subsystem: "exporter", Name: "config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last successful configuration load."}),
		targets: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Subsystem: "exporter", Name: "targets",
			Help: "Configured probes (targets times IP families)."}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Subsystem: "exporter", Name: "probes_in_flight",
			Help: "Probes running right now."}),
		scheduleDelay: prometheus.NewHistogram(histogramOpts("exporter_schedule_delay_seconds",
			"How late each probe started after its scheduled time, including the wait for a concurrency slot.",
			[]float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 5})),
		missed: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Subsystem: "exporter", Name: "missed_intervals_total",
			Help: "Scheduled probe runs skipped because the previous run of the same probe ended after them."}),
	}
}

// collectors are the metrics registered in the client_golang registry.
func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.reloadSuccess, m.reloadTimestamp, m.targets, m.inFlight, m.scheduleDelay, m.missed}
}

// perProbe lists the families that carry the vantage, target and ip_version labels first:
// the ones cleaned up when a probe goes away.
func (m *metrics) perProbe() []*family {
	var out []*family
	for _, f := range m.store.families {
		if f != m.vantageInfo {
			out = append(out, f)
		}
	}
	return out
}

// BuildInfoName is the metric the version collector registers (see cmd/pop_exporter).
const BuildInfoName = "pop_exporter_build_info"

// MetricNames returns the name of every metric family pop_exporter exposes (histograms by their
// base name), sorted. Dashboards, alert rules and the README reference are tested against it.
func MetricNames() []string {
	m := newMetrics()
	names := []string{BuildInfoName}
	for _, f := range m.store.families {
		names = append(names, f.name)
	}
	ch := make(chan *prometheus.Desc)
	go func() {
		for _, c := range m.collectors() {
			c.Describe(ch)
		}
		close(ch)
	}()
	for d := range ch {
		names = append(names, descName(d))
	}
	sort.Strings(names)
	return names
}

// descName extracts the fully-qualified name from a Desc, which offers no accessor for it.
func descName(d *prometheus.Desc) string {
	s := d.String()
	const key = `fqName: "`
	i := strings.Index(s, key)
	if i < 0 {
		return s
	}
	s = s[i+len(key):]
	if j := strings.IndexByte(s, '"'); j >= 0 {
		s = s[:j]
	}
	return s
}
