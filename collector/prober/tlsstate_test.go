package prober

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/popexporter/pop_exporter/collector/internal/testhelp"
)

// testChain is a CA and a leaf for 127.0.0.1 it signed, each with its own not-after.
type testChain struct {
	pool *x509.CertPool
	leaf tls.Certificate
	der  []byte // the leaf's DER
}

func newTestChain(t *testing.T, caNotAfter, leafNotAfter time.Time, serial int64) testChain {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: caNotAfter,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "edge"},
		NotBefore: time.Now().Add(-24 * time.Hour), NotAfter: leafNotAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return testChain{pool: pool, leaf: tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: key}, der: der}
}

func tlsServer(t *testing.T, cert tls.Certificate) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok"))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// An HTTPS probe reports the verified chain's earliest expiry (here the CA's, which ends
// before the leaf), the leaf's identity and expiry, and the negotiated version, cipher, ALPN
// and OCSP stapling.
func TestProbeTLSState(t *testing.T) {
	caEnd := time.Now().Add(20 * 24 * time.Hour).Truncate(time.Second).UTC()
	leafEnd := time.Now().Add(60 * 24 * time.Hour).Truncate(time.Second).UTC()
	chain := newTestChain(t, caEnd, leafEnd, 0x0a1b2c)
	chain.leaf.OCSPStaple = []byte{0x30, 0x03, 0x0a, 0x01, 0x00} // stapled as is: the client does not parse it
	srv := tlsServer(t, chain.leaf)

	target := testhelp.Target(t, "tls", srv.URL+"/")
	c := testhelp.Compiled(target)
	c.RootCAs = chain.pool
	res := testSpecCompiled(t, target, c).Run(t.Context())
	if !res.Success {
		t.Fatalf("probe failed: %s %v", res.FailureReason, res.Err)
	}
	sum := sha256.Sum256(chain.der)
	want := TLSState{
		Handshake: true, Verified: true, Version: tls.VersionTLS13, CipherSuite: res.TLS.CipherSuite,
		ALPN: "http/1.1", OCSPStapled: true, Certs: true, EarliestExpiry: caEnd,
		Leaf: LeafCert{Fingerprint: hex.EncodeToString(sum[:])[:16], Serial: "0a1b2c", NotAfter: leafEnd},
	}
	if res.TLS != want {
		t.Errorf("TLS state\n got %+v\nwant %+v", res.TLS, want)
	}
	if tls.CipherSuiteName(res.TLS.CipherSuite) == "" || res.TLS.CipherSuite == 0 {
		t.Errorf("no cipher suite: %#x", res.TLS.CipherSuite)
	}

	// Plain HTTP: no TLS state at all.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer plain.Close()
	if res := probeOnce(t, testhelp.Target(t, "plain", plain.URL+"/")); res.TLS != (TLSState{}) {
		t.Errorf("plain HTTP probe has TLS state %+v", res.TLS)
	}
}

// An expired certificate fails the probe as tls, and still says which certificate it was
// and when it expired: an expiry alert keeps firing instead of going stale.
func TestProbeTLSExpiredCertificate(t *testing.T) {
	leafEnd := time.Now().Add(-time.Hour).Truncate(time.Second)
	chain := newTestChain(t, time.Now().Add(time.Hour*24*365), leafEnd, 7)
	srv := tlsServer(t, chain.leaf)
	target := testhelp.Target(t, "tls", srv.URL+"/")
	c := testhelp.Compiled(target)
	c.RootCAs = chain.pool
	res := testSpecCompiled(t, target, c).Run(t.Context())
	if res.Success || res.FailureReason != ReasonTLS {
		t.Fatalf("expired certificate: success %v reason %q, want a tls failure", res.Success, res.FailureReason)
	}
	if !res.TLS.Certs || res.TLS.Handshake || res.TLS.Verified || !res.TLS.EarliestExpiry.Equal(leafEnd) ||
		!res.TLS.Leaf.NotAfter.Equal(leafEnd) || res.TLS.Leaf.Serial != "07" || len(res.TLS.Leaf.Fingerprint) != 16 {
		t.Errorf("TLS state of an expired certificate: %+v", res.TLS)
	}
}
