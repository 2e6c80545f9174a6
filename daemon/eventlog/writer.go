package eventlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"

	"github.com/rtbd/rtbd/daemon/config"
)

const (
	// blockMagic is a zstd skippable-frame magic number; see the package doc.
	blockMagic     = 0x184D2A5E
	blockHeaderLen = 16
	// blockRawBytes is the pending size at which a block is flushed early.
	blockRawBytes = 256 << 10
	// maxBlockBytes bounds the compressed and decompressed size of a block
	// the reader accepts; the writer stays far below it.
	maxBlockBytes = 16 << 20
)

var (
	crcTable   = crc32.MakeTable(crc32.Castagnoli)
	zeroHeader [blockHeaderLen]byte
)

// segment is one segment file.
type segment struct {
	name string
	seq  uint64
	size int64
}

// writer owns the segment files. Only the Log's run goroutine uses it.
type writer struct {
	dir      string
	segBytes int64
	segAge   time.Duration
	retain   int64
	now      func() time.Time

	enc     *zstd.Encoder
	yield   func() // between the zstd blocks of a flush: runtime.Gosched
	raw     []byte // pending record frames
	pending uint64 // records in raw
	out     []byte // header + compressed block

	f        segmentFile
	create   func(path string) (segmentFile, error) // createSegment; tests inject faults
	cur      segment
	curStart time.Time
	old      []segment // closed segments, oldest first
	seq      uint64    // sequence number of the next segment
	retryAt  time.Time // no new segment before, after one was given up
	backoff  time.Duration

	flushed  *atomic.Uint64
	lost     *atomic.Uint64
	throttle errThrottle
	err      error // first error, returned by Close
}

func newWriter(cfg config.EventLog, now func() time.Time) (*writer, error) {
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("cannot create event log directory: %w", err)
	}
	old, err := listSegments(cfg.Dir)
	if err != nil {
		return nil, err
	}
	// SpeedFastest: on 200k records of a bench run, 256 KiB blocks took
	// 0.59-0.62 ms each and 11.3 B a record, against SpeedDefault's
	// 0.72-0.76 ms and 11.7 B. It compresses in zstd blocks of 64 KiB,
	// matching across them; see compress for the yields between them.
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		return nil, fmt.Errorf("cannot create zstd encoder: %w", err)
	}
	w := &writer{
		dir: cfg.Dir, segBytes: cfg.SegmentBytes, segAge: cfg.SegmentAge.D(), retain: cfg.RetainBytes,
		now: now, enc: enc, yield: runtime.Gosched, create: createSegment, old: old, seq: 1,
		raw:      make([]byte, 0, blockRawBytes+512),
		throttle: errThrottle{period: 10 * time.Second},
	}
	if n := len(old); n > 0 {
		w.seq = old[n-1].seq + 1
	}
	w.applyRetention()
	return w, nil
}

// add appends r to the pending block and flushes the block when it is large.
func (w *writer) add(r *Record) {
	if r.Kind >= numKinds {
		// The reader would reject the block holding it, losing its
		// neighbours too: refuse the one bad record instead.
		w.throttle.log(w.now(), "BUG: invalid record", fmt.Errorf("cannot write record with kind %d", r.Kind))
		return
	}
	w.raw = appendRecord(w.raw, r)
	w.pending++
	if len(w.raw) >= blockRawBytes {
		w.flush()
		w.maybeRotate()
	}
}

// flush writes the pending records as one block with a single write.
func (w *writer) flush() {
	if w.pending == 0 {
		return
	}
	n := w.pending
	err := w.compress()
	w.raw, w.pending = w.raw[:0], 0
	if err != nil {
		w.lose(n, "cannot compress block", err)
		return
	}
	frame := w.out[blockHeaderLen:]
	putHeader(w.out, frame)
	if err := w.ensureSegment(); err != nil {
		w.lose(n, "cannot create segment", err)
		return
	}
	if err := w.write(); err != nil {
		w.lose(n, "cannot write segment", err)
		return
	}
	w.backoff = 0
	w.flushed.Add(n)
	// Counted only once written: after a crash of the process (not of the
	// host) every counted record is readable.
	recordsTotal.Add(int(n))
}

