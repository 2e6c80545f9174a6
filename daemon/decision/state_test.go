package decision

import (
	"errors"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/cespare/xxhash/v2"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

// bill bills n impressions of campaign id at CPM 1000 USD (1 USD each).
func bill(t *testing.T, st *State, id string, user uint64, n int, now time.Time) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := st.Bill([]byte(id), user, 1000, nil, now); err != nil {
			t.Fatalf("cannot bill: %s", err)
		}
	}
}

// compileState compiles campaigns over a fresh State.
func compileState(t *testing.T, c ...campaign.Campaign) (*State, *Snapshot) {
	t.Helper()
	return compileStateWith(t, testOptions, c...)
}

// compileStateWith is compileState with opts.
func compileStateWith(t *testing.T, opts Options, c ...campaign.Campaign) (*State, *Snapshot) {
	t.Helper()
	st := NewState(0)
	s, err := Compile(testFile(c...), nil, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	return st, s
}

func TestEvenPacing(t *testing.T) {
	t.Parallel()
	c := bannerCampaign("c1", 10)
	c.Budget.Daily = 24 // 1 USD per hour; burst 0.24
	st, s := compileState(t, c)
	f := func(now time.Time, want Reason, wantPacing PacingState) {
		t.Helper()
		r, _, tr := decide(s, bannerRequest(), now)
		if r != want {
			t.Fatalf("at %s: reason %s; want %s (trace %+v)", now, r, want, tr.Campaigns)
		}
		if got := s.CampaignStatus(0, now).Pacing; got != wantPacing {
			t.Fatalf("at %s: pacing %s; want %s", now, got, wantPacing)
		}
	}
	f(testNow, ReasonBid, PacingOK)
	bill(t, st, "c1", 0, 6, testNow) // 6 of 6.24 allowed by 06:00
	f(testNow, ReasonBid, PacingOK)
	bill(t, st, "c1", 0, 1, testNow) // 7: ahead of schedule
	f(testNow, ReasonBudget, PacingAhead)
	f(testNow.Add(time.Hour), ReasonBid, PacingOK) // 7 of 7.24 by 07:00
	if st := s.CampaignStatus(0, testNow); st.SpendToday != 7 || st.SpendTotal != 7 || string(st.ID) != "c1" {
		t.Fatalf("status %+v; want 7 spent today and in total", st)
	}
	// The next day starts from zero.
	f(testNow.Add(24*time.Hour), ReasonBid, PacingOK)
	if got := s.CampaignStatus(0, testNow.Add(24*time.Hour)).SpendToday; got != 0 {
		t.Fatalf("spend the next day %v; want 0", got)
	}
}

// TestEvenPacingOverBidHours: a campaign that bids only in some UTC hours
// (targeting.hours) spreads its daily budget over those, not the whole
// day: bidding 18:00-23:59 it does not find three quarters of the day's
// budget due at 18:00, and bidding 00:00-05:59 it is not held to a
// quarter of it by 06:00 (the money audit: it spent 6.25 of 24).
func TestEvenPacingOverBidHours(t *testing.T) {
	t.Parallel()
	day0 := testNow.Truncate(24 * time.Hour)
	for _, tc := range []struct {
		hours []int
		spent float64 // billed at day0 + at
		at    time.Duration
		want  PacingState
	}{
		{[]int{18, 19, 20, 21, 22, 23}, 1, 18 * time.Hour, PacingAhead},               // 0.24 allowed at 18:00
		{[]int{18, 19, 20, 21, 22, 23}, 1, 18*time.Hour + 15*time.Minute, PacingOK},   // 1.24 at 18:15
		{[]int{18, 19, 20, 21, 22, 23}, 13, 21 * time.Hour, PacingAhead},              // 12.24 at 21:00
		{[]int{0, 1, 2, 3, 4, 5}, 12, 3 * time.Hour, PacingOK},                        // 12.24 at 03:00
		{[]int{0, 1, 2, 3, 4, 5}, 12.5, 3 * time.Hour, PacingAhead},                   //
		{[]int{0, 1, 2, 12, 13, 14}, 12, 12 * time.Hour, PacingOK},                    // 3 of 6 hours gone
		{[]int{0, 1, 2, 12, 13, 14}, 12, 11 * time.Hour, PacingOK},                    // between them
		{[]int{0, 1, 2, 12, 13, 14}, 12.6, 12*time.Hour + 5*time.Minute, PacingAhead}, // 12.57 due
		{nil, 6, 6 * time.Hour, PacingOK},                                             // all hours: 6.24
		{nil, 6.5, 6 * time.Hour, PacingAhead},                                        //
	} {
		c := bannerCampaign("c1", 10)
		c.Budget.Daily = 24 // burst 0.24
		c.Targeting.Hours = tc.hours
		st, s := compileState(t, c)
		now := day0.Add(tc.at)
		if _, err := st.Bill([]byte("c1"), 0, tc.spent*1000, nil, now); err != nil { // one impression of tc.spent
			t.Fatal(err)
		}
		if got := s.CampaignStatus(0, now).Pacing; got != tc.want {
			t.Errorf("hours %v, %v spent at %s: pacing %s; want %s", tc.hours, tc.spent, tc.at, got, tc.want)
		}
	}
}

func TestActiveSeconds(t *testing.T) {
	t.Parallel()
	h := uint32(1<<1 | 1<<2 | 1<<23)
	for _, tc := range []struct{ t, want int64 }{
		{0, 0}, {3600, 0}, {3601, 1}, {7200, 3600}, {3 * 3600, 7200}, {23 * 3600, 7200}, {23*3600 + 10, 7210}, {86400, 3 * 3600},
	} {
		if got := activeSeconds(h, tc.t); got != tc.want {
			t.Errorf("activeSeconds(hours 1, 2, 23; %d) = %d; want %d", tc.t, got, tc.want)
		}
	}
	if got := activeSeconds(allHours, 86400); got != 86400 {
		t.Errorf("all hours: %d", got)
	}
}

func TestBudgetsSurviveReload(t *testing.T) {
	t.Parallel()
	c := bannerCampaign("c1", 10)
	c.Budget = campaignBudget(5, 0, "asap")
	st := NewState(0)
	s, _ := Compile(testFile(c), nil, st, testOptions)
	bill(t, st, "c1", 0, 4, testNow)
	if r, _, _ := decide(s, bannerRequest(), testNow); r != ReasonBid {
		t.Fatalf("asap with 4 of 5 spent: reason %s; want bid", r)
	}
	// A reload keeps the counters.
	s2, _ := Compile(testFile(bannerCampaign("c0", 1), c), nil, st, testOptions)
	bill(t, st, "c1", 0, 1, testNow)
	if r, _, tr := decide(s2, bannerRequest(), testNow); r != ReasonBid || traceFilter(tr, "c1") != "daily_spent" {
		t.Fatalf("daily spent: reason %s, c1 filter %q; want c0 to bid and c1 daily_spent", r, traceFilter(tr, "c1"))
	}
	c.Budget = campaignBudget(0, 6, "")
	s3, _ := Compile(testFile(c), nil, st, testOptions)
	if r, _, _ := decide(s3, bannerRequest(), testNow.Add(48*time.Hour)); r != ReasonBid {
		t.Fatalf("total 6 with 5 spent: reason %s; want bid", r)
	}
	bill(t, st, "c1", 0, 1, testNow)
	if r, _, tr := decide(s3, bannerRequest(), testNow.Add(48*time.Hour)); r != ReasonBudget || traceFilter(tr, "c1") != "total_spent" {
		t.Fatalf("total spent: reason %s; want budget/total_spent", r)
	}
}

func TestBillErrorsAndCurrency(t *testing.T) {
	t.Parallel()
	st := NewState(0)
	c := bannerCampaign("c1", 10)
	s, _ := Compile(testFile(c), nil, st, testOptions)
	if _, err := st.Bill([]byte("nope"), 0, 1, nil, testNow); !errors.Is(err, ErrUnknownCampaign) {
		t.Fatalf("unknown campaign: err %v; want ErrUnknownCampaign", err)
	}
	if _, err := st.Bill([]byte("c1"), 0, 1, []byte("JPY"), testNow); err == nil {
		t.Fatalf("unknown currency: no error")
	}
	if _, err := st.Bill([]byte("c1"), 0, -1, nil, testNow); err == nil {
		t.Fatalf("negative price: no error")
	}
	// A charge past any budget would overflow the counters negative.
	for _, p := range []float64{1e300, 1e13} {
		if _, err := st.Bill([]byte("c1"), 0, p, nil, testNow); err == nil {
			t.Fatalf("price %v: no error", p)
		}
	}
	if got := s.CampaignStatus(0, testNow).SpendTotal; got != 0 {
		t.Fatalf("spend %v after refused charges; want 0", got)
	}
	// 900 EUR CPM = 1000 USD CPM = 1 USD per impression.
	if _, err := st.Bill([]byte("c1"), 0, 900, []byte("EUR"), testNow); err != nil {
		t.Fatal(err)
	}
	if got := s.CampaignStatus(0, testNow).SpendToday; got != 1 {
		t.Fatalf("spend %v; want 1 USD", got)
	}
}

func TestFreqCap(t *testing.T) {
	t.Parallel()
	c := bannerCampaign("c1", 10)
	c.FreqCap.Max, c.FreqCap.WindowSeconds = 3, 3600
	st := NewState(1024)
	s, _ := Compile(testFile(c), nil, st, testOptions)
	req := func(user string) *openrtb.Request {
		r := bannerRequest()
		r.User.ID = []byte(user)
		return r
	}
	u1 := UserKey(req("u1"))
	bill(t, st, "c1", u1, 2, testNow)
	if r, _, _ := decide(s, req("u1"), testNow); r != ReasonBid {
		t.Fatalf("2 of 3: reason %s; want bid", r)
	}
	bill(t, st, "c1", u1, 1, testNow)
	if r, _, tr := decide(s, req("u1"), testNow); r != ReasonFreqCap || traceFilter(tr, "c1") != "freq_cap" {
		t.Fatalf("3 of 3: reason %s; want freq_cap", r)
	}
	if r, _, _ := decide(s, req("u2"), testNow); r != ReasonBid {
		t.Fatalf("other user: reason %s; want bid", r)
	}
	if r, _, _ := decide(s, req("u1"), testNow.Add(3601*time.Second)); r != ReasonBid {
		t.Fatalf("after the window: reason %s; want bid", r)
	}
	// Billing after expiry starts a new window with one impression.
	bill(t, st, "c1", u1, 1, testNow.Add(3601*time.Second))
	if r, _, _ := decide(s, req("u1"), testNow.Add(3602*time.Second)); r != ReasonBid {
		t.Fatalf("1 of 3 in the new window: reason %s; want bid", r)
	}
	if used, total := st.FreqOccupancy(); used != 1 || total != 1024 {
		t.Fatalf("occupancy %d/%d; want 1/1024", used, total)
	}
}

// TestCountImpressionCapsOnAnotherHost replays what one host's Bill
// returns on a second host, as the peers' billing journal does: the user
// is capped on both.
func TestCountImpressionCapsOnAnotherHost(t *testing.T) {
	t.Parallel()
	c := bannerCampaign("c1", 10)
	c.FreqCap.Max, c.FreqCap.WindowSeconds = 2, 3600
	a, _ := compileState(t, c)
	b, sb := compileState(t, c)
	req := bannerRequest()
	req.User.ID = []byte("u1")
	u1 := UserKey(req)
	for i := range 2 {
		ch, err := a.Bill([]byte("c1"), u1, 1000, nil, testNow)
		key, window := ch.CapKey, ch.CapWindow
		if err != nil || key == 0 || window != 3600 {
			t.Fatalf("Bill: cap key %x, window %d, %v; want an entry of the 3600 s window", key, window, err)
		}
		if r, _, _ := decide(sb, req, testNow); r != ReasonBid {
			t.Fatalf("b after %d of a's impressions: %s; want bid", i, r)
		}
		b.CountImpression(key, window, testNow.Unix())
	}
	if got := b.Impressions("c1", u1, testNow); got != 2 {
		t.Fatalf("b counts %d impressions; want a's 2", got)
	}
	if r, _, _ := decide(sb, req, testNow); r != ReasonFreqCap {
		t.Fatalf("b after a's 2 impressions: %s; want freq_cap", r)
	}
	// An uncapped campaign or an unknown user counts in no entry.
	d := bannerCampaign("d1", 10)
	st, _ := compileState(t, d)
	if ch, err := st.Bill([]byte("d1"), u1, 1000, nil, testNow); err != nil || ch.CapKey != 0 {
		t.Fatalf("uncapped campaign: cap key %x, %v; want 0", ch.CapKey, err)
	}
	if ch, err := a.Bill([]byte("c1"), 0, 1000, nil, testNow); err != nil || ch.CapKey != 0 {
		t.Fatalf("unknown user: cap key %x, %v; want 0", ch.CapKey, err)
	}
}

func TestFreqTableEvictsAndNeverGrows(t *testing.T) {
	t.Parallel()
	var ft freqTable
	ft.init(1)
	for k := uint64(1); k <= 5000; k++ {
		ft.incr(intKey(k), int64(k), 1<<20)
	}
	used, total := ft.occupancy()
	if total != 1024 || used != 1024 {
		t.Fatalf("occupancy %d/%d; want a full table of 1024", used, total)
	}
	// The newest keys survive eviction of the oldest.
	if got := ft.count(intKey(5000), 5000, 1<<20); got != 1 {
		t.Fatalf("newest key count %d; want 1", got)
	}
}

// TestFreqTableKeepsLiveCaps: a full probe window gives up an expired
// entry before a live one, and a live one whose window ends first: a live
// 7-day cap outlives expired 1-hour ones. Slots are never emptied, so
// under steady traffic every insert evicts; by window start, a day of
// 1-hour caps left none of 5,000 7-day caps (the money audit's
// simulation), though live entries never filled a quarter of the table.
func TestFreqTableKeepsLiveCaps(t *testing.T) {
	t.Parallel()
	const week, hour = 7 * 86400, 3600
	var ft freqTable
	ft.init(1 << 16)
	// One probe window: a week's cap, then seven hours' caps, all in it.
	home := intKey(1)
	keys := []uint64{home}
	for k := uint64(2); len(keys) < freqProbe+1; k++ {
		if h := intKey(k); h&ft.mask == home&ft.mask {
			keys = append(keys, h)
		}
	}
	ft.incr(keys[0], 1000, week)
	for i, h := range keys[1:freqProbe] {
		ft.incr(h, 1000+int64(i), hour)
	}
	later := int64(1000 + 2*hour) // the hours' caps have expired
	ft.incr(keys[freqProbe], later, hour)
	if got := ft.count(keys[0], later, week); got != 1 {
		t.Fatalf("the week's cap counts %d after an insert into its full window; want 1", got)
	}

	// A day of traffic.
	ft.init(1 << 16)
	const capped, perHour = 5000, 12000
	for u := uint64(1); u <= capped; u++ {
		ft.incr(intKey(u), 0, week)
	}
	next := uint64(1 << 40)
	for s := int64(0); s < 24*perHour; s++ {
		ft.incr(intKey(next), s*hour/perHour, hour)
		next++
	}
	still := 0
	for u := uint64(1); u <= capped; u++ {
		still += ft.count(intKey(u), 24*hour, week)
	}
	if still < capped*99/100 {
		t.Fatalf("after a day of hour-capped traffic %d of %d week caps remain; want 99 %%", still, capped)
	}
}

// TestFreqTableShortenedWindow: an entry opened under a longer window than
// the campaign's now (a reload shortened it) is over: a mistaken 7-day cap
// cut to an hour does not keep its users capped a week (the commit review).
func TestFreqTableShortenedWindow(t *testing.T) {
	t.Parallel()
	var ft freqTable
	ft.init(1024)
	h := intKey(7)
	ft.incr(h, 1000, 7*86400)
	if got := ft.count(h, 1000+7200, 7*86400); got != 1 {
		t.Fatalf("under the week's window: %d; want 1", got)
	}
	if got := ft.count(h, 1000+7200, 3600); got != 0 {
		t.Fatalf("the window cut to an hour, two hours on: %d; want 0", got)
	}
	ft.incr(h, 1000+7200, 3600) // a new hour's window
	if got := ft.count(h, 1000+7200+1800, 3600); got != 1 {
		t.Fatalf("in the new hour's window: %d; want 1", got)
	}
}

func TestFreqTableConcurrent(t *testing.T) {
	t.Parallel()
	var ft freqTable
	ft.init(1 << 12)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				ft.incr(intKey(uint64(i%10)), 100, 3600)
			}
		}()
	}
	wg.Wait()
	total := 0
	for i := uint64(0); i < 10; i++ {
		total += ft.count(intKey(i), 100, 3600)
	}
	// Concurrent first inserts may split a key; CAS never loses an increment otherwise.
	if total < 300 || total > 400 {
		t.Fatalf("counted %d of 400 impressions", total)
	}
}

