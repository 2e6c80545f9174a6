package peers

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/rtbd/rtbd/daemon/decision"
	"github.com/rtbd/rtbd/daemon/notice"
)

// waitFor polls cond every millisecond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// getBills reads a's bills from cursor (epoch, since) asking it to wait.
func getBills(t *testing.T, url string, epoch, since uint64, wait time.Duration) bills {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("%s%s?epoch=%d&since=%d&wait=%d", url, BillsPath, epoch, since, wait.Milliseconds()))
	if err != nil {
		t.Error(err)
		return bills{}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Error(err)
		return bills{}
	}
	got, err := decodeBills(b)
	if err != nil {
		t.Errorf("%v: %q", err, b)
	}
	return got
}

// TestBillsWaitForARecord: an answer with nothing to send waits for the
// next billing notice and sends it; without one it ends at its wait; a
// host that starts stopping ends every wait at once.
func TestBillsWaitForARecord(t *testing.T) {
	a := newBillingHost(t)
	src := &Source{State: a.st, Journal: a.journal, HostID: a.id}
	a.serve(t, src.Handler)
	j := a.journal
	done := make(chan bills, 1)
	go func() { done <- getBills(t, a.url, j.epoch, 0, time.Minute) }()
	waitFor(t, "the answer to wait", func() bool { return j.waiting.Load() == 1 })
	a.bill(t, "a-0", 1)
	if got := <-done; len(got.records) != 1 || got.next != 1 {
		t.Fatalf("the waiting answer held %d records, next %d; want the new notice, next 1", len(got.records), got.next)
	}

	start := time.Now()
	if got := getBills(t, a.url, j.epoch, 1, 50*time.Millisecond); len(got.records) != 0 {
		t.Fatalf("%d records with nothing billed; want none", len(got.records))
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("an answer with nothing to send came after %s; want it to wait 50ms", d)
	}

	go func() { done <- getBills(t, a.url, j.epoch, 1, time.Minute) }()
	waitFor(t, "the answer to wait", func() bool { return j.waiting.Load() == 1 })
	src.FinalReads(time.Minute, nil)
	if got := <-done; len(got.records) != 0 {
		t.Fatalf("%d records from a stopping host with nothing more billed; want none", len(got.records))
	}
}

