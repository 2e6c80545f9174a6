package system

import (
	"fmt"
	"testing"
	"time"

	"github.com/rtbd/rtbd/tests/system/harness"
)

// advertInt is the VRRP advertisement interval of the pair (VRRPv3
// allows sub-second intervals): a crashed master is replaced after about
// 3 x advertInt. 100 ms keeps keepalived from flapping on a busy
// 2-core machine.
const advertInt = 100 * time.Millisecond

// pair is two bidders sharing the VIP through keepalived, and a client.
type pair struct {
	topo           *harness.Topology
	b1, b2, client *harness.Host
	r1, r2         *harness.Rtbd
	k1, k2         *harness.Proc
	bin            harness.Binaries
	// config returns the config of the bidder on h (see newPairWith).
	config func(p *pair, h *harness.Host) harness.RtbdConfig
}

func vrrpFor(priority int) harness.VRRP {
	return harness.VRRP{
		Priority: priority, AdvertInt: advertInt,
		CheckInterval: time.Second, Fall: 1, Rise: 2, // see harness.VRRP.CheckInterval
	}
}

// newPair starts rtbd on both bidders and keepalived on both, and waits
// until bidder1 (priority 150) holds the VIP alone.
// With vipOnLo both bidders also carry the VIP on lo (see
// [harness.Host.VIPOnLoopback]).
func newPair(t *testing.T, bin harness.Binaries, drain time.Duration, vipOnLo bool) *pair {
	t.Helper()
	return newPairWith(t, bin, vipOnLo, func(_ *pair, h *harness.Host) harness.RtbdConfig {
		return harness.NewRtbdConfig(h, drain)
	})
}

// newPairWith is newPair with each bidder's config from config, called
// again for every rtbd the test starts on a bidder.
func newPairWith(t *testing.T, bin harness.Binaries, vipOnLo bool, config func(p *pair, h *harness.Host) harness.RtbdConfig) *pair {
	t.Helper()
	topo := harness.NewTopology(t, "bidder1", "bidder2", "client")
	p := &pair{topo: topo, b1: topo.Hosts["bidder1"], b2: topo.Hosts["bidder2"], client: topo.Hosts["client"], bin: bin, config: config}
	if vipOnLo {
		must(t, p.b1.VIPOnLoopback())
		must(t, p.b2.VIPOnLoopback())
	}
	// The master first, so that the backup's first reading of its peer's
	// spend (state.peers) finds it: a failed one is read again an
	// interval later (its billing notices within a second).
	p.r1 = p.startRtbd(t, p.b1, "rtbd-b1")
	must(t, p.r1.WaitReady(10*time.Second))
	p.r2 = p.startRtbd(t, p.b2, "rtbd-b2")
	must(t, p.r2.WaitReady(10*time.Second))
	p.k1 = harness.StartKeepalived(t, p.b1, "keepalived-b1", vrrpFor(150), []*harness.Host{p.b2})
	p.k2 = harness.StartKeepalived(t, p.b2, "keepalived-b2", vrrpFor(100), []*harness.Host{p.b1})
	p.waitMaster(t, p.b1, 10*time.Second)
	return p
}

func (p *pair) startRtbd(t *testing.T, h *harness.Host, name string) *harness.Rtbd {
	return harness.StartRtbd(t, p.bin, h, name, p.config(p, h), "")
}

// other returns the bidder that is not h.
func (p *pair) other(h *harness.Host) *harness.Host {
	if h == p.b1 {
		return p.b2
	}
	return p.b1
}

// waitMaster polls until h holds the VIP and the other bidder does not,
// and returns how long that took.
func (p *pair) waitMaster(t *testing.T, h *harness.Host, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	err := harness.Poll(d, 10*time.Millisecond, func() (bool, error) {
		mine, err := h.HasVIP()
		if err != nil {
			return false, err
		}
		theirs, err := p.other(h).HasVIP()
		if err != nil {
			return false, err
		}
		return mine && !theirs, fmt.Errorf("%s has VIP: %v, %s has VIP: %v", h.Name, mine, p.other(h).Name, theirs)
	})
	if err != nil {
		t.Fatalf("%s did not become the only VIP holder: %v", h.Name, err)
	}
	return time.Since(start)
}
