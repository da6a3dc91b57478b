package config

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/popexporter/pop_exporter/collector/edge"
	"github.com/popexporter/pop_exporter/collector/geo"
)

// TestInvalidConfigs asserts the exact error for each testdata/invalid-*.yml, one file per
// kind of mistake, as users see it from --config.check.
func TestInvalidConfigs(t *testing.T) {
	if _, ok := geo.Lookup("", "AMS"); !ok {
		t.Fatal(`geo.Lookup("", "AMS") finds nothing: the geo table is missing, vantage.location cannot be validated`)
	}
	tests := map[string]string{
		"yaml-indent-less":         `:4: yaml indentation: "interval" is indented 3 spaces, which lines up with no key above it: 4 spaces put it beside "url" (line 3), or 2 beside "- name" (line 2)`,
		"yaml-indent-more":         `:4: yaml indentation: "interval" is indented 6 spaces, more than "url" on line 3, which already has a value: indent it 4 spaces, as "url" is`,
		"yaml-tab":                 `:4: yaml indentation: a tab character: YAML indents with spaces only`,
		"yaml-unclosed-quote":      `:3: yaml: the file ends inside a quoted string or a [ ] or { } list that begins here: close it`,
		"unknown-key-location":     `:3: unknown key "location" at the top level: it belongs under vantage: (vantage: {location: …})`,
		"unknown-key-expected-pop": `:4: targets[0]: unknown key "expected_pop" (did you mean "expected_pops"?)`,
		"url-no-scheme":            `:3: targets[0].url: URL "127.0.0.1:8081/x" has no scheme: write http://127.0.0.1:8081/x or https://127.0.0.1:8081/x`,
		"several": `:4: vantage.location: unknown IATA code "XQZ"
testdata/invalid-several.yml:8: targets[0]: unknown key "intervall" (did you mean "interval"?)
testdata/invalid-several.yml:11: targets[1].timeout: timeout 40s must be shorter than interval 30s (built-in default)`,
		"several-in-one-target": `:3: targets[0].name: invalid name "my site": must match ^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$
testdata/invalid-several-in-one-target.yml:4: targets[0].url: URL "127.0.0.1:8081/x" has no scheme: write http://127.0.0.1:8081/x or https://127.0.0.1:8081/x
testdata/invalid-several-in-one-target.yml:5: targets[0].method: unsupported method "FETCH" (want one of GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH)
testdata/invalid-several-in-one-target.yml:6: targets[0].expected_pops[1]: invalid PoP code "A-M": must match ^[A-Za-z0-9]{2,16}$`,
		"too-many-errors":                tooManyErrors(),
		"multiple-documents":             `:4: yaml: multiple documents are not supported`,
		"wrong-type":                     `:1: vantage: want a mapping, got a scalar`,
		"unknown-key":                    `:4: targets[0]: unknown key "intervall" (did you mean "interval"?)`,
		"unknown-key-top":                `:1: unknown key "target" (did you mean "targets"?)`,
		"duplicate-key":                  `:4: targets[0]: duplicate key "url" (first at line 3)`,
		"duplicate-name":                 `:10: targets[3].name: duplicate target name "www" (first at line 6)`,
		"empty":                          `:1: targets: at least one target is required`,
		"no-targets":                     `:3: targets: at least one target is required`,
		"name-empty":                     `:2: targets[0].name: name is required`,
		"name":                           `:2: targets[0].name: invalid name "my site": must match ^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`,
		"vantage-name":                   `:2: vantage.name: invalid name "office/3rd floor": must match ^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`,
		"url-missing":                    `:2: targets[0].url: url is required`,
		"url-parse":                      `:3: targets[0].url: invalid URL: parse "https://www.exa mple.com/": invalid character " " in host name`,
		"url-scheme":                     `:3: targets[0].url: unsupported scheme "ftp" in "ftp://ftp.example.com/" (want http or https)`,
		"url-no-host":                    `:3: targets[0].url: URL "https:///index.html" has no host`,
		"duration":                       `:4: targets[0].interval: invalid duration "15 seconds": want a number and a unit such as 500ms, 15s, 1m30s or 1h`,
		"duration-zero":                  `:2: defaults.interval: must be positive, got 0s`,
		"duration-negative":              `:4: targets[0].timeout: must be positive, got -5s`,
		"timeout-interval":               `:5: targets[0].timeout: timeout 10s must be shorter than interval 10s`,
		"timeout-defaults":               `:6: targets[0].interval: interval 5s must be longer than timeout 10s (defaults.timeout)`,
		"baseline-window":                `:5: targets[0].baseline_window: baseline_window 30s must be at least interval 1m`,
		"baseline-window-ns":             `:5: targets[0].baseline_window: baseline_window 1ns must be at least interval 1m`,
		"baseline-window-default":        `:4: targets[0].interval: interval 1h must be at most baseline_window 30m (built-in default)`,
		"location":                       `:3: vantage.location: unknown IATA code "XYZ"`,
		"location-and-coordinates":       `:2: vantage.location: set either location or latitude/longitude, not both`,
		"latitude-only":                  `:2: vantage.latitude: latitude requires longitude`,
		"longitude-only":                 `:2: vantage.longitude: longitude requires latitude`,
		"latitude-range":                 `:2: vantage.latitude: latitude 91 is outside [-90, 90]`,
		"longitude-range":                `:3: vantage.longitude: longitude -180.5 is outside [-180, 180]`,
		"method":                         `:4: targets[0].method: unsupported method "FETCH" (want one of GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH)`,
		"defaults-method":                `:2: defaults.method: unsupported method "CONNECT" (want one of GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH)`,
		"header-name":                    `:5: targets[0].headers.X Probe: invalid header name "X Probe"`,
		"header-duplicate":               `:4: defaults.headers.user-agent: duplicate header "user-agent" (header names are case-insensitive; first at line 3)`,
		"header-value":                   `:5: targets[0].headers.X-Probe: invalid header value "a\r\nX-Injected: 1": control characters are not allowed`,
		"header-value-long":              `:5: targets[0].headers.X-Big: header value is 9000 bytes, more than the limit of 8192`,
		"interval-min":                   `:2: defaults.interval: must be at least 1s, got 1ns`,
		"timeout-min":                    `:4: targets[0].timeout: must be at least 10ms, got 1ms`,
		"ip-protocol":                    `:4: targets[0].ip_protocols[1]: unknown IP protocol "ipv6" (want ip4 or ip6)`,
		"ip-protocol-duplicate":          `:5: defaults.ip_protocols[2]: duplicate IP protocol "ip6"`,
		"ip-protocols-empty":             `:4: targets[0].ip_protocols: must list ip4, ip6 or both`,
		"protocol":                       `:4: targets[0].protocols[1]: unknown protocol "h3" (want http1.1, http2, http3)`,
		"protocol-duplicate":             `:5: defaults.protocols[2]: duplicate protocol "http2"`,
		"protocols-empty":                `:4: targets[0].protocols: must list at least one of http1.1, http2, http3`,
		"protocol-http3-http":            `:4: targets[0].protocols[1]: http3 needs an https:// URL, the target's is http://`,
		"protocol-http2-defaults":        `:7: targets[1].url: http:// URL, but protocols (from defaults) lists http2, which needs https://; set the target's own protocols`,
		"status-code":                    `:4: targets[0].valid_status_codes[1]: status code 600 is outside 100-599`,
		"status-code-type":               `:4: targets[0].valid_status_codes[1]: invalid value "OK": want an integer`,
		"resolve":                        `:4: targets[0].resolve: invalid IP address "www.example.net"`,
		"resolve-family":                 `:5: targets[0].resolve: address 203.0.113.10 is ip4, but ip_protocols lists ip6`,
		"source-address":                 `:2: defaults.source_address: invalid IP address "127.0.0.256"`,
		"source-address-family":          `:5: targets[0].source_address: address 127.0.0.2 is ip4, but ip_protocols lists ip6`,
		"source-address-defaults-family": `:2: defaults.source_address: address 127.0.0.2 is ip4, but target "both" probes ip6`,
		"content-version-from":           `:5: targets[0].content.version_from[1]: unknown version part "checksum" (want etag, last_modified, body)`,
		"content-version-duplicate":      `:8: targets[0].content.version_from[2]: duplicate version part "body"`,
		"content-version-empty":          `:5: targets[0].content.version_from: must list at least one of etag, last_modified, body`,
		"content-head-body":              `:6: targets[0].content.version_from[1]: a HEAD request gets no body to hash: use another method, or leave body out`,
		"content-window":                 `:7: targets[0].content.propagation_window: propagation_window 30s must be at least interval 1m`,
		"content-window-zero":            `:4: targets[0].content.propagation_window: must be positive, got 0s`,
		"content-type":                   `:4: targets[0].content: want a mapping, got a scalar`,
		"body-regexp":                    `:6: targets[0].fail_if_body_matches_regexp[1]: invalid regular expression "(unclosed": error parsing regexp: missing closing ): ` + "`(unclosed`",
		"body-regexp-head":               `:5: targets[0].fail_if_body_not_matches_regexp: a HEAD request gets no body to match: use another method`,
		"dns-server":                     `:4: targets[0].dns_server: "1.1.1.1" is not host:port: address 1.1.1.1: missing port in address`,
		"dns-server-port":                `:4: targets[0].dns_server: "[2606:4700:4700::1111]:dns" is not host:port: invalid port "dns"`,
		"resolver-name":                  `:7: targets[0].resolvers[1].name: invalid name "my resolver": must match ^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`,
		"resolver-duplicate":             `:7: defaults.resolvers[2].name: duplicate resolver name "local" (first at line 3)`,
		"resolver-server":                `:6: targets[0].resolvers[0].server: "1.1.1.1:dns" is not host:port: invalid port "dns"`,
		"resolver-transport":             `:7: targets[0].resolvers[0].transport: unknown transport "quic" (want udp, tcp or https)`,
		"resolver-https-url":             `:7: targets[0].resolvers[0].server: transport https needs an https:// URL such as https://dns.example/dns-query, got "1.1.1.1:443"`,
		"resolver-url-udp":               `:6: targets[0].resolvers[0].server: "https://dns.example/dns-query" is a URL, which only transport https takes (want host:port for udp)`,
		"resolver-ecs":                   `:7: targets[0].resolvers[0].ecs: invalid prefix "203.0.113.0": want an address and a length such as 203.0.113.0/24 or 2001:db8::/56`,
		"resolver-ecs-long":              `:5: defaults.resolvers[0].ecs: source prefix /64 is longer than /56, the most sent for an IPv6 client subnet (as public resolvers do)`,
		"resolver-ecs-system":            `:7: targets[0].resolvers[0].ecs: the system resolver cannot send an EDNS Client Subnet option`,
		"resolver-system-transport":      `:7: targets[0].resolvers[0].transport: the system resolver has no transport of its own`,
		"resolver-system-name":           `:5: targets[0].resolvers[0].name: the name "system" means the operating system's resolver; a resolver with server "1.1.1.1:53" needs another name`,
		"resolver-dns-server":            `:4: targets[0].dns_server: set either dns_server or resolvers, not both (dns_server is short for one resolver)`,
		"resolver-resolve":               `:6: targets[0].resolvers: resolve pins the address, so no resolver would be asked: set either resolve or resolvers`,
		"resolvers-empty":                `:4: targets[0].resolvers: must list at least one resolver (leave the key out for the system resolver)`,
		"expected-pops":                  `:4: targets[0].expected_pops[1]: invalid PoP code "FRA-1": must match ^[A-Za-z0-9]{2,16}$`,
		"max-distance":                   `:4: targets[0].max_distance_km: must be a number >= 0, got -1`,
		"body-size-limit":                `:4: targets[0].body_size_limit: must be between 1 and 16MiB, got 32MiB`,
		"body-size-limit-zero":           `:4: targets[0].body_size_limit: must be between 1 and 16MiB, got 0`,
		"body-size-limit-unit":           `:4: targets[0].body_size_limit: invalid size "64K": unknown unit "K" (want B, KB, MB, GB, KiB, MiB or GiB)`,
		"ca-file-missing":                `:5: targets[0].tls.ca_file: cannot read CA file: open testdata/does-not-exist.pem: no such file or directory`,
		"ca-file-no-cert":                `:5: targets[0].tls.ca_file: no PEM certificate found in testdata/no-cert.pem`,
		"regex":                          ":7: rules[0].regex: regex \"^edge-([a-z]{3}[0-9]+$\" does not compile: error parsing regexp: missing closing ): `^edge-([a-z]{3}[0-9]+$`",
		"regex-no-group":                 `:7: rules[0].regex: regex must have exactly one capture group, has 0`,
		"rule-cdn":                       `:8: rules[1].cdn: cdn "My CDN" must match ^[a-z][a-z0-9_]{0,31}$`,
		"rule-header":                    `:5: rules[0].header: header must not be empty`,
		"target-files-glob":              `:5: target_files[1]: invalid glob "targets/[ab.yml": syntax error in pattern`,
		"target-files-empty":             `:2: target_files[0]: pattern must not be empty`,
	}
	checkInvalidFiles(t, "testdata/invalid-*.yml", tests, "Load", func(file string) (any, error) { return Load(file) })
}

