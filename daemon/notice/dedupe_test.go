package notice

import (
	"math/rand/v2"
	"testing"

	"github.com/VictoriaMetrics/metrics"
)

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
	f(100, 1, 128)
	f(300, 4, 128)
	f(1<<20, maxShards, 1<<12)
}

// TestDedupeRetention: a full table (every entry live, as with the 48 h
// TTL under steady traffic) still remembers what Config.DedupeSlots
// promises, 99.5 % of the notices half a table of entries old. With a
// probe window of 8 it was 97 %, and 92 % at 0.6 tables.
func TestDedupeRetention(t *testing.T) {
	const slots = 1 << 16
	tb := newDedupeTable(slots, 1<<62, metrics.NewSet().NewCounter("evictions"))
	rng := rand.New(rand.NewPCG(1, 2))
	fps := make([]uint64, 4*slots)
	for i := range fps {
		fps[i] = max(rng.Uint64(), 1)
		tb.seen(fps[i], int64(i+1))
	}
	for _, tc := range []struct {
		age  float64 // in tables of entries
		want float64 // at least this share remembered
	}{{0.3, 1}, {0.5, 0.995}, {0.6, 0.98}} {
		n, end := 0, len(fps)-int(tc.age*slots)
		for _, fp := range fps[end-4096 : end] {
			if tb.has(fp, int64(len(fps)+1)) {
				n++
			}
		}
		if got := float64(n) / 4096; got < tc.want {
			t.Errorf("notices %.1f tables old: %.2f%% remembered; want at least %.1f%%", tc.age, 100*got, 100*tc.want)
		}
	}
}
