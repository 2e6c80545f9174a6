// Package eventlog is rtbd's append-only event log: bid, no-bid, win,
// billing and loss records pushed from the request path into a bounded
// lock-free ring, written by one goroutine as independent zstd-compressed
// blocks into segment files that rotate by size and age and are retained by
// total size, and read back by [Cat] and [Stats] (`rtbd log cat|stats`).
//
// # File format
//
// A segment is named events-<UTC time>-<seq>.zst and is a sequence of
// blocks. A block is a 16-byte header, all little endian,
//
//	magic u32 (0x184D2A5E), 8 u32, compressed length u32, CRC-32C u32
//
// followed by one complete zstd frame holding record frames (see
// appendRecord). The first two words make the header a zstd skippable
// frame, so a segment is also a valid zstd stream (`zstd -t` checks it).
// Every block is independent: a block is fully written with a single write
// or it is a torn tail, which the reader detects by length and CRC and skips.
//
// # Durability
//
// The writer flushes a block when about 256 KiB of records are pending or
// FlushInterval has passed, and fdatasyncs a segment when it rotates it and
// on [Log.Close]. A process crash (kill -9) loses only records not yet
// flushed, at most the last FlushInterval. A power loss may also lose what
// the kernel had not written back since the last rotation of the current
// segment, but never a rotated (synced) segment, and each surviving block
// is still readable because blocks do not depend on each other.
//
// # Write errors
//
// A block whose write fails, as on a full disk, is lost: its records are
// counted in rtbd_eventlog_lost_records_total ([Log.Lost]), the failure in
// rtbd_eventlog_write_errors_total, and the segment is truncated back to
// its last whole block and kept open, so that a full disk makes no new
// files and the log resumes in the same segment when space is freed.
// Records that [Log.Append] refuses (ring full, log closed) are counted in
// rtbd_eventlog_dropped_total ([Log.Dropped]).
package eventlog

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/rtbd/rtbd/daemon/config"
)

var (
	recordsTotal      = metrics.NewCounter(`rtbd_eventlog_records_total`)
	droppedTotal      = metrics.NewCounter(`rtbd_eventlog_dropped_total`)
	bytesWrittenTotal = metrics.NewCounter(`rtbd_eventlog_bytes_written_total`)
	rotationsTotal    = metrics.NewCounter(`rtbd_eventlog_rotations_total`)
	writeErrorsTotal  = metrics.NewCounter(`rtbd_eventlog_write_errors_total`)
	lostRecordsTotal  = metrics.NewCounter(`rtbd_eventlog_lost_records_total`)
	segmentsGauge     = metrics.NewGauge(`rtbd_eventlog_segments`, nil)
)

// Log is an open event log. Append is safe for concurrent use by any number
// of goroutines and never blocks; one writer goroutine owns the files.
// A nil *Log is a disabled log: Append returns false and Close returns nil.
type Log struct {
	q       *ring
	closed  atomic.Bool
	dropped atomic.Uint64
	flushed atomic.Uint64
	lost    atomic.Uint64

	wake    chan struct{}
	syncReq chan chan struct{}
	stop    chan struct{}
	done    chan struct{}

	closeOnce sync.Once
	closeErr  error
	w         *writer
}

// Open creates cfg.Dir if needed, applies retention to the segments already
// there and starts the writer goroutine. Zero fields of cfg take the values
// of config.Default().EventLog. An empty cfg.Dir disables the log: Open
// returns a nil *Log and no error.
func Open(cfg config.EventLog) (*Log, error) {
	return open(cfg, time.Now)
}

func open(cfg config.EventLog, now func() time.Time) (*Log, error) {
	if cfg.Dir == "" {
		return nil, nil
	}
	cfg = withDefaults(cfg)
	w, err := newWriter(cfg, now)
	if err != nil {
		return nil, err
	}
	l := &Log{
		q:       newRing(cfg.RingSize),
		wake:    make(chan struct{}, 1),
		syncReq: make(chan chan struct{}),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		w:       w,
	}
	w.flushed, w.lost = &l.flushed, &l.lost
	go l.run(cfg.FlushInterval.D())
	return l, nil
}

