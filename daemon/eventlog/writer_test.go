package eventlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
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
	if writeErrorsTotal.Get() == before || l.Flushed() != 0 || l.Lost() != 3 {
		t.Fatalf("write errors %d -> %d, flushed %d, lost %d; want an error counted, nothing flushed and 3 lost",
			before, writeErrorsTotal.Get(), l.Flushed(), l.Lost())
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

// faultyDisk makes the segment files of a writer whose create it is: while
// full is set, a write writes half its bytes and fails with ENOSPC, as a
// write(2) that runs out of space part way does; while truncateFails is
// set, so does a truncation.
type faultyDisk struct {
	full, truncateFails atomic.Bool
}

func (d *faultyDisk) create(path string) (segmentFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	return &faultyFile{File: f, d: d}, nil
}

type faultyFile struct {
	*os.File
	d *faultyDisk
}

func (f *faultyFile) Write(b []byte) (int, error) {
	if !f.d.full.Load() {
		return f.File.Write(b)
	}
	n, err := f.File.Write(b[:len(b)/2])
	if err != nil {
		return n, err
	}
	return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
}

func (f *faultyFile) Truncate(size int64) error {
	if f.d.truncateFails.Load() {
		return &os.PathError{Op: "truncate", Path: f.Name(), Err: syscall.EIO}
	}
	return f.File.Truncate(size)
}

// openFaulty opens a log on a faultyDisk, flushing only on sync.
func openFaulty(t *testing.T, cfg config.EventLog, clock *fakeClock) (*Log, *faultyDisk) {
	t.Helper()
	l := mustOpen(t, cfg, clock.now)
	d := new(faultyDisk)
	// The writer goroutine reads create in a flush, which the first sync
	// orders after this.
	l.w.create = d.create
	return l, d
}

// catIDs reads dir with Reader.Cat, as `rtbd log cat` does, checks each
// line against the testRecord its request id names and returns the ids,
// the bytes skipped and the reader's notes.
func catIDs(t *testing.T, dir string) (ids []int, skipped int64, notes string) {
	t.Helper()
	var out, nb bytes.Buffer
	rd := Reader{Notes: &nb}
	skipped, err := rd.Cat(&out, dir)
	if err != nil {
		t.Fatalf("Cat: %s", err)
	}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var got jsonRecord
		if err := json.Unmarshal(sc.Bytes(), &got); err != nil {
			t.Fatalf("line %q: %s", sc.Text(), err)
		}
		i, err := strconv.Atoi(strings.TrimPrefix(got.RequestID, "req-"))
		if err != nil {
			t.Fatalf("line %q: request id", sc.Text())
		}
		want := testRecord(i)
		checkJSONRecord(t, i, &got, &want)
		ids = append(ids, i)
	}
	return ids, skipped, nb.String()
}

func seqIDs(from, to int) []int {
	var ids []int
	for i := from; i < to; i++ {
		ids = append(ids, i)
	}
	return ids
}

// TestFullDiskKeepsSegment: while the disk is full, each flush loses its
// block and the segment is truncated back to its last whole block and
// kept, instead of closed and replaced by a new empty one at every flush
// (100 empty files for 100 flushes before); once there is space, records
// follow the last whole block in the same segment and read back with
// nothing skipped.
func TestFullDiskKeepsSegment(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	clock := &fakeClock{t: time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)}
	l, disk := openFaulty(t, cfg, clock)
	appendAll(t, l, 0, 10)
	l.sync()
	names := segmentFiles(t, cfg.Dir)
	if len(names) != 1 {
		t.Fatalf("segments %q; want 1", names)
	}
	good := fileSize(t, cfg.Dir, names[0])
	disk.full.Store(true)
	errsBefore, lostBefore := writeErrorsTotal.Get(), lostRecordsTotal.Get()
	for i := 10; i < 110; i++ { // 100 flushes, 1 s apart
		clock.advance(time.Second)
		appendAll(t, l, i, i+1)
		l.sync()
	}
	if got := segmentFiles(t, cfg.Dir); len(got) != 1 || got[0] != names[0] {
		t.Fatalf("after 100 failed flushes: %d segments, %q...; want only %q", len(got), got[:min(len(got), 3)], names[0])
	}
	if size := fileSize(t, cfg.Dir, names[0]); size != good {
		t.Fatalf("segment is %d bytes after failed writes; want %d, its last whole block's end", size, good)
	}
	if l.Flushed() != 10 || l.Lost() != 100 || l.Dropped() != 0 ||
		writeErrorsTotal.Get()-errsBefore < 100 || lostRecordsTotal.Get()-lostBefore < 100 {
		t.Fatalf("flushed %d, lost %d, dropped %d, metrics: write errors +%d, lost records +%d; want 10, 100, 0, >= 100, >= 100",
			l.Flushed(), l.Lost(), l.Dropped(), writeErrorsTotal.Get()-errsBefore, lostRecordsTotal.Get()-lostBefore)
	}
	disk.full.Store(false)
	clock.advance(time.Second)
	appendAll(t, l, 110, 120)
	l.sync()
	appendAll(t, l, 120, 130)
	if err := l.Close(); err == nil {
		t.Fatal("Close did not report the write error")
	}
	if got := segmentFiles(t, cfg.Dir); len(got) != 1 {
		t.Fatalf("after space returned: segments %q; want 1", got)
	}
	ids, skipped, notes := catIDs(t, cfg.Dir)
	if want := append(seqIDs(0, 10), seqIDs(110, 130)...); !slices.Equal(ids, want) || skipped != 0 || notes != "" {
		t.Fatalf("log cat: records %v, skipped %d, notes %q; want %v and nothing skipped", ids, skipped, notes, want)
	}
}

