package edge

import (
	"strings"
	"testing"
)

func TestCacheStatusRFC9211(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   string
	}{
		// Netlify (github.com/netlify/context-and-tools skills/netlify-caching/SKILL.md; RFC 9211 §2).
		{"netlify edge hit", []string{`"Netlify Edge"; hit; ttl=16579`}, CacheHit},
		{"netlify durable bypass", []string{`"Netlify Durable"; fwd=bypass`}, CacheBypass},
		{"netlify edge miss 404", []string{`"Netlify Edge"; fwd=miss; fwd-status=404`}, CacheMiss},
		{"netlify hit with fwd=stale", []string{`"Netlify Edge"; hit; fwd=stale; ttl=-3`}, CacheStale},

		// hit
		{"hit without ttl", []string{`Caddy; hit`}, CacheHit},
		{"hit ttl zero", []string{`Caddy; hit; ttl=0`}, CacheHit},
		{"hit negative ttl is stale", []string{`Caddy; hit; ttl=-30`}, CacheStale},
		{"hit=?0 is not a hit", []string{`Caddy; hit=?0; fwd=miss`}, CacheMiss},
		{"hit of wrong type ignored", []string{`Caddy; hit=1`}, CacheUnknown},

		// fwd, each reason
		{"fwd=bypass", []string{`c; fwd=bypass`}, CacheBypass},
		{"fwd=method", []string{`c; fwd=method`}, CacheBypass},
		{"fwd=request", []string{`c; fwd=request`}, CacheBypass},
		{"fwd=miss", []string{`c; fwd=miss`}, CacheMiss},
		{"fwd=uri-miss", []string{`c; fwd=uri-miss`}, CacheMiss},
		{"fwd=vary-miss", []string{`c; fwd=vary-miss`}, CacheMiss},
		{"fwd=partial", []string{`c; fwd=partial`}, CacheMiss},
		{"fwd=stale", []string{`c; fwd=stale`}, CacheExpired},
		{"fwd=stale with 200", []string{`c; fwd=stale; fwd-status=200`}, CacheExpired},
		{"fwd=stale revalidated", []string{`c; fwd=stale; fwd-status=304`}, CacheRevalidated},
		{"fwd as string is the wrong type", []string{`c; fwd="miss"`}, CacheUnknown},

		// fwd-status
		{"fwd-status 503", []string{`c; fwd=miss; fwd-status=503`}, CacheError},
		{"fwd-status 500 on stale", []string{`c; fwd=stale; fwd-status=500`}, CacheError},
		{"fwd-status 502 ignored on hit", []string{`c; hit; fwd-status=502`}, CacheHit},
		{"fwd-status of wrong type", []string{`c; fwd=miss; fwd-status="503"`}, CacheMiss},

		// ttl, stored, collapsed, key, detail: parsed, do not change the status
		{"ttl decimal is the wrong type", []string{`c; hit; ttl=-1.5`}, CacheHit},
		{"stored", []string{`c; fwd=miss; stored`}, CacheMiss},
		{"collapsed", []string{`c; fwd=miss; collapsed=?1`}, CacheMiss},
		{"key with escapes", []string{`c; hit; key="GET /a \"b\" \\c"`}, CacheHit},
		{"detail token", []string{`c; fwd=miss; detail=no-store`}, CacheMiss},
		{"detail string", []string{`c; fwd=miss; detail="max-age=0, private"`}, CacheMiss},

		// list semantics: the last member is the edge
		{"last member decides", []string{`OriginCache; hit, "CDN Edge"; fwd=miss`}, CacheMiss},
		{"last member decides across lines", []string{`OriginCache; fwd=miss`, `"CDN Edge"; hit; ttl=5`}, CacheHit},
		{"empty line in between", []string{`a; fwd=miss`, ``, `b; hit`}, CacheHit},
		{"tabs around commas", []string{"a; fwd=miss\t,\tb; hit"}, CacheHit},
		{"unknown parameters ignored", []string{`c; hit; foo=bar; x.y=?1; *z=:aGk=:; d=@1697749038; s=%"caf%c3%a9"`}, CacheHit},
		{"duplicate parameter: last wins", []string{`c; hit; hit=?0; fwd=bypass`}, CacheBypass},
		{"no hit, no fwd", []string{`c; ttl=3`}, CacheUnknown},
		{"unknown fwd reason still went forward", []string{`c; fwd=future-reason`}, CacheMiss},

		// malformed: the whole field is ignored
		{"empty", []string{``}, CacheUnknown},
		{"trailing comma", []string{`c; hit,`}, CacheUnknown},
		{"unterminated string", []string{`"Netlify Edge; hit`}, CacheUnknown},
		{"bad escape", []string{`"a\x"; hit`}, CacheUnknown},
		{"uppercase key", []string{`c; HIT`}, CacheUnknown},
		{"integer identifier", []string{`42; hit`}, CacheUnknown},
		{"inner list", []string{`(a b); hit`}, CacheUnknown},
		{"bad boolean", []string{`c; hit=?2`}, CacheUnknown},
		{"integer too long", []string{`c; ttl=1234567890123456`}, CacheUnknown},
		{"decimal with 4 fraction digits", []string{`c; ttl=1.2345`}, CacheUnknown},
		{"garbage after member", []string{`c; hit x`}, CacheUnknown},
		{"malformed earlier line spoils the field", []string{`c; hit,,`, `d; hit`}, CacheUnknown},
		{"control character in string", []string{"\"a\x01\"; hit"}, CacheUnknown},
		{"lone minus", []string{`c; ttl=-`}, CacheUnknown},
		{"date without digits", []string{`c; hit; d=@`}, CacheUnknown},
		{"lone at sign", []string{`@`}, CacheUnknown},
		{"unterminated bytes", []string{`c; k=:aGk=`}, CacheUnknown},
		{"bad display string escape", []string{`c; s=%"%C3"`}, CacheUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cacheFromRFC9211(tt.values, nil); got != tt.want {
				t.Errorf("Cache-Status %q: got %s, want %s", tt.values, got, tt.want)
			}
		})
	}
}

func TestCacheStatusParameters(t *testing.T) {
	e, err := parseCacheStatus([]string{
		`Origin; fwd=miss, "Edge \"1\""; hit; fwd=stale; fwd-status=304; ttl=-12; stored; collapsed=?0; key="k\\1"; detail=limit`,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := cacheStatusEntry{
		cache: `Edge "1"`, hit: true, fwd: "stale", fwdStatus: 304, hasFwdStatus: true,
		ttl: -12, hasTTL: true, stored: true, collapsed: false, key: `k\1`, detail: "limit",
	}
	if e != want {
		t.Errorf("got %+v\nwant %+v", e, want)
	}
}

func FuzzCacheStatus(f *testing.F) {
	for _, s := range []string{`"Netlify Edge"; hit; ttl=16579`, `"Netlify Durable"; fwd=bypass`, `a; fwd=stale; fwd-status=304, b; key="x\"y"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := cacheFromRFC9211(strings.Split(v, "\n"), nil)
		if !ValidCacheStatus(got) {
			t.Fatalf("%q → %q", v, got)
		}
	})
}
