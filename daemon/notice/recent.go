package notice

import (
	"encoding/binary"
	"slices"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// RecentBillsSlots is how many billing and win notices processed since
// the last save of the dedupe table [Handler.AppendRecentBills] keeps:
// 8 MiB, a minute of tables interval at 4,300 bills and as many wins per
// second. Past it the oldest are dropped and counted in
// rtbd_notice_recent_bills_dropped_total.
const RecentBillsSlots = 1 << 19

var recentBillsDropped = metrics.NewCounter(`rtbd_notice_recent_bills_dropped_total`)

// recentBills is a ring of the billing notices processed since the dedupe
// table was last saved. Spend is saved far more often than the table, so
// after a crash the spend file holds bills that the restored table does
// not: without this ring, an exchange that fires one of them again
// (a retry, a replay after its own outage) charges it a second time.
// The ring is saved with the spend, in the same file, and restored into
// the dedupe table.
type recentBills struct {
	mu   sync.Mutex
	ring []dedupeSlot // a power of two long
	w    uint64       // entries written
	base uint64       // the first entry the last saved table may lack
	mark uint64       // w when the table being saved was read
}

func newRecentBills(n int) *recentBills {
	return &recentBills{ring: make([]dedupeSlot, ceilPow2(max(n, 1)))}
}

// add records the billing notice fp, remembered until exp.
func (r *recentBills) add(fp uint64, exp int64) {
	if fp == 0 {
		fp = 1 // as the dedupe table stores it
	}
	r.mu.Lock()
	if r.w-r.base >= uint64(len(r.ring)) {
		r.base++
		recentBillsDropped.Inc()
	}
	r.ring[r.w&uint64(len(r.ring)-1)] = dedupeSlot{fp: fp, exp: exp}
	r.w++
	r.mu.Unlock()
}

// marked notes that the dedupe table is being read for a save: what was
// added before is in it once that save is written (see saved).
func (r *recentBills) marked() {
	r.mu.Lock()
	r.mark = r.w
	r.mu.Unlock()
}

// saved drops the entries added before the table save that marked read
// the table, now that it is written.
func (r *recentBills) saved() {
	r.mu.Lock()
	r.base = max(r.base, r.mark)
	r.mu.Unlock()
}

// recentChunk is how many entries appendLive copies per hold of the
// lock: 64 KiB, some microseconds, so that billing notices do not wait
// for a whole ring's copy (4 MiB, milliseconds) at each save.
const recentChunk = 4096

// appendLive appends the entries the saved table may lack and that are
// live at now, in the dedupe table's format (see dedupeTable.appendLive).
// It copies them chunk by chunk, letting bills in between: an entry
// that a bill overwrites meanwhile (the ring wrapped) was dropped anyway.
func (r *recentBills) appendLive(dst []byte, now int64) []byte {
	r.mu.Lock()
	lo, hi := r.base, r.w
	r.mu.Unlock()
	at := len(dst)
	dst = binary.LittleEndian.AppendUint64(dst, 0)
	dst = slices.Grow(dst, int(hi-lo)*16) // outside the lock
	n, size := uint64(0), uint64(len(r.ring))
	for i := lo; i < hi; {
		r.mu.Lock()
		if r.w > size {
			i = max(i, r.w-size) // those before were overwritten
		}
		for end := min(hi, i+recentChunk); i < end; i++ {
			if s := r.ring[i&(size-1)]; s.exp > now {
				dst = binary.LittleEndian.AppendUint64(dst, s.fp)
				dst = binary.LittleEndian.AppendUint64(dst, uint64(s.exp))
				n++
			}
		}
		r.mu.Unlock()
	}
	binary.LittleEndian.PutUint64(dst[at:], n)
	return dst
}

// remember adds the billing notice fp, just recorded in the dedupe
// table, to the recent bills when they are kept.
func (h *Handler) remember(fp uint64, now time.Time) {
	if h.recent != nil {
		h.recent.add(fp, now.UnixNano()+h.dedupe.ttl)
	}
}

// KeepRecentBills makes the handler remember up to RecentBillsSlots
// billing notices processed since the last AppendDedupe whose save
// completed (see DedupeSaved), for AppendRecentBills. Call it before the
// handler serves, when the spend is saved more often than the table. A
// bill is remembered after its charge, and the file that keeps the spend
// must read AppendRecentBills before the spend: a save between the two
// then holds the spend without the bill, which a replay charges again,
// rather than the bill without its spend, which a replay would lose.
func (h *Handler) KeepRecentBills() {
	h.recent = newRecentBills(RecentBillsSlots)
}

// DedupeSaved tells the handler that the table the last AppendDedupe
// read is written: the billing notices processed before it need no longer
// be in AppendRecentBills.
func (h *Handler) DedupeSaved() {
	if h.recent != nil {
		h.recent.saved()
	}
}

// AppendRecentBills appends the billing notices processed since the
// dedupe table was last saved, for the file that keeps the spend they
// moved: after a crash, a restored spend that counts a bill also knows
// it as processed.
func (h *Handler) AppendRecentBills(dst []byte) []byte {
	if h.recent == nil {
		return binary.LittleEndian.AppendUint64(dst, 0)
	}
	return h.recent.appendLive(dst, h.now().UnixNano())
}

// RestoreRecentBills loads AppendRecentBills' output into the dedupe
// table and returns the number of live entries restored. Call it before
// the handler serves.
func (h *Handler) RestoreRecentBills(b []byte) (int, error) {
	var keep func(fp uint64, exp int64)
	if h.recent != nil {
		// They stay recent until a save of the tables holds them: the
		// first one may fail, or the host die while it writes.
		keep = h.recent.add
	}
	return h.dedupe.restore(b, h.now().UnixNano(), keep)
}
