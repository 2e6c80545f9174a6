package decision

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

// restarted returns a fresh State, as a new process has, with spend and
// caps restored from st's saved form, and c compiled against it.
func restarted(t *testing.T, st *State, slots int, camps ...string) (*State, *Snapshot) {
	t.Helper()
	spend, freq := st.AppendSpend(nil), st.AppendFreq(nil)
	st2 := NewState(slots)
	var cs = testFile()
	for _, id := range camps {
		c := bannerCampaign(id, 10)
		c.FreqCap.Max, c.FreqCap.WindowSeconds = 3, 3600
		cs.Campaigns = append(cs.Campaigns, c)
	}
	s, err := Compile(cs, nil, st2, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st2.RestoreSpend(spend); err != nil {
		t.Fatalf("cannot restore spend: %v", err)
	}
	if _, err := st2.RestoreFreq(freq); err != nil {
		t.Fatalf("cannot restore caps: %v", err)
	}
	return st2, s
}

// TestSpendAndCapsSurviveRestart bills two campaigns on one day and one of
// them again on the next, saves, and restores into a new State: spend of
// the day, total spend and each user's impressions are what was billed.
func TestSpendAndCapsSurviveRestart(t *testing.T) {
	t.Parallel()
	st := NewState(1024)
	c1, c2 := bannerCampaign("c1", 10), bannerCampaign("c2", 10)
	c1.FreqCap.Max, c1.FreqCap.WindowSeconds = 3, 3600
	if _, err := Compile(testFile(c1, c2), nil, st, testOptions); err != nil {
		t.Fatal(err)
	}
	req := func(user string) *openrtb.Request {
		r := bannerRequest()
		r.User.ID = []byte(user)
		return r
	}
	u1, u2 := UserKey(req("u1")), UserKey(req("u2"))
	day2 := testNow.Add(24 * time.Hour)
	bill(t, st, "c1", u1, 4, testNow) // 4 USD on day 1
	bill(t, st, "c2", u2, 2, testNow)
	bill(t, st, "c1", u1, 3, day2) // day 2: u1 capped again
	bill(t, st, "c1", u2, 1, day2) // 4 USD on day 2, 8 in all

	// c2 is not in the new process's campaigns: its spend waits for them.
	st2, s := restarted(t, st, 1024, "c1")
	if got := s.CampaignStatus(0, day2); got.SpendToday != 4 || got.SpendTotal != 8 {
		t.Fatalf("c1 after restart: today %v, total %v; want 4 and 8", got.SpendToday, got.SpendTotal)
	}
	if r, _, tr := decide(s, req("u1"), day2); r == ReasonBid || traceFilter(tr, "c1") != "freq_cap" {
		t.Fatalf("u1 with 3 of 3 impressions after restart: reason %s, c1 filter %q; want freq_cap", r, traceFilter(tr, "c1"))
	}
	if r, _, _ := decide(s, req("u2"), day2); r != ReasonBid {
		t.Fatalf("u2 with 1 of 3 impressions after restart: reason %s; want a bid", r)
	}
	s3, err := Compile(testFile(c1, c2), nil, st2, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	if got := s3.CampaignStatus(1, day2); string(got.ID) != "c2" || got.SpendToday != 0 || got.SpendTotal != 2 {
		t.Fatalf("c2 back after a reload: %+v; want 0 today (day 2) and 2 in total", got)
	}
	if got := s3.CampaignStatus(1, testNow); got.SpendToday != 2 {
		t.Fatalf("c2's day-1 spend read on day 1: %v; want 2", got.SpendToday)
	}
}

// TestRestoreRejectsDamage cuts and corrupts saved state: every cut is an
// error, and a rejected input changes nothing.
func TestRestoreRejectsDamage(t *testing.T) {
	t.Parallel()
	st := NewState(1024)
	c := bannerCampaign("c1", 10)
	c.FreqCap.Max, c.FreqCap.WindowSeconds = 3, 3600
	if _, err := Compile(testFile(c, bannerCampaign("c2", 1)), nil, st, testOptions); err != nil {
		t.Fatal(err)
	}
	bill(t, st, "c1", 42, 2, testNow)
	bill(t, st, "c2", 43, 1, testNow)
	spend, freq := st.AppendSpend(nil), st.AppendFreq(nil)

	fresh := NewState(1024)
	s, err := Compile(testFile(c), nil, fresh, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(spend); n++ {
		if _, err := fresh.RestoreSpend(spend[:n]); err == nil {
			t.Fatalf("spend cut to %d of %d bytes: no error", n, len(spend))
		}
	}
	if _, err := fresh.RestoreSpend(append(spend[:len(spend):len(spend)], 0)); err == nil {
		t.Fatal("spend with a trailing byte: no error")
	}
	for n := 0; n < len(freq); n++ {
		if _, err := fresh.RestoreFreq(freq[:n]); err == nil {
			t.Fatalf("caps cut to %d of %d bytes: no error", n, len(freq))
		}
	}
	if got := s.CampaignStatus(0, testNow); got.SpendTotal != 0 {
		t.Fatalf("spend after rejected restores: %v; want 0", got.SpendTotal)
	}
	if _, err := NewState(4096).RestoreFreq(freq); !errors.Is(err, ErrFreqSize) {
		t.Fatalf("caps into a table of another size: err %v; want ErrFreqSize", err)
	}
	if n, err := fresh.RestoreSpend(spend); err != nil || n != 2 {
		t.Fatalf("whole spend: %d campaigns, err %v; want 2", n, err)
	}
}

// TestAppendSpendFollowsTheCampaignSet: AppendSpend keeps its sorted
// order between calls; a reload that adds a campaign, and a restore that
// brings back a dropped one, must show in the next call, in id order.
func TestAppendSpendFollowsTheCampaignSet(t *testing.T) {
	t.Parallel()
	st := NewState(1024)
	if _, err := Compile(testFile(bannerCampaign("b", 10), bannerCampaign("d", 10)), nil, st, testOptions); err != nil {
		t.Fatal(err)
	}
	bill(t, st, "d", 1, 2, testNow)
	ids := func() []string {
		t.Helper()
		entries, err := DecodeSpend(st.AppendSpend(nil))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.ID)
		}
		return out
	}
	if got := strings.Join(ids(), ","); got != "d" {
		t.Fatalf("campaigns with spend %q; want d (b has none)", got)
	}
	if _, err := Compile(testFile(bannerCampaign("b", 10), bannerCampaign("c", 10), bannerCampaign("d", 10)), nil, st, testOptions); err != nil {
		t.Fatal(err)
	}
	bill(t, st, "c", 1, 1, testNow)
	bill(t, st, "b", 1, 1, testNow)
	if _, err := st.RestoreSpend(AppendSpendEntries(nil, []CampaignSpend{{ID: "a", Day: 1, Today: 5, Total: 5}})); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ids(), ","); got != "a,b,c,d" {
		t.Fatalf("after a reload and a restore: %q; want a,b,c,d", got)
	}
}

