package eventlog

import (
	"sync"
	"sync/atomic"
	"testing"
)

// newRingOnlyLog returns a Log with a ring and no writer goroutine, so
// nothing drains it.
func newRingOnlyLog(size int) *Log {
	return &Log{q: newRing(size), wake: make(chan struct{}, 1)}
}

func TestRingSizeRoundsUp(t *testing.T) {
	t.Parallel()
	f := func(size, want int) {
		t.Helper()
		if got := len(newRing(size).slots); got != want {
			t.Fatalf("unexpected result for len(newRing(%d).slots); got %d; want %d", size, got, want)
		}
	}
	f(0, 2)
	f(1, 2)
	f(2, 2)
	f(3, 4)
	f(1000, 1024)
	f(65536, 65536)
}

func TestRingFullDrops(t *testing.T) {
	t.Parallel()
	l := newRingOnlyLog(8)
	r := testRecord(1)
	for i := range 8 {
		if !l.Append(&r) {
			t.Fatalf("Append %d on a ring of 8 dropped", i)
		}
	}
	before := droppedTotal.Get()
	if l.Append(&r) {
		t.Fatal("Append on a full ring returned true")
	}
	if l.Dropped() != 1 || droppedTotal.Get() < before+1 {
		t.Fatalf("Dropped() = %d, metric %d -> %d; want the drop counted", l.Dropped(), before, droppedTotal.Get())
	}
	var got Record
	if !l.q.pop(&got) || got != r {
		t.Fatal("pop after a drop did not return the first record")
	}
	if !l.Append(&r) {
		t.Fatal("Append after a pop freed a slot dropped")
	}
}

// TestAppendNeverBlocks fills a ring nobody drains from many goroutines:
// every call returns, exactly the ring's size succeed, the rest are counted.
func TestAppendNeverBlocks(t *testing.T) {
	t.Parallel()
	const size, goroutines, each = 64, 8, 500
	l := newRingOnlyLog(size)
	var ok atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := testRecord(g)
			for range each {
				if l.Append(&r) {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if ok.Load() != size || l.Dropped() != goroutines*each-size {
		t.Fatalf("accepted %d, dropped %d; want %d and %d", ok.Load(), l.Dropped(), size, goroutines*each-size)
	}
}

// TestRingConcurrent checks that with producers and a consumer running at
// once every accepted record arrives exactly once, in each producer's order.
func TestRingConcurrent(t *testing.T) {
	t.Parallel()
	const producers, each = 4, 5000
	q := newRing(16)
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r Record
			r.Reason = uint8(p)
			for i := 0; i < each; {
				r.TimeUnixNano = int64(i)
				if ok, _ := q.push(&r); ok {
					i++
				}
			}
		}()
	}
	next := make([]int64, producers)
	var r Record
	for got := 0; got < producers*each; {
		if !q.pop(&r) {
			continue
		}
		got++
		if p := r.Reason; r.TimeUnixNano != next[p] {
			t.Fatalf("producer %d: got record %d; want %d", p, r.TimeUnixNano, next[p])
		}
		next[r.Reason]++
	}
	wg.Wait()
	if q.pop(&r) {
		t.Fatal("ring not empty after all records were consumed")
	}
}
