package decision

import (
	"errors"
	"testing"
	"time"
)

// TestReservations follows an ASAP campaign with a daily budget of 5 USD
// and a total of 8 through wins (CPM 1000: 1 USD each) that bill late:
// the wins count against both budgets at once, a bill moves the spend and
// releases its win, an unbilled win expires, a full table releases its
// oldest, and each is released once however its end comes.
func TestReservations(t *testing.T) {
	t.Parallel()
	c := bannerCampaign("c1", 10)
	c.Budget = campaignBudget(5, 8, "asap")
	st, s := compileState(t, c)
	st.SetReservations(time.Minute, 4) // rounded up to 1024 slots
	win := func(key uint64, at time.Time) {
		t.Helper()
		if err := st.Reserve(key, []byte("c1"), 1000, nil, at); err != nil {
			t.Fatal(err)
		}
	}
	want := func(reason Reason, reserved float64, at time.Time) {
		t.Helper()
		if r, _, tr := decide(s, bannerRequest(), at); r != reason {
			t.Fatalf("reason %s; want %s (trace %+v)", r, reason, tr.Campaigns)
		}
		if got := s.CampaignStatus(0, at).Reserved; got != reserved {
			t.Fatalf("reserved %v USD; want %v", got, reserved)
		}
	}
	for k := uint64(1); k <= 4; k++ {
		win(k, testNow)
	}
	want(ReasonBid, 4, testNow)
	win(5, testNow) // 5 of 5 won, none billed
	want(ReasonBudget, 5, testNow)
	win(5, testNow) // a second win notice of one bid reserves nothing more
	want(ReasonBudget, 5, testNow)

	// A bill moves the spend and releases its win: still 5 of 5.
	bill(t, st, "c1", 0, 1, testNow)
	st.Release(1)
	st.Release(1) // once only
	want(ReasonBudget, 4, testNow)
	if got := s.CampaignStatus(0, testNow).SpendToday; got != 1 {
		t.Fatalf("spent %v today; want 1", got)
	}

	// Unbilled wins expire; a release of an expired one changes nothing.
	st.ExpireReservations(testNow.Add(time.Minute - time.Second))
	want(ReasonBudget, 4, testNow)
	st.ExpireReservations(testNow.Add(time.Minute))
	want(ReasonBid, 0, testNow.Add(time.Minute))
	st.Release(2)
	want(ReasonBid, 0, testNow.Add(time.Minute))

	// The total counts reservations too: 1 spent, 7 reserved the next day.
	next := testNow.Add(24 * time.Hour)
	for k := uint64(10); k < 17; k++ {
		win(k, next)
	}
	want(ReasonBudget, 7, next)
	if got := s.CampaignStatus(0, next).Pacing; got != PacingTotalSpent {
		t.Fatalf("pacing %s; want %s", got, PacingTotalSpent)
	}
	live, billed, expired, evicted := st.Reservations()
	if live != 7 || billed != 1 || expired != 4 || evicted != 0 {
		t.Fatalf("reservations live %d, billed %d, expired %d, evicted %d; want 7, 1, 4, 0", live, billed, expired, evicted)
	}

	// A full table releases its oldest to take a new one.
	for k := uint64(100); k < 100+1024-7; k++ {
		win(k, next)
	}
	if live, _, _, evicted := st.Reservations(); live != 1024 || evicted != 0 {
		t.Fatalf("a full table: %d live, %d evicted; want 1024 and 0", live, evicted)
	}
	win(5000, next)
	if live, _, _, evicted := st.Reservations(); live != 1024 || evicted != 1 {
		t.Fatalf("one more: %d live, %d evicted; want 1024 and 1", live, evicted)
	}
	st.Release(10) // the evicted one
	if got := s.CampaignStatus(0, next).Reserved; got != 1024 {
		t.Fatalf("reserved %v USD; want 1024", got)
	}

	if err := st.Reserve(1, []byte("nope"), 1, nil, testNow); !errors.Is(err, ErrUnknownCampaign) {
		t.Fatalf("a win of an unknown campaign: %v; want ErrUnknownCampaign", err)
	}
	// Setting them again, or off, gives every live reservation back.
	st.SetReservations(0, 0)
	if got := s.CampaignStatus(0, next).Reserved; got != 0 {
		t.Fatalf("reserved %v USD after turning reservations off; want 0", got)
	}
	win(1, next)
	want(ReasonBid, 0, next.Add(24*time.Hour))
}
