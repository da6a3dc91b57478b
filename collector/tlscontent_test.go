package collector

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/popexporter/pop_exporter/config"
)

// A hostile edge presenting a new certificate on every handshake and a new object on every
// response, probed for real with content on: each probe keeps one leaf series and one version
// series, and past the cap their labels are "other", so neither can grow the series count.
func TestNewCertificateAndObjectEveryProbeAreCapped(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var serial atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Server", "cloudflare")
		w.Header().Set("CF-RAY", "9da906681ad80c13-AMS")
		w.Header().Set("ETag", fmt.Sprintf(`"%d"`, time.Now().UnixNano()))
		fmt.Fprintf(w, "object %d", time.Now().UnixNano())
	}))
	srv.TLS = &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial.Add(1)), Subject: pkix.Name{CommonName: "edge"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Duration(serial.Load()) * time.Hour),
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, err
	}}
	srv.StartTLS()
	defer srv.Close()

	m, reg := newTestManager(t, Options{MaxPoPsPerProbe: 4})
	target := testTarget(t, "hostile", srv.URL+"/")
	// A server name, so that the handshake names one: crypto/tls asks GetCertificate only
	// then (httptest gives the server a certificate of its own for the rest).
	target.TLS.InsecureSkipVerify, target.TLS.ServerName = true, "edge.test"
	target.Content = &config.Content{VersionFrom: config.VersionParts, PropagationWindow: config.DefaultPropagationWindow}
	r := newRecordingRunner(t, m, target)
	s := r.spec.Load()
	for range 12 {
		res := m.runProbe(context.Background(), s)
		if !res.Success || res.Content.Version == "" || !res.TLS.Certs {
			t.Fatalf("probe: success %v, reason %q, version %q, certs %v", res.Success, res.FailureReason, res.Content.Version, res.TLS.Certs)
		}
		m.record(r, res)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			for _, lp := range mt.GetLabel() {
				switch {
				case mf.GetName() == "pop_probe_tls_leaf_cert_expiry_timestamp_seconds" && lp.GetName() == "fingerprint",
					mf.GetName() == "pop_probe_content_version_since_timestamp_seconds" && lp.GetName() == "version":
					if _, dup := found[mf.GetName()]; dup {
						t.Errorf("%s has more than one series for the probe", mf.GetName())
					}
					found[mf.GetName()] = lp.GetValue()
				}
			}
		}
	}
	for _, name := range []string{"pop_probe_tls_leaf_cert_expiry_timestamp_seconds", "pop_probe_content_version_since_timestamp_seconds"} {
		if found[name] != OtherPoP {
			t.Errorf("%s: label %q after 12 new values, want %q past the cap of 4", name, found[name], OtherPoP)
		}
	}
	if len(r.certs) != 4 || len(r.versions) != 4 {
		t.Errorf("the probe kept %d fingerprints and %d versions, want 4 each", len(r.certs), len(r.versions))
	}
}
