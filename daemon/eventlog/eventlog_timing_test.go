package eventlog

import (
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"unsafe"
)

var benchSink atomic.Uint64

// BenchmarkAppend pushes records from all Ps into a log whose writer drains
// and compresses them to disk; "drop" counts records the ring refused.
func BenchmarkAppend(b *testing.B) {
	cfg := testConfig(b)
	cfg.RingSize = 1 << 16
	l, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(unsafe.Sizeof(Record{})))
	b.RunParallel(func(pb *testing.PB) {
		r := testRecord(7)
		for pb.Next() {
			l.Append(&r)
		}
	})
	b.StopTimer()
	l.Close()
	b.ReportMetric(float64(l.Dropped())/float64(b.N), "drop/op")
	benchSink.Add(l.Flushed())
}

// BenchmarkAppendDrained is Append against a consumer that only pops (no
// encoding, no disk), woken the way the writer is: the cost of the lock-free
// hand-off itself, comparable with BenchmarkChanSendBaseline.
func BenchmarkAppendDrained(b *testing.B) {
	l := newRingOnlyLog(1 << 16)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var r Record
		for {
			select {
			case <-l.wake:
				for l.q.pop(&r) {
				}
			case <-stop:
				return
			}
		}
	}()
	b.ReportAllocs()
	b.SetBytes(int64(unsafe.Sizeof(Record{})))
	b.RunParallel(func(pb *testing.PB) {
		r := testRecord(7)
		for pb.Next() {
			l.Append(&r)
		}
	})
	b.StopTimer()
	close(stop)
	<-done
	b.ReportMetric(float64(l.Dropped())/float64(b.N), "drop/op")
}

// BenchmarkChanSendBaseline is the baseline: the same records sent on a
// buffered channel with a non-blocking send, drained by one goroutine.
func BenchmarkChanSendBaseline(b *testing.B) {
	ch := make(chan Record, 1<<16)
	done := make(chan struct{})
	var dropped atomic.Uint64
	go func() {
		var n uint64
		for r := range ch {
			n += uint64(r.Kind)
		}
		benchSink.Add(n)
		close(done)
	}()
	b.ReportAllocs()
	b.SetBytes(int64(unsafe.Sizeof(Record{})))
	b.RunParallel(func(pb *testing.PB) {
		r := testRecord(7)
		for pb.Next() {
			select {
			case ch <- r:
			default:
				dropped.Add(1)
			}
		}
	})
	b.StopTimer()
	close(ch)
	<-done
	b.ReportMetric(float64(dropped.Load())/float64(b.N), "drop/op")
}

// BenchmarkAppendPopSerial is the uncontended hand-off: one goroutine
// appends a record and pops it back, so nothing drops.
func BenchmarkAppendPopSerial(b *testing.B) {
	l := newRingOnlyLog(1 << 10)
	r, out := testRecord(7), Record{}
	b.ReportAllocs()
	b.SetBytes(int64(unsafe.Sizeof(Record{})))
	for b.Loop() {
		if !l.Append(&r) || !l.q.pop(&out) {
			b.Fatal("ring lost a record")
		}
	}
}

// BenchmarkChanSerialBaseline is the baseline of BenchmarkAppendPopSerial:
// a send and a receive on a buffered channel.
func BenchmarkChanSerialBaseline(b *testing.B) {
	ch := make(chan Record, 1<<10)
	r, out := testRecord(7), Record{}
	b.ReportAllocs()
	b.SetBytes(int64(unsafe.Sizeof(Record{})))
	for b.Loop() {
		ch <- r
		out = <-ch
	}
	benchSink.Add(uint64(out.Kind))
}

// BenchmarkWriter measures the writer alone: record frames encoded,
// compressed and written to a segment. Bytes are raw record frame bytes.
func BenchmarkWriter(b *testing.B) {
	w, flushed := testWriter(b, testConfig(b))
	r := testRecord(7)
	b.ReportAllocs()
	b.SetBytes(int64(len(appendRecord(nil, &r))))
	for i := 0; b.Loop(); i++ {
		r.TimeUnixNano += int64(i)
		w.add(&r)
	}
	w.flush()
	w.closeSegment()
	benchSink.Add(flushed.Load())
}

// BenchmarkCat measures the reader: records decoded and printed as JSON.
func BenchmarkCat(b *testing.B) {
	cfg := testConfig(b)
	l, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	appendAll(b, l, 0, 10000)
	l.Close()
	var rd Reader
	benchRead(b, rd.Cat, cfg.Dir, 10000)
}

// benchRead runs read over dir, which holds records records, until b is
// done, and reports the records read per second.
func benchRead(b *testing.B, read func(io.Writer, ...string) (int64, error), dir string, records int) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := read(io.Discard, dir); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*float64(records)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkStatsDeals measures log stats over 20,000 bids through a deal
// and their bills: "named", bills whose notice URLs named the deal (one
// read of the records, no index), and "unnamed", those of bids made
// before rtbd named deals (two more reads, and a map of the deal bids by
// bid id: the memory that grows with the log). Campaign, exchange and
// deal ids are of real lengths: an id of one byte converts to a string
// without allocating, and hid the allocations per record.
func BenchmarkStatsDeals(b *testing.B) {
	for _, named := range []bool{true, false} {
		b.Run(map[bool]string{true: "named", false: "unnamed"}[named], func(b *testing.B) {
			cfg := testConfig(b)
			w, _ := testWriter(b, cfg)
			const n = 20000
			for i := range n {
				id := fmt.Sprintf("bid-%08d", i)
				bid := rec(KindBid, id, "pg-deal-0001", 5)
				bid.SetCampaignIDString("campaign-000123")
				bid.SetExchangeString("exchange-one")
				w.add(&bid)
				bill := rec(KindBill, id, "", 2)
				bill.SetCampaignIDString("campaign-000123")
				bill.SetExchangeString("exchange-one")
				if named {
					bill.SetDealID([]byte("pg-deal-0001"))
					bill.DealKnown = true
				}
				w.add(&bill)
			}
			w.flush()
			w.closeSegment()
			var rd Reader
			benchRead(b, rd.Stats, cfg.Dir, 2*n)
		})
	}
}
