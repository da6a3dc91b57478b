package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/popexporter/pop_exporter/collector/edge"
	"github.com/popexporter/pop_exporter/config"
	"gopkg.in/yaml.v3"
)

// Scenario is a parsed and validated scenario file: the simulated client networks (vantages),
// the simulated targets and their scripts.
type Scenario struct {
	Vantages []*Vantage `yaml:"vantages"`
	Targets  []*Target  `yaml:"targets"`
	// DNS, when set, serves the targets' names on loopback and steers DNS-steered targets
	// (pops: {dns: true}) by the resolver that asked; see DNSSpec.
	DNS *DNSSpec `yaml:"dns"`
}

// Target is one simulated edge, served at /<Name>/ on both listeners.
type Target struct {
	Name   string              `yaml:"name"`
	CDN    string              `yaml:"cdn"`
	Scheme string              `yaml:"scheme"` // "http" or "https"; default https
	PoPs   Timeline            `yaml:"pops"`
	Shield string              `yaml:"shield"` // upstream PoP (Fastly shield, Vercel function region, CloudFront inner hop)
	TTFB   map[string]TTFBSpec `yaml:"ttfb"`   // PoP (or "default") -> delay before the response head
	Cache  map[string]float64  `yaml:"cache"`  // normalised cache status -> weight
	Faults Faults              `yaml:"faults"`
	Status int                 `yaml:"status"` // status of a normal answer; default 200

	// Vantages says how the scenario's vantages see this target, by vantage name: a request
	// from a vantage's source address gets that vantage's timeline and TTFBs, the way anycast
	// or DNS steering sends different networks to different PoPs. Requests from any other
	// address, and vantages not listed, get the target's own pops and ttfb.
	Vantages map[string]*VantageView `yaml:"vantages"`

	// QUICPoPs, when set, is where this target's HTTP/3 requests land: a QUIC flow is a UDP
	// flow of its own, which an anycast network may route to another site than the TCP flow
	// of HTTP/1.1 and HTTP/2. Unset, HTTP/3 lands where the others do.
	QUICPoPs *Timeline `yaml:"quic_pops"`
	// Protocols, when set, is copied to the exporter config printed for the scenario: the
	// HTTP versions the exporter probes the target over (an https target's only).
	Protocols []string `yaml:"protocols"`

	// MaxDistanceKM, when set, is copied to the exporter config printed for the scenario.
	MaxDistanceKM float64 `yaml:"max_distance_km"`
	// Interval, when set, is this target's probe interval in the printed exporter config
	// (its timeout is ¾ of it), for answers slower than the default interval allows.
	Interval Duration `yaml:"interval"`
	// Certificate, when set, gives the target its own TLS certificate (server name
	// <target>.certs.cdnsim.test) with a scripted rotation; see CertificateSpec.
	Certificate *CertificateSpec `yaml:"certificate"`
	// Content, when set, serves a versioned object (stable body, ETag, Last-Modified) with a
	// scripted purge, and turns content on in the printed exporter config; see ContentSpec.
	Content *ContentSpec `yaml:"content"`

	vendor  *vendor        // resolved from CDN
	views   []*VantageView // by index of Scenario.Vantages; nil where the vantage sees the default
	cacheCW []cacheStep    // cumulative cache weights, in a fixed order
	line    int            // line of the target in the scenario file, for error messages
}

// Timeline is where a target's traffic lands over time. Exactly one field is set.
type Timeline struct {
	Stay   string     `yaml:"stay"`
	Shift  *ShiftSpec `yaml:"shift"`
	Flap   *FlapSpec  `yaml:"flap"`
	Random []string   `yaml:"random"`
	// DNS steers by DNS: the PoP is the dns region whose address the request arrived on
	// (the first resolver's region on any other address).
	DNS bool `yaml:"dns"`

	dns *DNSSpec // the scenario's dns section, set when DNS is
}

// ShiftSpec moves traffic from one PoP to another once, After the simulator started.
type ShiftSpec struct {
	From  string   `yaml:"from"`
	To    string   `yaml:"to"`
	After Duration `yaml:"after"`
}

// FlapSpec alternates between two PoPs, spending Every at each.
type FlapSpec struct {
	Between []string `yaml:"between"`
	Every   Duration `yaml:"every"`
}

// TTFBSpec is a delay distribution: roughly normal around Median with standard deviation
// Jitter, bounded to Median ± 3.5·Jitter and never negative.
type TTFBSpec struct {
	Median Duration `yaml:"median"`
	Jitter Duration `yaml:"jitter"`
}

