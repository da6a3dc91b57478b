package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/common/promslog"
)

// resolversScenario is the example scenario of DNS steering shipped next to the command.
func resolversScenario(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("resolvers-scenario.yml")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// startDNSTest runs the simulator with every port (HTTP, HTTPS, DNS) picked by the kernel.
func startDNSTest(t *testing.T, yml string) (*running, string) {
	t.Helper()
	sc := mustScenario(t, yml)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	opts := options{seed: 1, httpAddr: "127.0.0.1:0", httpsAddr: "127.0.0.1:0", dnsPort: 0}
	rs, err := startServers(sc, opts, caFile, promslog.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rs.shutdown)
	return rs, caFile
}

// query asks server (host:port) over network ("udp" or "tcp") for name and type, with a
// client subnet when ecs is set, advertising udpSize with EDNS (0: no EDNS at all).
func query(t *testing.T, network, server, name string, qtype uint16, ecs string, udpSize uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = false
	if udpSize > 0 || ecs != "" {
		m.SetEdns0(max(udpSize, dns.MinMsgSize), false)
	}
	if ecs != "" {
		p := netip.MustParsePrefix(ecs)
		family := uint16(1)
		if p.Addr().Is6() {
			family = 2
		}
		m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_SUBNET{
			Code: dns.EDNS0SUBNET, Family: family, SourceNetmask: uint8(p.Bits()), Address: p.Addr().AsSlice(),
		})
	}
	c := &dns.Client{Net: network, Timeout: 5 * time.Second, UDPSize: max(udpSize, dns.MinMsgSize)}
	r, _, err := c.Exchange(m, server)
	if err != nil {
		t.Fatalf("%s query %s %s to %s: %v", network, name, dns.TypeToString[qtype], server, err)
	}
	return r
}

// aRecords lists the addresses of the answer's A records.
func aRecords(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return out
}

// ecsOf returns the EDNS Client Subnet option of a message, or nil.
func ecsOf(m *dns.Msg) *dns.EDNS0_SUBNET {
	if opt := m.IsEdns0(); opt != nil {
		for _, o := range opt.Option {
			if e, ok := o.(*dns.EDNS0_SUBNET); ok {
				return e
			}
		}
	}
	return nil
}

// Each resolver address leads to its region; a client subnet leads to the subnet's region
// and is echoed with the configured scope; over TCP as over UDP.
func TestDNSResolversLeadToTheirRegions(t *testing.T) {
	rs, _ := startDNSTest(t, resolversScenario(t))
	if len(rs.dnsAddrs) != 2 {
		t.Fatalf("dns addresses %v, want two", rs.dnsAddrs)
	}
	local, far := rs.dnsAddrs[0], rs.dnsAddrs[1]
	if _, port, _ := net.SplitHostPort(far); !strings.HasPrefix(local, "127.0.53.1:") || far != "127.0.53.2:"+port || !strings.HasSuffix(local, ":"+port) {
		t.Fatalf("dns addresses %s and %s: want 127.0.53.1 and 127.0.53.2 on one port", local, far)
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tc := range []struct {
			server, ecs string
			want        string
			scope       uint8
		}{
			{local, "", "127.0.10.1", 0},
			{far, "", "127.0.10.3", 0},
			{local, "203.0.113.0/24", "127.0.10.2", 24},
			{far, "203.0.113.0/24", "127.0.10.2", 24},
			{local, "203.0.113.128/25", "127.0.10.2", 24}, // more specific than the entry: still in it
			{far, "198.51.100.0/24", "127.0.10.3", 0},     // no entry: the resolver's region, scope 0
			{local, "203.0.0.0/16", "127.0.10.1", 0},      // less specific than the entry: no match
			{local, "2001:db8::/56", "127.0.10.1", 0},
		} {
			name := fmt.Sprintf("%s via %s ecs %q", network, tc.server, tc.ecs)
			r := query(t, network, tc.server, "CF-DNS.cdnsim.test", dns.TypeA, tc.ecs, 1232)
			if r.Rcode != dns.RcodeSuccess || !r.Authoritative || r.Truncated {
				t.Errorf("%s: rcode %s aa %v tc %v, want NOERROR, authoritative, whole", name, dns.RcodeToString[r.Rcode], r.Authoritative, r.Truncated)
			}
			if got := aRecords(r); !slices.Equal(got, []string{tc.want}) {
				t.Errorf("%s: A %v, want %s", name, got, tc.want)
			}
			if len(r.Answer) == 1 && (r.Answer[0].Header().Ttl != 5 || r.Answer[0].Header().Name != "CF-DNS.cdnsim.test.") {
				t.Errorf("%s: answer %s, want the name as asked and TTL 5", name, r.Answer[0])
			}
			e := ecsOf(r)
			if tc.ecs == "" {
				if e != nil {
					t.Errorf("%s: answer carries an ECS option %s the query did not", name, e)
				}
				continue
			}
			p := netip.MustParsePrefix(tc.ecs)
			if e == nil {
				t.Errorf("%s: ECS option not echoed", name)
				continue
			}
			addr, _ := netip.AddrFromSlice(e.Address)
			if e.SourceScope != tc.scope || int(e.SourceNetmask) != p.Bits() || addr.Unmap() != p.Addr() {
				t.Errorf("%s: ECS echoed %s/%d scope %d, want %s scope %d", name, addr, e.SourceNetmask, e.SourceScope, p, tc.scope)
			}
		}
	}
}

