package prober

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/popexporter/pop_exporter/collector/internal/testhelp"
	"github.com/popexporter/pop_exporter/config"
)

// BenchmarkRun is the cost of one probe around the HTTP exchange: a fresh connection to a
// loopback edge that answers as Cloudflare, headers identified, body read. Profile it with
//
//	go test -run XXX -bench 'Run$' -benchmem -cpuprofile cpu.out ./collector/prober/
func BenchmarkRun(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Server", "cloudflare")
		w.Header().Set("CF-RAY", "9da906681ad80c13-AMS")
		w.Header().Set("CF-Cache-Status", "HIT")
		w.Header().Set("Age", "12")
		io.WriteString(w, "ok\n")
	}))
	defer srv.Close()
	s := testSpec(b, testhelp.Target(b, "bench", srv.URL+"/"))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if res := s.Run(ctx); !res.Success {
			b.Fatalf("probe failed: %s %v", res.FailureReason, res.Err)
		}
	}
}

// BenchmarkRunProtocols is BenchmarkRun over HTTPS for each protocol, against one loopback
// edge that speaks all three (TLS 1.3; the time and allocations include the edge's, which
// runs in the same process, so compare protocols with each other, not with the plain HTTP
// figure; make loadtest PROTOCOL=… measures the exporter alone):
//
//	go test -run XXX -bench RunProtocols -benchmem ./collector/prober/
func BenchmarkRunProtocols(b *testing.B) {
	srv := testhelp.NewEdgeServer(b, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Server", "cloudflare")
		w.Header().Set("CF-RAY", "9da906681ad80c13-AMS")
		w.Header().Set("CF-Cache-Status", "HIT")
		w.Header().Set("Age", "12")
		io.WriteString(w, "ok\n")
	}), true)
	for _, protocol := range config.Protocols {
		b.Run(protocol, func(b *testing.B) {
			s := edgeSpec(b, srv, srv.URL+"/", protocol)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if res := s.Run(ctx); !res.Success {
					b.Fatalf("probe failed: %s %v", res.FailureReason, res.Err)
				}
			}
		})
	}
}

// edgeSpec is the probe of rawURL on srv over protocol, trusting srv's certificate.
func edgeSpec(b testing.TB, srv *testhelp.EdgeServer, rawURL, protocol string) *Spec {
	target := testhelp.Target(b, "bench", rawURL)
	target.Protocols = []string{protocol}
	target.TLS.ServerName = "example.com"
	c := testhelp.Compiled(target)
	c.RootCAs = srv.Pool
	return testSpecCompiled(b, target, c)
}

// BenchmarkTTFBServerTruth compares the processing phase the probe measures (request written
// -> first response byte) with what the server itself saw: from having read the request to
// having written the first byte of its response, recorded per request. It probes at 200
// probes/s from 20 concurrent probes, as a loaded exporter would, for 1,000 probes:
//
//	go test -run XXX -bench TTFBServerTruth -benchtime 1x ./collector/prober/
//
// The difference is what the measurement adds: loopback transit both ways and the scheduling
// of the probe's goroutine and the server's.
//
// BenchmarkTTFBServerTruthProtocols does the same over HTTPS for each protocol, HTTP/3
// included (the server's truth is then quic-go's: request headers decoded to first byte
// handed to the QUIC stream):
//
//	go test -run XXX -bench TTFBServerTruthProtocols -benchtime 1x ./collector/prober/
func BenchmarkTTFBServerTruth(b *testing.B) {
	ttfbServerTruth(b, "")
}

func BenchmarkTTFBServerTruthProtocols(b *testing.B) {
	for _, protocol := range config.Protocols {
		b.Run(protocol, func(b *testing.B) { ttfbServerTruth(b, protocol) })
	}
}

