package notice

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"sync"

	"github.com/VictoriaMetrics/metrics"
)

// probeWindow is how many consecutive slots a fingerprint may occupy. It
// bounds the work per notice (four cache lines); when all are live, the
// oldest is evicted. A full table (the 48 h TTL under steady traffic)
// then remembers 99.5 % of the notices half a table of entries old, and
// 98 % at 0.6 (TestDedupeRetention); with 8 it was 97 % and 92 %.
const probeWindow = 16

// maxShards bounds the number of mutexes; 256 makes contention between the
// (few) cores that take notices negligible.
const maxShards = 256

// dedupeSlot holds one processed (kind, bid id). fp == 0 means empty.
type dedupeSlot struct {
	fp  uint64 // xxhash fingerprint of kind and bid id, never 0 when used
	exp int64  // expiry, unix nanoseconds
}

// dedupeShard is a mutex and the slots it guards, padded so that two shards'
// mutexes never share a cache line.
type dedupeShard struct {
	mu    sync.Mutex
	slots []dedupeSlot
	_     [64 - 8 - 24]byte
}

// dedupeTable is a fixed-size set of fingerprints with expiry: a sharded,
// open-addressed hash table with bounded linear probing. It never grows and
// never allocates after newDedupeTable. It is safe for concurrent use.
type dedupeTable struct {
	shards    []dedupeShard
	evictions *metrics.Counter
	shardMask uint64
	slotMask  uint64
	probe     int
	ttl       int64
}

// newDedupeTable returns a table of at least slots slots (rounded up to a
// power of two, at least probeWindow) whose entries live for ttlNanos and
// whose evictions count in evictions.
func newDedupeTable(slots int, ttlNanos int64, evictions *metrics.Counter) *dedupeTable {
	total := ceilPow2(max(slots, probeWindow))
	nShards := min(maxShards, max(1, total/(8*probeWindow)))
	perShard := total / nShards
	t := &dedupeTable{
		shards:    make([]dedupeShard, nShards),
		shardMask: uint64(nShards - 1),
		slotMask:  uint64(perShard - 1),
		probe:     min(probeWindow, perShard),
		ttl:       ttlNanos,
		evictions: evictions,
	}
	for i := range t.shards {
		t.shards[i].slots = make([]dedupeSlot, perShard)
	}
	return t
}

// ceilPow2 returns the smallest power of two >= n, for n >= 1.
func ceilPow2(n int) int {
	return 1 << bits.Len(uint(n-1))
}

// seen records fp at time now (unix nanoseconds) and reports whether it was
// already recorded and not yet expired. Exactly one of several concurrent
// calls with the same fp returns false, unless the entry is evicted between them.
func (t *dedupeTable) seen(fp uint64, now int64) bool {
	if fp == 0 {
		fp = 1 // 0 marks an empty slot
	}
	sh := &t.shards[fp&t.shardMask]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	j, dup := t.slot(sh, fp, now)
	if !dup {
		sh.slots[j] = dedupeSlot{fp: fp, exp: now + t.ttl}
	}
	return dup
}

// has reports whether fp is live at now, without recording it.
func (t *dedupeTable) has(fp uint64, now int64) bool {
	if fp == 0 {
		fp = 1 // as seen records it
	}
	sh := &t.shards[fp&t.shardMask]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	start := fp >> 32
	for i := 0; i < t.probe; i++ {
		if s := &sh.slots[int((start+uint64(i))&t.slotMask)]; s.fp == fp && s.exp > now {
			return true
		}
	}
	return false
}

// slot returns where fp lives in sh's probe window at now (dup true), or
// else where to record it: the first slot not live, or the live one that
// expires soonest, counted as an eviction. The caller holds sh.mu.
func (t *dedupeTable) slot(sh *dedupeShard, fp uint64, now int64) (j int, dup bool) {
	start := fp >> 32
	free, oldest := -1, -1
	for i := 0; i < t.probe; i++ {
		j := int((start + uint64(i)) & t.slotMask)
		s := &sh.slots[j]
		live := s.fp != 0 && s.exp > now
		if live && s.fp == fp {
			return j, true
		}
		if !live {
			if free < 0 {
				free = j
			}
		} else if oldest < 0 || s.exp < sh.slots[oldest].exp {
			oldest = j
		}
	}
	if free < 0 {
		t.evictions.Inc()
		return oldest, false
	}
	return free, false
}

// appendLive appends every entry live at now to dst as fingerprint u64 and
// expiry i64 (unix nanoseconds), little endian, after a count u64. Each
// shard is locked while it is copied.
func (t *dedupeTable) appendLive(dst []byte, now int64) []byte {
	at := len(dst)
	dst = binary.LittleEndian.AppendUint64(dst, 0)
	n := uint64(0)
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for _, s := range sh.slots {
			if s.fp != 0 && s.exp > now {
				dst = binary.LittleEndian.AppendUint64(dst, s.fp)
				dst = binary.LittleEndian.AppendUint64(dst, uint64(s.exp))
				n++
			}
		}
		sh.mu.Unlock()
		runtime.Gosched() // a large table must not hold a serving core
	}
	binary.LittleEndian.PutUint64(dst[at:], n)
	return dst
}

// restore inserts appendLive's entries that are still live at now, keeping
// their expiry, and returns how many it inserted. It checks the whole
// input first, and hands each entry it inserts to each, when not nil.
// Entries are placed by fingerprint, so a table of another
// size takes them too; when it is smaller, the soonest to expire go first.
func (t *dedupeTable) restore(b []byte, now int64, each func(fp uint64, exp int64)) (int, error) {
	if len(b) < 8 {
		return 0, errors.New("truncated entry count")
	}
	n := binary.LittleEndian.Uint64(b)
	b = b[8:]
	if n > uint64(len(b))/16 || uint64(len(b)) != 16*n {
		return 0, fmt.Errorf("%d entries declared in %d bytes", n, len(b))
	}
	for i := uint64(0); i < n; i++ {
		if binary.LittleEndian.Uint64(b[16*i:]) == 0 {
			return 0, fmt.Errorf("entry %d: zero fingerprint", i)
		}
	}
	restored := 0
	for i := uint64(0); i < n; i++ {
		fp, exp := binary.LittleEndian.Uint64(b[16*i:]), int64(binary.LittleEndian.Uint64(b[16*i+8:]))
		if exp <= now {
			continue
		}
		t.put(fp, exp, now)
		if each != nil {
			each(fp, exp)
		}
		restored++
	}
	return restored, nil
}

// put records fp with expiry exp, as seen does with its own.
func (t *dedupeTable) put(fp uint64, exp, now int64) {
	sh := &t.shards[fp&t.shardMask]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	j, _ := t.slot(sh, fp, now)
	sh.slots[j] = dedupeSlot{fp: fp, exp: exp}
}
