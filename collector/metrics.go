package collector

import (
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/popexporter/pop_exporter/collector/exposition"
)

const namespace = "pop"

// probeLabels are carried by every per-probe series (the metrics contract).
var probeLabels = []string{"vantage", "target", "ip_version", "resolver", "protocol"}

// ttfbBuckets suit web latency from a few milliseconds (a PoP next door) to seconds (an
// origin fetch across an ocean, a timeout), finest where PoP distance shows: 10-300 ms.
var ttfbBuckets = []float64{.005, .01, .025, .05, .075, .1, .15, .2, .3, .5, .75, 1, 2.5, 5, 10}

// basicTTFBBuckets are the classic buckets of the basic set's one TTFB histogram per probe:
// enough to tell a PoP next door (< 50 ms), one in the region (< 200 ms) and one across an
// ocean or an origin fetch apart, with a bucket above the alert threshold (1 s) so that a p95
// beyond it shows as beyond it; native histograms give full resolution.
var basicTTFBBuckets = []float64{.05, .2, 1, 2.5}

// phaseBuckets are coarser: five phases per probe make this the largest family on /metrics,
// and native histograms give full resolution where Prometheus scrapes them.
var phaseBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}

// Native histogram settings: ~10% resolution, bounded bucket count, reset at most hourly.
const (
	nativeBucketFactor = 1.1
	nativeMaxBuckets   = 100
	nativeMinReset     = time.Hour
)

// histogramOpts are the options of a histogram with classic buckets and native buckets; name
// is the full metric name.
func histogramOpts(name, help string, buckets []float64) prometheus.HistogramOpts {
	return prometheus.HistogramOpts{
		Name:                            name,
		Help:                            help,
		Buckets:                         buckets,
		NativeHistogramBucketFactor:     nativeBucketFactor,
		NativeHistogramMaxBucketNumber:  nativeMaxBuckets,
		NativeHistogramMinResetDuration: nativeMinReset,
	}
}

// MetricDef describes one metric family pop_exporter exposes: the metrics contract as code.
type MetricDef struct {
	Name   string   // full name; histograms by their base name
	Type   string   // "gauge", "counter" or "histogram"
	Help   string   // the HELP text
	Labels []string // label names in declaration order
}

// metrics holds every metric the collector exposes; they are declared here, once, and only
// (*Manager).record and the lifecycle code in manager.go write to them. Per-probe families
// live in an exposition.Store (fast text rendering for thousands of probes); the exporter's
// own metrics are ordinary client_golang collectors in the registry.
type metrics struct {
	defs []MetricDef // every family below, in declaration order

	success       *exposition.Family
	duration      *exposition.Family
	phaseDuration *exposition.Family // the full set only
	phaseLast     *exposition.Family
	ttfb          *exposition.Family
	statusCode    *exposition.Family
	responses     *exposition.Family
	failures      *exposition.Family
	edgeInfo      *exposition.Family
	distance      *exposition.Family
	baselineInfo  *exposition.Family
	shiftDistance *exposition.Family
	popChanges    *exposition.Family
	lastPoPChange *exposition.Family
	expectedPoP   *exposition.Family
	maxDistance   *exposition.Family
	cacheAge      *exposition.Family
	dnsAnswerInfo *exposition.Family
	altSvcInfo    *exposition.Family
	tlsEarliest   *exposition.Family
	tlsLeaf       *exposition.Family
	tlsInfo       *exposition.Family
	contentSince  *exposition.Family
	contentLM     *exposition.Family
	contentWindow *exposition.Family
	vantageInfo   *exposition.Family
	perProbe      []*exposition.Family // the families that start with probeLabels

	reloadSuccess    prometheus.Gauge
	reloadTimestamp  prometheus.Gauge
	targetFileLoaded *prometheus.GaugeVec
	targets          prometheus.Gauge
	shardInfo        *prometheus.GaugeVec
	inFlight         prometheus.Gauge
	scheduleDelay    prometheus.Histogram
	missed           prometheus.Counter
}

