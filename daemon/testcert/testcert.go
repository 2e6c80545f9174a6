// Package testcert makes TLS certificates for tests: self-signed ones,
// or a private CA and the server certificates it signs, as PEM.
package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"testing"
	"time"
)

// Cert is a certificate and its private key, parsed and as PEM.
type Cert struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM []byte
	KeyPEM  []byte
}

// Server describes a server certificate: its serial number, when it
// expires (zero: in a day), and the addresses and names it is for.
type Server struct {
	Serial   int64
	NotAfter time.Time
	IPs      []net.IP
	DNSNames []string
}

// SelfSigned returns a server certificate signed by its own key.
func SelfSigned(tb testing.TB, s Server) *Cert {
	tb.Helper()
	return sign(tb, s.template(), nil)
}

// NewCA returns a certificate authority for Issue.
func NewCA(tb testing.TB) *Cert {
	tb.Helper()
	return sign(tb, &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rtbd test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}, nil)
}

// Issue returns a server certificate signed by ca.
func (ca *Cert) Issue(tb testing.TB, s Server) *Cert {
	tb.Helper()
	return sign(tb, s.template(), ca)
}

// Pool returns roots that hold c alone.
func (c *Cert) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(c.Cert)
	return pool
}

func (s Server) template() *x509.Certificate {
	notAfter := s.NotAfter
	if notAfter.IsZero() {
		notAfter = time.Now().Add(24 * time.Hour)
	}
	name := "rtbd test"
	if len(s.DNSNames) > 0 {
		name = s.DNSNames[0]
	}
	return &x509.Certificate{
		SerialNumber: big.NewInt(s.Serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter,
		IPAddresses: s.IPs, DNSNames: s.DNSNames,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
}

// sign makes a key for tmpl and signs it with parent's (nil: its own).
func sign(tb testing.TB, tmpl *x509.Certificate, parent *Cert) *Cert {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	issuer, signer := tmpl, key
	if parent != nil {
		issuer, signer = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, signer)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	return &Cert{
		Cert: cert, Key: key,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
	}
}
