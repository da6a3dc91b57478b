// Package prober runs one probe: a Spec is prepared once from a configured target (headers,
// TLS settings, resolver, protocol, identification rules), and Spec.Run performs a
// fresh-connection exchange in the probe's HTTP version (an exchanger, protocol.go: HTTP/1.1
// in exchange.go, HTTP/2 in http2.go, HTTP/3 in http3.go), times each of its phases where it
// happens, identifies the edge that answered and returns a plain Result. It owns the phase
// names and the failure reasons.
//
// It imports collector/edge (identification) and config (the target it is built from), and
// nothing that schedules probes or records metrics: the collector package above it does both.
package prober

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2/hpack"

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
	// Key identifies the probe across reloads: "<target>/<ip_version>/<resolver>/<protocol>".
	Key string
	// Target is the configured target, with every field at its effective value.
	Target config.Target
	// IPVersion is the ip_version label value, "4" or "6".
	IPVersion string
	// Resolver is the resolver label value: the name of the resolver the probe asks.
	Resolver string
	// Protocol is the protocol label value: the HTTP version the probe speaks, one of
	// config.Protocols.
	Protocol string
	// SystemResolver says the probe asks the operating system's resolver, which exposes no
	// rcode or client subnet scope.
	SystemResolver bool
	// KeepResponse makes Run keep the final response's headers and URL in Result.Response,
	// for the probe debug page (--web.enable-probe-debug); off, a probe keeps nothing of them.
	KeepResponse bool

	network   string      // "tcp4" or "tcp6"
	exchange  exchanger   // speaks the probe's protocol
	reasons   []string    // the failure reasons the protocol can end in
	tlsConfig *tls.Config // for the URL's host, when it is https; ServerName set
	sniSet    bool        // tls.server_name was configured: it applies to every hop
	rootCAs   *x509.CertPool
	dns       *dnsResolver // the configured resolver; nil for the system's
	pinned    netip.Addr   // resolve: the address of the URL's host
	host      string       // Host header override, "" for the URL's host
	ident     *edge.Identifier
	url       *url.URL // the target's URL, parsed by config

	content contentSpec // content version and body checks

	// headerBlock is every request header line for the target's own host, rendered once;
	// foreignHeaderBlock is what a redirect to another host gets: the exporter's User-Agent.
	headerBlock, foreignHeaderBlock string
	// header and foreignHeader are the same headers for HTTP/3, whose requests are
	// http.Requests; nil for the other protocols.
	header, foreignHeader http.Header
	// h2Fields and h2ForeignFields are the same headers as HTTP/2 header fields, prepared
	// once (h2HeaderFields); nil for the other protocols.
	h2Fields, h2ForeignFields []hpack.HeaderField
	source                    netip.Addr // source_address: the local address to connect from; invalid = any
}

