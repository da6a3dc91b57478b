package collector

import (
	"crypto/tls"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-kit/log/level"

	"github.com/popexporter/pop_exporter/collector/edge"
	"github.com/popexporter/pop_exporter/collector/exposition"
	"github.com/popexporter/pop_exporter/collector/geo"
	"github.com/popexporter/pop_exporter/collector/geoip"
	"github.com/popexporter/pop_exporter/collector/prober"
)

// initSeries creates the series a probe has from its start, so that rate() and absent()
// behave from the first scrape: every failure reason at 0, PoP changes at 0, and the
// thresholds from the config.
func (m *Manager) initSeries(r *runner) {
	lv := r.labelsPrefix
	for _, reason := range r.spec.Load().FailureReasons() {
		m.metrics.failures.Add(0, append(lv, reason)...)
	}
	t := r.spec.Load().Target
	for _, reason := range prober.BodyReasons(t) {
		m.metrics.failures.Add(0, append(lv, reason)...)
	}
	m.metrics.popChanges.Add(0, lv...)
	if km := t.MaxDistanceKM; km > 0 {
		m.metrics.maxDistance.Set(km*1000, lv...)
	}
	if t.Content != nil {
		m.metrics.contentWindow.Set(time.Duration(t.Content.PropagationWindow).Seconds(), lv...)
	}
}

// recordContent sets the probe's content version series from a valid response of a target
// with content: one series per probe, its label the version (capped per probe like pop, so an
// object that changes on every request cannot grow the series count), its value since when
// the probe has been getting it; and the Last-Modified date while the response has one.
func (m *Manager) recordContent(r *runner, res prober.Result) {
	mt, lv, h, c := m.metrics, r.labelsPrefix, &r.handles, res.Content
	if r.versionLabel == nil || c.Version != r.version {
		r.version = c.Version
		r.versionSince = unixSeconds(res.Start)
		labels := append(slices.Clone(lv), r.versions.cap(c.Version, m.opts.MaxPoPsPerProbe))
		r.versionLabel = replaceSeries(mt.contentSince.Remove, r.versionLabel, labels)
	}
	mt.contentSince.SetCached(&h.contentSince, r.versionSince, r.versionLabel...)
	if !c.LastModified.IsZero() {
		mt.contentLM.SetCached(&h.contentLM, unixSeconds(c.LastModified), lv...)
		h.hasContentLM = true
	} else if h.hasContentLM {
		mt.contentLM.Remove(lv...)
		h.hasContentLM = false
	}
}

