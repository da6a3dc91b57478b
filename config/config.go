// Package config is the YAML configuration of pop_exporter: its schema, defaults, validation
// and loading, and the embedded default configuration used when no file is given.
//
// The schema types (Config and what it holds) are plain values: two loads of the same file
// give targets that reflect.DeepEqual finds equal, which is how a reload tells unchanged
// targets. What Parse builds from them to run them (parsed URLs, CA pools, compiled rules) is
// kept apart, in Config.Compiled.
//
// It imports collector/edge (user PoP rules are compiled by the package that runs them) and
// collector/geo (vantage.location must be a known code), and nothing that probes, schedules
// or records: those build on config, not the other way round.
package config

import (
	"crypto/x509"
	"net/url"
	"regexp"
	"time"

	"github.com/popexporter/pop_exporter/collector/edge"
)

// Config is a whole, validated configuration file.
type Config struct {
	Vantage  Vantage  `yaml:"vantage,omitempty"`
	Defaults Defaults `yaml:"defaults,omitempty"`
	Targets  []Target `yaml:"targets"`
	// TargetFiles are glob patterns (filepath.Match syntax), relative to the directory of
	// File, of files that each hold a YAML list of further targets (see ParseTargetFile).
	// Parse checks the patterns but reads none of the files: they change without a reload of
	// this file, and whoever runs the targets reads them.
	TargetFiles []string `yaml:"target_files,omitempty"`
	Rules       []Rule   `yaml:"rules,omitempty"`

	// File is the path the config was loaded from ("<embedded default>" for the default).
	File string `yaml:"-"`
	// Compiled is what Parse built from the validated values; see Compiled.
	Compiled Compiled `yaml:"-"`

	// defaultsSet lists the indexes of the Settings fields that the defaults section writes:
	// a target file's targets inherit exactly those, as the file's own targets do.
	defaultsSet []int
	// nameLines[i] is the line of Targets[i]'s name, for errors about a name used again in
	// a target file.
	nameLines []int
}

// Vantage says where this exporter stands.
type Vantage struct {
	Name      string   `yaml:"name,omitempty"`     // value of the vantage label; default "default"
	Location  string   `yaml:"location,omitempty"` // IATA airport or metro code, uppercase after load; known to geo
	Latitude  *float64 `yaml:"latitude,omitempty"`
	Longitude *float64 `yaml:"longitude,omitempty"`
}

// Settings are the keys that both the defaults section and each target have. A target's
// effective value of each is its own if it sets it, else the defaults section's if that sets
// it, else the built-in default (see applyDefaults); headers are merged instead.
type Settings struct {
	Interval    Duration `yaml:"interval,omitempty"`     // default 30s
	Timeout     Duration `yaml:"timeout,omitempty"`      // default min(10s, 80% of interval)
	IPProtocols []string `yaml:"ip_protocols,omitempty"` // each "ip4" or "ip6"; default [ip4]
	// Protocols are the HTTP versions the target is probed with, each a probe of its own
	// (label protocol): ProtocolHTTP11, ProtocolHTTP2, ProtocolHTTP3; default [http1.1].
	Protocols       []string          `yaml:"protocols,omitempty"`
	Headers         map[string]string `yaml:"headers,omitempty"`          // the defaults' are merged under the target's
	Method          string            `yaml:"method,omitempty"`           // default GET
	BodySizeLimit   ByteSize          `yaml:"body_size_limit,omitempty"`  // default 64KiB, at most 16MiB
	FollowRedirects *bool             `yaml:"follow_redirects,omitempty"` // default true
	// FollowRedirectsHeaders sends the configured headers on redirects to another host too;
	// by default they go to the target's own host only (see the prober's Spec.redirect).
	FollowRedirectsHeaders bool     `yaml:"follow_redirects_headers,omitempty"`
	ValidStatusCodes       []int    `yaml:"valid_status_codes,omitempty"` // default none: any 2xx or 3xx
	BaselineWindow         Duration `yaml:"baseline_window,omitempty"`    // default 30m
	// SourceAddress is the local IP address probes connect from, like blackbox_exporter's
	// source_ip_address: a multi-homed host (several uplinks, a VPN) is one vantage per
	// address. "" lets the system choose. Its family must be the probes' (ip_protocols).
	SourceAddress string `yaml:"source_address,omitempty"`
	// Resolvers are the DNS resolvers the target is probed through, each a probe of its own
	// (label resolver). Empty: the target's dns_server, else the system resolver (see
	// CompileResolvers). A target that sets resolve or dns_server does not inherit them.
	Resolvers []Resolver `yaml:"resolvers,omitempty"`
}

// Resolver is one named DNS resolver of the resolvers list.
type Resolver struct {
	Name string `yaml:"name"` // value of the resolver label; unique within the list
	// Server is host[:port] (port 53 when left out), an https:// URL (DNS over HTTPS), or
	// "system" for the operating system's resolver.
	Server    string `yaml:"server"`
	Transport string `yaml:"transport,omitempty"` // udp (default), tcp or https; https by default for an https:// server
	ECS       string `yaml:"ecs,omitempty"`       // EDNS Client Subnet prefix (RFC 7871) sent with every query
}

