package secret

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/rtbd/rtbd/daemon/opfile"
)

// ReadRoots reads the file path of option: PEM certificates that a TLS
// client trusts as roots (a private CA's, or a self-signed server's), in
// place of the system's. Every block must be a certificate: a key, a
// damaged block or one cut short is an error naming it, not skipped.
func ReadRoots(option, path string) (*x509.CertPool, error) {
	b, _, err := opfile.Read(path, MaxFileBytes)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", option, err)
	}
	pool, n := x509.NewCertPool(), 0
	for rest := b; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			// Text around the blocks is skipped, as openssl writes it.
			if bytes.Contains(rest, []byte("-----BEGIN")) {
				return nil, fmt.Errorf("%s %s: after %d certificates, a PEM block cut short", option, path, n)
			}
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%s %s: block %d is a %s, not a CERTIFICATE", option, path, n+1, block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s %s: certificate %d: %w", option, path, n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%s %s: no PEM certificate", option, path)
	}
	return pool, nil
}
