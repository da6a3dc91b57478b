package prober

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
