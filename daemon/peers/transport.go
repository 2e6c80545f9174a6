package peers

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net/http"
	"sync"
)

// transport carries the Syncer's readings: an http.Transport whose https
// connections trust the roots TrustRoots set last. Changed roots take a
// new http.Transport, since one's TLS settings cannot change while it
// dials; the earlier ones are kept, so that CloseIdleConnections closes
// the connections they still pool once their readings end (one per
// change of the roots, which is rare).
type transport struct {
	mu    sync.Mutex
	roots *x509.CertPool // nil: the system's
	cur   *http.Transport
	old   []*http.Transport
}

func newTransport() *transport {
	return &transport{cur: httpsTransport(nil)}
}

// httpsTransport is http.DefaultTransport's settings, TLS 1.2 or later
// and roots.
func httpsTransport(roots *x509.CertPool) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	return t
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.mu.Lock()
	cur := t.cur
	t.mu.Unlock()
	return cur.RoundTrip(r)
}

// CloseIdleConnections closes the idle connections of every transport:
// the clients call it when their readings end.
func (t *transport) CloseIdleConnections() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cur.CloseIdleConnections()
	for _, o := range t.old {
		o.CloseIdleConnections()
	}
}

// setRoots has new connections trust roots (nil: the system's), and
// closes the idle ones that trusted others.
func (t *transport) setRoots(roots *x509.CertPool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if roots.Equal(t.roots) {
		return
	}
	t.cur.CloseIdleConnections()
	t.old = append(t.old, t.cur)
	t.roots, t.cur = roots, httpsTransport(roots)
	slog.Info("https:// peers are checked against the certificates of state.peerTLS.caFile")
}

// TrustRoots has https:// peers checked against roots
// (state.peerTLS.caFile; nil: the system's) from the next connection on:
// a reload that reads other certificates calls it again.
func (s *Syncer) TrustRoots(roots *x509.CertPool) { s.transport.setRoots(roots) }
