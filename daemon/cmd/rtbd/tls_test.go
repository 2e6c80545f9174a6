package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/corpus"
	"github.com/rtbd/rtbd/daemon/load"
	"github.com/rtbd/rtbd/daemon/testcert"
)

// writeCert writes a self-signed certificate for 127.0.0.1 with serial
// number serial, and its key, to certFile and keyFile, and returns it.
func writeCert(t *testing.T, certFile, keyFile string, serial int64, notAfter time.Time) *x509.Certificate {
	t.Helper()
	c := testcert.SelfSigned(t, testcert.Server{Serial: serial, NotAfter: notAfter, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	if err := os.WriteFile(certFile, c.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, c.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return c.Cert
}

// servedSerial returns the serial number of the certificate that a new
// TLS connection to addr gets.
func servedSerial(t *testing.T, addr string) int64 {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// checkRenewal renews the certificate of d's HTTPS listener at a (serial
// 2) and checks that a reload serves it and sets its expiry series; then
// that a reload of a key that is not the certificate's fails and keeps
// it. It returns the renewed certificate.
func checkRenewal(t *testing.T, d *daemon, a, expiry, certFile, keyFile string) *x509.Certificate {
	t.Helper()
	renewed := writeCert(t, certFile, keyFile, 2, time.Now().Add(48*time.Hour).Truncate(time.Second))
	if code := d.reload(t); code != 200 {
		t.Fatalf("%s: reload with a renewed certificate: status %d", a, code)
	}
	if serial := servedSerial(t, a); serial != 2 {
		t.Fatalf("%s: serial %d served after the reload; want 2", a, serial)
	}
	if got, want := d.metric(t, expiry), float64(renewed.NotAfter.Unix()); got != want {
		t.Fatalf("%s: certificate expiry %v after the reload; want %v", a, got, want)
	}
	writeCert(t, filepath.Join(filepath.Dir(certFile), "other.pem"), keyFile, 3, time.Now().Add(time.Hour))
	if code := d.reload(t); code != 422 {
		t.Fatalf("%s: reload with a mismatched key: status %d; want 422", a, code)
	}
	if serial := servedSerial(t, a); serial != 2 {
		t.Fatalf("%s: serial %d served after a failed reload; want 2", a, serial)
	}
	return renewed
}

// TestTLS runs the daemon with an HTTPS listener: it bids and takes
// notices over HTTPS, serves a renewed certificate after a reload, and
// keeps the previous one when a reload cannot read the files.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := writeCert(t, certFile, keyFile, 1, time.Now().Add(24*time.Hour).Truncate(time.Second))
	tlsAddr, _ := freePorts(t)
	d := startDaemon(t, map[string]any{"http": map[string]any{"tls": map[string]any{
		"listenAddress": tlsAddr, "certFile": certFile, "keyFile": keyFile,
	}}, "drain": map[string]any{"delay": "100ms"}})
	if serial := servedSerial(t, tlsAddr); serial != 1 {
		t.Fatalf("serial %d served; want 1", serial)
	}
	roots := x509.NewCertPool()
	roots.AddCert(first)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	expiry := `rtbd_tls_certificate_expiry_timestamp_seconds{listener="bid"}`
	if got, want := d.metric(t, expiry), float64(first.NotAfter.Unix()); got != want {
		t.Fatalf("certificate expiry %v; want %v", got, want)
	}
	// A bid and its billing notice over HTTPS.
	var burl string
	for _, f := range corpus.Requests() {
		resp, err := client.Post("https://"+tlsAddr+"/openrtb2/bid", "application/json", bytes.NewReader(f.Body))
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		body.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			i := strings.Index(body.String(), `"burl":"`)
			if i < 0 {
				t.Fatalf("bid without burl: %s", body.String())
			}
			burl = body.String()[i+len(`"burl":"`):]
			burl = burl[:strings.IndexByte(burl, '"')]
			break
		}
	}
	if burl == "" {
		t.Fatal("no bid over HTTPS for any corpus request")
	}
	path := burl[strings.Index(burl, "/bill?"):]
	resp, err := client.Get("https://" + tlsAddr + strings.Replace(path, "${AUCTION_PRICE}", "0.5", 1))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Fatalf("billing notice over HTTPS: status %d; want 204", resp.StatusCode)
	}
	renewed := checkRenewal(t, d, tlsAddr, expiry, certFile, keyFile)
	if code, _ := d.postBid(t, corpus.Requests()[0].Body); code != 200 && code != 204 {
		t.Fatalf("plain HTTP after a failed reload: status %d", code)
	}
	// rtbload over HTTPS, trusting the certificate with RootCAs
	// (-cacert): every request answered.
	roots = x509.NewCertPool()
	roots.AddCert(renewed)
	res, err := load.Run(context.Background(), load.Config{
		Targets: []string{"https://" + tlsAddr + "/openrtb2/bid"}, RootCAs: roots,
		Steps: load.Constant(500), Count: 200, Connections: 4, Timeout: 5 * time.Second,
		Bodies: load.DefaultBodies(10, 1),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 200 || res.Bids+res.NoBids != 200 || res.Bids == 0 {
		t.Fatalf("rtbload over HTTPS: sent %d, %d bids, %d no-bids, %d errors; want 200 answered", res.Sent, res.Bids, res.NoBids, res.Errors)
	}
	// SIGTERM with HTTPS connections open: rtbd drains and exits 0.
	d.stop(t)
}

// TestAdminTLS runs the daemon with its admin listener over HTTPS
// (admin.tls) beside the plain one on loopback: a client that trusts the
// certificate scrapes /metrics, with the certificate's expiry, and
// reloads with the admin token it sends over HTTPS; plain HTTP to the
// port gets nothing; a renewed certificate is served after a reload.
func TestAdminTLS(t *testing.T) {
	const tok = "c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2"
	dir := t.TempDir()
	certFile, keyFile, tokFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "tokens")
	first := writeCert(t, certFile, keyFile, 1, time.Now().Add(24*time.Hour).Truncate(time.Second))
	writeTokens(t, tokFile, tok)
	addr, _ := freePorts(t)
	d := startDaemon(t, map[string]any{"admin": map[string]any{"tokenFile": tokFile, "tls": map[string]any{
		"listenAddress": addr, "certFile": certFile, "keyFile": keyFile,
	}}, "drain": map[string]any{"delay": "100ms"}})
	d.token = tok
	roots := x509.NewCertPool()
	roots.AddCert(first)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	do := func(method, path, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "https://"+addr+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s over HTTPS: %v", method, path, err)
		}
		defer resp.Body.Close()
		var body bytes.Buffer
		body.ReadFrom(resp.Body)
		return resp.StatusCode, body.String()
	}
	expiry := `rtbd_tls_certificate_expiry_timestamp_seconds{listener="admin"}`
	code, body := do(http.MethodGet, "/metrics", "")
	if want := expiry + " " + strconv.FormatInt(first.NotAfter.Unix(), 10) + "\n"; code != 200 || !strings.Contains(body, want) {
		t.Fatalf("/metrics over HTTPS: status %d, without %q", code, want)
	}
	if code, _ := do(http.MethodGet, "/readyz", ""); code != 200 {
		t.Fatalf("/readyz over HTTPS: status %d", code)
	}
	if code, _ := do(http.MethodPost, "/admin/reload", ""); code != 401 {
		t.Fatalf("reload over HTTPS without the token: status %d; want 401", code)
	}
	if code, _ := do(http.MethodPost, "/admin/reload", tok); code != 200 {
		t.Fatalf("reload over HTTPS with the token: status %d; want 200", code)
	}
	if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("/metrics served over plain HTTP on admin.tls.listenAddress")
		}
	}
	checkRenewal(t, d, addr, expiry, certFile, keyFile)
	d.stop(t)
}
