package config

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Resolver names and transports.
const (
	// SystemResolver is the name of the implicit resolver of a target that configures none,
	// and the server value that means the operating system's resolver.
	SystemResolver = "system"
	// DNSServerResolver is the resolver name that dns_server, the short form of one resolver,
	// gets.
	DNSServerResolver = "default"

	TransportUDP   = "udp"   // UDP, again over TCP when the answer is truncated
	TransportTCP   = "tcp"   // TCP only
	TransportHTTPS = "https" // DNS over HTTPS (RFC 8484)
)

// transports are the values of a resolver's transport.
var transports = []string{TransportUDP, TransportTCP, TransportHTTPS}

// The longest EDNS Client Subnet source prefixes a resolver may send: what the large public
// resolvers send at most (Google Public DNS and others truncate client addresses to /24 and
// /56), and what RFC 7871 section 11.1 recommends, so that a probe never reveals more of a
// client than a real resolver would and its answers are the ones real clients get.
const (
	MaxECSBitsIPv4 = 24
	MaxECSBitsIPv6 = 56
)

// CompiledResolver is a resolver of a target as its probes use it. The zero value is the
// system resolver.
type CompiledResolver struct {
	Name      string         // the resolver label value; "" means SystemResolver
	Transport string         // TransportUDP, TransportTCP or TransportHTTPS; "" for the system resolver
	Addr      string         // host:port of a udp or tcp server, the port defaulted to 53
	URL       *url.URL       // the https:// URL of a DNS-over-HTTPS server
	ECS       netip.Prefix   // the client subnet sent, address masked to the prefix; invalid: none
	RootCAs   *x509.CertPool // DNS over HTTPS: the roots its certificate is verified with; nil: the system's
}

// systemOnly is the resolvers of a target that configures none.
var systemOnly = []CompiledResolver{{Name: SystemResolver}}

// System says whether r is the operating system's resolver.
func (r CompiledResolver) System() bool { return r.Transport == "" }

// CompileResolvers returns the effective resolvers of a validated target: its resolvers, else
// its dns_server as a udp resolver named DNSServerResolver, else the system resolver.
// DNS-over-HTTPS resolvers verify with the system roots; validation adds the target's
// tls.ca_file to them.
func CompileResolvers(t *Target) []CompiledResolver {
	list := t.Resolvers
	switch {
	case len(list) > 0:
	case t.DNSServer != "":
		list = []Resolver{{Name: DNSServerResolver, Server: t.DNSServer}}
	default:
		return systemOnly[:1:1] // shared by every target that configures no resolver; never written
	}
	out := make([]CompiledResolver, len(list))
	for i, r := range list {
		c := CompiledResolver{Name: r.Name, Transport: resolverTransport(r)}
		switch c.Transport {
		case "":
		case TransportHTTPS:
			c.URL, _ = url.Parse(r.Server) // validated
		default:
			c.Addr = withDNSPort(r.Server)
		}
		if p, err := netip.ParsePrefix(r.ECS); err == nil {
			c.ECS = p.Masked()
		}
		out[i] = c
	}
	return out
}

// resolverTransport is the effective transport of r: "" for the system resolver, https for an
// https:// server without a transport, udp for any other.
func resolverTransport(r Resolver) string {
	switch {
	case r.Server == SystemResolver:
		return ""
	case r.Transport != "":
		return r.Transport
	case strings.HasPrefix(r.Server, "https://"):
		return TransportHTTPS
	}
	return TransportUDP
}

// withDNSPort returns host:port with port 53 when s, a validated server, names none.
func withDNSPort(s string) string {
	if _, _, err := net.SplitHostPort(s); err == nil {
		return s
	}
	return net.JoinHostPort(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), "53")
}