// TestConcurrentDecideBillReload runs deciders, billing and reloads on one
// State at once; run with -race it proves the read path needs no locks.
func TestConcurrentDecideBillReload(t *testing.T) {
	t.Parallel()
	c := bannerCampaign("c1", 10)
	c.FreqCap.Max, c.Budget.Daily = 1000, 1e6
	st := NewState(1 << 10)
	s, _ := Compile(testFile(c), nil, st, testOptions)
	var snap sync.Map
	snap.Store("s", s)
	var wg sync.WaitGroup
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cx := AcquireCtx()
			defer ReleaseCtx(cx)
			var resp openrtb.Response
			for i := 0; i < 200; i++ {
				cur, _ := snap.Load("s")
				cur.(*Snapshot).Decide(cx, bannerRequest(), testNow, &resp)
			}
		}()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 200; i++ {
			_, _ = st.Bill([]byte("c1"), uint64(i%7+1), 1, nil, testNow)
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			s2, err := Compile(testFile(c, bannerCampaign("c2", 1)), nil, st, testOptions)
			if err != nil {
				t.Error(err)
				return
			}
			snap.Store("s", s2)
		}
	}()
	wg.Wait()
	if got := s.CampaignStatus(0, testNow).SpendTotal; got != 0.2 {
		t.Fatalf("spend %v after 200 bills of 0.001; want 0.2", got)
	}
}