// tooManyErrors is the message of testdata/invalid-too-many-errors.yml: 25 targets with a
// wrong timeout each, reported up to MaxErrors.
func tooManyErrors() string {
	const file = "testdata/invalid-too-many-errors.yml"
	var lines []string
	for i := range MaxErrors {
		lines = append(lines, fmt.Sprintf("%s:%d: targets[%d].timeout: invalid duration \"soon\": want a number and a unit such as 500ms, 15s, 1m30s or 1h", file, 4+3*i, i))
	}
	lines = append(lines, file+": stopped after 20 errors; fix these and check again")
	return strings.TrimPrefix(strings.Join(lines, "\n"), file)
}

// checkInvalidFiles loads every file matching pattern (named invalid-<case>.yml) and asserts
// its exact error, tests[<case>] after the file name, and that the error is a *config.Error
// naming that file. Every file has a case and every case a file, so neither can rot unnoticed.
func checkInvalidFiles(t *testing.T, pattern string, tests map[string]string, what string, load func(file string) (any, error)) {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(tests) {
		t.Errorf("%d %s files but %d test cases", len(files), pattern, len(tests))
	}
	for _, file := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(file), "invalid-"), ".yml")
		t.Run(name, func(t *testing.T) {
			want, ok := tests[name]
			if !ok {
				t.Fatalf("no expected error for %s", file)
			}
			want = file + want
			got, err := load(file)
			if err == nil {
				t.Fatalf("%s(%s) = %+v, want error %q", what, file, got, want)
			}
			if err.Error() != want {
				t.Errorf("%s(%s) error\n got: %s\nwant: %s", what, file, err, want)
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.File != file {
				t.Errorf("%s(%s) error is not a *config.Error for that file: %#v", what, file, err)
			}
		})
	}
}

