package secret

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCert returns a self-signed certificate for name, as PEM, and its
// key's PEM.
func testCert(t *testing.T, name string) (*x509.Certificate, []byte, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func TestReadRoots(t *testing.T) {
	a, aPEM, aKey := testCert(t, "a.example")
	b, bPEM, _ := testCert(t, "b.example")
	_, cPEM, _ := testCert(t, "c.example")
	dir := t.TempDir()
	write := func(name string, parts ...[]byte) string {
		path := filepath.Join(dir, name)
		var text []byte
		for _, p := range parts {
			text = append(text, p...)
		}
		if err := os.WriteFile(path, text, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// Two certificates, with the text openssl puts before each.
	pool, err := ReadRoots("caFile", write("two.pem", []byte("subject=CN=a.example\n"), aPEM, []byte("\n# b\n"), bPEM, []byte("\n# end\n")))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*x509.Certificate{a, b} {
		if _, err := c.Verify(x509.VerifyOptions{Roots: pool, DNSName: c.Subject.CommonName}); err != nil {
			t.Errorf("%s against the roots read: %v", c.Subject.CommonName, err)
		}
	}
	if !pool.Equal(func() *x509.CertPool { p := x509.NewCertPool(); p.AddCert(a); p.AddCert(b); return p }()) {
		t.Error("the roots read are not the two certificates of the file")
	}
	for _, tc := range []struct {
		name string
		text [][]byte
		want string
	}{
		{"empty.pem", nil, "caFile " + dir + "/empty.pem: no PEM certificate"},
		{"comment.pem", [][]byte{[]byte("# nothing yet\n")}, "no PEM certificate"},
		{"key.pem", [][]byte{aPEM, aKey}, "block 2 is a EC PRIVATE KEY, not a CERTIFICATE"},
		{"damaged.pem", [][]byte{pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")})}, "certificate 1: x509:"},
		{"cut.pem", [][]byte{aPEM, cPEM[:len(cPEM)/2]}, "after 1 certificates, a PEM block cut short"},
	} {
		_, err := ReadRoots("caFile", write(tc.name, tc.text...))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want an error with %q", tc.name, err, tc.want)
		}
	}
	if _, err := ReadRoots("caFile", filepath.Join(dir, "missing.pem")); err == nil || !strings.HasPrefix(err.Error(), "cannot read caFile: ") {
		t.Errorf("missing file: %v", err)
	}
}
