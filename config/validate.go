package config

import (
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/popexporter/pop_exporter/collector/edge"
	"github.com/popexporter/pop_exporter/collector/geo"
	"gopkg.in/yaml.v3"
)

var (
	// Names become the target and vantage label values: keep them short and free of
	// characters that would need escaping in PromQL or in a URL.
	namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`)
	// expected_pops are compared with the pop label, whose values match ^[A-Z0-9]{2,16}$.
	popPattern = regexp.MustCompile(`^[A-Za-z0-9]{2,16}$`)
)

// probeMethods are the methods a probe may use. CONNECT and TRACE are left out: neither
// returns a response a CDN caches or identifies itself in.
var probeMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"}

// ipProtocols are the values of ip_protocols.
var ipProtocols = []string{"ip4", "ip6"}

// validate checks a configuration after applyDefaults and finishes what needs checking to
// compute (parsed URL, compiled rules, CA pool). It returns the first problem found, in the
// order vantage, defaults, targets, rules.
func validate(cfg *Config, d *decoder) error {
	if err := validateVantage(&cfg.Vantage, d); err != nil {
		return err
	}
	def := cfg.Defaults
	if err := validateShared(d, "defaults", shared{
		interval: def.Interval, timeout: def.Timeout, method: strings.ToUpper(def.Method),
		bodySizeLimit: def.BodySizeLimit, validStatusCodes: def.ValidStatusCodes,
		ipProtocols: def.IPProtocols, baselineWindow: def.BaselineWindow,
	}); err != nil {
		return err
	}
	if len(cfg.Targets) == 0 {
		return d.at("targets", "at least one target is required")
	}
	firstName := map[string]int{} // target name → index of the first target using it
	for i := range cfg.Targets {
		if err := validateTarget(cfg, i, d, firstName); err != nil {
			return err
		}
	}
	for i := range cfg.Rules {
		if err := compileRule(&cfg.Rules[i], fmt.Sprintf("rules[%d]", i), d); err != nil {
			return err
		}
	}
	return nil
}

func validateVantage(v *Vantage, d *decoder) error {
	if !namePattern.MatchString(v.Name) {
		return d.at("vantage.name", "invalid name %q: must match %s", v.Name, namePattern)
	}
	hasLat, hasLon := v.Latitude != nil, v.Longitude != nil
	switch {
	case v.Location != "" && (hasLat || hasLon):
		return d.at("vantage.location", "set either location or latitude/longitude, not both")
	case v.Location != "":
		if _, ok := geo.Lookup("", v.Location); !ok {
			return d.at("vantage.location", "unknown IATA code %q", v.Location)
		}
	case hasLat && !hasLon:
		return d.at("vantage.latitude", "latitude requires longitude")
	case hasLon && !hasLat:
		return d.at("vantage.longitude", "longitude requires latitude")
	case hasLat:
		// Written as !(in range) so that NaN is rejected too.
		if lat := *v.Latitude; !(lat >= -90 && lat <= 90) {
			return d.at("vantage.latitude", "latitude %v is outside [-90, 90]", lat)
		}
		if lon := *v.Longitude; !(lon >= -180 && lon <= 180) {
			return d.at("vantage.longitude", "longitude %v is outside [-180, 180]", lon)
		}
	}
	return nil
}

// shared are the settings a target and the defaults section both have.
type shared struct {
	interval, timeout, baselineWindow Duration
	method                            string
	bodySizeLimit                     ByteSize
	validStatusCodes                  []int
	ipProtocols                       []string
}

// validateShared checks, one field at a time, the shared settings written under prefix
// ("defaults" or "targets[i]"). Fields not written there are skipped: their values come from
// elsewhere and are checked there.
func validateShared(d *decoder, prefix string, s shared) error {
	field := func(name string) (string, bool) {
		p := prefix + "." + name
		return p, d.set(p)
	}
	for _, dur := range []struct {
		name string
		v    Duration
	}{{"interval", s.interval}, {"timeout", s.timeout}, {"baseline_window", s.baselineWindow}} {
		if p, ok := field(dur.name); ok && dur.v <= 0 {
			return d.at(p, "must be positive, got %s", dur.v)
		}
	}
	if p, ok := field("method"); ok && !slices.Contains(probeMethods, s.method) {
		return d.at(p, "unsupported method %q (want one of %s)", s.method, strings.Join(probeMethods, ", "))
	}
	if err := validateHeaders(d, prefix+".headers"); err != nil {
		return err
	}
	if p, ok := field("body_size_limit"); ok && (s.bodySizeLimit <= 0 || s.bodySizeLimit > MaxBodySizeLimit) {
		return d.at(p, "must be between 1 and %s, got %s", MaxBodySizeLimit, s.bodySizeLimit)
	}
	if p, ok := field("valid_status_codes"); ok {
		for j, code := range s.validStatusCodes {
			if code < 100 || code > 599 {
				return d.at(fmt.Sprintf("%s[%d]", p, j), "status code %d is outside 100-599", code)
			}
		}
	}
	if p, ok := field("ip_protocols"); ok {
		if len(s.ipProtocols) == 0 {
			return d.at(p, "must list ip4, ip6 or both")
		}
		for j, proto := range s.ipProtocols {
			pj := fmt.Sprintf("%s[%d]", p, j)
			if !slices.Contains(ipProtocols, proto) {
				return d.at(pj, "unknown IP protocol %q (want ip4 or ip6)", proto)
			}
			if slices.Contains(s.ipProtocols[:j], proto) {
				return d.at(pj, "duplicate IP protocol %q", proto)
			}
		}
	}
	return nil
}

// validateHeaders checks the header map written at path (if any) on its YAML nodes, because
// after merging the names are canonicalised and the lines are gone.
func validateHeaders(d *decoder, path string) error {
	n, ok := d.nodes[path]
	if !ok || n.Kind != yaml.MappingNode {
		return nil
	}
	pairs, err := d.pairs(n, path)
	if err != nil {
		return err
	}
	seen := map[string]*yaml.Node{}
	for _, p := range pairs {
		name := p.key.Value
		hp := joinPath(path, name)
		if !validHeaderName(name) {
			return d.errorf(p.key, hp, "invalid header name %q", name)
		}
		if prev, dup := seen[strings.ToLower(name)]; dup {
			return d.errorf(p.key, hp, "duplicate header %q (header names are case-insensitive; first at line %d)", name, prev.Line)
		}
		seen[strings.ToLower(name)] = p.key
		if v := resolveAlias(p.value); !validHeaderValue(v.Value) {
			return d.errorf(v, hp, "invalid header value %q: control characters are not allowed", v.Value)
		}
	}
	return nil
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// validHeaderValue rejects control characters other than tab: a CR or LF would split the
// request (header injection) and net/http refuses to send them anyway, mid-probe.
func validHeaderValue(s string) bool {
	for _, c := range []byte(s) {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func validateTarget(cfg *Config, i int, d *decoder, firstName map[string]int) error {
	t := &cfg.Targets[i]
	p := fmt.Sprintf("targets[%d]", i)
	from := func(field string) string { return source(d, i, field) }

	switch {
	case t.Name == "":
		return d.at(p+".name", "name is required")
	case !namePattern.MatchString(t.Name):
		return d.at(p+".name", "invalid name %q: must match %s", t.Name, namePattern)
	}
	if j, dup := firstName[t.Name]; dup {
		first := d.node(fmt.Sprintf("targets[%d].name", j))
		return d.at(p+".name", "duplicate target name %q (first at line %d)", t.Name, first.Line)
	}
	firstName[t.Name] = i

	u, err := parseTargetURL(t.URL)
	if err != nil {
		return d.at(p+".url", "%w", err)
	}
	t.ParsedURL = u

	if err := validateShared(d, p, shared{
		interval: t.Interval, timeout: t.Timeout, method: t.Method,
		bodySizeLimit: t.BodySizeLimit, validStatusCodes: t.ValidStatusCodes,
		ipProtocols: t.IPProtocols, baselineWindow: t.BaselineWindow,
	}); err != nil {
		return err
	}
	if t.Timeout >= t.Interval {
		// A probe still running when the next is due would overlap it or delay the schedule.
		return orderError(d, p, "timeout", t.Timeout, from("timeout"), "interval", t.Interval, from("interval"), "shorter than", "longer than")
	}
	if t.BaselineWindow < t.Interval {
		// The "usual PoP" over a window shorter than one interval would be a single probe.
		return orderError(d, p, "baseline_window", t.BaselineWindow, from("baseline_window"), "interval", t.Interval, from("interval"), "at least", "at most")
	}

	if t.Resolve != "" {
		addr, err := netip.ParseAddr(t.Resolve)
		if err != nil {
			return d.at(p+".resolve", "invalid IP address %q", t.Resolve)
		}
		family := ipProtocolOf(addr)
		for _, proto := range t.IPProtocols {
			if proto != family {
				return d.at(p+".resolve", "address %s is %s, but ip_protocols lists %s", t.Resolve, family, proto)
			}
		}
	}
	if t.DNSServer != "" {
		if err := checkHostPort(t.DNSServer); err != nil {
			return d.at(p+".dns_server", "%q is not host:port: %w", t.DNSServer, err)
		}
	}
	if t.TLS.CAFile != "" {
		if err := loadCAFile(&t.TLS, cfg.File); err != nil {
			return d.at(p+".tls.ca_file", "%w", err)
		}
	}
	for j, pop := range t.ExpectedPoPs {
		pj := fmt.Sprintf("%s.expected_pops[%d]", p, j)
		if !popPattern.MatchString(pop) {
			return d.at(pj, "invalid PoP code %q: must match %s", pop, popPattern)
		}
		if slices.Contains(t.ExpectedPoPs[:j], pop) {
			return d.at(pj, "duplicate PoP code %q", pop)
		}
	}
	if km := t.MaxDistanceKM; math.IsNaN(km) || math.IsInf(km, 0) || km < 0 {
		return d.at(p+".max_distance_km", "must be a number >= 0, got %v", km)
	}
	return nil
}

// orderError reports that a and b, two settings of target p, are in the wrong order. The
// error goes where the user can fix it: on a if the target set a, else on b if the target set
// b, else on a in the defaults section; it names where the other value came from when that
// is not the target itself.
func orderError(d *decoder, p, aName string, a Duration, aFrom, bName string, b Duration, bFrom, aRel, bRel string) error {
	origin := func(from string) string {
		switch {
		case from == "":
			return " (built-in default)"
		case strings.HasPrefix(from, p+"."):
			return ""
		}
		return " (" + from + ")"
	}
	switch {
	case strings.HasPrefix(aFrom, p+"."):
		return d.at(aFrom, "%s %s must be %s %s %s%s", aName, a, aRel, bName, b, origin(bFrom))
	case strings.HasPrefix(bFrom, p+"."):
		return d.at(bFrom, "%s %s must be %s %s %s%s", bName, b, bRel, aName, a, origin(aFrom))
	case aFrom != "":
		return d.at(aFrom, "%s %s must be %s %s %s%s", aName, a, aRel, bName, b, origin(bFrom))
	}
	return d.at(bFrom, "%s %s must be %s %s %s%s", bName, b, bRel, aName, a, origin(aFrom))
}

// parseTargetURL parses a probe URL: absolute, http or https, with a host.
func parseTargetURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("url is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("unsupported scheme %q in %q (want http or https)", u.Scheme, raw)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("URL %q has no host", raw)
	}
	return u, nil
}

// checkHostPort checks a resolver address such as "1.1.1.1:53" or "[2606:4700::1111]:53".
func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return err
	}
	if host == "" {
		return errors.New("empty host")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("invalid port %q", port)
	}
	return nil
}

// loadCAFile resolves tls.ca_file against the config file's directory (as Prometheus does,
// so a config and its CA can move together), reads it and keeps the pool, so a probe never
// fails later on a CA file that was fine at load time.
func loadCAFile(tc *TLSConfig, configFile string) error {
	if !filepath.IsAbs(tc.CAFile) && configFile != DefaultFile {
		tc.CAFile = filepath.Join(filepath.Dir(configFile), tc.CAFile)
	}
	pem, err := os.ReadFile(tc.CAFile)
	if err != nil {
		return fmt.Errorf("cannot read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("no PEM certificate found in %s", tc.CAFile)
	}
	tc.RootCAs = pool
	return nil
}

// ruleFields are the keys of a rule; an error from edge.CompileRule that starts with one of
// them is placed on that key's line.
var ruleFields = []string{"cache_values", "cache_header", "cdn", "header", "regex"}

// compileRule compiles a user rule with the edge package, which owns what a valid rule is.
func compileRule(r *Rule, path string, d *decoder) error {
	compiled, err := edge.CompileRule(edge.RuleSpec{
		CDN:         r.CDN,
		Header:      r.Header,
		Regex:       r.Regex,
		CacheHeader: r.CacheHeader,
		CacheValues: r.CacheValues,
	})
	if err != nil {
		field := path
		for _, f := range ruleFields {
			if rest, ok := strings.CutPrefix(err.Error(), f); ok && (rest == "" || strings.ContainsRune(" :[\"", rune(rest[0]))) {
				field = path + "." + f
				break
			}
		}
		return d.at(field, "%w", err)
	}
	r.Compiled = compiled
	return nil
}
