package edge

import (
	"errors"
	"regexp"
	"testing"
)

func TestCompileRuleErrors(t *testing.T) {
	valid := RuleSpec{CDN: "mycdn", Header: "X-Edge", Regex: `^edge-([a-z]{3})[0-9]+$`}
	tests := []struct {
		name  string
		edit  func(*RuleSpec)
		field string // RuleError.Field
		want  string
	}{
		{"bad regex", func(s *RuleSpec) { s.Regex = "^(a" }, "regex",
			"regex \"^(a\" does not compile: error parsing regexp: missing closing ): `^(a`"},
		{"no capture group", func(s *RuleSpec) { s.Regex = "^edge-[a-z]{3}$" }, "regex",
			"regex must have exactly one capture group, has 0"},
		{"two capture groups", func(s *RuleSpec) { s.Regex = "^(edge)-([a-z]{3})$" }, "regex",
			"regex must have exactly one capture group, has 2"},
		{"empty cdn", func(s *RuleSpec) { s.CDN = "" }, "cdn",
			`cdn "" must match ^[a-z][a-z0-9_]{0,31}$`},
		{"upper-case cdn", func(s *RuleSpec) { s.CDN = "MyCDN" }, "cdn",
			`cdn "MyCDN" must match ^[a-z][a-z0-9_]{0,31}$`},
		{"cdn too long", func(s *RuleSpec) { s.CDN = "a234567890123456789012345678901234" }, "cdn",
			`cdn "a234567890123456789012345678901234" must match ^[a-z][a-z0-9_]{0,31}$`},
		{"cdn with dash", func(s *RuleSpec) { s.CDN = "my-cdn" }, "cdn",
			`cdn "my-cdn" must match ^[a-z][a-z0-9_]{0,31}$`},
		{"cdn unknown", func(s *RuleSpec) { s.CDN = "unknown" }, "cdn", `cdn "unknown" is reserved`},
		{"cdn other", func(s *RuleSpec) { s.CDN = "other" }, "cdn", `cdn "other" is reserved`},
		{"empty header", func(s *RuleSpec) { s.Header = "" }, "header", "header must not be empty"},
		{"header with space", func(s *RuleSpec) { s.Header = "X Edge" }, "header", `header "X Edge" is not a valid header name`},
		{"bad cache header", func(s *RuleSpec) { s.CacheHeader = "X-Cache:" }, "cache_header",
			`cache_header "X-Cache:" is not a valid header name`},
		{"cache values without header", func(s *RuleSpec) { s.CacheValues = map[string]string{"H": "hit"} }, "cache_values",
			"cache_values needs cache_header"},
		{"cache value not in the enum", func(s *RuleSpec) {
			s.CacheHeader = "X-Edge-Cache"
			s.CacheValues = map[string]string{"H": "hit", "R": "refresh"}
		}, "cache_values", `cache_values["R"]: "refresh" is not one of hit, miss, expired, stale, revalidated, bypass, dynamic, error, unknown`},
		{"cache value upper-case", func(s *RuleSpec) {
			s.CacheHeader = "X-Edge-Cache"
			s.CacheValues = map[string]string{"H": "HIT"}
		}, "cache_values", `cache_values["H"]: "HIT" is not one of hit, miss, expired, stale, revalidated, bypass, dynamic, error, unknown`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := valid
			tt.edit(&spec)
			u, err := CompileRule(spec)
			if err == nil {
				t.Fatalf("CompileRule(%+v) = %v, want error %q", spec, u, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %q\nwant %q", err, tt.want)
			}
			var re *RuleError
			if !errors.As(err, &re) || re.Field != tt.field {
				t.Errorf("error %#v is not a *RuleError for field %q", err, tt.field)
			}
		})
	}
	if _, err := CompileRule(valid); err != nil {
		t.Errorf("valid rule: %v", err)
	}
}