// NewSpec prepares the probe of target t on one IP family ("ip4" or "ip6") in one HTTP version
// (one of config.Protocols; "" is HTTP/1.1) through resolver r, one of c.Resolvers (the zero
// value is the system resolver); c holds what config compiled for t (its parsed URL and CA
// pool). userAgent is sent unless the target sets its own User-Agent header; ident identifies
// the edge of each response (nil: built-in rules only).
func NewSpec(t config.Target, c config.CompiledTarget, ipProtocol, protocol string, r config.CompiledResolver, userAgent string, ident *edge.Identifier) (*Spec, error) {
	if ident == nil {
		ident = edge.NewIdentifier(nil)
	}
	if c.URL == nil {
		return nil, fmt.Errorf("target %q: no parsed URL", t.Name)
	}
	s := &Spec{Target: t, url: c.URL, ident: ident, content: newContentSpec(t, c)}
	switch ipProtocol {
	case "ip4":
		s.IPVersion, s.network = "4", "tcp4"
	case "ip6":
		s.IPVersion, s.network = "6", "tcp6"
	default:
		return nil, fmt.Errorf("target %q: unknown ip protocol %q", t.Name, ipProtocol)
	}
	s.Resolver, s.SystemResolver = r.Name, r.System()
	if s.Resolver == "" {
		s.Resolver = config.SystemResolver
	}
	if protocol == "" {
		protocol = config.ProtocolHTTP11
	}
	ex, ok := exchangers[protocol]
	if !ok {
		return nil, fmt.Errorf("target %q: unknown protocol %q", t.Name, protocol)
	}
	if protocol == config.ProtocolHTTP3 && c.URL.Scheme != "https" {
		return nil, fmt.Errorf("target %q: http3 needs an https:// URL", t.Name)
	}
	s.Protocol, s.exchange, s.reasons = protocol, ex, ex.reasons()
	s.Key = t.Name + "/" + s.IPVersion + "/" + s.Resolver + "/" + s.Protocol
	if t.SourceAddress != "" {
		// config checked the address and that its family is the probe's.
		a, err := netip.ParseAddr(t.SourceAddress)
		if err != nil {
			return nil, fmt.Errorf("target %q: source_address: %w", t.Name, err)
		}
		s.source = a
	}
	header := http.Header{}
	for k, v := range t.Headers {
		if strings.EqualFold(k, "Host") {
			s.host = v
			continue
		}
		header.Set(k, v)
	}
	if header.Get("User-Agent") == "" {
		header.Set("User-Agent", userAgent)
	}
	s.headerBlock = headerBlock(header)
	s.foreignHeaderBlock = headerBlock(http.Header{"User-Agent": {userAgent}})
	switch s.Protocol {
	case config.ProtocolHTTP2:
		s.h2Fields, s.h2ForeignFields = h2HeaderFields(header), h2HeaderFields(http.Header{"User-Agent": {userAgent}})
	case config.ProtocolHTTP3:
		s.header, s.foreignHeader = header, http.Header{"User-Agent": {userAgent}}
	}
	if t.Resolve != "" {
		addr, err := netip.ParseAddr(t.Resolve)
		if err != nil {
			return nil, fmt.Errorf("target %q: resolve: %w", t.Name, err)
		}
		s.pinned = addr
	}
	s.rootCAs = c.RootCAs // read and parsed by config at load time
	s.sniSet = t.TLS.ServerName != ""
	if c.URL.Scheme == "https" { // prepared once; a plain-HTTP target makes one only if redirected to HTTPS
		s.tlsConfig = s.newTLSConfig(c.URL.Hostname())
	}
	if !r.System() {
		if r.Transport == config.TransportHTTPS && r.URL == nil {
			return nil, fmt.Errorf("target %q: resolver %q: no DNS-over-HTTPS URL", t.Name, r.Name)
		}
		// The lookups leave from the source address too, if the server's family allows: a
		// vantage's resolver path is part of what it sees.
		s.dns = newDNSResolver(s, r)
	}
	return s, nil
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

// HTTPS says the target's URL is https://.
func (s *Spec) HTTPS() bool { return s.url.Scheme == "https" }

// FailureReasons are the reason label values a failure of this probe can have, for its
// failure counters to start at 0: its protocol's (see FailureReasons).
func (s *Spec) FailureReasons() []string { return s.reasons }

// newTLSConfig is the TLS configuration of a hop to host: the configured server name, else
// host. No ClientSessionCache: every probe does a full handshake, because routing and
// handshake cost are what we measure. ALPN offers the probe's protocol alone (http/1.1, h2,
// h3), so that a server which does not speak it says so instead of the probe falling back,
// as curl --http1.1 does for HTTP/1.1; crypto/tls refuses a protocol that was not offered,
// so the alpn label of pop_probe_tls_info is bounded.
func (s *Spec) newTLSConfig(host string) *tls.Config {
	name := s.Target.TLS.ServerName
	if name == "" {
		name = host
	}
	return &tls.Config{
		ServerName:         name,
		InsecureSkipVerify: s.Target.TLS.InsecureSkipVerify, //nolint:gosec // the user asked for it
		RootCAs:            s.rootCAs,
		NextProtos:         s.exchange.alpn(),
		MinVersion:         s.exchange.minTLS(),
	}
}

// Run performs one probe: a fresh DNS lookup, a fresh TCP connection and TLS handshake, one
// request with redirects as configured (each hop on a new connection), a bounded body read,
// and edge identification of the final response. It ends by the target's timeout at the
// latest, or earlier when ctx ends (a ctx whose deadline is no later than the timeout is used
// as it is).
func (s *Spec) Run(ctx context.Context) Result {
	deadline := time.Now().Add(time.Duration(s.Target.Timeout))
	if d, ok := ctx.Deadline(); !ok || d.After(deadline) {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	res := Result{Start: time.Now(), CacheAge: -1}
	fail := func(err error) Result {
		res.Duration = time.Since(res.Start)
		res.FailureReason, res.Err = ReasonOther, err
		var pe *phaseError
		if errors.As(err, &pe) {
			res.FailureReason = pe.reason
		}
		return res
	}

	rq := request{url: s.url, method: s.Target.Method, host: s.host, own: true}
	var h *hop
	for redirects := 0; ; redirects++ {
		var err error
		if h, err = s.roundTrip(ctx, rq, &res, redirects == 0); err != nil {
			return fail(err)
		}
		next, err := s.redirect(h.resp, rq, redirects)
		if err != nil {
			h.close()
			return fail(err)
		}
		if next == nil {
			break
		}
		h.close()
		rq = *next
	}
	defer h.close()
	resp := h.resp
	res.Responded = true
	res.StatusCode = resp.StatusCode
	res.TTFB = h.firstByte.Sub(res.Start)
	res.EdgeAddr = h.addr

	sink := s.content.sink()
	if sink != nil {
		defer sink.release()
	}
	peek, n, bodyErr := readBody(resp.Body, int64(s.Target.BodySizeLimit), sink)
	end := time.Now()
	er := edge.Response{
		StatusCode: resp.StatusCode,
		Header:     resp.Header,
		URL:        rq.url.String(),
		Body:       (*peek)[:n],
	}
	res.Edge = s.ident.Identify(&er)
	if s.KeepResponse {
		// The header map is this response's own; the body is cut to what identification
		// reads and copied out of the pooled buffer.
		er.Body = bytes.Clone(er.Body)
		res.Response, res.Identifier = &er, s.ident
	}
	peekPool.Put(peek)
	if alt := resp.Header.Values("Alt-Svc"); len(alt) > 0 {
		res.AltSvc = altSvcProtocols(alt)
	}
	if ages := resp.Header.Values("Age"); len(ages) > 0 {
		if age, err := strconv.ParseUint(strings.TrimSpace(ages[len(ages)-1]), 10, 32); err == nil {
			res.CacheAge = float64(age)
		}
	}

	res.Phases[PhaseTransfer], res.Happened[PhaseTransfer] = end.Sub(h.firstByte), true
	res.Duration = end.Sub(res.Start)
	switch {
	case bodyErr != nil:
		err := failAt(ctx, ReasonBody, fmt.Errorf("reading body: %w", bodyErr))
		res.FailureReason, res.Err = err.(*phaseError).reason, err
	case !s.Target.StatusOK(resp.StatusCode):
		res.FailureReason, res.Err = ReasonHTTPStatus, fmt.Errorf("status %d is not a valid status code", resp.StatusCode)
	default:
		// A valid response read whole (up to the limit): its version, then the body checks.
		res.Content = s.content.version(resp.Header, sink)
		var body []byte
		if sink != nil {
			body = sink.buf.Bytes()
		}
		if reason, re := s.content.check(body); reason != "" {
			res.FailureReason, res.Err = reason, fmt.Errorf("body check %s: %q", reason, re)
			break
		}
		res.Success = true
	}
	return res
}

// redirect returns the next hop when resp is a redirect to follow, nil when it is the final
// response. Like net/http's client: at most maxRedirects, 301/302/303 turn other methods than
// GET and HEAD into GET, and a Host override survives a relative Location. Unlike it,
// the configured headers are meant for the target's own host: a redirect to another host
// gets none of them (only the exporter's User-Agent), as browsers and curl drop credentials,
// unless the target sets follow_redirects_headers.
func (s *Spec) redirect(resp *http.Response, rq request, redirects int) (*request, error) {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return nil, nil
	}
	loc := resp.Header.Get("Location")
	if loc == "" || s.Target.FollowRedirects != nil && !*s.Target.FollowRedirects {
		return nil, nil
	}
	if redirects >= maxRedirects {
		return nil, fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	ref, err := url.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("redirect to an invalid Location %q: %w", loc, err)
	}
	u := rq.url.ResolveReference(ref)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("redirect to unsupported scheme %q", u.Scheme)
	}
	next := request{url: u, method: rq.method, own: strings.EqualFold(u.Hostname(), s.url.Hostname())}
	if ref.Host == "" { // a relative Location keeps the Host override, as net/http does
		next.host = rq.host
	}
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther:
		if rq.method != http.MethodGet && rq.method != http.MethodHead {
			next.method = http.MethodGet
		}
	}
	return &next, nil
}
