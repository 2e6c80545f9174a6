package notice

import (
	"encoding/binary"
	"testing"
	"time"
)

// billIDs sends h a billing notice for each bid id; each must be
// answered 204.
func billIDs(t *testing.T, h *Handler, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if code, body := serveDirect(t, h, "GET", "/bill?bid="+id+"&cid=c9&price=4", ""); code != 204 {
			t.Fatalf("bill %s: status %d %q", id, code, body)
		}
	}
}

// recentCount is the entry count AppendRecentBills writes.
func recentCount(h *Handler) uint64 {
	return binary.LittleEndian.Uint64(h.AppendRecentBills(nil))
}

// TestRecentBills: the bills processed since the dedupe table was last
// saved are in AppendRecentBills, and a handler that restores them
// answers their replays as duplicates. A table save drops the bills it
// holds once it is written, and only those: a bill processed while the
// table is being saved, or after a save that failed, stays.
func TestRecentBills(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	h := New(Config{DedupeSlots: 1024, DedupeTTL: time.Hour}, &fakeSpender{}, nil)
	h.now = func() time.Time { return now }
	h.KeepRecentBills()
	if n := recentCount(h); n != 0 {
		t.Fatalf("%d recent bills before any notice", n)
	}
	billIDs(t, h, "a1", "a2")
	serveDirect(t, h, "GET", "/win?bid=w1&cid=c9&price=4", "")
	serveDirect(t, h, "GET", "/loss?bid=l1&cid=c9&loss=2", "")
	if n := recentCount(h); n != 3 {
		t.Fatalf("%d recent notices after two bills, a win and a loss; want 3 (the loss moves nothing)", n)
	}
	// A win restored with the bills is a duplicate after a restart.
	withWin := h.AppendRecentBills(nil)
	won := New(Config{DedupeSlots: 1024, DedupeTTL: time.Hour}, &fakeSpender{}, nil)
	won.now = func() time.Time { return now.Add(time.Minute) }
	if _, err := won.RestoreRecentBills(withWin); err != nil {
		t.Fatal(err)
	}
	dups := noticesTotal[KindWin][resultDuplicate].Get()
	serveDirect(t, won, "GET", "/win?bid=w1&cid=c9&price=4", "")
	if noticesTotal[KindWin][resultDuplicate].Get() != dups+1 {
		t.Fatal("a win replayed after a restart was processed again")
	}

	h.AppendDedupe(nil) // a save that fails: no DedupeSaved
	billIDs(t, h, "a3")
	h.AppendDedupe(nil)
	billIDs(t, h, "a4") // while the table is written
	h.DedupeSaved()
	saved := h.AppendRecentBills(nil)
	if n := binary.LittleEndian.Uint64(saved); n != 1 {
		t.Fatalf("%d recent bills after a table save; want 1 (the bill processed during it)", n)
	}

	sp := &fakeSpender{}
	restarted := New(Config{DedupeSlots: 1024, DedupeTTL: time.Hour}, sp, nil)
	restarted.now = func() time.Time { return now.Add(time.Minute) }
	if n, err := restarted.RestoreRecentBills(saved); err != nil || n != 1 {
		t.Fatalf("restored %d recent bills, err %v; want 1", n, err)
	}
	billIDs(t, restarted, "a4", "a5")
	if n := sp.count(); n != 1 {
		t.Fatalf("after a restore %d bills; want only a5's", n)
	}

	h.now = func() time.Time { return now.Add(2 * time.Hour) }
	if n := recentCount(h); n != 0 {
		t.Fatalf("%d recent bills past their dedupe TTL; want 0", n)
	}
}

// TestRecentBillsBillOnWin: a win that bills (bill on win) is a recent
// bill, under the billing notice's key.
func TestRecentBillsBillOnWin(t *testing.T) {
	h := New(Config{BillOnWin: true}, &fakeSpender{}, nil)
	h.KeepRecentBills()
	serveDirect(t, h, "GET", "/win?bid=w1&cid=c9&price=4", "")
	sp := &fakeSpender{}
	restarted := New(Config{}, sp, nil)
	if _, err := restarted.RestoreRecentBills(h.AppendRecentBills(nil)); err != nil {
		t.Fatal(err)
	}
	billIDs(t, restarted, "w1")
	if n := sp.count(); n != 0 {
		t.Fatalf("a bill after its win billed and a restore: %d charges; want 0", n)
	}
}

