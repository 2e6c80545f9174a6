package decision

import (
	"slices"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/campaign"
)

// retireState returns a State retiring after 30 days whose clock is *at.
func retireState(at *time.Time) *State {
	st := NewState(0)
	st.SetClock(func() time.Time { return *at })
	st.SetRetireAfter(30)
	return st
}

func compileAt(t *testing.T, st *State, ids ...string) *Snapshot {
	t.Helper()
	var cs []campaign.Campaign
	for _, id := range ids {
		cs = append(cs, bannerCampaign(id, 10))
	}
	s, err := Compile(testFile(cs...), nil, st, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func counted(st *State) []string {
	ids := st.CampaignIDs(nil)
	slices.Sort(ids)
	return ids
}

// TestRetire follows campaigns out of the book: each is retired once no
// book has had it and nobody has spent on it for more than 30 days, each
// of the two counted from its own last day.
func TestRetire(t *testing.T) {
	t.Parallel()
	day := func(d int64) time.Time { return testNow.Add(time.Duration(d) * 24 * time.Hour) }
	now := day(-20)
	st := retireState(&now)
	compileAt(t, st, "a", "b", "c", "d")
	now = day(0)
	bill(t, st, "a", 0, 1, now)
	d0 := dayNumber(now)
	// A peer's campaign this host never had, and one so old that it is
	// retired on arrival.
	st.SetPeerSpend([]CampaignSpend{{ID: "f", Day: d0, Today: 1, Total: 1}, {ID: "old", Day: d0 - 31, Today: 1, Total: 1}})
	// The book drops a, b and d today: they were in it until now, not
	// since day -20, when it was compiled.
	compileAt(t, st, "c")
	now = day(10)
	bill(t, st, "b", 0, 1, now) // a late bill of a dropped campaign
	want := func(d int64, retired int, ids ...string) {
		t.Helper()
		now = day(d)
		if n := st.Retire(); n != retired || !slices.Equal(counted(st), ids) {
			t.Fatalf("day %d: retired %d, counting %q; want %d, %q", d, n, counted(st), retired, ids)
		}
	}
	want(30, 0, "a", "b", "c", "d", "f")
	// c has been in the book all along, with no spend: it stays.
	want(31, 3, "b", "c")
	want(40, 0, "b", "c")
	want(41, 1, "c")
	if own, err := DecodeSpend(st.AppendSpend(nil)); err != nil || len(own) != 0 {
		t.Fatalf("spend saved after retiring: %+v, %v; want none", own, err)
	}

	// What other hosts or the state file still hold of a retired
	// campaign does not bring it back.
	old := []CampaignSpend{{ID: "a", Day: d0, Today: 1e6, Total: 1e6}}
	if n, err := st.RestoreSpend(AppendSpendEntries(nil, old)); err != nil || n != 0 {
		t.Fatalf("restoring a retired campaign: %d, %v; want 0 restored", n, err)
	}
	grown := st.Grown()
	st.UpdatePeerSpend(old)
	st.SetPeerSpend(old)
	if st.Counts("a") || st.Grown() != grown {
		t.Fatalf("a retired campaign's old spend made it counted again (grown %d -> %d)", grown, st.Grown())
	}
	if !st.Retirable([]byte("a"), d0) || st.Retirable([]byte("a"), dayNumber(now)) || st.Retirable([]byte("c"), d0) {
		t.Fatal("Retirable: want only a's entry of day 0 retired")
	}
	// Recent spend of a campaign does bring it back, as for one never seen.
	st.UpdatePeerSpend([]CampaignSpend{{ID: "g", Day: dayNumber(now), Today: 1, Total: 1}})
	if !st.Counts("g") || st.Grown() != grown+1 {
		t.Fatalf("recent peer spend not counted: grown %d -> %d", grown, st.Grown())
	}

	// A book that brings a back starts it from zero; its old entries then
	// count, a peer's as any other.
	s := compileAt(t, st, "a", "c")
	if st.Grown() != grown+2 {
		t.Fatalf("grown %d after the book brought a back; want %d", st.Grown(), grown+2)
	}
	st.UpdatePeerSpend(old)
	if got := s.CampaignStatus(0, now); string(got.ID) != "a" || got.SpendTotal != 0 || got.PeerTotal != 1 {
		t.Fatalf("a back in the book: %+v; want no own spend and the peer's 1", got)
	}
}

// TestRetireAcrossRestart: the spend file keeps the last day a book had
// a campaign (AppendSeen), so that a restart does not retire a campaign
// whose total was spent long ago but that the book had until lately: a
// book that brings it back finds its total spent. Before, the restore
// judged it by its spend day alone and dropped it (the money audit).
func TestRetireAcrossRestart(t *testing.T) {
	t.Parallel()
	day := func(d int64) time.Time { return testNow.Add(time.Duration(d) * 24 * time.Hour) }
	now := day(0)
	st := retireState(&now)
	compileAt(t, st, "a", "b")
	bill(t, st, "a", 0, 3, now)
	now = day(40)
	if n := st.Retire(); n != 0 { // marks what the book has as seen today
		t.Fatalf("retired %d in the book", n)
	}
	compileAt(t, st, "b") // a leaves the book on day 40
	now = day(42)
	seen, spend := st.AppendSeen(nil), st.AppendSpend(nil)

	restart := func(withSeen bool) (*State, float64) {
		st := retireState(&now)
		if withSeen {
			if n, err := st.RestoreSeen(seen); err != nil || n != 1 {
				t.Fatalf("RestoreSeen: %d, %v; want a's entry", n, err)
			}
		}
		if _, err := st.RestoreSpend(spend); err != nil {
			t.Fatal(err)
		}
		s := compileAt(t, st, "a")
		return st, s.CampaignStatus(0, now).SpendTotal
	}
	if _, total := restart(false); total != 0 {
		t.Fatalf("without the seen section a restored a's total %v; the test no longer shows the loss", total)
	}
	st2, total := restart(true)
	if total != 3 {
		t.Fatalf("a back in the book after a restart: total %v spent; want 3", total)
	}
	// Out of the book again, it retires 30 days after the book last had it.
	compileAt(t, st2, "b")
	now = day(70)
	if st2.Retire(); !st2.Counts("a") {
		t.Fatal("a retired 28 days after the book last had it")
	}
	if _, err := st2.RestoreSeen([]byte{1, 0, 0, 0, 1, 0}); err == nil {
		t.Fatal("RestoreSeen took a truncated section")
	}
}

// TestRetireOff: without state.retireAfterDays nothing is retired or
// ignored, however old.
func TestRetireOff(t *testing.T) {
	t.Parallel()
	now := testNow
	st := retireState(&now)
	st.SetRetireAfter(0)
	compileAt(t, st, "a")
	compileAt(t, st, "b")
	st.SetPeerSpend([]CampaignSpend{{ID: "old", Day: 1, Today: 1, Total: 1}})
	now = now.Add(1000 * 24 * time.Hour)
	if n := st.Retire(); n != 0 || len(counted(st)) != 3 || st.Retirable([]byte("x"), 1) {
		t.Fatalf("retiring off: retired %d, counting %q", n, counted(st))
	}
}

// TestAdopt: a campaign no book has had is counted once adopted, and a
// book that brings it later keeps what it was billed. At most maxAdopted
// campaigns wait for a book at a time; one a book brings, or one
// retired, makes room.
func TestAdopt(t *testing.T) {
	t.Parallel()
	now := testNow
	st := retireState(&now)
	if st.Adopt([]byte("early")) {
		t.Fatal("adopted a campaign before any book")
	}
	compileAt(t, st, "a")
	if !st.Adopt([]byte("a")) || st.Adopt(nil) {
		t.Fatal("a campaign of the book not counted, or an empty id adopted")
	}
	grown := st.Grown()
	if !st.Adopt([]byte("new")) || !st.Adopt([]byte("new")) || st.Grown() != grown+1 {
		t.Fatal("did not adopt a campaign no book has had once, and find it adopted after")
	}
	bill(t, st, "new", 0, 2, now)
	if !st.Adopt([]byte("reserved")) || st.Retire() != 0 || !st.Counts("reserved") {
		t.Fatal("an adopted campaign without spend (a win reserved it) retired at once")
	}
	s := compileAt(t, st, "a", "new")
	if got := s.CampaignStatus(1, now); string(got.ID) != "new" || got.SpendTotal != 2 {
		t.Fatalf("book bringing an adopted campaign: %+v; want its spend of 2", got)
	}

	for i := 2; i < maxAdopted; i++ { // "reserved" waits too
		if !st.Adopt([]byte{'x', byte(i >> 8), byte(i)}) {
			t.Fatalf("adoption %d of %d refused", i, maxAdopted)
		}
	}
	if !st.Adopt([]byte("last")) || st.Adopt([]byte("over")) {
		t.Fatalf("want %d adoptions waiting for a book, no more", maxAdopted)
	}
	compileAt(t, st, "a", "new", "last")
	if !st.Adopt([]byte("room")) || st.Adopt([]byte("over")) {
		t.Fatal("a book that brings an adopted campaign made no room, or more than it")
	}
	now = now.Add(40 * 24 * time.Hour)
	if st.Retire() < maxAdopted {
		t.Fatal("adopted campaigns no book brought were not retired")
	}
	if !st.Adopt([]byte("over")) {
		t.Fatal("retiring adopted campaigns made no room")
	}
}
