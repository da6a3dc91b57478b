package prober

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/popexporter/pop_exporter/collector/internal/testhelp"
	"github.com/popexporter/pop_exporter/config"
)

// The EDNS Client Subnet option on the wire (RFC 7871 section 6): option code 8, its length,
// the family, the source prefix length, scope 0, and only as many address bytes as the
// prefix covers, the bits past the prefix zero. A probe never sends more of the address
// than the prefix.
func TestECSOptionBytes(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		want   []byte
		hidden []byte // must not be on the wire
	}{
		// /22: 203.0.113.77 → 203.0.112 in 3 bytes.
		{"203.0.113.77/22", []byte{0, 8, 0, 7, 0, 1, 22, 0, 203, 0, 112}, []byte{203, 0, 113}},
		{"198.51.100.0/24", []byte{0, 8, 0, 7, 0, 1, 24, 0, 198, 51, 100}, nil},
		// /56: 2001:db8:1234:56ff::1 → 2001:db8:1234:5600:: in 7 bytes.
		{"2001:db8:1234:56ff::1/56", []byte{0, 8, 0, 11, 0, 2, 56, 0, 0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56}, []byte{0x56, 0xff}},
		// /0: the client asks that no subnet be used: no address bytes at all.
		{"0.0.0.0/0", []byte{0, 8, 0, 4, 0, 1, 0, 0}, nil},
	} {
		t.Run(tc.prefix, func(t *testing.T) {
			r := &dnsResolver{qtype: dns.TypeA, ecs: netip.MustParsePrefix(tc.prefix)}
			wire, err := r.query("cdn.example").Pack()
			if err != nil {
				t.Fatal(err)
			}
			// The OPT record is last: its RDATA is the option and nothing else.
			if !bytes.HasSuffix(wire, tc.want) {
				t.Errorf("query ends % x, want the option % x", wire[max(0, len(wire)-len(tc.want)):], tc.want)
			}
			if tc.hidden != nil && bytes.Contains(wire[len(wire)-len(tc.want):], tc.hidden) {
				t.Errorf("option % x holds the address past the prefix (% x)", tc.want, tc.hidden)
			}
			// The record announces a 1232-byte UDP payload (class field of the OPT RR).
			if i := len(wire) - len(tc.want) - 8; wire[i] != 1232>>8 || wire[i+1] != 1232&0xff {
				t.Errorf("OPT UDP size bytes % x, want 04 d0", wire[i:i+2])
			}
		})
	}
	// Without ecs: EDNS0, no option.
	wire, err := (&dnsResolver{qtype: dns.TypeAAAA}).query("cdn.example").Pack()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(wire, []byte{0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("query without ecs ends % x, want an empty OPT record", wire[len(wire)-11:])
	}
}

// The scope of the answer's Client Subnet option is read from the answer as received; an
// answer without the option, or without EDNS, has no scope.
func TestECSScopeParsed(t *testing.T) {
	reply := func(opts ...dns.EDNS0) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion("cdn.example.", dns.TypeA)
		m.Response = true
		if opts != nil {
			o := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
			o.Option = opts
			m.Extra = append(m.Extra, o)
		}
		wire, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		back := new(dns.Msg)
		if err := back.Unpack(wire); err != nil {
			t.Fatal(err)
		}
		return back
	}
	ecs := ecsOption(netip.MustParsePrefix("203.0.113.0/24"))
	ecs.SourceScope = 20
	if got := ecsScope(reply(ecs)); got != "20" {
		t.Errorf("scope %q, want 20", got)
	}
	zero := ecsOption(netip.MustParsePrefix("2001:db8::/56"))
	if got := ecsScope(reply(&dns.EDNS0_NSID{Code: dns.EDNS0NSID}, zero)); got != "0" {
		t.Errorf("scope %q, want 0 (the answer is valid for every client)", got)
	}
	if got := ecsScope(reply(&dns.EDNS0_NSID{Code: dns.EDNS0NSID})); got != "" {
		t.Errorf("scope %q without the option, want empty", got)
	}
	if got := ecsScope(reply()); got != "" {
		t.Errorf("scope %q without EDNS, want empty", got)
	}
}