// TestValidFull checks the effective value of every field after defaults are applied, for a
// file using every key of the configuration reference in CONFIGURATION.md.
func TestValidFull(t *testing.T) {
	cfg, err := Load("testdata/valid-full.yml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.File != "testdata/valid-full.yml" {
		t.Errorf("File = %q", cfg.File)
	}
	if cfg.Vantage.Name != "ams-office" || cfg.Vantage.Location != "AMS" || cfg.Vantage.Latitude != nil {
		t.Errorf("Vantage = %+v, want name ams-office, location uppercased to AMS", cfg.Vantage)
	}
	if len(cfg.Targets) != 3 {
		t.Fatalf("%d targets, want 3", len(cfg.Targets))
	}

	www := cfg.Targets[0]
	checkTarget(t, www, Target{
		Name: "www", URL: "https://www.example.com/",
		Settings: Settings{
			Interval: Duration(15 * time.Second), Timeout: Duration(10 * time.Second),
			Method: "GET",
			// The target's "user-agent" replaces the defaults' "User-Agent" (names are
			// case-insensitive); X-Probe is inherited; names are canonicalised.
			Headers:          map[string]string{"Pragma": "akamai-x-cache-on", "User-Agent": "custom/1.0", "X-Probe": "defaults"},
			BodySizeLimit:    64 << 10,
			FollowRedirects:  ptr(true),
			ValidStatusCodes: []int{200, 204, 301, 302, 304},
			// defaults say [ip4, ip6], but the pinned address is IPv4: only ip4 can reach it.
			IPProtocols:    []string{"ip4"},
			Protocols:      []string{"http1.1", "http2", "http3"}, // from defaults
			BaselineWindow: Duration(2 * time.Hour),
			SourceAddress:  "192.0.2.7",
		},
		Resolve:       "203.0.113.10",
		DNSServer:     "127.0.0.1:53",
		TLS:           TLSConfig{ServerName: "www.example.com", CAFile: filepath.Join("testdata", "ca.pem")},
		ExpectedPoPs:  []string{"AMS", "FRA", "LHR"},
		MaxDistanceKM: 1500,
		Content:       &Content{VersionFrom: []string{VersionETag, VersionBody}, PropagationWindow: Duration(5 * time.Minute)},

		FailIfBodyMatchesRegexp:    []string{"(?i)maintenance"},
		FailIfBodyNotMatchesRegexp: []string{"<title>", "ok$"},
	})
	if len(cfg.Compiled.Targets) != len(cfg.Targets) {
		t.Fatalf("%d compiled targets for %d targets", len(cfg.Compiled.Targets), len(cfg.Targets))
	}
	if c := cfg.Compiled.Targets[0]; len(c.FailIfBodyMatches) != 1 || len(c.FailIfBodyNotMatches) != 2 || !c.FailIfBodyMatches[0].MatchString("MAINTENANCE") {
		t.Errorf("compiled body checks = %v / %v", c.FailIfBodyMatches, c.FailIfBodyNotMatches)
	}
	if cfg.Targets[1].Content != nil {
		t.Errorf("a target without content: has content %+v", cfg.Targets[1].Content)
	}
	if cfg.Compiled.Targets[0].RootCAs == nil {
		t.Error("tls.ca_file set but RootCAs is nil")
	}
	if u := cfg.Compiled.Targets[0].URL; u == nil || u.Host != "www.example.com" || u.Scheme != "https" {
		t.Errorf("compiled URL = %v", u)
	}

	// Everything else inherited from the defaults section.
	api := cfg.Targets[1]
	checkTarget(t, api, Target{
		Name: "api.v2", URL: "http://api.example.com:8080/health",
		Settings: Settings{
			Interval: Duration(30 * time.Second), Timeout: Duration(10 * time.Second),
			Method:           "GET",
			Headers:          map[string]string{"User-Agent": "pop_exporter/test", "X-Probe": "defaults"},
			BodySizeLimit:    32 << 10,
			FollowRedirects:  ptr(false),
			ValidStatusCodes: []int{200},
			IPProtocols:      []string{"ip4", "ip6"},
			Protocols:        []string{"http1.1"}, // its own: http2 and http3 need https
			BaselineWindow:   Duration(time.Hour),
			Resolvers: []Resolver{{Name: "os", Server: "system"},
				{Name: "local", Server: "127.0.0.53", Transport: "tcp", ECS: "203.0.113.77/24"},
				{Name: "doh", Server: "https://127.0.0.1:8443/dns-query"}},
		},
	})
	if u := cfg.Compiled.Targets[1]; u.URL.Port() != "8080" || u.RootCAs != nil {
		t.Errorf("compiled URL port = %q, want 8080; RootCAs %v, want nil (system roots)", u.URL.Port(), u.RootCAs)
	}

	// The resolvers as the probes use them: the port defaulted, the client subnet masked,
	// the transport of an https:// URL https.
	doh, _ := url.Parse("https://127.0.0.1:8443/dns-query")
	if got, want := cfg.Compiled.Targets[1].Resolvers, []CompiledResolver{{Name: "os"},
		{Name: "local", Transport: "tcp", Addr: "127.0.0.53:53", ECS: netip.MustParsePrefix("203.0.113.0/24")},
		{Name: "doh", Transport: "https", URL: doh}}; !reflect.DeepEqual(got, want) {
		t.Errorf("compiled resolvers\n got: %+v\nwant: %+v", got, want)
	}
	// www sets dns_server (and resolve): it inherits no resolvers; dns_server is its one,
	// named default.
	if got, want := cfg.Compiled.Targets[0].Resolvers, []CompiledResolver{{Name: "default", Transport: "udp", Addr: "127.0.0.1:53"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("dns_server: compiled resolvers %+v, want %+v", got, want)
	}

	v6 := cfg.Targets[2]
	if got, want := cfg.Compiled.Targets[2].Resolvers, []CompiledResolver{{Name: "v6", Transport: "udp", Addr: "[::1]:5353",
		ECS: netip.MustParsePrefix("2001:db8:aa00::/56")}}; !reflect.DeepEqual(got, want) {
		t.Errorf("v6-only: compiled resolvers %+v, want %+v", got, want)
	}
	if !slices.Equal(v6.Protocols, []string{"http3"}) {
		t.Errorf("v6-only: protocols %v, want [http3]", v6.Protocols)
	}
	if !slices.Equal(v6.IPProtocols, []string{"ip6"}) || v6.Timeout != Duration(5*time.Second) || v6.Interval != Duration(2*time.Minute) {
		t.Errorf("v6-only: ip_protocols %v timeout %s interval %s, want [ip6] 5s 2m", v6.IPProtocols, v6.Timeout, v6.Interval)
	}

	// Patterns are kept as written; TargetFilePatterns places them beside the file.
	if want := []string{"targets/valid-*.yml", "targets/valid-full.yml"}; !slices.Equal(cfg.TargetFiles, want) {
		t.Errorf("TargetFiles = %q, want %q", cfg.TargetFiles, want)
	}

	if len(cfg.Rules) != 1 || len(cfg.Compiled.Rules) != 1 {
		t.Fatalf("%d rules, %d compiled, want 1", len(cfg.Rules), len(cfg.Compiled.Rules))
	}
	r := cfg.Compiled.Rules[0]
	if r == nil {
		t.Fatal("rule not compiled")
	}
	want := edge.RuleSpec{CDN: "mycdn", Header: "X-Edge", Regex: `^edge-([a-z]{3})[0-9]+$`,
		CacheHeader: "X-Edge-Cache", CacheValues: map[string]string{"TCP_HIT": "hit", "TCP_MISS": "miss"}}
	if !reflect.DeepEqual(r.Spec, want) {
		t.Errorf("compiled spec = %+v, want %+v", r.Spec, want)
	}
}

// checkTarget compares the effective values of a target.
func checkTarget(t *testing.T, got, want Target) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("target %s:\n got: %s\nwant: %s", want.Name, dump(got), dump(want))
	}
}

