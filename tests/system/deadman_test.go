package system

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/corpus"
	"github.com/rtbd/rtbd/tests/system/harness"
)

// TestDeadmanMovesVIP runs the pair with data.deadman and keepalived
// tracking the switch (GET /admin/heartbeat, weight -100 against the
// priorities 150 and 100): when the master's control plane goes silent
// and the backup's does not, the backup takes the VIP, and the master
// takes it back once its control plane is heard again. The control plane
// is this test, posting heartbeats.
func TestDeadmanMovesVIP(t *testing.T) {
	bin := setup(t, true)
	const deadman = 3 * time.Second
	topo := harness.NewTopology(t, "bidder1", "bidder2", "client")
	b1, b2, client := topo.Hosts["bidder1"], topo.Hosts["bidder2"], topo.Hosts["client"]
	start := func(h *harness.Host) *harness.Rtbd {
		cfg := harness.NewRtbdConfig(h, 0)
		cfg.Data = map[string]any{"deadman": deadman.String()}
		r := harness.StartRtbd(t, bin, h, "rtbd-"+h.Name, cfg, "")
		must(t, r.WaitReady(10*time.Second))
		return r
	}
	r1, r2 := start(b1), start(b2)

	// The control plane: a heartbeat to each bidder it has not given up,
	// every 300 ms, until the test ends.
	var silent1 atomic.Bool
	done := make(chan struct{})
	beating := make(chan error, 1)
	go func() {
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				beating <- nil
				return
			case <-tick.C:
			}
			if !silent1.Load() {
				if err := r1.Heartbeat(); err != nil {
					beating <- err
					return
				}
			}
			if err := r2.Heartbeat(); err != nil {
				beating <- err
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(done)
		if err := <-beating; err != nil {
			t.Errorf("control plane: %v", err)
		}
	})

	vrrp := func(priority int) harness.VRRP {
		v := vrrpFor(priority)
		v.DeadmanWeight = 100
		return v
	}
	harness.StartKeepalived(t, b1, "keepalived-b1", vrrp(150), []*harness.Host{b2})
	harness.StartKeepalived(t, b2, "keepalived-b2", vrrp(100), []*harness.Host{b1})
	p := &pair{b1: b1, b2: b2}
	p.waitMaster(t, b1, 10*time.Second)

	body, ok := corpus.Request("iab__2.6-video.json") // the demo data bids on it
	if !ok {
		t.Fatal("no corpus request iab__2.6-video.json")
	}
	code, _, err := harness.PostBid(client.NS, harness.VIP.String(), body)
	must(t, err)
	if n, err := r1.BidRequests(); code != 200 || err != nil || n != 1 {
		t.Fatalf("a bid request on the VIP with bidder1 the master: status %d, bidder1 counted %v (%v); want a bid from bidder1", code, n, err)
	}

	silence := time.Now()
	silent1.Store(true)
	// data.deadman, then the check's interval (1 s) and an advert or so.
	took := p.waitMaster(t, b2, deadman+5*time.Second)
	if gone := time.Since(silence); gone < deadman-300*time.Millisecond {
		t.Fatalf("the VIP moved %s after the master's last heartbeat, before data.deadman %s", gone, deadman)
	}
	// The exchanges' side: the VIP bids again (bidder2 heard its
	// control plane throughout), once the client's ARP entry has moved.
	err = harness.Poll(3*time.Second, 20*time.Millisecond, func() (bool, error) {
		code, _, err := harness.PostBid(client.NS, harness.VIP.String(), body)
		return code == 200, fmt.Errorf("status %d, %v", code, err)
	})
	must(t, err)

	heard := time.Now()
	silent1.Store(false)
	p.waitMaster(t, b1, 5*time.Second)
	t.Logf("FIGURE scenario=deadman deadman_ms=%s vip_moved_after_silence_ms=%s vip_back_after_heartbeat_ms=%s",
		harness.Ms(deadman), harness.Ms(took), harness.Ms(time.Since(heard)))
}
