package decision

import (
	"math/bits"
	"sync/atomic"
)

// freqTable counts impressions per (user, campaign) in a fixed-size,
// lock-free open-addressed table. Each slot is one atomic uint64:
//
//	fingerprint (28 bits) | count (12 bits) | window start (24 bits, unix seconds mod 2^24)
//
// A window starts at a user's first counted impression and lasts the
// campaign's window; an expired entry counts 0 and restarts on the next
// impression. Lookups probe at most freqProbe slots. Inserting into a full
// probe window evicts its oldest entry, so the table never grows and an
// evicted user may see a capped campaign again (caps are best effort under
// memory pressure). Concurrent first impressions of one key may create two
// entries; the later lookups see the first.
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

func unpack(v uint64) (fp, cnt, start uint64) {
	return v >> (freqCntBits + freqTimeBits), v >> freqTimeBits & freqCntMax, v & freqTimeMask
}

func pack(fp, cnt, start uint64) uint64 {
	return fp<<(freqCntBits+freqTimeBits) | cnt<<freqTimeBits | start&freqTimeMask
}

// age returns seconds since start, modulo the 24-bit clock.
func age(now int64, start uint64) int64 { return int64((uint64(now) - start) & freqTimeMask) }

// count returns the impressions of key h in the window ending at now.
func (t *freqTable) count(h uint64, now, window int64) int {
	fp := fingerprint(h)
	for i := uint64(0); i < freqProbe; i++ {
		v := t.slots[(h+i)&t.mask].Load()
		if v == 0 {
			return 0
		}
		if f, cnt, start := unpack(v); f == fp {
			if age(now, start) >= window {
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
	victim, oldest := -1, int64(-1)
	for i := uint64(0); i < freqProbe; i++ {
		s := &t.slots[(h+i)&t.mask]
		v := s.Load()
		if v == 0 {
			return s.CompareAndSwap(0, pack(fp, 1, uint64(now)))
		}
		f, cnt, start := unpack(v)
		if f == fp {
			nv := pack(fp, min(cnt+1, freqCntMax), start)
			if age(now, start) >= window {
				nv = pack(fp, 1, uint64(now))
			}
			return s.CompareAndSwap(v, nv)
		}
		if a := age(now, start); a > oldest {
			victim, oldest = int(i), a
		}
	}
	s := &t.slots[(h+uint64(victim))&t.mask]
	v := s.Load()
	if f, _, _ := unpack(v); f == fp {
		return false // raced with an insert of the same key: retry
	}
	return s.CompareAndSwap(v, pack(fp, 1, uint64(now)))
}

func (t *freqTable) occupancy() (used, total int) {
	for i := range t.slots {
		if t.slots[i].Load() != 0 {
			used++
		}
	}
	return used, len(t.slots)
}
