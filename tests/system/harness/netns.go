// Package harness runs rtbd's system-test topologies: network namespaces
// joined by a bridge that lives in its own namespace, processes started in
// them, keepalived configurations, rtbload runs and metric scrapes. Every
// resource it creates is registered with the test's Cleanup, and all traffic
// stays inside the namespaces the test made.
package harness

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Netns is a named network namespace (a file in /run/netns).
type Netns struct {
	Name string
}

// ip runs ip(8) with args and returns its combined output.
func ip(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("cannot run ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// IP runs `ip -n NS args...` in the namespace.
func (n *Netns) IP(args ...string) (string, error) {
	return ip(append([]string{"-n", n.Name}, args...)...)
}

// Do runs fn on an OS thread that has entered the namespace, so that
// sockets fn creates (listeners, dials, netlink queries) belong to it.
// The thread leaves the namespace afterwards; if it cannot, the thread is
// discarded with its goroutine instead of being returned to the runtime.
func (n *Netns) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("cannot open own netns: %w", err)
			return
		}
		defer unix.Close(orig)
		target, err := unix.Open("/run/netns/"+n.Name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("cannot open netns %s: %w", n.Name, err)
			return
		}
		defer unix.Close(target)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("cannot enter netns %s: %w", n.Name, err)
			return
		}
		ferr := fn()
		if unix.Setns(orig, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- ferr
	}()
	return <-errc
}

// Listen opens a TCP listener inside the namespace.
func (n *Netns) Listen(addr string) (*net.TCPListener, error) {
	var ln net.Listener
	err := n.Do(func() (err error) {
		ln, err = net.Listen("tcp4", addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s in %s: %w", addr, n.Name, err)
	}
	return ln.(*net.TCPListener), nil
}

// DialContext connects from inside the namespace.
func (n *Netns) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.Do(func() (err error) {
		d := net.Dialer{Timeout: time.Second}
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// HTTPClient returns a client whose connections start inside the
// namespace. Keep-alives are off so that each request dials where the
// namespace's routes and neighbours say now.
func (n *Netns) HTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:       n.DialContext,
			DisableKeepAlives: true,
			Proxy:             nil,
		},
	}
}

// HasAddr reports whether interface dev in the namespace carries addr.
func (n *Netns) HasAddr(dev string, addr netip.Addr) (bool, error) {
	var has bool
	err := n.Do(func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			return err
		}
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr() == addr {
				has = true
			}
		}
		return nil
	})
	return has, err
}

// createNetns adds the namespace and brings its loopback up.
func createNetns(name string) (*Netns, error) {
	if _, err := ip("netns", "add", name); err != nil {
		return nil, err
	}
	n := &Netns{Name: name}
	if _, err := n.IP("link", "set", "lo", "up"); err != nil {
		_ = n.Delete()
		return nil, err
	}
	return n, nil
}

// Delete removes the namespace; processes still inside keep it alive, so
// kill them first.
func (n *Netns) Delete() error {
	_, err := ip("netns", "del", n.Name)
	return err
}

// Prefix starts the names of every namespace the harness creates; the
// next field is the creating process id, so that [RemoveStale] can tell
// leftovers of dead runs.
const Prefix = "rtbdst-"

// RemoveStale deletes namespaces left by earlier runs whose process is
// gone (a test binary killed before its cleanup ran).
func RemoveStale() {
	entries, err := os.ReadDir("/run/netns")
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), Prefix)
		if !ok {
			continue
		}
		pid, _, _ := strings.Cut(rest, "-")
		if _, err := os.Stat("/proc/" + pid); err == nil {
			continue
		}
		if out, err := ip("netns", "pids", e.Name()); err == nil {
			for _, f := range strings.Fields(out) {
				if p, err := strconv.Atoi(f); err == nil && p > 1 {
					_ = unix.Kill(p, unix.SIGKILL)
				}
			}
		}
		_, _ = ip("netns", "del", e.Name())
	}
}

// TCPCounters returns the namespace's TCP MIB counters (the Tcp lines of
// /proc/net/snmp: EstabResets, OutRsts, AttemptFails, ...).
func (n *Netns) TCPCounters() (map[string]int64, error) {
	var b []byte
	err := n.Do(func() (err error) {
		// thread-self: /proc/self/net would show the main thread's namespace.
		b, err = os.ReadFile("/proc/thread-self/net/snmp")
		return err
	})
	if err != nil {
		return nil, err
	}
	var names, values []string
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Tcp: "); ok {
			if names == nil {
				names = strings.Fields(rest)
			} else {
				values = strings.Fields(rest)
			}
		}
	}
	m := map[string]int64{}
	for i := range min(len(names), len(values)) {
		v, _ := strconv.ParseInt(values[i], 10, 64)
		m[names[i]] = v
	}
	return m, nil
}
