// Package config is the YAML configuration of pop_exporter: its schema, defaults, validation
// and loading, and the embedded default configuration used when no file is given.
package config

import (
	"crypto/x509"
	"net/url"
	"time"

	"github.com/popexporter/pop_exporter/collector/edge"
)

// Config is a whole, validated configuration file.
type Config struct {
	Vantage  Vantage  `yaml:"vantage"`
	Defaults Defaults `yaml:"defaults"`
	Targets  []Target `yaml:"targets"`
	Rules    []Rule   `yaml:"rules"`

	// File is the path the config was loaded from ("<embedded default>" for the default).
	File string `yaml:"-"`
}

// Vantage says where this exporter stands.
type Vantage struct {
	Name      string   `yaml:"name"`     // value of the vantage label; default "default"
	Location  string   `yaml:"location"` // IATA airport or metro code, uppercase after load; known to geo
	Latitude  *float64 `yaml:"latitude"`
	Longitude *float64 `yaml:"longitude"`
}

// Defaults are applied to every target that does not set its own value. Parse leaves this
// section as written; the effective values are on each Target.
type Defaults struct {
	Interval         Duration          `yaml:"interval"`           // default 30s
	Timeout          Duration          `yaml:"timeout"`            // default min(10s, 80% of interval)
	IPProtocols      []string          `yaml:"ip_protocols"`       // default [ip4]
	Headers          map[string]string `yaml:"headers"`            // merged under target headers
	Method           string            `yaml:"method"`             // default GET
	BodySizeLimit    ByteSize          `yaml:"body_size_limit"`    // default 64KiB, at most 16MiB
	FollowRedirects  *bool             `yaml:"follow_redirects"`   // default true
	ValidStatusCodes []int             `yaml:"valid_status_codes"` // default none: any 2xx or 3xx
	BaselineWindow   Duration          `yaml:"baseline_window"`    // default 30m
}

// Target is one URL to probe. After loading, every field holds its effective value
// (defaults applied), so the collector never looks at Defaults: FollowRedirects is never nil,
// IPProtocols never empty, Method uppercase, Headers keys canonical (nil when none), and
// ValidStatusCodes nil means any 2xx or 3xx (see StatusOK).
type Target struct {
	Name             string            `yaml:"name"`
	URL              string            `yaml:"url"`
	Interval         Duration          `yaml:"interval"`
	Timeout          Duration          `yaml:"timeout"`
	Method           string            `yaml:"method"`
	Headers          map[string]string `yaml:"headers"`
	BodySizeLimit    ByteSize          `yaml:"body_size_limit"`
	FollowRedirects  *bool             `yaml:"follow_redirects"`
	ValidStatusCodes []int             `yaml:"valid_status_codes"`
	IPProtocols      []string          `yaml:"ip_protocols"` // each "ip4" or "ip6"
	Resolve          string            `yaml:"resolve"`      // IP to connect to instead of DNS
	DNSServer        string            `yaml:"dns_server"`   // host:port of a resolver; "" = system
	TLS              TLSConfig         `yaml:"tls"`
	ExpectedPoPs     []string          `yaml:"expected_pops"` // uppercase after load
	MaxDistanceKM    float64           `yaml:"max_distance_km"`
	BaselineWindow   Duration          `yaml:"baseline_window"`

	// ParsedURL is URL parsed and validated (scheme http or https, host set).
	ParsedURL *url.URL `yaml:"-"`
}

// TLSConfig are the TLS options of a target.
type TLSConfig struct {
	ServerName         string `yaml:"server_name"`
	CAFile             string `yaml:"ca_file"` // relative paths are resolved against the config file's directory
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`

	// RootCAs holds the certificates of CAFile (nil when CAFile is empty), read once at load
	// time so that an unreadable file is a config error, not a probe failure.
	RootCAs *x509.CertPool `yaml:"-"`
}

// Rule is a user PoP rule, tried before the built-in ones.
type Rule struct {
	CDN         string            `yaml:"cdn"`
	Header      string            `yaml:"header"`
	Regex       string            `yaml:"regex"`
	CacheHeader string            `yaml:"cache_header"`
	CacheValues map[string]string `yaml:"cache_values"`

	// Compiled is the validated rule, ready for edge.NewIdentifier.
	Compiled *edge.UserRule `yaml:"-"`
}

// Duration is a time.Duration written as a Prometheus-style string ("15s", "1m30s").
type Duration time.Duration

// ByteSize is a size in bytes written as "64KiB", "1MiB", "512" or "2KB".
type ByteSize int64