// newMetrics declares every metric; the per-probe families go into st. detail picks the TTFB
// buckets: the basic set's few, or the full set's fine ones.
func newMetrics(st *exposition.Store, detail Detail) *metrics {
	m := &metrics{}
	family := func(name, help string, kind exposition.Kind, labels []string, buckets []float64) *exposition.Family {
		name = namespace + "_" + name
		m.defs = append(m.defs, MetricDef{Name: name, Type: kind.String(), Help: help, Labels: labels})
		var opts *prometheus.HistogramOpts
		if kind == exposition.Histogram {
			o := histogramOpts(name, help, buckets)
			opts = &o
		}
		return st.NewFamily(name, help, kind, labels, opts)
	}
	probe := func(name, help string, kind exposition.Kind, extra ...string) *exposition.Family {
		f := family(name, help, kind, append(slices.Clone(probeLabels), extra...), nil)
		m.perProbe = append(m.perProbe, f)
		return f
	}
	probeHistogram := func(name, help string, buckets []float64, extra ...string) *exposition.Family {
		f := family(name, help, exposition.Histogram, append(slices.Clone(probeLabels), extra...), buckets)
		m.perProbe = append(m.perProbe, f)
		return f
	}
	own := func(typ, name, help string, labels ...string) string {
		name = namespace + "_exporter_" + name
		m.defs = append(m.defs, MetricDef{Name: name, Type: typ, Help: help, Labels: labels})
		return name
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: own("gauge", name, help), Help: help})
	}
	const G, C = exposition.Gauge, exposition.Counter

	m.success = probe("probe_success", "1 if the last probe got a valid response, 0 otherwise.", G)
	m.duration = probe("probe_duration_seconds", "How long the last probe took, from start to the end of the body read.", G)
	m.phaseDuration = probeHistogram("probe_phase_duration_seconds",
		"Duration of each phase of a probe (dns, connect, tls, processing, transfer; quic instead of connect and tls over HTTP/3), summed over redirects.", phaseBuckets, "phase")
	m.phaseLast = probe("probe_phase_seconds", "Duration of each phase of the last probe that got a response (dns, connect, tls, processing, transfer; quic instead of connect and tls over HTTP/3), summed over redirects.", G, "phase")
	buckets := basicTTFBBuckets
	if detail == DetailFull {
		buckets = ttfbBuckets
	}
	m.ttfb = probeHistogram("probe_ttfb_seconds",
		"Time to first byte: probe start to the first byte of the final response (curl time_starttransfer).", buckets,
		"cdn", "pop", "cache_status")
	m.statusCode = probe("probe_http_status_code", "HTTP status code of the last response, 0 when none came.", G)
	m.responses = probe("probe_responses_total", "Responses by the CDN and PoP that answered and their cache status.", C, "cdn", "pop", "cache_status")
	m.failures = probe("probe_failures_total", "Failed probes by reason.", C, "reason")
	m.edgeInfo = probe("probe_edge_info", "The edge that answered the last response, where its PoP came from (pop_source: header, geoip or none), and its shield PoP and IP address where the CDN names them; always 1.", G,
		"cdn", "pop", "pop_source", "shield_pop", "edge_ip", "city", "country", "continent", "latitude", "longitude")
	m.distance = probe("probe_distance_meters", "Great-circle distance from the vantage point to the PoP that answered last.", G)
	m.baselineInfo = probe("probe_baseline_info", "The usual PoP of this probe: the most frequent over the baseline window; always 1.", G, "cdn", "pop")
	m.shiftDistance = probe("probe_shift_distance_meters", "Great-circle distance from the baseline PoP to the PoP that answered last (0 when they are the same).", G)
	m.popChanges = probe("probe_pop_changes_total", "Times the answering PoP changed from one response to the next.", C)
	m.lastPoPChange = probe("probe_last_pop_change_timestamp_seconds", "Unix time of the last change of the answering PoP.", G)
	m.expectedPoP = probe("probe_expected_pop", "1 if the PoP that answered last is in expected_pops, 0 if not; absent when expected_pops is not set.", G)
	m.maxDistance = probe("probe_max_distance_meters", "max_distance_km of the target, in meters; absent when not set.", G)
	m.cacheAge = probe("probe_cache_age_seconds", "Age header of the last response, when present.", G)
	m.dnsAnswerInfo = probe("probe_dns_answer_info", "What the probe's resolver last answered for the target's host: the address dialled (capped per probe like edge_ip), the DNS rcode (empty for the system resolver) and the EDNS Client Subnet scope prefix length (empty when the answer carried none); always 1. For the system resolver only with --metrics.detail=full.", G,
		"address", "rcode", "ecs_scope")
	m.altSvcInfo = probe("probe_alt_svc_info", "The protocols the last response's Alt-Svc header advertised for this edge (advertised: http2, http3 or \"http2,http3\"; absent when none), to compare with the protocols probed; always 1.", G,
		"advertised")
	m.tlsEarliest = probe("probe_tls_earliest_cert_expiry_timestamp_seconds", "Unix time when the first certificate of the verified chain of the last TLS handshake expires (of the chain lasting longest when there are several; of the certificates presented when none verified).", G)
	m.tlsLeaf = probe("probe_tls_leaf_cert_expiry_timestamp_seconds", "Unix time when the leaf certificate of the last TLS handshake expires, labelled with its identity: the first 16 hex digits of the SHA-256 of its DER and its serial number (capped per probe like edge_ip); one series per probe, replaced when the certificate changes.", G,
		"fingerprint", "serial")
	m.tlsInfo = probe("probe_tls_info", "The TLS version, cipher suite, ALPN protocol (empty when none was negotiated) and whether an OCSP response was stapled, of the last completed TLS handshake; always 1.", G,
		"version", "cipher", "alpn", "ocsp_stapled")
	m.contentSince = probe("probe_content_version_since_timestamp_seconds", "The version of the object the last valid response carried (16 hex digits of a SHA-256 over the ETag, Last-Modified and body hash, as content.version_from says; capped per probe like pop), valued at the unix time of the first probe that got it since it last changed; one series per probe, replaced when the version changes. Only for targets with content.", G,
		"version")
	m.contentLM = probe("probe_content_last_modified_timestamp_seconds", "Last-Modified header of the last valid response, as a unix time; absent when the response had none. Only for targets with content.", G)
	m.contentWindow = probe("probe_content_propagation_window_seconds", "content.propagation_window of the target, in seconds: how long its probes may serve different versions. Only for targets with content.", G)
	m.vantageInfo = family("vantage_info", "Where this exporter stands; always 1.", G,
		[]string{"vantage", "code", "city", "country", "continent", "latitude", "longitude"}, nil)

	m.reloadSuccess = gauge("config_last_reload_successful",
		"1 if the last configuration load succeeded, 0 if it failed (the previous configuration keeps running).")
	m.reloadTimestamp = gauge("config_last_reload_success_timestamp_seconds", "Unix time of the last successful configuration load.")
	fileHelp := "1 if the last version of this target file is in use, 0 if it could not be used (its previous targets keep running); one series per file target_files matches."
	m.targetFileLoaded = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: own("gauge", "target_file_last_load_successful", fileHelp, "file"), Help: fileHelp},
		[]string{"file"})
	m.targets = gauge("targets", "Probes of this replica: the targets of its shard times their IP families, resolvers and protocols.")
	shardHelp := "This replica's shard: it probes the targets whose name rendezvous-hashes to index among total replicas; always 1."
	m.shardInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: own("gauge", "shard_info", shardHelp, "index", "total"), Help: shardHelp},
		[]string{"index", "total"})
	m.inFlight = gauge("probes_in_flight", "Probes running right now.")
	delayHelp := "How late each probe started after its scheduled time, including the wait for a concurrency slot."
	m.scheduleDelay = prometheus.NewHistogram(histogramOpts(own("histogram", "schedule_delay_seconds", delayHelp),
		delayHelp, []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 5}))
	missedHelp := "Scheduled probe runs skipped because the previous run of the same probe ended after them."
	m.missed = prometheus.NewCounter(prometheus.CounterOpts{Name: own("counter", "missed_intervals_total", missedHelp), Help: missedHelp})
	return m
}

// collectors are the metrics registered in the client_golang registry.
func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.reloadSuccess, m.reloadTimestamp, m.targetFileLoaded, m.targets, m.shardInfo, m.inFlight, m.scheduleDelay, m.missed}
}

// BuildInfoName is the metric the version collector registers (see cmd/pop_exporter).
const BuildInfoName = "pop_exporter_build_info"

// Definitions returns every metric family the collector declares, sorted by name (build info,
// which cmd/pop_exporter registers, is not among them). The README reference is tested
// against it.
func Definitions() []MetricDef {
	defs := newMetrics(exposition.NewStore(), DetailBasic).defs
	slices.SortFunc(defs, func(a, b MetricDef) int { return strings.Compare(a.Name, b.Name) })
	return defs
}

// MetricNames returns the name of every metric family pop_exporter exposes (histograms by their
// base name), sorted. Dashboards and alert rules are tested against it.
func MetricNames() []string {
	names := []string{BuildInfoName}
	for _, d := range Definitions() {
		names = append(names, d.Name)
	}
	slices.Sort(names)
	return names
}
