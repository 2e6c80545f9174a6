package decision

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/openrtb"
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
		if _, err := st.Reserve(key, []byte("c1"), 0, 1000, nil, at, nil); err != nil {
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

	if _, err := st.Reserve(1, []byte("nope"), 0, 1, nil, testNow, nil); !errors.Is(err, ErrUnknownCampaign) {
		t.Fatalf("a win of an unknown campaign: %v; want ErrUnknownCampaign", err)
	}
	// Setting them again, or off, gives every live reservation back.
	st.SetReservations(0, 0)
	if got := s.CampaignStatus(0, next).Reserved; got != 0 {
		t.Fatalf("reserved %v USD after turning reservations off; want 0", got)
	}
	win(1, next)
	st.Release(1)
	st.ExpireReservations(next)
	want(ReasonBid, 0, next.Add(24*time.Hour))
}

// TestReservationsCountCaps: a win counts its impression in the user's
// cap (3 an hour) before any bill, the bill that ends its reservation
// does not count it again but names the cap entry for the peers, and a
// peer's bill of a win counted here reports it, so that it is not
// counted twice either; a bill without a live reservation counts.
func TestReservationsCountCaps(t *testing.T) {
	t.Parallel()
	c := bannerCampaign("c1", 10)
	c.FreqCap.Max, c.FreqCap.WindowSeconds = 3, 3600
	st, s := compileState(t, c)
	st.SetReservations(time.Minute, 0)
	req := bannerRequest()
	req.User.ID = []byte("u1")
	u1 := UserKey(req)
	id := []byte("c1")
	if _, err := st.Reserve(1, id, u1, 1, nil, testNow, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Reserve(1, id, u1, 1, nil, testNow, nil); err != nil { // a replayed win
		t.Fatal(err)
	}
	if got := st.Impressions("c1", u1, testNow); got != 1 {
		t.Fatalf("%d impressions after a win; want 1", got)
	}
	ch, err := st.BillReserved(1, id, u1, 1, nil, testNow)
	if err != nil || ch.CapKey == 0 || ch.CapWindow != 3600 {
		t.Fatalf("bill: %+v, %v; want the cap entry named", ch, err)
	}
	if got := st.Impressions("c1", u1, testNow); got != 1 {
		t.Fatalf("%d impressions after the win's bill; want 1", got)
	}
	if _, err := st.Reserve(2, id, u1, 1, nil, testNow, nil); err != nil {
		t.Fatal(err)
	}
	if !st.Release(2) || st.Release(2) {
		t.Fatal("a peer's bill of a win counted here: Release did not report it once")
	}
	if _, err := st.BillReserved(3, id, u1, 1, nil, testNow); err != nil { // its win went elsewhere
		t.Fatal(err)
	}
	if got := st.Impressions("c1", u1, testNow); got != 3 {
		t.Fatalf("%d impressions; want 3", got)
	}
	if r, _, _ := decide(s, req, testNow); r != ReasonFreqCap {
		t.Fatalf("3 of 3: reason %s; want freq_cap", r)
	}
}

// TestReserveAfterBill: a win whose bill was processed first (billed
// reports it) reserves nothing and counts no impression, and one whose
// bill was not does.
func TestReserveAfterBill(t *testing.T) {
	t.Parallel()
	c := bannerCampaign("c1", 10)
	c.FreqCap.Max, c.FreqCap.WindowSeconds = 3, 3600
	st, _ := compileState(t, c)
	st.SetReservations(time.Minute, 0)
	billed := func(key uint64) bool { return key == 1 }
	if _, err := st.BillReserved(1, []byte("c1"), 9, 1, nil, testNow); err != nil {
		t.Fatal(err)
	}
	if rv, err := st.Reserve(1, []byte("c1"), 9, 1, nil, testNow, billed); err != nil || rv.Added {
		t.Fatalf("Reserve after the bill: %+v, %v; want nothing added", rv, err)
	}
	if live, _, _, _ := st.Reservations(); live != 0 || st.Impressions("c1", 9, testNow) != 1 {
		t.Fatalf("%d live reservations, %d impressions; want 0 and the bill's 1", live, st.Impressions("c1", 9, testNow))
	}
	if rv, err := st.Reserve(2, []byte("c1"), 9, 1, nil, testNow, billed); err != nil || !rv.Added {
		t.Fatalf("Reserve of a bid not billed: %+v, %v; want it added", rv, err)
	}
	if _, err := st.Reserve(3, []byte("nope"), 9, 1, nil, testNow, billed); !errors.Is(err, ErrUnknownCampaign) {
		t.Fatalf("Reserve of an unknown campaign: %v", err)
	}
}

// TestCapHoldsAcrossImps: a campaign capped at 2 impressions a user bids
// on at most 2 of a page's 4 ad slots, on 1 once the user has seen one,
// on none after 2; a campaign without a cap, and a user without an id,
// are not held back.
func TestCapHoldsAcrossImps(t *testing.T) {
	t.Parallel()
	capped, free := bannerCampaign("capped", 10), bannerCampaign("free", 5)
	capped.FreqCap.Max, capped.FreqCap.WindowSeconds = 2, 3600
	st, s := compileState(t, capped, free)
	req := bannerRequest()
	for i := 1; i < 4; i++ {
		imp := req.Imps[0]
		imp.ID = []byte(itoa(i + 1))
		req.Imps = append(req.Imps, imp)
	}
	req.User.ID = []byte("u1")
	ctx := &Ctx{} // reused, as the server's pool does
	bids := func(what string, r *openrtb.Request, wantCapped, wantFree int) {
		t.Helper()
		resp := &openrtb.Response{}
		reason := s.Decide(ctx, r, testNow, resp)
		n := map[string]int{}
		for _, b := range resp.Bids {
			n[string(b.CampaignID)]++
		}
		if reason != ReasonBid || n["capped"] != wantCapped || n["free"] != wantFree {
			t.Fatalf("%s: %s, bids by campaign %v; want capped %d, free %d", what, reason, n, wantCapped, wantFree)
		}
	}
	bids("no impression yet", req, 2, 2)
	bids("again", req, 2, 2) // bids are no impressions
	if _, err := st.Bill([]byte("capped"), UserKey(req), 1, nil, testNow); err != nil {
		t.Fatal(err)
	}
	bids("after one impression", req, 1, 3)
	if _, err := st.Bill([]byte("capped"), UserKey(req), 1, nil, testNow); err != nil {
		t.Fatal(err)
	}
	bids("after two", req, 0, 4)
	anon := *req
	anon.User = openrtb.User{}
	bids("no user id", &anon, 4, 0)
}

// peerStates returns a peer's State and this host's (clock at testNow)
// with its Snapshot, of one campaign c1 capped at 3 impressions an hour,
// with one-minute reservations.
func peerStates(t *testing.T) (peer, st *State, s *Snapshot) {
	t.Helper()
	c := bannerCampaign("c1", 10)
	c.FreqCap.Max, c.FreqCap.WindowSeconds = 3, 3600
	peer, _ = compileState(t, c)
	st, s = compileState(t, c)
	st.SetClock(func() time.Time { return testNow })
	peer.SetReservations(time.Minute, 0)
	st.SetReservations(time.Minute, 0)
	return peer, st, s
}

// TestReserveShared: a peer's win, applied here with what the peer's
// Reserve returned, reserves the same amount under the same key and
// counts the user's cap once; this host's bill of it then ends it without
// counting the cap again. A win that expired before it came, one of a
// campaign this State does not count, and a replay add nothing; a win
// stamped in the future is held to now.
func TestReserveShared(t *testing.T) {
	t.Parallel()
	peer, st, s := peerStates(t)
	req := bannerRequest()
	req.User.ID = []byte("u1")
	u1 := UserKey(req)
	won := testNow.Add(-10 * time.Second)
	rv, err := peer.Reserve(1, []byte("c1"), u1, 1000, nil, won, nil)
	if err != nil || !rv.Added || rv.Amount != 1e6 || rv.CapKey == 0 {
		t.Fatalf("the peer's Reserve: %+v, %v; want 1 USD added, with its cap entry", rv, err)
	}
	status := func(reserved float64, impressions, live int) {
		t.Helper()
		got, n := s.CampaignStatus(0, testNow).Reserved, st.Impressions("c1", u1, testNow)
		if l, _, _, _ := st.Reservations(); got != reserved || n != impressions || l != live {
			t.Fatalf("reserved %v USD, %d impressions, %d live; want %v, %d, %d", got, n, l, reserved, impressions, live)
		}
	}
	share := func(key, campaign uint64, sec int64, want bool) {
		t.Helper()
		if got := st.ReserveShared(key, campaign, rv.Amount, rv.CapKey, rv.CapWindow, sec, nil); got != want {
			t.Fatalf("ReserveShared(%d, %d, %d): %v; want %v", key, campaign, sec, got, want)
		}
	}
	share(1, rv.Campaign, won.Unix(), true)
	status(1, 1, 1)
	share(1, rv.Campaign, won.Unix(), false) // a replay
	share(2, rv.Campaign, testNow.Add(-time.Minute).Unix(), false)
	share(3, 12345, won.Unix(), false)
	status(1, 1, 1)
	if _, err := st.BillReserved(1, []byte("c1"), u1, 1000, nil, testNow); err != nil {
		t.Fatal(err)
	}
	status(0, 1, 0)
	if got := s.CampaignStatus(0, testNow).SpendToday; got != 1 {
		t.Fatalf("spend %v USD after the bill; want 1", got)
	}
	if !st.ReserveShared(4, rv.Campaign, rv.Amount, 0, 0, testNow.Add(time.Hour).Unix(), nil) {
		t.Fatal("a win stamped in the future was not reserved")
	}
	st.ExpireReservations(testNow.Add(time.Minute))
	status(0, 1, 0)
}

// TestReserveSharedBilled: a peer's win whose bid was billed reserves
// nothing and counts no cap, and the billed check runs with the
// reservations' lock held, the lock a bill takes to end a reservation
// after marking its bid billed: a bill processed at the same time is
// either seen by the check or ends the reservation the win adds.
func TestReserveSharedBilled(t *testing.T) {
	t.Parallel()
	peer, st, s := peerStates(t)
	u1 := uint64(77)
	rv, err := peer.Reserve(1, []byte("c1"), u1, 1000, nil, testNow, nil)
	if err != nil || !rv.Added {
		t.Fatalf("the peer's Reserve: %+v, %v", rv, err)
	}
	var asked []uint64
	billed := func(key uint64) bool {
		if st.res.mu.TryLock() {
			st.res.mu.Unlock()
			t.Error("billed was asked without the reservations' lock held")
		}
		asked = append(asked, key)
		return key == 1
	}
	if st.ReserveShared(1, rv.Campaign, rv.Amount, rv.CapKey, rv.CapWindow, testNow.Unix(), billed) {
		t.Fatal("a billed bid's win was reserved")
	}
	if got, n := s.CampaignStatus(0, testNow).Reserved, st.Impressions("c1", u1, testNow); got != 0 || n != 0 {
		t.Fatalf("billed bid: %v USD reserved, %d impressions; want 0, 0", got, n)
	}
	if !st.ReserveShared(2, rv.Campaign, rv.Amount, rv.CapKey, rv.CapWindow, testNow.Unix(), billed) {
		t.Fatal("an unbilled bid's win was not reserved")
	}
	if got, n := s.CampaignStatus(0, testNow).Reserved, st.Impressions("c1", u1, testNow); got != 1 || n != 1 {
		t.Fatalf("unbilled bid: %v USD reserved, %d impressions; want 1, 1", got, n)
	}
	if !slices.Equal(asked, []uint64{1, 2}) {
		t.Fatalf("billed asked for %v; want [1 2]", asked)
	}
}

// cappedReservations compiles campaign c1 (100 USD a day, at most 10
// impressions a user an hour) with reservations of one minute, for user.
func cappedReservations(t *testing.T) (campaign.Campaign, *State, *Snapshot) {
	t.Helper()
	c := bannerCampaign("c1", 100)
	c.FreqCap.Max, c.FreqCap.WindowSeconds = 10, 3600
	st, s := compileState(t, c)
	st.SetReservations(time.Minute, 0)
	return c, st, s
}

// user is the user of cappedReservations' tests.
const user = 77

// TestLateBillsCountCapOnce: a bill that comes after its win's
// reservation ended unbilled (expired, or evicted from a full ring) moves
// the spend but does not count the cap again, here (BillReserved) or for
// a peer's bill (Release reports the win counted it), and is counted in
// LateBills once. A bill of a win that counted no cap counts it.
func TestLateBillsCountCapOnce(t *testing.T) {
	t.Parallel()
	_, st, s := cappedReservations(t)
	at := testNow
	reserve := func(key, user uint64) {
		t.Helper()
		if rv, err := st.Reserve(key, []byte("c1"), user, 1000, nil, at, nil); err != nil || !rv.Added {
			t.Fatalf("Reserve(%d): %+v, %v", key, rv, err)
		}
	}
	bill := func(key, user uint64) {
		t.Helper()
		if _, err := st.BillReserved(key, []byte("c1"), user, 1000, nil, at); err != nil {
			t.Fatal(err)
		}
	}
	want := func(impressions int, spent float64, late uint64) {
		t.Helper()
		n, sp, l := st.Impressions("c1", user, at), s.CampaignStatus(0, at).SpendToday, st.LateBills()
		if n != impressions || sp != spent || l != late {
			t.Fatalf("%d impressions, spent %v USD, %d late bills; want %d, %v, %d", n, sp, l, impressions, spent, late)
		}
	}
	reserve(1, user)
	reserve(2, user)
	reserve(3, 0) // no user: no cap counted
	want(2, 0, 0)
	at = at.Add(2 * time.Minute)
	st.ExpireReservations(at)
	bill(1, user)
	want(2, 1, 1)
	if !st.Release(2) { // a peer billed it
		t.Fatal("Release of an expired reservation that counted its cap: false")
	}
	want(2, 1, 2)
	bill(1, user) // remembered once: a second bill (the dedupe's to stop) counts
	want(3, 2, 2)
	bill(3, user)
	want(4, 3, 2)

	// Evicted from a full ring: the same.
	for k := uint64(100); k < 100+1024; k++ {
		reserve(k, 0)
	}
	reserve(10, user) // evicts 100
	want(5, 3, 2)
	for k := uint64(5000); k < 5000+1024; k++ {
		reserve(k, 0) // evict 101 to 1123, then 10
	}
	if live, _, _, evicted := st.Reservations(); live != 1024 || evicted != 1025 {
		t.Fatalf("%d live, %d evicted; want 1024, 1025", live, evicted)
	}
	bill(10, user)
	want(5, 4, 3)
}

// TestReservationsPersist saves the reservations of one State and
// restores them into another with the same campaigns, as a restart does:
// the live ones come back with their amounts (0 too) and cap marks,
// oldest first, but not those that expired meanwhile or whose campaign is gone, and a
// damaged section is refused whole.
func TestReservationsPersist(t *testing.T) {
	t.Parallel()
	camps := []campaign.Campaign{bannerCampaign("c1", 10), bannerCampaign("c2", 10)}
	camps[0].FreqCap.Max, camps[0].FreqCap.WindowSeconds = 3, 3600
	st, _ := compileState(t, camps...)
	st.SetReservations(time.Minute, 0)
	reserve := func(st *State, key uint64, id string, user uint64, at time.Time) {
		t.Helper()
		if _, err := st.Reserve(key, []byte(id), user, 1000, nil, at, nil); err != nil {
			t.Fatal(err)
		}
	}
	reserve(st, 1, "c1", 0, testNow.Add(-50*time.Second)) // expired by the restart
	reserve(st, 2, "c1", 7, testNow.Add(-5*time.Second))  // counted in u7's cap
	reserve(st, 3, "c2", 7, testNow)                      // c2 has no cap
	reserve(st, 4, "c2", 0, testNow)
	st.Release(4)
	// A win at price 0 reserves no money, and counts in u8's cap.
	if _, err := st.Reserve(5, []byte("c1"), 8, 0, nil, testNow, nil); err != nil {
		t.Fatal(err)
	}
	saved := st.AppendReservations(nil)

	now := testNow.Add(15 * time.Second)
	st2 := NewState(0)
	st2.SetClock(func() time.Time { return now })
	s2, err := Compile(testFile(camps...), nil, st2, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	st2.SetReservations(time.Minute, 0)
	if n, err := st2.RestoreReservations(saved); n != 3 || err != nil {
		t.Fatalf("restored %d, %v; want 3", n, err)
	}
	if a, b := s2.CampaignStatus(0, now).Reserved, s2.CampaignStatus(1, now).Reserved; a != 1 || b != 1 {
		t.Fatalf("reserved %v and %v USD; want 1 and 1", a, b)
	}
	if !st2.Release(2) || st2.Release(3) || !st2.Release(5) {
		t.Fatal("the cap marks did not survive")
	}
	// Without c1, its reservation is not restored.
	st3 := NewState(0)
	st3.SetClock(func() time.Time { return now })
	if _, err := Compile(testFile(camps[1]), nil, st3, testOptions); err != nil {
		t.Fatal(err)
	}
	st3.SetReservations(time.Minute, 0)
	if n, err := st3.RestoreReservations(saved); n != 1 || err != nil {
		t.Fatalf("restored %d without c1, %v; want 1", n, err)
	}
	bad := append([]byte(nil), saved...)
	bad[len(bad)-1] = 2 // a cap mark that is neither 0 nor 1
	for _, b := range [][]byte{nil, saved[:3], saved[:len(saved)-1], append(saved, 0), bad} {
		if n, err := st3.RestoreReservations(b); err == nil {
			t.Fatalf("restored %d from %d damaged bytes; want an error", n, len(b))
		}
	}
}

// TestEndedPersist: the wins whose reservations ended unbilled before a
// restart, or expired while the host was down, are still known after it
// (AppendEnded, and RestoreReservations for those that expired
// meanwhile), so their late bills move the spend but do not count the
// user's cap a second time. Without the saved section, a late bill does.
func TestEndedPersist(t *testing.T) {
	t.Parallel()
	c, st, _ := cappedReservations(t)
	reserve := func(key uint64, at time.Time) {
		t.Helper()
		if rv, err := st.Reserve(key, []byte("c1"), user, 1000, nil, at, nil); err != nil || !rv.Added {
			t.Fatalf("Reserve(%d): %+v, %v", key, rv, err)
		}
	}
	// In time order: the ring expires from its oldest entry.
	reserve(1, testNow.Add(-3*time.Minute))
	reserve(2, testNow.Add(-30*time.Second))
	st.ExpireReservations(testNow) // 1 ended unbilled; 2 is live
	ended, reserved, freq := st.AppendEnded(nil), st.AppendReservations(nil), st.AppendFreq(nil)
	// A host with none saves the sections' headers alone: they restore as none.
	empty := NewState(0)
	empty.SetReservations(time.Minute, 0)
	if n, err := empty.RestoreEnded(NewState(0).AppendEnded(nil)); n != 0 || err != nil {
		t.Fatalf("restored %d ended reservations from an empty section, %v; want 0, nil", n, err)
	}
	if n, err := empty.RestoreReservations(NewState(0).AppendReservations(nil)); n != 0 || err != nil {
		t.Fatalf("restored %d reservations from an empty section, %v; want 0, nil", n, err)
	}

	now := testNow.Add(2 * time.Minute) // 2 expired while the host was down
	restart := func(withEnded bool) (*State, *Snapshot) {
		t.Helper()
		st := NewState(0)
		st.SetClock(func() time.Time { return now })
		s, err := Compile(testFile(c), nil, st, testOptions)
		if err != nil {
			t.Fatal(err)
		}
		st.SetReservations(time.Minute, 0)
		if _, err := st.RestoreFreq(freq); err != nil {
			t.Fatal(err)
		}
		if n, err := st.RestoreReservations(reserved); n != 0 || err != nil {
			t.Fatalf("restored %d reservations, %v; want 0 (expired)", n, err)
		}
		if withEnded {
			if n, err := st.RestoreEnded(ended); n != 1 || err != nil {
				t.Fatalf("restored %d ended reservations, %v; want 1", n, err)
			}
		}
		return st, s
	}
	st2, s2 := restart(true)
	for _, key := range []uint64{1, 2} {
		if _, err := st2.BillReserved(key, []byte("c1"), user, 1000, nil, now); err != nil {
			t.Fatal(err)
		}
	}
	if n, spent, late := st2.Impressions("c1", user, now), s2.CampaignStatus(0, now).SpendToday, st2.LateBills(); n != 2 || spent != 2 || late != 2 {
		t.Fatalf("after the late bills: %d impressions, spent %v USD, %d late bills; want 2, 2, 2", n, spent, late)
	}

	st3, _ := restart(false)
	if _, err := st3.BillReserved(1, []byte("c1"), user, 1000, nil, now); err != nil {
		t.Fatal(err)
	}
	if n := st3.Impressions("c1", user, now); n != 3 {
		t.Fatalf("without the ended section a late bill left %d impressions; want 3 (counted again)", n)
	}
	for _, b := range [][]byte{nil, ended[:3], ended[:len(ended)-1], append(ended, 0)} {
		if n, err := st3.RestoreEnded(b); err == nil {
			t.Fatalf("restored %d from %d damaged bytes; want an error", n, len(b))
		}
	}
}

// TestReservationsModel runs random wins, bills and expiries, with keys
// drawn from a small set so that they repeat and collide, against a
// model of the ring (a slice, oldest first) and a map of what is live:
// the campaign's reserved spend and the live count must match it after
// every step, through the ring's wrapping, evictions and the index's
// deletions. The time to live is long enough for the ring to fill, and
// lulls expire much of it.
func TestReservationsModel(t *testing.T) {
	t.Parallel()
	st, s := compileState(t, bannerCampaign("c1", 10))
	const ttl, slots = 600, 1024
	st.SetReservations(ttl*time.Second, slots)
	type entry struct {
		key, amount, at int64
		live            bool
	}
	var ring []*entry // from the head
	live := map[uint64]*entry{}
	drop := func(e *entry) {
		if e.live {
			e.live = false
			delete(live, uint64(e.key))
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	now := testNow
	for step := 0; step < 60000; step++ {
		key := rng.Uint64N(3000) * 0x10001 // small keys, spread and colliding
		switch op := rng.IntN(10); {
		case op < 6:
			cents := 1 + rng.Int64N(500)
			if _, err := st.Reserve(key, []byte("c1"), 0, float64(cents)/100, nil, now, nil); err != nil {
				t.Fatal(err)
			}
			for len(ring) > 0 && (!ring[0].live || ring[0].at <= now.Unix()-ttl) { // expire
				drop(ring[0])
				ring = ring[1:]
			}
			if live[key] == nil {
				if len(ring) == slots { // evict
					drop(ring[0])
					ring = ring[1:]
				}
				e := &entry{int64(key), cents * 10, now.Unix(), true}
				ring, live[key] = append(ring, e), e
			}
		case op < 9:
			st.Release(key)
			if e := live[key]; e != nil {
				drop(e)
			}
		default:
			now = now.Add(time.Duration(rng.IntN(3)) * time.Second)
			if rng.IntN(50) == 0 { // a lull: many expire at once
				now = now.Add(400 * time.Second)
			}
			st.ExpireReservations(now)
			for len(ring) > 0 && (!ring[0].live || ring[0].at <= now.Unix()-ttl) {
				drop(ring[0])
				ring = ring[1:]
			}
		}
		want := int64(0)
		for _, e := range live {
			want += e.amount
		}
		got := int64(math.Round(s.CampaignStatus(0, now).Reserved * 1e6))
		if n, _, _, _ := st.Reservations(); got != want || n != len(live) {
			t.Fatalf("step %d: %d live reserving %d micro-units; want %d reserving %d", step, n, got, len(live), want)
		}
	}
	if _, _, expired, evicted := st.Reservations(); expired == 0 || evicted == 0 {
		t.Fatalf("%d expired, %d evicted: the run did not exercise both", expired, evicted)
	}
}

// TestReservationsEvictInCluster: a win that evicts the oldest
// reservation from the same run of index slots is still found by its
// bill. The deletion moves entries back, which can leave a free slot
// before the one found for the new key; the key must go there. Slots
// (of 2048): A, B, C, D, E at 10-14 with homes 10, 10, 12, 11, 14; the
// new key's home is 12, so before the eviction its free slot was 15,
// and after it (B to 10, D to 11) it is 13.
func TestReservationsEvictInCluster(t *testing.T) {
	t.Parallel()
	st, _ := compileState(t, bannerCampaign("c1", 10))
	st.SetReservations(time.Hour, 1024)
	r := &st.res
	used := map[uint64]bool{}
	keyAt := func(lo, hi uint64) uint64 { // a new key whose home is in [lo, hi]
		for k := uint64(1); ; k++ {
			if h := r.home(k); h >= lo && h <= hi && !used[k] {
				used[k] = true
				return k
			}
		}
	}
	reserve := func(k uint64) {
		t.Helper()
		if _, err := st.Reserve(k, []byte("c1"), 0, 1, nil, testNow, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, home := range []uint64{10, 10, 12, 11, 14} {
		reserve(keyAt(home, home))
	}
	for i := 5; i < 1024; i++ { // the rest of the ring, far from slot 10
		reserve(keyAt(200, 1800))
	}
	key := keyAt(12, 12)
	reserve(key) // evicts A, the oldest
	st.Release(key)
	if live, billed, _, evicted := st.Reservations(); live != 1023 || billed != 1 || evicted != 1 {
		t.Fatalf("%d live, %d released by a bill, %d evicted; want 1023, 1, 1", live, billed, evicted)
	}
}

// BenchmarkReserveRelease is a win notice's reservation and its billing
// notice's release, with 100,000 others live, as at 333 wins per second
// over the default 5 minutes.
func BenchmarkReserveRelease(b *testing.B) {
	c := bannerCampaign("c1", 10)
	st := NewState(0)
	if _, err := Compile(testFile(c), nil, st, testOptions); err != nil {
		b.Fatal(err)
	}
	st.SetReservations(5*time.Minute, 1<<19)
	const live = 100000
	id := []byte("c1")
	for k := uint64(0); k < live; k++ {
		if _, err := st.Reserve(k, id, 0, 1, nil, testNow, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := uint64(live + i)
		if _, err := st.Reserve(k, id, 0, 1, nil, testNow, nil); err != nil {
			b.Fatal(err)
		}
		st.Release(k - live)
	}
}
