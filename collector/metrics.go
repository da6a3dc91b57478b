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
// (*Manager).record and the lifecycle code in manager.go write to them.
type metrics struct {
	success         *prometheus.GaugeVec
	duration        *prometheus.GaugeVec
	phaseDuration   *prometheus.HistogramVec
	ttfb            *prometheus.HistogramVec
	statusCode      *prometheus.GaugeVec
	responses       *prometheus.CounterVec
	failures        *prometheus.CounterVec
	edgeInfo        *prometheus.GaugeVec
	distance        *prometheus.GaugeVec
	baselineInfo    *prometheus.GaugeVec
	shiftDistance   *prometheus.GaugeVec
	popChanges      *prometheus.CounterVec
	lastPoPChange   *prometheus.GaugeVec
	expectedPoP     *prometheus.GaugeVec
	maxDistance     *prometheus.GaugeVec
	cacheAge        *prometheus.GaugeVec
	vantageInfo     *prometheus.GaugeVec
	reloadSuccess   prometheus.Gauge
	reloadTimestamp prometheus.Gauge
	targets         prometheus.Gauge
	inFlight        prometheus.Gauge
	scheduleDelay   prometheus.Histogram
	missed          prometheus.Counter
}

func newMetrics() *metrics {
	gauge := func(name, help string, extra ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, withProbeLabels(extra...))
	}
	counter := func(name, help string, extra ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, withProbeLabels(extra...))
	}
	return &metrics{
		success:  gauge("probe_success", "1 if the last probe got a valid response, 0 otherwise."),
		duration: gauge("probe_duration_seconds", "How long the last probe took, from start to the end of the body read."),
		phaseDuration: prometheus.NewHistogramVec(histogramOpts("probe_phase_duration_seconds",
			"Duration of each phase of a probe (dns, connect, tls, processing, transfer), summed over redirects.", phaseBuckets),
			withProbeLabels("phase")),
		ttfb: prometheus.NewHistogramVec(histogramOpts("probe_ttfb_seconds",
			"Time to first byte: probe start to the first byte of the final response (curl time_starttransfer).", ttfbBuckets),
			withProbeLabels("cdn", "pop", "cache_status")),
		statusCode:    gauge("probe_http_status_code", "HTTP status code of the last response, 0 when none came."),
		responses:     counter("probe_responses_total", "Responses by the CDN and PoP that answered and their cache status.", "cdn", "pop", "cache_status"),
		failures:      counter("probe_failures_total", "Failed probes by reason.", "reason"),
		edgeInfo:      gauge("probe_edge_info", "The edge that answered the last response; always 1.", "cdn", "pop", "city", "country", "continent", "latitude", "longitude"),
		distance:      gauge("probe_distance_meters", "Great-circle distance from the vantage point to the PoP that answered last."),
		baselineInfo:  gauge("probe_baseline_info", "The usual PoP of this probe: the most frequent over the baseline window; always 1.", "cdn", "pop"),
		shiftDistance: gauge("probe_shift_distance_meters", "Great-circle distance from the baseline PoP to the PoP that answered last (0 when they are the same)."),
		popChanges: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "probe_pop_changes_total",
			Help: "Times the answering PoP changed from one response to the next."}, probeLabels),
		lastPoPChange: gauge("probe_last_pop_change_timestamp_seconds", "Unix time of the last change of the answering PoP."),
		expectedPoP:   gauge("probe_expected_pop", "1 if the PoP that answered last is in expected_pops, 0 if not; absent when expected_pops is not set."),
		maxDistance:   gauge("probe_max_distance_meters", "max_distance_km of the target, in meters; absent when not set."),
		cacheAge:      gauge("probe_cache_age_seconds", "Age header of the last response, when present."),
		vantageInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "vantage_info",
			Help: "Where this exporter stands; always 1."}, []string{"vantage", "code", "city", "country", "continent", "latitude", "longitude"}),
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

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.success, m.duration, m.phaseDuration, m.ttfb, m.statusCode, m.responses,
		m.failures, m.edgeInfo, m.distance, m.baselineInfo, m.shiftDistance, m.popChanges, m.lastPoPChange,
		m.expectedPoP, m.maxDistance, m.cacheAge, m.vantageInfo, m.reloadSuccess, m.reloadTimestamp,
		m.targets, m.inFlight, m.scheduleDelay, m.missed}
}

// perProbe lists the vectors that carry the vantage, target and ip_version labels: the ones
// cleaned up when a probe goes away.
type deleter interface {
	DeletePartialMatch(prometheus.Labels) int
	Reset()
}

func (m *metrics) perProbe() []deleter {
	return []deleter{m.success, m.duration, m.phaseDuration, m.ttfb, m.statusCode, m.responses,
		m.failures, m.edgeInfo, m.distance, m.baselineInfo, m.shiftDistance, m.popChanges, m.lastPoPChange,
		m.expectedPoP, m.maxDistance, m.cacheAge}
}

// BuildInfoName is the metric the version collector registers (see cmd/pop_exporter).
const BuildInfoName = "pop_exporter_build_info"

// MetricNames returns the name of every metric family pop_exporter exposes (histograms by their
// base name), sorted. Dashboards, alert rules and the README reference are tested against it.
func MetricNames() []string {
	names := []string{BuildInfoName}
	ch := make(chan *prometheus.Desc)
	go func() {
		for _, c := range newMetrics().collectors() {
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
