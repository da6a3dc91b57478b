package prober

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/popexporter/pop_exporter/config"
)

// Failure reasons of the body checks (blackbox_exporter's fail_if_body_matches_regexp and
// fail_if_body_not_matches_regexp). They are not in FailureReasons: only a target that sets
// the check can fail with them, so only its series start at 0 (see BodyReasons).
const (
	ReasonBodyMatchesRegexp    = "body_matches_regexp"     // a fail_if_body_matches_regexp pattern matched
	ReasonBodyNotMatchesRegexp = "body_not_matches_regexp" // a fail_if_body_not_matches_regexp pattern did not
)

// BodyReasons are the failure reasons a probe of t can have beyond FailureReasons.
func BodyReasons(t config.Target) []string {
	var r []string
	if len(t.FailIfBodyMatchesRegexp) > 0 {
		r = append(r, ReasonBodyMatchesRegexp)
	}
	if len(t.FailIfBodyNotMatchesRegexp) > 0 {
		r = append(r, ReasonBodyNotMatchesRegexp)
	}
	return r
}

// Content is the version of the object a probe got, when the target sets content:.
type Content struct {
	// Version is the first 16 hex digits of a SHA-256 over the configured parts (ETag,
	// Last-Modified, SHA-256 of the body read): short, fixed-length, never response text.
	// "" when content is off or the response was not a valid one.
	Version string
	// LastModified is the Last-Modified header, zero when absent or not an HTTP date.
	LastModified time.Time
}

// contentSpec is what a probe does with the body beyond identifying the edge: hash it for
// the content version, and match the body checks against it.
type contentSpec struct {
	etag, lastModified, body bool // the parts of the version
	on                       bool // content: is set
	matches, notMatches      []*regexp.Regexp
}

func newContentSpec(t config.Target, c config.CompiledTarget) contentSpec {
	cs := contentSpec{matches: c.FailIfBodyMatches, notMatches: c.FailIfBodyNotMatches}
	if t.Content != nil {
		cs.on = true
		for _, p := range t.Content.VersionFrom {
			switch p {
			case config.VersionETag:
				cs.etag = true
			case config.VersionLastModified:
				cs.lastModified = true
			case config.VersionBody:
				cs.body = true
			}
		}
	}
	return cs
}

// regexps says whether the body must be kept whole for the body checks.
func (cs *contentSpec) regexps() bool { return len(cs.matches) > 0 || len(cs.notMatches) > 0 }

// bodySink receives the body read: the hash of the content version and the copy the body
// checks match. Pooled: a SHA-256 state and a buffer per probe would be garbage each time.
type bodySink struct {
	hash  hash.Hash
	buf   bytes.Buffer
	copy  [32 << 10]byte // io.CopyBuffer's buffer
	hashB bool           // hash the body
	keep  bool           // keep the body in buf
}

var sinkPool = sync.Pool{New: func() any { return &bodySink{hash: sha256.New()} }}

func (b *bodySink) Write(p []byte) (int, error) {
	if b.hashB {
		b.hash.Write(p)
	}
	if b.keep {
		b.buf.Write(p)
	}
	return len(p), nil
}

// maxKeptBuffer is the largest body buffer a pooled sink keeps between probes: a target with
// a 16 MiB body_size_limit should not pin 16 MiB in the pool for the others.
const maxKeptBuffer = 1 << 20

func (b *bodySink) release() {
	b.hash.Reset()
	if b.buf.Cap() > maxKeptBuffer {
		b.buf = bytes.Buffer{}
	}
	b.buf.Reset()
	sinkPool.Put(b)
}

// sink returns the sink a probe's body goes to, nil when nothing but identification reads it.
func (cs *contentSpec) sink() *bodySink {
	if !cs.body && !cs.regexps() {
		return nil
	}
	b := sinkPool.Get().(*bodySink)
	b.hashB, b.keep = cs.on && cs.body, cs.regexps()
	return b
}

// version computes the content version of a response whose body went to sink.
func (cs *contentSpec) version(h http.Header, sink *bodySink) Content {
	var c Content
	if lm := h.Get("Last-Modified"); lm != "" {
		if t, err := http.ParseTime(lm); err == nil {
			c.LastModified = t
		}
	}
	if !cs.on {
		return c
	}
	v := sha256.New()
	// Each part is prefixed with its name and ended with a NUL (which a header value cannot
	// hold), so that no two different responses hash the same by moving text between parts.
	if cs.etag {
		io.WriteString(v, "etag:"+h.Get("ETag")+"\x00")
	}
	if cs.lastModified {
		io.WriteString(v, "last-modified:"+h.Get("Last-Modified")+"\x00")
	}
	if cs.body && sink != nil {
		var sum [sha256.Size]byte
		io.WriteString(v, "body:")
		v.Write(sink.hash.Sum(sum[:0]))
	}
	var sum [sha256.Size]byte
	c.Version = hex.EncodeToString(v.Sum(sum[:0])[:8])
	return c
}

// check runs the body checks with blackbox_exporter's semantics: any pattern of
// fail_if_body_matches_regexp that matches fails the probe, and so does any pattern of
// fail_if_body_not_matches_regexp that does not.
func (cs *contentSpec) check(body []byte) (reason string, pattern *regexp.Regexp) {
	for _, re := range cs.matches {
		if re.Match(body) {
			return ReasonBodyMatchesRegexp, re
		}
	}
	for _, re := range cs.notMatches {
		if !re.Match(body) {
			return ReasonBodyNotMatchesRegexp, re
		}
	}
	return "", nil
}
