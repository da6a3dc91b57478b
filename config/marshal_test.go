package config

import (
	"reflect"
	"testing"
	"time"
)

// TestMarshalRoundTrip: what Marshal writes, Parse reads back to the same configuration.
func TestMarshalRoundTrip(t *testing.T) {
	for _, file := range []string{"testdata/valid-full.yml", "testdata/valid-minimal.yml", "testdata/valid-coordinates.yml"} {
		cfg, err := Load(file)
		if err != nil {
			t.Fatal(err)
		}
		out, err := Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		// tls.ca_file is already resolved against testdata/: read it back from here.
		back, err := Parse(out, "marshalled.yml")
		if err != nil {
			t.Fatalf("%s: Parse(Marshal(cfg)): %v\n%s", file, err, out)
		}
		if !reflect.DeepEqual(back.Vantage, cfg.Vantage) || !reflect.DeepEqual(back.Targets, cfg.Targets) || !reflect.DeepEqual(back.Rules, cfg.Rules) {
			t.Errorf("%s: round trip changed the configuration:\n%s", file, out)
		}
	}

	// Unset keys are left out, so a generated file shows only what its program chose.
	out, err := Marshal(&Config{
		Defaults: Defaults{Settings{Interval: Duration(5 * time.Second)}},
		Targets:  []Target{{Name: "a", URL: "http://a/", TLS: TLSConfig{CAFile: "/ca.pem"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "defaults:\n  interval: 5s\ntargets:\n  - name: a\n    url: http://a/\n    tls:\n      ca_file: /ca.pem\n"
	if string(out) != want {
		t.Errorf("Marshal:\n%s\nwant:\n%s", out, want)
	}
}
