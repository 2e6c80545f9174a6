package eventlog

import (
	"math/bits"
	"sync/atomic"
)

// ring is a bounded lock-free multi-producer single-consumer queue of
// records with one sequence number per slot (Dmitry Vyukov's bounded MPMC
// queue, used with one consumer). See
// https://www.1024cores.net/home/lock-free-algorithms/queues/bounded-mpmc-queue
//
// A producer claims a position with one CAS on tail, copies the record into
// the slot and publishes it by storing the slot's sequence; it never waits
// for the consumer: a slot still owned by the consumer means "full".
type ring struct {
	_    [64]byte // keep tail off the cache line of whatever precedes the ring
	tail atomic.Uint64
	_    [56]byte
	head uint64 // consumer only
	mask uint64
	// wakeMask: a producer whose position p has p&wakeMask == 0 wakes the
	// consumer, so it drains every wakeMask+1 records without a signal per
	// record.
	wakeMask uint64
	slots    []slot
}

type slot struct {
	seq atomic.Uint64
	rec Record
}

// newRing returns a ring with at least size slots (rounded up to a power of two).
func newRing(size int) *ring {
	if size < 2 {
		size = 2
	}
	n := uint64(1) << bits.Len64(uint64(size-1))
	q := &ring{mask: n - 1, slots: make([]slot, n)}
	for i := range q.slots {
		q.slots[i].seq.Store(uint64(i))
	}
	wake := min(n/4, 1024)
	if wake == 0 {
		wake = 1
	}
	q.wakeMask = wake - 1
	return q
}

// push copies *r into the ring. It returns ok=false when the ring is full,
// and wake=true when the caller should signal the consumer.
func (q *ring) push(r *Record) (ok, wake bool) {
	pos := q.tail.Load()
	for {
		s := &q.slots[pos&q.mask]
		seq := s.seq.Load()
		switch dif := int64(seq - pos); {
		case dif == 0:
			if q.tail.CompareAndSwap(pos, pos+1) {
				s.rec = *r
				s.seq.Store(pos + 1)
				return true, (pos+1)&q.wakeMask == 0
			}
			pos = q.tail.Load()
		case dif < 0:
			return false, true
		default:
			pos = q.tail.Load()
		}
	}
}

// pop copies the oldest published record into *r. It returns false when the
// ring is empty or the oldest slot is claimed but not yet published.
// Only one goroutine may call pop.
func (q *ring) pop(r *Record) bool {
	s := &q.slots[q.head&q.mask]
	if s.seq.Load() != q.head+1 {
		return false
	}
	*r = s.rec
	s.seq.Store(q.head + q.mask + 1)
	q.head++
	return true
}
