package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestParseMetrics(t *testing.T) {
	f := func(in, series string, want float64) {
		t.Helper()
		m, err := ParseMetrics(strings.NewReader(in))
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		if got := m[series]; got != want {
			t.Fatalf("unexpected value of %s in %q; got %v; want %v", series, in, got, want)
		}
	}
	f("# HELP x\nrtbd_campaigns 17\n", "rtbd_campaigns", 17)
	f(`rtbd_reloads_total{result="error"} 2`+"\n", `rtbd_reloads_total{result="error"}`, 2)
	f("garbage\nrtbd_x 1.5e3\n", "rtbd_x", 1500)
	f("rtbd_x notanumber\n", "rtbd_x", 0)
}

func TestSum(t *testing.T) {
	m := map[string]float64{`a{r="x"}`: 1, `a{r="y"}`: 2, "ab": 5, "a": 4}
	if got := Sum(m, "a"); got != 7 {
		t.Fatalf("unexpected sum; got %v; want 7", got)
	}
}

func TestVRRPConfig(t *testing.T) {
	h1 := &Host{Name: "b1", Addr: Subnet.Addr().Next()}
	h2 := &Host{Name: "b2", Addr: h1.Addr.Next()}
	conf := VRRP{Priority: 150, AdvertInt: 100 * time.Millisecond, CheckInterval: 200 * time.Millisecond, Fall: 1, Rise: 2}.Config(h1, []*Host{h2})
	if got := wholeSeconds(1500 * time.Millisecond); got != 2 {
		t.Errorf("unexpected wholeSeconds(1.5s); got %d; want 2", got)
	}
	for _, want := range []string{"vrrp_version 3", "advert_int 0.1\n", "interval 1\n", "priority 150", "unicast_peer {\n    10.213.0.2\n", "10.213.0.100/32 dev eth0", "http://10.213.0.1:9090/readyz"} {
		if !strings.Contains(conf, want) {
			t.Errorf("config lacks %q:\n%s", want, conf)
		}
	}
}

// TestTopology checks the harness itself: hosts reach each other through
// the bridge, a partition cuts them apart with links up, and healing
// restores the path.
func TestTopology(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8) (apt-get install iproute2)")
	}
	topo := NewTopology(t, "a", "b")
	a, b := topo.Hosts["a"], topo.Hosts["b"]
	ln, err := a.NS.Listen(fmt.Sprintf("%s:7000", a.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	dial := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		c, err := b.NS.DialContext(ctx, "tcp4", fmt.Sprintf("%s:7000", a.Addr))
		if err == nil {
			c.Close()
		}
		return err
	}
	// The first SYN can wait on ARP over the fresh link, beyond one
	// dial's 300 ms when the machine is busy (a CI run failed so).
	if err := Poll(3*time.Second, 20*time.Millisecond, func() (bool, error) { err := dial(); return err == nil, err }); err != nil {
		t.Fatalf("cannot reach a from b: %v", err)
	}
	if own, err := b.NS.HasAddr(Dev, b.Addr); err != nil || !own {
		t.Fatalf("b does not see its own address %s: %v", b.Addr, err)
	}
	if other, err := b.NS.HasAddr(Dev, a.Addr); err != nil || other {
		t.Fatalf("b sees a's address on its interface (%v, %v): Do did not enter b", other, err)
	}
	rootBefore, _ := os.ReadFile("/proc/sys/net/ipv4/conf/all/arp_ignore")
	if err := a.VIPOnLoopback(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ip", "netns", "exec", a.NS.Name, "cat", "/proc/sys/net/ipv4/conf/all/arp_ignore").Output()
	if err != nil || strings.TrimSpace(string(out)) != "1" {
		t.Fatalf("arp_ignore in a is %q (%v); want 1", out, err)
	}
	if rootAfter, _ := os.ReadFile("/proc/sys/net/ipv4/conf/all/arp_ignore"); string(rootAfter) != string(rootBefore) {
		t.Fatalf("VIPOnLoopback changed the root namespace's arp_ignore from %q to %q", rootBefore, rootAfter)
	}
	if err := a.Partition(); err != nil {
		t.Fatal(err)
	}
	if err := dial(); err == nil {
		t.Fatalf("b reached a across a partition")
	}
	if err := a.Heal(); err != nil {
		t.Fatal(err)
	}
	if err := Poll(3*time.Second, 20*time.Millisecond, func() (bool, error) { err := dial(); return err == nil, err }); err != nil {
		t.Fatalf("b cannot reach a after healing: %v", err)
	}
}
