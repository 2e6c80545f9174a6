package harness

import (
	"fmt"
	"net/netip"
	"os"
	"sync/atomic"
	"testing"
)

// Dev is the name of every host's interface towards the bridge.
const Dev = "eth0"

// Subnet is the test network; only namespaces the harness creates use it.
var Subnet = netip.MustParsePrefix("10.213.0.0/24")

// VIP is the virtual address the VRRP pair shares.
var VIP = netip.MustParseAddr("10.213.0.100")

// Topology is a bridge in its own namespace plus hosts, each in a
// namespace joined to the bridge by a veth pair: test traffic never touches
// the host's interfaces.
type Topology struct {
	tb     testing.TB
	id     string
	Bridge *Netns
	Hosts  map[string]*Host
}

// Host is one simulated machine.
type Host struct {
	Name string
	NS   *Netns
	Addr netip.Addr
	// port is the bridge-side end of the host's veth pair.
	port string
	topo *Topology
}

var topoSeq atomic.Int32

// NewTopology creates the bridge namespace and one host per name, with
// addresses 10.213.0.11, .12, ... in order. Everything is deleted at the
// end of the test, after the processes registered later (cleanups run in
// reverse order).
func NewTopology(tb testing.TB, names ...string) *Topology {
	tb.Helper()
	t := &Topology{tb: tb, Hosts: map[string]*Host{}}
	t.id = fmt.Sprintf("%s%d-%d", Prefix, os.Getpid(), topoSeq.Add(1))
	br, err := createNetns(t.id + "-br")
	if err != nil {
		tb.Fatalf("cannot create bridge namespace: %v", err)
	}
	t.Bridge = br
	tb.Cleanup(func() { t.deleteAll() })
	if _, err := br.IP("link", "add", "br0", "type", "bridge"); err != nil {
		tb.Fatal(err)
	}
	if _, err := br.IP("link", "set", "br0", "up"); err != nil {
		tb.Fatal(err)
	}
	for i, name := range names {
		if err := t.addHost(name, Subnet.Addr().As4(), 11+i); err != nil {
			tb.Fatal(err)
		}
	}
	return t
}

func (t *Topology) addHost(name string, base [4]byte, last int) error {
	ns, err := createNetns(t.id + "-" + name)
	if err != nil {
		return err
	}
	base[3] = byte(last)
	h := &Host{Name: name, NS: ns, Addr: netip.AddrFrom4(base), port: "v-" + name, topo: t}
	t.Hosts[name] = h
	steps := [][]string{
		{"link", "add", h.port, "type", "veth", "peer", "name", Dev, "netns", ns.Name},
		{"link", "set", h.port, "master", "br0", "up"},
	}
	for _, s := range steps {
		if _, err := t.Bridge.IP(s...); err != nil {
			return err
		}
	}
	if _, err := ns.IP("addr", "add", fmt.Sprintf("%s/%d", h.Addr, Subnet.Bits()), "dev", Dev); err != nil {
		return err
	}
	_, err = ns.IP("link", "set", Dev, "up")
	return err
}

func (t *Topology) deleteAll() {
	for _, h := range t.Hosts {
		if err := h.NS.Delete(); err != nil {
			t.tb.Logf("cleanup: %v", err)
		}
	}
	if err := t.Bridge.Delete(); err != nil {
		t.tb.Logf("cleanup: %v", err)
	}
}

// LinkDown takes the host's own interface down, as a crashed or powered
// off machine: its addresses stay configured but nothing gets through.
func (h *Host) LinkDown() error {
	_, err := h.NS.IP("link", "set", Dev, "down")
	return err
}

// LinkUp brings the host's interface back.
func (h *Host) LinkUp() error {
	_, err := h.NS.IP("link", "set", Dev, "up")
	return err
}

// Partition detaches the host's port from the bridge: both ends of the
// veth stay up with carrier (so keepalived sees a healthy interface), but
// no frame reaches the other hosts.
func (h *Host) Partition() error {
	_, err := h.topo.Bridge.IP("link", "set", h.port, "nomaster")
	return err
}

// Heal attaches the host's port to the bridge again.
func (h *Host) Heal() error {
	_, err := h.topo.Bridge.IP("link", "set", h.port, "master", "br0")
	return err
}

// HasVIP reports whether the host's interface carries the VIP.
func (h *Host) HasVIP() (bool, error) { return h.NS.HasAddr(Dev, VIP) }

// DelAddr removes addr from the host's interface if present, as a reboot
// would.
func (h *Host) DelAddr(addr netip.Addr) {
	_, _ = h.NS.IP("addr", "del", addr.String()+"/32", "dev", Dev)
}

// VIPOnLoopback configures h as an LVS direct-routing real server: the VIP
// on lo, where the host accepts packets for it whether or not it is the
// VRRP master, and ARP restricted so that only the master (VIP on eth0)
// answers for it. A host that loses the VIP then still serves the
// connections and SYNs that reach it until the client's ARP entry moves.
func (h *Host) VIPOnLoopback() error {
	if _, err := h.NS.IP("addr", "add", VIP.String()+"/32", "dev", "lo"); err != nil {
		return err
	}
	return h.NS.Do(func() error {
		// /proc/sys/net follows the calling thread's namespace.
		for path, v := range map[string]string{
			"/proc/sys/net/ipv4/conf/all/arp_ignore":   "1",
			"/proc/sys/net/ipv4/conf/all/arp_announce": "2",
		} {
			if err := os.WriteFile(path, []byte(v), 0o644); err != nil {
				return fmt.Errorf("cannot set %s in %s: %w", path, h.NS.Name, err)
			}
		}
		return nil
	})
}