// Faults are the probabilities, per request, of each failure. They are drawn in the order
// error, timeout, reset, slow headers; their sum must not exceed 1.
type Faults struct {
	ErrorRate       float64  `yaml:"error_rate"`        // answer with Status instead of the target's
	Status          int      `yaml:"status"`            // default 503
	TimeoutRate     float64  `yaml:"timeout_rate"`      // hold the request, never answer
	ResetRate       float64  `yaml:"reset_rate"`        // close the connection with a TCP RST
	SlowHeadersRate float64  `yaml:"slow_headers_rate"` // trickle the response head
	SlowHeadersTime Duration `yaml:"slow_headers_time"` // how long the trickle takes; default 3s
	TimeoutHold     Duration `yaml:"timeout_hold"`      // longest hold; default 60s
	After           Duration `yaml:"after"`             // faults only from this time on
	Until           Duration `yaml:"until"`             // and before this time (0: forever)
}

// Duration is a time.Duration written as a Go duration string ("250ms", "1m30s").
type Duration time.Duration

// UnmarshalYAML reads a duration string; a bare 0 is accepted too.
func (d *Duration) UnmarshalYAML(value *yaml.Node) error {
	var s string
	if err := value.Decode(&s); err != nil {
		return err
	}
	if s == "0" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: invalid duration %q", value.Line, s)
	}
	if v < 0 {
		return fmt.Errorf("line %d: negative duration %q", value.Line, s)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration in the same form UnmarshalYAML reads.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// cacheStep is one entry of a target's cumulative cache-status distribution.
type cacheStep struct {
	status string
	upTo   float64 // cumulative probability, the last one is 1
}

// targetNameRE keeps target names usable as a URL path segment and as a label value.
var targetNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`)

// cacheStatuses is the normalised cache_status enum of the metrics reference in README.md, in
// the order cache weights are laid out (so draws do not depend on map iteration order).
var cacheStatuses = edge.CacheStatuses()

// ParseScenario reads and validates a scenario. name is used in error messages.
func ParseScenario(name string, data []byte) (*Scenario, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var s Scenario
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty scenario", name)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// A second pass over the node tree gives each target its line for validation errors.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err == nil {
		for i, n := range listNodes(&doc, "targets") {
			if i < len(s.Targets) && s.Targets[i] != nil {
				s.Targets[i].line = n.Line
			}
		}
		for i, n := range listNodes(&doc, "vantages") {
			if i < len(s.Vantages) && s.Vantages[i] != nil {
				s.Vantages[i].line = n.Line
			}
		}
		if s.DNS != nil {
			s.DNS.setLines(&doc)
		}
	}
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &s, nil
}

// listNodes returns the YAML nodes of the items of the top-level list key.
func listNodes(doc *yaml.Node, key string) []*yaml.Node {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i+1].Kind == yaml.SequenceNode {
			return m.Content[i+1].Content
		}
	}
	return nil
}

func (s *Scenario) validate() error {
	if len(s.Targets) == 0 {
		return errors.New("no targets")
	}
	if err := s.validateVantages(); err != nil {
		return err
	}
	if s.DNS != nil {
		if err := s.DNS.validate(); err != nil {
			return err
		}
	}
	seen := make(map[string]int, len(s.Targets))
	for i, t := range s.Targets {
		if t == nil {
			return fmt.Errorf("target #%d is empty", i+1)
		}
		err := t.validate(s.DNS)
		if err == nil {
			err = t.resolveViews(s.Vantages, s.DNS)
		}
		if err != nil {
			return fmt.Errorf("line %d: target %q: %w", t.line, t.Name, err)
		}
		if prev, dup := seen[t.Name]; dup {
			return fmt.Errorf("line %d: target %q: name already used on line %d", t.line, t.Name, prev)
		}
		seen[t.Name] = t.line
	}
	return nil
}

// validate checks the target and fills in its defaults; d is the scenario's dns section (nil
// without one).
func (t *Target) validate(d *DNSSpec) error {
	if !targetNameRE.MatchString(t.Name) {
		return fmt.Errorf("name must match %s", targetNameRE)
	}
	v, ok := vendorByName[t.CDN]
	if !ok {
		return fmt.Errorf("unknown cdn %q (one of %s)", t.CDN, strings.Join(vendorNames(), ", "))
	}
	t.vendor = v
	switch t.Scheme {
	case "":
		t.Scheme = "https"
	case "http", "https":
	default:
		return fmt.Errorf("scheme must be http or https, not %q", t.Scheme)
	}
	if t.Status == 0 {
		t.Status = 200
	}
	if t.Status < 100 || t.Status > 599 {
		return fmt.Errorf("status %d is not an HTTP status", t.Status)
	}
	if t.Interval != 0 && time.Duration(t.Interval) < 10*time.Millisecond {
		return fmt.Errorf("interval %s is shorter than 10ms", time.Duration(t.Interval))
	}
	if err := t.PoPs.validate(v, d); err != nil {
		return fmt.Errorf("pops: %w", err)
	}
	if t.Shield != "" {
		if !v.shield {
			return fmt.Errorf("shield: cdn %s shows no upstream PoP", v.name)
		}
		if !v.popRE.MatchString(t.Shield) {
			return fmt.Errorf("shield: %q is not a %s PoP code (%s)", t.Shield, v.name, v.popRE)
		}
	}
	pops := t.PoPs.allPoPs()
	if t.QUICPoPs != nil {
		if t.QUICPoPs.DNS {
			return fmt.Errorf("quic_pops: dns steering is the target's pops, not a QUIC path's")
		}
		if err := t.QUICPoPs.validate(v, d); err != nil {
			return fmt.Errorf("quic_pops: %w", err)
		}
		pops = append(pops, t.QUICPoPs.allPoPs()...)
	}
	if err := validateTTFB(t.TTFB, pops, "target's"); err != nil {
		return err
	}
	for i, p := range t.Protocols {
		if !slices.Contains(config.Protocols, p) {
			return fmt.Errorf("protocols[%d]: unknown protocol %q (want %s)", i, p, strings.Join(config.Protocols, ", "))
		}
		if p != config.ProtocolHTTP11 && t.Scheme != "https" {
			return fmt.Errorf("protocols[%d]: %s needs scheme https", i, p)
		}
	}
	if err := t.validateCache(); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	if err := t.Faults.validate(); err != nil {
		return fmt.Errorf("faults: %w", err)
	}
	if err := t.validateTLSContent(); err != nil {
		return err
	}
	return nil
}

// validateTTFB checks the keys of a ttfb map against the PoPs they can apply to. whose names
// those PoPs in the error ("target's", "vantage's").
func validateTTFB(ttfb map[string]TTFBSpec, pops []string, whose string) error {
	for _, pop := range slices.Sorted(maps.Keys(ttfb)) {
		spec := ttfb[pop]
		if pop != "default" && !slices.Contains(pops, pop) {
			// Most likely a typo, which would silently fall back to the default delay.
			return fmt.Errorf("ttfb: %q is neither one of the %s PoPs (%s) nor default", pop, whose, strings.Join(pops, ", "))
		}
		if spec.Jitter > spec.Median && spec.Median > 0 {
			// Allowed, but a jitter above the median mostly clamps to zero: say so early.
			return fmt.Errorf("ttfb: %s: jitter %s is larger than median %s", pop, time.Duration(spec.Jitter), time.Duration(spec.Median))
		}
	}
	return nil
}

// isZero reports whether no field of the timeline is set.
func (tl *Timeline) isZero() bool {
	return tl.Stay == "" && tl.Shift == nil && tl.Flap == nil && tl.Random == nil && !tl.DNS
}

// validate checks the timeline against the vendor's PoP codes; d is the scenario's dns
// section, whose regions a DNS-steered timeline answers from.
func (tl *Timeline) validate(v *vendor, d *DNSSpec) error {
	set := 0
	var codes []string
	if tl.Stay != "" {
		set++
		codes = append(codes, tl.Stay)
	}
	if tl.Shift != nil {
		set++
		if tl.Shift.From == "" || tl.Shift.To == "" {
			return errors.New("shift needs from and to")
		}
		codes = append(codes, tl.Shift.From, tl.Shift.To)
	}
	if tl.Flap != nil {
		set++
		if len(tl.Flap.Between) != 2 {
			return fmt.Errorf("flap.between needs exactly two PoPs, got %d", len(tl.Flap.Between))
		}
		if tl.Flap.Every <= 0 {
			return errors.New("flap.every must be positive")
		}
		codes = append(codes, tl.Flap.Between...)
	}
	if tl.Random != nil {
		set++
		if len(tl.Random) == 0 {
			return errors.New("random needs at least one PoP")
		}
		codes = append(codes, tl.Random...)
	}
	if tl.DNS {
		set++
		if d == nil {
			return errors.New("dns needs the scenario's dns section")
		}
		for _, c := range d.regionCodes {
			if !v.popRE.MatchString(c) {
				return fmt.Errorf("dns region %q is not a %s PoP code (%s)", c, v.name, v.popRE)
			}
		}
		tl.dns = d
	}
	if set != 1 {
		return fmt.Errorf("exactly one of stay, shift, flap, random, dns is required (%d given)", set)
	}
	for _, c := range codes {
		if !v.popRE.MatchString(c) {
			return fmt.Errorf("%q is not a %s PoP code (%s)", c, v.name, v.popRE)
		}
	}
	return nil
}

func (t *Target) validateCache() error {
	if len(t.Cache) == 0 {
		t.Cache = map[string]float64{t.vendor.defaultCache: 1}
	}
	var total float64
	for status, w := range t.Cache {
		if !slices.Contains(cacheStatuses, status) {
			return fmt.Errorf("unknown cache status %q (one of %s)", status, strings.Join(cacheStatuses, ", "))
		}
		if status != "unknown" {
			if _, ok := t.vendor.cache[status]; !ok {
				return fmt.Errorf("cdn %s cannot show cache status %q (it can show: %s)", t.vendor.name, status, strings.Join(t.vendor.cacheNames(), ", "))
			}
		}
		if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			return fmt.Errorf("weight of %s must be a non-negative number", status)
		}
		total += w
	}
	if total <= 0 {
		return errors.New("weights add up to zero")
	}
	t.cacheCW = t.cacheCW[:0]
	var acc float64
	for _, status := range cacheStatuses {
		if w, ok := t.Cache[status]; ok && w > 0 {
			acc += w / total
			t.cacheCW = append(t.cacheCW, cacheStep{status: status, upTo: acc})
		}
	}
	t.cacheCW[len(t.cacheCW)-1].upTo = 1 // no rounding gap at the top
	return nil
}

func (f *Faults) validate() error {
	rates := map[string]float64{
		"error_rate": f.ErrorRate, "timeout_rate": f.TimeoutRate,
		"reset_rate": f.ResetRate, "slow_headers_rate": f.SlowHeadersRate,
	}
	var sum float64
	for _, k := range slices.Sorted(maps.Keys(rates)) {
		r := rates[k]
		if r < 0 || r > 1 || math.IsNaN(r) {
			return fmt.Errorf("%s must be between 0 and 1, got %g", k, r)
		}
		sum += r
	}
	if sum > 1+1e-9 {
		return fmt.Errorf("rates add up to %g, more than 1", sum)
	}
	if f.Status == 0 {
		f.Status = 503
	}
	if f.Status < 100 || f.Status > 599 {
		return fmt.Errorf("status %d is not an HTTP status", f.Status)
	}
	if f.SlowHeadersTime == 0 {
		f.SlowHeadersTime = Duration(3 * time.Second)
	}
	if f.TimeoutHold == 0 {
		f.TimeoutHold = Duration(60 * time.Second)
	}
	if f.Until != 0 && f.Until <= f.After {
		return fmt.Errorf("until (%s) must be later than after (%s)", time.Duration(f.Until), time.Duration(f.After))
	}
	return nil
}

// allPoPs lists every PoP the timeline can answer from.
func (tl *Timeline) allPoPs() []string {
	var out []string
	switch {
	case tl.Stay != "":
		out = []string{tl.Stay}
	case tl.Shift != nil:
		out = []string{tl.Shift.From, tl.Shift.To}
	case tl.Flap != nil:
		out = slices.Clone(tl.Flap.Between)
	case tl.DNS:
		out = slices.Clone(tl.dns.regionCodes)
	default:
		out = slices.Clone(tl.Random)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// initialPoPs are the PoPs a target is expected to answer from: the first one, except that
// a flap expects both of its PoPs, a random timeline its whole set and a DNS-steered one the
// regions its resolvers lead to. A shift's destination is deliberately not expected.
func (tl *Timeline) initialPoPs() []string {
	switch {
	case tl.Stay != "":
		return []string{tl.Stay}
	case tl.Shift != nil:
		return []string{tl.Shift.From}
	case tl.Flap != nil:
		return slices.Clone(tl.Flap.Between)
	case tl.DNS:
		return slices.Clone(tl.dns.reached)
	default:
		return tl.allPoPs()
	}
}