// TestAppendSpendNoAlloc: once its order is built, AppendSpend allocates
// nothing into a buffer large enough.
func TestAppendSpendNoAlloc(t *testing.T) {
	st := spendState(1000)
	buf := st.AppendSpend(nil)
	if n := testing.AllocsPerRun(10, func() { buf = st.AppendSpend(buf[:0]) }); n != 0 {
		t.Fatalf("AppendSpend allocated %.0f times; want 0", n)
	}
}

// spendState returns a State that has n campaigns with spend.
func spendState(n int) *State {
	st := NewState(1024)
	entries := make([]CampaignSpend, n)
	for i := range entries {
		entries[i] = CampaignSpend{ID: fmt.Sprintf("campaign-%06d", i), Day: 20000, Today: int64(i + 1), Total: int64(2*i + 1)}
	}
	if _, err := st.RestoreSpend(AppendSpendEntries(nil, entries)); err != nil {
		panic(err)
	}
	return st
}

// TestScanSpendPassesOverUnchanged: against the previous reading, only
// the campaigns whose entry differs at the same place are scanned, also
// when a campaign came or went between the two (every entry after it).
func TestScanSpendPassesOverUnchanged(t *testing.T) {
	reading := func(entries ...CampaignSpend) []byte { return AppendSpendEntries(nil, entries) }
	a, b, c := CampaignSpend{ID: "a", Day: 9, Today: 1, Total: 5}, CampaignSpend{ID: "b", Day: 9, Today: 2, Total: 6}, CampaignSpend{ID: "cc", Day: 9, Today: 3, Total: 7}
	b2 := b
	b2.Total++
	scanned := func(cur, prev []byte) string {
		var got []string
		err := ScanSpend(cur, prev, func(id []byte, e CampaignSpend) {
			got = append(got, fmt.Sprintf("%s:%d/%d/%d", id, e.Day, e.Today, e.Total))
		})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(got, ",")
	}
	for _, tc := range []struct {
		name      string
		cur, prev []byte
		want      string
	}{
		{"first", reading(a, b, c), nil, "a:9/1/5,b:9/2/6,cc:9/3/7"},
		{"same", reading(a, b, c), reading(a, b, c), ""},
		{"one moved", reading(a, b2, c), reading(a, b, c), "b:9/2/7"},
		{"one came", reading(a, b, c), reading(a, c), "b:9/2/6,cc:9/3/7"},
		{"one went", reading(a, c), reading(a, b, c), "cc:9/3/7"},
		{"longer id", reading(a, CampaignSpend{ID: "bb", Day: 9, Today: 2, Total: 6}), reading(a, b), "bb:9/2/6"},
		{"empty before", reading(a), reading(), "a:9/1/5"},
		// Not an output ScanSpend passed: an id longer than the rest.
		{"damaged before", reading(a), append([]byte{1, 0, 0, 0, 0x60, 0xea}, make([]byte, 24)...), "a:9/1/5"},
		{"truncated before", reading(a, b), reading(a, b)[:40], "b:9/2/6"},
	} {
		if got := scanned(tc.cur, tc.prev); got != tc.want {
			t.Errorf("%s: scanned %q; want %q", tc.name, got, tc.want)
		}
	}
}

