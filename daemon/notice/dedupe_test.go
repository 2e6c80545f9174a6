package notice

import "testing"

func TestDedupeExpiry(t *testing.T) {
	tb := newDedupeTable(64, 100, dedupeEvictions)
	if tb.seen(42, 1000) {
		t.Fatalf("a new fingerprint was reported as seen")
	}
	if !tb.seen(42, 1099) {
		t.Fatalf("a fingerprint was not seen 1ns before its expiry")
	}
	if tb.seen(42, 1100) {
		t.Fatalf("a fingerprint was still seen at its expiry")
	}
	if !tb.seen(42, 1150) {
		t.Fatalf("a fingerprint re-recorded after expiry was not seen")
	}
}

func TestDedupeZeroFingerprint(t *testing.T) {
	tb := newDedupeTable(64, 100, dedupeEvictions)
	if tb.seen(0, 1) {
		t.Fatalf("fingerprint 0 was reported as seen in an empty table")
	}
	if !tb.seen(0, 2) {
		t.Fatalf("fingerprint 0 was not remembered")
	}
}

func TestDedupeEvictsOldestWhenFull(t *testing.T) {
	tb := newDedupeTable(probeWindow, 1000, dedupeEvictions) // one shard, one probe window
	if len(tb.shards) != 1 || len(tb.shards[0].slots) != probeWindow {
		t.Fatalf("unexpected layout: %d shards", len(tb.shards))
	}
	// Small fingerprints share shard 0 and probe start 0 (fp>>32 == 0).
	for fp := uint64(1); fp <= probeWindow; fp++ {
		if tb.seen(fp, int64(fp)) {
			t.Fatalf("fingerprint %d reported as seen on first insert", fp)
		}
	}
	before := dedupeEvictions.Get()
	if tb.seen(100, 50) {
		t.Fatalf("fingerprint 100 reported as seen on first insert")
	}
	if got := dedupeEvictions.Get() - before; got != 1 {
		t.Fatalf("unexpected evictions; got %d; want 1", got)
	}
	// seen returning true does not modify the table, so check these first.
	for fp := uint64(2); fp <= probeWindow; fp++ {
		if !tb.seen(fp, 60) {
			t.Fatalf("fingerprint %d was evicted; only the oldest (1) should be", fp)
		}
	}
	if !tb.seen(100, 60) {
		t.Fatalf("the inserted fingerprint 100 was not remembered")
	}
	if tb.seen(1, 60) {
		t.Fatalf("the oldest fingerprint 1 was not evicted")
	}
}

func TestDedupeReusesExpiredSlotWithoutEviction(t *testing.T) {
	tb := newDedupeTable(probeWindow, 10, dedupeEvictions)
	for fp := uint64(1); fp <= probeWindow; fp++ {
		tb.seen(fp, 1)
	}
	before := dedupeEvictions.Get()
	if tb.seen(100, 20) { // every entry expired at 11
		t.Fatalf("fingerprint 100 reported as seen on first insert")
	}
	if got := dedupeEvictions.Get() - before; got != 0 {
		t.Fatalf("an expired slot was counted as an eviction; got %d", got)
	}
}

func TestCeilPow2(t *testing.T) {
	f := func(n, want int) {
		t.Helper()
		if got := ceilPow2(n); got != want {
			t.Fatalf("unexpected result for ceilPow2(%d); got %d; want %d", n, got, want)
		}
	}
	f(1, 1)
	f(2, 2)
	f(3, 4)
	f(8, 8)
	f(1000, 1024)
	f(1<<20, 1<<20)
}

func TestNewDedupeTableLayout(t *testing.T) {
	f := func(slots, wantShards, wantPerShard int) {
		t.Helper()
		tb := newDedupeTable(slots, 1, dedupeEvictions)
		if len(tb.shards) != wantShards || len(tb.shards[0].slots) != wantPerShard {
			t.Fatalf("unexpected layout for %d slots; got %d x %d; want %d x %d",
				slots, len(tb.shards), len(tb.shards[0].slots), wantShards, wantPerShard)
		}
	}
	f(0, 1, probeWindow)
	f(100, 2, 64)
	f(1<<20, maxShards, 1<<12)
}
