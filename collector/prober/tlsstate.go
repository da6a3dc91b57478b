package prober

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"time"
)

// maxSerialBytes bounds the serial number kept: RFC 5280 allows 20 octets; a longer one (a
// non-conforming certificate) is cut rather than becoming an unbounded label value.
const maxSerialBytes = 20

// tlsState describes a completed handshake.
func tlsState(cs tls.ConnectionState) TLSState {
	st := TLSState{
		Handshake:   true,
		Verified:    len(cs.VerifiedChains) > 0,
		Version:     cs.Version,
		CipherSuite: cs.CipherSuite,
		ALPN:        cs.NegotiatedProtocol,
		OCSPStapled: len(cs.OCSPResponse) > 0,
	}
	if len(cs.PeerCertificates) == 0 {
		return st
	}
	st.Certs = true
	st.Leaf = leafCert(cs.PeerCertificates[0])
	if st.Verified {
		// Like blackbox_exporter's probe_ssl_last_chain_expiry_timestamp_seconds: each chain
		// expires with its earliest certificate, and the client can use the one lasting longest.
		for _, chain := range cs.VerifiedChains {
			if e := earliest(chain); e.After(st.EarliestExpiry) {
				st.EarliestExpiry = e
			}
		}
	} else {
		st.EarliestExpiry = earliest(cs.PeerCertificates)
	}
	return st
}

// failedTLSState describes a handshake that failed verification from the certificates the
// server presented, so an expired or mismatched certificate still shows which one it was and
// when it expired. Other handshake failures describe nothing.
func failedTLSState(err error) TLSState {
	var ve *tls.CertificateVerificationError
	if !errors.As(err, &ve) || len(ve.UnverifiedCertificates) == 0 {
		return TLSState{}
	}
	return TLSState{
		Certs:          true,
		EarliestExpiry: earliest(ve.UnverifiedCertificates),
		Leaf:           leafCert(ve.UnverifiedCertificates[0]),
	}
}

func earliest(certs []*x509.Certificate) time.Time {
	var e time.Time
	for _, c := range certs {
		if e.IsZero() || c.NotAfter.Before(e) {
			e = c.NotAfter
		}
	}
	return e
}

func leafCert(c *x509.Certificate) LeafCert {
	sum := sha256.Sum256(c.Raw)
	serial := c.SerialNumber.Bytes()
	if len(serial) > maxSerialBytes {
		serial = serial[:maxSerialBytes]
	}
	return LeafCert{
		Fingerprint: hex.EncodeToString(sum[:8]),
		Serial:      hex.EncodeToString(serial),
		NotAfter:    c.NotAfter,
	}
}
