package config

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestDurationUnmarshal(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"15s":   15 * time.Second,
		"1m30s": 90 * time.Second,
		"1h":    time.Hour,
		"500ms": 500 * time.Millisecond,
		"1d":    24 * time.Hour, // Prometheus style
		"1.5s":  1500 * time.Millisecond,
		"0":     0,
		"-5s":   -5 * time.Second, // parses; validation rejects it with the field's name
	} {
		var d Duration
		if err := yaml.Unmarshal([]byte(in), &d); err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if time.Duration(d) != want {
			t.Errorf("%q = %s, want %s", in, time.Duration(d), want)
		}
	}
	for _, in := range []string{"15", "fifteen seconds", "15 s s", "[15s]", "{a: 1}"} {
		var d Duration
		if err := yaml.Unmarshal([]byte(in), &d); err == nil || !strings.HasPrefix(err.Error(), "invalid duration") {
			t.Errorf("%q: error %v, want an invalid duration error", in, err)
		}
	}
}

// A duration is written as Prometheus writes it, unless that would round it: an error message
// saying "baseline_window 0s" for 1ns would send the user looking for a zero.
func TestDurationString(t *testing.T) {
	for d, want := range map[time.Duration]string{
		90 * time.Second:        "1m30s",
		500 * time.Millisecond:  "500ms",
		24 * time.Hour:          "1d",
		time.Nanosecond:         "1ns",
		1500 * time.Microsecond: "1.5ms",
		-5 * time.Second:        "-5s",
		0:                       "0s",
	} {
		if got := Duration(d).String(); got != want {
			t.Errorf("Duration(%v).String() = %q, want %q", time.Duration(d), got, want)
		}
	}
}

func TestByteSizeUnmarshal(t *testing.T) {
	for in, want := range map[string]ByteSize{
		"64KiB":  65536,
		"1MiB":   1 << 20,
		"65536":  65536,
		"64KB":   64000,
		"2 MB":   2000000,
		"16mib":  16 << 20,
		"1GiB":   1 << 30,
		"512B":   512,
		"0":      0,
		"'4096'": 4096,
	} {
		var b ByteSize
		if err := yaml.Unmarshal([]byte(in), &b); err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if b != want {
			t.Errorf("%q = %d, want %d", in, b, want)
		}
	}
	for _, in := range []string{"64K", "-1", "1.5MiB", "KiB", "99999999999999999999", "9999999999999GiB", "[1]"} {
		var b ByteSize
		if err := yaml.Unmarshal([]byte(in), &b); err == nil {
			t.Errorf("%q = %d, want an error", in, b)
		}
	}
}

// TestUnitsMarshalRoundTrip: durations and sizes written back out (Marshal) read the way a
// person would write them and parse back to the same values.
func TestUnitsMarshalRoundTrip(t *testing.T) {
	type pair struct {
		D Duration `yaml:"d"`
		B ByteSize `yaml:"b"`
	}
	for _, p := range []pair{
		{Duration(90 * time.Second), 64 << 10},
		{Duration(500 * time.Millisecond), 1 << 20},
		{Duration(time.Hour), 64000},
		{Duration(1500 * time.Millisecond), 3 << 30},
	} {
		out, err := yaml.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var back pair
		if err := yaml.Unmarshal(out, &back); err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		if back != p {
			t.Errorf("%+v marshalled as %q parsed back as %+v", p, out, back)
		}
	}
	if out, _ := yaml.Marshal(pair{Duration(90 * time.Second), 64 << 10}); string(out) != "d: 1m30s\nb: 64KiB\n" {
		t.Errorf("marshalled %q, want %q", out, "d: 1m30s\nb: 64KiB\n")
	}
}
