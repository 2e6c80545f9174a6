package main

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startStuck starts rtbd with a peer that takes its start's recovery
// request (state.peers, /state/seen) and never answers, and returns once
// that request has arrived: the daemon is then mid-start, for as long as
// the recovery waits.
func startStuck(t *testing.T) *daemon {
	t.Helper()
	peer, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	asked := make(chan struct{})
	go func() {
		c, err := peer.Accept()
		if err != nil {
			return
		}
		t.Cleanup(func() { c.Close() })
		line, _ := bufio.NewReader(c).ReadString('\n')
		if strings.Contains(line, "/state/seen") {
			close(asked)
		}
	}()
	d := launchDaemon(t, map[string]any{
		"state": map[string]any{"dir": t.TempDir(), "peers": []string{"http://" + peer.Addr().String()}},
	})
	select {
	case <-asked:
	case <-time.After(10 * time.Second):
		t.Fatal("rtbd did not ask its peer for its spend at start")
	}
	return d
}

// TestSignalsWhileStarting: a SIGTERM while the daemon starts stops it
// at once, with nothing served; a SIGHUP does not kill it (its default
// action) but reloads once it serves.
func TestSignalsWhileStarting(t *testing.T) {
	d := startStuck(t)
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.wait() }()
	select {
	case err := <-done:
		if err != nil || strings.Contains(d.stderr.String(), "msg=serving") {
			t.Fatalf("SIGTERM while starting: %v; want exit 0 before serving", err)
		}
	case <-time.After(2 * time.Second): // the recovery waits 3 s
		t.Fatal("SIGTERM while starting: still running 2 s later")
	}

	d = startStuck(t)
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	d.waitReadyz(t, http.StatusOK)
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(d.cmd.Stderr.(*lockedWriter).String(), `msg="loaded snapshot"`) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP while starting: no reload once serving")
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline, not synchronisation
	}
	d.stop(t)
}
