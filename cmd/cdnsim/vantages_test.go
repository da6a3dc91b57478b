package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"

	"github.com/popexporter/pop_exporter/config"
)

// fleetScenario: three offices on loopback addresses (one of them a whole network), and a
// target that anycast sends to each office's nearest PoP. Washington's route moves to
// Johannesburg after a minute; everyone else keeps their PoP. Clients outside the three see
// the target's own timeline.
const fleetScenario = `
vantages:
  - {name: ams-office, source: 127.0.0.2, location: AMS}
  - {name: sin-office, source: 127.0.0.3, location: sin}
  - {name: iad-office, source: 127.0.2.0/24, location: IAD}
targets:
  - name: www
    cdn: cloudflare
    pops: {stay: AMS}
    ttfb: {AMS: {median: 12ms}, default: {median: 90ms}}
    vantages:
      sin-office:
        pops: {stay: SIN}
        ttfb: {SIN: {median: 5ms}}
      iad-office:
        pops: {shift: {from: IAD, to: JNB, after: 60s}}
        ttfb: {default: {median: 240ms}, IAD: {median: 8ms}}
  - {name: plain, cdn: fastly, pops: {stay: FRA}}
`

// cfPoP asks the simulator for /www/ from a client address and returns the PoP of its CF-RAY.
func cfPoP(s *simulator, remoteAddr string) string {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/www/", nil)
	req.RemoteAddr = remoteAddr
	s.ServeHTTP(rec, req)
	return rec.Header().Get("Cf-Ray")[17:]
}

func TestVantagesSeeTheirOwnPoPs(t *testing.T) {
	clock := newFakeClock()
	s := newSimulator(mustScenario(t, fleetScenario), 1, clock.now, promslog.NewNopLogger())
	for _, tc := range []struct {
		at         time.Duration
		client     string
		want       string
		whoAsking  string
		wantReason string
	}{
		{0, "127.0.0.2:40000", "AMS", "ams-office", "its own PoP"},
		{0, "127.0.0.3:40000", "SIN", "sin-office", "its own PoP"},
		{0, "127.0.2.77:40000", "IAD", "iad-office (a /24)", "its own PoP"},
		{0, "127.0.0.1:40000", "AMS", "no vantage", "the target's timeline"},
		{0, "[::ffff:127.0.0.3]:40000", "SIN", "sin-office as a mapped IPv6 address", "its own PoP"},
		{61 * time.Second, "127.0.2.77:40000", "JNB", "iad-office", "its shift"},
		{61 * time.Second, "127.0.0.2:40000", "AMS", "ams-office", "no shift of its own"},
		{61 * time.Second, "127.0.0.3:40000", "SIN", "sin-office", "no shift of its own"},
	} {
		clock.t = renderTime.Add(tc.at)
		if got := cfPoP(s, tc.client); got != tc.want {
			t.Errorf("at %v, %s: PoP %s, want %s (%s)", tc.at, tc.whoAsking, got, tc.want, tc.wantReason)
		}
	}
}

// TTFB comes from the most specific entry: the vantage's for the PoP, the vantage's default,
// the target's for the PoP, the target's default, the built-in 20 ms.
func TestVantageTTFBLookup(t *testing.T) {
	sc := mustScenario(t, fleetScenario)
	tg := sc.Targets[0]
	r := newRNG(1, 2, 3)
	for _, tc := range []struct {
		vantage int
		pop     string
		want    time.Duration
	}{
		{-1, "AMS", 12 * time.Millisecond}, // target, PoP
		{0, "AMS", 12 * time.Millisecond},  // ams-office sees the target's entries
		{1, "SIN", 5 * time.Millisecond},   // vantage, PoP
		{2, "IAD", 8 * time.Millisecond},   // vantage, PoP
		{2, "JNB", 240 * time.Millisecond}, // vantage, default
		{1, "AMS", 12 * time.Millisecond},  // the target's PoP entry before its default
		{-1, "SIN", 90 * time.Millisecond}, // target, default
	} {
		if got := tg.ttfbFor(tc.pop, tg.view(tc.vantage), &r); got != tc.want {
			t.Errorf("vantage %d, PoP %s: ttfb %v, want %v", tc.vantage, tc.pop, got, tc.want)
		}
	}
	plain := sc.Targets[1]
	if got := plain.ttfbFor("FRA", plain.view(1), &r); got < 2500*time.Microsecond || got > 37500*time.Microsecond {
		t.Errorf("target without ttfb: %v, want the built-in 20ms ± 3.5·5ms", got)
	}
}

