package collector

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
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

// probeSpec is everything one probe (a target on one IP family) needs, prepared once when a
// config is applied, so a probe run does no parsing or file reading.
type probeSpec struct {
	key       string // "<target>/<ip_version>"
	target    config.Target
	ipVersion string // "4" or "6"
	network   string // "tcp4" or "tcp6"
	tlsConfig *tls.Config
	resolver  *net.Resolver
	header    http.Header
	host      string // Host header override, "" for the URL's host
	userAgent string
	url       *url.URL // the target's URL, parsed by config
}

func newProbeSpec(t config.Target, c config.CompiledTarget, ipProtocol, userAgent string) (*probeSpec, error) {
	s := &probeSpec{target: t, url: c.URL, userAgent: userAgent, header: http.Header{}}
	switch ipProtocol {
	case "ip4":
		s.ipVersion, s.network = "4", "tcp4"
	case "ip6":
		s.ipVersion, s.network = "6", "tcp6"
	default:
		return nil, fmt.Errorf("target %q: unknown ip protocol %q", t.Name, ipProtocol)
	}
	s.key = t.Name + "/" + s.ipVersion
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
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		}}
	}
	return s, nil
}

// dial connects on the probe's IP family, resolving afresh (Go's resolver keeps no cache) or
// connecting to the pinned address for the target's own host, like curl --resolve.
func (s *probeSpec) dial(ctx context.Context, _, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if s.target.Resolve != "" && s.url != nil && strings.EqualFold(host, s.url.Hostname()) {
		addr = net.JoinHostPort(s.target.Resolve, port)
	}
	d := net.Dialer{Resolver: s.resolver}
	return d.DialContext(ctx, s.network, addr)
}

func (s *probeSpec) checkRedirect(_ *http.Request, via []*http.Request) error {
	if s.target.FollowRedirects != nil && !*s.target.FollowRedirects {
		return http.ErrUseLastResponse
	}
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	return nil
}

// phaseTrace adds up request phases from httptrace hooks. Hooks of one request can run on
// different goroutines (the dialer's), hence the mutex.
type phaseTrace struct {
	mu                               sync.Mutex
	dnsStart, connectStart, tlsStart time.Time
	wroteRequest, firstByte          time.Time
	phases                           [numPhases]time.Duration
	happened                         [numPhases]bool
}

func (p *phaseTrace) add(phase Phase, since time.Time) {
	if !since.IsZero() {
		p.phases[phase] += time.Since(since)
		p.happened[phase] = true
	}
}

func (p *phaseTrace) clientTrace() *httptrace.ClientTrace {
	lock := func(f func()) { p.mu.Lock(); f(); p.mu.Unlock() }
	return &httptrace.ClientTrace{
		DNSStart:          func(httptrace.DNSStartInfo) { lock(func() { p.dnsStart = time.Now() }) },
		DNSDone:           func(httptrace.DNSDoneInfo) { lock(func() { p.add(PhaseDNS, p.dnsStart) }) },
		ConnectStart:      func(string, string) { lock(func() { p.connectStart = time.Now() }) },
		ConnectDone:       func(string, string, error) { lock(func() { p.add(PhaseConnect, p.connectStart) }) },
		TLSHandshakeStart: func() { lock(func() { p.tlsStart = time.Now() }) },
		TLSHandshakeDone:  func(tls.ConnectionState, error) { lock(func() { p.add(PhaseTLS, p.tlsStart) }) },
		WroteRequest:      func(httptrace.WroteRequestInfo) { lock(func() { p.wroteRequest = time.Now() }) },
		GotFirstResponseByte: func() {
			lock(func() {
				p.add(PhaseProcessing, p.wroteRequest)
				p.firstByte = time.Now()
			})
		},
	}
}

// run performs one probe: a fresh transport (fresh DNS, fresh TCP and TLS, no keep-alive), one
// request with redirects as configured, a bounded body read, and edge identification of the
// final response. ctx carries the probe's deadline.
func (s *probeSpec) run(ctx context.Context, ident *edge.Identifier) Result {
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

	req, err := http.NewRequestWithContext(ctx, s.target.Method, s.target.URL, nil)
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
	trace.mu.Unlock()
	if firstByte.IsZero() { // cannot happen with net/http, but never report a negative TTFB
		firstByte = time.Now()
	}
	res.Responded = true
	res.StatusCode = resp.StatusCode
	res.TTFB = firstByte.Sub(res.Start)

	limit := int64(s.target.BodySizeLimit)
	peek := make([]byte, min(limit, bodyPeekBytes))
	n, bodyErr := io.ReadFull(resp.Body, peek)
	if errors.Is(bodyErr, io.EOF) || errors.Is(bodyErr, io.ErrUnexpectedEOF) {
		bodyErr = nil
	} else if bodyErr == nil {
		_, bodyErr = io.Copy(io.Discard, io.LimitReader(resp.Body, limit-int64(n)))
	}
	end := time.Now()

	res.Edge = ident.Identify(&edge.Response{
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
	case !s.target.StatusOK(resp.StatusCode):
		res.FailureReason, res.Err = ReasonHTTPStatus, fmt.Errorf("status %d is not a valid status code", resp.StatusCode)
	default:
		res.Success = true
	}
	return res
}

// classifyError maps a request error to a failure reason.
func classifyError(ctx context.Context, err error) string {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ReasonTimeout
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return ReasonDNS
	}
	var (
		certErr     *tls.CertificateVerificationError
		recordErr   tls.RecordHeaderError
		alertErr    tls.AlertError
		unknownAuth x509.UnknownAuthorityError
		hostErr     x509.HostnameError
		invalidErr  x509.CertificateInvalidError
	)
	if errors.As(err, &certErr) || errors.As(err, &recordErr) || errors.As(err, &alertErr) ||
		errors.As(err, &unknownAuth) || errors.As(err, &hostErr) || errors.As(err, &invalidErr) {
		return ReasonTLS
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return ReasonConnect
	}
	if strings.Contains(err.Error(), "tls: ") {
		return ReasonTLS
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return ReasonTimeout
	}
	return ReasonOther
}