// resolverSpec is the probe of target through resolver r.
func resolverSpec(t *testing.T, target config.Target, r config.CompiledResolver) *Spec {
	t.Helper()
	s, err := NewSpec(target, testhelp.Compiled(target), "ip4", "", r, "pop_exporter/test", nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// edgeOn serves an HTTP edge on a loopback address of its own and returns its port.
func edgeOn(t *testing.T, ip string) int {
	t.Helper()
	srv := testhelp.ServerOn(t, ip, 0, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	return srv.Listener.Addr().(*net.TCPAddr).Port
}

// A UDP answer with TC set is asked again over TCP, whose full answer is the one used.
func TestUDPTruncatedFallsBackToTCP(t *testing.T) {
	var udp, tcp atomic.Int32
	addr := testhelp.DNSServer(t, func(w dns.ResponseWriter, q *dns.Msg) {
		if _, ok := w.RemoteAddr().(*net.UDPAddr); ok {
			udp.Add(1)
			m := new(dns.Msg)
			m.SetReply(q)
			m.Truncated = true
			w.WriteMsg(m)
			return
		}
		tcp.Add(1)
		testhelp.Answer("127.0.0.2")(w, q)
	})
	port := edgeOn(t, "127.0.0.2")
	target := testhelp.Target(t, "tc", fmt.Sprintf("http://tc.test:%d/", port))
	res := resolverSpec(t, target, config.CompiledResolver{Name: "local", Transport: config.TransportUDP, Addr: addr}).Run(context.Background())
	if !res.Success {
		t.Fatalf("probe failed: %s %v", res.FailureReason, res.Err)
	}
	if udp.Load() != 1 || tcp.Load() != 1 {
		t.Errorf("%d UDP and %d TCP queries, want one of each", udp.Load(), tcp.Load())
	}
	if want := (DNSAnswer{Answered: true, Addr: netip.MustParseAddr("127.0.0.2"), Rcode: "NOERROR"}); res.DNS != want {
		t.Errorf("DNS = %+v, want %+v", res.DNS, want)
	}
	if !res.Happened[PhaseDNS] || res.EdgeAddr.String() != "127.0.0.2" {
		t.Errorf("dns phase %v, edge %v", res.Happened[PhaseDNS], res.EdgeAddr)
	}

	// transport: tcp asks over TCP only.
	udp.Store(0)
	tcp.Store(0)
	res = resolverSpec(t, target, config.CompiledResolver{Name: "tcp", Transport: config.TransportTCP, Addr: addr}).Run(context.Background())
	if !res.Success || udp.Load() != 0 || tcp.Load() != 1 {
		t.Errorf("tcp transport: success %v (%v), %d UDP and %d TCP queries, want one TCP", res.Success, res.Err, udp.Load(), tcp.Load())
	}
}

// DNS over HTTPS (RFC 8484): a POST of the wire-format query with the DNS media type, to a
// server verified with the configured roots; its answer is dialled.
func TestDNSOverHTTPS(t *testing.T) {
	var got atomic.Pointer[string]
	doh := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		q := new(dns.Msg)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/dns-message" || q.Unpack(body) != nil {
			http.Error(w, "bad query", http.StatusBadRequest)
			return
		}
		desc := fmt.Sprintf("%s %s id=%d ecs=%v", r.URL.Path, q.Question[0].Name, q.Id, q.IsEdns0() != nil && len(q.IsEdns0().Option) == 1)
		got.Store(&desc)
		m := new(dns.Msg)
		m.SetReply(q)
		m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 30},
			A: net.ParseIP("127.0.0.3")})
		scope := ecsOption(netip.MustParsePrefix("203.0.113.0/24"))
		scope.SourceScope = 24
		m.Extra = append(m.Extra, &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}, Option: []dns.EDNS0{scope}})
		wire, _ := m.Pack()
		w.Header().Set("Content-Type", "application/dns-message")
		w.Write(wire)
	}))
	defer doh.Close()
	port := edgeOn(t, "127.0.0.3")
	target := testhelp.Target(t, "doh", fmt.Sprintf("http://doh.test:%d/", port))
	u, _ := url.Parse(doh.URL + "/dns-query")
	roots := x509.NewCertPool()
	roots.AddCert(doh.Certificate())
	r := config.CompiledResolver{Name: "doh", Transport: config.TransportHTTPS, URL: u, RootCAs: roots,
		ECS: netip.MustParsePrefix("203.0.113.0/24")}
	res := resolverSpec(t, target, r).Run(context.Background())
	if !res.Success {
		t.Fatalf("probe failed: %s %v", res.FailureReason, res.Err)
	}
	if d := got.Load(); d == nil || *d != "/dns-query doh.test. id=0 ecs=true" {
		t.Errorf("server saw %v, want a POST to /dns-query for doh.test. with id 0 and the subnet", d)
	}
	if want := (DNSAnswer{Answered: true, Addr: netip.MustParseAddr("127.0.0.3"), Rcode: "NOERROR", ECSScope: "24"}); res.DNS != want {
		t.Errorf("DNS = %+v, want %+v", res.DNS, want)
	}

	// Without the server's root the certificate does not verify: a dns failure, not a tls one
	// (the probe's own TLS is not involved).
	r.RootCAs = nil
	res = resolverSpec(t, target, r).Run(context.Background())
	if res.Success || res.FailureReason != ReasonDNS || !strings.Contains(fmt.Sprint(res.Err), "certificate") {
		t.Errorf("untrusted DoH server: success %v reason %q err %v, want a dns failure naming the certificate", res.Success, res.FailureReason, res.Err)
	}
}

