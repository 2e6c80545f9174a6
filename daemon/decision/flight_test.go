package decision

import (
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

// flight returns a campaign.Flight from start to end; a zero time is no
// bound.
func flight(start, end time.Time) *campaign.Flight {
	f := &campaign.Flight{}
	if !start.IsZero() {
		f.Start = start.Format(time.RFC3339)
	}
	if !end.IsZero() {
		f.End = end.Format(time.RFC3339)
	}
	return f
}

// billCPM bills one impression of campaign c1 at cpm USD.
func billCPM(t *testing.T, st *State, cpm float64, now time.Time) {
	t.Helper()
	if _, err := st.Bill([]byte("c1"), 0, cpm, nil, now); err != nil {
		t.Fatalf("cannot bill: %s", err)
	}
}

// wantStatus checks the reason of a decision at now, the pacing state of
// campaign 0 and, when filter is not empty, its trace filter. The reason
// is checked twice: traced, as /admin/explain decides, and untraced, as
// the bid path does.
func wantStatus(t *testing.T, s *Snapshot, now time.Time, r Reason, p PacingState, filter string) {
	t.Helper()
	got, _, tr := decide(s, bannerRequest(), now)
	if got != r {
		t.Fatalf("at %s: reason %s; want %s (trace %+v)", now, got, r, tr.Campaigns)
	}
	if filter != "" && traceFilter(tr, "c1") != filter {
		t.Fatalf("at %s: filter %q; want %q", now, traceFilter(tr, "c1"), filter)
	}
	if got := s.Decide(&Ctx{}, bannerRequest(), now, &openrtb.Response{}); got != r {
		t.Fatalf("at %s untraced: reason %s; want %s", now, got, r)
	}
	if got := s.CampaignStatus(0, now).Pacing; got != p {
		t.Fatalf("at %s: pacing %s; want %s", now, got, p)
	}
}

// TestFlightBoundsBidding checks that a campaign bids from its flight's
// start, inclusive, to its end, exclusive, and that one outside its
// flight leaves the request to the others.
func TestFlightBoundsBidding(t *testing.T) {
	t.Parallel()
	c := bannerCampaign("c1", 10)
	start, end := testNow.Add(time.Hour), testNow.Add(3*time.Hour)
	c.Flight = flight(start, end)
	_, s := compileState(t, c)
	wantStatus(t, s, testNow, ReasonBudget, PacingNotStarted, "not_started")
	wantStatus(t, s, start.Add(-time.Second), ReasonBudget, PacingNotStarted, "not_started")
	wantStatus(t, s, start, ReasonBid, PacingOK, "")
	wantStatus(t, s, end.Add(-time.Second), ReasonBid, PacingOK, "")
	wantStatus(t, s, end, ReasonBudget, PacingEnded, "ended")
	wantStatus(t, s, end.Add(400*24*time.Hour), ReasonBudget, PacingEnded, "ended")

	// Open-ended on either side.
	c.Flight = flight(time.Time{}, end)
	_, s = compileState(t, c)
	wantStatus(t, s, testNow.Add(-400*24*time.Hour), ReasonBid, PacingOK, "")
	wantStatus(t, s, end, ReasonBudget, PacingEnded, "ended")
	c.Flight = flight(start, time.Time{})
	_, s = compileState(t, c)
	wantStatus(t, s, testNow, ReasonBudget, PacingNotStarted, "not_started")
	wantStatus(t, s, start.Add(400*24*time.Hour), ReasonBid, PacingOK, "")

	// The better campaign out of its flight does not keep the other from
	// bidding.
	c.Value, c.MaxCPM = 20, 20
	c.Flight = flight(start, end)
	_, s = compileState(t, c, bannerCampaign("c2", 5))
	r, resp, tr := decide(s, bannerRequest(), testNow)
	if r != ReasonBid || len(resp.Bids) != 1 || string(resp.Bids[0].CampaignID) != "c2" || traceFilter(tr, "c1") != "not_started" {
		t.Fatalf("reason %s, response %+v, c1 filter %q; want c2 to bid", r, resp.Bids, traceFilter(tr, "c1"))
	}

	// A flight that does not parse fails the compile (the file's
	// validation reports it first).
	c.Flight = &campaign.Flight{End: "soon"}
	if _, err := Compile(testFile(c), nil, NewState(0), testOptions); err == nil {
		t.Fatal("compiled a flight ending \"soon\"")
	}
}

// TestFlightEvenDaily checks that even pacing spreads the daily budget
// over the part of the day inside the flight: at 06:00 (testNow), a day
// whose flight ends at 12:00 is half gone, one whose flight started at
// 04:00 a tenth.
func TestFlightEvenDaily(t *testing.T) {
	t.Parallel()
	day := testNow.Truncate(24 * time.Hour)
	c := bannerCampaign("c1", 10)
	c.Budget = campaignBudget(24, 0, "") // burst 0.24
	c.Flight = flight(day.Add(-24*time.Hour), day.Add(12*time.Hour))
	st, s := compileState(t, c)
	bill(t, st, "c1", 0, 12, testNow) // 12 of 12.24
	wantStatus(t, s, testNow, ReasonBid, PacingOK, "")
	bill(t, st, "c1", 0, 1, testNow)
	wantStatus(t, s, testNow, ReasonBudget, PacingAhead, "ahead")

	c.Flight = flight(day.Add(4*time.Hour), time.Time{})
	st, s = compileState(t, c)
	bill(t, st, "c1", 0, 2, testNow) // 2 of 24 x 2/20 + 0.24
	wantStatus(t, s, testNow, ReasonBid, PacingOK, "")
	bill(t, st, "c1", 0, 1, testNow)
	wantStatus(t, s, testNow, ReasonBudget, PacingAhead, "ahead")
	// The next day, whole inside the flight, paces over 24 hours.
	next := testNow.Add(24 * time.Hour)
	bill(t, st, "c1", 0, 6, next) // 6 of 6.24 by 06:00
	wantStatus(t, s, next, ReasonBid, PacingOK, "")
	bill(t, st, "c1", 0, 1, next)
	wantStatus(t, s, next, ReasonBudget, PacingAhead, "ahead")
}

// TestFlightEvenTotal checks that even pacing spreads the total budget
// over a flight with both bounds, and only then: one day into a ten-day
// flight, a total of 100 allows 10 (+ 0.1).
func TestFlightEvenTotal(t *testing.T) {
	t.Parallel()
	start := testNow.Add(-24 * time.Hour)
	c := bannerCampaign("c1", 10)
	c.Budget = campaignBudget(0, 100, "")
	c.Flight = flight(start, start.Add(10*24*time.Hour))
	st, s := compileState(t, c)
	bill(t, st, "c1", 0, 10, start) // spend of yesterday counts in the total
	wantStatus(t, s, testNow, ReasonBid, PacingOK, "")
	bill(t, st, "c1", 0, 1, testNow)
	wantStatus(t, s, testNow, ReasonBudget, PacingAhead, "ahead")
	wantStatus(t, s, testNow.Add(3*time.Hour), ReasonBid, PacingOK, "") // 11 of 11.25 + 0.1

	// asap, or a flight without a start or an end, does not spread it.
	for _, tc := range []struct {
		pacing string
		fl     *campaign.Flight
	}{
		{"asap", c.Flight},
		{"", flight(time.Time{}, start.Add(10*24*time.Hour))},
		{"", flight(start, time.Time{})},
	} {
		c.Budget.Pacing, c.Flight = tc.pacing, tc.fl
		st, s = compileState(t, c)
		bill(t, st, "c1", 0, 99, testNow)
		billCPM(t, st, 990, testNow) // 99.99: a flight without a start spreads nothing
		wantStatus(t, s, testNow, ReasonBid, PacingOK, "")
		billCPM(t, st, 10, testNow)
		wantStatus(t, s, testNow, ReasonBudget, PacingTotalSpent, "total_spent")
	}

	// A flight shorter than a day gets 1 % of the total as burst: 0.5 of
	// 50 at its very start, which 0.4 is within and 0.6 is not.
	c.Budget = campaignBudget(0, 50, "")
	c.Flight = flight(testNow, testNow.Add(time.Hour))
	st, s = compileState(t, c)
	billCPM(t, st, 400, testNow)
	wantStatus(t, s, testNow, ReasonBid, PacingOK, "")
	billCPM(t, st, 200, testNow)
	wantStatus(t, s, testNow, ReasonBudget, PacingAhead, "ahead")
}
