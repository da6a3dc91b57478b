package prober

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
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
// BenchmarkTTFBServerTruthProtocols does the same over HTTPS for each protocol. Over HTTP/3
// the server's truth is taken at its UDP socket: from the arrival of the last datagram of the
// probe's connection before the handler started to the departure of the first one after the
// handler flushed. The server's QUIC stack runs in user space, on goroutines of its own
// between the socket and the handler, and the time it takes there is the server's as much as
// the handler's is (over TCP, the kernel's stack hands the request to the handler's goroutine
// directly):
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
	wire := &wireClock{reads: map[string][]time.Time{}, writes: map[string][]time.Time{}}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		read := time.Now() // the server has read the request
		time.Sleep(2 * time.Millisecond)
		w.Header().Set("Server", "cloudflare")
		w.Header().Set("CF-RAY", "9da906681ad80c13-AMS")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		flushed := time.Now() // the first byte is on the wire (over TCP)
		mu.Lock()
		truth[r.URL.Path] = flushed.Sub(read)
		if protocol == config.ProtocolHTTP3 {
			wire.want(r.URL.Path, r.RemoteAddr, read, flushed)
		}
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
		srv := testhelp.NewEdgeServerOn(b, h, true, func(udp *net.UDPConn) net.PacketConn { return wire.on(udp) })
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
					if protocol == config.ProtocolHTTP3 {
						server = wire.truth(fmt.Sprintf("/w%d", w))
					}
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

// wireClock is the server side's UDP socket with the times of the datagrams it read from and
// wrote to each client address, and each path's last request: which client, and when the
// handler started and flushed.
type wireClock struct {
	mu       sync.Mutex
	udp      *net.UDPConn
	reads    map[string][]time.Time
	writes   map[string][]time.Time
	requests map[string]wireRequest
}

type wireRequest struct {
	client        string
	read, flushed time.Time
}

// on makes udp the socket the clock reads and writes.
func (c *wireClock) on(udp *net.UDPConn) net.PacketConn {
	c.udp = udp
	return wireConn{c}
}

// want records the request of path from client, read and flushed by the handler at those times.
func (c *wireClock) want(path, client string, read, flushed time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.requests == nil {
		c.requests = map[string]wireRequest{}
	}
	c.requests[path] = wireRequest{client, read, flushed}
}

// truth is the server's time at its socket for the last request of path: from the last
// datagram read from its client before the handler started to the first one written to it
// after the handler flushed.
func (c *wireClock) truth(path string) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	rq := c.requests[path]
	var in, out time.Time
	for _, t := range c.reads[rq.client] {
		if !t.After(rq.read) {
			in = t
		}
	}
	for _, t := range c.writes[rq.client] {
		if !t.Before(rq.flushed) {
			out = t
			break
		}
	}
	if in.IsZero() || out.IsZero() {
		return rq.flushed.Sub(rq.read)
	}
	return out.Sub(in)
}

// wireConn is a wireClock's socket as the HTTP/3 server uses it: one datagram per call, each
// timed (arrivals after the read returns, departures before the write starts, as the probe
// times its own).
type wireConn struct{ c *wireClock }

func (w wireConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := w.c.udp.ReadFrom(b)
	if err == nil {
		t := time.Now()
		w.c.mu.Lock()
		w.c.reads[addr.String()] = append(w.c.reads[addr.String()], t)
		w.c.mu.Unlock()
	}
	return n, addr, err
}

func (w wireConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	t := time.Now()
	n, err := w.c.udp.WriteTo(b, addr)
	if err == nil {
		w.c.mu.Lock()
		w.c.writes[addr.String()] = append(w.c.writes[addr.String()], t)
		w.c.mu.Unlock()
	}
	return n, err
}

func (w wireConn) Close() error                       { return w.c.udp.Close() }
func (w wireConn) LocalAddr() net.Addr                { return w.c.udp.LocalAddr() }
func (w wireConn) SetDeadline(t time.Time) error      { return w.c.udp.SetDeadline(t) }
func (w wireConn) SetReadDeadline(t time.Time) error  { return w.c.udp.SetReadDeadline(t) }
func (w wireConn) SetWriteDeadline(t time.Time) error { return w.c.udp.SetWriteDeadline(t) }
func (w wireConn) SetReadBuffer(n int) error          { return w.c.udp.SetReadBuffer(n) }