// record turns one probe result into metrics. It is the only place that does, and it runs on
// the worker that holds the runner (one at a time, see schedule.go), so the runner's state
// needs no lock.
func (m *Manager) record(r *runner, res prober.Result) {
	mt, lv, h := m.metrics, r.labelsPrefix, &r.handles
	s := r.spec.Load()

	mt.success.SetCached(&h.success, boolFloat(res.Success), lv...)
	mt.duration.SetCached(&h.duration, res.Duration.Seconds(), lv...)
	mt.statusCode.SetCached(&h.statusCode, float64(res.StatusCode), lv...)
	if !res.Success {
		mt.failures.Add(1, r.labels(res.FailureReason)...)
		level.Debug(m.logger).Log("msg", "probe failed", "target", s.Target.Name, "ip_version", s.IPVersion,
			"resolver", s.Resolver, "protocol", s.Protocol, "reason", res.FailureReason, "rcode", res.DNS.Rcode, "err", res.Err)
	}
	// The address dialled is what tells a routing split between protocols (one address, two
	// PoPs) from a DNS one: a target probed over several protocols records it for the system
	// resolver too.
	if res.DNS.Answered && (!s.SystemResolver || m.opts.Detail == DetailFull || len(s.Target.Protocols) > 1) {
		m.recordDNSAnswer(r, res.DNS)
	}
	m.recordTLS(r, res)
	if !res.Responded {
		if m.opts.ProbeDebug {
			r.debug.Store(m.probeDebug(s, res, "", "", ""))
		}
		return // nothing answered: the last edge stays the last edge
	}

	full := m.opts.Detail == DetailFull
	for p, d := range res.Phases {
		phase := r.labels(prober.PhaseNames[p])
		if !res.Happened[p] {
			if h.hasPhase[p] { // this runner is the only writer of its series: no lookup to find none
				mt.phaseLast.Remove(phase...)
				h.hasPhase[p] = false
			}
			continue
		}
		mt.phaseLast.SetCached(&h.phaseLast[p], d.Seconds(), phase...)
		h.hasPhase[p] = true
		if full {
			mt.phaseDuration.Observe(d.Seconds(), phase...)
		}
	}
	// Alt-Svc only counts on an https:// origin (RFC 7838 §2.1: an alternative must be
	// authenticated as the origin; browsers ignore it over http://), and like other info
	// series it is absent when there is nothing to say: an edge that advertises no protocol
	// we probe costs no series.
	if s.HTTPS() && res.AltSvc != "" {
		if r.altSvcLabels == nil || res.AltSvc != r.altSvc {
			r.altSvc = res.AltSvc
			r.altSvcLabels = replaceSeries(mt.altSvcInfo.Remove, r.altSvcLabels, append(slices.Clone(lv), res.AltSvc))
		}
		mt.altSvcInfo.SetCached(&h.altSvc, 1, r.altSvcLabels...)
	} else if r.altSvcLabels != nil {
		mt.altSvcInfo.Remove(r.altSvcLabels...)
		r.altSvcLabels, r.altSvc = nil, ""
	}
	e := res.Edge
	popSource := m.placePoP(&e, res.EdgeAddr)
	popLabel := r.pops.cap(e.PoP, m.opts.MaxPoPsPerProbe)
	if m.opts.ProbeDebug {
		r.debug.Store(m.probeDebug(s, res, e.PoP, popLabel, popSource))
	}
	perPoP := r.labels(e.CDN, popLabel, e.CacheStatus)
	mt.responses.AddCached(&h.responses, 1, perPoP...)
	if !full {
		// One histogram per probe: its cdn, pop and cache_status are empty, which Prometheus
		// stores as absent; the rules attribute it to the PoP answering now.
		perPoP = r.labels("", "", "") // reuses the buffer: perPoP's values are not needed again
	}
	mt.ttfb.ObserveCached(&h.ttfb, res.TTFB.Seconds(), perPoP...)
	if res.CacheAge >= 0 {
		mt.cacheAge.SetCached(&h.cacheAge, res.CacheAge, lv...)
		h.hasCacheAge = true
	} else if h.hasCacheAge {
		mt.cacheAge.Remove(lv...)
		h.hasCacheAge = false
	}

	// The edge is nearly always the one of the previous probe: its location and its edge_info
	// labels (coordinates formatted, label slice built) are worked out only when it changes.
	if key := (edgeKey{e.CDN, e.PoP, popLabel, popSource, e.UpstreamPoP, e.EdgeIP}); r.edgeLabels == nil || key != r.edge {
		r.edge = key
		r.edgeLoc, r.edgeLocated = lookupPoP(e.CDN, e.PoP)
		r.edgeLabels = replaceSeries(mt.edgeInfo.Remove, r.edgeLabels,
			r.edgeInfoLabels(e, popLabel, popSource, r.edgeLoc, r.edgeLocated, m.opts.MaxPoPsPerProbe))
	}
	loc, located := r.edgeLoc, r.edgeLocated
	mt.edgeInfo.SetCached(&h.edgeInfo, 1, r.edgeLabels...)

	if located && r.vantage.known {
		mt.distance.SetCached(&h.distance, geo.DistanceMeters(r.vantage.loc, loc), lv...)
	} else {
		mt.distance.Remove(lv...)
	}

	current := e.CDN + "/" + e.PoP
	if r.tracker.observe(current, res.Start) {
		mt.popChanges.AddCached(&h.popChanges, 1, lv...)
		mt.lastPoPChange.SetCached(&h.lastPoPChange, float64(r.tracker.changed.UnixNano())/1e9, lv...)
	}
	// Like the edge, the baseline nearly never changes: its labels and location are worked
	// out when it does.
	if r.baseLabels == nil || r.tracker.baseline != r.baseline {
		r.baseline = r.tracker.baseline
		baseCDN, basePoP, _ := strings.Cut(r.baseline, "/")
		baseLabels := append(append([]string(nil), lv...), baseCDN, r.pops.cap(basePoP, m.opts.MaxPoPsPerProbe))
		r.baseLabels = replaceSeries(mt.baselineInfo.Remove, r.baseLabels, baseLabels)
		r.baseLoc, r.baseLocated = lookupPoP(baseCDN, basePoP)
	}
	mt.baselineInfo.SetCached(&h.baselineInfo, 1, r.baseLabels...)
	switch {
	case r.baseline == current:
		mt.shiftDistance.SetCached(&h.shiftDistance, 0, lv...)
	case located && r.baseLocated:
		mt.shiftDistance.SetCached(&h.shiftDistance, geo.DistanceMeters(r.baseLoc, loc), lv...)
	default:
		mt.shiftDistance.Remove(lv...)
	}

	if res.Content.Version != "" {
		m.recordContent(r, res)
	}
	if expected := s.Target.ExpectedPoPs; len(expected) > 0 {
		mt.expectedPoP.SetCached(&h.expectedPoP, boolFloat(slices.Contains(expected, e.PoP)), lv...)
	}
}