// Names outside the targets, types other than A and other zones get the answers a real
// authoritative server gives.
func TestDNSNegativeAnswers(t *testing.T) {
	rs, _ := startDNSTest(t, resolversScenario(t))
	server := rs.dnsAddrs[0]
	for _, tc := range []struct {
		name   string
		qtype  uint16
		rcode  int
		answer int
		soa    bool
	}{
		{"nope.cdnsim.test", dns.TypeA, dns.RcodeNameError, 0, true},
		{"www.cf-dns.cdnsim.test", dns.TypeA, dns.RcodeNameError, 0, true},
		{"cf-dns.cdnsim.test", dns.TypeAAAA, dns.RcodeSuccess, 0, true}, // NODATA: IPv4 only
		{"cdnsim.test", dns.TypeA, dns.RcodeSuccess, 0, true},
		{"cdnsim.test", dns.TypeSOA, dns.RcodeSuccess, 1, false},
		{"example.com", dns.TypeA, dns.RcodeRefused, 0, false},
		{"test", dns.TypeA, dns.RcodeRefused, 0, false},
	} {
		r := query(t, "udp", server, tc.name, tc.qtype, "", 0)
		hasSOA := len(r.Ns) == 1 && r.Ns[0].Header().Rrtype == dns.TypeSOA
		if r.Rcode != tc.rcode || len(r.Answer) != tc.answer || hasSOA != tc.soa {
			t.Errorf("%s %s: rcode %s, %d answers, SOA in authority %v; want %s, %d, %v",
				tc.name, dns.TypeToString[tc.qtype], dns.RcodeToString[r.Rcode], len(r.Answer), hasSOA,
				dns.RcodeToString[tc.rcode], tc.answer, tc.soa)
		}
	}
}

