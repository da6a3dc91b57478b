// Package testhelp holds the small helpers that the tests of several collector packages share:
// a target at its effective defaults, a server with a known delay, and polling for a condition.
// Only tests import it.
package testhelp

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/popexporter/pop_exporter/config"
)

// Target returns a target with every field at its effective default, as config.Parse would
// leave it, probing rawURL.
func Target(t testing.TB, name, rawURL string) config.Target {
	t.Helper()
	if _, err := url.Parse(rawURL); err != nil {
		t.Fatal(err)
	}
	follow := true
	return config.Target{
		Name: name,
		URL:  rawURL,
		Settings: config.Settings{
			Interval:        config.Duration(5 * time.Second),
			Timeout:         config.Duration(3 * time.Second),
			Method:          "GET",
			BodySizeLimit:   64 << 10,
			FollowRedirects: &follow,
			IPProtocols:     []string{"ip4"},
			BaselineWindow:  config.Duration(30 * time.Minute),
		},
	}
}

// Compiled is what config.Parse compiles for target: its parsed URL, its resolvers, and no CA
// pool.
func Compiled(target config.Target) config.CompiledTarget {
	u, _ := url.Parse(target.URL) // Target checked it
	return config.CompiledTarget{URL: u, Resolvers: config.CompileResolvers(&target)}
}

// DelayServer answers every request after waiting exactly d before its first byte.
func DelayServer(d time.Duration) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(d)
		fmt.Fprint(w, "ok")
	}))
}

// WaitFor polls cond until it holds, failing the test after 10 s.
func WaitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// RawServer accepts TCP connections on a loopback port and hands each to serve on its own
// goroutine, for servers that misbehave below HTTP (dripping bytes, cutting bodies short). The
// channel given to serve is closed when the test ends. It returns the listening address.
func RawServer(t testing.TB, serve func(c net.Conn, done <-chan struct{})) string {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c, done)
			}()
		}
	}()
	return l.Addr().String()
}
