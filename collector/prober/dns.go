package prober

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/miekg/dns"

	"github.com/popexporter/pop_exporter/config"
)

// A configured resolver (every one but the system's) is asked directly with
// github.com/miekg/dns, so that its answer, not only the addresses in it, is seen: the rcode,
// and the scope of an EDNS Client Subnet (RFC 7871) answer. Each lookup is a fresh query on a
// fresh connection: no cache, no connection kept, as for the probe itself.

const (
	// ednsUDPSize is the UDP payload size advertised in the OPT record: the DNS Flag Day 2020
	// value, which avoids IP fragmentation on any path.
	ednsUDPSize = 1232
	// maxDoHResponse bounds the body of a DNS-over-HTTPS answer read: the largest DNS message.
	maxDoHResponse = 65535
	// dohMediaType is the media type of DNS messages over HTTPS (RFC 8484 section 6).
	dohMediaType = "application/dns-message"
)

// DNSAnswer is what the resolver of a probe answered for the target's own host name, on the
// probe's first request: the basis of pop_probe_dns_answer_info.
type DNSAnswer struct {
	// Answered is true when the resolver gave an answer: addresses, or a configured resolver's
	// error rcode. A lookup that timed out or could not reach the resolver answered nothing.
	Answered bool
	// Addr is the address the probe connected to (the first answered that accepted the
	// connection), or the first address answered when none did; invalid when there was none.
	Addr netip.Addr
	// Rcode is the DNS response code ("NOERROR", "NXDOMAIN", "SERVFAIL", …); "" for the system
	// resolver, which does not expose it.
	Rcode string
	// ECSScope is the scope prefix length of the EDNS Client Subnet option of the answer; ""
	// when the answer carried none.
	ECSScope string
}

// dnsResolver is a configured resolver of a probe.
type dnsResolver struct {
	name      string
	transport string // config.TransportUDP, TransportTCP or TransportHTTPS
	addr      string // host:port, udp and tcp
	url       string // https
	ecs       netip.Prefix
	qtype     uint16       // A or AAAA, by the probe's IP family
	client    *http.Client // https
	timeout   time.Duration
}

// newDNSResolver prepares the configured resolver r for the probe s.
func newDNSResolver(s *Spec, r config.CompiledResolver) *dnsResolver {
	d := &dnsResolver{name: r.Name, transport: r.Transport, addr: r.Addr, ecs: r.ECS, qtype: dns.TypeA,
		timeout: time.Duration(s.Target.Timeout)}
	if s.network == "tcp6" {
		d.qtype = dns.TypeAAAA
	}
	if r.Transport == config.TransportHTTPS {
		d.url = r.URL.String()
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			nd := net.Dialer{LocalAddr: s.localAddr(network, addr), KeepAlive: -1}
			return nd.DialContext(ctx, network, addr)
		}
		d.client = &http.Client{
			Timeout: d.timeout, // and the request carries the probe's deadline
			Transport: &http.Transport{
				DialContext:       dial,
				TLSClientConfig:   &tls.Config{RootCAs: r.RootCAs},
				DisableKeepAlives: true, // a fresh connection per lookup, as for the probe
				ForceAttemptHTTP2: true, // RFC 8484 section 5.2: HTTP/2 is the minimum recommended
			},
			// A DNS-over-HTTPS server answers where it is asked.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return d
}

// ecsOption is the EDNS Client Subnet option of prefix p (RFC 7871 section 6): family 1 or 2,
// the source prefix length, scope 0, and the address truncated to the prefix, as many bytes
// as the prefix covers with the bits past it zero.
func ecsOption(p netip.Prefix) *dns.EDNS0_SUBNET {
	p = p.Masked()
	e := &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 2, SourceNetmask: uint8(p.Bits()), Address: net.IP(p.Addr().AsSlice())}
	if p.Addr().Is4() {
		e.Family = 1
	}
	return e
}

// ecsScope returns the scope prefix length of the EDNS Client Subnet option of m, "" when m
// carries none.
func ecsScope(m *dns.Msg) string {
	opt := m.IsEdns0()
	if opt == nil {
		return ""
	}
	for _, o := range opt.Option {
		if e, ok := o.(*dns.EDNS0_SUBNET); ok {
			return strconv.Itoa(int(e.SourceScope))
		}
	}
	return ""
}

// query is the question for host, with EDNS0 and the client subnet when one is set.
func (r *dnsResolver) query(host string) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(host), r.qtype)
	opt := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
	opt.SetUDPSize(ednsUDPSize)
	if r.ecs.IsValid() {
		opt.Option = append(opt.Option, ecsOption(r.ecs))
	}
	m.Extra = append(m.Extra, opt)
	return m
}

