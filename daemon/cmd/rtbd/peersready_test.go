package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestPeersReady: `rtbd peers-ready` returns 0 once a real daemon, read
// with its peer token, takes bid traffic, and 1 while it drains, naming
// it and its answer, or when nothing listens. It returns 2 on bad usage
// and 0 at once without peers.
func TestPeersReady(t *testing.T) {
	const tok = "0123456789abcdef0123456789abcdef"
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "peer-tokens")
	writeTokens(t, tokFile, tok)
	listen, closed := freePorts(t)
	a := startDaemon(t, map[string]any{
		"state":   map[string]any{"peerListenAddress": listen, "peerTokenFile": tokFile},
		"drain":   map[string]any{"delay": "30s"}, // time to ask it while it drains
		"bidding": map[string]any{"hostID": "a"},
	})
	run := func(cfg map[string]any, args ...string) (int, string, string) {
		t.Helper()
		path := filepath.Join(t.TempDir(), "rtbd.json")
		b, _ := json.Marshal(cfg)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		// 10 s unless args say otherwise: a failure does not hang.
		code := peersReadyMain(append([]string{"-config", path, "-interval", "20ms", "-timeout", "10s"}, args...), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	peerOf := func(urls ...string) map[string]any {
		return map[string]any{"state": map[string]any{"peers": urls, "peerTokenFile": tokFile}}
	}

	if code, out, errs := run(peerOf("http://" + listen)); code != 0 || out != "all 1 peers ready\n" || !strings.Contains(errs, listen+": ready") {
		t.Fatalf("a ready: exit %d, %q, %q; want 0 and all ready", code, out, errs)
	}
	if code, out, _ := run(map[string]any{}); code != 0 || !strings.Contains(out, "nothing to wait for") {
		t.Fatalf("no peers: exit %d, %q; want 0 at once", code, out)
	}
	code, _, errs := run(peerOf("http://"+listen, "http://"+closed), "-timeout", "200ms")
	if code != 1 || !strings.Contains(errs, "after 200ms") || !strings.Contains(errs, "http://"+closed+" (") || strings.Contains(errs, "http://"+listen+" (") {
		t.Fatalf("a port nothing listens on: exit %d, %q; want 1 naming it only", code, errs)
	}

	// a drains: it answers 503 until it stops.
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a.waitReadyz(t, http.StatusServiceUnavailable)
	code, _, errs = run(peerOf("http://"+listen), "-timeout", "200ms")
	if code != 1 || !strings.Contains(errs, "http://"+listen+" (503") || !strings.Contains(errs, "not ready") {
		t.Fatalf("a draining: exit %d, %q; want 1 naming its 503", code, errs)
	}

	for _, args := range [][]string{{}, {"-config"}, {"-config", "/nonexistent/rtbd.json"}, {"-config", "x", "extra"}} {
		var stdout, stderr bytes.Buffer
		if code := peersReadyMain(args, &stdout, &stderr); code != 2 {
			t.Fatalf("peers-ready %q: exit %d; want 2 (%s)", args, code, &stderr)
		}
	}
}