// TestFollowSharesBillsAtOnce: with Run, a notice billed on a is applied
// on c while c's readings of the spend are an hour apart.
func TestFollowSharesBillsAtOnce(t *testing.T) {
	a, c := newBillingHost(t), newBillingHost(t)
	a.serve(t, (&Source{State: a.st, Journal: a.journal, HostID: a.id}).Handler)
	var applied atomic.Int64
	s := New(c.st, []string{a.url}, time.Hour, c.id)
	s.ShareBills(func(b notice.Billed) {
		c.notices.MarkBilled(b.Notice)
		c.st.CountImpression(b.CapKey, b.CapWindow, b.Time)
		applied.Add(1)
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	waitFor(t, "c to wait on a's notices", func() bool { return a.journal.waiting.Load() == 1 })
	for i := range 3 {
		a.bill(t, fmt.Sprintf("a-%d", i), 7)
		waitFor(t, fmt.Sprintf("notice %d on c", i), func() bool { return applied.Load() == int64(i+1) })
	}
	if got := c.st.Impressions(cappedCampaign, 7, time.Now()); got != 3 {
		t.Fatalf("c counts %d impressions of a's user; want 3", got)
	}
}

// TestFollowSharesSpendAtOnce: with Run, the spend of a notice billed on
// a counts in c's budgets at once, while c's readings of a's spend are an
// hour apart, and the first of them held none of the campaign's spend:
// a crash of a right after billing loses none of it.
func TestFollowSharesSpendAtOnce(t *testing.T) {
	a, c := newBillingHost(t), newBillingHost(t)
	a.serve(t, (&Source{State: a.st, Journal: a.journal, HostID: a.id}).Handler)
	s := c.sync(a.url)
	s.interval = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	i := slices.IndexFunc(campaignIDs(c.snap), func(id string) bool { return id == cappedCampaign })
	peerTotal := func() float64 { return c.snap.CampaignStatus(i, time.Now()).PeerTotal }
	waitFor(t, "c to wait on a's notices", func() bool { return a.journal.waiting.Load() == 1 })
	for n := range 3 {
		a.bill(t, fmt.Sprintf("a-%d", n), 7)
		want := float64(a.ownSpend(t)) / 1e6
		waitFor(t, fmt.Sprintf("a's spend after notice %d on c", n), func() bool { return peerTotal() == want })
		if today := c.snap.CampaignStatus(i, time.Now()).PeerToday; today != want {
			t.Fatalf("c counts %v of a's spend today; want %v", today, want)
		}
	}
}

// TestFollowRetriesSoon: a peer whose first readings of its billing
// notices fail (it was still starting) is followed within followRetry of
// answering, not at the next interval, an hour away here, and counts as
// reachable again, so that c would wait for its final reading at stop.
// Its spend cannot be read at all here: only the notices tell.
func TestFollowRetriesSoon(t *testing.T) {
	a, c := newBillingHost(t), newBillingHost(t)
	var failing atomic.Int64
	failing.Store(3)
	src := &Source{State: a.st, Journal: a.journal, HostID: a.id}
	a.serve(t, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) != BillsPath || failing.Add(-1) >= 0 {
			ctx.Error("starting", fasthttp.StatusServiceUnavailable)
			return
		}
		src.Handler(ctx)
	})
	var applied atomic.Int64
	s := New(c.st, []string{a.url}, time.Hour, c.id)
	s.ShareBills(func(notice.Billed) { applied.Add(1) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	a.bill(t, "a-0", 7)
	waitFor(t, "the notice on c after 3 failed readings", func() bool { return applied.Load() == 1 })
	waitFor(t, "a to count as reachable", func() bool { return !s.Unreachable(a.id) })
}

// campaignIDs returns the ids of snap's campaigns by ordinal.
func campaignIDs(snap *decision.Snapshot) []string {
	ids := make([]string, snap.Campaigns())
	for i := range ids {
		ids[i] = string(snap.CampaignStatus(i, time.Now()).ID)
	}
	return ids
}

// TestFollowOlderPeerDoesNotSpin: a peer that answers at once, as an rtbd
// from before the wait does, or has no billing notices at all (404), is
// read once an interval, not in a loop.
func TestFollowOlderPeerDoesNotSpin(t *testing.T) {
	for _, journal := range []bool{true, false} {
		t.Run(fmt.Sprintf("journal=%v", journal), func(t *testing.T) { testFollowOlderPeer(t, journal) })
	}
}

func testFollowOlderPeer(t *testing.T, journal bool) {
	a, c := newBillingHost(t), newBillingHost(t)
	var reads atomic.Int64
	a.serve(t, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == BillsPath {
			reads.Add(1)
			if !journal {
				ctx.Error("not found", fasthttp.StatusNotFound)
				return
			}
			ctx.Request.URI().QueryArgs().Del("wait") // older: ignores it
			serveBills(ctx, a.journal, func() bool { return false })
			return
		}
		(&Source{State: a.st, HostID: a.id}).Handler(ctx)
	})
	const interval = 200 * time.Millisecond
	s := New(c.st, []string{a.url}, interval, c.id)
	s.ShareBills(func(notice.Billed) {})
	ctx, cancel := context.WithCancel(context.Background())
	go s.Run(ctx)
	waitFor(t, "a first reading", func() bool { return reads.Load() >= 2 })
	start, before := time.Now(), reads.Load()
	time.Sleep(time.Second) // the span over which the readings are counted
	cancel()
	n, d := reads.Load()-before, time.Since(start)
	if limit := int64(d/interval) + 2; n > limit { // followGap would make 20
		t.Fatalf("%d readings of an older peer in %s; want at most %d (one an interval)", n, d, limit)
	}
}
