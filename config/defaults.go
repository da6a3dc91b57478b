package config

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Built-in defaults, used when neither a target nor the defaults section sets a value.
const (
	// DefaultVantageName is the vantage label when vantage.name is not set.
	DefaultVantageName = "default"
	// DefaultInterval is how often a target is probed: often enough to see a PoP shift within
	// a minute or two, rarely enough to be polite to endpoints we do not own.
	DefaultInterval = Duration(30 * time.Second)
	// MaxDefaultTimeout caps the implicit timeout. When no timeout is set the timeout is
	// min(MaxDefaultTimeout, 80% of the interval), leaving room for a probe to finish
	// (and be reported as a timeout) before the next one is due.
	MaxDefaultTimeout = Duration(10 * time.Second)
	// DefaultMethod is the HTTP method of a probe.
	DefaultMethod = http.MethodGet
	// DefaultBodySizeLimit is how much of the body a probe reads: enough for TTFB, transfer
	// time and body rules (/cdn-cgi/trace), small enough not to download whole pages.
	DefaultBodySizeLimit = ByteSize(64 << 10)
	// MaxBodySizeLimit bounds body_size_limit: a prober that downloads big objects every few
	// seconds measures bandwidth and costs someone money, which is not what this tool is for.
	MaxBodySizeLimit = ByteSize(16 << 20)
	// DefaultFollowRedirects: redirects are followed, so a probe of "https://example.com/"
	// measures the page users land on.
	DefaultFollowRedirects = true
	// DefaultBaselineWindow is how far back the "usual PoP" (pop_probe_baseline_info) looks.
	DefaultBaselineWindow = Duration(30 * time.Minute)
)

// DefaultIPProtocols are the IP families probed when none are set: IPv4 only, because IPv6 is
// still missing on many networks an exporter runs in and a failing ip6 probe would page someone.
// A target with resolve set probes its address's family instead.
var DefaultIPProtocols = []string{"ip4"}

// Valid status codes default to none listed, which means any 2xx or 3xx (see Target.StatusOK).

// applyDefaults fills every target with its effective values. It is the one place defaults
// are applied, so that the collector never needs to look at Config.Defaults and validation
// sees exactly what will run. Values a target sets win over the defaults section, which wins
// over the built-ins. It runs before validation and must therefore cope with invalid values.
func applyDefaults(cfg *Config, d *decoder) {
	if cfg.Vantage.Name == "" {
		cfg.Vantage.Name = DefaultVantageName
	}
	cfg.Vantage.Location = strings.ToUpper(cfg.Vantage.Location)

	def := cfg.Defaults
	for i := range cfg.Targets {
		t := &cfg.Targets[i]
		// from says where field's value comes from: the target, the defaults section, or
		// (neither set) the built-in default. "Set" means written in the file, so an explicit
		// "interval: 0s" stays 0 and is rejected by validation instead of silently replaced.
		from := func(field string) string { return source(d, i, field) }
		inherit(from("interval"), &t.Interval, def.Interval, DefaultInterval)
		inherit(from("timeout"), &t.Timeout, def.Timeout, min(MaxDefaultTimeout, t.Interval*8/10))
		inherit(from("method"), &t.Method, def.Method, DefaultMethod)
		t.Method = strings.ToUpper(t.Method)
		t.Headers = mergeHeaders(def.Headers, t.Headers)
		inherit(from("body_size_limit"), &t.BodySizeLimit, def.BodySizeLimit, DefaultBodySizeLimit)
		follow := DefaultFollowRedirects
		inherit(from("follow_redirects"), &t.FollowRedirects, def.FollowRedirects, &follow)
		follow = *t.FollowRedirects // unshare the defaults' pointer
		t.FollowRedirects = &follow
		inherit(from("valid_status_codes"), &t.ValidStatusCodes, def.ValidStatusCodes, nil)
		inherit(from("baseline_window"), &t.BaselineWindow, def.BaselineWindow, DefaultBaselineWindow)

		// A pinned address can only be reached over its own family, so unless the target
		// itself lists ip_protocols, the address decides.
		builtinIP := DefaultIPProtocols
		ipFrom := from("ip_protocols")
		if addr, err := netip.ParseAddr(t.Resolve); err == nil && !strings.HasPrefix(ipFrom, "targets[") {
			ipFrom, builtinIP = "", []string{ipProtocolOf(addr)}
		}
		inherit(ipFrom, &t.IPProtocols, def.IPProtocols, builtinIP)
		// Copy shared slices so that changing one target's slice cannot change another's.
		t.IPProtocols = append([]string(nil), t.IPProtocols...)
		t.ValidStatusCodes = append([]int(nil), t.ValidStatusCodes...)
		if len(t.ValidStatusCodes) == 0 {
			t.ValidStatusCodes = nil
		}

		for j, p := range t.ExpectedPoPs {
			t.ExpectedPoPs[j] = strings.ToUpper(p)
		}
	}
}

// source returns the path of the field that sets targets[i].<field>: the target's own,
// "defaults.<field>", or "" when the built-in default applies.
func source(d *decoder, i int, field string) string {
	if p := fmt.Sprintf("targets[%d].%s", i, field); d.set(p) {
		return p
	}
	if p := "defaults." + field; d.set(p) {
		return p
	}
	return ""
}

// inherit sets *v from the defaults section or the built-in default unless from says the
// target set it itself.
func inherit[T any](from string, v *T, def, builtin T) {
	switch {
	case strings.HasPrefix(from, "targets["):
	case from != "":
		*v = def
	default:
		*v = builtin
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

// StatusOK reports whether a response status counts as success for this target: one of
// valid_status_codes, or any 2xx or 3xx when the list is empty.
func (t *Target) StatusOK(code int) bool {
	if len(t.ValidStatusCodes) == 0 {
		return code >= 200 && code <= 399
	}
	for _, c := range t.ValidStatusCodes {
		if c == code {
			return true
		}
	}
	return false
}