func mustRule(t *testing.T, spec RuleSpec) *UserRule {
	t.Helper()
	u, err := CompileRule(spec)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUserRules(t *testing.T) {
	edge := mustRule(t, RuleSpec{
		CDN: "mycdn", Header: "x-edge", Regex: `^edge-([a-z]{3})[0-9]+$`,
		CacheHeader: "x-edge-cache", CacheValues: map[string]string{"Served-From-RAM": "hit", "fetched": "miss"},
	})
	overCF := mustRule(t, RuleSpec{CDN: "shopify", Header: "X-Shopify-Stage", Regex: `^([a-z0-9]+)$`})
	id := NewIdentifier([]*UserRule{edge, nil, overCF})

	tests := []struct {
		name   string
		header []string
		want   Result
	}{
		{"match, cache map case-insensitive", []string{"X-Edge", "edge-ams12", "X-Edge-Cache", "served-from-ram"},
			Result{CDN: "mycdn", PoP: "AMS", RawPoP: "ams", CacheStatus: CacheHit, Source: "X-Edge"}},
		{"unmapped cache value falls back to vendor words", []string{"X-Edge", "edge-ams12", "X-Edge-Cache", "EXPIRED"},
			Result{CDN: "mycdn", PoP: "AMS", RawPoP: "ams", CacheStatus: CacheExpired, Source: "X-Edge"}},
		{"unrecognised cache value", []string{"X-Edge", "edge-ams12", "X-Edge-Cache", "maybe"},
			Result{CDN: "mycdn", PoP: "AMS", RawPoP: "ams", CacheStatus: CacheUnknown, Source: "X-Edge"}},
		{"last value of a repeated header", []string{"X-Edge", "edge-fra1", "X-Edge", "edge-lhr2"},
			Result{CDN: "mycdn", PoP: "LHR", RawPoP: "lhr", CacheStatus: CacheUnknown, Source: "X-Edge"}},
		{"user rule before built-ins", []string{"CF-RAY", "818bef0efadd4fcf-ORF", "X-Edge", "edge-ams12"},
			Result{CDN: "mycdn", PoP: "AMS", RawPoP: "ams", CacheStatus: CacheUnknown, Source: "X-Edge"}},
		{"no match falls through to built-ins", []string{"CF-RAY", "818bef0efadd4fcf-ORF", "X-Edge", "origin-7"},
			Result{CDN: "cloudflare", PoP: "ORF", RawPoP: "ORF", CacheStatus: CacheUnknown, Source: "Cf-Ray"}},
		{"invalid pop keeps the cdn", []string{"X-Shopify-Stage", "a"},
			Result{CDN: "shopify", PoP: Unknown, RawPoP: "a", CacheStatus: CacheUnknown, Source: "X-Shopify-Stage"}},
		{"too long pop keeps the cdn", []string{"X-Shopify-Stage", "abcdefghijklmnopq1234567890123456789"},
			Result{CDN: "shopify", PoP: Unknown, CacheStatus: CacheUnknown, Source: "X-Shopify-Stage"}},
		{"no cache header: RFC 9211 used", []string{"X-Shopify-Stage", "ord2", "Cache-Status", `edge; fwd=uri-miss`},
			Result{CDN: "shopify", PoP: "ORD2", RawPoP: "ord2", CacheStatus: CacheMiss, Source: "X-Shopify-Stage"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := id.Identify(&Response{StatusCode: 200, Header: hdr(tt.header...)})
			if got != tt.want {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestUserRuleOptionalGroup(t *testing.T) {
	u := mustRule(t, RuleSpec{CDN: "mycdn", Header: "X-Edge", Regex: `^edge(?:-([a-z]{3}))?$`})
	got := NewIdentifier([]*UserRule{u}).Identify(&Response{Header: hdr("X-Edge", "edge")})
	want := Result{CDN: "mycdn", PoP: Unknown, CacheStatus: CacheUnknown, Source: "X-Edge"}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// ValidPoPCode is the fast form of PoPCodePattern, which config shows in its error message.
func TestValidPoPCode(t *testing.T) {
	re := regexp.MustCompile(PoPCodePattern)
	for _, s := range []string{"", "A", "AM", "ams", "FRA56", "fra-1", "LHR_2", "0123456789ABCDEF", "0123456789ABCDEFG", "ÄMS", "AMS\n"} {
		if got, want := ValidPoPCode(s), re.MatchString(s); got != want {
			t.Errorf("ValidPoPCode(%q) = %v, %s says %v", s, got, PoPCodePattern, want)
		}
	}
}

func TestValidHeaderName(t *testing.T) {
	for s, want := range map[string]bool{
		"X-Edge": true, "pragma": true, "x_y.z~1": true, "!#$%&'*+-.^_`|~": true,
		"": false, "X Edge": false, "X-Cache:": false, "Ä": false, "a\r\nb": false,
	} {
		if got := ValidHeaderName(s); got != want {
			t.Errorf("ValidHeaderName(%q) = %v, want %v", s, got, want)
		}
	}
}