// Over real sockets: an exporter bound to a vantage's source address gets that vantage's PoP.
// Every address of 127.0.0.0/8 is local on Linux, so this needs no setup.
func TestVantageBySourceAddressOverTCP(t *testing.T) {
	rs, _ := startTest(t, fleetScenario)
	for source, want := range map[string]string{"127.0.0.1": "AMS", "127.0.0.3": "SIN", "127.0.2.9": "IAD"} {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}}
		client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
		resp, err := client.Get("http://" + rs.ep.httpAddr + "/www/")
		if err != nil {
			t.Fatalf("from %s: %v", source, err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Cf-Ray")[17:]; got != want {
			t.Errorf("from %s: PoP %s, want %s", source, got, want)
		}
	}
}

func TestIndexListsVantages(t *testing.T) {
	s := newSimulator(mustScenario(t, fleetScenario), 1, newFakeClock().now, promslog.NewNopLogger())
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	want := "# cdnsim: 2 targets, seed 1, started 2025-02-04T14:11:49Z\n" +
		"# vantage ams-office: clients in 127.0.0.2/32, at AMS\n" +
		"# vantage sin-office: clients in 127.0.0.3/32, at SIN\n" +
		"# vantage iad-office: clients in 127.0.2.0/24, at IAD\n" +
		"/www/\tcloudflare\thttps\tstay AMS\n" +
		"\tsin-office: stay SIN\n" +
		"\tiad-office: shift IAD->JNB after 1m0s\n" +
		"/plain/\tfastly\thttps\tstay FRA\n"
	if rec.Body.String() != want {
		t.Errorf("index:\n%s\nwant:\n%s", rec.Body.String(), want)
	}
}