func dump(t Target) string {
	fr := "<nil>"
	if t.FollowRedirects != nil {
		fr = strconv.FormatBool(*t.FollowRedirects)
	}
	t.FollowRedirects = nil
	return fmt.Sprintf("%+v follow_redirects=%s", t, fr)
}

func ptr[T any](v T) *T { return &v }

// TestValidMinimal shows the built-in defaults a user gets for a target that sets only a
// name and a URL.
func TestValidMinimal(t *testing.T) {
	cfg, err := Load("testdata/valid-minimal.yml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Vantage.Name != "default" {
		t.Errorf("vantage name = %q, want default", cfg.Vantage.Name)
	}
	checkTarget(t, cfg.Targets[0], Target{
		Name: "www", URL: "https://www.example.com/",
		Settings: Settings{
			Interval:        Duration(30 * time.Second),
			Timeout:         Duration(10 * time.Second),
			Method:          "GET",
			BodySizeLimit:   64 << 10,
			FollowRedirects: ptr(true),
			IPProtocols:     []string{"ip4"},
			Protocols:       []string{"http1.1"}, // what every probe spoke before protocols existed
			BaselineWindow:  Duration(30 * time.Minute),
		},
	})
}

// TestValidCoordinates: a vantage given by coordinates, and targets sharing settings with a
// YAML anchor and merge key.
func TestValidCoordinates(t *testing.T) {
	cfg, err := Load("testdata/valid-coordinates.yml")
	if err != nil {
		t.Fatal(err)
	}
	v := cfg.Vantage
	if v.Latitude == nil || *v.Latitude != 52.37 || v.Longitude == nil || *v.Longitude != 4.89 || v.Location != "" {
		t.Errorf("vantage = %+v, want latitude 52.37 longitude 4.89", v)
	}
	b := cfg.Targets[1]
	if b.Name != "b" || b.URL != "https://b.example.com/" || b.Interval != Duration(10*time.Second) || b.Headers["X-Team"] != "sre" {
		t.Errorf("merged target = %+v, want name b, own URL, interval 10s and headers from the anchor", b)
	}
}

