package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDefaultScenarioCoversEveryVendor(t *testing.T) {
	sc, err := ParseScenario("default", defaultScenario)
	if err != nil {
		t.Fatalf("default scenario does not parse: %v", err)
	}
	seen := map[string]bool{}
	var shift, flap, random, failing bool
	for _, tg := range sc.Targets {
		seen[tg.CDN] = true
		if s := tg.PoPs.Shift; s != nil && s.From == "AMS" && s.To == "SIN" {
			shift = true
		}
		flap = flap || tg.PoPs.Flap != nil
		random = random || len(tg.PoPs.Random) > 1
		failing = failing || (tg.Faults.ErrorRate == 1 && tg.Faults.Status >= 500)
	}
	for _, v := range vendors {
		if !seen[v.name] {
			t.Errorf("default scenario has no %s target", v.name)
		}
	}
	if !shift || !flap || !random || !failing {
		t.Errorf("default scenario lacks a story: AMS->SIN shift %v, flap %v, random %v, failing %v", shift, flap, random, failing)
	}
}

func TestParseScenarioDefaults(t *testing.T) {
	sc, err := ParseScenario("inline", []byte(`
targets:
  - name: t1
    cdn: fly
    pops: {stay: AMS}
  - name: t2
    cdn: cloudflare
    scheme: http
    pops: {shift: {from: AMS, to: SIN, after: 1m30s}}
    ttfb: {default: {median: 40ms}}
    faults: {error_rate: 0.5}
`))
	if err != nil {
		t.Fatal(err)
	}
	t1, t2 := sc.Targets[0], sc.Targets[1]
	if t1.Scheme != "https" || t1.Status != 200 {
		t.Errorf("t1 defaults: scheme %q status %d, want https 200", t1.Scheme, t1.Status)
	}
	if len(t1.cacheCW) != 1 || t1.cacheCW[0].status != "unknown" {
		t.Errorf("fly default cache mix = %v, want only unknown", t1.cacheCW)
	}
	if t2.Faults.Status != 503 || time.Duration(t2.Faults.TimeoutHold) != time.Minute || time.Duration(t2.Faults.SlowHeadersTime) != 3*time.Second {
		t.Errorf("fault defaults = %+v", t2.Faults)
	}
	if time.Duration(t2.PoPs.Shift.After) != 90*time.Second {
		t.Errorf("shift after = %v, want 1m30s", time.Duration(t2.PoPs.Shift.After))
	}
	if len(t2.cacheCW) != 1 || t2.cacheCW[0].status != "hit" {
		t.Errorf("cloudflare default cache mix = %v, want only hit", t2.cacheCW)
	}
}