// recordDNSAnswer sets the probe's one pop_probe_dns_answer_info series to what its resolver
// answered, replacing the previous one when a value changed. The address is capped per probe
// like edge_ip on pop_probe_edge_info; the rcode is one of the DNS rcode names and the scope a
// number from 0 to 255, both bounded.
func (m *Manager) recordDNSAnswer(r *runner, a prober.DNSAnswer) {
	// Nearly always the answer of the previous probe: its labels are worked out only when it
	// changes (formatting the address is an allocation).
	if l := r.answerLabels; l != nil && a == r.answer {
		m.metrics.dnsAnswerInfo.SetCached(&r.handles.dnsAnswer, 1, l...)
		return
	}
	r.answer = a
	addr := ""
	if a.Addr.IsValid() {
		addr = r.answerAddrs.cap(a.Addr.String(), m.opts.MaxPoPsPerProbe)
	}
	labels := append(slices.Clone(r.labelsPrefix), addr, a.Rcode, a.ECSScope)
	r.answerLabels = replaceSeries(m.metrics.dnsAnswerInfo.Remove, r.answerLabels, labels)
	m.metrics.dnsAnswerInfo.SetCached(&r.handles.dnsAnswer, 1, labels...)
}

// tlsKey is what decides a probe's pop_probe_tls_info labels.
type tlsKey struct {
	version, cipher uint16
	alpn            string
	ocsp            bool
}

// recordTLS sets the probe's TLS series from the handshake of its last hop. A certificate
// that failed verification still sets the expiry and identity series (an expired certificate
// keeps its expiry alert firing); a response over plain HTTP removes them; a probe that got
// no certificate for another reason (connect refused, timeout) leaves the last ones, as it
// leaves the last edge.
func (m *Manager) recordTLS(r *runner, res prober.Result) {
	mt, lv, h, t := m.metrics, r.labelsPrefix, &r.handles, &res.TLS
	if !t.Certs {
		if res.Responded && r.leafLabels != nil {
			mt.tlsEarliest.Remove(lv...)
			mt.tlsLeaf.Remove(r.leafLabels...)
			r.leafLabels, h.tlsEarliest, h.tlsLeaf = nil, exposition.Handle{}, exposition.Handle{}
		}
		if res.Responded && r.tlsLabels != nil {
			mt.tlsInfo.Remove(r.tlsLabels...)
			r.tlsLabels, h.tlsInfo = nil, exposition.Handle{}
		}
		return
	}
	mt.tlsEarliest.SetCached(&h.tlsEarliest, unixSeconds(t.EarliestExpiry), lv...)
	// Nearly always the certificate of the previous probe: its labels are worked out when it
	// changes. The fingerprint is capped per probe like edge_ip, and a capped one has no
	// serial either, so a server presenting a new certificate on every handshake cannot grow
	// the series count.
	if r.leafLabels == nil || t.Leaf != r.leaf {
		r.leaf = t.Leaf
		fp, serial := r.certs.cap(t.Leaf.Fingerprint, m.opts.MaxPoPsPerProbe), t.Leaf.Serial
		if fp == OtherPoP {
			serial = ""
		}
		labels := append(slices.Clone(lv), fp, serial)
		if r.leafLabels != nil && !slices.Equal(r.leafLabels, labels) {
			mt.tlsLeaf.Remove(r.leafLabels...)
			h.tlsLeaf = exposition.Handle{}
		}
		r.leafLabels = labels
	}
	mt.tlsLeaf.SetCached(&h.tlsLeaf, unixSeconds(t.Leaf.NotAfter), r.leafLabels...)
	if !t.Handshake {
		return // the handshake failed: no version or cipher was agreed
	}
	if key := (tlsKey{t.Version, t.CipherSuite, t.ALPN, t.OCSPStapled}); r.tlsLabels == nil || key != r.tlsKey {
		r.tlsKey = key
		// crypto/tls names every version and suite it can agree on; both are bounded by what
		// it offers, and ALPN by the one protocol the probe offers.
		labels := append(slices.Clone(lv), tls.VersionName(t.Version), tls.CipherSuiteName(t.CipherSuite), t.ALPN,
			strconv.FormatBool(t.OCSPStapled))
		r.tlsLabels = replaceSeries(mt.tlsInfo.Remove, r.tlsLabels, labels)
		h.tlsInfo = exposition.Handle{}
	}
	mt.tlsInfo.SetCached(&h.tlsInfo, 1, r.tlsLabels...)
}

// unixSeconds is t as a Prometheus timestamp value.
func unixSeconds(t time.Time) float64 { return float64(t.Unix()) }