func TestDefaultTimeout(t *testing.T) {
	tests := []struct {
		yaml string
		want time.Duration
	}{
		// min(10s, 80% of the interval)
		{"targets: [{name: a, url: 'http://a/', interval: 5s}]", 4 * time.Second},
		{"targets: [{name: a, url: 'http://a/', interval: 1m}]", 10 * time.Second},
		{"targets: [{name: a, url: 'http://a/', interval: 1s}]", 800 * time.Millisecond},
		// defaults.timeout wins over the built-in rule, the target's over both.
		{"defaults: {timeout: 3s}\ntargets: [{name: a, url: 'http://a/', interval: 5s}]", 3 * time.Second},
		{"defaults: {timeout: 3s}\ntargets: [{name: a, url: 'http://a/', timeout: 2s}]", 2 * time.Second},
		// The built-in rule uses the interval the target ends up with.
		{"defaults: {interval: 2s}\ntargets: [{name: a, url: 'http://a/'}]", 1600 * time.Millisecond},
	}
	for _, tt := range tests {
		cfg, err := Parse([]byte(tt.yaml), "t.yml")
		if err != nil {
			t.Errorf("%s: %v", tt.yaml, err)
			continue
		}
		if got := time.Duration(cfg.Targets[0].Timeout); got != tt.want {
			t.Errorf("%s: timeout %s, want %s", tt.yaml, got, tt.want)
		}
	}
}

