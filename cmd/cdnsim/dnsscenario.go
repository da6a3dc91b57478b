package main

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
	"gopkg.in/yaml.v3"

	"github.com/popexporter/pop_exporter/config"
)

// DNSSpec is the scenario's optional dns section: an authoritative server for Zone on
// loopback that answers <target>.<Zone> with the address of a region, chosen by the resolver
// that asked (the cdnsim address the query arrived on) or by the EDNS Client Subnet it
// forwarded (RFC 7871). cdnsim serves HTTP and HTTPS on every region address too, and a target
// with `pops: {dns: true}` answers as the PoP of the region whose address the request reached,
// the way CDNs steer clients by DNS.
type DNSSpec struct {
	// Zone is the zone served; default cdnsim.test (RFC 6761 reserves .test).
	Zone string `yaml:"zone"`
	// TTL of every record, whole seconds; default 5s.
	TTL Duration `yaml:"ttl"`
	// Regions maps a region's PoP code to its address in 127.0.0.0/8.
	Regions map[string]string `yaml:"regions"`
	// Resolvers are the addresses DNS is served on, one per simulated resolver, and the
	// region each sends its clients to.
	Resolvers []*DNSResolver `yaml:"resolvers"`
	// ECS are client subnets that override the resolver's region.
	ECS []*ECSRule `yaml:"ecs"`

	zone        string                // fully qualified, lower case
	ttl         uint32                // seconds
	regionCodes []string              // sorted
	regionAddr  map[string]netip.Addr // PoP code -> address
	addrRegion  map[netip.Addr]string // address -> PoP code
	reached     []string              // sorted regions the resolvers and ECS entries lead to
	regionLines map[string]int
	line        int
}

// DNSResolver is one simulated resolver: queries arriving on Listen are answered for Region.
type DNSResolver struct {
	// Name is the resolver label the exporter config gives it; default the region in lower case.
	Name string `yaml:"name"`
	// Listen is the loopback address DNS (UDP and TCP) is served on.
	Listen string `yaml:"listen"`
	// Region is the region (a key of regions) its clients are sent to.
	Region string `yaml:"region"`
	// Transport is copied to the exporter config: udp (default) or tcp; cdnsim serves both.
	Transport string `yaml:"transport"`

	addr netip.Addr
	line int
}

// ECSRule sends queries whose EDNS Client Subnet lies in Subnet to Region, answering with
// the scope prefix length Scope.
type ECSRule struct {
	// Name is the resolver label of the exporter config's resolver that sends this subnet;
	// default "ecs-" and the region in lower case.
	Name string `yaml:"name"`
	// Subnet is the client network (203.0.113.0/24, 2001:db8::/48).
	Subnet string `yaml:"subnet"`
	// Region is the region (a key of regions) its clients are sent to.
	Region string `yaml:"region"`
	// Scope is the SCOPE PREFIX-LENGTH of the answers; default the subnet's prefix length.
	Scope *int `yaml:"scope"`

	prefix netip.Prefix
	scope  int
	line   int
}

// defaultZone is the zone served when the dns section names none.
const defaultZone = "cdnsim.test"

// loopback4 is where region addresses must lie: the A records point there, and on Linux
// every address of it is local without setup.
var loopback4 = netip.MustParsePrefix("127.0.0.0/8")

// mapValue returns the value node of key in a mapping node, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// setLines records the lines of the dns section's entries for validation errors.
func (d *DNSSpec) setLines(doc *yaml.Node) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return
	}
	n := mapValue(doc.Content[0], "dns")
	if n == nil {
		return
	}
	d.line = n.Line
	d.regionLines = map[string]int{}
	if r := mapValue(n, "regions"); r != nil && r.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(r.Content); i += 2 {
			d.regionLines[r.Content[i].Value] = r.Content[i].Line
		}
	}
	if r := mapValue(n, "resolvers"); r != nil && r.Kind == yaml.SequenceNode {
		for i, item := range r.Content {
			if i < len(d.Resolvers) && d.Resolvers[i] != nil {
				d.Resolvers[i].line = item.Line
			}
		}
	}
	if r := mapValue(n, "ecs"); r != nil && r.Kind == yaml.SequenceNode {
		for i, item := range r.Content {
			if i < len(d.ECS) && d.ECS[i] != nil {
				d.ECS[i].line = item.Line
			}
		}
	}
}

