package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// certZone is the name under which targets with a certificate section are reached over TLS:
// <target>.certs.cdnsim.test as the SNI (RFC 6761 reserves .test), which the printed exporter
// config sets as tls.server_name. The name, not the path (which the handshake does not see),
// tells the handshake which target's certificate to present.
const certZone = "certs.cdnsim.test"

// CertificateSpec gives a target its own TLS certificate, and scripts its rotation: the way
// an edge keeps serving a certificate after it was replaced everywhere else.
type CertificateSpec struct {
	// ExpiresIn is how long after cdnsim's start the certificate expires; default 90 days.
	ExpiresIn Duration `yaml:"expires_in"`
	// Rotate, when set, replaces the certificate at Rotate.After by a new one (expiring 90
	// days after the first), except at the PoPs listed in Rotate.Stale.
	Rotate *ChangeSpec `yaml:"rotate"`
}

// ContentSpec gives a target an object with a version: a stable body, ETag and Last-Modified,
// and scripts a purge that some PoPs miss.
type ContentSpec struct {
	// Purge, when set, publishes version 2 of the object at Purge.After, except at the PoPs
	// listed in Purge.Stale, which keep serving version 1.
	Purge *ChangeSpec `yaml:"purge"`
	// PropagationWindow is copied to the printed exporter config (content.propagation_window).
	PropagationWindow Duration `yaml:"propagation_window"`
}

// ChangeSpec is a change at After (from cdnsim's start) that the PoPs in Stale miss.
type ChangeSpec struct {
	After Duration `yaml:"after"`
	Stale []string `yaml:"stale"`
}

// generation is 1 before the change, and at a stale PoP; 2 after it.
func (c *ChangeSpec) generation(elapsed time.Duration, pop string) int {
	if c == nil || elapsed < time.Duration(c.After) || slices.Contains(c.Stale, pop) {
		return 1
	}
	return 2
}

func (c *ChangeSpec) validate(v *vendor) error {
	for _, p := range c.Stale {
		if !v.popRE.MatchString(p) {
			return fmt.Errorf("stale: %q is not a %s PoP code (%s)", p, v.name, v.popRE)
		}
	}
	return nil
}

// defaultCertLifetime is a certificate's lifetime when expires_in is not set: the 90 days of
// the ACME CAs most CDNs use.
const defaultCertLifetime = 90 * 24 * time.Hour

// validateTLSContent checks the certificate and content sections of t.
func (t *Target) validateTLSContent() error {
	if c := t.Certificate; c != nil {
		if c.Rotate != nil {
			if err := c.Rotate.validate(t.vendor); err != nil {
				return fmt.Errorf("certificate.rotate: %w", err)
			}
		}
		if c.ExpiresIn == 0 {
			c.ExpiresIn = Duration(defaultCertLifetime)
		}
	}
	if c := t.Content; c != nil && c.Purge != nil {
		if err := c.Purge.validate(t.vendor); err != nil {
			return fmt.Errorf("content.purge: %w", err)
		}
	}
	return nil
}

// certName is the TLS server name of a target with a certificate section.
func certName(target string) string { return strings.ToLower(target) + "." + certZone }

// targetCerts are a target's certificates: [0] before the rotation and at stale PoPs, [1]
// after it.
type targetCerts [2]*tls.Certificate

// leaf signs a certificate for names, valid from notBefore to notAfter.
func (ca *certAuthority) leaf(names []string, notBefore, notAfter time.Time) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     names,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.caCert, &key.PublicKey, ca.caKey)
	if err != nil {
		return nil, fmt.Errorf("signing certificate for %s: %w", names[0], err)
	}
	return &tls.Certificate{Certificate: [][]byte{der, ca.caCert.Raw}, PrivateKey: key}, nil
}

// issueTargetCerts makes the certificates of every target with a certificate section, each
// expiring expires_in after start (the rotated one 90 days later).
func (s *simulator) issueTargetCerts(ca *certAuthority) error {
	s.certs = map[string]*targetCerts{}
	for _, t := range s.order {
		c := t.Certificate
		if c == nil {
			continue
		}
		name := certName(t.Name)
		var tc targetCerts
		var err error
		if tc[0], err = ca.leaf([]string{name}, s.start.Add(-time.Hour), s.start.Add(time.Duration(c.ExpiresIn))); err != nil {
			return err
		}
		tc[1] = tc[0]
		if c.Rotate != nil {
			if tc[1], err = ca.leaf([]string{name}, s.start, s.start.Add(time.Duration(c.ExpiresIn)+defaultCertLifetime)); err != nil {
				return err
			}
		}
		s.certs[name] = &tc
	}
	return nil
}

// getCertificate presents the certificate of the target the client names (SNI), as the PoP
// that client reaches now holds it: the vantage (client address) and the time decide the PoP,
// as for a request; the rotation script decides which certificate that PoP has. Any other
// name gets the simulator's default certificate. A random timeline draws the handshake's PoP
// on its own: the request on that connection may then be answered by another PoP.
func (s *simulator) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	tc, ok := s.certs[strings.ToLower(hello.ServerName)]
	if !ok {
		return nil, nil // the config's Certificates
	}
	target := strings.TrimSuffix(strings.ToLower(hello.ServerName), "."+certZone)
	var t *simTarget
	for _, st := range s.order {
		if strings.EqualFold(st.Name, target) {
			t = st
			break
		}
	}
	if t == nil {
		return nil, nil
	}
	v := vantageOf(s.vantages, hello.Conn.RemoteAddr().String())
	region := ""
	if s.dns != nil {
		if ap, err := netip.ParseAddrPort(hello.Conn.LocalAddr().String()); err == nil {
			region = s.dns.addrRegion[ap.Addr().Unmap()]
		}
	}
	elapsed := s.now().Sub(s.start)
	r := newRNG(s.seed, t.hash, t.requests.Load())
	pop := t.timeline(v).popAt(elapsed, &r, region)
	return tc[t.Certificate.Rotate.generation(elapsed, pop)-1], nil
}

// object is the versioned object of a target with a content section, as the PoP holds it at
// elapsed: its ETag, Last-Modified date and body. Version 1 was published an hour before
// cdnsim started, version 2 at the purge.
func (t *Target) object(start time.Time, elapsed time.Duration, pop string) (etag, lastModified, body string) {
	gen := t.Content.Purge.generation(elapsed, pop)
	published := start.Add(-time.Hour)
	if gen == 2 {
		published = start.Add(time.Duration(t.Content.Purge.After))
	}
	v := strconv.Itoa(gen)
	return `"` + t.Name + `-v` + v + `"`, published.UTC().Format(http.TimeFormat),
		"cdnsim " + t.Name + ": object version " + v + "\n"
}

// describeTLSContent summarises the certificate and content scripts, with a leading tab, for
// the index page.
func (t *Target) describeTLSContent() string {
	var b strings.Builder
	change := func(what string, c *ChangeSpec) {
		if c != nil {
			fmt.Fprintf(&b, " %s after %s", what, time.Duration(c.After))
			if len(c.Stale) > 0 {
				fmt.Fprintf(&b, " (stale at %s)", strings.Join(c.Stale, ","))
			}
		}
	}
	if c := t.Certificate; c != nil {
		fmt.Fprintf(&b, "\tcertificate %s, expires in %s", certName(t.Name), time.Duration(c.ExpiresIn))
		change("rotated", c.Rotate)
	}
	if c := t.Content; c != nil {
		b.WriteString("\tcontent")
		change("purged", c.Purge)
	}
	return b.String()
}