// ttfbServerTruth is BenchmarkTTFBServerTruth over protocol, against a plain HTTP server when
// it is "".
func ttfbServerTruth(b *testing.B, protocol string) {
	const (
		probes  = 1000
		workers = 20
		rate    = 200 // probes per second
	)
	var mu sync.Mutex
	truth := map[string]time.Duration{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		read := time.Now() // the server has read the request
		time.Sleep(2 * time.Millisecond)
		w.Header().Set("Server", "cloudflare")
		w.Header().Set("CF-RAY", "9da906681ad80c13-AMS")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		wrote := time.Since(read) // the first byte is on the wire
		mu.Lock()
		truth[r.URL.Path] = wrote
		mu.Unlock()
		io.WriteString(w, "ok\n")
	})
	specs := make([]*Spec, workers)
	if protocol == "" {
		srv := httptest.NewServer(h)
		defer srv.Close()
		for i := range specs {
			specs[i] = testSpec(b, testhelp.Target(b, fmt.Sprintf("w%d", i), fmt.Sprintf("%s/w%d", srv.URL, i)))
		}
	} else {
		srv := testhelp.NewEdgeServer(b, h, true)
		for i := range specs {
			specs[i] = edgeSpec(b, srv, fmt.Sprintf("%s/w%d", srv.URL, i), protocol)
		}
	}
	for b.Loop() {
		tick := time.NewTicker(time.Second / rate)
		jobs := make(chan int)
		errs := make([]time.Duration, 0, probes)
		var errMu sync.Mutex
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range jobs {
					res := specs[w].Run(context.Background())
					if !res.Success {
						b.Errorf("probe failed: %s %v", res.FailureReason, res.Err)
						continue
					}
					mu.Lock()
					server := truth[fmt.Sprintf("/w%d", w)]
					mu.Unlock()
					errMu.Lock()
					errs = append(errs, res.Phases[PhaseProcessing]-server)
					errMu.Unlock()
				}
			}()
		}
		for i := range probes {
			<-tick.C
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		tick.Stop()
		slices.Sort(errs)
		abs := make([]time.Duration, len(errs))
		for i, e := range errs {
			abs[i] = max(e, -e)
		}
		slices.Sort(abs)
		q := func(d []time.Duration, q float64) time.Duration { return d[int(q*float64(len(d)-1))] }
		b.ReportMetric(float64(q(abs, 0.5).Microseconds()), "abs-err-p50-µs")
		b.ReportMetric(float64(q(abs, 0.99).Microseconds()), "abs-err-p99-µs")
		fmt.Printf("%sprocessing phase vs server-side truth over %d probes at %d/s: |error| median %v, p99 %v; signed median %v, min %v, max %v\n",
			cmp.Or(protocol, "plain HTTP")+": ", len(errs), rate, q(abs, 0.5), q(abs, 0.99), q(errs, 0.5), errs[0], errs[len(errs)-1])
	}
}

// BenchmarkRunContent is what content versions cost: the same probe as BenchmarkRun, of a
// plain-HTTP loopback edge serving a 64 KiB object (the default body_size_limit), without
// content, and with content: {} (ETag, Last-Modified and the SHA-256 of the whole body). It
// prints the process's CPU time per probe (user + system, from getrusage; the loopback
// server's share included, the same in both):
//
//	go test -run XXX -bench RunContent -benchtime 2000x ./collector/prober/
func BenchmarkRunContent(b *testing.B) {
	body := bytes.Repeat([]byte("<p>pop_exporter content benchmark</p>\n"), 64<<10/38+1)[:64<<10]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Server", "cloudflare")
		w.Header().Set("CF-RAY", "9da906681ad80c13-AMS")
		w.Header().Set("ETag", `"5f3a-64k"`)
		w.Header().Set("Last-Modified", "Wed, 02 Dec 2026 10:00:00 GMT")
		w.Write(body)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name    string
		content *config.Content
	}{
		{"off", nil},
		{"on", &config.Content{VersionFrom: config.VersionParts, PropagationWindow: config.DefaultPropagationWindow}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			target := testhelp.Target(b, "bench", srv.URL+"/")
			target.Content = tc.content
			s := testSpec(b, target)
			ctx := context.Background()
			b.ReportAllocs()
			before := cpuTime()
			for b.Loop() {
				if res := s.Run(ctx); !res.Success || (tc.content != nil) != (res.Content.Version != "") {
					b.Fatalf("probe failed or no version: %s %v %q", res.FailureReason, res.Err, res.Content.Version)
				}
			}
			perProbe := (cpuTime() - before) / time.Duration(b.N)
			b.ReportMetric(float64(perProbe.Microseconds()), "cpu-µs/probe")
			fmt.Printf("content %s, 64 KiB body: %v CPU per probe (process: probe and loopback server) over %d probes\n", tc.name, perProbe, b.N)
		})
	}
}

// cpuTime is the CPU time (user + system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkContentHash is the content version's own work on a 64 KiB body, without the
// network: the body's SHA-256 as it is read, then the version over ETag, Last-Modified and
// that hash.
//
//	go test -run XXX -bench ContentHash ./collector/prober/
func BenchmarkContentHash(b *testing.B) {
	body := bytes.Repeat([]byte("<p>pop_exporter content benchmark</p>\n"), 64<<10/38+1)[:64<<10]
	cs := newContentSpec(config.Target{Content: &config.Content{VersionFrom: config.VersionParts}}, config.CompiledTarget{})
	h := http.Header{"Etag": {`"5f3a-64k"`}, "Last-Modified": {"Wed, 02 Dec 2026 10:00:00 GMT"}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		sink := cs.sink()
		sink.Write(body)
		if c := cs.version(h, sink); c.Version == "" {
			b.Fatal("no version")
		}
		sink.release()
	}
}
