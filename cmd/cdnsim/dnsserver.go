package main

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// dnsServer answers authoritatively for the scenario's zone. One handler per resolver
// address tells the resolvers apart: a real authoritative server would see each resolver's
// source address, but here the exporter talks to cdnsim directly, so the address the query
// arrived on plays that part.
type dnsServer struct {
	spec   *DNSSpec
	names  map[string]bool // fully qualified lower-case names of the targets
	apex   []string        // the targets' names, for the zone's TXT records
	logger *slog.Logger
}

// newDNSServer prepares the zone of a scenario with a dns section.
func newDNSServer(sc *Scenario, logger *slog.Logger) *dnsServer {
	d := &dnsServer{spec: sc.DNS, names: make(map[string]bool, len(sc.Targets)), logger: logger}
	for _, t := range sc.Targets {
		name := dns.Fqdn(sc.DNS.hostname(t.Name))
		if !d.names[name] {
			d.names[name] = true
			d.apex = append(d.apex, sc.DNS.hostname(t.Name))
		}
	}
	return d
}

// ednsSize is the UDP payload size cdnsim advertises (the DNS Flag Day 2020 value).
const ednsSize = 1232

// handler serves the resolver of index resolver (of DNSSpec.Resolvers).
func (d *dnsServer) handler(resolver int) dns.Handler {
	return dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := d.answer(req, resolver)
		size := dns.MaxMsgSize
		if _, udp := w.LocalAddr().(*net.UDPAddr); udp {
			// RFC 6891 §6.2.5: the requester's advertised size, 512 without EDNS; Truncate
			// drops records that do not fit and sets TC so that the client retries over TCP.
			size = dns.MinMsgSize
			if opt := req.IsEdns0(); opt != nil {
				size = int(opt.UDPSize())
			}
		}
		m.Truncate(size)
		if err := w.WriteMsg(m); err != nil {
			d.logger.Debug("dns write failed", "client", w.RemoteAddr(), "err", err)
		}
		if d.logger.Enabled(context.Background(), slog.LevelDebug) && len(req.Question) > 0 {
			d.logger.Debug("dns query", "resolver", d.spec.Resolvers[resolver].Name, "client", w.RemoteAddr(),
				"name", req.Question[0].Name, "type", dns.TypeToString[req.Question[0].Qtype],
				"rcode", dns.RcodeToString[m.Rcode], "answers", len(m.Answer), "truncated", m.Truncated)
		}
	})
}

// answer builds the reply to req arriving on resolver: the region's address for a target's A
// query, no data for other types (IPv4 is all cdnsim steers by), NXDOMAIN for other names in
// the zone, REFUSED outside it. With an EDNS Client Subnet option the reply echoes it with the
// scope of the decision (RFC 7871).
func (d *dnsServer) answer(req *dns.Msg, resolver int) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = false
	reqOpt := req.IsEdns0()
	if reqOpt != nil {
		m.SetEdns0(ednsSize, false)
		if reqOpt.Version() != 0 {
			m.Rcode = dns.RcodeBadVers // RFC 6891 §6.1.3
			return m
		}
	}
	if req.Opcode != dns.OpcodeQuery {
		m.Rcode = dns.RcodeNotImplemented
		return m
	}
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		return m
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	spec := d.spec
	if q.Qclass != dns.ClassINET || !dns.IsSubDomain(spec.zone, name) {
		m.Rcode = dns.RcodeRefused
		return m
	}
	m.Authoritative = true

	var client netip.Prefix
	var ecs *dns.EDNS0_SUBNET
	if reqOpt != nil {
		for _, o := range reqOpt.Option {
			if e, ok := o.(*dns.EDNS0_SUBNET); ok {
				ecs = e
			}
		}
	}
	if ecs != nil {
		if ecs.SourceScope != 0 {
			m.Rcode = dns.RcodeFormatError // RFC 7871 §6: SCOPE must be 0 in queries
			return m
		}
		if a, ok := netip.AddrFromSlice(ecs.Address); ok && ecs.Family != 0 {
			if ecs.Family == 1 {
				a = a.Unmap()
			}
			client = netip.PrefixFrom(a, int(ecs.SourceNetmask)).Masked()
		}
	}
	region, scope := spec.regionFor(resolver, client)
	if ecs != nil {
		// Family, source prefix length and address exactly as asked; only the scope is ours.
		m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_SUBNET{
			Code:          dns.EDNS0SUBNET,
			Family:        ecs.Family,
			SourceNetmask: ecs.SourceNetmask,
			SourceScope:   uint8(scope),
			Address:       ecs.Address,
		})
	}

	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: q.Name, Rrtype: t, Class: dns.ClassINET, Ttl: spec.ttl}
	}
	switch {
	case name == spec.zone && q.Qtype == dns.TypeSOA:
		m.Answer = append(m.Answer, d.soa())
	case name == spec.zone && q.Qtype == dns.TypeTXT:
		// The zone's contents, one TXT record per target name, like the HTTP index page.
		for _, n := range d.apex {
			m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: []string{n}})
		}
	case d.names[name] && q.Qtype == dns.TypeA:
		m.Answer = append(m.Answer, &dns.A{Hdr: hdr(dns.TypeA), A: spec.regionAddr[region].AsSlice()})
	case name == spec.zone || d.names[name]:
		m.Ns = append(m.Ns, d.soa()) // NODATA, negative caching per RFC 2308
	default:
		m.Rcode = dns.RcodeNameError
		m.Ns = append(m.Ns, d.soa())
	}
	return m
}

// soa is the zone's SOA record; its minimum (the negative-caching TTL) is the record TTL.
func (d *dnsServer) soa() *dns.SOA {
	z := d.spec.zone
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: z, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: d.spec.ttl},
		Ns:      "ns." + z,
		Mbox:    "hostmaster." + z,
		Serial:  1,
		Refresh: 3600,
		Retry:   600,
		Expire:  86400,
		Minttl:  d.spec.ttl,
	}
}

// startDNS serves srv (its PacketConn or Listener already bound) and returns once it is
// serving, so that a shutdown right after cannot race its start.
func startDNS(srv *dns.Server) error {
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	errc := make(chan error, 1)
	go func() { errc <- srv.ActivateAndServe() }()
	select {
	case <-started:
		return nil
	case err := <-errc:
		return err
	}
}