// TestTornSegmentBacksOff: when a failed write cannot be truncated away
// either, the segment is given up with its torn block as a tail, and the
// next one waits for a backoff that doubles while segments keep failing,
// not for the next flush.
func TestTornSegmentBacksOff(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	clock := &fakeClock{t: time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)}
	l, disk := openFaulty(t, cfg, clock)
	appendAll(t, l, 0, 10)
	l.sync()
	disk.full.Store(true)
	disk.truncateFails.Store(true)
	flushes := func(from, n int, step time.Duration, wantSegs int) {
		t.Helper()
		for i := from; i < from+n; i++ {
			appendAll(t, l, i, i+1)
			l.sync()
			clock.advance(step)
		}
		if got := segmentFiles(t, cfg.Dir); len(got) != wantSegs {
			t.Fatalf("after flushes %d..%d: %d segments, %q...; want %d", from, from+n-1, len(got), got[:min(len(got), 3)], wantSegs)
		}
	}
	flushes(10, 100, 0, 1)          // the first gives the segment up; the clock stands
	flushes(110, 1, time.Second, 1) // still within the backoff of 1 s
	flushes(111, 1, time.Second, 2) // 1 s later: a new segment, given up too
	flushes(112, 1, time.Second, 2) // 1 s into a backoff of 2 s
	flushes(113, 1, 0, 3)           // 2 s later: a new segment, given up too
	disk.full.Store(false)
	clock.advance(time.Hour)
	flushes(114, 10, 0, 4)
	if err := l.Close(); err == nil {
		t.Fatal("Close did not report the write error")
	}
	ids, skipped, notes := catIDs(t, cfg.Dir)
	if want := append(seqIDs(0, 10), seqIDs(114, 124)...); !slices.Equal(ids, want) || skipped == 0 || strings.Count(notes, "\n") != 3 {
		t.Fatalf("log cat: records %v, skipped %d, notes %q; want %v and 3 torn tails skipped", ids, skipped, notes, want)
	}
	if l.Lost() != 104 {
		t.Fatalf("lost %d records; want the 104 of the failed flushes", l.Lost())
	}
}

// TestFullDiskRotatesNoEmptySegment: a segment that is empty because every
// write to it failed is not rotated by age, which would only replace it
// with another empty one each SegmentAge for as long as the disk is full.
func TestFullDiskRotatesNoEmptySegment(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.SegmentAge = config.Duration(10 * time.Second)
	clock := &fakeClock{t: time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)}
	l, disk := openFaulty(t, cfg, clock)
	disk.full.Store(true)
	for i := range 100 { // 100 flushes 1 s apart: 10 segment ages
		appendAll(t, l, i, i+1)
		l.sync()
		clock.advance(time.Second)
	}
	if got := segmentFiles(t, cfg.Dir); len(got) != 1 {
		t.Fatalf("after 100 s of a full disk: %d segments, %q...; want 1", len(got), got[:min(len(got), 3)])
	}
	disk.full.Store(false)
	appendAll(t, l, 100, 110)
	l.sync() // written, then rotated: the segment is 100 s old
	appendAll(t, l, 110, 120)
	l.Close()
	ids, skipped, notes := catIDs(t, cfg.Dir)
	if got := segmentFiles(t, cfg.Dir); len(got) != 2 || !slices.Equal(ids, seqIDs(100, 120)) || skipped != 0 || notes != "" {
		t.Fatalf("segments %q, records %v, skipped %d, notes %q; want 2 segments and records 100..119", got, ids, skipped, notes)
	}
}
