package system

import (
	"testing"
	"time"

	"github.com/rtbd/rtbd/tests/system/harness"
)

// TestPartition cuts the master off the network with its processes alive:
// the backup takes the VIP (both hold it while they cannot hear each
// other: VRRP cannot avoid that), and once the link heals the split brain
// must end within about three advertisement intervals.
func TestPartition(t *testing.T) {
	bin := setup(t, true)
	p := newPair(t, bin, 0, false)

	cut := time.Now()
	must(t, p.b1.Partition())
	err := harness.Poll(3*time.Second, 10*time.Millisecond, func() (bool, error) { return p.b2.HasVIP() })
	takeover := time.Since(cut)
	must(t, err)
	still, err := p.b1.HasVIP()
	must(t, err)
	if !still {
		t.Fatalf("the partitioned master gave up the VIP; the partition did not keep its interface up")
	}

	heal := time.Now()
	must(t, p.b1.Heal())
	var both time.Duration
	err = harness.Poll(5*time.Second, 10*time.Millisecond, func() (bool, error) {
		h1, err := p.b1.HasVIP()
		if err != nil {
			return false, err
		}
		h2, err := p.b2.HasVIP()
		if err != nil {
			return false, err
		}
		both = time.Since(heal)
		return !(h1 && h2), nil
	})
	must(t, err)
	owner := p.b1
	if h2, _ := p.b2.HasVIP(); h2 {
		owner = p.b2
	}
	t.Logf("FIGURE scenario=partition advert_ms=%s takeover_ms=%s split_brain_after_heal_ms=%s owner=%s",
		harness.Ms(advertInt), harness.Ms(takeover), harness.Ms(both), owner.Name)
	if bound := 3*advertInt + 500*time.Millisecond; both > bound {
		t.Errorf("both bidders held the VIP for %s after the partition healed; want < %s", both, bound)
	}
	p.waitMaster(t, p.b1, 3*time.Second) // preemption: the higher priority keeps it
}