func withDefaults(cfg config.EventLog) config.EventLog {
	d := config.Default().EventLog
	if cfg.SegmentBytes <= 0 {
		cfg.SegmentBytes = d.SegmentBytes
	}
	if cfg.SegmentAge <= 0 {
		cfg.SegmentAge = d.SegmentAge
	}
	if cfg.RetainBytes <= 0 {
		cfg.RetainBytes = d.RetainBytes
	}
	if cfg.RingSize <= 0 {
		cfg.RingSize = d.RingSize
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = d.FlushInterval
	}
	return cfg
}

// Append copies *r into the ring and returns true, or drops it, counts it in
// rtbd_eventlog_dropped_total and returns false when the ring is full, the
// log is closed or l is nil. It never blocks and does not allocate; r may be
// reused as soon as Append returns.
func (l *Log) Append(r *Record) bool {
	if l == nil {
		return false
	}
	if l.closed.Load() {
		l.drop()
		return false
	}
	ok, wake := l.q.push(r)
	if wake {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
	if !ok {
		l.drop()
	}
	return ok
}

func (l *Log) drop() {
	l.dropped.Add(1)
	droppedTotal.Inc()
}

// Dropped returns how many records Append has dropped on l.
func (l *Log) Dropped() uint64 {
	if l == nil {
		return 0
	}
	return l.dropped.Load()
}

// Flushed returns how many records l has handed to the operating system in
// complete blocks: after a crash of the process, at least that many are
// readable.
func (l *Log) Flushed() uint64 {
	if l == nil {
		return 0
	}
	return l.flushed.Load()
}

// Lost returns how many records l accepted but could not write, because
// the write of their block failed (a full disk): the count of
// rtbd_eventlog_lost_records_total. Records that Append refused are
// counted by [Log.Dropped] instead.
func (l *Log) Lost() uint64 {
	if l == nil {
		return 0
	}
	return l.lost.Load()
}

// Close drains the ring, flushes the last block, fdatasyncs and closes the
// segment. Records appended concurrently with Close may be lost; stop the
// producers first. Close is idempotent and returns the first write error the
// log met, if any.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.closeOnce.Do(func() {
		l.closed.Store(true)
		close(l.stop)
		<-l.done
		l.closeErr = l.w.err
	})
	return l.closeErr
}

// sync makes the writer drain the ring and flush, and waits for it. Tests
// use it to observe a flush without sleeping.
func (l *Log) sync() {
	ack := make(chan struct{})
	select {
	case l.syncReq <- ack:
		<-ack
	case <-l.done:
	}
}

func (l *Log) run(flushInterval time.Duration) {
	defer close(l.done)
	t := time.NewTicker(flushInterval)
	defer t.Stop()
	for {
		select {
		case <-l.wake:
			l.drain()
		case <-t.C:
			l.drain()
			l.w.flush()
			l.w.maybeRotate()
		case ack := <-l.syncReq:
			l.drain()
			l.w.flush()
			l.w.maybeRotate()
			close(ack)
		case <-l.stop:
			l.drain()
			l.w.flush()
			l.w.closeSegment()
			return
		}
	}
}

// drain moves every published record from the ring into the pending block,
// flushing full blocks on the way.
func (l *Log) drain() {
	var r Record
	for l.q.pop(&r) {
		l.w.add(&r)
	}
}

// errThrottle limits error logs of the writer to one per period, so a full
// disk does not become a flood of logs.
type errThrottle struct {
	last   time.Time
	period time.Duration
}

func (t *errThrottle) log(now time.Time, msg string, err error, args ...any) {
	writeErrorsTotal.Inc()
	if now.Sub(t.last) < t.period {
		return
	}
	t.last = now
	slog.Error("eventlog: "+msg, append([]any{"err", err}, args...)...)
}

func fileErr(op, path string, err error) error {
	return fmt.Errorf("cannot %s %s: %w", op, path, err)
}