// TestSpendOfALaterDay: a bill counted while the clock ran ahead past
// midnight, and a peer's spend of its later day, count against today's
// budget until the date catches up: a clock error does not lift a daily
// budget.
func TestSpendOfALaterDay(t *testing.T) {
	t.Parallel()
	c := bannerCampaign("c1", 10)
	c.Budget = campaignBudget(5, 100, "asap")
	st, s := compileState(t, c)
	ahead := testNow.Add(24 * time.Hour) // the clock a day ahead, at worst
	bill(t, st, "c1", 0, 3, ahead)
	bill(t, st, "c1", 0, 2, testNow) // the clock back: added to the later day
	if got, _, _ := decide(s, bannerRequest(), testNow); got != ReasonBudget {
		t.Fatalf("5 of 5 spent on a later day: reason %s; want budget", got)
	}
	if got := s.CampaignStatus(0, testNow); got.SpendToday != 5 {
		t.Fatalf("status %+v; want 5 spent today", got)
	}

	st2, s2 := compileState(t, c)
	st2.SetPeerSpend([]CampaignSpend{{ID: "c1", Day: dayNumber(testNow) + 1, Today: 5e6, Total: 5e6}})
	if got, _, _ := decide(s2, bannerRequest(), testNow); got != ReasonBudget {
		t.Fatalf("peers' 5 of 5 on their later day: reason %s; want budget", got)
	}
	// The day after that, the day has come and gone.
	if got, _, _ := decide(s2, bannerRequest(), ahead.Add(24*time.Hour)); got != ReasonBid {
		t.Fatalf("two days later: reason %s; want a bid", got)
	}
}