// TestRecentBillsFull: past its size the ring drops the oldest bills and
// counts them.
func TestRecentBillsFull(t *testing.T) {
	r := newRecentBills(4)
	dropped := recentBillsDropped.Get()
	for fp := uint64(1); fp <= 6; fp++ {
		r.add(fp, 10)
	}
	b := r.appendLive(nil, 0)
	if n := binary.LittleEndian.Uint64(b); n != 4 || binary.LittleEndian.Uint64(b[8:]) != 3 {
		t.Fatalf("ring of 4 after 6 bills: %d entries, first %d; want 4 from 3", n, binary.LittleEndian.Uint64(b[8:]))
	}
	if got := recentBillsDropped.Get() - dropped; got != 2 {
		t.Fatalf("rtbd_notice_recent_bills_dropped_total moved %d; want 2", got)
	}
}

// TestRecentBillsStayRecent: restored recent bills, and the bills a peer
// processed (MarkBilled), are recent bills until a table save holds
// them: the first save after a crash may fail, and a replay of a peer's
// bill must stay a duplicate after one here.
func TestRecentBillsStayRecent(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	h := New(Config{DedupeTTL: time.Hour}, &fakeSpender{}, nil)
	h.now = func() time.Time { return now }
	h.KeepRecentBills()
	billIDs(t, h, "a1", "a2")
	saved := h.AppendRecentBills(nil)

	restarted := New(Config{DedupeTTL: time.Hour}, &fakeSpender{}, nil)
	restarted.now = func() time.Time { return now.Add(time.Minute) }
	restarted.KeepRecentBills()
	if n, err := restarted.RestoreRecentBills(saved); n != 2 || err != nil {
		t.Fatalf("restored %d, %v; want 2", n, err)
	}
	restarted.MarkBilled(BillKey([]byte("peer1")))
	restarted.MarkBilled(BillKey([]byte("peer1"))) // once
	if n := recentCount(restarted); n != 3 {
		t.Fatalf("%d recent bills after restoring 2 and a peer's; want 3", n)
	}
	restarted.AppendDedupe(nil)
	restarted.DedupeSaved()
	if n := recentCount(restarted); n != 0 {
		t.Fatalf("%d recent bills after a table save; want 0", n)
	}
}

// TestRecentBillsChunked: appendLive copies the ring chunk by chunk; it
// gives every entry in order, and, with bills added meanwhile, a run of
// entries in order with none torn (run with -race).
func TestRecentBillsChunked(t *testing.T) {
	r := newRecentBills(1 << 14)
	const n = 3*recentChunk + 5
	for fp := uint64(1); fp <= n; fp++ {
		r.add(fp, int64(fp))
	}
	entries := func(b []byte) []uint64 {
		t.Helper()
		count := binary.LittleEndian.Uint64(b)
		if uint64(len(b)) != 8+16*count {
			t.Fatalf("%d entries in %d bytes", count, len(b))
		}
		var fps []uint64
		for i := uint64(0); i < count; i++ {
			fp, exp := binary.LittleEndian.Uint64(b[8+16*i:]), binary.LittleEndian.Uint64(b[16+16*i:])
			if exp != fp {
				t.Fatalf("entry %d torn: fp %d, exp %d", i, fp, exp)
			}
			fps = append(fps, fp)
		}
		return fps
	}
	got := entries(r.appendLive([]byte("x"), 10)[1:])
	if len(got) != n-10 || got[0] != 11 || got[len(got)-1] != n {
		t.Fatalf("%d entries from %d to %d; want %d live from 11", len(got), got[0], got[len(got)-1], n-10)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for fp := uint64(n + 1); fp <= 4*n; fp++ {
			r.add(fp, int64(fp))
		}
	}()
	for range 20 {
		got := entries(r.appendLive(nil, 0))
		for i := 1; i < len(got); i++ {
			if got[i] <= got[i-1] {
				t.Fatalf("entries out of order: %d after %d", got[i], got[i-1])
			}
		}
	}
	<-done
}