// NXDOMAIN, SERVFAIL and an answer without an address are dns failures that carry the rcode;
// a resolver that never answers is a dns failure too, with no answer, within the probe's
// timeout.
func TestResolverFailures(t *testing.T) {
	rcode := func(code int) dns.HandlerFunc {
		return func(w dns.ResponseWriter, q *dns.Msg) {
			m := new(dns.Msg)
			m.SetRcode(q, code)
			w.WriteMsg(m)
		}
	}
	for _, tc := range []struct {
		name    string
		addr    string
		answer  DNSAnswer
		message string
	}{
		{"nxdomain", testhelp.DNSServer(t, rcode(dns.RcodeNameError)), DNSAnswer{Answered: true, Rcode: "NXDOMAIN"}, "answered NXDOMAIN"},
		{"servfail", testhelp.DNSServer(t, rcode(dns.RcodeServerFailure)), DNSAnswer{Answered: true, Rcode: "SERVFAIL"}, "answered SERVFAIL"},
		{"no address", testhelp.DNSServer(t, rcode(dns.RcodeSuccess)), DNSAnswer{Answered: true, Rcode: "NOERROR"}, "without an A record"},
		{"silent", testhelp.SilentDNS(t), DNSAnswer{}, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := testhelp.Target(t, "x", "http://fail.test/")
			target.Timeout = config.Duration(300 * time.Millisecond)
			start := time.Now()
			res := resolverSpec(t, target, config.CompiledResolver{Name: "r", Transport: config.TransportUDP, Addr: tc.addr}).Run(context.Background())
			if res.Success || res.FailureReason != ReasonDNS || !strings.Contains(fmt.Sprint(res.Err), tc.message) {
				t.Errorf("success %v reason %q err %v, want a dns failure saying %q", res.Success, res.FailureReason, res.Err, tc.message)
			}
			if res.DNS != tc.answer {
				t.Errorf("DNS = %+v, want %+v", res.DNS, tc.answer)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("the probe took %v, past its timeout", d)
			}
		})
	}
}

// A probe cancelled while its resolver says nothing (a reload removing it, a shutdown) ends at
// once, not at its timeout, whether the cancellation comes before or during the exchange.
func TestResolverCancelledEndsAtOnce(t *testing.T) {
	silent := testhelp.SilentDNS(t)
	for _, after := range []time.Duration{0, time.Millisecond, 50 * time.Millisecond} {
		target := testhelp.Target(t, "x", "http://fail.test/")
		target.Timeout = config.Duration(10 * time.Second)
		for _, transport := range []string{config.TransportUDP, config.TransportTCP} {
			addr := silent
			if transport == config.TransportTCP {
				addr = testhelp.SilentTCP(t)
			}
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(after, cancel)
			start := time.Now()
			res := resolverSpec(t, target, config.CompiledResolver{Name: "r", Transport: transport, Addr: addr}).Run(ctx)
			if d := time.Since(start); d > 2*time.Second || res.Success {
				t.Errorf("%s, cancelled after %v: success %v after %v, want a failure at once", transport, after, res.Success, d)
			}
			cancel()
		}
	}
}

// A DNS answer with 4,000 addresses (a full 64 KiB answer over TCP) makes a probe dial the
// first few, not all 4,000; its error says so.
func TestManyAddressesDialBounded(t *testing.T) {
	addr := testhelp.DNSServer(t, func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
			m.Truncated = true
		} else if q.Question[0].Qtype == dns.TypeA {
			for i := range 4000 {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 30},
					A: net.IPv4(127, 77, byte(i/250), byte(1+i%250))})
			}
		}
		m.Compress = true
		w.WriteMsg(m)
	})
	// Nothing listens on port 1 of those loopback addresses: every dial is refused at once.
	target := testhelp.Target(t, "many", "http://many.test:1/")
	res := resolverSpec(t, target, config.CompiledResolver{Name: "local", Transport: config.TransportUDP, Addr: addr}).Run(context.Background())
	if res.Success || res.FailureReason != ReasonConnect {
		t.Fatalf("probe: success %v, reason %s (%v); want a connect failure", res.Success, res.FailureReason, res.Err)
	}
	if want := fmt.Sprintf("(tried the first %d of 4000 addresses)", maxDialAddrs); !strings.Contains(res.Err.Error(), want) {
		t.Errorf("error %q does not say %s", res.Err, want)
	}
}