// Every invalid scenario has its own file and an exact message naming the line and field.
func TestParseScenarioErrors(t *testing.T) {
	want := map[string]string{
		"invalid-cache-status.yml":         `line 2: target "a": cache: unknown cache status "warm" (one of hit, miss, expired, stale, revalidated, bypass, dynamic, error, unknown)`,
		"invalid-cache-vendor.yml":         `line 2: target "a": cache: cdn gcore cannot show cache status "stale" (it can show: hit, miss, unknown)`,
		"invalid-duplicate.yml":            `line 5: target "a": name already used on line 2`,
		"invalid-duration.yml":             `line 5: invalid duration "soon"`,
		"invalid-empty.yml":                `empty scenario`,
		"invalid-fault-window.yml":         `line 2: target "a": faults: until (1m0s) must be later than after (2m0s)`,
		"invalid-flap.yml":                 `line 2: target "a": pops: flap.between needs exactly two PoPs, got 1`,
		"invalid-name.yml":                 `line 2: target "a/b": name must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`,
		"invalid-no-targets.yml":           `no targets`,
		"invalid-no-timeline.yml":          `line 2: target "a": pops: exactly one of stay, shift, flap, random, dns is required (0 given)`,
		"invalid-pop-code.yml":             `line 2: target "a": pops: "AMS" is not a bunny PoP code (^[A-Z]{2,3}[0-9]{1,2}$)`,
		"invalid-rates.yml":                `line 2: target "a": faults: rates add up to 1.1, more than 1`,
		"invalid-shield.yml":               `line 2: target "a": shield: cdn cloudflare shows no upstream PoP`,
		"invalid-ttfb-pop.yml":             `line 2: target "a": ttfb: "SNG" is neither one of the target's PoPs (AMS, SIN) nor default`,
		"invalid-two-timelines.yml":        `line 5: target "both": pops: exactly one of stay, shift, flap, random, dns is required (2 given)`,
		"invalid-unknown-cdn.yml":          `line 2: target "a": unknown cdn "limelight" (one of cloudflare, cloudfront, fastly, akamai, azure, vercel, netlify, fly, bunny, keycdn, cdn77, gcore)`,
		"invalid-unknown-key.yml":          "yaml: unmarshal errors:\n  line 5: field colour not found in type main.Target",
		"invalid-vantage-source.yml":       `line 2: vantage "ams-office": source "127.0.0.300" is neither an IP address nor a prefix`,
		"invalid-vantage-overlap.yml":      `line 3: vantage "everyone": source 127.0.0.0/8 overlaps 127.0.0.2/32 of vantage "ams-office" (line 2)`,
		"invalid-vantage-location.yml":     `line 2: vantage "ams-office": location "QQQ" is not a code the exporter's geo table knows`,
		"invalid-vantage-unknown.yml":      `line 5: target "a": vantages: "nyc-office" is not a vantage of the scenario (ams-office, sin-office)`,
		"invalid-vantage-pop.yml":          `line 4: target "a": vantages: sin-office: pops: "Sydney" is not a cloudflare PoP code (^[A-Z]{3}$)`,
		"invalid-vantage-ttfb.yml":         `line 4: target "a": vantages: sin-office: ttfb: "AMS" is neither one of the vantage's PoPs (SIN) nor default`,
		"invalid-dns-duplicate-listen.yml": `line 5: dns: resolvers: listen 127.0.53.1 is already used on line 4`,
		"invalid-dns-listen.yml":           `line 4: dns: resolvers: listen "192.0.2.53" is not a loopback address`,
		"invalid-dns-name.yml":             `line 5: dns: resolvers: name "ams" already used on line 4 (each resolver and ecs entry needs its own name)`,
		"invalid-dns-pop-code.yml":         `line 5: target "a": pops: dns region "AMS" is not a bunny PoP code (^[A-Z]{2,3}[0-9]{1,2}$)`,
		"invalid-dns-region-address.yml":   `line 4: dns: regions: SIN: "10.0.0.2" is not an IPv4 address in 127.0.0.0/8`,
		"invalid-dns-scope.yml":            `line 6: dns: ecs: scope 25 is not between 0 and the prefix length of 203.0.113.0/24`,
		"invalid-dns-subnet.yml":           `line 5: dns: ecs: subnet "203.0.113.0/33" is not a prefix such as 203.0.113.0/24`,
		"invalid-dns-subnet-long.yml":      `line 5: dns: ecs: subnet 203.0.113.128/25 is longer than an exporter sends (at most /24)`,
		"invalid-dns-transport.yml":        `line 3: dns: resolvers: transport "https" is not udp or tcp (cdnsim serves DNS over UDP and TCP only)`,
		"invalid-dns-ttfb.yml":             `line 5: target "a": ttfb: "IAD" is neither one of the target's PoPs (AMS, SIN) nor default`,
		"invalid-dns-unknown-region.yml":   `line 5: dns: resolvers: region "FRA" is not one of the regions (AMS, SIN)`,
		"invalid-dns-without-section.yml":  `line 3: target "b": pops: dns needs the scenario's dns section`,
	}
	files, err := filepath.Glob("testdata/invalid-*.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		if _, ok := want[name]; !ok {
			t.Errorf("%s has no expected error in this test", name)
		}
	}
	for name, msg := range want {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			_, err = ParseScenario(name, data)
			if err == nil {
				t.Fatalf("no error, want %q", msg)
			}
			if got, want := err.Error(), name+": "+msg; got != want {
				t.Errorf("error:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestGeneratedTargets(t *testing.T) {
	sc, err := ParseScenario("default", defaultScenario)
	if err != nil {
		t.Fatal(err)
	}
	before := len(sc.Targets)
	if err := sc.addGenerated(2000); err != nil {
		t.Fatal(err)
	}
	if got := len(sc.Targets) - before; got != 2000 {
		t.Fatalf("generated %d targets, want 2000", got)
	}
	var cdns []string
	for _, tg := range sc.Targets[before : before+len(vendors)] {
		cdns = append(cdns, tg.CDN)
	}
	if !slices.Equal(cdns, vendorNames()) {
		t.Errorf("generated targets cycle through %v, want %v", cdns, vendorNames())
	}
	if err := sc.validate(); err != nil {
		t.Errorf("scenario with generated targets is invalid: %v", err)
	}
	if !strings.HasPrefix(sc.Targets[before].Name, "gen-00001-") {
		t.Errorf("first generated name = %q", sc.Targets[before].Name)
	}
}
