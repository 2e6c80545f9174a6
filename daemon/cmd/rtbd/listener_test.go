package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/corpus"
	"golang.org/x/sys/unix"
)

// TestStoppedListenerExits shuts down rtbd's bid listening socket under
// it, as a failing socket would stop: the kernel then answers its accept
// with EINVAL for good. rtbd must not keep running with a socket that
// takes no connection while its health checks pass: it drains and exits
// non-zero, for systemd to restart it.
func TestStoppedListenerExits(t *testing.T) {
	d := launchDaemon(t, map[string]any{"drain": map[string]any{"delay": "0s"}})
	d.waitReadyz(t, 200)
	port := d.bid[strings.LastIndexByte(d.bid, ':')+1:]
	fd := listeningFD(t, d.cmd.Process.Pid, port)
	defer unix.Close(fd)
	if err := unix.Shutdown(fd, unix.SHUT_RD); err != nil {
		t.Fatalf("shutdown of rtbd's listener: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- d.wait() }()
	var err error
	select {
	case err = <-exited:
	case <-time.After(20 * time.Second):
		t.Fatal("rtbd still runs 20 s after its listener stopped")
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("rtbd with a stopped listener: exit %v, want status 1", err)
	}
	if !strings.Contains(d.stderr.String(), "a listener stopped") {
		t.Errorf("rtbd's log does not say why it exits:\n%s", d.stderr)
	}
}

// listeningFD returns a copy, in this process, of the socket that process
// pid listens on TCP port on (pidfd_getfd: the copy is the same socket).
func listeningFD(t *testing.T, pid int, port string) int {
	t.Helper()
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	inode := listenInode(t, p)
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if link, _ := os.Readlink(filepath.Join(dir, e.Name())); link != "socket:["+inode+"]" {
			continue
		}
		target, _ := strconv.Atoi(e.Name())
		pidfd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			t.Skipf("cannot reach rtbd's listener: pidfd_open: %v", err)
		}
		defer unix.Close(pidfd)
		fd, err := unix.PidfdGetfd(pidfd, target, 0)
		if err != nil {
			t.Skipf("cannot reach rtbd's listener: pidfd_getfd (needs Linux 5.6 and ptrace rights): %v", err)
		}
		return fd
	}
	t.Fatalf("no descriptor of process %d is the socket listening on port %d", pid, p)
	return -1
}

// listenInode returns the inode of the socket listening on 127.0.0.1:port,
// from /proc/net/tcp.
func listenInode(t *testing.T, port int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	local := fmt.Sprintf("0100007F:%04X", port)
	for _, line := range strings.Split(string(b), "\n")[1:] {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		f := strings.Fields(line)
		if len(f) > 9 && f[1] == local && f[3] == "0A" { // 0A: LISTEN
			return f[9]
		}
	}
	t.Fatalf("no socket listens on %s in /proc/net/tcp", local)
	return ""
}

// TestServeOnClosedListener: a listener closed for a shutdown is no
// failure, and nothing reports it.
func TestServeOnClosedListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	serveOn(ln, func(l net.Listener) error { _, err := l.Accept(); return err }, "bid")
	select {
	case err := <-listenerFailed:
		t.Fatalf("a closed listener was reported as failed: %v", err)
	default:
	}
}

// TestNoticePastMaxConns: with every connection http.maxConns allows
// taken (here one exchange's kept-alive connection), a billing notice on
// a new connection is still served and charged, and the connection then
// closed; a bid request on one is refused with 503. Refused at accept, a
// bill the exchange never sent again was lost.
func TestNoticePastMaxConns(t *testing.T) {
	d := launchDaemon(t, map[string]any{"http": map[string]any{"maxConns": 1}})
	d.waitReadyz(t, 200)
	// The one connection: every bid request goes over it, kept alive.
	held := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}}
	defer held.CloseIdleConnections()
	var b *bid
	for _, f := range corpus.Requests() {
		var r struct{ Test int }
		if json.Unmarshal(f.Body, &r) != nil || r.Test != 0 {
			continue // a test request's bills are not charged
		}
		resp, err := held.Post(d.bid+"/openrtb2/bid", "application/json", bytes.NewReader(f.Body))
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			SeatBid []struct{ Bid []bid } `json:"seatbid"`
		}
		if resp.StatusCode == 200 {
			if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
				t.Fatal(err)
			}
		}
		resp.Body.Close()
		if len(v.SeatBid) > 0 && len(v.SeatBid[0].Bid) > 0 {
			b = &v.SeatBid[0].Bid[0]
			break
		}
	}
	if b == nil {
		t.Fatal("no corpus request got a bid")
	}
	fresh := func() *http.Client {
		return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	}
	u, err := url.Parse(strings.Replace(b.BURL, "${AUCTION_PRICE}", "2", 1))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := fresh().Get(d.bid + u.Path + "?" + u.RawQuery)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || !resp.Close {
		t.Fatalf("bill on a connection past http.maxConns: status %d, close %v; want 204 and the connection closed", resp.StatusCode, resp.Close)
	}
	if spent := d.spendTotal(t); spent <= 0 {
		t.Fatalf("spend %d micro-units after a bill at CPM 2; want > 0", spent)
	}
	resp, err = fresh().Post(d.bid+"/openrtb2/bid", "application/json", bytes.NewReader(corpus.Requests()[0].Body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("bid request on a connection past http.maxConns: status %d; want 503", resp.StatusCode)
	}
}

// TestStopExtendsTimeout: at a stop rtbd tells systemd how long its drain
// and final saves may take (EXTEND_TIMEOUT_USEC), at least drain.timeout:
// the unit's TimeoutStopSec is fixed, and a longer drain was killed
// before the state was saved.
func TestStopExtendsTimeout(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	d := launchDaemon(t, map[string]any{"drain": map[string]any{"delay": "0s", "timeout": "40s"}})
	d.waitReadyz(t, 200)
	d.stop(t)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no STOPPING=1 notification with EXTEND_TIMEOUT_USEC: %v", err)
		}
		msg := string(buf[:n])
		if !strings.Contains(msg, "STOPPING=1") {
			continue
		}
		_, v, ok := strings.Cut(msg, "EXTEND_TIMEOUT_USEC=")
		usec, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if !ok || err != nil || usec < 40e6 {
			t.Fatalf("stop notification %q: want EXTEND_TIMEOUT_USEC of at least drain.timeout (40 s)", msg)
		}
		return
	}
}
