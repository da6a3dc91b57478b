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
	"time"

	"github.com/popexporter/pop_exporter/collector/edge"
	"github.com/popexporter/pop_exporter/collector/geo"
	"gopkg.in/yaml.v3"
)

// Names become the target and vantage label values: keep them short and free of characters
// that would need escaping in PromQL or in a URL.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`)

// probeMethods are the methods a probe may use. CONNECT and TRACE are left out: neither
// returns a response a CDN caches or identifies itself in.
var probeMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"}

// ipProtocols are the values of ip_protocols.
var ipProtocols = []string{"ip4", "ip6"}

// validate checks a configuration after applyDefaults and fills cfg.Compiled with what needs
// checking to compute (parsed URLs, CA pools, compiled rules). It returns every problem found
// (up to MaxErrors, with those decoding found), leaving out the parts that did not decode
// whole and the targets when the defaults they inherit are wrong: what follows from one
// mistake is not reported as another.
func validate(cfg *Config, d *decoder) error {
	errs := &d.errs
	if !d.tainted("vantage") {
		errs.add(validateVantage(&cfg.Vantage, d))
	}
	defaultsOK := !d.tainted("defaults")
	if defaultsOK {
		if err := validateSettings(d, "defaults", &cfg.Defaults.Settings); err != nil {
			errs.add(err)
			defaultsOK = false
		}
	}
	if len(cfg.Targets) == 0 && len(cfg.TargetFiles) == 0 && !d.tainted("targets") && !d.tainted("target_files") {
		errs.add(d.at("targets", "at least one target is required"))
	}
	list := targetList{d: d, path: "targets", def: &cfg.Defaults.Settings}
	if cfg.File != defaultFile {
		list.dir = filepath.Dir(cfg.File)
	}
	if defaultsOK {
		compiled, err := list.validate(cfg.Targets)
		errs.add(err)
		cfg.Compiled.Targets = compiled
	}
	for i, pattern := range cfg.TargetFiles {
		if err := checkPattern(pattern); err != nil {
			errs.add(d.at(fmt.Sprintf("target_files[%d]", i), "%w", err))
		}
	}
	cfg.Compiled.Rules = make([]*edge.UserRule, len(cfg.Rules))
	for i := range cfg.Rules {
		p := fmt.Sprintf("rules[%d]", i)
		if d.tainted(p) {
			continue
		}
		r, err := compileRule(&cfg.Rules[i], p, d)
		errs.add(err)
		cfg.Compiled.Rules[i] = r
	}
	return errs.err()
}