// Defaults is the defaults section, applied to every target that does not set its own value.
// Parse leaves it as written; the effective values are on each Target.
type Defaults struct {
	Settings `yaml:",inline"`
}

// Target is one URL to probe. After loading, every field holds its effective value
// (defaults applied), so the collector never looks at Defaults: FollowRedirects is never nil,
// IPProtocols and Protocols never empty, Method uppercase, Headers keys canonical (nil when none), and
// ValidStatusCodes nil means any 2xx or 3xx (see StatusOK).
type Target struct {
	Name string `yaml:"name"`
	URL  string `yaml:"url"` // http or https, with a host; parsed in Compiled

	Settings `yaml:",inline"`

	Resolve       string    `yaml:"resolve,omitempty"`       // IP to connect to instead of DNS
	DNSServer     string    `yaml:"dns_server,omitempty"`    // host:port of a resolver, short for resolvers: [{name: default, server: …}]
	TLS           TLSConfig `yaml:"tls,omitempty"`           // server_name, ca_file, insecure_skip_verify
	ExpectedPoPs  []string  `yaml:"expected_pops,omitempty"` // uppercase after load
	MaxDistanceKM float64   `yaml:"max_distance_km,omitempty"`
	// Content, when set, records a version of the object each probe gets (see Content).
	Content *Content `yaml:"content,omitempty"`
	// FailIfBodyMatchesRegexp and FailIfBodyNotMatchesRegexp are blackbox_exporter's body
	// checks, with its semantics: the probe fails if any of the first list matches the body
	// read (up to body_size_limit), or if any of the second does not. Compiled in
	// CompiledTarget.
	FailIfBodyMatchesRegexp    []string `yaml:"fail_if_body_matches_regexp,omitempty"`
	FailIfBodyNotMatchesRegexp []string `yaml:"fail_if_body_not_matches_regexp,omitempty"`
}

// Content is a target's content section: the response's parts that make the version of the
// object a probe got, and how long the target's probes may disagree on it (while a purge or
// a publication reaches every PoP) before they count as inconsistent. Present (even empty:
// `content: {}`) turns content versions on for the target.
type Content struct {
	// VersionFrom lists the parts of a response its version is made of: etag,
	// last_modified and body (a hash of the body read); default all three.
	VersionFrom []string `yaml:"version_from,omitempty"`
	// PropagationWindow is how long the target's probes may serve different versions; at
	// least the interval; default 10m.
	PropagationWindow Duration `yaml:"propagation_window,omitempty"`
}

// The values of content.version_from.
const (
	VersionETag         = "etag"
	VersionLastModified = "last_modified"
	VersionBody         = "body"
)

// VersionParts are the values content.version_from accepts, in the order a version hashes them.
var VersionParts = []string{VersionETag, VersionLastModified, VersionBody}

// DefaultPropagationWindow is content.propagation_window when not set.
const DefaultPropagationWindow = Duration(10 * time.Minute)

// TLSConfig are the TLS options of a target.
type TLSConfig struct {
	ServerName         string `yaml:"server_name,omitempty"`
	CAFile             string `yaml:"ca_file,omitempty"` // relative paths are resolved against the config file's directory at load
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify,omitempty"`
}

// Rule is a user PoP rule, tried before the built-in ones; compiled in Compiled.Rules.
type Rule struct {
	CDN         string            `yaml:"cdn"`
	Header      string            `yaml:"header"`
	Regex       string            `yaml:"regex"`
	CacheHeader string            `yaml:"cache_header,omitempty"`
	CacheValues map[string]string `yaml:"cache_values,omitempty"`
}

// Compiled is what Parse builds from a validated configuration to run it, once, at load time:
// so that a bad URL or an unreadable CA file is a config error with its line, not a probe
// failure, and so that the schema types stay plain values.
type Compiled struct {
	Targets []CompiledTarget // Targets[i] belongs to Config.Targets[i]
	Rules   []*edge.UserRule // Rules[i] is Config.Rules[i] compiled, in order, for edge.NewIdentifier
}

// CompiledTarget is what the probes of a target need beyond its settings.
type CompiledTarget struct {
	URL     *url.URL       // Target.URL parsed: scheme http or https, host set
	RootCAs *x509.CertPool // the certificates of TLS.CAFile; nil when it is empty (system roots)
	// Resolvers are the target's effective resolvers, each a probe of its own: never empty
	// (see CompileResolvers).
	Resolvers []CompiledResolver
	// FailIfBodyMatches and FailIfBodyNotMatches are the target's body regexps, compiled.
	FailIfBodyMatches, FailIfBodyNotMatches []*regexp.Regexp
}

// Duration is a time.Duration written as a Prometheus-style string ("15s", "1m30s").
type Duration time.Duration

// ByteSize is a size in bytes written as "64KiB", "1MiB", "512" or "2KB".
type ByteSize int64
