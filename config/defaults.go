package config

import (
	"net/http"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Built-in defaults of the config file, used when neither a target nor the defaults section
// sets a value. This is their one home: applyDefaults applies them, validation checks against
// them and CONFIGURATION.md's tables document them.
const (
	// defaultVantageName is the vantage label when vantage.name is not set.
	defaultVantageName = "default"
	// defaultInterval is how often a target is probed: often enough to see a PoP shift within
	// a minute or two, rarely enough to be polite to endpoints we do not own.
	defaultInterval = Duration(30 * time.Second)
	// maxDefaultTimeout caps the implicit timeout. When no timeout is set the timeout is
	// min(maxDefaultTimeout, 80% of the interval), leaving room for a probe to finish
	// (and be reported as a timeout) before the next one is due.
	maxDefaultTimeout = Duration(10 * time.Second)
	// defaultMethod is the HTTP method of a probe.
	defaultMethod = http.MethodGet
	// defaultBodySizeLimit is how much of the body a probe reads: enough for TTFB, transfer
	// time and body rules (/cdn-cgi/trace), small enough not to download whole pages.
	defaultBodySizeLimit = ByteSize(64 << 10)
	// maxBodySizeLimit bounds body_size_limit: a prober that downloads big objects every few
	// seconds measures bandwidth and costs someone money, which is not what this tool is for.
	maxBodySizeLimit = ByteSize(16 << 20)
	// defaultFollowRedirects: redirects are followed, so a probe of "https://example.com/"
	// measures the page users land on.
	defaultFollowRedirects = true
	// defaultBaselineWindow is how far back the "usual PoP" (pop_probe_baseline_info) looks.
	defaultBaselineWindow = Duration(30 * time.Minute)
	// minInterval bounds interval from below: a probe per second per target is already more
	// than any CDN question needs, and an interval of nanoseconds would only burn CPU on
	// failures.
	minInterval = Duration(time.Second)
	// minTimeout bounds timeout from below: no fresh TCP+TLS exchange completes sooner.
	minTimeout = Duration(10 * time.Millisecond)
)

// Limits on what one configuration file may hold, so that no file, however large or
// hostile, can exhaust the exporter's memory or stall a reload.
const (
	// MaxFileSize is the largest configuration file Load reads: about 500,000 targets of
	// typical length, far more than one exporter can probe.
	MaxFileSize = 64 << 20
	// MaxTargets is the most targets one file may list. One replica holds about 10,000 at a
	// 30 s interval; larger fleets shard the list across replicas.
	MaxTargets = 100_000
	// maxHeaders and maxHeaderValueBytes bound the request headers of a target: enough for
	// any debug header or token a CDN asks for, never a request no server would accept.
	maxHeaders          = 64
	maxHeaderValueBytes = 8 << 10
)

// defaultIPProtocols are the IP families probed when none are set: IPv4 only, because IPv6 is
// still missing on many networks an exporter runs in and a failing ip6 probe would page someone.
// A target with resolve set probes its address's family instead.
var defaultIPProtocols = []string{"ip4"}

// The values of protocols, the protocol label values: the HTTP version a probe speaks.
const (
	ProtocolHTTP11 = "http1.1" // HTTP/1.1 over TCP and, for https, TLS
	ProtocolHTTP2  = "http2"   // HTTP/2 over TLS, negotiated with ALPN h2 (no cleartext h2c)
	ProtocolHTTP3  = "http3"   // HTTP/3 over QUIC (UDP), https only
)

// Protocols are the values protocols may list, in the order of their versions.
var Protocols = []string{ProtocolHTTP11, ProtocolHTTP2, ProtocolHTTP3}

// defaultProtocols probe HTTP/1.1 only, as every version before the protocols key did, so that
// a configuration without it keeps its series.
var defaultProtocols = []string{ProtocolHTTP11}

// Valid status codes default to none listed, which means any 2xx or 3xx (see StatusOK).

// Defaults of the exporter that are not keys of the file but belong with them, kept here so
// that the command line and the collector share one value.
const (
	// DefaultMaxConcurrency is how many probes may run at once, across all targets, unless
	// --probe.max-concurrency says otherwise.
	DefaultMaxConcurrency = 64
	// DefaultUserAgent is the User-Agent of a probe unless its target sets one; the exporter
	// sends it as DefaultUserAgent + "/" + its version.
	DefaultUserAgent = "pop_exporter"
	// MinBaselineProbes and MaxBaselineProbes bound the number of probes baseline_window
	// covers: at least 3, so one flap can never be the majority, and at most 10,000 to bound
	// memory.
	MinBaselineProbes = 3
	MaxBaselineProbes = 10000
)

// origin says where the effective value of a target's setting comes from.
type origin int

const (
	builtIn      origin = iota // neither the target nor the defaults section sets it
	fromDefaults               // the defaults section sets it
	fromTarget                 // the target sets it
)

// origin says where a target's setting comes from. target and def point to the same field of
// the target's and of the defaults section's Settings. "Sets" means written in the file, so
// an explicit "interval: 0s" stays 0 and is rejected by validation instead of silently
// replaced.
func (d *decoder) origin(target, def any) origin {
	switch {
	case d.written[target]:
		return fromTarget
	case d.written[def]:
		return fromDefaults
	}
	return builtIn
}

// inherit sets *v to the defaults section's value or to builtin unless the target set it.
func inherit[T any](d *decoder, v, def *T, builtin T) {
	switch d.origin(v, def) {
	case fromDefaults:
		*v = *def
	case builtIn:
		*v = builtin
	}
}

// applyDefaults fills the vantage and every target with their effective values. With
// applyTargetDefaults it is the one place defaults are applied, so that the collector never
// needs to look at Config.Defaults and validation sees exactly what will run. It runs before
// validation and must therefore cope with invalid values.
func applyDefaults(cfg *Config, d *decoder) {
	if cfg.Vantage.Name == "" {
		cfg.Vantage.Name = defaultVantageName
	}
	cfg.Vantage.Location = strings.ToUpper(cfg.Vantage.Location)
	applyTargetDefaults(cfg.Targets, &cfg.Defaults.Settings, d)
}

// applyTargetDefaults fills targets, decoded by d, with their effective values: a setting the
// target writes, else def's if d knows def's as written, else the built-in default. The
// targets of the configuration file and those of its target files go through here alike.
func applyTargetDefaults(targets []Target, def *Settings, d *decoder) {
	for i := range targets {
		t := &targets[i]
		inherit(d, &t.Interval, &def.Interval, defaultInterval)
		inherit(d, &t.Timeout, &def.Timeout, min(maxDefaultTimeout, t.Interval*8/10))
		inherit(d, &t.Method, &def.Method, defaultMethod)
		t.Method = strings.ToUpper(t.Method)
		t.Headers = mergeHeaders(def.Headers, t.Headers)
		inherit(d, &t.BodySizeLimit, &def.BodySizeLimit, defaultBodySizeLimit)
		follow := defaultFollowRedirects
		inherit(d, &t.FollowRedirects, &def.FollowRedirects, &follow)
		follow = *t.FollowRedirects // unshare the defaults' pointer
		t.FollowRedirects = &follow
		inherit(d, &t.FollowRedirectsHeaders, &def.FollowRedirectsHeaders, false)
		inherit(d, &t.ValidStatusCodes, &def.ValidStatusCodes, nil)
		inherit(d, &t.BaselineWindow, &def.BaselineWindow, defaultBaselineWindow)
		inherit(d, &t.SourceAddress, &def.SourceAddress, "")
		// A target's own dns_server or resolve says how it resolves: the defaults' resolvers
		// are not inherited then (dns_server is short for a resolvers list of its own; a
		// pinned address asks no resolver).
		if t.DNSServer == "" && t.Resolve == "" {
			inherit(d, &t.Resolvers, &def.Resolvers, nil)
		}
		t.Resolvers = slices.Clone(t.Resolvers)

		// A pinned address can only be reached over its own family, so unless the target
		// itself lists ip_protocols, the address decides.
		if addr, err := netip.ParseAddr(t.Resolve); err == nil && !d.written[&t.IPProtocols] {
			t.IPProtocols = []string{ipProtocolOf(addr)}
		} else {
			inherit(d, &t.IPProtocols, &def.IPProtocols, defaultIPProtocols)
		}
		inherit(d, &t.Protocols, &def.Protocols, defaultProtocols)
		// Copy shared slices so that changing one target's slice cannot change another's.
		t.IPProtocols = slices.Clone(t.IPProtocols)
		t.Protocols = slices.Clone(t.Protocols)
		t.ValidStatusCodes = slices.Clone(t.ValidStatusCodes)
		if len(t.ValidStatusCodes) == 0 {
			t.ValidStatusCodes = nil
		}

		for j, p := range t.ExpectedPoPs {
			t.ExpectedPoPs[j] = strings.ToUpper(p)
		}
		if c := t.Content; c != nil {
			if !d.written[&c.VersionFrom] {
				c.VersionFrom = slices.Clone(VersionParts)
			}
			if !d.written[&c.PropagationWindow] {
				c.PropagationWindow = DefaultPropagationWindow
			}
		}
	}
}

// writtenSettings lists the indexes of the fields of s that d decoded from the file.
func (d *decoder) writtenSettings(s *Settings) []int {
	v := reflect.ValueOf(s).Elem()
	var set []int
	for i := range v.NumField() {
		if d.written[v.Field(i).Addr().Interface()] {
			set = append(set, i)
		}
	}
	return set
}

// markWritten records the fields of s at the indexes set as written, so that d's origin and
// validation treat them as the file of s wrote them: how a target file's decoder learns which
// defaults the configuration file sets.
func (d *decoder) markWritten(s *Settings, set []int) {
	v := reflect.ValueOf(s).Elem()
	for _, i := range set {
		d.written[v.Field(i).Addr().Interface()] = true
	}
}

// mergeHeaders returns the default headers overlaid with the target's. Names compare
// case-insensitively, as HTTP does, and are stored canonicalised ("user-agent" →
// "User-Agent") so that a target's "user-agent" replaces the defaults' "User-Agent" instead
// of sending both.
func mergeHeaders(defaults, target map[string]string) map[string]string {
	if len(defaults) == 0 && len(target) == 0 {
		return nil
	}
	out := make(map[string]string, len(defaults)+len(target))
	for k, v := range defaults {
		out[http.CanonicalHeaderKey(k)] = v
	}
	for k, v := range target {
		out[http.CanonicalHeaderKey(k)] = v
	}
	return out
}

func ipProtocolOf(addr netip.Addr) string {
	if addr.Unmap().Is4() {
		return "ip4"
	}
	return "ip6"
}

// StatusOK reports whether a response status counts as success: one of valid_status_codes,
// or any 2xx or 3xx when the list is empty.
func (s *Settings) StatusOK(code int) bool {
	if len(s.ValidStatusCodes) == 0 {
		return code >= 200 && code <= 399
	}
	return slices.Contains(s.ValidStatusCodes, code)
}