// compress sets w.out to a zeroed header and the pending records as one
// zstd frame. The frame is written 64 KiB at a time, one zstd block each
// (SpeedFastest's block size), and the goroutine yields between blocks:
// EncodeAll made the frame, of the same blocks, in one go, 0.59-0.62 ms
// on this machine's bench records, all the while holding its P, so that
// with GOMAXPROCS=1 every request waited behind it.
func (w *writer) compress() error {
	w.out = append(w.out[:0], zeroHeader[:]...)
	w.enc.ResetContentSize((*appender)(&w.out), int64(len(w.raw)))
	for raw := w.raw; len(raw) > 0; {
		n := min(len(raw), compressChunk)
		if _, err := w.enc.Write(raw[:n]); err != nil {
			return err
		}
		raw = raw[n:]
		w.yield()
	}
	return w.enc.Close()
}

// compressChunk is how much of a block compress hands the encoder at a
// time: SpeedFastest's zstd block size, which the encoder compresses as
// soon as it is full.
const compressChunk = 64 << 10

// appender is an io.Writer that appends to a byte slice.
type appender []byte

func (a *appender) Write(p []byte) (int, error) {
	*a = append(*a, p...)
	return len(p), nil
}

func putHeader(dst, frame []byte) {
	binary.LittleEndian.PutUint32(dst[0:], blockMagic)
	binary.LittleEndian.PutUint32(dst[4:], 8)
	binary.LittleEndian.PutUint32(dst[8:], uint32(len(frame)))
	binary.LittleEndian.PutUint32(dst[12:], crc32.Checksum(frame, crcTable))
}

// write appends the block in w.out to the segment with a single write. A
// failed write (a full disk) is undone: the segment is truncated back to
// its last whole block and stays open, so that the next block follows
// that one and writing resumes in the same file once there is space.
// Closing the segment instead made a new, empty one at every flush for as
// long as the disk stayed full (86,400 files a day at the default
// FlushInterval). Only when the truncation fails too is the segment given
// up, its torn block a tail that readers skip, and the next one created
// after a backoff.
func (w *writer) write() error {
	written, err := w.f.Write(w.out)
	if err == nil {
		w.cur.size += int64(written)
		bytesWrittenTotal.Add(written)
		return nil
	}
	err = fileErr("write", w.cur.name, err)
	if written == 0 {
		return err
	}
	if terr := w.f.Truncate(w.cur.size); terr != nil {
		w.fail("cannot truncate segment", fileErr("truncate", w.cur.name, terr))
		w.cur.size += int64(written)
		w.closeSegment()
		w.backOff()
	}
	return err
}

// backOff delays the next segment after one was given up: by 1 s, then
// twice as long after each segment given up in a row, up to
// maxSegmentBackoff, so that a disk that fails every write and every
// truncation still gets at most a few hundred segments a day.
func (w *writer) backOff() {
	w.backoff = min(max(2*w.backoff, time.Second), maxSegmentBackoff)
	w.retryAt = w.now().Add(w.backoff)
}

const maxSegmentBackoff = 5 * time.Minute

var errSegmentBackoff = errors.New("cannot create a segment yet: backing off after a segment was given up")

// lose counts the n records of a block that could not be written in
// rtbd_eventlog_lost_records_total and logs why.
func (w *writer) lose(n uint64, msg string, err error) {
	w.lost.Add(n)
	lostRecordsTotal.Add(int(n))
	w.fail(msg, err, "records_lost", n)
}

func (w *writer) fail(msg string, err error, args ...any) {
	if w.err == nil {
		w.err = err
	}
	w.throttle.log(w.now(), msg, err, args...)
}

// segmentFile is the open segment: an *os.File, or in tests a file that
// fails on demand.
type segmentFile interface {
	Write(b []byte) (int, error)
	Truncate(size int64) error
	Fd() uintptr
	Close() error
}

// createSegment creates the segment file path for appending.
func createSegment(path string) (segmentFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err // not a nil *os.File in a non-nil segmentFile
	}
	return f, nil
}

