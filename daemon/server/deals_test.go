package server

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/rtbd/rtbd/daemon/notice"
)

// countingSink counts the notices handed to it.
type countingSink struct {
	mu sync.Mutex
	n  int
}

func (s *countingSink) Notice(notice.Event) {
	s.mu.Lock()
	s.n++
	s.mu.Unlock()
}

// series returns the value of each series of /metrics that contains one
// of names, by series.
func series(t *testing.T, names ...string) map[string]string {
	t.Helper()
	var b bytes.Buffer
	metrics.WritePrometheus(&b, false)
	out := map[string]string{}
	for line := range strings.Lines(b.String()) {
		for _, n := range names {
			if strings.Contains(line, n) && !strings.HasPrefix(line, "#") {
				i := strings.LastIndexByte(line, ' ')
				out[line[:i]] = strings.TrimSpace(line[i+1:])
			}
		}
	}
	return out
}

// retireDeals drops every deal of d and retires their series, so that
// the next test (or the next run of -count) counts from zero: the
// series are process-wide.
func retireDeals(d *DealMetrics) {
	d.SetDeals(nil)
	now := d.now
	d.now = func() time.Time { return now().Add(DealSeriesRetention) }
	d.RetireDropped()
}

// TestDealMetrics: bids and notices count under the deals that the
// campaigns list, by their escaped ids; any other deal under "other"; a
// bid or notice without a deal nowhere; every notice goes on to the next
// sink; a deal that a reload drops and the next brings back keeps its
// counts.
func TestDealMetrics(t *testing.T) {
	next := &countingSink{}
	d := NewDealMetrics(next)
	t.Cleanup(func() { retireDeals(d) })
	const pg, odd = "tdm-pg", "tdm-\"odd\\\n"
	d.SetDeals([]string{pg, odd})
	other := series(t, `deal="other"`)
	d.countBid([]byte(pg))
	d.countBid([]byte(pg))
	d.countBid([]byte(odd))
	d.countBid([]byte("tdm-unlisted"))
	d.countBid(nil)
	for _, e := range []notice.Event{
		{Kind: notice.KindWin, DealID: []byte(pg), Price: 2.5},
		{Kind: notice.KindBill, DealID: []byte(pg), Price: 2.5},
		{Kind: notice.KindBill, DealID: []byte(pg), Price: 1.5},
		{Kind: notice.KindBill, DealID: []byte(pg), Price: 7, Test: true},      // moves no budget
		{Kind: notice.KindBill, DealID: []byte(pg), Price: 5, Uncharged: true}, // nor does this one
		{Kind: notice.KindLoss, DealID: []byte(odd), Price: notice.UnknownPrice, Loss: 102},
		{Kind: notice.KindLoss, DealID: []byte(odd), Price: notice.UnknownPrice, Loss: 102},
		{Kind: notice.KindLoss, DealID: []byte(odd), Price: notice.UnknownPrice, Loss: 1001},
		{Kind: notice.KindLoss, DealID: []byte(pg), Price: notice.UnknownPrice, Loss: -1},
		{Kind: notice.KindLoss, DealID: []byte("tdm-unlisted"), Price: 1, Loss: 200},
		{Kind: notice.KindLoss, Price: 1, Loss: 102}, // the open auction's
		{Kind: notice.KindBill, DealID: []byte("tdm-unlisted"), Price: 4},
		{Kind: notice.KindBill, Price: 9}, // the open auction's
	} {
		d.Notice(e)
	}
	d.SetDeals([]string{odd}) // pg dropped: its bid counts as other
	d.countBid([]byte(pg))
	d.SetDeals([]string{pg, odd}) // and back, with its counts
	d.countBid([]byte(pg))
	if next.n != 13 {
		t.Fatalf("the next sink got %d notices; want all 13", next.n)
	}
	got := series(t, `deal="tdm-`)
	want := map[string]string{
		`rtbd_deal_bids_total{deal="tdm-pg"}`:                         "3",
		`rtbd_deal_bids_total{deal="tdm-\"odd\\\n"}`:                  "1",
		`rtbd_deal_notices_total{deal="tdm-pg",kind="win"}`:           "1",
		`rtbd_deal_notices_total{deal="tdm-pg",kind="bill"}`:          "4",
		`rtbd_deal_notices_total{deal="tdm-pg",kind="loss"}`:          "1",
		`rtbd_deal_notices_total{deal="tdm-\"odd\\\n",kind="win"}`:    "0",
		`rtbd_deal_notices_total{deal="tdm-\"odd\\\n",kind="bill"}`:   "0",
		`rtbd_deal_notices_total{deal="tdm-\"odd\\\n",kind="loss"}`:   "3",
		`rtbd_deal_losses_total{deal="tdm-pg",reason="unknown"}`:      "1",
		`rtbd_deal_losses_total{deal="tdm-\"odd\\\n",reason="102"}`:   "2",
		`rtbd_deal_losses_total{deal="tdm-\"odd\\\n",reason="other"}`: "1",
		`rtbd_deal_spend_total{deal="tdm-pg"}`:                        "0.004",
		`rtbd_deal_spend_total{deal="tdm-\"odd\\\n"}`:                 "0",
	}
	if len(got) != len(want) {
		t.Fatalf("series %v; want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s = %q; want %s (all: %v)", k, got[k], v, got)
		}
	}
	now := series(t, `deal="other"`)
	for k, delta := range map[string]float64{
		`rtbd_deal_bids_total{deal="other"}`:                2,
		`rtbd_deal_notices_total{deal="other",kind="bill"}`: 1,
		`rtbd_deal_notices_total{deal="other",kind="loss"}`: 1,
		`rtbd_deal_losses_total{deal="other",reason="200"}`: 1,
		`rtbd_deal_spend_total{deal="other"}`:               0.004,
	} {
		if g := parseFloat(t, now[k]) - parseFloat(t, other[k]); g < delta-1e-12 || g > delta+1e-12 {
			t.Fatalf("%s grew by %v; want %v", k, g, delta)
		}
	}
}

