package server

import (
	"math/bits"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// transactionEvictions counts transaction ids that a new one pushed out of
// the table while still in bidding.transactionWindow: the same opportunity
// arriving later by another path would get a second bid.
var transactionEvictions = metrics.NewCounter(`rtbd_transaction_evictions_total`)

// transactions remembers the transaction ids (source.tid) this host bid on
// within bidding.transactionWindow, and the path (the bid endpoint, one
// per exchange) each came by, so that the same opportunity arriving by
// another path gets a no-bid instead of a second bid (see
// config.Bidding.TransactionWindow). The path that bid may bid on the id
// again: an exchange that repeats an id is not another path to the
// opportunity, and may be one that reuses ids (a constant, or one id for
// several slots of a break sent as several requests).
//
// It is a fixed table of words, read and written with atomic loads and
// compare-and-swap: no lock on the bid path and no allocation. A word holds
// a 32-bit fingerprint of the id's hash, the path's number (10 bits) and
// the low 22 bits of the millisecond it was bid on; 0 is an empty slot. An
// id lives in one bucket of four adjacent words (32 bytes, within one cache
// line), chosen by the hash's low bits; a new id takes an empty word, else
// one whose window has passed, else the oldest.
//
// Times wrap every 2^22 ms (70 minutes), which the one-hour bound of the
// window leaves room for: an id whose entry is a multiple of 70 minutes
// old could look recent, but transaction ids do not come back an hour
// later. Paths beyond 1,023 share numbers. Two requests with the same id
// racing through claim get one true between them, unless a third id
// changes their bucket between their reads.
type transactions struct {
	slots  []atomic.Uint64
	mask   uint64
	window uint64 // milliseconds
}

const (
	txBucket   = 4
	txTickBits = 22
	txTickMask = 1<<txTickBits - 1
	txPathBits = 10
	txPathMask = 1<<txPathBits - 1
	txFPShift  = txTickBits + txPathBits
	// txAnyPath is no path's number: seen with it finds an id bid on by any.
	txAnyPath = 1 << txPathBits
)

// newTransactions returns a table of at least slots entries (rounded up to
// a power of two, at least one bucket) that remembers ids for window.
func newTransactions(window time.Duration, slots int) *transactions {
	n := max(1<<bits.Len(uint(max(slots, 1)-1)), txBucket)
	return &transactions{
		slots:  make([]atomic.Uint64, n),
		mask:   uint64(n - 1),
		window: uint64(window / time.Millisecond),
	}
}

// txFingerprint is the word's fingerprint part of hash h, never 0.
func txFingerprint(h uint64) uint64 { return max(h>>32, 1) }

// txTick is the word's time part of now.
func txTick(now time.Time) uint64 { return uint64(now.UnixMilli()) & txTickMask }

// txPath is the word's path part of v.
func txPath(v uint64) uint64 { return v >> txTickBits & txPathMask }

// seen reports whether the id with hash h was bid on by a path other than
// path (a number below 2^10, or txAnyPath) within the window before now.
// It only reads.
func (t *transactions) seen(h, path uint64, now time.Time) bool {
	fp, tick := txFingerprint(h), txTick(now)
	b := h & t.mask &^ (txBucket - 1)
	for i := range uint64(txBucket) {
		v := t.slots[b+i].Load()
		if v == 0 {
			return false // buckets fill from their first word
		}
		if v>>txFPShift == fp && (tick-v)&txTickMask < t.window {
			return txPath(v) != path
		}
	}
	return false
}

// claim records a bid by path (a number below 2^10) on the id with hash h
// at now and reports
// true, or reports false when another path bid on the id within the window
// before now. Under contention on its bucket it gives up after a few
// attempts and reports true: a second bid is the lesser harm than a lost
// one.
func (t *transactions) claim(h, path uint64, now time.Time) bool {
	fp, tick := txFingerprint(h), txTick(now)
	b := h & t.mask &^ (txBucket - 1)
	word := fp<<txFPShift | (path&txPathMask)<<txTickBits | tick
	for range 4 {
		victim, old, oldest := b, uint64(0), uint64(0)
		for i := range uint64(txBucket) {
			v := t.slots[b+i].Load()
			if v == 0 {
				victim, old = b+i, 0
				break
			}
			age := (tick - v) & txTickMask
			if v>>txFPShift == fp {
				if age < t.window {
					// The window counts from the first bid.
					return txPath(v) == path&txPathMask
				}
				victim, old = b+i, v // its own expired entry
				break
			}
			if age >= oldest {
				victim, old, oldest = b+i, v, age
			}
		}
		if t.slots[victim].CompareAndSwap(old, word) {
			if old != 0 && old>>txFPShift != fp && (tick-old)&txTickMask < t.window {
				transactionEvictions.Inc()
			}
			return true
		}
	}
	return true
}