// TestSpendOfAFarDay: a bill dated days ahead (a clock that jumped) does
// not keep the daily budget from starting afresh until that date: its
// spend becomes today's at the next bill, and the next day starts from
// zero (the money audit: a year ahead held a campaign to one day's
// budget for ten days).
func TestSpendOfAFarDay(t *testing.T) {
	t.Parallel()
	c := bannerCampaign("c1", 10)
	c.Budget = campaignBudget(5, 100, "asap")
	st, s := compileState(t, c)
	bill(t, st, "c1", 0, 3, testNow.Add(365*24*time.Hour))
	bill(t, st, "c1", 0, 2, testNow) // the clock back: today's now holds 5
	if got := s.CampaignStatus(0, testNow); got.SpendToday != 5 || got.SpendTotal != 5 {
		t.Fatalf("status %+v; want 5 spent today and in total", got)
	}
	next := testNow.Add(24 * time.Hour)
	if got, _, _ := decide(s, bannerRequest(), next); got != ReasonBid {
		t.Fatalf("the next day: reason %s; want a bid", got)
	}

	// The far day's bill alone fills the budget: no bill follows to bring
	// the day back, and reading the spend must.
	st2, s2 := compileState(t, c)
	bill(t, st2, "c1", 0, 5, testNow.Add(365*24*time.Hour))
	if got, _, _ := decide(s2, bannerRequest(), testNow); got != ReasonBudget {
		t.Fatalf("5 of 5 spent on a far day: reason %s; want budget", got)
	}
	if got, _, _ := decide(s2, bannerRequest(), next); got != ReasonBid {
		t.Fatalf("the day after a far day's bill filled the budget: reason %s; want a bid", got)
	}
	bill(t, st, "c1", 0, 1, next)
	if got := s.CampaignStatus(0, next); got.SpendToday != 1 || got.SpendTotal != 6 {
		t.Fatalf("the next day: status %+v; want 1 today, 6 in total", got)
	}
}

