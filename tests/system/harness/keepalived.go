package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// VRRP configures one keepalived instance of the pair.
type VRRP struct {
	Priority int
	// AdvertInt is the advertisement interval; sub-second needs VRRPv3.
	AdvertInt time.Duration
	// CheckInterval runs the /readyz check this often; Fall failures make
	// the instance FAULT (giving the VIP away), Rise successes recover it.
	// keepalived 2.2.7 reads it in whole seconds ("interval 0.1" logs
	// "vrrp script interval must be greater than 0, setting to 1"), so it
	// is rounded up to at least 1 s: a draining host gives the VIP away up
	// to CheckInterval x Fall after /readyz fails, which drain.delay must
	// cover.
	CheckInterval time.Duration
	Fall, Rise    int
	// NoPreempt keeps a recovered higher-priority node from taking the VIP
	// back (state BACKUP is implied).
	NoPreempt bool
	// DeadmanWeight, when set, also tracks rtbd's deadman switch (GET
	// /admin/heartbeat): while it has tripped the priority drops by this
	// much, so that a host whose control plane is silent gives the VIP
	// to one that still hears it (modules/failover.nix does the same).
	DeadmanWeight int
}

// Config renders keepalived.conf for h with unicast peers.
func (v VRRP) Config(h *Host, peers []*Host) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n  router_id %s\n  vrrp_version 3\n  enable_script_security\n  script_user root\n", h.Name)
	// On becoming master, send gratuitous ARPs spread over 1.2 s rather
	// than in one burst: Linux ignores an ARP update for an entry updated
	// less than neigh locktime (1 s) ago, so a single burst can leave a
	// client sending to the old master for another garp_master_delay.
	b.WriteString("  vrrp_garp_master_delay 1\n  vrrp_garp_master_repeat 7\n  vrrp_garp_interval 0.2\n}\n")
	fmt.Fprintf(&b, "vrrp_script chk_rtbd {\n  script \"/usr/bin/curl -sf -o /dev/null -m 0.2 http://%s:%d/readyz\"\n", h.Addr, AdminPort)
	fmt.Fprintf(&b, "  interval %d\n  timeout 1\n  fall %d\n  rise %d\n}\n", wholeSeconds(v.CheckInterval), v.Fall, v.Rise)
	track := "chk_rtbd"
	if v.DeadmanWeight > 0 {
		fmt.Fprintf(&b, "vrrp_script chk_deadman {\n  script \"/usr/bin/curl -sf -o /dev/null -m 0.2 http://%s:%d/admin/heartbeat\"\n", h.Addr, AdminPort)
		fmt.Fprintf(&b, "  interval %d\n  timeout 1\n  fall %d\n  rise %d\n  weight -%d\n}\n", wholeSeconds(v.CheckInterval), v.Fall, v.Rise, v.DeadmanWeight)
		track += "\n    chk_deadman"
	}
	fmt.Fprintf(&b, "vrrp_instance VI_1 {\n  state BACKUP\n  interface %s\n  virtual_router_id 51\n  priority %d\n  advert_int %s\n", Dev, v.Priority, secs(v.AdvertInt))
	if v.NoPreempt {
		b.WriteString("  nopreempt\n")
	}
	fmt.Fprintf(&b, "  unicast_src_ip %s\n  unicast_peer {\n", h.Addr)
	for _, p := range peers {
		fmt.Fprintf(&b, "    %s\n", p.Addr)
	}
	fmt.Fprintf(&b, "  }\n  virtual_ipaddress {\n    %s/32 dev %s\n  }\n  track_script {\n    %s\n  }\n}\n", VIP, Dev, track)
	return b.String()
}

func wholeSeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

func secs(d time.Duration) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", d.Seconds()), "0"), ".")
}

// StartKeepalived runs keepalived (VRRP only, in the foreground, logging
// to its log file) on h.
func StartKeepalived(tb testing.TB, h *Host, name string, v VRRP, peers []*Host) *Proc {
	tb.Helper()
	dir := tb.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(v.Config(h, peers)), 0o644); err != nil {
		tb.Fatal(err)
	}
	argv := []string{"keepalived", "-f", conf, "-P", "-D", "-l", "-n",
		"-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid")}
	return Start(tb, ProcSpec{Name: name, NS: h.NS, Argv: argv})
}
