package eventlog

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/config"
)

// mustOpen opens a log with the clock now (time.Now when nil) and closes
// it at the end of the test.
func mustOpen(t *testing.T, cfg config.EventLog, now func() time.Time) *Log {
	t.Helper()
	if now == nil {
		now = time.Now
	}
	l, err := open(cfg, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestRotateBySize(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.SegmentBytes = 1 // every block fills a segment
	clock := &fakeClock{t: time.Date(2026, 11, 21, 22, 0, 0, 0, time.UTC)}
	l := mustOpen(t, cfg, clock.now)
	before := rotationsTotal.Get()
	for i := range 3 {
		appendAll(t, l, i*10, i*10+10)
		l.sync()
	}
	names := segmentFiles(t, cfg.Dir)
	if len(names) != 3 {
		t.Fatalf("got segments %q; want 3", names)
	}
	if rotationsTotal.Get() < before+3 {
		t.Fatalf("rotations metric moved %d; want >= 3", rotationsTotal.Get()-before)
	}
	for i, name := range names {
		recs, _ := readAll(t, filepath.Join(cfg.Dir, name))
		if len(recs) != 10 || recs[0] != testRecord(i*10) {
			t.Fatalf("segment %s holds %d records; want records %d..%d", name, len(recs), i*10, i*10+9)
		}
	}
	if want := segmentName(clock.now(), 1); names[0] != want {
		t.Fatalf("first segment %q; want %q", names[0], want)
	}
}

func TestRotateByAge(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.SegmentAge = 60_000_000_000 // 1m
	clock := &fakeClock{t: time.Date(2026, 11, 21, 22, 0, 0, 0, time.UTC)}
	l := mustOpen(t, cfg, clock.now)
	step := func(from int, d time.Duration, wantSegs int) {
		t.Helper()
		clock.advance(d)
		appendAll(t, l, from, from+5)
		l.sync()
		if got := segmentFiles(t, cfg.Dir); len(got) != wantSegs {
			t.Fatalf("after %v: segments %q; want %d", d, got, wantSegs)
		}
	}
	step(0, 0, 1)
	step(5, 30*time.Second, 1)  // 30s old: same segment
	step(10, 31*time.Second, 1) // 61s old: written, then rotated
	step(15, time.Second, 2)    // a new segment
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	names := segmentFiles(t, cfg.Dir)
	first, _ := readAll(t, filepath.Join(cfg.Dir, names[0]))
	second, _ := readAll(t, filepath.Join(cfg.Dir, names[1]))
	if len(first) != 15 || len(second) != 5 || second[0] != testRecord(15) {
		t.Fatalf("segments hold %d and %d records; want 15 and 5", len(first), len(second))
	}
}

func TestRetentionDeletesOldest(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.SegmentBytes = 1
	l := mustOpen(t, cfg, nil)
	appendAll(t, l, 0, 10)
	l.sync()
	segSize := fileSize(t, cfg.Dir, segmentFiles(t, cfg.Dir)[0])
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopen with room for 3 segments of that size: retention runs at Open
	// and after each rotation.
	cfg.RetainBytes = 3*segSize + segSize/2
	l = mustOpen(t, cfg, nil)
	for i := 1; i < 8; i++ {
		appendAll(t, l, i*10, i*10+10)
		l.sync()
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	names := segmentFiles(t, cfg.Dir)
	if len(names) != 3 {
		t.Fatalf("segments after retention: %q; want the 3 newest", names)
	}
	for i, name := range names {
		seq, _ := parseSegmentName(name)
		if seq != uint64(6+i) {
			t.Fatalf("kept segment %s (seq %d); want seqs 6, 7, 8", name, seq)
		}
	}
	recs, _ := readAll(t, cfg.Dir)
	if len(recs) != 30 || recs[0] != testRecord(50) {
		t.Fatalf("read %d records starting at %v; want 30 from record 50", len(recs), recs[0].RequestID())
	}
}

func fileSize(t *testing.T, dir, name string) int64 {
	t.Helper()
	st, err := os.Stat(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func TestParseSegmentName(t *testing.T) {
	t.Parallel()
	f := func(name string, wantSeq uint64, wantOK bool) {
		t.Helper()
		seq, ok := parseSegmentName(name)
		if seq != wantSeq || ok != wantOK {
			t.Fatalf("unexpected result for parseSegmentName(%q); got %d, %v; want %d, %v", name, seq, ok, wantSeq, wantOK)
		}
	}
	f("events-20261121T225410Z-00000042.zst", 42, true)
	f(segmentName(time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)), 7), 7, true)
	f("events-20261121T225410Z-.zst", 0, false)
	f("events-20261121T225410Z-00000042.zst.tmp", 0, false)
	f("events-2026112XT225410Z-00000042.zst", 0, false)
	f("other-20261121T225410Z-00000042.zst", 0, false)
	f("events-20261121T225410Z-x.zst", 0, false)
}

func TestWriteErrorIsCounted(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	l := mustOpen(t, cfg, nil)
	// Replace the directory by a file: creating a segment fails.
	if err := os.Remove(cfg.Dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.Dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	before := writeErrorsTotal.Get()
	appendAll(t, l, 0, 3)
	l.sync()
	if writeErrorsTotal.Get() == before || l.Flushed() != 0 {
		t.Fatalf("write errors %d -> %d, flushed %d; want an error counted and nothing flushed", before, writeErrorsTotal.Get(), l.Flushed())
	}
	if err := l.Close(); err == nil {
		t.Fatal("Close did not report the write error")
	}
}

func TestInvalidKindIsRefusedAlone(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	l := mustOpen(t, cfg, nil)
	before := writeErrorsTotal.Get()
	appendAll(t, l, 0, 2)
	bad := testRecord(2)
	bad.Kind = numKinds
	if !l.Append(&bad) {
		t.Fatal("Append dropped")
	}
	appendAll(t, l, 3, 5)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	recs, skipped := readAll(t, cfg.Dir)
	if len(recs) != 4 || skipped != 0 || recs[2] != testRecord(3) || writeErrorsTotal.Get() == before {
		t.Fatalf("read %d records, skipped %d, write errors %d -> %d; want the 4 valid ones and an error counted",
			len(recs), skipped, before, writeErrorsTotal.Get())
	}
}

// TestFlushYieldsBetweenBlocks: a full block is compressed 64 KiB at a
// time with a yield between, not in one go that holds the P (0.5-0.6 ms
// here, which requests on a one-core rtbd waited behind), and it reads
// back whole.
func TestFlushYieldsBetweenBlocks(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	w, flushed := testWriter(t, cfg)
	yields := 0
	w.yield = func() { yields++ }
	n := 0
	for flushed.Load() == 0 {
		r := testRecord(n)
		w.add(&r)
		n++
	}
	w.closeSegment()
	if min := blockRawBytes / compressChunk; yields < min {
		t.Fatalf("a %d KiB block yielded %d times; want at least %d", blockRawBytes>>10, yields, min)
	}
	recs, _ := readAll(t, filepath.Join(cfg.Dir, segmentFiles(t, cfg.Dir)[0]))
	if len(recs) != n || recs[n-1] != testRecord(n-1) {
		t.Fatalf("read back %d records; want %d, the last intact", len(recs), n)
	}
}
