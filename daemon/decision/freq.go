package decision

import (
	"math"
	"math/bits"
	"sync/atomic"

	"github.com/rtbd/rtbd/daemon/campaign"
)

// freqTable counts impressions per (user, campaign) in a fixed-size,
// lock-free open-addressed table. Each slot is one atomic uint64:
//
//	fingerprint (28 bits) | count (12 bits) | window end (24 bits, unix seconds mod 2^24)
//
// A window starts at a user's first counted impression and lasts the
// campaign's window; an expired entry counts 0 and restarts on the next
// impression. Lookups probe at most freqProbe slots. Inserting into a full
// probe window takes an expired entry's slot, else the one whose window
// ends first, so the table never grows and an evicted user may see a
// capped campaign again (caps are best effort under memory pressure).
// Slots are never emptied, so the table is soon full: evicting by window
// start instead took a live 7-day cap before expired 1-hour ones, and a
// table with some long caps among many short ones kept no long cap a day.
// Concurrent first impressions of one key may create two entries; the
// later lookups see the first.
type freqTable struct {
	slots []atomic.Uint64
	mask  uint64
}

const (
	freqProbe    = 8
	freqFPBits   = 28
	freqCntBits  = 12
	freqTimeBits = 24
	freqCntMax   = 1<<freqCntBits - 1
	freqTimeMask = 1<<freqTimeBits - 1
)

func (t *freqTable) init(n int) {
	size := 1024
	for size < n {
		size <<= 1
	}
	t.slots = make([]atomic.Uint64, size)
	t.mask = uint64(size - 1)
}

// freqHash mixes a user key and a campaign key into a table key.
func freqHash(user, camp uint64) uint64 {
	return intKey(user ^ bits.RotateLeft64(camp, 17))
}

func fingerprint(h uint64) uint64 { return (h>>36)&(1<<freqFPBits-1) | 1 }

func unpack(v uint64) (fp, cnt, end uint64) {
	return v >> (freqCntBits + freqTimeBits), v >> freqTimeBits & freqCntMax, v & freqTimeMask
}

func pack(fp, cnt, end uint64) uint64 {
	return fp<<(freqCntBits+freqTimeBits) | cnt<<freqTimeBits | end&freqTimeMask
}

// remaining returns the seconds until the window ending at end (modulo
// the 24-bit clock) closes, 0 once it has: a window is at most
// campaign.MaxFreqCapWindow long, so a larger distance is one in the past.
func remaining(now int64, end uint64) int64 {
	if r := int64((end - uint64(now)) & freqTimeMask); r <= campaign.MaxFreqCapWindow {
		return r
	}
	return 0
}

// windowOpen reports whether a window ending at end is open at now for a
// campaign whose window is now window seconds: one that ends further away
// was opened under a longer window, which a reload shortened, and is over
// (else a mistaken 7-day cap cut to an hour kept its users capped a week).
func windowOpen(now int64, end uint64, window int64) bool {
	r := remaining(now, end)
	return r > 0 && r <= window
}

// count returns the impressions of key h in its window open at now.
func (t *freqTable) count(h uint64, now, window int64) int {
	fp := fingerprint(h)
	for i := uint64(0); i < freqProbe; i++ {
		v := t.slots[(h+i)&t.mask].Load()
		if v == 0 {
			return 0
		}
		if f, cnt, end := unpack(v); f == fp {
			if !windowOpen(now, end, window) {
				return 0
			}
			return int(cnt)
		}
	}
	return 0
}

// incr counts one impression of key h at now.
func (t *freqTable) incr(h uint64, now, window int64) {
	fp := fingerprint(h)
	for attempt := 0; attempt < 32; attempt++ { // bounded: a hot key under contention may drop a count
		if t.tryIncr(h, fp, now, window) {
			return
		}
	}
}

func (t *freqTable) tryIncr(h, fp uint64, now, window int64) bool {
	end := uint64(now + window)
	victim, least := -1, int64(math.MaxInt64)
	for i := uint64(0); i < freqProbe; i++ {
		s := &t.slots[(h+i)&t.mask]
		v := s.Load()
		if v == 0 {
			return s.CompareAndSwap(0, pack(fp, 1, end))
		}
		f, cnt, e := unpack(v)
		if f == fp {
			nv := pack(fp, min(cnt+1, freqCntMax), e)
			if !windowOpen(now, e, window) {
				nv = pack(fp, 1, end)
			}
			return s.CompareAndSwap(v, nv)
		}
		if r := remaining(now, e); r < least {
			victim, least = int(i), r
		}
	}
	s := &t.slots[(h+uint64(victim))&t.mask]
	v := s.Load()
	if f, _, _ := unpack(v); f == fp {
		return false // raced with an insert of the same key: retry
	}
	return s.CompareAndSwap(v, pack(fp, 1, end))
}

func (t *freqTable) occupancy() (used, total int) {
	for i := range t.slots {
		if t.slots[i].Load() != 0 {
			used++
		}
	}
	return used, len(t.slots)
}
