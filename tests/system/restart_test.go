package system

import (
	"syscall"
	"testing"
	"time"

	"github.com/rtbd/rtbd/tests/system/harness"
)

// TestRestartSocketActivation restarts rtbd under load the way systemd
// does with socket activation: the test owns the listening sockets, the old
// process drains and exits, a new one starts on the same sockets, and the
// kernel's accept queue holds the connections that arrive in between. No
// request may fail.
func TestRestartSocketActivation(t *testing.T) {
	bin := setup(t, false)
	topo := harness.NewTopology(t, "bidder1", "client")
	b1, client := topo.Hosts["bidder1"], topo.Hosts["client"]
	socks := harness.OpenSockets(t, b1)
	const drain = time.Second
	cfg := harness.NewRtbdConfig(b1, drain)
	old := harness.StartActivated(t, bin, b1, "rtbd-old", cfg, socks)
	must(t, old.WaitReady(10*time.Second))

	const rate, dur = 2000, 6 * time.Second
	// The timeout covers the new process's start-up, during which requests
	// wait in the accept queue: slow, not lost.
	l := harness.StartLoad(t, bin, client.NS, harness.LoadSpec{
		Target: b1.Addr.String(), Rate: rate, Duration: dur, Timeout: 2 * time.Second,
	})
	waitBidRequests(t, old, rate*3/2, 6*time.Second)
	must(t, old.Signal(syscall.SIGTERM))
	code, err := old.Wait(drain + 10*time.Second)
	must(t, err)
	if code != 0 {
		t.Errorf("old rtbd exited %d after SIGTERM; want 0", code)
	}
	stopped := time.Now()
	nw := harness.StartActivated(t, bin, b1, "rtbd-new", cfg, socks)
	must(t, nw.WaitReady(10*time.Second))
	gap := time.Since(stopped)

	res, err := l.Result(dur + 15*time.Second)
	must(t, err)
	served, err := nw.BidRequests()
	must(t, err)
	failed := harness.Failed(res)
	t.Logf("FIGURE scenario=restart rate=%d no_process_ms=%s failed=%d errors=%d timeouts=%d sent=%d new_served=%.0f p99_ms=%s max_ms=%s",
		rate, harness.Ms(gap), failed, res.Errors, res.Timeouts, res.Sent, served, harness.Ms(res.Latency.P99), harness.Ms(res.Latency.Max))
	if failed != 0 {
		t.Errorf("%d requests failed across the restart (errors %d %s, timeouts %d); want 0", failed, res.Errors, errorKinds(res), res.Timeouts)
	}
	if served < rate {
		t.Errorf("the new rtbd served %.0f requests; want at least %d", served, rate)
	}
}