// TestDealMetricsNoAlloc: counting a bid or a notice allocates nothing,
// once the deal has lost with the reason (AllocsPerRun's warm-up run).
func TestDealMetricsNoAlloc(t *testing.T) {
	d := NewDealMetrics(nil)
	t.Cleanup(func() { retireDeals(d) })
	d.SetDeals([]string{"tdm-alloc"})
	id, bill := []byte("tdm-alloc"), notice.Event{Kind: notice.KindBill, DealID: []byte("tdm-alloc"), Price: 1}
	loss := notice.Event{Kind: notice.KindLoss, DealID: id, Price: 1, Loss: 102}
	if n := testing.AllocsPerRun(1000, func() {
		d.countBid(id)
		d.Notice(bill)
		d.Notice(loss)
	}); n != 0 {
		t.Fatalf("%v allocations per bid and notices; want 0", n)
	}
}

// parseFloat parses a metric's value; "" (no such series yet) is 0.
func parseFloat(t *testing.T, s string) float64 {
	t.Helper()
	if s == "" {
		return 0
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("metric value %q: %v", s, err)
	}
	return v
}

// TestDealSeriesRetired: a deal that a reload drops keeps its series,
// no longer growing, for DealSeriesRetention; the first reload after
// that removes them, losses by reason included. Listed again before
// then, it counts on from its counts; after, from zero. A deal that
// another DealMetrics of the process still lists keeps its series.
func TestDealSeriesRetired(t *testing.T) {
	clock := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	d := NewDealMetrics(nil)
	d.now = func() time.Time { return clock }
	const gone, back, kept, shared = "tdr-gone", "tdr-back", "tdr-kept", "tdr-shared"
	other := NewDealMetrics(nil)
	other.SetDeals([]string{shared})
	d.SetDeals([]string{gone, back, kept, shared, kept})
	for _, id := range []string{gone, back, kept, shared} {
		d.countBid([]byte(id))
		d.Notice(notice.Event{Kind: notice.KindLoss, DealID: []byte(id), Price: notice.UnknownPrice, Loss: 102})
	}
	bids := func(id string) string { return `rtbd_deal_bids_total{deal="` + id + `"}` }
	loss := func(id string) string { return `rtbd_deal_losses_total{deal="` + id + `",reason="102"}` }
	check := func(step string, want map[string]string) {
		t.Helper()
		got := series(t, `deal="tdr-`)
		// Each deal has 6 series: bids, spend, 3 kinds of notices, one reason.
		if len(got) != 6*len(want)/2 {
			t.Fatalf("%s: %d series %v; want those of %v", step, len(got), got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("%s: %s = %q; want %q (all: %v)", step, k, got[k], v, got)
			}
		}
	}
	d.SetDeals([]string{kept}) // gone, back and shared dropped
	d.countBid([]byte(gone))   // as other now
	clock = clock.Add(DealSeriesRetention - time.Second)
	d.SetDeals([]string{kept, back}) // back listed again in time
	d.countBid([]byte(back))
	check("before the retention ends", map[string]string{
		bids(gone): "1", loss(gone): "1", bids(back): "2", loss(back): "1",
		bids(kept): "1", loss(kept): "1", bids(shared): "1", loss(shared): "1",
	})
	clock = clock.Add(time.Second)
	d.RetireDropped() // with no reload
	check("after it", map[string]string{
		bids(back): "2", loss(back): "1", bids(kept): "1", loss(kept): "1",
		bids(shared): "1", loss(shared): "1", // other lists it
	})
	d.SetDeals([]string{kept, back, gone}) // gone comes back from zero
	d.countBid([]byte(gone))
	d.Notice(notice.Event{Kind: notice.KindLoss, DealID: []byte(gone), Price: notice.UnknownPrice, Loss: 102})
	check("gone listed again", map[string]string{
		bids(gone): "1", loss(gone): "1", bids(back): "2", loss(back): "1",
		bids(kept): "1", loss(kept): "1", bids(shared): "1", loss(shared): "1",
	})
	other.now = func() time.Time { return clock }
	other.SetDeals(nil)
	clock = clock.Add(DealSeriesRetention)
	other.SetDeals(nil)
	check("shared retired by both", map[string]string{
		bids(gone): "1", loss(gone): "1", bids(back): "2", loss(back): "1", bids(kept): "1", loss(kept): "1",
	})
	d.SetDeals(nil)
	clock = clock.Add(DealSeriesRetention)
	d.SetDeals(nil)
	check("all retired", map[string]string{}) // kept too, listed twice

	// A deal named "other" counts with the unlisted ones, in one series.
	before := series(t, `deal="other"`)
	d.SetDeals([]string{"other"})
	d.countBid([]byte("other"))
	clock = clock.Add(DealSeriesRetention)
	d.SetDeals(nil)
	d.SetDeals(nil)
	var b bytes.Buffer
	metrics.WritePrometheus(&b, false)
	if n := strings.Count(b.String(), `rtbd_deal_bids_total{deal="other"} `); n != 1 {
		t.Fatalf(`rtbd_deal_bids_total{deal="other"} written %d times; want once`, n)
	}
	k := `rtbd_deal_bids_total{deal="other"}`
	if got := parseFloat(t, series(t, `deal="other"`)[k]) - parseFloat(t, before[k]); got != 1 {
		t.Fatalf("%s grew by %v; want 1", k, got)
	}
}
