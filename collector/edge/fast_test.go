package edge

import (
	"regexp"
	"testing"
)

// FuzzFastMatchers holds every hand-written matcher to the table regex it replaces.
func FuzzFastMatchers(f *testing.F) {
	for _, s := range []string{
		"818bef0efadd4fcf-ORF", "8a1b2c3d4e5f6a7b-SJC-PIG", "818bef0efadd4fcf-ORF-", "818bef0efadd4fcF-ORF",
		"FRA56-P4", "LAX3-C4", "IAD89-C12", "FRA5600-P4", "FRA56-P", "FRA56-P123",
		"cache-fra1229-FRA", "cache-iad-kjyo7100133-IAD", "cache--FRA", "cache-fra1229-FRa", "varnish-s1-SJC",
		"cache5.de1[0,200-0,H]", "cache24.l2eu6-1[0,304-0,H]", "cache.de1[", "cache5.[", "cache5.de1",
		"kunlun15.cn3157[55,55,200-0,H]", "kunlun.cn3157[", "kunlu1.x[", "cachekunlun1.x[",
		"bom1::djm5z-1788688501471-5e5ac090f2b1", "sfo1::fra1::8tq2k-1697749038123-7c0a9f2b4e11",
		"sfo1::fra1::iad1::x", "sfo1::", "sfo1:fra1::",
		"ens-cache29.l2us4[231,230,404-1280,M]", "ens-cache.x[", "ens-cach1.x[",
		"1.0 PSzjjxdx6dp50:3 (Cdn Cache Server V2.0)[0 400 3]", "1.1 jssq179:8080 (Cdn Cache Server V2.0)",
		"1.1 PSa1 (Cdn Cache Server", "1.1 ab1: (Cdn Cache Server", "1.1 PS ab1 (Cdn Cache Server", ".\tab1\t(Cdn Cache Server",
		"cache08.gdcu", "cache05.tycm06", "cache05.tycm0600", "cache.gd", "cache1.g", "cache1.abcdefghi",
		"pa4-par", "b-sv10-sjc", "dc12-ash", "a-b-c1-sjc", "-sv10-sjc", "sv-sjc", "sv1-sjcc",
		"railway/us-west2", "railway/us-east4-eqdc4a", "railway/europe-west4-", "railway/us-west", "railway/us-west2-A",
		"deno/us-east4-a", "deno/gcp-asia-northeast1", "deno/gcp-east1", "deno/gcp-east1-b", "deno/us-east4-ab",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for re, fast := range fastMatchers {
			wantLo, wantHi, wantOK := regexSubmatch(re, s)
			lo, hi, ok := fast(s)
			if ok != wantOK || (ok && (lo != wantLo || hi != wantHi)) {
				t.Errorf("%s on %q: fast (%d,%d,%v), regexp (%d,%d,%v)", re, s, lo, hi, ok, wantLo, wantHi, wantOK)
			}
		}
	})
}

func regexSubmatch(re *regexp.Regexp, s string) (int, int, bool) {
	m := re.FindStringSubmatchIndex(s)
	if m == nil || m[2] < 0 {
		return 0, 0, false
	}
	return m[2], m[3], true
}

// TestFastMatchersWired checks that init gave the table rows their fast paths.
func TestFastMatchersWired(t *testing.T) {
	wired := map[*regexp.Regexp]bool{}
	for i := range builtin {
		for _, p := range builtin[i].pop {
			if p.fast != nil {
				wired[p.re] = true
			}
			if p.upstreamFast != nil {
				wired[p.upstream] = true
			}
		}
	}
	for re := range fastMatchers {
		if !wired[re] {
			t.Errorf("fast matcher for %s is not used by any PoP source", re)
		}
	}
}