// TestPeerSpendSharesBudgets checks that the spend peers report counts
// against the daily and total budgets with this host's own, only on its
// day, and never in what this host saves (and peers read) as its own.
func TestPeerSpendSharesBudgets(t *testing.T) {
	t.Parallel()
	c := bannerCampaign("c1", 10)
	c.Budget = campaignBudget(5, 8, "asap")
	st, s := compileState(t, c)
	day := dayNumber(testNow)
	want := func(now time.Time, r Reason, p PacingState) {
		t.Helper()
		if got, _, _ := decide(s, bannerRequest(), now); got != r {
			t.Fatalf("at %s: reason %s; want %s", now, got, r)
		}
		if got := s.CampaignStatus(0, now).Pacing; got != p {
			t.Fatalf("at %s: pacing %s; want %s", now, got, p)
		}
	}
	bill(t, st, "c1", 0, 2, testNow) // own: 2 of 5 today
	st.SetPeerSpend([]CampaignSpend{{ID: "c1", Day: day, Today: 2e6, Total: 2e6}})
	want(testNow, ReasonBid, PacingOK) // 4 of 5
	st.SetPeerSpend([]CampaignSpend{{ID: "c1", Day: day, Today: 3e6, Total: 3e6}})
	want(testNow, ReasonBudget, PacingDailySpent) // 5 of 5
	if got := s.CampaignStatus(0, testNow); got.SpendToday != 2 || got.PeerToday != 3 || got.PeerTotal != 3 {
		t.Fatalf("status %+v; want own 2 and peers 3 today", got)
	}
	// The next day the peers' spend of yesterday no longer counts against
	// the daily budget, but still against the total: 2 + 3 of 8.
	next := testNow.Add(24 * time.Hour)
	want(next, ReasonBid, PacingOK)
	st.SetPeerSpend([]CampaignSpend{{ID: "c1", Day: day + 1, Today: 1e6, Total: 6e6}})
	want(next, ReasonBudget, PacingTotalSpent) // 2 + 6 of 8
	// Own spend, what peers read, holds this host's bills only.
	own, err := DecodeSpend(st.AppendSpend(nil))
	if err != nil || len(own) != 1 || own[0].Total != 2e6 {
		t.Fatalf("own spend %+v, %v; want c1 with 2e6 in total", own, err)
	}
	// Peers that report nothing leave the budgets to this host's spend.
	st.SetPeerSpend(nil)
	want(next, ReasonBid, PacingOK)
	if !st.PeerSpendSet() {
		t.Fatal("PeerSpendSet is false after SetPeerSpend")
	}
}