// hostnamePattern is a DNS name a resolver's server may be given by.
var hostnamePattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?\.?$`)

// checkResolverAddr checks a udp or tcp server: host or host:port, host an IP address or a
// DNS name.
func checkResolverAddr(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), "53"
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("invalid port %q", port)
	}
	if _, err := netip.ParseAddr(host); err != nil && !hostnamePattern.MatchString(host) {
		return fmt.Errorf("%q is not an IP address or a host name", host)
	}
	return nil
}

// validateResolvers checks the resolvers list written at path.
func validateResolvers(d *decoder, path string, list []Resolver) error {
	if len(list) == 0 {
		return d.at(path, "must list at least one resolver (leave the key out for the system resolver)")
	}
	for j, r := range list {
		p := path + "[" + strconv.Itoa(j) + "]"
		switch {
		case r.Name == "":
			return d.at(p+".name", "name is required")
		case !namePattern.MatchString(r.Name):
			return d.at(p+".name", "invalid name %q: must match %s", r.Name, namePattern)
		}
		if k := slices.IndexFunc(list[:j], func(o Resolver) bool { return o.Name == r.Name }); k >= 0 {
			first := d.node(path + "[" + strconv.Itoa(k) + "].name")
			return d.at(p+".name", "duplicate resolver name %q (first at line %d)", r.Name, first.Line)
		}
		if r.Transport != "" && !slices.Contains(transports, r.Transport) {
			return d.at(p+".transport", "unknown transport %q (want udp, tcp or https)", r.Transport)
		}
		if err := checkResolverServer(r); err != nil {
			return d.at(p+".server", "%w", err)
		}
		// The resolver label names the resolver on every series, and "system" is what a target
		// without resolvers gets for the operating system's: it may name nothing else.
		if r.Name == SystemResolver && r.Server != SystemResolver {
			return d.at(p+".name", "the name %q means the operating system's resolver; a resolver with server %q needs another name", r.Name, r.Server)
		}
		if r.Server == SystemResolver && r.Transport != "" {
			return d.at(p+".transport", "the system resolver has no transport of its own")
		}
		if r.ECS != "" {
			if err := checkECS(r); err != nil {
				return d.at(p+".ecs", "%w", err)
			}
		}
	}
	return nil
}

// checkResolverServer checks the server of r against its transport.
func checkResolverServer(r Resolver) error {
	isURL := strings.Contains(r.Server, "://")
	switch t := resolverTransport(r); {
	case r.Server == "":
		return errors.New("server is required: host:port, an https:// URL, or system")
	case t == "":
		return nil
	case t == TransportHTTPS:
		u, err := url.Parse(r.Server)
		if err != nil || u.Scheme != "https" || u.Hostname() == "" {
			return fmt.Errorf("transport https needs an https:// URL such as https://dns.example/dns-query, got %q", r.Server)
		}
		return nil
	case isURL:
		return fmt.Errorf("%q is a URL, which only transport https takes (want host:port for %s)", r.Server, t)
	}
	if err := checkResolverAddr(r.Server); err != nil {
		return fmt.Errorf("%q is not host:port: %w", r.Server, err)
	}
	return nil
}

// checkECS checks the ecs prefix of r.
func checkECS(r Resolver) error {
	if r.Server == SystemResolver {
		return errors.New("the system resolver cannot send an EDNS Client Subnet option")
	}
	p, err := netip.ParsePrefix(r.ECS)
	if err != nil {
		return fmt.Errorf("invalid prefix %q: want an address and a length such as 203.0.113.0/24 or 2001:db8::/56", r.ECS)
	}
	family, most := 4, MaxECSBitsIPv4
	if p.Addr().Is6() {
		family, most = 6, MaxECSBitsIPv6
	}
	if p.Bits() > most {
		return fmt.Errorf("source prefix /%d is longer than /%d, the most sent for an IPv%d client subnet (as public resolvers do)", p.Bits(), most, family)
	}
	return nil
}

// dohRootCAs is the pool DNS-over-HTTPS resolvers of a target verify with when the target has
// a tls.ca_file: the system roots plus that file's certificates, so that a public DoH server
// and a private one under the target's CA both verify.
func dohRootCAs(pem []byte) *x509.CertPool {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	pool.AppendCertsFromPEM(pem)
	return pool
}