// TestResolveDecidesIPProtocol: a pinned address can only be reached over its own family, so
// it overrides inherited ip_protocols.
func TestResolveDecidesIPProtocol(t *testing.T) {
	cfg, err := Parse([]byte(`
defaults: {ip_protocols: [ip4, ip6]}
targets:
  - {name: v6, url: 'https://a/', resolve: '2001:db8::10'}
  - {name: v4, url: 'https://a/', resolve: 203.0.113.10}
  - {name: both, url: 'https://a/'}
`), "t.yml")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range [][]string{{"ip6"}, {"ip4"}, {"ip4", "ip6"}} {
		if got := cfg.Targets[i].IPProtocols; !slices.Equal(got, want) {
			t.Errorf("%s: ip_protocols %v, want %v", cfg.Targets[i].Name, got, want)
		}
	}
}

// TestTargetsDoNotShareSlices: the collector may keep and change a target's slices.
func TestTargetsDoNotShareSlices(t *testing.T) {
	cfg, err := Parse([]byte(`
defaults: {ip_protocols: [ip4], valid_status_codes: [200], follow_redirects: true}
targets: [{name: a, url: 'http://a/'}, {name: b, url: 'http://b/'}]
`), "t.yml")
	if err != nil {
		t.Fatal(err)
	}
	a, b := &cfg.Targets[0], &cfg.Targets[1]
	a.IPProtocols[0], a.ValidStatusCodes[0], *a.FollowRedirects = "ip6", 204, false
	if b.IPProtocols[0] != "ip4" || b.ValidStatusCodes[0] != 200 || !*b.FollowRedirects {
		t.Errorf("changing target a changed target b: %+v", b)
	}
}