// TestUpdatePeerSpendLeavesOthers: UpdatePeerSpend moves the campaigns it
// names only, and Bill's charge carries the campaign's key and own spend
// that a peer's UpdatePeerSpend counts.
func TestUpdatePeerSpendLeavesOthers(t *testing.T) {
	t.Parallel()
	st, s := compileState(t, bannerCampaign("c1", 10), bannerCampaign("c2", 10))
	day := dayNumber(testNow)
	st.SetPeerSpend([]CampaignSpend{{ID: "c1", Day: day, Today: 1e6, Total: 1e6}, {ID: "c2", Day: day, Today: 2e6, Total: 2e6}})
	st.UpdatePeerSpend([]CampaignSpend{{ID: "c1", Day: day, Today: 3e6, Total: 4e6}})
	for i, want := range [][2]float64{{3, 4}, {2, 2}} {
		if got := s.CampaignStatus(i, testNow); got.PeerToday != want[0] || got.PeerTotal != want[1] {
			t.Fatalf("campaign %s: peers' spend %v today, %v in total; want %v", got.ID, got.PeerToday, got.PeerTotal, want)
		}
	}
	for n := int64(1); n <= 2; n++ {
		ch, err := st.Bill([]byte("c2"), 0, 1000, nil, testNow)
		if err != nil {
			t.Fatal(err)
		}
		if ch.Campaign != xxhash.Sum64String("c2") || ch.Today != n*1e6 || ch.Total != n*1e6 {
			t.Fatalf("bill %d: charge %+v; want c2's key and %d micro-units today and in total", n, ch, n*1e6)
		}
	}
}

