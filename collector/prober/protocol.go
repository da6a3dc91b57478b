package prober

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/popexporter/pop_exporter/config"
)

// An exchanger speaks one HTTP version: each protocol label value is one, so that the next
// protocol is one more file, one more entry in exchangers and one more case where
// Spec.roundTrip calls it (by its concrete type, which keeps the probe's Result off the heap),
// not a branch in Spec.Run. The redirect loop, the body read, edge identification and the
// result are the Spec's, the same for every protocol.
type exchanger interface {
	// roundTrip sends rq on a fresh connection to one of addrs (the resolver's answer, or the
	// pinned address: an exchanger never resolves again) and returns the hop with the
	// response head read, adding the time of each phase it goes through to res. first is the
	// probe's first request, whose answer res.DNS records with the address dialled.
	roundTrip(ctx context.Context, s *Spec, rq request, hostname, port string, addrs []netip.Addr, res *Result, first bool) (*hop, error)
	// alpn is what the TLS handshake offers in ALPN (RFC 7301): the protocol alone.
	alpn() []string
	// minTLS is the least TLS version the protocol allows; 0 for crypto/tls's default.
	minTLS() uint16
	// reasons are the failure reasons a probe of this protocol can end in.
	reasons() []string
}

// exchangers are the exchangers by protocol label value.
var exchangers = map[string]exchanger{
	config.ProtocolHTTP11: http1{},
	config.ProtocolHTTP2:  http2{},
	config.ProtocolHTTP3:  http3{},
}

// phaseClock records when the request went out and when the first response byte came, from
// httptrace callbacks that quic-go's HTTP/3 client calls, possibly on its own goroutines: those
// are where the moments happen (the HTTP/3 exchange then narrows them to its socket's).
type phaseClock struct {
	mu               sync.Mutex
	wrote, firstByte time.Time
}

// trace returns ctx with the clock's callbacks.
func (c *phaseClock) trace(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteHeaders: func() {
			c.mu.Lock()
			if c.wrote.IsZero() {
				c.wrote = time.Now()
			}
			c.mu.Unlock()
		},
		WroteRequest: func(httptrace.WroteRequestInfo) {
			// Set when WroteHeaders was not called; a request without a body is written
			// with its headers.
			c.mu.Lock()
			if c.wrote.IsZero() {
				c.wrote = time.Now()
			}
			c.mu.Unlock()
		},
		GotFirstResponseByte: func() {
			c.mu.Lock()
			if c.firstByte.IsZero() {
				c.firstByte = time.Now()
			}
			c.mu.Unlock()
		},
	})
}

// times returns when the request was written and when the first response byte came; a zero
// wrote (a client that reported no write) is start, the time the request was handed over.
func (c *phaseClock) times(start, fallback time.Time) (wrote, firstByte time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	wrote, firstByte = c.wrote, c.firstByte
	if wrote.IsZero() {
		wrote = start
	}
	if firstByte.IsZero() || firstByte.Before(wrote) {
		firstByte = fallback
	}
	return wrote, firstByte
}

// newRequest is rq as an http.Request for the clients of HTTP/2 and HTTP/3, with the headers
// prepared for its host. Without a body, as the HTTP/1.1 exchange sends it.
func (s *Spec) newRequest(ctx context.Context, rq request) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, rq.method, rq.url.String(), nil)
	if err != nil {
		return nil, err
	}
	if rq.own || s.Target.FollowRedirectsHeaders {
		req.Header = s.header.Clone()
	} else {
		req.Header = s.foreignHeader.Clone()
	}
	if rq.host != "" {
		req.Host = rq.host
	}
	return req, nil
}

// altSvcProtocols returns the protocols the Alt-Svc header values advertise (RFC 7838 §3), as
// a sorted comma-separated list of protocol label values: "h2" is http2 and "h3" is http3.
// Other ALPN ids (QUIC drafts such as h3-29, which no current client speaks) are left out, so
// the value is one of a handful whatever the server sends; "clear" advertises none.
func altSvcProtocols(values []string) string {
	var h2, h3 bool
	for _, v := range values {
		for alt := range strings.SplitSeq(v, ",") {
			alt = strings.TrimSpace(alt)
			id, _, _ := strings.Cut(alt, "=")
			switch strings.TrimSpace(id) {
			case "h2":
				h2 = true
			case "h3":
				h3 = true
			}
		}
	}
	switch {
	case h2 && h3:
		return config.ProtocolHTTP2 + "," + config.ProtocolHTTP3
	case h2:
		return config.ProtocolHTTP2
	case h3:
		return config.ProtocolHTTP3
	}
	return ""
}

// errNotHTTPS is the failure of a redirect to http:// in a protocol that needs TLS.
func errNotHTTPS(protocol string) error {
	return fmt.Errorf("redirected to an http:// URL, which %s cannot reach (it needs https)", protocol)
}
