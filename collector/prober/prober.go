// Package prober runs one probe: a Spec is prepared once from a configured target (headers,
// TLS settings, resolver, identification rules), and Spec.Run performs a fresh-connection HTTP
// request, times its phases with httptrace, identifies the edge that answered and returns a
// plain Result. It owns the phase names and the failure reasons.
//
// It imports collector/edge (identification) and config (the target it is built from), and
// nothing that schedules probes or records metrics: the collector package above it does both.
package prober

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/popexporter/pop_exporter/collector/edge"
	"github.com/popexporter/pop_exporter/config"
)

const (
	// bodyPeekBytes is how much of the body edge identification may look at (e.g. the
	// colo= line of Cloudflare's /cdn-cgi/trace).
	bodyPeekBytes = 4 << 10
	// maxHeaderBytes bounds what a server can make us buffer before the body.
	maxHeaderBytes = 64 << 10
	// maxRedirects matches curl's and net/http's habit of giving up after a handful.
	maxRedirects = 10
)

// Spec is everything one probe (a target on one IP family) needs, prepared once when a config
// is applied, so a probe run does no parsing or file reading.
type Spec struct {
	// Key identifies the probe across reloads: "<target>/<ip_version>".
	Key string
	// Target is the configured target, with every field at its effective value.
	Target config.Target
	// IPVersion is the ip_version label value, "4" or "6".
	IPVersion string

	network   string // "tcp4" or "tcp6"
	tlsConfig *tls.Config
	resolver  *net.Resolver
	header    http.Header
	host      string // Host header override, "" for the URL's host
	ident     *edge.Identifier
	url       *url.URL   // the target's URL, parsed by config
	userAgent string     // the exporter's own User-Agent, sent where configured headers are not
	source    netip.Addr // source_address: the local address to connect from; invalid = any
}

// NewSpec prepares the probe of target t on one IP family ("ip4" or "ip6"); c holds what config
// compiled for t (its parsed URL and CA pool). userAgent is sent unless the target sets its own
// User-Agent header; ident identifies the edge of each response (nil: built-in rules only).
func NewSpec(t config.Target, c config.CompiledTarget, ipProtocol, userAgent string, ident *edge.Identifier) (*Spec, error) {
	if ident == nil {
		ident = edge.NewIdentifier(nil)
	}
	s := &Spec{Target: t, url: c.URL, header: http.Header{}, ident: ident, userAgent: userAgent}
	switch ipProtocol {
	case "ip4":
		s.IPVersion, s.network = "4", "tcp4"
	case "ip6":
		s.IPVersion, s.network = "6", "tcp6"
	default:
		return nil, fmt.Errorf("target %q: unknown ip protocol %q", t.Name, ipProtocol)
	}
	s.Key = t.Name + "/" + s.IPVersion
	if t.SourceAddress != "" {
		// config checked the address and that its family is the probe's.
		a, err := netip.ParseAddr(t.SourceAddress)
		if err != nil {
			return nil, fmt.Errorf("target %q: source_address: %w", t.Name, err)
		}
		s.source = a
	}
	for k, v := range t.Headers {
		if strings.EqualFold(k, "Host") {
			s.host = v
			continue
		}
		s.header.Set(k, v)
	}
	if s.header.Get("User-Agent") == "" {
		s.header.Set("User-Agent", userAgent)
	}
	// No ClientSessionCache: every probe does a full handshake, because routing and handshake
	// cost are what we measure.
	s.tlsConfig = &tls.Config{
		ServerName:         t.TLS.ServerName,
		InsecureSkipVerify: t.TLS.InsecureSkipVerify, //nolint:gosec // the user asked for it
	}
	// config read and parsed tls.ca_file at load time; a reload reads it again.
	s.tlsConfig.RootCAs = c.RootCAs
	if t.DNSServer != "" {
		server := t.DNSServer
		s.resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			// The lookup leaves from the source address too, if the server's family allows:
			// a vantage's resolver path is part of what it sees.
			d := net.Dialer{LocalAddr: s.localAddr(network, server)}
			return d.DialContext(ctx, network, server)
		}}
	}
	return s, nil
}

// dial connects on the probe's IP family, resolving afresh (Go's resolver keeps no cache) or
// connecting to the pinned address for the target's own host, like curl --resolve.
func (s *Spec) dial(ctx context.Context, _, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if s.Target.Resolve != "" && s.url != nil && strings.EqualFold(host, s.url.Hostname()) {
		addr = net.JoinHostPort(s.Target.Resolve, port)
	}
	d := net.Dialer{Resolver: s.resolver, LocalAddr: s.localAddr(s.network, "")}
	return d.DialContext(ctx, s.network, addr)
}

