package prober

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/popexporter/pop_exporter/collector/internal/testhelp"
	"github.com/popexporter/pop_exporter/config"
)

// object is what a test edge serves: its validators and body, changed between probes.
type object struct {
	mu                 sync.Mutex
	etag, lastModified string
	body               string
}

func (o *object) set(etag, lastModified, body string) {
	o.mu.Lock()
	o.etag, o.lastModified, o.body = etag, lastModified, body
	o.mu.Unlock()
}

func (o *object) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.etag != "" {
		w.Header().Set("ETag", o.etag)
	}
	if o.lastModified != "" {
		w.Header().Set("Last-Modified", o.lastModified)
	}
	w.Write([]byte(o.body))
}

func contentSpecFor(t *testing.T, url string, content *config.Content, edit func(*config.Target, *config.CompiledTarget)) *Spec {
	t.Helper()
	target := testhelp.Target(t, "content", url)
	target.Content = content
	c := testhelp.Compiled(target)
	if edit != nil {
		edit(&target, &c)
	}
	return testSpecCompiled(t, target, c)
}

// The content version is the same for the same object, changes when the ETag, the
// Last-Modified date or the body changes, is 16 hex digits whatever the response holds, and
// leaves out the parts version_from leaves out.
func TestContentVersion(t *testing.T) {
	obj := &object{}
	srv := httptest.NewServer(obj)
	defer srv.Close()
	all := contentSpecFor(t, srv.URL+"/", &config.Content{VersionFrom: config.VersionParts}, nil)
	etagOnly := contentSpecFor(t, srv.URL+"/", &config.Content{VersionFrom: []string{config.VersionETag}}, nil)
	off := contentSpecFor(t, srv.URL+"/", nil, nil)

	probe := func(s *Spec) Content {
		t.Helper()
		res := s.Run(t.Context())
		if !res.Success {
			t.Fatalf("probe failed: %s %v", res.FailureReason, res.Err)
		}
		return res.Content
	}
	hex16 := regexp.MustCompile(`^[0-9a-f]{16}$`)
	const lm = "Wed, 02 Dec 2026 10:00:00 GMT"
	obj.set(`"v1"`, lm, strings.Repeat("<html>release 1</html>", 1000)) // 22 kB: past the 4 KiB peek, under the 64 KiB limit
	v1 := probe(all)
	if !hex16.MatchString(v1.Version) {
		t.Fatalf("version %q is not 16 hex digits", v1.Version)
	}
	if want := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC); !v1.LastModified.Equal(want) {
		t.Errorf("Last-Modified = %v, want %v", v1.LastModified, want)
	}
	if again := probe(all); again.Version != v1.Version {
		t.Errorf("the same object gave versions %s and %s", v1.Version, again.Version)
	}
	e1 := probe(etagOnly)
	if off := probe(off); off.Version != "" {
		t.Errorf("content off: version %q, want none", off.Version)
	}

	// The body beyond the first 4 KiB changes (a purge published a new object under the same
	// validators): the body part sees it, an ETag-only version does not.
	obj.set(`"v1"`, lm, strings.Repeat("<html>release 1</html>", 999)+"<html>release 2</html>")
	if got := probe(all).Version; got == v1.Version {
		t.Errorf("a changed body kept version %s", got)
	}
	if got := probe(etagOnly).Version; got != e1.Version {
		t.Errorf("version_from [etag]: a changed body changed the version %s to %s", e1.Version, got)
	}
	// A new ETag alone changes both.
	obj.set(`"v2"`, lm, strings.Repeat("<html>release 1</html>", 1000))
	if got := probe(all).Version; got == v1.Version {
		t.Errorf("a changed ETag kept version %s", got)
	}
	if got := probe(etagOnly).Version; got == e1.Version {
		t.Errorf("version_from [etag]: a changed ETag kept version %s", got)
	}
	// Moving text between parts is another version.
	obj.set(`"ab"`, "", "c")
	x := probe(all).Version
	obj.set(`"a`, "", `b"c`)
	if y := probe(all).Version; x == y {
		t.Errorf("two different responses share version %s", x)
	}
}

// The body checks follow blackbox_exporter: any matching pattern of
// fail_if_body_matches_regexp, or any non-matching one of fail_if_body_not_matches_regexp,
// fails the probe with its own reason; they see the body up to body_size_limit, past the
// first 4 KiB.
func TestBodyRegexps(t *testing.T) {
	obj := &object{}
	obj.set("", "", strings.Repeat("x", 10000)+"<title>Shop</title> Maintenance")
	srv := httptest.NewServer(obj)
	defer srv.Close()
	for _, tc := range []struct {
		name              string
		matches, notMatch []string
		want              string
	}{
		{"matches fails", []string{`Outage`, `Maint[a-z]+`}, nil, ReasonBodyMatchesRegexp},
		{"no match passes", []string{`Outage`}, []string{`<title>Shop</title>`}, ""},
		{"not matches fails", nil, []string{`<title>Shop</title>`, `checkout`}, ReasonBodyNotMatchesRegexp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := contentSpecFor(t, srv.URL+"/", nil, func(tg *config.Target, c *config.CompiledTarget) {
				tg.FailIfBodyMatchesRegexp, tg.FailIfBodyNotMatchesRegexp = tc.matches, tc.notMatch
				for _, p := range tc.matches {
					c.FailIfBodyMatches = append(c.FailIfBodyMatches, regexp.MustCompile(p))
				}
				for _, p := range tc.notMatch {
					c.FailIfBodyNotMatches = append(c.FailIfBodyNotMatches, regexp.MustCompile(p))
				}
			})
			res := s.Run(t.Context())
			if tc.want == "" {
				if !res.Success {
					t.Fatalf("probe failed: %s %v", res.FailureReason, res.Err)
				}
				return
			}
			if res.Success || res.FailureReason != tc.want || !res.Responded {
				t.Errorf("success %v, reason %q, responded %v; want a %s failure with the response recorded", res.Success, res.FailureReason, res.Responded, tc.want)
			}
		})
	}
	// Past body_size_limit the body is not read, so a pattern there does not match.
	s := contentSpecFor(t, srv.URL+"/", nil, func(tg *config.Target, c *config.CompiledTarget) {
		tg.BodySizeLimit = 5000
		tg.FailIfBodyMatchesRegexp = []string{"Maintenance"}
		c.FailIfBodyMatches = []*regexp.Regexp{regexp.MustCompile("Maintenance")}
	})
	if res := s.Run(t.Context()); !res.Success {
		t.Errorf("a pattern past body_size_limit failed the probe: %s %v", res.FailureReason, res.Err)
	}
}