// TestAppendSpendSince: an answer since the version of the last one holds
// the campaigns billed or restored since, and nothing when none was.
func TestAppendSpendSince(t *testing.T) {
	t.Parallel()
	st, _ := compileState(t, bannerCampaign("a", 10), bannerCampaign("b", 10), bannerCampaign("c", 10))
	since := func(v uint64) ([]string, uint64) {
		t.Helper()
		b, next := st.AppendSpendSince(nil, v)
		entries, err := DecodeSpend(b)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range entries {
			ids = append(ids, e.ID)
		}
		return ids, next
	}
	bill(t, st, "a", 0, 1, testNow)
	bill(t, st, "b", 0, 1, testNow)
	all, v1 := since(0)
	if fmt.Sprint(all) != "[a b]" || v1 == 0 {
		t.Fatalf("the whole spend %q at version %d; want a and b", all, v1)
	}
	if got, v := since(v1); len(got) != 0 || v != v1 {
		t.Fatalf("since %d with nothing billed: %q at %d; want none at the same version", v1, got, v)
	}
	bill(t, st, "b", 0, 1, testNow)
	if _, err := st.RestoreSpend(AppendSpendEntries(nil, []CampaignSpend{{ID: "c", Day: dayNumber(testNow), Today: 1, Total: 1}})); err != nil {
		t.Fatal(err)
	}
	got, v2 := since(v1)
	if fmt.Sprint(got) != "[b c]" || v2 <= v1 {
		t.Fatalf("since %d: %q at %d; want b and c, at a later version", v1, got, v2)
	}
	if got, _ := since(v2 + 1); fmt.Sprint(got) != "[a b c]" {
		t.Fatalf("since a version not given yet: %q; want the whole spend", got)
	}
	if other := NewState(0); other.SpendEpoch() == st.SpendEpoch() || int64(st.SpendEpoch()) <= 0 {
		t.Fatalf("epochs %d and %d; want distinct and positive", st.SpendEpoch(), other.SpendEpoch())
	}
}

// TestAppendSpendSinceMissesNoBill reads what changed since each last
// answer while bills come in on other goroutines: folded together, the
// answers must hold every bill, as the whole spend does at the end. (The
// stamping lock closes a window of a few instructions in Bill, which
// this test is not able to hit: a later bill of the campaign repairs
// what a reading missed. It guards the versions' bookkeeping.)
func TestAppendSpendSinceMissesNoBill(t *testing.T) {
	t.Parallel()
	var camps []campaign.Campaign
	for i := range 8 {
		camps = append(camps, bannerCampaign("c"+itoa(i), 10))
	}
	st, _ := compileState(t, camps...)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := st.Bill([]byte(camps[(g+i)%len(camps)].ID), 0, 1000, nil, testNow); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	known := map[string]int64{}
	fold := func(b []byte) {
		entries, err := DecodeSpend(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			known[e.ID] = max(known[e.ID], e.Total)
		}
	}
	var v uint64
	for range 20000 {
		var b []byte
		b, v = st.AppendSpendSince(nil, v)
		fold(b)
	}
	close(stop)
	wg.Wait()
	b, _ := st.AppendSpendSince(nil, v)
	fold(b)
	whole, _ := DecodeSpend(st.AppendSpend(nil))
	for _, e := range whole {
		if known[e.ID] != e.Total {
			t.Fatalf("campaign %s: answers since the last held %d in total; the whole spend %d", e.ID, known[e.ID], e.Total)
		}
	}
}