// localAddr is the address to bind a connection on network ("tcp4", "udp", …) to: the
// target's source_address, or nil (any) when none is set or when remote, a literal IP, is of
// the other family. A nil net.Addr, not a nil *net.TCPAddr in it, is what net.Dialer wants.
func (s *Spec) localAddr(network, remote string) net.Addr {
	if !s.source.IsValid() {
		return nil
	}
	if host, _, err := net.SplitHostPort(remote); err == nil {
		if r, err := netip.ParseAddr(host); err == nil && r.Unmap().Is4() != s.source.Unmap().Is4() {
			return nil
		}
	}
	ap := netip.AddrPortFrom(s.source, 0)
	if strings.HasPrefix(network, "udp") {
		return net.UDPAddrFromAddrPort(ap)
	}
	return net.TCPAddrFromAddrPort(ap)
}

// checkRedirect follows redirects as configured. The configured headers (tokens, debug
// headers, a Host override) are meant for the target's own host: on a redirect to another
// host they are dropped, as browsers and curl drop credentials, unless the target sets
// follow_redirects_headers. net/http itself only drops Authorization, Cookie and
// WWW-Authenticate.
func (s *Spec) checkRedirect(req *http.Request, via []*http.Request) error {
	if s.Target.FollowRedirects != nil && !*s.Target.FollowRedirects {
		return http.ErrUseLastResponse
	}
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	if !s.Target.FollowRedirectsHeaders && !strings.EqualFold(req.URL.Hostname(), via[0].URL.Hostname()) {
		for name := range s.Target.Headers {
			req.Header.Del(name)
		}
		req.Header.Set("User-Agent", s.userAgent)
	}
	return nil
}

// Run performs one probe: a fresh transport (fresh DNS, fresh TCP and TLS, no keep-alive), one
// request with redirects as configured, a bounded body read, and edge identification of the
// final response. It ends by the target's timeout at the latest, or earlier when ctx ends.
func (s *Spec) Run(ctx context.Context) Result {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(s.Target.Timeout))
	defer cancel()
	res := Result{Start: time.Now(), CacheAge: -1}
	trace := &phaseTrace{}
	ctx = httptrace.WithClientTrace(ctx, trace.clientTrace())

	transport := &http.Transport{
		Proxy:                  nil, // a proxy would hide the routing we are here to see
		DialContext:            s.dial,
		TLSClientConfig:        s.tlsConfig,
		DisableKeepAlives:      true,
		DisableCompression:     true,
		MaxResponseHeaderBytes: maxHeaderBytes,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, CheckRedirect: s.checkRedirect}

	fail := func(reason string, err error) Result {
		res.Duration = time.Since(res.Start)
		trace.mu.Lock()
		res.Phases, res.Happened = trace.phases, trace.happened
		trace.mu.Unlock()
		res.FailureReason, res.Err = reason, err
		return res
	}

	req, err := http.NewRequestWithContext(ctx, s.Target.Method, s.Target.URL, nil)
	if err != nil {
		return fail(ReasonOther, fmt.Errorf("building request: %w", err))
	}
	req.Header = s.header.Clone()
	if s.host != "" {
		req.Host = s.host
	}
	resp, err := client.Do(req)
	if err != nil {
		return fail(classifyError(ctx, err), err)
	}
	defer resp.Body.Close()

	trace.mu.Lock()
	firstByte := trace.firstByte
	res.RemoteAddr = trace.remote
	trace.mu.Unlock()
	if firstByte.IsZero() { // cannot happen with net/http, but never report a negative TTFB
		firstByte = time.Now()
	}
	res.Responded = true
	res.StatusCode = resp.StatusCode
	res.TTFB = firstByte.Sub(res.Start)

	limit := int64(s.Target.BodySizeLimit)
	peek := make([]byte, min(limit, bodyPeekBytes))
	n, bodyErr := io.ReadFull(resp.Body, peek)
	if errors.Is(bodyErr, io.EOF) || errors.Is(bodyErr, io.ErrUnexpectedEOF) {
		bodyErr = nil
	} else if bodyErr == nil {
		_, bodyErr = io.Copy(io.Discard, io.LimitReader(resp.Body, limit-int64(n)))
	}
	end := time.Now()

	res.Edge = s.ident.Identify(&edge.Response{
		StatusCode: resp.StatusCode,
		Header:     resp.Header,
		URL:        resp.Request.URL.String(),
		Body:       peek[:n],
	})
	if ages := resp.Header.Values("Age"); len(ages) > 0 {
		if age, err := strconv.ParseUint(strings.TrimSpace(ages[len(ages)-1]), 10, 32); err == nil {
			res.CacheAge = float64(age)
		}
	}

	trace.mu.Lock()
	res.Phases, res.Happened = trace.phases, trace.happened
	trace.mu.Unlock()
	res.Phases[PhaseTransfer], res.Happened[PhaseTransfer] = end.Sub(firstByte), true
	res.Duration = end.Sub(res.Start)
	switch {
	case bodyErr != nil:
		res.FailureReason, res.Err = classifyError(ctx, bodyErr), fmt.Errorf("reading body: %w", bodyErr)
		if res.FailureReason != ReasonTimeout {
			res.FailureReason = ReasonBody
		}
	case !s.Target.StatusOK(resp.StatusCode):
		res.FailureReason, res.Err = ReasonHTTPStatus, fmt.Errorf("status %d is not a valid status code", resp.StatusCode)
	default:
		res.Success = true
	}
	return res
}