func TestStatusOK(t *testing.T) {
	any2xx3xx := Settings{}
	listed := Settings{ValidStatusCodes: []int{200, 404}}
	for _, tt := range []struct {
		t    Settings
		code int
		want bool
	}{
		{any2xx3xx, 200, true}, {any2xx3xx, 204, true}, {any2xx3xx, 304, true},
		{any2xx3xx, 199, false}, {any2xx3xx, 404, false}, {any2xx3xx, 503, false},
		{listed, 404, true}, {listed, 200, true}, {listed, 301, false},
	} {
		if got := tt.t.StatusOK(tt.code); got != tt.want {
			t.Errorf("StatusOK(%d) with %v = %v, want %v", tt.code, tt.t.ValidStatusCodes, got, tt.want)
		}
	}
}

// TestDefault: the embedded default config parses and probes several CDNs.
func TestDefault(t *testing.T) {
	cfg, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.File != "<embedded default>" || cfg.Vantage.Name != "default" || cfg.Vantage.Location != "" {
		t.Errorf("File %q, vantage %+v", cfg.File, cfg.Vantage)
	}
	// Which CDN serves each host, from the vendors' own sites and response headers; "" for
	// multi-CDN hosts.
	cdnOf := map[string]string{
		"www.cloudflare.com": "cloudflare",
		"aws.amazon.com":     "cloudfront",
		"www.fastly.com":     "fastly",
		"www.python.org":     "fastly",
		"www.akamai.com":     "akamai",
		"vercel.com":         "vercel",
		"www.netlify.com":    "netlify",
		"cdn.jsdelivr.net":   "", // Cloudflare and Fastly
	}
	cdns := map[string]bool{}
	for i, tg := range cfg.Targets {
		u := cfg.Compiled.Targets[i].URL
		cdn, ok := cdnOf[u.Hostname()]
		if !ok {
			t.Errorf("target %s: host %s not in the test's CDN table", tg.Name, u.Hostname())
		}
		if cdn != "" {
			if !slices.Contains(edge.CDNs(), cdn) {
				t.Errorf("%q is not a cdn label value", cdn)
			}
			cdns[cdn] = true
		}
		if u.Scheme != "https" {
			t.Errorf("target %s: probes public endpoints over %s, want https", tg.Name, u.Scheme)
		}
		if tg.Interval < Duration(time.Minute) {
			t.Errorf("target %s: interval %s, want >= 1m to be polite to endpoints we do not own", tg.Name, tg.Interval)
		}
	}
	if len(cfg.Targets) < 5 || len(cdns) < 4 {
		t.Errorf("%d targets across %d CDNs, want >= 5 across >= 4", len(cfg.Targets), len(cdns))
	}
	akamai := cfg.Targets[slices.IndexFunc(cfg.Targets, func(t Target) bool { return t.Name == "akamai" })]
	if !strings.Contains(akamai.Headers["Pragma"], "akamai-x-cache-on") {
		t.Errorf("akamai target headers %v: Akamai reports cache status and edge only with Pragma: akamai-x-cache-on", akamai.Headers)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yml")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want an error wrapping os.ErrNotExist", err)
	}
}

// TestErrorUnwraps: callers can inspect the cause of a positioned error.
func TestErrorUnwraps(t *testing.T) {
	_, err := Load("testdata/invalid-ca-file-missing.yml")
	var ce *Error
	if !errors.As(err, &ce) || ce.Line != 5 || ce.Field != "targets[0].tls.ca_file" {
		t.Fatalf("error %#v, want *Error at line 5, field targets[0].tls.ca_file", err)
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v does not wrap os.ErrNotExist", err)
	}
}

// TestAliases: anchors and aliases that loop or explode are errors, not a hang or a crash.
func TestAliases(t *testing.T) {
	cycle := "targets: &x [*x]\n"
	if _, err := Parse([]byte(cycle), "t.yml"); err == nil || err.Error() != "t.yml:1: targets[0]: alias refers to a node that contains it" {
		t.Errorf("alias cycle: %v", err)
	}
	// Each level merges the previous one ten times: 10^7 merged entries if expanded naively.
	var b strings.Builder
	b.WriteString("targets:\n  - &l0 {name: a, url: 'http://a/'}\n")
	for i := 1; i <= 7; i++ {
		fmt.Fprintf(&b, "  - &l%d {<<: [%s]}\n", i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 10), ", "))
	}
	_, err := Parse([]byte(b.String()), "t.yml")
	if err == nil || !strings.HasSuffix(err.Error(), "too many values (more than 1000000 with aliases expanded)") {
		t.Errorf("exploding merges: %v", err)
	}
}

