package collector

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/popexporter/pop_exporter/collector/edge"
	"github.com/popexporter/pop_exporter/collector/geoip"
	"github.com/popexporter/pop_exporter/collector/geoip/geoiptest"
	"github.com/popexporter/pop_exporter/collector/prober"
	"github.com/popexporter/pop_exporter/config"
)

var update = flag.Bool("update", false, "rewrite testdata/golden-*.txt from the current output")

// The per-probe series of a fixed sequence of probe results, in both text formats and both
// series sets, must stay byte for byte what testdata/golden-*.txt holds: dashboards, rules and
// users depend on every name, label and value. Regenerate with
// `go test ./collector/ -run Golden -update` only when the metrics contract changes on purpose.
func TestGoldenExposition(t *testing.T) {
	for _, detail := range []Detail{DetailFull, DetailBasic} {
		t.Run(detail.String(), func(t *testing.T) { testGoldenExposition(t, detail) })
	}
}

func testGoldenExposition(t *testing.T, detail Detail) {
	// The geolocation database places 192.0.2.0/24 in Amsterdam (a documentation prefix).
	var db geoip.Current
	placed, err := geoip.Open(geoiptest.WriteCities(t, map[string]geoiptest.City{"192.0.2.0/24": {Latitude: 52.374, Longitude: 4.8897, RadiusKm: 5}}))
	if err != nil {
		t.Fatal(err)
	}
	db.Swap(placed)
	m, st := newTestManagerStore(t, Options{MaxPoPsPerProbe: 3, GeoIP: &db, Detail: detail})
	start := time.Unix(1_767_225_600, 0) // fixed, so the last-change timestamp is too
	for i, name := range []string{"www", "api"} {
		target := testTarget(t, name, "http://127.0.0.1/")
		if i == 0 {
			target.ExpectedPoPs = []string{"AMS", "FRA"}
			target.MaxDistanceKM = 1500
		}
		r := newRecordingRunner(t, m, target)
		for j, pop := range []string{"AMS", "AMS", "SIN", "FRA", "LHR", "AMS", "SIN"} {
			res := cloudflareResult(pop, []string{edge.CacheHit, edge.CacheMiss, edge.CacheExpired}[j%3])
			res.Start = start.Add(time.Duration(j) * time.Minute)
			res.TTFB = time.Duration(j*37+i*5+3) * time.Millisecond
			res.Duration = res.TTFB + 2*time.Millisecond
			res.Phases = [prober.NumPhases]time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond,
				time.Duration(j*30+1) * time.Millisecond, time.Duration(j) * time.Microsecond}
			res.Happened = [prober.NumPhases]bool{true, true, i == 0, true, true}
			if j%2 == 0 {
				res.CacheAge = float64(j * 10)
			}
			// The system resolver's answer: an address, no rcode (only the full set shows it).
			res.DNS = prober.DNSAnswer{Answered: true, Addr: netip.MustParseAddr("127.0.0.1")}
			m.record(r, res)
		}
		m.record(r, prober.Result{Start: start.Add(10 * time.Minute), Duration: time.Second, CacheAge: -1, FailureReason: prober.ReasonTimeout})
		if i == 1 {
			m.record(r, prober.Result{Start: start.Add(11 * time.Minute), Duration: time.Second, CacheAge: -1,
				Responded: true, StatusCode: 503, FailureReason: prober.ReasonHTTPStatus,
				Edge: edge.Result{CDN: "fastly", PoP: "NRT", RawPoP: "NRT", UpstreamPoP: "HND", CacheStatus: edge.CacheError}})
		}
	}
	// Akamai names no PoP but its edge's address, a new one per response here: past the cap
	// of 3 the edge_ip label becomes "other".
	media := newRecordingRunner(t, m, testTarget(t, "media", "http://127.0.0.1/"))
	for j := range 4 {
		res := prober.Result{Start: start.Add(time.Duration(j) * time.Minute), Duration: 40 * time.Millisecond,
			TTFB: 30 * time.Millisecond, Responded: true, StatusCode: 200, Success: true, CacheAge: -1,
			Edge: edge.Result{CDN: "akamai", PoP: edge.Unknown, CacheStatus: edge.CacheHit, EdgeIP: fmt.Sprintf("23.45.67.%d", 89+j)}}
		res.Phases[prober.PhaseProcessing], res.Happened[prober.PhaseProcessing] = 30*time.Millisecond, true
		m.record(media, res)
	}
	// With the geolocation database, an Akamai edge is placed: the connected address, outside
	// the database, places nothing (pop_source="none"); the edge IP it names, inside, gives the
	// nearest code (pop_source="geoip").
	placedEdge := newRecordingRunner(t, m, testTarget(t, "placed", "http://127.0.0.1/"))
	akamai := prober.Result{Start: start.Add(12 * time.Minute), Duration: time.Second, TTFB: 9 * time.Millisecond,
		CacheAge: -1, Responded: true, StatusCode: 200, Success: true, EdgeAddr: netip.MustParseAddr("198.51.100.1"),
		Edge: edge.Result{CDN: "akamai", PoP: edge.Unknown, CacheStatus: edge.CacheHit}}
	m.record(placedEdge, akamai)
	akamai.Start, akamai.Edge.EdgeIP = start.Add(13*time.Minute), "192.0.2.27"
	m.record(placedEdge, akamai)
	// A configured resolver with a client subnet: its answers (address, rcode, ECS scope) in
	// both sets, one series replaced as they change; past the cap of 3 the address becomes
	// "other"; NXDOMAIN has no address; a timeout (no answer) leaves the last answer.
	steered := testTarget(t, "steered", "http://cdn.example/")
	steered.Resolvers = []config.Resolver{{Name: "isp", Server: "192.0.2.53", ECS: "198.51.100.0/24"}}
	dnsRunner := newRecordingRunner(t, m, steered)
	for j, a := range []prober.DNSAnswer{
		{Answered: true, Addr: netip.MustParseAddr("192.0.2.10"), Rcode: "NOERROR", ECSScope: "24"},
		{Answered: true, Addr: netip.MustParseAddr("192.0.2.11"), Rcode: "NOERROR", ECSScope: "24"},
		{Answered: true, Addr: netip.MustParseAddr("192.0.2.12"), Rcode: "NOERROR", ECSScope: "20"},
		{Answered: true, Addr: netip.MustParseAddr("192.0.2.13"), Rcode: "NOERROR", ECSScope: "0"},
		{Answered: true, Rcode: "NXDOMAIN"},
		{},
	} {
		res := prober.Result{Start: start.Add(time.Duration(j) * time.Minute), Duration: 50 * time.Millisecond, CacheAge: -1, DNS: a}
		if a.Addr.IsValid() {
			res = cloudflareResult("FRA", edge.CacheHit)
			res.Start, res.TTFB, res.Duration, res.DNS = start.Add(time.Duration(j)*time.Minute), 20*time.Millisecond, 30*time.Millisecond, a
		} else if a.Answered {
			res.FailureReason = prober.ReasonDNS
		} else {
			res.FailureReason = prober.ReasonTimeout
		}
		m.record(dnsRunner, res)
	}
	// TLS: a rotated certificate replaces the leaf series; past the cap of 3 the fingerprint
	// becomes "other" (no serial); a certificate that fails verification still sets the
	// expiries but not the handshake; a connect failure leaves them all. A target redirected to
	// plain HTTP loses them.
	secure := newRecordingRunner(t, m, testTarget(t, "secure", "https://127.0.0.1/"))
	plain := newRecordingRunner(t, m, testTarget(t, "downgraded", "https://127.0.0.1/"))
	for j, fp := range []string{"0123456789abcdef", "0123456789abcdef", "fedcba9876543210", "1111111111111111", "2222222222222222", "3333333333333333", ""} {
		res := cloudflareResult("AMS", edge.CacheHit)
		res.Start = start.Add(time.Duration(j) * time.Minute)
		notAfter := start.Add(time.Duration(90+j) * 24 * time.Hour)
		res.TLS = prober.TLSState{Handshake: true, Verified: true, Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256,
			ALPN: "http/1.1", OCSPStapled: j >= 2, Certs: true, EarliestExpiry: notAfter.Add(-time.Hour),
			Leaf: prober.LeafCert{Fingerprint: fp, Serial: fmt.Sprintf("%02x", j+1), NotAfter: notAfter}}
		switch j {
		case 5: // expired: verification failed, no handshake
			res = prober.Result{Start: res.Start, Duration: time.Millisecond, CacheAge: -1, FailureReason: prober.ReasonTLS,
				TLS: prober.TLSState{Certs: true, EarliestExpiry: start.Add(-time.Hour), Leaf: prober.LeafCert{Fingerprint: fp, Serial: "06", NotAfter: start.Add(-time.Hour)}}}
		case 6: // connect refused: no handshake at all
			res = prober.Result{Start: res.Start, Duration: time.Millisecond, CacheAge: -1, FailureReason: prober.ReasonConnect}
		}
		m.record(secure, res)
		if j == 0 {
			m.record(plain, res)
		}
	}
	m.record(plain, cloudflareResult("AMS", edge.CacheHit))
	// Content: the version's series keeps the time of the first probe that got it, is
	// replaced when it changes, and past the cap of 3 is "other"; Last-Modified goes when the
	// response has none; a failed probe leaves the version; a body check failing starts its
	// reason's counter, the other reason at 0.
	obj := testTarget(t, "object", "https://127.0.0.1/")
	obj.Content = &config.Content{VersionFrom: config.VersionParts, PropagationWindow: config.Duration(5 * time.Minute)}
	obj.FailIfBodyMatchesRegexp = []string{"Maintenance"}
	objRunner := newRecordingRunner(t, m, obj)
	for j, v := range []string{"a1a1a1a1a1a1a1a1", "a1a1a1a1a1a1a1a1", "b2b2b2b2b2b2b2b2", "c3c3c3c3c3c3c3c3", "d4d4d4d4d4d4d4d4", "", "e5e5e5e5e5e5e5e5"} {
		res := cloudflareResult("FRA", edge.CacheHit)
		res.Start = start.Add(time.Duration(j) * time.Minute)
		res.Content = prober.Content{Version: v}
		if j < 4 {
			res.Content.LastModified = start.Add(-time.Duration(4-j) * time.Hour)
		}
		if v == "" {
			res.Success, res.FailureReason = false, prober.ReasonBodyMatchesRegexp
			res.Content = prober.Content{Version: "f6f6f6f6f6f6f6f6"}
		}
		m.record(objRunner, res)
	}
	m.metrics.vantageInfo.Set(1, "ams-office", "AMS", "Amsterdam", "NL", "EU", "52.3086", "4.7639")

	for _, om := range []bool{false, true} {
		file := "testdata/golden-text.txt"
		if om {
			file = "testdata/golden-openmetrics.txt"
		}
		if detail == DetailBasic {
			file = strings.Replace(file, "golden-", "golden-basic-", 1)
		}
		var got bytes.Buffer
		w := bufio.NewWriter(&got)
		if err := st.Write(w, om); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		if *update {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, got.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			gl, wl := bytes.Split(got.Bytes(), []byte("\n")), bytes.Split(want, []byte("\n"))
			for i := range min(len(gl), len(wl)) {
				if !bytes.Equal(gl[i], wl[i]) {
					t.Fatalf("%s line %d differs:\n got %s\nwant %s", file, i+1, gl[i], wl[i])
				}
			}
			t.Fatalf("%s: got %d lines, want %d", file, len(gl), len(wl))
		}
	}
}
