package server

import (
	"crypto/tls"
	"fmt"
	"net"
	"sync/atomic"

	"github.com/VictoriaMetrics/metrics"
)

// Certificate is an HTTPS listener's certificate (http.tls,
// state.peerTLS), read from its PEM files at start and again by each
// reload (Read, then Set): handshakes take the one set last, without a
// lock.
type Certificate struct {
	option            string // the settings it comes from, for errors
	certFile, keyFile string
	cert              atomic.Pointer[tls.Certificate]
	// notAfter is the expiry of the certificate served, in unix seconds.
	notAfter *metrics.Gauge
}

// LoadCertificate reads the certificate chain and key of an HTTPS
// listener: option names its settings (http.tls) and listener labels
// the expiry metric (bid).
func LoadCertificate(option, listener, certFile, keyFile string) (*Certificate, error) {
	c := &Certificate{
		option: option, certFile: certFile, keyFile: keyFile,
		notAfter: metrics.GetOrCreateGauge(`rtbd_tls_certificate_expiry_timestamp_seconds{listener="`+listener+`"}`, nil),
	}
	cert, err := c.Read()
	if err != nil {
		return nil, err
	}
	c.Set(cert)
	return c, nil
}

// Read reads the files again, for Set, so that a renewed certificate is
// served to new connections: a reload reads every file before it changes
// anything.
func (c *Certificate) Read() (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return nil, fmt.Errorf("cannot load %s certificate %s and key %s: %w", c.option, c.certFile, c.keyFile, err)
	}
	return &cert, nil
}

// Set has new connections served cert.
func (c *Certificate) Set(cert *tls.Certificate) {
	c.cert.Store(cert)
	c.notAfter.Set(float64(cert.Leaf.NotAfter.Unix()))
}

// ListenTLS returns ln serving TLS 1.2 and 1.3 with c's certificate, for
// HTTP/1.1 (fasthttp has no HTTP/2).
func ListenTLS(ln net.Listener, c *Certificate) net.Listener {
	return tls.NewListener(ln, &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.cert.Load(), nil
		},
	})
}
