package main

import (
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/popexporter/pop_exporter/collector/geo"
)

// Vantage is a simulated client network: requests whose source address is in Source are
// answered the way the scenario's targets show themselves to this vantage. On loopback every
// address of 127.0.0.0/8 is local, so exporters bound to 127.0.0.2, 127.0.0.3, … play offices
// in different regions against one cdnsim.
type Vantage struct {
	// Name is the vantage label of the exporter config printed for this vantage.
	Name string `yaml:"name"`
	// Source is the client address (127.0.0.2) or network (127.0.2.0/24) of the vantage.
	Source string `yaml:"source"`
	// Location is where the vantage stands (an IATA code), for the printed exporter config.
	Location string `yaml:"location"`
	// UDP "drop" makes the HTTP/3 listeners ignore every datagram from the vantage, as a
	// network that blocks UDP does (many corporate firewalls pass only DNS): QUIC never
	// gets an answer there, while TCP works.
	UDP string `yaml:"udp"`
	// HTTP2 false makes the HTTPS listeners refuse h2 in ALPN for the vantage: the edge that
	// serves its network speaks HTTP/1.1 only.
	HTTP2 *bool `yaml:"http2"`

	prefix netip.Prefix
	line   int
}

// VantageView is how one vantage sees a target. Unset fields fall back to the target's own.
type VantageView struct {
	// PoPs is the timeline of the PoPs answering this vantage; unset, the target's.
	PoPs Timeline `yaml:"pops"`
	// TTFB is looked up before the target's ttfb: this PoP, then "default" here, then the
	// target's entry for the PoP, then the target's "default".
	TTFB map[string]TTFBSpec `yaml:"ttfb"`
}

// vantageNameRE is the exporter's rule for vantage.name, so a printed config always loads.
var vantageNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`)

func (s *Scenario) validateVantages() error {
	seen := make(map[string]*Vantage, len(s.Vantages))
	for i, v := range s.Vantages {
		if v == nil {
			return fmt.Errorf("vantage #%d is empty", i+1)
		}
		if err := v.validate(); err != nil {
			return fmt.Errorf("line %d: vantage %q: %w", v.line, v.Name, err)
		}
		if prev, dup := seen[v.Name]; dup {
			return fmt.Errorf("line %d: vantage %q: name already used on line %d", v.line, v.Name, prev.line)
		}
		seen[v.Name] = v
		for _, o := range s.Vantages[:i] {
			if o.prefix.Overlaps(v.prefix) {
				// A request must map to one vantage: an overlap would make it depend on order.
				return fmt.Errorf("line %d: vantage %q: source %s overlaps %s of vantage %q (line %d)", v.line, v.Name, v.prefix, o.prefix, o.Name, o.line)
			}
		}
	}
	return nil
}

func (v *Vantage) validate() error {
	if !vantageNameRE.MatchString(v.Name) {
		return fmt.Errorf("name must match %s", vantageNameRE)
	}
	p, err := parseSource(v.Source)
	if err != nil {
		return err
	}
	v.prefix = p
	if v.UDP != "" && v.UDP != "drop" {
		return fmt.Errorf("udp must be drop or unset, not %q", v.UDP)
	}
	v.Location = strings.ToUpper(v.Location)
	if v.Location != "" && !geo.Known(v.Location) {
		return fmt.Errorf("location %q is not a code the exporter's geo table knows", v.Location)
	}
	return nil
}

// parseSource reads an address or a prefix; an address is the prefix of that address alone.
func parseSource(src string) (netip.Prefix, error) {
	if src == "" {
		return netip.Prefix{}, fmt.Errorf("source is required (an address such as 127.0.0.2, or a prefix)")
	}
	if strings.Contains(src, "/") {
		p, err := netip.ParsePrefix(src)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("source %q is neither an IP address nor a prefix", src)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(src)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("source %q is neither an IP address nor a prefix", src)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// sourceAddress is the address an exporter of this vantage binds to: the address itself, or
// the first host of a prefix.
func (v *Vantage) sourceAddress() netip.Addr {
	a := v.prefix.Addr()
	if v.prefix.Bits() < a.BitLen() {
		a = a.Next()
	}
	return a
}

// resolveViews checks the target's per-vantage views against the scenario's vantages and
// lays them out by vantage index for the request path. d is the scenario's dns section.
func (t *Target) resolveViews(vantages []*Vantage, d *DNSSpec) error {
	t.views = nil
	if len(t.Vantages) == 0 {
		return nil
	}
	index := make(map[string]int, len(vantages))
	for i, v := range vantages {
		index[v.Name] = i
	}
	t.views = make([]*VantageView, len(vantages))
	for _, name := range slices.Sorted(maps.Keys(t.Vantages)) {
		i, ok := index[name]
		if !ok {
			var names []string
			for _, v := range vantages {
				names = append(names, v.Name)
			}
			return fmt.Errorf("vantages: %q is not a vantage of the scenario (%s)", name, strings.Join(names, ", "))
		}
		view := t.Vantages[name]
		if view == nil {
			view = &VantageView{}
		}
		pops, whose := t.PoPs.allPoPs(), "target's"
		if !view.PoPs.isZero() {
			if err := view.PoPs.validate(t.vendor, d); err != nil {
				return fmt.Errorf("vantages: %s: pops: %w", name, err)
			}
			pops, whose = view.PoPs.allPoPs(), "vantage's"
		}
		if err := validateTTFB(view.TTFB, pops, whose); err != nil {
			return fmt.Errorf("vantages: %s: %w", name, err)
		}
		t.views[i] = view
	}
	return nil
}

// view returns how vantage v (an index of Scenario.Vantages, -1 for none) sees the target,
// or nil when it sees the target's defaults.
func (t *Target) view(v int) *VantageView {
	if v < 0 || v >= len(t.views) {
		return nil
	}
	return t.views[v]
}

// timeline is the PoP timeline vantage v sees.
func (t *Target) timeline(v int) *Timeline {
	if view := t.view(v); view != nil && !view.PoPs.isZero() {
		return &view.PoPs
	}
	return &t.PoPs
}

// quicTimeline is the PoP timeline of an HTTP/3 request of vantage v: the target's quic_pops
// when set, else what the vantage sees over TCP.
func (t *Target) quicTimeline(v int) *Timeline {
	if t.QUICPoPs != nil {
		return t.QUICPoPs
	}
	return t.timeline(v)
}

// vantageOf maps a client address ("127.0.0.2:41234", as in http.Request.RemoteAddr) to the
// index of its vantage, or -1 when it belongs to none.
func vantageOf(vantages []*Vantage, remoteAddr string) int {
	if len(vantages) == 0 {
		return -1
	}
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return -1
	}
	a := ap.Addr().Unmap()
	for i, v := range vantages {
		if v.prefix.Contains(a) {
			return i
		}
	}
	return -1
}