// RFC 7871 §6: a query's SCOPE PREFIX-LENGTH must be 0 (FORMERR otherwise); a client that
// opts out with source prefix 0 (family 0, as dig sends it) gets the resolver's region, scope 0.
func TestDNSClientSubnetEdgeCases(t *testing.T) {
	rs, _ := startDNSTest(t, resolversScenario(t))
	ask := func(e *dns.EDNS0_SUBNET) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion("cf-dns.cdnsim.test.", dns.TypeA)
		m.SetEdns0(1232, false)
		m.IsEdns0().Option = append(m.IsEdns0().Option, e)
		r, err := dns.Exchange(m, rs.dnsAddrs[1])
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := ask(&dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, SourceScope: 8, Address: net.IPv4(203, 0, 113, 0)})
	if r.Rcode != dns.RcodeFormatError {
		t.Errorf("query with scope 8: rcode %s, want FORMERR", dns.RcodeToString[r.Rcode])
	}
	r = ask(&dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 0, SourceNetmask: 0})
	e := ecsOf(r)
	if a := aRecords(r); !slices.Equal(a, []string{"127.0.10.3"}) || e == nil || e.SourceScope != 0 || e.SourceNetmask != 0 {
		t.Errorf("opt-out query: A %v, ECS %v; want the far resolver's 127.0.10.3 and scope 0", a, e)
	}
}

// An answer larger than the client's UDP size is truncated with TC set; over TCP it is whole.
// The zone's TXT records (one per target name) make an answer of any size.
func TestDNSTruncationAndTCP(t *testing.T) {
	var b strings.Builder
	b.WriteString("dns:\n  regions: {AMS: 127.0.10.1}\n  resolvers: [{listen: 127.0.53.1, region: AMS}]\ntargets:\n")
	for i := range 40 {
		fmt.Fprintf(&b, "  - {name: target-%02d, cdn: cloudflare, pops: {dns: true}}\n", i)
	}
	rs, _ := startDNSTest(t, b.String())
	server := rs.dnsAddrs[0]

	small := query(t, "udp", server, "cdnsim.test", dns.TypeTXT, "", 0) // 512 bytes without EDNS
	if !small.Truncated || len(small.Answer) >= 40 {
		t.Errorf("UDP without EDNS: TC %v with %d of 40 records, want TC and fewer", small.Truncated, len(small.Answer))
	}
	small.Compress = true // as sent
	if p, err := small.Pack(); err != nil || len(p) > dns.MinMsgSize {
		t.Errorf("UDP without EDNS: %d bytes (%v), more than 512", len(p), err)
	}
	large := query(t, "udp", server, "cdnsim.test", dns.TypeTXT, "", 4096)
	if large.Truncated || len(large.Answer) != 40 {
		t.Errorf("UDP with a 4096-byte EDNS size: TC %v with %d of 40 records, want all", large.Truncated, len(large.Answer))
	}
	tcp := query(t, "tcp", server, "cdnsim.test", dns.TypeTXT, "", 0)
	if tcp.Truncated || len(tcp.Answer) != 40 {
		t.Errorf("TCP: TC %v with %d of 40 records, want all", tcp.Truncated, len(tcp.Answer))
	}
	if txt, ok := tcp.Answer[7].(*dns.TXT); !ok || !slices.Equal(txt.Txt, []string{"target-07.cdnsim.test"}) {
		t.Errorf("TXT record 8: %s, want the name of target-07", tcp.Answer[7])
	}
	// The resolver's TCP port answers A queries too.
	if a := aRecords(query(t, "tcp", server, "target-39.cdnsim.test", dns.TypeA, "", 0)); !slices.Equal(a, []string{"127.0.10.1"}) {
		t.Errorf("A over TCP: %v", a)
	}
}

// regionClient connects every request to addr, whatever the URL's host: the URL keeps the
// name for the Host header and TLS server name, as a client that resolved it would.
func regionClient(t *testing.T, caFile, addr string) *http.Client {
	t.Helper()
	c := trustingClient(t, caFile)
	d := &net.Dialer{}
	c.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	return c
}

