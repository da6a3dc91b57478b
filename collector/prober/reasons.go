package prober

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
)

// Failure reasons, the values of the reason label of pop_probe_failures_total.
const (
	ReasonDNS        = "dns"         // name resolution failed
	ReasonConnect    = "connect"     // TCP connect failed (refused, unreachable)
	ReasonTLS        = "tls"         // TLS handshake or certificate verification failed
	ReasonTimeout    = "timeout"     // the probe's deadline passed
	ReasonHTTPStatus = "http_status" // a response came, with a status not in valid_status_codes
	ReasonBody       = "body"        // reading the body failed
	ReasonPanic      = "panic"       // a bug: the probe panicked and was recovered
	ReasonOther      = "other"       // anything else: malformed response, reset, too many redirects
)

// FailureReasons lists every failure reason, so that a probe's failure counters can all start
// at 0 and rate() and increase() work from the first failure.
var FailureReasons = []string{ReasonDNS, ReasonConnect, ReasonTLS, ReasonTimeout, ReasonHTTPStatus,
	ReasonBody, ReasonPanic, ReasonOther}

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