// validate checks the dns section and fills in its defaults. Errors carry the line of the
// entry at fault.
func (d *DNSSpec) validate() error {
	d.Zone = strings.ToLower(strings.TrimSuffix(d.Zone, "."))
	if d.Zone == "" {
		d.Zone = defaultZone
	}
	if _, ok := dns.IsDomainName(d.Zone); !ok || !strings.Contains(d.Zone, ".") {
		return fmt.Errorf("line %d: dns: zone %q is not a domain name of two labels or more", d.line, d.Zone)
	}
	d.zone = dns.Fqdn(d.Zone)
	if d.TTL == 0 {
		d.TTL = Duration(5 * time.Second)
	}
	if ttl := time.Duration(d.TTL); ttl%time.Second != 0 || ttl > 24*time.Hour {
		return fmt.Errorf("line %d: dns: ttl %s is not a whole number of seconds up to 24h", d.line, ttl)
	}
	d.ttl = uint32(time.Duration(d.TTL) / time.Second)

	if len(d.Regions) == 0 {
		return fmt.Errorf("line %d: dns: regions: at least one region is required", d.line)
	}
	d.regionCodes = slices.Sorted(maps.Keys(d.Regions))
	d.regionAddr = make(map[string]netip.Addr, len(d.Regions))
	d.addrRegion = make(map[netip.Addr]string, len(d.Regions))
	for _, code := range d.regionCodes {
		raw := d.Regions[code]
		a, err := netip.ParseAddr(raw)
		if err != nil || !a.Is4() || !loopback4.Contains(a) {
			return fmt.Errorf("line %d: dns: regions: %s: %q is not an IPv4 address in %s", d.regionLines[code], code, raw, loopback4)
		}
		if other, dup := d.addrRegion[a]; dup {
			return fmt.Errorf("line %d: dns: regions: %s: address %s is already region %s's", d.regionLines[code], code, a, other)
		}
		d.regionAddr[code] = a
		d.addrRegion[a] = code
	}

	if len(d.Resolvers) == 0 {
		return fmt.Errorf("line %d: dns: resolvers: at least one resolver is required", d.line)
	}
	names := map[string]int{}
	checkName := func(name *string, dflt string, line int, field string) error {
		if *name == "" {
			*name = dflt
		}
		if !vantageNameRE.MatchString(*name) {
			return fmt.Errorf("line %d: dns: %s: name %q must match %s", line, field, *name, vantageNameRE)
		}
		if prev, dup := names[*name]; dup {
			return fmt.Errorf("line %d: dns: %s: name %q already used on line %d (each resolver and ecs entry needs its own name)", line, field, *name, prev)
		}
		names[*name] = line
		return nil
	}
	reached := map[string]bool{}
	listens := map[netip.Addr]int{}
	for i, r := range d.Resolvers {
		if r == nil {
			return fmt.Errorf("line %d: dns: resolvers: entry #%d is empty", d.line, i+1)
		}
		a, err := netip.ParseAddr(r.Listen)
		if err != nil || a.Zone() != "" || !a.Unmap().IsLoopback() {
			return fmt.Errorf("line %d: dns: resolvers: listen %q is not a loopback address", r.line, r.Listen)
		}
		r.addr = a.Unmap()
		if prev, dup := listens[r.addr]; dup {
			return fmt.Errorf("line %d: dns: resolvers: listen %s is already used on line %d", r.line, r.addr, prev)
		}
		listens[r.addr] = r.line
		if err := d.checkRegion(r.Region); err != nil {
			return fmt.Errorf("line %d: dns: resolvers: %w", r.line, err)
		}
		switch r.Transport {
		case "", "udp", "tcp":
		default:
			return fmt.Errorf("line %d: dns: resolvers: transport %q is not udp or tcp (cdnsim serves DNS over UDP and TCP only)", r.line, r.Transport)
		}
		if err := checkName(&r.Name, strings.ToLower(r.Region), r.line, "resolvers"); err != nil {
			return err
		}
		reached[r.Region] = true
	}

	subnets := map[netip.Prefix]int{}
	for i, e := range d.ECS {
		if e == nil {
			return fmt.Errorf("line %d: dns: ecs: entry #%d is empty", d.line, i+1)
		}
		p, err := netip.ParsePrefix(e.Subnet)
		if err != nil || p.Addr().Zone() != "" {
			return fmt.Errorf("line %d: dns: ecs: subnet %q is not a prefix such as 203.0.113.0/24", e.line, e.Subnet)
		}
		if p.Addr().Is4In6() {
			return fmt.Errorf("line %d: dns: ecs: subnet %q: write IPv4 subnets in IPv4 form", e.line, e.Subnet)
		}
		// The exporter's config carries the subnet as the resolver's client subnet, and the
		// exporter sends none longer than public resolvers do.
		most := config.MaxECSBitsIPv4
		if p.Addr().Is6() {
			most = config.MaxECSBitsIPv6
		}
		if p.Bits() > most {
			return fmt.Errorf("line %d: dns: ecs: subnet %s is longer than an exporter sends (at most /%d)", e.line, p, most)
		}
		e.prefix = p.Masked()
		if prev, dup := subnets[e.prefix]; dup {
			return fmt.Errorf("line %d: dns: ecs: subnet %s is already used on line %d", e.line, e.prefix, prev)
		}
		subnets[e.prefix] = e.line
		if err := d.checkRegion(e.Region); err != nil {
			return fmt.Errorf("line %d: dns: ecs: %w", e.line, err)
		}
		e.scope = e.prefix.Bits()
		if e.Scope != nil {
			e.scope = *e.Scope
		}
		if e.scope < 0 || e.scope > e.prefix.Bits() {
			return fmt.Errorf("line %d: dns: ecs: scope %d is not between 0 and the prefix length of %s", e.line, e.scope, e.prefix)
		}
		if err := checkName(&e.Name, "ecs-"+strings.ToLower(e.Region), e.line, "ecs"); err != nil {
			return err
		}
		reached[e.Region] = true
	}
	d.reached = slices.Sorted(maps.Keys(reached))
	return nil
}

