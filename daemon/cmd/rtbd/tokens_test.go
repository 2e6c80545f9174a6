package main

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// writeTokens writes the token file path, one token a line.
func writeTokens(t *testing.T, path string, tokens ...string) {
	t.Helper()
	b := []byte("# rtbd test tokens\n")
	for _, tok := range tokens {
		b = append(b, tok+"\n"...)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// adminPost POSTs to d's admin path with the bearer token, if any, and
// returns the status.
func (d *daemon) adminPost(t *testing.T, path, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, d.admin+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestTokens runs two daemons that share budgets with a peer token, one
// of them with an admin token too: the admin's reload needs its token, a
// peer whose token the other no longer holds reads nothing of it, and
// counts it again once a reload gives both the same token; a reload of a
// bad token file keeps the tokens it had, and a good one replaces them.
func TestTokens(t *testing.T) {
	const (
		adminTok    = "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0"
		newAdminTok = "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1"
		oldTok      = "0123456789abcdef0123456789abcdef"
		newTok      = "fedcba9876543210fedcba9876543210"
	)
	dir := t.TempDir()
	adminFile, peerA, peerB := filepath.Join(dir, "admin"), filepath.Join(dir, "peer-a"), filepath.Join(dir, "peer-b")
	writeTokens(t, adminFile, adminTok)
	writeTokens(t, peerA, oldTok)
	writeTokens(t, peerB, oldTok)
	pa, pb := freePorts(t)
	a := startDaemon(t, map[string]any{
		"admin":   map[string]any{"tokenFile": adminFile},
		"state":   map[string]any{"peers": []string{"http://" + pb}, "peerListenAddress": pa, "peerInterval": "100ms", "peerTokenFile": peerA},
		"bidding": map[string]any{"hostID": "a"},
	})
	b := startDaemon(t, map[string]any{
		"state":   map[string]any{"peers": []string{"http://" + pa}, "peerListenAddress": pb, "peerInterval": "100ms", "peerTokenFile": peerB},
		"bidding": map[string]any{"hostID": "b"},
	})
	_, spent := a.billCorpus(t, 5)
	b.waitPeerSpend(t, spent, "b reading a with the same token")

	if code := a.adminPost(t, "/admin/reload", ""); code != 401 {
		t.Fatalf("a's reload without a token: %d; want 401", code)
	}
	if code := a.adminPost(t, "/admin/reload", oldTok); code != 401 {
		t.Fatalf("a's reload with the peer token: %d; want 401", code)
	}
	// a drops the old peer token: b, which still sends it, is refused.
	writeTokens(t, peerA, newTok)
	if code := a.adminPost(t, "/admin/reload", adminTok); code != 200 {
		t.Fatalf("a's reload with its token: %d; want 200", code)
	}
	refused := `rtbd_unauthorized_requests_total{token="peer"}`
	_, total := a.billCorpus(t, 5) // a's spend so far
	if total <= spent {
		t.Fatalf("a's spend %d after more bills; want more than %d", total, spent)
	}
	base := a.metric(t, refused)
	a.waitMetric(t, refused, func(v float64) bool { return v >= base+4 }, "a refusing b's readings after its bills")
	if got, _ := b.peerSpendTotal(t); got != spent {
		t.Fatalf("b refused by a: peer spend %d; want the %d it read before", got, spent)
	}
	// b gets the new token too.
	writeTokens(t, peerB, newTok)
	if code := b.reload(t); code != 200 {
		t.Fatalf("b's reload: %d", code)
	}
	b.waitPeerSpend(t, total, "b reading a with the new token")

	// The admin token is rotated by a reload too.
	writeTokens(t, adminFile, newAdminTok)
	if code := a.adminPost(t, "/admin/reload", adminTok); code != 200 {
		t.Fatalf("a's reload of a new admin.tokenFile: %d; want 200", code)
	}
	if code := a.adminPost(t, "/admin/heartbeat", adminTok); code != 401 {
		t.Fatalf("a's heartbeat with the dropped admin token: %d; want 401", code)
	}
	// A bad admin token file fails the reload, counted as one, and
	// keeps the token.
	writeTokens(t, adminFile, "short")
	failed := a.metric(t, `rtbd_reloads_total{result="error"}`)
	if code := a.adminPost(t, "/admin/reload", newAdminTok); code != 422 {
		t.Fatalf("a's reload of a bad admin.tokenFile: %d; want 422", code)
	}
	if n := a.metric(t, `rtbd_reloads_total{result="error"}`) - failed; n != 1 {
		t.Fatalf("a's reload of a bad admin.tokenFile counted %v failed reloads; want 1", n)
	}
	if code := a.adminPost(t, "/admin/heartbeat", newAdminTok); code != 200 {
		t.Fatalf("a's heartbeat with its token after a failed reload: %d; want 200", code)
	}
}
