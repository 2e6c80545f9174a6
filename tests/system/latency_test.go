package system

import (
	"testing"
	"time"

	"github.com/rtbd/rtbd/tests/system/harness"
)

// TestLatency sends a fixed open-loop rate over the corpus from the client
// namespace to rtbd in another namespace and checks that every request is
// answered within a bound generous enough for a shared, noisy machine.
// An attempt spoiled by the hypervisor's steal is measured again (see
// measure).
func TestLatency(t *testing.T) {
	bin := setup(t, false)
	measure(t, func(t *testing.T) failures { return latencyUnderLoad(t, bin) })
}

// latencyUnderLoad runs one attempt of TestLatency.
func latencyUnderLoad(t *testing.T, bin harness.Binaries) failures {
	var f failures
	r, client, loadCPU := bidderAndClient(t, bin)

	const rate, dur = 3000, 5 * time.Second
	l := harness.StartLoad(t, bin, client.NS, harness.LoadSpec{
		Target: r.Host.Addr.String(), Rate: rate, Duration: dur, Timeout: time.Second, CPUs: loadCPU,
	})
	res, err := l.Result(dur + 10*time.Second)
	must(t, err)
	lat := res.Latency
	// Seconds whose p99 is over the bound: on two shared cores that also
	// run the rest of the suite (and other work), one stall of a few tens
	// of milliseconds lands in one second; a slow daemon shows in all.
	const bound = 20 * time.Millisecond
	slow := 0
	for _, s := range res.Series {
		if s.P99 > bound {
			slow++
		}
	}
	t.Logf("FIGURE scenario=latency rate=%d achieved_rate=%.0f sent=%d bids=%d nobids=%d errors=%d timeouts=%d p50_ms=%s p99_ms=%s p999_ms=%s max_ms=%s seconds_p99_over_20ms=%d/%d",
		rate, res.Rate, res.Sent, res.Bids, res.NoBids, res.Errors, res.Timeouts,
		harness.Ms(lat.P50), harness.Ms(lat.P99), harness.Ms(lat.P999), harness.Ms(lat.Max), slow, len(res.Series))

	if res.Errors != 0 || res.Timeouts != 0 || res.Saturation.Dropped != 0 {
		f.add("errors=%d timeouts=%d dropped=%d; want all 0", res.Errors, res.Timeouts, res.Saturation.Dropped)
	}
	if res.Sent < rate*int64(dur/time.Second)*9/10 {
		f.add("sent %d requests; want at least 90%% of %d", res.Sent, rate*int64(dur/time.Second))
	}
	if res.Bids == 0 { // a bug on any machine: not measured again
		t.Errorf("no bids: the demo data should bid on part of the corpus")
	}
	// The sub-millisecond targets are the bench script's job; this bounds
	// what a shared, noisy machine allows.
	if slow > 1 {
		f.add("%d of %d seconds had a p99 over %s; want at most 1", slow, len(res.Series), bound)
	}
	if lat.P99 > 100*time.Millisecond {
		f.add("p99 %s over the run; want < 100ms", lat.P99)
	}
	return f
}
