package secret

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rtbd/rtbd/daemon/testcert"
)

func TestReadRoots(t *testing.T) {
	ca, cb, cc := testcert.NewCA(t), testcert.NewCA(t), testcert.NewCA(t)
	a, aPEM, aKey := ca.Issue(t, testcert.Server{DNSNames: []string{"a.example"}}), ca.CertPEM, ca.KeyPEM
	b, bPEM, cPEM := cb.Issue(t, testcert.Server{DNSNames: []string{"b.example"}}), cb.CertPEM, cc.CertPEM
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
	for _, c := range []*testcert.Cert{a, b} {
		if _, err := c.Cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: c.Cert.DNSNames[0]}); err != nil {
			t.Errorf("%s against the roots read: %v", c.Cert.DNSNames[0], err)
		}
	}
	if _, err := cc.Issue(t, testcert.Server{DNSNames: []string{"c.example"}}).Cert.Verify(x509.VerifyOptions{Roots: pool}); err == nil {
		t.Error("a certificate of a CA not in the file verifies against the roots read")
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