// The pop_source label values of pop_probe_edge_info: where the pop label came from.
const (
	// PoPSourceHeader: the response named the PoP (a vendor header, the body of a trace URL,
	// or a user rule).
	PoPSourceHeader = "header"
	// PoPSourceGeoIP: the CDN named none; the geolocation database placed the edge's address
	// on the nearest airport or metro code.
	PoPSourceGeoIP = "geoip"
	// PoPSourceNone: pop is "unknown".
	PoPSourceNone = "none"
)

// placePoP gives an identified CDN that named no PoP one from the geolocation database, and
// returns the pop_source value. The address placed is the edge IP the response names (Akamai's
// X-Cache or Akamai-GRN) if any, else the one the probe connected to. Anycast CDNs are never
// placed: their address is announced from every PoP, so its registered location says nothing
// about the PoP that answered.
func (m *Manager) placePoP(e *edge.Result, remote netip.Addr) string {
	switch {
	case e.PoP != edge.Unknown:
		return PoPSourceHeader
	case e.CDN == edge.Unknown || edge.Anycast(e.CDN):
		return PoPSourceNone
	}
	addr := remote
	if a, err := netip.ParseAddr(e.EdgeIP); err == nil {
		addr = a
	}
	loc, ok := m.opts.GeoIP.PoP(addr, geoip.DefaultMaxMeters)
	if !ok {
		return PoPSourceNone
	}
	e.PoP = loc.Code
	return PoPSourceGeoIP
}

// edgeInfoLabels are the label values of the probe's pop_probe_edge_info series (one series per
// probe, replaced when a value changes). Each value is bounded per probe like the per-PoP
// series: pop is the capped value those use, pop_source one of three values, and the shield
// PoP and the edge IP each keep their first max distinct values, later ones becoming "other".
// A PoP past the cap has no place on the map either: its location labels stay empty, so a server naming a new PoP on
// every response cannot make new series through the city or coordinates.
func (r *runner) edgeInfoLabels(e edge.Result, pop, popSource string, loc geo.Location, located bool, max int) []string {
	lv := append(slices.Clone(r.labelsPrefix), e.CDN, pop, popSource, r.shields.cap(e.UpstreamPoP, max), r.edgeIPs.cap(e.EdgeIP, max),
		"", "", "", "", "")
	if pop == OtherPoP {
		return lv
	}
	where := lv[len(lv)-5:]
	where[0], where[1], where[2] = loc.City, loc.Country, loc.Continent
	if located {
		where[3], where[4] = formatCoord(loc.Latitude), formatCoord(loc.Longitude)
	}
	return lv
}

// capSet bounds the values one probe can give one label: the first max distinct values keep
// their text, later ones become "other". A server answering with a new random code on every
// probe therefore cannot grow the series count without bound. "" (no value) is never capped.
type capSet map[string]struct{}

func (c capSet) cap(v string, max int) string {
	if v == "" {
		return v
	}
	if _, seen := c[v]; seen {
		return v
	}
	if len(c) >= max {
		return OtherPoP
	}
	c[v] = struct{}{}
	return v
}

// replaceSeries deletes the old series of a one-series-per-probe info metric when its labels
// change, and returns the labels now in use.
func replaceSeries(del func(...string), old, cur []string) []string {
	if old != nil && !slices.Equal(old, cur) {
		del(old...)
	}
	return cur
}

func lookupPoP(cdn, pop string) (geo.Location, bool) {
	if pop == "" || pop == edge.Unknown {
		return geo.Location{}, false
	}
	return geo.Lookup(cdn, pop)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// formatCoord renders a coordinate for a label: 4 decimals (about 11 m) is plenty for a map.
func formatCoord(v float64) string {
	return strconv.FormatFloat(v, 'f', 4, 64)
}

// labels returns the probe's label values followed by extra, in a buffer of the runner that the
// next call reuses: for a store call, which does not keep it.
func (r *runner) labels(extra ...string) []string {
	r.scratch = append(append(r.scratch[:0], r.labelsPrefix...), extra...)
	return r.scratch
}

// seriesHandles find a runner's series in the store without a lookup (see exposition.Handle):
// one per series it writes on every probe.
type seriesHandles struct {
	success, duration, statusCode, responses, ttfb, cacheAge, edgeInfo, distance,
	baselineInfo, shiftDistance, popChanges, lastPoPChange, expectedPoP, dnsAnswer, altSvc,
	tlsEarliest, tlsLeaf, tlsInfo, contentSince, contentLM exposition.Handle
	phaseLast [prober.NumPhases]exposition.Handle
	// Which of the series that come and go exist.
	hasPhase     [prober.NumPhases]bool
	hasCacheAge  bool
	hasContentLM bool
}

// edgeKey is what decides a probe's edge_info labels and PoP location.
type edgeKey struct{ cdn, pop, popLabel, popSource, shield, edgeIP string }
