package edge

import (
	"strings"
	"testing"
)

// Explain says which rule decided each field and why a field stayed unknown, and never shows
// a credential.
func TestExplain(t *testing.T) {
	user, err := CompileRule(RuleSpec{CDN: "mycdn", Header: "X-Edge", Regex: `^edge-([a-z]{3})[0-9]+$`})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		id         *Identifier
		resp       *Response
		cdn, pop   string
		cache, not string
	}{
		{"cloudflare", nil, &Response{Header: hdr("CF-RAY", "9da906681ad80c13-AMS", "CF-Cache-Status", "HIT", "Set-Cookie", "__cf_bm=abcdef")},
			"recognised by the Cf-Ray header", `from CF-RAY: vendor code "AMS"`, `hit from cf-cache-status "HIT"`, "abcdef"},
		// documented format techdocs.akamai.com pragma headers (akamai-x-cache-on)
		{"akamai names no PoP", nil, &Response{Header: hdr("Server", "AkamaiGHost", "X-Cache", "TCP_MISS from a23-202-158-27.deploy.akamaitechnologies.com (AkamaiGHost/11.3.0.1-51934483) (-)")},
			"built-in rule Akamai", "Akamai names no PoP in its responses", `miss from`, ""},
		{"cloudflare without a PoP", nil, &Response{Header: hdr("CF-RAY", "9da906681ad80c13", "Server", "cloudflare")},
			"built-in rule Cloudflare", `unknown: CF-RAY "9da906681ad80c13" holds no PoP code this rule knows`, "unknown", ""},
		{"nothing known", nil, &Response{Header: hdr("Server", "nginx", "Authorization", "Bearer s3cret")},
			"no built-in rule recognised a header", "unknown because the CDN is unknown", "unknown: no CDN identified", "s3cret"},
		{"user rule", NewIdentifier([]*UserRule{user}), &Response{Header: hdr("X-Edge", "edge-fra12")},
			`user rule 0: X-Edge "edge-fra12" matches`, `the rule's capture group: "fra"`, "unknown: no Cache-Status header", ""},
		{"user rule not matching", NewIdentifier([]*UserRule{user}), &Response{Header: hdr("X-Edge", "other", "CF-RAY", "9da906681ad80c13-AMS")},
			`recognised by the Cf-Ray header (user rule 0 (mycdn): X-Edge "other" does not match`, `vendor code "AMS"`, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := tc.id.Explain(tc.resp)
			if want := tc.id.Identify(tc.resp); x.Result != want {
				t.Errorf("Explain's result %+v, Identify's %+v", x.Result, want)
			}
			for field, pair := range map[string][2]string{"CDN": {x.CDN, tc.cdn}, "PoP": {x.PoP, tc.pop}, "Cache": {x.Cache, tc.cache}} {
				if !strings.Contains(pair[0], pair[1]) {
					t.Errorf("%s: %q does not say %q", field, pair[0], pair[1])
				}
				if tc.not != "" && strings.Contains(pair[0], tc.not) {
					t.Errorf("%s shows %q: %s", field, tc.not, pair[0])
				}
			}
		})
	}
}

func TestShowValueRedacts(t *testing.T) {
	for name, sensitive := range map[string]bool{"Set-Cookie": true, "cookie": true, "Authorization": true,
		"X-Session-Token": true, "X-Api-Key": true, "X-Client-Secret": true, "CF-RAY": false, "X-Cache": false} {
		if got := strings.Contains(ShowValue(name, "value"), "redacted"); got != sensitive {
			t.Errorf("ShowValue(%s) redacts: %v, want %v", name, got, sensitive)
		}
	}
	if got := ShowValue("X-Long", strings.Repeat("a", 1000)); len(got) > maxShownValue+32 || !strings.HasSuffix(got, "(1000 bytes)") {
		t.Errorf("a long value is shown as %d bytes: %q", len(got), got)
	}
}

// BenchmarkExplain is the cost --web.enable-probe-debug adds to each probe (Identify is
// BenchmarkIdentify's).
func BenchmarkExplain(b *testing.B) {
	resp := &Response{Header: hdr("CF-RAY", "9da906681ad80c13-AMS", "CF-Cache-Status", "HIT", "Server", "cloudflare",
		"Content-Type", "text/html", "Set-Cookie", "__cf_bm=abcdef")}
	b.ReportAllocs()
	for b.Loop() {
		(*Identifier)(nil).Explain(resp)
	}
}