// End to end: the three resolvers of the example scenario (local, far, and the client subnet
// through local) resolve the same URL to three addresses, where the same target answers as
// three PoPs over HTTPS with a certificate valid for the name. A target not steered by DNS
// answers as its own PoP on every address.
func TestDNSSteeredTargetAnswersAsTheRegion(t *testing.T) {
	rs, caFile := startDNSTest(t, resolversScenario(t))
	_, httpsPort, _ := net.SplitHostPort(rs.ep.httpsAddr)
	_, httpPort, _ := net.SplitHostPort(rs.ep.httpAddr)
	for _, tc := range []struct {
		resolver, server, ecs, want string
	}{
		{"local", rs.dnsAddrs[0], "", "AMS"},
		{"far", rs.dnsAddrs[1], "", "IAD"},
		{"ecs-sin", rs.dnsAddrs[0], "203.0.113.0/24", "SIN"},
	} {
		a := aRecords(query(t, "udp", tc.server, "cf-dns.cdnsim.test", dns.TypeA, tc.ecs, 1232))
		if len(a) != 1 {
			t.Fatalf("%s: A %v", tc.resolver, a)
		}
		client := regionClient(t, caFile, net.JoinHostPort(a[0], httpsPort))
		for target, want := range map[string]string{"cf-dns": tc.want, "cf-anycast": "AMS"} {
			resp, err := client.Get("https://" + target + ".cdnsim.test:" + httpsPort + "/" + target + "/")
			if err != nil {
				t.Fatalf("%s: %s: %v", tc.resolver, target, err)
			}
			resp.Body.Close()
			if ray := resp.Header.Get("Cf-Ray"); !strings.HasSuffix(ray, "-"+want) {
				t.Errorf("%s: %s on %s: CF-RAY %q, want PoP %s", tc.resolver, target, a[0], ray, want)
			}
		}
		// Plain HTTP on the region address, as CloudFront.
		resp, err := http.Get("http://" + net.JoinHostPort(a[0], httpPort) + "/cloudfront-dns/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if pop := resp.Header.Get("X-Amz-Cf-Pop"); !strings.HasPrefix(pop, tc.want) {
			t.Errorf("%s: cloudfront-dns on %s: X-Amz-Cf-Pop %q, want %s…", tc.resolver, a[0], pop, tc.want)
		}
	}
	// The main listener is no region: a DNS-steered target answers as the first resolver's.
	resp, err := http.Get("http://" + rs.ep.httpAddr + "/cf-dns/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ray := resp.Header.Get("Cf-Ray"); !strings.HasSuffix(ray, "-AMS") {
		t.Errorf("cf-dns on the main listener: CF-RAY %q, want AMS (the first resolver's region)", ray)
	}
}

// Go's own resolver, pointed at a resolver address, finds the region like any stub would.
func TestDNSServesGoResolver(t *testing.T) {
	rs, _ := startDNSTest(t, resolversScenario(t))
	for i, want := range []string{"127.0.10.1", "127.0.10.3"} {
		server := rs.dnsAddrs[i]
		r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		}}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		addrs, err := r.LookupHost(ctx, "azure-dns.cdnsim.test")
		cancel()
		if err != nil || !slices.Equal(addrs, []string{want}) {
			t.Errorf("via %s: %v (%v), want [%s]", server, addrs, err, want)
		}
	}
}

// The HTTPS certificate covers the zone's names and the region addresses.
func TestDNSCertificateCoversZone(t *testing.T) {
	rs, caFile := startDNSTest(t, `
dns:
  regions: {AMS: 127.0.10.1}
  resolvers: [{listen: 127.0.53.1, region: AMS}]
targets:
  - {name: two.labels, cdn: cloudflare, pops: {dns: true}}
  - {name: one, cdn: cloudflare, pops: {dns: true}}
`)
	_, port, _ := net.SplitHostPort(rs.ep.httpsAddr)
	client := regionClient(t, caFile, "127.0.10.1:"+port)
	for _, u := range []string{"https://one.cdnsim.test:" + port + "/one/", "https://two.labels.cdnsim.test:" + port + "/two.labels/", "https://127.0.10.1:" + port + "/one/"} {
		resp, err := client.Get(u)
		if err != nil {
			t.Errorf("%s: %v", u, err)
			continue
		}
		resp.Body.Close()
	}
	var certErr *tls.CertificateVerificationError
	if _, err := client.Get("https://other.test:" + port + "/one/"); err == nil || !errors.As(err, &certErr) {
		t.Errorf("a name outside the zone: %v, want a certificate verification error", err)
	}
}

