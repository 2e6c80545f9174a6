package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

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