// TestReloadSeesEqualTargets: the schema types are plain values, so loading the same file
// twice gives targets that reflect.DeepEqual finds equal (a reload keeps their probes), CA
// file included; the pools read from it are in Compiled.
func TestReloadSeesEqualTargets(t *testing.T) {
	a, err := Load("testdata/valid-full.yml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load("testdata/valid-full.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Targets, b.Targets) || !reflect.DeepEqual(a.Rules, b.Rules) {
		t.Error("two loads of one file give different targets or rules")
	}
	if a.Compiled.Targets[0].RootCAs == b.Compiled.Targets[0].RootCAs {
		t.Error("a reload did not read the CA file again")
	}
}

// TestNullIsUnset: an empty value ("interval:") means "not set", as in Prometheus configs; a
// key merged in from an anchor is set by the target that merges it.
func TestNullIsUnset(t *testing.T) {
	cfg, err := Parse([]byte(`
defaults: {interval: 1m, timeout: 20s}
targets:
  - {name: a, url: 'http://a/', interval: , timeout: }
  - &b {name: b, url: 'http://b/', timeout: 5s}
  - {<<: *b, name: c}
`), "t.yml")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []Duration{Duration(20 * time.Second), Duration(5 * time.Second), Duration(5 * time.Second)} {
		if tg := cfg.Targets[i]; tg.Interval != Duration(time.Minute) || tg.Timeout != want {
			t.Errorf("%s: interval %s timeout %s, want 1m %s", tg.Name, tg.Interval, tg.Timeout, want)
		}
	}
}

// A file too large to be a configuration is refused before it is read whole, and a list of
// targets longer than MaxTargets is refused with its own message before it is decoded.
func TestConfigLimits(t *testing.T) {
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge.yml")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxFileSize + 1); err != nil { // sparse: costs no disk
		t.Fatal(err)
	}
	f.Close()
	_, err = Load(huge)
	if want := huge + ": the file has 67108865 bytes, more than the limit of 64MiB for a configuration file"; err == nil || err.Error() != want {
		t.Errorf("Load(64 MiB + 1) = %v, want %s", err, want)
	}

	var b strings.Builder
	b.WriteString("vantage: {name: big}\ntargets:\n")
	for i := range MaxTargets + 1 {
		fmt.Fprintf(&b, "  - {name: t%d, url: http://127.0.0.1/}\n", i)
	}
	_, err = Parse([]byte(b.String()), "many.yml")
	if want := "many.yml:3: targets: 100001 targets, more than the limit of 100000 per file"; err == nil || err.Error() != want {
		t.Errorf("Parse(MaxTargets+1 targets) = %v, want %s", err, want)
	}
	// MaxTargets targets must stay within the bound on decoded values, with room for many
	// keys per target: measure what one richly configured target costs and scale it up.
	const line = "  - {name: t%d, url: 'http://127.0.0.1/t%d', interval: 15s, timeout: 5s, method: GET, " +
		"headers: {Pragma: akamai-x-cache-on, X-Debug: '1'}, expected_pops: [AMS, FRA, LHR], max_distance_km: 1500, " +
		"valid_status_codes: [200, 204], ip_protocols: [ip4, ip6], tls: {server_name: www.example.com}}\n"
	visits := func(n int) int {
		var b strings.Builder
		b.WriteString("targets:\n")
		for i := range n {
			fmt.Fprintf(&b, line, i, i)
		}
		root, err := parseYAML([]byte(b.String()), "rich.yml")
		if err != nil {
			t.Fatal(err)
		}
		d := newDecoder("rich.yml", root)
		if err := d.decode(root, "", reflect.ValueOf(&Config{}).Elem()); err != nil {
			t.Fatal(err)
		}
		return d.visits
	}
	perTarget := visits(101) - visits(100)
	if perTarget*MaxTargets > maxVisits/2 {
		t.Errorf("a rich target decodes %d values: %d targets would use %d of the %d allowed, want at most half",
			perTarget, MaxTargets, perTarget*MaxTargets, maxVisits)
	}
}

// source_address in defaults applies to every target that does not set its own; a target's
// own wins, and an IPv6 one fits an ip6 target.
func TestSourceAddressInherited(t *testing.T) {
	cfg, err := Parse([]byte(`
defaults:
  source_address: 127.0.0.2
targets:
  - {name: a, url: 'http://a.example/'}
  - {name: b, url: 'http://b.example/', source_address: 127.0.0.3}
  - {name: c, url: 'http://c.example/', source_address: '::1', ip_protocols: [ip6]}
`), "inline.yml")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"127.0.0.2", "127.0.0.3", "::1"} {
		if got := cfg.Targets[i].SourceAddress; got != want {
			t.Errorf("target %s: source_address %q, want %q", cfg.Targets[i].Name, got, want)
		}
	}
}