// A vantage's printed config names the vantage, binds its probes to the vantage's source
// address, and expects the PoPs that vantage starts on.
func TestVantageExporterConfig(t *testing.T) {
	sc := mustScenario(t, fleetScenario)
	ep := endpoints{httpAddr: "127.0.0.1:8081", httpsAddr: "127.0.0.1:8443", caFile: "/abs/ca.pem"}
	out, err := buildExporterConfig(sc, ep, 2*time.Second, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := `# pop_exporter configuration for a cdnsim scenario (generated by cdnsim).
vantage:
  name: iad-office
  location: IAD
defaults:
  interval: 2s
  timeout: 1s500ms
  source_address: 127.0.2.1
targets:
  - name: www
    url: https://127.0.0.1:8443/www/
    tls:
      ca_file: /abs/ca.pem
    expected_pops:
      - IAD
  - name: plain
    url: https://127.0.0.1:8443/plain/
    tls:
      ca_file: /abs/ca.pem
    expected_pops:
      - FRA
`
	if string(out) != want {
		t.Errorf("config:\n%s\nwant:\n%s", out, want)
	}
	out, err = buildExporterConfig(sc, ep, 2*time.Second, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "source_address: 127.0.0.3\n") || !strings.Contains(string(out), "location: SIN\n") {
		t.Errorf("sin-office config:\n%s", out)
	}
}

// A target's interval goes to the printed config with a timeout of ¾ of it.
func TestTargetIntervalInExporterConfig(t *testing.T) {
	sc := mustScenario(t, `
targets:
  - {name: slow, cdn: cloudflare, pops: {stay: AMS}, ttfb: {AMS: {median: 1300ms, jitter: 50ms}}, interval: 3s}
`)
	out, err := buildExporterConfig(sc, endpoints{httpAddr: "127.0.0.1:8081"}, time.Second, -1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "    interval: 3s\n    timeout: 2s200ms\n") {
		t.Errorf("config:\n%s", out)
	}
	if _, err := ParseScenario("inline", []byte("targets:\n  - {name: a, cdn: fly, pops: {stay: AMS}, interval: 1ms}\n")); err == nil ||
		err.Error() != `inline: line 2: target "a": interval 1ms is shorter than 10ms` {
		t.Errorf("interval 1ms: err %v", err)
	}
}

// --config.out with {vantage} writes one config per vantage once listening.
func TestConfigOutPerVantage(t *testing.T) {
	dir := t.TempDir()
	scenario := filepath.Join(dir, "fleet.yml")
	if err := os.WriteFile(scenario, []byte(fleetScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := options{seed: 1, scenarioFile: scenario, httpAddr: "127.0.0.1:0", httpsAddr: "127.0.0.1:0",
		caFile: filepath.Join(dir, "ca.pem"), configOut: filepath.Join(dir, "exporter-{vantage}.yml"), configInterval: time.Second}
	sc, err := loadScenario(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveScenario(ctx, sc, opts, opts.caFile, promslog.NewNopLogger()) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serveScenario: %v", err)
		}
	}()
	for _, v := range []string{"ams-office", "sin-office", "iad-office"} {
		path := filepath.Join(dir, "exporter-"+v+".yml")
		var data []byte
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if data, err = os.ReadFile(path); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("%s not written: %v", path, err)
		}
		if !strings.Contains(string(data), "  name: "+v+"\n") {
			t.Errorf("%s:\n%s", path, data)
		}
	}
}

func TestConfigOutputsErrors(t *testing.T) {
	fleet, single := mustScenario(t, fleetScenario), mustScenario(t, timelineScenario)
	for _, tc := range []struct {
		sc            *Scenario
		path, vantage string
		want          string
	}{
		{single, "/x/{vantage}.yml", "", "--config.out has {vantage} but the scenario defines no vantages"},
		{fleet, "/x/{vantage}.yml", "ams-office", "--print-config.vantage picks one vantage, {vantage} in --config.out asks for all"},
		{fleet, "/x/e.yml", "nyc-office", `--print-config.vantage "nyc-office" is not a vantage of the scenario (ams-office, sin-office, iad-office)`},
		{single, "/x/e.yml", "ams-office", `--print-config.vantage "ams-office": the scenario defines no vantages`},
	} {
		if _, err := configOutputs(tc.sc, tc.path, tc.vantage); err == nil || err.Error() != tc.want {
			t.Errorf("configOutputs(%q, %q): err %v, want %q", tc.path, tc.vantage, err, tc.want)
		}
	}
	got, err := configOutputs(fleet, "/x/e.yml", "sin-office")
	if err != nil || len(got) != 1 || got[0] != (configOutput{vantage: 1, file: "/x/e.yml"}) {
		t.Errorf("one vantage: %v, %v", got, err)
	}
}

// The exporter loads every vantage's printed config, source address included.
func TestExporterAcceptsVantageConfig(t *testing.T) {
	sc := mustScenario(t, fleetScenario)
	out, err := buildExporterConfig(sc, endpoints{httpAddr: "127.0.0.1:8081"}, 5*time.Second, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(out, "cdnsim-sin-office.yml")
	if err != nil {
		t.Fatalf("exporter rejects the printed config: %v", err)
	}
	if cfg.Vantage.Name != "sin-office" || cfg.Vantage.Location != "SIN" {
		t.Errorf("vantage %+v", cfg.Vantage)
	}
	for _, tg := range cfg.Targets {
		if tg.SourceAddress != "127.0.0.3" {
			t.Errorf("target %s probes from %q, want 127.0.0.3", tg.Name, tg.SourceAddress)
		}
	}
}