// checkPattern checks a target_files glob. filepath.Match reports a malformed pattern
// whatever the name it is matched against.
func checkPattern(pattern string) error {
	if pattern == "" {
		return errors.New("pattern must not be empty")
	}
	if _, err := filepath.Match(pattern, ""); err != nil {
		return fmt.Errorf("invalid glob %q: %w", pattern, err)
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

// validateSettings checks, one field at a time, the settings written under prefix
// ("defaults" or "targets[i]"). Fields not written there are skipped: their values come from
// elsewhere and are checked there.
func validateSettings(d *decoder, prefix string, s *Settings) error {
	// Each field is checked on its own and its first problem reported.
	var errs errorList
	for _, dur := range []struct {
		name string
		v    *Duration
		min  time.Duration
	}{{"interval", &s.Interval, time.Duration(minInterval)}, {"timeout", &s.Timeout, time.Duration(minTimeout)}, {"baseline_window", &s.BaselineWindow, 0}} {
		switch {
		case !d.written[dur.v]:
		case *dur.v <= 0:
			errs.add(d.at(prefix+"."+dur.name, "must be positive, got %s", *dur.v))
		case time.Duration(*dur.v) < dur.min:
			// time.Duration's String, not Duration's: the latter rounds "1ns" to "0s".
			errs.add(d.at(prefix+"."+dur.name, "must be at least %s, got %s", dur.min, time.Duration(*dur.v)))
		}
	}
	// The defaults section keeps the method as written; a target's is already upper-cased.
	if method := strings.ToUpper(s.Method); d.written[&s.Method] && !slices.Contains(probeMethods, method) {
		errs.add(d.at(prefix+".method", "unsupported method %q (want one of %s)", method, strings.Join(probeMethods, ", ")))
	}
	errs.add(validateHeaders(d, prefix+".headers"))
	if d.written[&s.BodySizeLimit] && (s.BodySizeLimit <= 0 || s.BodySizeLimit > maxBodySizeLimit) {
		errs.add(d.at(prefix+".body_size_limit", "must be between 1 and %s, got %s", maxBodySizeLimit, s.BodySizeLimit))
	}
	if d.written[&s.ValidStatusCodes] {
		for j, code := range s.ValidStatusCodes {
			if code < 100 || code > 599 {
				errs.add(d.at(fmt.Sprintf("%s.valid_status_codes[%d]", prefix, j), "status code %d is outside 100-599", code))
				break
			}
		}
	}
	if d.written[&s.SourceAddress] {
		if _, err := netip.ParseAddr(s.SourceAddress); err != nil {
			errs.add(d.at(prefix+".source_address", "invalid IP address %q", s.SourceAddress))
		}
	}
	if d.written[&s.Resolvers] {
		errs.add(validateResolvers(d, prefix+".resolvers", s.Resolvers))
	}
	if d.written[&s.IPProtocols] {
		errs.add(validateIPProtocols(d, prefix+".ip_protocols", s.IPProtocols))
	}
	if d.written[&s.Protocols] {
		errs.add(validateProtocols(d, prefix+".protocols", s.Protocols))
	}
	return errs.err()
}

// validateProtocols checks the protocols list written at p.
func validateProtocols(d *decoder, p string, list []string) error {
	if len(list) == 0 {
		return d.at(p, "must list at least one of %s", strings.Join(Protocols, ", "))
	}
	for j, proto := range list {
		pj := fmt.Sprintf("%s[%d]", p, j)
		if !slices.Contains(Protocols, proto) {
			return d.at(pj, "unknown protocol %q (want %s)", proto, strings.Join(Protocols, ", "))
		}
		if slices.Contains(list[:j], proto) {
			return d.at(pj, "duplicate protocol %q", proto)
		}
	}
	return nil
}

// validateIPProtocols checks the ip_protocols list written at p.
func validateIPProtocols(d *decoder, p string, list []string) error {
	if len(list) == 0 {
		return d.at(p, "must list ip4, ip6 or both")
	}
	for j, proto := range list {
		pj := fmt.Sprintf("%s[%d]", p, j)
		if !slices.Contains(ipProtocols, proto) {
			return d.at(pj, "unknown IP protocol %q (want ip4 or ip6)", proto)
		}
		if slices.Contains(list[:j], proto) {
			return d.at(pj, "duplicate IP protocol %q", proto)
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
	if len(pairs) > maxHeaders {
		return d.errorf(n, path, "%d headers, more than the limit of %d", len(pairs), maxHeaders)
	}
	seen := map[string]*yaml.Node{}
	for _, p := range pairs {
		name := p.key.Value
		hp := joinPath(path, name)
		if !edge.ValidHeaderName(name) {
			return d.errorf(p.key, hp, "invalid header name %q", name)
		}
		if prev, dup := seen[strings.ToLower(name)]; dup {
			return d.errorf(p.key, hp, "duplicate header %q (header names are case-insensitive; first at line %d)", name, prev.Line)
		}
		seen[strings.ToLower(name)] = p.key
		v := resolveAlias(p.value)
		if len(v.Value) > maxHeaderValueBytes {
			return d.errorf(v, hp, "header value is %d bytes, more than the limit of %d", len(v.Value), maxHeaderValueBytes)
		}
		if !validHeaderValue(v.Value) {
			return d.errorf(v, hp, "invalid header value %q: control characters are not allowed", v.Value)
		}
	}
	return nil
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

// targetList is a list of targets being validated: the targets: of a configuration file, or
// a target file.
type targetList struct {
	d    *decoder
	path string    // field path of the list: "targets", or "" in a target file (whose root it is)
	def  *Settings // the defaults section the targets inherit from
	dir  string    // directory that relative tls.ca_file paths are relative to; "" leaves them as they are
}

// validate checks every target of the list that decoded whole and returns what it compiled
// of each, and every independent problem of each target that has one (up to MaxErrors).
func (l targetList) validate(targets []Target) ([]CompiledTarget, error) {
	compiled := make([]CompiledTarget, len(targets))
	firstName := make(map[string]int, len(targets)) // target name → index of the first target using it
	var errs errorList
	for i := range targets {
		if l.d.tainted(l.item(i)) {
			continue
		}
		if err := l.validateTarget(targets, i, &compiled[i], firstName); err != nil && !errs.add(err) {
			errs.truncated = true
			break
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return compiled, nil
}

// item is the field path of the i-th target: "targets[2]", or "[2]" in a target file.
func (l targetList) item(i int) string {
	return l.path + "[" + strconv.Itoa(i) + "]"
}

func (l targetList) validateTarget(targets []Target, i int, compiled *CompiledTarget, firstName map[string]int) error {
	d := l.d
	p := l.item(i)
	// Every independent mistake of the target is reported; a check that reads a value found
	// wrong (the order of durations after a bad duration) is skipped, so that one mistake is
	// not reported twice.
	var errs errorList
	switch {
	case targets[i].Name == "":
		errs.add(d.at(p+".name", "name is required"))
	case !namePattern.MatchString(targets[i].Name):
		errs.add(d.at(p+".name", "invalid name %q: must match %s", targets[i].Name, namePattern))
	default:
		if j, dup := firstName[targets[i].Name]; dup {
			first := d.node(l.item(j) + ".name")
			errs.add(d.at(p+".name", "duplicate target name %q (first at line %d)", targets[i].Name, first.Line))
		} else {
			firstName[targets[i].Name] = i
		}
	}
	if u, err := parseTargetURL(targets[i].URL); err != nil {
		errs.add(d.at(p+".url", "%w", err))
	} else {
		compiled.URL = u
	}
	if err := validateSettings(d, p, &targets[i].Settings); err != nil {
		errs.add(err)
	} else {
		// These read the settings as values: only once each is known to be valid.
		errs.add(l.checkDurationOrder(targets, i))
		errs.add(l.checkAddresses(targets, i))
		errs.add(l.checkTLSAndResolvers(targets, i, compiled))
		if compiled.URL != nil {
			errs.add(l.checkProtocols(targets, i, compiled.URL))
		}
		// The content checks read the interval and method.
		errs.add(validateContent(d, p, &targets[i]))
	}
	errs.add(l.checkExpectations(targets, i))
	errs.add(l.checkBody(targets, i, compiled))
	return errs.err()
}

// checkDurationOrder checks the target's durations against each other once each is valid.
func (l targetList) checkDurationOrder(targets []Target, i int) error {
	d, t, def := l.d, &targets[i], l.def
	p := l.item(i)
	var errs errorList
	interval := setting{"interval", t.Interval, d.origin(&t.Interval, &def.Interval)}
	if t.Timeout >= t.Interval {
		// A probe still running when the next is due would overlap it or delay the schedule.
		timeout := setting{"timeout", t.Timeout, d.origin(&t.Timeout, &def.Timeout)}
		errs.add(orderError(d, p, timeout, interval, "shorter than", "longer than"))
	}
	if t.BaselineWindow < t.Interval {
		// The "usual PoP" over a window shorter than one interval would be a single probe.
		window := setting{"baseline_window", t.BaselineWindow, d.origin(&t.BaselineWindow, &def.BaselineWindow)}
		errs.add(orderError(d, p, window, interval, "at least", "at most"))
	}
	return errs.err()
}

// checkProtocols checks the target's protocols against its URL's scheme.
func (l targetList) checkProtocols(targets []Target, i int, u *url.URL) error {
	d, t, def := l.d, &targets[i], l.def
	p := l.item(i)
	j := slices.IndexFunc(t.Protocols, func(p string) bool { return p != ProtocolHTTP11 })
	if j < 0 || u.Scheme == "https" {
		return nil
	}
	// QUIC always carries TLS, and HTTP/2 is spoken over TLS only, by browsers and by the
	// probes (ALPN h2; no cleartext h2c): neither has an http:// URL.
	proto := t.Protocols[j]
	if d.origin(&t.Protocols, &def.Protocols) == fromTarget {
		return d.at(fmt.Sprintf("%s.protocols[%d]", p, j), "%s needs an https:// URL, the target's is %s://", proto, u.Scheme)
	}
	return d.at(p+".url", "%s:// URL, but protocols (from defaults) lists %s, which needs https://; set the target's own protocols", u.Scheme, proto)
}

// checkAddresses checks resolve, source_address and dns_server against the target's IP
// families and resolvers.
func (l targetList) checkAddresses(targets []Target, i int) error {
	d, t, def := l.d, &targets[i], l.def
	p := l.item(i)

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
	if t.SourceAddress != "" {
		// Parsed by validateSettings wherever it was written. A probe over the other family
		// could never connect from it.
		addr, _ := netip.ParseAddr(t.SourceAddress)
		family := ipProtocolOf(addr)
		for _, proto := range t.IPProtocols {
			if proto == family {
				continue
			}
			if d.origin(&t.SourceAddress, &def.SourceAddress) == fromTarget {
				return d.at(p+".source_address", "address %s is %s, but ip_protocols lists %s", t.SourceAddress, family, proto)
			}
			if d.defaultsFile != "" {
				// In a target file: the defaults section suits the configuration file's
				// targets; the target that inherits it is the one to fix.
				return d.at(p, "source_address %s (defaults.source_address in %s) is %s, but the target probes %s",
					t.SourceAddress, d.defaultsFile, family, proto)
			}
			return d.at("defaults.source_address", "address %s is %s, but target %q probes %s", t.SourceAddress, family, t.Name, proto)
		}
	}
	if t.DNSServer != "" {
		if err := checkHostPort(t.DNSServer); err != nil {
			return d.at(p+".dns_server", "%q is not host:port: %w", t.DNSServer, err)
		}
		if d.written[&t.Resolvers] {
			return d.at(p+".dns_server", "set either dns_server or resolvers, not both (dns_server is short for one resolver)")
		}
	}
	if t.Resolve != "" && d.written[&t.Resolvers] {
		return d.at(p+".resolvers", "resolve pins the address, so no resolver would be asked: set either resolve or resolvers")
	}
	return nil
}

// checkTLSAndResolvers compiles the target's resolvers and reads its CA file.
func (l targetList) checkTLSAndResolvers(targets []Target, i int, compiled *CompiledTarget) error {
	d, t := l.d, &targets[i]
	p := l.item(i)
	compiled.Resolvers = CompileResolvers(t)
	if t.TLS.CAFile != "" {
		// Relative to the directory of the file it is written in (as in Prometheus), so that
		// a config and its CA can move together.
		if !filepath.IsAbs(t.TLS.CAFile) && l.dir != "" {
			t.TLS.CAFile = filepath.Join(l.dir, t.TLS.CAFile)
		}
		pool, pem, err := loadCAFile(t.TLS.CAFile)
		if err != nil {
			return d.at(p+".tls.ca_file", "%w", err)
		}
		compiled.RootCAs = pool
		var doh *x509.CertPool
		for j := range compiled.Resolvers {
			if r := &compiled.Resolvers[j]; r.Transport == TransportHTTPS {
				if doh == nil {
					doh = dohRootCAs(pem)
				}
				r.RootCAs = doh
			}
		}
	}
	return nil
}

// checkExpectations checks expected_pops and max_distance_km.
func (l targetList) checkExpectations(targets []Target, i int) error {
	d, t := l.d, &targets[i]
	p := l.item(i)
	var errs errorList
	for j, pop := range t.ExpectedPoPs {
		pj := fmt.Sprintf("%s.expected_pops[%d]", p, j)
		if !edge.ValidPoPCode(pop) {
			errs.add(d.at(pj, "invalid PoP code %q: must match %s", pop, edge.PoPCodePattern))
		} else if slices.Contains(t.ExpectedPoPs[:j], pop) {
			errs.add(d.at(pj, "duplicate PoP code %q", pop))
		}
	}
	if km := t.MaxDistanceKM; math.IsNaN(km) || math.IsInf(km, 0) || km < 0 {
		errs.add(d.at(p+".max_distance_km", "must be a number >= 0, got %v", km))
	}
	return errs.err()
}

// checkBody compiles the target's body regexps; a HEAD request gets no body to match.
func (l targetList) checkBody(targets []Target, i int, compiled *CompiledTarget) error {
	d, t := l.d, &targets[i]
	p := l.item(i)
	var errs errorList
	var err error
	if compiled.FailIfBodyMatches, err = compileBodyRegexps(d, p+".fail_if_body_matches_regexp", t.FailIfBodyMatchesRegexp); err != nil {
		errs.add(err)
	}
	if compiled.FailIfBodyNotMatches, err = compileBodyRegexps(d, p+".fail_if_body_not_matches_regexp", t.FailIfBodyNotMatchesRegexp); err != nil {
		errs.add(err)
	}
	if (len(t.FailIfBodyMatchesRegexp) > 0 || len(t.FailIfBodyNotMatchesRegexp) > 0) && t.Method == "HEAD" {
		key := ".fail_if_body_matches_regexp"
		if len(t.FailIfBodyMatchesRegexp) == 0 {
			key = ".fail_if_body_not_matches_regexp"
		}
		errs.add(d.at(p+key, "a HEAD request gets no body to match: use another method"))
	}
	return errs.err()
}

// maxBodyRegexps bounds the body checks of one target: each reads the whole body read.
const maxBodyRegexps = 16

// compileBodyRegexps compiles the body regexps of key (Go's RE2 syntax, which runs in time
// linear in the body, so no pattern can stall a probe).
func compileBodyRegexps(d *decoder, key string, patterns []string) ([]*regexp.Regexp, error) {
	if len(patterns) > maxBodyRegexps {
		return nil, d.at(key, "at most %d regular expressions, got %d", maxBodyRegexps, len(patterns))
	}
	var res []*regexp.Regexp
	for j, pat := range patterns {
		re, err := regexp.Compile(pat)
		if err != nil {
			return nil, d.at(fmt.Sprintf("%s[%d]", key, j), "invalid regular expression %q: %w", pat, err)
		}
		res = append(res, re)
	}
	return res, nil
}

// validateContent checks a target's content section: known, distinct version parts, a
// propagation window of at least one interval, and a body to hash when the version needs one.
func validateContent(d *decoder, p string, t *Target) error {
	c := t.Content
	if c == nil {
		return nil
	}
	p += ".content"
	if len(c.VersionFrom) == 0 {
		return d.at(p+".version_from", "must list at least one of %s", strings.Join(VersionParts, ", "))
	}
	for j, part := range c.VersionFrom {
		pj := fmt.Sprintf("%s.version_from[%d]", p, j)
		if !slices.Contains(VersionParts, part) {
			return d.at(pj, "unknown version part %q (want %s)", part, strings.Join(VersionParts, ", "))
		}
		if slices.Contains(c.VersionFrom[:j], part) {
			return d.at(pj, "duplicate version part %q", part)
		}
		if part == VersionBody && t.Method == "HEAD" {
			return d.at(pj, "a HEAD request gets no body to hash: use another method, or leave body out")
		}
	}
	if c.PropagationWindow <= 0 {
		return d.at(p+".propagation_window", "must be positive, got %s", c.PropagationWindow)
	}
	if c.PropagationWindow < t.Interval {
		// Within one interval the probes cannot all have seen a new version yet.
		return d.at(p+".propagation_window", "propagation_window %s must be at least interval %s", c.PropagationWindow, t.Interval)
	}
	return nil
}

// setting is a target's effective value of a duration setting, and where it came from.
type setting struct {
	name  string
	value Duration
	from  origin
}

// orderError reports that a and b, two settings of target p, are in the wrong order (aRel
// says what a must be relative to b, bRel the converse). The error goes where the user can
// fix it: on a if the target set a, else on b if the target set b, else on a in the defaults
// section if set there, else on b; it names where the other value came from when that is not
// the target itself. In a target file the defaults section is in another file, where it suits
// the targets that set their own values: the error goes on the target that inherits it.
func orderError(d *decoder, p string, a, b setting, aRel, bRel string) error {
	path := func(s setting) string {
		switch s.from {
		case fromTarget:
			return p + "." + s.name
		case fromDefaults:
			return "defaults." + s.name
		}
		return ""
	}
	note := func(s setting) string {
		switch {
		case s.from == fromDefaults && d.defaultsFile != "":
			return " (defaults." + s.name + " in " + d.defaultsFile + ")"
		case s.from == fromDefaults:
			return " (defaults." + s.name + ")"
		case s.from == builtIn:
			return " (built-in default)"
		}
		return ""
	}
	x, y, rel := b, a, bRel
	if a.from == fromTarget || a.from == fromDefaults && b.from != fromTarget {
		x, y, rel = a, b, aRel
	}
	if x.from == fromDefaults && d.defaultsFile != "" {
		return d.at(p, "%s %s%s must be %s %s %s%s", x.name, x.value, note(x), rel, y.name, y.value, note(y))
	}
	return d.at(path(x), "%s %s must be %s %s %s%s", x.name, x.value, rel, y.name, y.value, note(y))
}

// parseTargetURL parses a probe URL: absolute, http or https, with a host.
func parseTargetURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("url is required")
	}
	if !strings.Contains(raw, "://") {
		// "127.0.0.1:8081/x" or "www.example.com": Go's parser would take the host for a
		// scheme or the whole for a path, and say so in its own terms.
		return nil, fmt.Errorf("URL %q has no scheme: write http://%s or https://%s", raw, raw, raw)
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

// loadCAFile reads a PEM CA bundle at load time, so that a probe never fails later on a CA
// file that was fine when the config was checked; a reload reads it again.
func loadCAFile(path string) (*x509.CertPool, []byte, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, nil, fmt.Errorf("no PEM certificate found in %s", path)
	}
	return pool, pem, nil
}

// compileRule compiles a user rule with the edge package, which owns what a valid rule is;
// its errors name the rule's field, on whose line they are placed.
func compileRule(r *Rule, path string, d *decoder) (*edge.UserRule, error) {
	compiled, err := edge.CompileRule(edge.RuleSpec{
		CDN:         r.CDN,
		Header:      r.Header,
		Regex:       r.Regex,
		CacheHeader: r.CacheHeader,
		CacheValues: r.CacheValues,
	})
	if err != nil {
		field := path
		if re, ok := errors.AsType[*edge.RuleError](err); ok {
			field = path + "." + re.Field
		}
		return nil, d.at(field, "%w", err)
	}
	return compiled, nil
}
