package system

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/rtbd/rtbd/daemon/testcert"
)

// testCA is a site's private certificate authority, as hosts that share
// budgets over HTTPS (state.peerTLS) would have.
type testCA struct {
	*testcert.Cert
	dir  string
	File string // its certificate, PEM: the hosts' state.peerTLS.caFile
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	ca := &testCA{Cert: testcert.NewCA(t), dir: t.TempDir()}
	ca.File = filepath.Join(ca.dir, "ca.pem")
	must(t, os.WriteFile(ca.File, ca.CertPEM, 0o644))
	return ca
}

// Issue writes a server certificate for ip, signed by ca, and its key,
// and returns their files.
func (ca *testCA) Issue(t *testing.T, ip netip.Addr) (certFile, keyFile string) {
	t.Helper()
	c := ca.Cert.Issue(t, testcert.Server{Serial: 2, IPs: []net.IP{ip.AsSlice()}})
	certFile, keyFile = filepath.Join(ca.dir, ip.String()+".pem"), filepath.Join(ca.dir, ip.String()+"-key.pem")
	must(t, os.WriteFile(certFile, c.CertPEM, 0o644))
	must(t, os.WriteFile(keyFile, c.KeyPEM, 0o600))
	return certFile, keyFile
}
