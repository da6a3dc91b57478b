package prober

// Failure reasons, the values of the reason label of pop_probe_failures_total.
const (
	ReasonDNS        = "dns"         // name resolution failed
	ReasonConnect    = "connect"     // TCP connect failed (refused, unreachable)
	ReasonTLS        = "tls"         // TLS handshake or certificate verification failed
	ReasonALPN       = "alpn"        // the server did not accept the probe's protocol in ALPN (h2 refused)
	ReasonQUIC       = "quic"        // the QUIC handshake failed or never got an answer (UDP blocked)
	ReasonTimeout    = "timeout"     // the probe's deadline passed
	ReasonHTTPStatus = "http_status" // a response came, with a status not in valid_status_codes
	ReasonBody       = "body"        // reading the body failed
	ReasonPanic      = "panic"       // a bug: the probe panicked and was recovered
	ReasonOther      = "other"       // anything else: malformed response, reset, too many redirects
)

// FailureReasons lists every failure reason of an HTTP/1.1 probe, so that a probe's failure
// counters can all start at 0 and rate() and increase() work from the first failure. The
// other protocols' lists are Spec.FailureReasons.
var FailureReasons = []string{ReasonDNS, ReasonConnect, ReasonTLS, ReasonTimeout, ReasonHTTPStatus,
	ReasonBody, ReasonPanic, ReasonOther}

// http2Reasons and http3Reasons are the failure reasons of an HTTP/2 and an HTTP/3 probe: the
// HTTP/1.1 ones and alpn, and for QUIC quic instead of connect and tls.
var (
	http2Reasons = []string{ReasonDNS, ReasonConnect, ReasonTLS, ReasonALPN, ReasonTimeout, ReasonHTTPStatus,
		ReasonBody, ReasonPanic, ReasonOther}
	http3Reasons = []string{ReasonDNS, ReasonQUIC, ReasonALPN, ReasonTimeout, ReasonHTTPStatus,
		ReasonBody, ReasonPanic, ReasonOther}
)