// A main listener on a region's own address covers that region; the others are bound apart.
func TestListenTCPSetSkipsCoveredAddresses(t *testing.T) {
	regions := []netip.Addr{netip.MustParseAddr("127.0.10.1"), netip.MustParseAddr("127.0.10.2")}
	lns, err := listenTCPSet("127.0.10.1:0", regions)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var got []string
	for _, ln := range lns {
		got = append(got, ln.Addr().String())
	}
	port := lns[0].Addr().(*net.TCPAddr).Port
	if want := []string{fmt.Sprintf("127.0.10.1:%d", port), fmt.Sprintf("127.0.10.2:%d", port)}; !slices.Equal(got, want) {
		t.Errorf("listeners %v, want %v", got, want)
	}
}

// With a kernel-picked port, a set whose later address has the port taken is bound again;
// with a fixed port the error is returned at once.
func TestBindSamePortRetries(t *testing.T) {
	attempts, undone := 0, 0
	bind := func(i, port int) (int, error) {
		if i == 0 {
			attempts++
			if port != 0 {
				return port, nil
			}
			return 40000 + attempts, nil
		}
		if attempts < 3 {
			return 0, fmt.Errorf("port %d taken", port)
		}
		return port, nil
	}
	port, err := bindSamePort(0, 3, bind, func() { undone++ })
	if err != nil || port != 40003 || attempts != 3 || undone != 2 {
		t.Errorf("port 0: got port %d, err %v after %d attempts, %d undone; want 40003 after 3, 2 undone", port, err, attempts, undone)
	}
	attempts, undone = 0, 0
	if _, err := bindSamePort(8053, 3, bind, func() { undone++ }); err == nil || err.Error() != "port 8053 taken" || attempts != 1 || undone != 1 {
		t.Errorf("fixed port: err %v after %d attempts, want the bind error after 1", err, attempts)
	}
	attempts, undone = -10, 0 // never reaches 3 within 5 attempts
	_, err = bindSamePort(0, 3, bind, func() { undone++ })
	if want := "no port free on all 3 addresses in 5 attempts, the last: port 39995 taken"; err == nil || err.Error() != want || undone != 5 {
		t.Errorf("port 0, always taken: err %v, %d undone; want %q, 5 undone", err, undone, want)
	}
}

func TestIndexListsDNS(t *testing.T) {
	rs, _ := startDNSTest(t, resolversScenario(t))
	resp, err := http.Get("http://" + rs.ep.httpAddr + "/")
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	port := strings.TrimPrefix(rs.dnsAddrs[0], "127.0.53.1:")
	want := "# dns zone cdnsim.test, ttl 5s: <target>.cdnsim.test\n" +
		"# dns region AMS: 127.0.10.1\n" +
		"# dns region IAD: 127.0.10.3\n" +
		"# dns region SIN: 127.0.10.2\n" +
		"# dns resolver local: 127.0.53.1:" + port + " -> AMS\n" +
		"# dns resolver far: 127.0.53.2:" + port + " -> IAD\n" +
		"# dns ecs ecs-sin: 203.0.113.0/24 -> SIN, scope 24\n" +
		"/cf-dns/\tcloudflare\thttps\tdns AMS,IAD,SIN\n"
	body := string(data)
	if i := strings.Index(body, "\n"); i < 0 || !strings.HasPrefix(body[i+1:], want) {
		t.Errorf("index:\n%s\nwant after the first line:\n%s", body, want)
	}
}