// ensureSegment opens a new segment file when none is open, unless a
// backoff after a failed segment is still running.
func (w *writer) ensureSegment() error {
	if w.f != nil {
		return nil
	}
	now := w.now()
	if now.Before(w.retryAt) {
		return errSegmentBackoff
	}
	name := segmentName(now, w.seq)
	f, err := w.create(filepath.Join(w.dir, name))
	if err != nil {
		w.seq++ // a name taken by someone else must not fail every flush
		return fileErr("create", name, err)
	}
	w.f, w.cur, w.curStart = f, segment{name: name, seq: w.seq}, now
	w.seq++
	segmentsGauge.Set(float64(len(w.old) + 1))
	return nil
}

// maybeRotate closes the current segment when it is large or old enough.
// An empty one, where every write failed, is kept: its successor would be
// as empty, one more file each SegmentAge for as long as the disk is full.
func (w *writer) maybeRotate() {
	if w.f == nil || w.cur.size == 0 {
		return
	}
	if w.cur.size >= w.segBytes || w.now().Sub(w.curStart) >= w.segAge {
		w.closeSegment()
		rotationsTotal.Inc()
	}
}

// closeSegment fdatasyncs and closes the current segment, then applies
// retention.
func (w *writer) closeSegment() {
	if w.f == nil {
		return
	}
	if err := unix.Fdatasync(int(w.f.Fd())); err != nil {
		w.fail("cannot sync segment", fileErr("fdatasync", w.cur.name, err))
	}
	if err := w.f.Close(); err != nil {
		w.fail("cannot close segment", fileErr("close", w.cur.name, err))
	}
	syncDir(w)
	w.f = nil
	w.old = append(w.old, w.cur)
	w.cur = segment{}
	w.applyRetention()
}

// syncDir makes the directory entries of new segments durable.
func syncDir(w *writer) {
	d, err := os.Open(w.dir)
	if err != nil {
		w.fail("cannot open directory", fileErr("open", w.dir, err))
		return
	}
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		w.fail("cannot sync directory", fileErr("fsync", w.dir, err))
	}
	d.Close()
}

// applyRetention deletes the oldest closed segments while the total size is
// above the retention limit. The open segment is never deleted.
func (w *writer) applyRetention() {
	total := w.cur.size // zero when no segment is open
	for _, s := range w.old {
		total += s.size
	}
	for total > w.retain && len(w.old) > 0 {
		s := w.old[0]
		if err := os.Remove(filepath.Join(w.dir, s.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			w.fail("cannot delete segment", fileErr("remove", s.name, err))
			break
		}
		total -= s.size
		w.old = w.old[1:]
	}
	n := len(w.old)
	if w.f != nil {
		n++
	}
	segmentsGauge.Set(float64(n))
}

const segmentTimeLayout = "20060102T150405Z"

// segmentName returns events-<UTC time>-<seq>.zst.
func segmentName(t time.Time, seq uint64) string {
	return fmt.Sprintf("events-%s-%08d.zst", t.UTC().Format(segmentTimeLayout), seq)
}

// parseSegmentName returns the sequence number of a segment file name.
func parseSegmentName(name string) (uint64, bool) {
	rest, ok := strings.CutPrefix(name, "events-")
	if !ok {
		return 0, false
	}
	rest, ok = strings.CutSuffix(rest, ".zst")
	if !ok || len(rest) < len(segmentTimeLayout)+2 || rest[len(segmentTimeLayout)] != '-' {
		return 0, false
	}
	if _, err := time.Parse(segmentTimeLayout, rest[:len(segmentTimeLayout)]); err != nil {
		return 0, false
	}
	seq, err := strconv.ParseUint(rest[len(segmentTimeLayout)+1:], 10, 64)
	return seq, err == nil
}

// listSegments returns the segments in dir ordered by sequence number,
// which is the order they were written in even if the clock jumped.
func listSegments(dir string) ([]segment, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot list event log directory: %w", err)
	}
	var segs []segment
	for _, e := range ents {
		seq, ok := parseSegmentName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // deleted meanwhile
		}
		segs = append(segs, segment{name: e.Name(), seq: seq, size: info.Size()})
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].seq < segs[j].seq })
	return segs, nil
}