// checkRegion reports an error unless code is one of the regions.
func (d *DNSSpec) checkRegion(code string) error {
	if _, ok := d.regionAddr[code]; !ok {
		return fmt.Errorf("region %q is not one of the regions (%s)", code, strings.Join(d.regionCodes, ", "))
	}
	return nil
}

// fallbackRegion is the PoP of a DNS-steered target for a request that came in on no region
// address (the main listener): the first resolver's, as if that request had been resolved
// through it.
func (d *DNSSpec) fallbackRegion() string { return d.Resolvers[0].Region }

// regionFor decides which region answers a query that arrived on resolver (an index of
// Resolvers) with the client subnet prefix (bits 0 when the query carried none or asked for
// no subnet to be used). The most specific ECS entry holding the client subnet wins and its
// scope is returned; otherwise the resolver's region answers, with scope 0 (RFC 7871 §7.2.1:
// the answer does not depend on the client's network).
func (d *DNSSpec) regionFor(resolver int, client netip.Prefix) (region string, scope int) {
	best := -1
	if client.IsValid() && client.Bits() > 0 {
		for i, e := range d.ECS {
			if e.prefix.Addr().Is4() != client.Addr().Is4() || e.prefix.Bits() > client.Bits() || !e.prefix.Contains(client.Addr()) {
				continue
			}
			if best < 0 || e.prefix.Bits() > d.ECS[best].prefix.Bits() {
				best = i
			}
		}
	}
	if best >= 0 {
		return d.ECS[best].Region, d.ECS[best].scope
	}
	return d.Resolvers[resolver].Region, 0
}

// hostname is the name a target answers to in the zone.
func (d *DNSSpec) hostname(target string) string {
	return strings.ToLower(target) + "." + d.Zone
}

// certNames are the names and addresses the HTTPS certificate must also cover with a dns
// section: every name of the zone (a wildcard, plus the target names of more than one label
// the wildcard cannot match) and the region addresses.
func certNames(sc *Scenario) []string {
	d := sc.DNS
	out := []string{"*." + d.Zone}
	for _, t := range sc.Targets {
		if strings.Contains(t.Name, ".") {
			out = append(out, d.hostname(t.Name))
		}
	}
	for _, code := range d.regionCodes {
		out = append(out, d.regionAddr[code].String())
	}
	return out
}