// The listening line names the DNS addresses (one port) and the region listeners, and the
// written config reaches DNS-steered targets by name on the HTTPS port.
func TestServeAnnouncesDNS(t *testing.T) {
	dir := t.TempDir()
	logs := &syncBuffer{}
	logger := promslog.New(&promslog.Config{Writer: logs})
	opts := options{seed: 1, scenarioFile: "resolvers-scenario.yml", httpAddr: "127.0.0.1:0", httpsAddr: "127.0.0.1:0",
		configOut: filepath.Join(dir, "exporter.yml"), configInterval: 5 * time.Second}
	sc, err := loadScenario(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveScenario(ctx, sc, opts, filepath.Join(dir, "ca.pem"), logger) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serveScenario: %v", err)
		}
	}()

	lineRE := regexp.MustCompile(`msg=listening http=127\.0\.0\.1:([0-9]+) https=127\.0\.0\.1:([0-9]+) .* dns=127\.0\.53\.1:([0-9]+),127\.0\.53\.2:([0-9]+) regions=(\S+)`)
	var m []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m = lineRE.FindStringSubmatch(logs.String()); m != nil && strings.Contains(logs.String(), "wrote exporter config") {
			break
		}
	}
	if m == nil {
		t.Fatalf("no listening line with dns in logs:\n%s", logs.String())
	}
	if m[3] != m[4] {
		t.Errorf("resolver ports %s and %s differ", m[3], m[4])
	}
	wantRegions := strings.Join([]string{
		"127.0.10.1:" + m[1], "127.0.10.3:" + m[1], "127.0.10.2:" + m[1],
		"127.0.10.1:" + m[2], "127.0.10.3:" + m[2], "127.0.10.2:" + m[2],
	}, ",")
	if m[5] != wantRegions {
		t.Errorf("regions=%s, want %s", m[5], wantRegions)
	}
	cfg, err := os.ReadFile(opts.configOut)
	if err != nil {
		t.Fatal(err)
	}
	if want := "url: https://cf-dns.cdnsim.test:" + m[2] + "/cf-dns/"; !strings.Contains(string(cfg), want) {
		t.Errorf("exporter config lacks %q:\n%s", want, cfg)
	}
	r := query(t, "udp", "127.0.53.2:"+m[4], "cf-dns.cdnsim.test", dns.TypeA, "", 0)
	if a := aRecords(r); !slices.Equal(a, []string{"127.0.10.3"}) {
		t.Errorf("far resolver: A %v, want 127.0.10.3", a)
	}
}

// A vantage can be steered by DNS while the target's own timeline is not, and the other way
// round: the vantage's timeline decides for requests from its source address.
func TestDNSSteeringPerVantage(t *testing.T) {
	sc := mustScenario(t, `
vantages:
  - {name: sin-office, source: 127.0.0.3, location: SIN}
dns:
  regions: {AMS: 127.0.10.1, SIN: 127.0.10.2}
  resolvers: [{listen: 127.0.53.1, region: AMS}]
targets:
  - name: www
    cdn: cloudflare
    pops: {stay: FRA}
    vantages: {sin-office: {pops: {dns: true}, ttfb: {SIN: {median: 1ms}}}}
`)
	s := newSimulator(sc, 1, newFakeClock().now, promslog.NewNopLogger())
	get := func(client, local string) string {
		req := httptest.NewRequest("GET", "/www/", nil)
		req.RemoteAddr = client + ":40000"
		req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.ParseIP(local), Port: 8081}))
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec.Header().Get("Cf-Ray")[17:]
	}
	for _, tc := range []struct{ client, local, want string }{
		{"127.0.0.3", "127.0.10.2", "SIN"},
		{"127.0.0.3", "127.0.10.1", "AMS"},
		{"127.0.0.3", "127.0.0.1", "AMS"},  // no region address: the first resolver's region
		{"127.0.0.1", "127.0.10.2", "FRA"}, // the target's own timeline ignores the address
	} {
		if got := get(tc.client, tc.local); got != tc.want {
			t.Errorf("from %s to %s: PoP %s, want %s", tc.client, tc.local, got, tc.want)
		}
	}
}