// TestPeerSpendOfUnknownCampaign checks that peer spend reported for a
// campaign this host has not loaded yet applies when a reload brings it.
func TestPeerSpendOfUnknownCampaign(t *testing.T) {
	t.Parallel()
	st, _ := compileState(t, bannerCampaign("c1", 10))
	st.SetPeerSpend([]CampaignSpend{{ID: "c2", Day: dayNumber(testNow), Today: 5e6, Total: 5e6}})
	c2 := bannerCampaign("c2", 10)
	c2.Budget = campaignBudget(5, 0, "asap")
	s, err := Compile(testFile(c2), nil, st, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CampaignStatus(0, testNow).Pacing; got != PacingDailySpent {
		t.Fatalf("pacing of c2 after reload %s; want %s", got, PacingDailySpent)
	}
}

// TestCampaignStateFitsALine guards the size of the counters every
// candidate's budget check reads: up to 64 bytes they are allocated in
// the 64-byte size class, one cache line each.
func TestCampaignStateFitsALine(t *testing.T) {
	if n := unsafe.Sizeof(campaignState{}); n > 64 {
		t.Fatalf("campaignState is %d bytes; keep it within 64 (put rarely read fields behind a pointer)", n)
	}
}

// TestPlayOverBudget: a DOOH play counts qty.multiplier impressions, so
// a bid on one is made only while a budget, daily or total, has room
// for all of them at the bid's price.
func TestPlayOverBudget(t *testing.T) {
	t.Parallel()
	for _, budget := range []campaign.Budget{campaignBudget(5, 0, "asap"), campaignBudget(0, 5, "")} {
		c := bannerCampaign("c1", 10) // bids CPM 10: 0.01 an impression
		c.Budget = budget
		st := NewState(0)
		s, _ := Compile(testFile(c), nil, st, testOptions)
		bill(t, st, "c1", 0, 4, testNow) // 1 left: 100 impressions
		for _, tc := range []struct {
			qty  float64
			want Reason
		}{{0, ReasonBid}, {50, ReasonBid}, {100, ReasonBid}, {100.5, ReasonBudget}, {1000, ReasonBudget}} {
			// In EUR the bid is CPM 9, still 0.01 USD an impression.
			for _, cur := range []string{"USD", "EUR"} {
				req := bannerRequest()
				req.Imps[0].QtyMultiplier, req.Cur = tc.qty, [][]byte{[]byte(cur)}
				r, _, tr := decide(s, req, testNow)
				if r != tc.want || r == ReasonBudget && traceFilter(tr, "c1") != "play_over_budget" {
					t.Fatalf("budget %+v, 1 USD left, play of %v impressions, bid in %s: %s (%q); want %s", budget, tc.qty, cur, r, traceFilter(tr, "c1"), tc.want)
				}
				if r := s.Decide(&Ctx{}, req, testNow, &openrtb.Response{}); r != tc.want {
					t.Fatalf("budget %+v, play of %v impressions, bid in %s, untraced: %s; want %s", budget, tc.qty, cur, r, tc.want)
				}
			}
		}
	}
}

// TestPlaysOverBudget: the plays a response bids on count together: with
// room for 100 impressions, one bid on each of two plays of 60.
func TestPlaysOverBudget(t *testing.T) {
	t.Parallel()
	c := bannerCampaign("c1", 10)
	c.Budget = campaignBudget(5, 0, "asap")
	st := NewState(0)
	s, _ := Compile(testFile(c), nil, st, testOptions)
	bill(t, st, "c1", 0, 4, testNow)
	req := bannerRequest()
	req.Imps = append(req.Imps, req.Imps[0])
	req.Imps[1].ID = []byte("2")
	for i := range req.Imps {
		req.Imps[i].QtyMultiplier = 60
	}
	if r, resp, _ := decide(s, req, testNow); r != ReasonBid || len(resp.Bids) != 1 {
		t.Fatalf("two plays of 60 impressions, room for 100: %s with %d bids; want 1", r, len(resp.Bids))
	}
	req.Imps[1].QtyMultiplier = 40
	if r, resp, _ := decide(s, req, testNow); r != ReasonBid || len(resp.Bids) != 2 {
		t.Fatalf("plays of 60 and 40 impressions, room for 100: %s with %d bids; want 2", r, len(resp.Bids))
	}
}
