package main

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// copyFile copies src to dst.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestPeerTLS runs daemons that share budgets over HTTPS: b reads a
// only once its state.peerTLS.caFile holds a's certificate, which a
// reload reads again, c from its start, and a's peer certificate is renewed by a reload,
// as http.tls's is; a file that cannot be read fails the reload and
// keeps what was in use.
func TestPeerTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "a-cert.pem"), filepath.Join(dir, "a-key.pem")
	caFile := filepath.Join(dir, "b-ca.pem")
	first := writeCert(t, certFile, keyFile, 1, time.Now().Add(24*time.Hour).Truncate(time.Second))
	// b starts trusting another certificate than a's.
	writeCert(t, caFile, filepath.Join(dir, "other-key.pem"), 9, time.Now().Add(24*time.Hour))
	pa, _ := freePorts(t)
	a := startDaemon(t, map[string]any{
		"state": map[string]any{"peerTLS": map[string]any{
			"listenAddress": pa, "certFile": certFile, "keyFile": keyFile,
		}},
		"bidding": map[string]any{"hostID": "a"},
	})
	b := startDaemon(t, map[string]any{
		"state": map[string]any{
			"peers": []string{"https://" + pa}, "peerInterval": "100ms",
			"peerTLS": map[string]any{"caFile": caFile},
		},
		"bidding": map[string]any{"hostID": "b"},
	})
	expiry := `rtbd_tls_certificate_expiry_timestamp_seconds{listener="peer"}`
	if got, want := a.metric(t, expiry), float64(first.NotAfter.Unix()); got != want {
		t.Fatalf("peer certificate expiry %v; want %v", got, want)
	}
	_, spent := a.billCorpus(t, 5)
	errs := `rtbd_peer_sync_errors_total{peer="https://` + pa + `"}`
	b.waitMetric(t, errs, func(v float64) bool { return v >= 3 }, "b failing to verify a's certificate")
	if got, _ := b.peerSpendTotal(t); got != 0 {
		t.Fatalf("b read %d micro-units of a's spend through a certificate it does not trust", got)
	}
	// Plain HTTP to the HTTPS port gets no spend.
	if resp, err := http.Get("http://" + pa + "/state/spend"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("a served its spend over plain HTTP on state.peerTLS.listenAddress")
		}
	}

	// A caFile that holds no certificate fails b's reload; a's
	// certificate in it lets b read a from the reload on.
	copyFile(t, keyFile, caFile)
	if code := b.reload(t); code != 422 {
		t.Fatalf("b's reload of a caFile holding a key: %d; want 422", code)
	}
	copyFile(t, certFile, caFile)
	if code := b.reload(t); code != 200 {
		t.Fatalf("b's reload of a's certificate: %d; want 200", code)
	}
	b.waitPeerSpend(t, spent, "b reading a over HTTPS")
	// c trusts a's certificate from its start.
	cCA := filepath.Join(dir, "c-ca.pem")
	copyFile(t, certFile, cCA)
	c := startDaemon(t, map[string]any{
		"state": map[string]any{
			"peers": []string{"https://" + pa}, "peerInterval": "100ms",
			"peerTLS": map[string]any{"caFile": cCA},
		},
		"bidding": map[string]any{"hostID": "c"},
	})
	c.waitPeerSpend(t, spent, "c reading a over HTTPS from its start")
	// The billing notices come over HTTPS too, and their spend with them.
	_, total := a.billCorpus(t, 5)
	b.waitPeerSpend(t, total, "b following a's billing notices over HTTPS")
	if got := b.metric(t, `rtbd_peer_bills_applied_total{peer="https://`+pa+`"}`); got < 1 {
		t.Fatalf("b applied %v of a's billing notices; want some", got)
	}

	// a's renewed certificate is served once reloaded, and a failed
	// reload keeps it.
	checkRenewal(t, a, pa, expiry, certFile, keyFile)
}
