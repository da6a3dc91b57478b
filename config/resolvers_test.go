package config

import (
	"reflect"
	"testing"
)

// TestResolvers: the effective resolvers of a target, each a probe of its own.
func TestResolvers(t *testing.T) {
	cfg, err := Parse([]byte(`
defaults:
  resolvers:
    - {name: a, server: 192.0.2.53}
    - {name: b, server: "2001:db8::53", transport: tcp}
targets:
  - {name: inherits, url: 'https://a/'}
  - {name: own, url: 'https://a/', resolvers: [{name: c, server: "[2001:db8::1]:5353"}]}
  - {name: short, url: 'https://a/', dns_server: '192.0.2.1:53'}
  - {name: pinned, url: 'https://a/', resolve: 192.0.2.10}
  - name: doh
    url: https://a/
    tls: {ca_file: ca.pem}
    resolvers: [{name: d, server: 'https://192.0.2.1/dns-query'}, {name: e, server: 192.0.2.2}]
`), "testdata/resolvers.yml")
	if err != nil {
		t.Fatal(err)
	}
	names := func(i int) []string {
		var out []string
		for _, r := range cfg.Compiled.Targets[i].Resolvers {
			out = append(out, r.Name+" "+r.Transport+" "+r.Addr)
		}
		return out
	}
	for i, want := range [][]string{
		{"a udp 192.0.2.53:53", "b tcp [2001:db8::53]:53"},
		{"c udp [2001:db8::1]:5353"},
		{"default udp 192.0.2.1:53"},
		// A pinned address asks no resolver: the defaults' are not inherited, the one left
		// (for redirects to other hosts) is the system's.
		{"system  "},
	} {
		if got := names(i); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: resolvers %q, want %q", cfg.Targets[i].Name, got, want)
		}
	}
	if !cfg.Compiled.Targets[3].Resolvers[0].System() || cfg.Targets[3].Resolvers != nil {
		t.Errorf("pinned: %+v %+v, want the system resolver and no inherited list", cfg.Compiled.Targets[3].Resolvers, cfg.Targets[3].Resolvers)
	}
	// DNS over HTTPS verifies with the system roots plus the target's tls.ca_file; the udp
	// resolver of the same target has no roots.
	doh := cfg.Compiled.Targets[4].Resolvers
	if doh[0].Transport != TransportHTTPS || doh[0].URL.String() != "https://192.0.2.1/dns-query" || doh[0].RootCAs == nil {
		t.Errorf("doh resolver = %+v, want https with the target's CA", doh[0])
	}
	if doh[1].RootCAs != nil {
		t.Errorf("udp resolver has roots: %+v", doh[1])
	}
}