// lookup asks the resolver for the addresses of host on the probe's family, filling ans with
// what it answered. A non-NOERROR rcode, or NOERROR without an address, is an error.
func (r *dnsResolver) lookup(ctx context.Context, s *Spec, host string, ans *DNSAnswer) ([]netip.Addr, error) {
	q := r.query(host)
	var resp *dns.Msg
	var err error
	switch r.transport {
	case config.TransportHTTPS:
		resp, err = r.exchangeHTTPS(ctx, q)
	case config.TransportTCP:
		resp, err = r.exchange(ctx, s, q, "tcp")
	default:
		resp, err = r.exchange(ctx, s, q, "udp")
		if err == nil && resp.Truncated {
			// The answer did not fit a datagram: ask again over TCP (RFC 7766 section 5).
			resp, err = r.exchange(ctx, s, q, "tcp")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("resolver %s: %w", r.name, err)
	}
	if ans != nil {
		ans.Answered = true
		ans.Rcode = rcodeString(resp.Rcode)
		ans.ECSScope = ecsScope(resp)
	}
	if resp.Rcode != dns.RcodeSuccess {
		return nil, &net.DNSError{Err: "resolver " + r.name + " answered " + rcodeString(resp.Rcode), Name: host,
			IsNotFound: resp.Rcode == dns.RcodeNameError}
	}
	var addrs []netip.Addr
	for _, rr := range resp.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			if a, ok := netip.AddrFromSlice(rr.A.To4()); ok && r.qtype == dns.TypeA {
				addrs = append(addrs, a)
			}
		case *dns.AAAA:
			if a, ok := netip.AddrFromSlice(rr.AAAA.To16()); ok && r.qtype == dns.TypeAAAA {
				addrs = append(addrs, a)
			}
		}
	}
	if len(addrs) == 0 {
		return nil, &net.DNSError{Err: "resolver " + r.name + " answered NOERROR without an " + dns.TypeToString[r.qtype] + " record",
			Name: host, IsNotFound: true}
	}
	return addrs, nil
}

// rcodeString names a DNS response code.
func rcodeString(rcode int) string {
	if s, ok := dns.RcodeToString[rcode]; ok {
		return s
	}
	return "RCODE" + strconv.Itoa(rcode)
}

// exchange sends q over network ("udp" or "tcp") on a fresh connection from the probe's
// source address and reads the answer, by the probe's deadline; a cancelled probe ends it at
// once.
func (r *dnsResolver) exchange(ctx context.Context, s *Spec, q *dns.Msg, network string) (*dns.Msg, error) {
	c := dns.Client{Net: network, Timeout: r.timeout,
		Dialer: &net.Dialer{LocalAddr: s.localAddr(network, r.addr), KeepAlive: -1}}
	co, err := c.DialContext(ctx, r.addr)
	if err != nil {
		return nil, err
	}
	defer co.Close()
	// The exchange sets the connection's deadlines from ctx's when it starts, which would undo
	// a deadline set here by a cancellation that came just before: closing the connection
	// ends the exchange whenever the cancellation comes.
	stop := context.AfterFunc(ctx, func() { co.Close() })
	defer stop()
	resp, _, err := c.ExchangeWithConnContext(ctx, q, co)
	if err != nil && ctx.Err() != nil { // the connection was closed under the exchange: say why
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, errors.New("no answer before the probe's timeout")
		}
		return nil, fmt.Errorf("probe cancelled: %w", ctx.Err())
	}
	return resp, err
}

// exchangeHTTPS sends q as an RFC 8484 POST and reads the answer.
func (r *dnsResolver) exchangeHTTPS(ctx context.Context, q *dns.Msg) (*dns.Msg, error) {
	q.Id = 0 // RFC 8484 section 4.1: cache friendly
	wire, err := q.Pack()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(wire))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", dohMediaType)
	req.Header.Set("Accept", dohMediaType)
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("DNS over HTTPS: HTTP status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDoHResponse+1))
	if err != nil {
		return nil, fmt.Errorf("DNS over HTTPS: reading the answer: %w", err)
	}
	if len(body) > maxDoHResponse {
		return nil, errors.New("DNS over HTTPS: answer larger than a DNS message")
	}
	m := new(dns.Msg)
	if err := m.Unpack(body); err != nil {
		return nil, fmt.Errorf("DNS over HTTPS: malformed answer: %w", err)
	}
	return m, nil
}
