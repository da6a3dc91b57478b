package prober

import (
	"net/netip"
	"time"

	"github.com/popexporter/pop_exporter/collector/edge"
)

// Phase indexes Result.Phases.
type Phase int

// The phases of a probe, as curl names them. TTFB = dns + connect + tls + processing over
// TCP, dns + quic + processing over QUIC.
const (
	PhaseDNS        Phase = iota // name resolution
	PhaseConnect                 // TCP handshake
	PhaseTLS                     // TLS handshake
	PhaseProcessing              // request written -> first response byte
	PhaseTransfer                // first response byte -> body read (or limit reached)
	// PhaseQUIC is the QUIC handshake of an HTTP/3 probe: connecting and TLS are one exchange
	// in QUIC (RFC 9001), so it stands for both, and connect and tls do not happen. Last
	// because it came last: the indexes of the others stay as they were.
	PhaseQUIC
	// NumPhases is the number of phases, the length of Result.Phases.
	NumPhases
)

// PhaseNames are the phase label values, in the order a request goes through them, named as
// curl names them.
var PhaseNames = [NumPhases]string{"dns", "connect", "tls", "processing", "transfer", "quic"}

// String returns the phase label value.
func (p Phase) String() string { return PhaseNames[p] }

// Result is the outcome of one probe: a plain struct from which the collector derives every
// metric in one place.
type Result struct {
	Start    time.Time
	Duration time.Duration            // start -> end of body read, or -> failure
	Phases   [NumPhases]time.Duration // summed over redirects
	// Happened says which phases took place at all: no dns phase for an IP literal or a
	// pinned address, no tls phase over plain HTTP. Only those are observed.
	Happened [NumPhases]bool
	TTFB     time.Duration // start -> first byte of the final response; 0 without one

	// Responded is true when an HTTP response arrived, whatever its status: a 403 from a WAF or
	// a 503 from the edge still identifies the PoP that answered.
	Responded  bool
	StatusCode int
	Edge       edge.Result // valid when Responded
	// EdgeAddr is the address the final response came from (the edge, for a CDN).
	EdgeAddr netip.Addr
	// CacheAge is the Age header in seconds, -1 when absent or unparseable.
	CacheAge float64
	// AltSvc are the protocols the final response's Alt-Svc header advertises (RFC 7838), by
	// their protocols label values, e.g. "http2,http3"; "" when it advertises none we probe.
	AltSvc string
	// DNS is what the probe's resolver answered for the target's host on the first request;
	// zero when no lookup happened (an IP URL, a pinned address).
	DNS DNSAnswer
	// TLS is what the TLS handshake of the last hop showed (the final response's connection,
	// or the handshake that failed); zero when the last hop was plain HTTP.
	TLS TLSState
	// Content is the version of the object the final response carried, when it was a valid
	// response read whole (up to body_size_limit); its Version is "" when content is off.
	Content Content

	// Response is the final response as identification saw it (headers as received, the
	// first bytes of the body), and Identifier what identified it: only when the Spec's
	// KeepResponse is set, for the probe debug page; nil otherwise.
	Response   *edge.Response
	Identifier *edge.Identifier

	Success       bool
	FailureReason string // one of the Reason* constants when !Success
	Err           error  // the error behind FailureReason, for logs
}

// TLSState is what the TLS handshake of the probe's last hop showed: the final response's
// connection, or the handshake that failed. Zero over plain HTTP and when no handshake began.
type TLSState struct {
	// Handshake is true when the handshake completed: Version, CipherSuite, ALPN and
	// OCSPStapled are valid only then.
	Handshake bool
	// Verified is true when the chain was verified (not with insecure_skip_verify, nor for a
	// certificate that failed verification).
	Verified    bool
	Version     uint16 // tls.VersionTLS12, …
	CipherSuite uint16 // tls.TLS_AES_128_GCM_SHA256, …
	// ALPN is the negotiated application protocol, "" when the server chose none.
	ALPN string
	// OCSPStapled is true when the server stapled an OCSP response to the handshake.
	OCSPStapled bool
	// Certs is true when the server presented a certificate: EarliestExpiry and Leaf are
	// valid. A certificate that failed verification (expired, wrong name, unknown CA) is
	// still described, from the certificates the server presented.
	Certs bool
	// EarliestExpiry is the earliest not-after of the verified chain; with several verified
	// chains, of the one that lasts longest (the one a client can keep using); without a
	// verified chain, of the certificates the server presented.
	EarliestExpiry time.Time
	Leaf           LeafCert
}

// LeafCert identifies the certificate a server presented first: enough to tell two PoPs that
// serve different certificates for the same name apart, and nothing a label could explode on.
type LeafCert struct {
	// Fingerprint is the first 16 hex digits (64 bits) of the SHA-256 of the certificate's DER.
	Fingerprint string
	// Serial is the serial number in lower-case hex (at most 20 bytes by RFC 5280, 4.1.2.2).
	Serial   string
	NotAfter time.Time
}
