package decision

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"

	"github.com/cespare/xxhash/v2"
)

// spendEntryLen is the fixed part of one campaign in AppendSpend's format:
// id length u16, then day, today and total as int64.
const spendEntryLen = 2 + 3*8

// AppendSpend appends every campaign's spend counters to dst, for the
// state file: count u32, then per campaign (sorted by id) id length u16,
// id, UTC day number i64, spend of that day i64, total spend i64, in
// micro-units of the campaign file currency, little endian. Campaigns
// that were dropped by a reload are kept, so that their spend survives
// their return. Safe while bills are counted: each counter is read
// atomically.
//
// The state file calls it every state.saveInterval and each peer every
// state.peerInterval, on the cores that serve bids. The campaigns' order
// is kept until the campaign set changes (a reload, a restore), and the
// loop yields every spendYieldEvery campaigns: with 10^5 campaigns,
// sorting them on each call took 36-58 ms of a core without a yield.
func (s *State) AppendSpend(dst []byte) []byte {
	dst, _ = s.AppendSpendSince(dst, 0)
	return dst
}

// AppendSpendSince appends, in AppendSpend's format, the campaigns whose
// spend changed after version since, all of them for 0, and returns the
// version the answer is complete up to: the since of the next call. A
// since above that, which this State did not give, gets the whole spend.
// A peer that read the whole spend before asks for what changed since,
// which with 10^5 campaigns of which a few hundred moved is a few KB
// where the whole is 4 MB, every second to every peer. A version means
// something only to the State that gave it: see [State.SpendEpoch].
func (s *State) AppendSpendSince(dst []byte, since uint64) ([]byte, uint64) {
	// Every Bill that stamped a version up to v has stamped it by now,
	// and every one after stamps a version above v.
	s.stamping.Lock()
	v := s.version.Load()
	s.stamping.Unlock()
	if since > v {
		since = 0
	}
	m := s.camps.Load()
	o := s.order.Load()
	if o == nil || o.of != m {
		o = newSpendOrder(m)
		s.order.Store(o)
	}
	at := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	n := uint32(0)
	for i, cs := range o.states {
		if i%spendYieldEvery == spendYieldEvery-1 {
			runtime.Gosched() // many campaigns must not hold a serving core
		}
		if cs.ver.Load() <= since {
			continue
		}
		e := CampaignSpend{Day: int64(cs.day.Load()), Today: cs.today.Load(), Total: cs.total.Load()}
		if e.Total != 0 || e.Today != 0 {
			e.ID = o.ids[i]
			dst = appendSpendEntry(dst, &e)
			n++
		}
	}
	binary.LittleEndian.PutUint32(dst[at:], n)
	return dst, v
}

// SpendEpoch names the versions of [State.AppendSpendSince]: a random
// number, positive as an int64, that differs from one State, and so one
// process, to the next.
func (s *State) SpendEpoch() uint64 { return s.epoch }

// spendYieldEvery is how many campaigns AppendSpend and DecodeSpend
// handle between yields.
const spendYieldEvery = 4096

// spendOrder is the campaigns of one map of State.camps, sorted by id.
type spendOrder struct {
	of     *map[string]*campaignState
	ids    []string
	states []*campaignState
}

func newSpendOrder(m *map[string]*campaignState) *spendOrder {
	o := &spendOrder{of: m, ids: make([]string, 0, len(*m))}
	for id := range *m {
		o.ids = append(o.ids, id)
	}
	sort.Strings(o.ids)
	o.states = make([]*campaignState, len(o.ids))
	for i, id := range o.ids {
		o.states[i] = (*m)[id]
	}
	return o
}

// AppendSpendEntries appends entries in AppendSpend's format, sorted by
// id (it sorts entries in place).
func AppendSpendEntries(dst []byte, entries []CampaignSpend) []byte {
	sort.Slice(entries, func(i, j int) bool { return entries[i].ID < entries[j].ID })
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(entries)))
	for i := range entries {
		dst = appendSpendEntry(dst, &entries[i])
	}
	return dst
}

func appendSpendEntry(dst []byte, e *CampaignSpend) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(e.ID)))
	dst = append(dst, e.ID...)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(e.Day))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(e.Today))
	return binary.LittleEndian.AppendUint64(dst, uint64(e.Total))
}

// CampaignSpend is one campaign's saved spend counters, in micro-units
// of the campaign file currency.
type CampaignSpend struct {
	ID    string
	Day   int64 // UTC day number (unix seconds / 86400) that Today belongs to
	Today int64
	Total int64
}

// DecodeSpend reads AppendSpend's output whole.
func DecodeSpend(b []byte) ([]CampaignSpend, error) {
	n, err := checkSpend(b)
	if err != nil {
		return nil, err
	}
	entries := make([]CampaignSpend, 0, n)
	eachSpend(b, nil, func(id []byte, e CampaignSpend) {
		e.ID = string(id)
		entries = append(entries, e)
	})
	return entries, nil
}

// ScanSpend checks AppendSpend's output whole and then calls f with
// each campaign's counters, in order, without allocating: e.ID is empty
// and id, the campaign's id, is valid only during the call. With prev,
// an earlier output that ScanSpend passed, it skips each campaign whose
// entry is the same as the one at the same place in prev: a peer's
// reading of 10^5 campaigns, every second, of which a few hundred moved,
// had cost 100,001 allocations (5.6 MB) decoded into strings and 16-19
// ms merged through a map, a cache miss or two a campaign.
func ScanSpend(b, prev []byte, f func(id []byte, e CampaignSpend)) error {
	if _, err := checkSpend(b); err != nil {
		return err
	}
	eachSpend(b, prev, f)
	return nil
}

// checkSpend checks AppendSpend's output and returns its campaign count.
func checkSpend(b []byte) (int, error) {
	if len(b) < 4 {
		return 0, errors.New("truncated campaign count")
	}
	n := binary.LittleEndian.Uint32(b)
	b = b[4:]
	if uint64(n)*spendEntryLen > uint64(len(b)) {
		return 0, fmt.Errorf("%d campaigns declared in %d bytes", n, len(b))
	}
	for i := uint32(0); i < n; i++ {
		if len(b) < spendEntryLen {
			return 0, fmt.Errorf("campaign %d: truncated", i)
		}
		l := int(binary.LittleEndian.Uint16(b))
		if len(b) < spendEntryLen+l {
			return 0, fmt.Errorf("campaign %d: truncated id", i)
		}
		id := b[2 : 2+l]
		day, today, total := spendCounters(b[2+l:])
		if l == 0 || today < 0 || total < 0 || day < 0 {
			return 0, fmt.Errorf("campaign %d (%q): bad counters", i, id)
		}
		b = b[spendEntryLen+l:]
	}
	if len(b) != 0 {
		return 0, fmt.Errorf("%d bytes after the last campaign", len(b))
	}
	return int(n), nil
}

// eachSpend calls f with each campaign of output that checkSpend passed
// but those the same as in prev (see ScanSpend), yielding every
// spendYieldEvery campaigns: a peer's reading every second, on a serving
// core.
func eachSpend(b, prev []byte, f func(id []byte, e CampaignSpend)) {
	n := binary.LittleEndian.Uint32(b)
	b = b[4:]
	if len(prev) >= 4 {
		prev = prev[4:]
	}
	for i := uint32(0); i < n; i++ {
		if i%spendYieldEvery == spendYieldEvery-1 {
			runtime.Gosched()
		}
		l := int(binary.LittleEndian.Uint16(b))
		entry := b[:spendEntryLen+l]
		b = b[len(entry):]
		if len(prev) >= spendEntryLen {
			pl := min(spendEntryLen+int(binary.LittleEndian.Uint16(prev)), len(prev))
			same := pl == len(entry) && bytes.Equal(prev[:pl], entry)
			prev = prev[pl:]
			if same {
				continue
			}
		}
		var e CampaignSpend
		e.Day, e.Today, e.Total = spendCounters(entry[2+l:])
		f(entry[2:2+l], e)
	}
}

// spendCounters reads an entry's counters, which follow its id.
func spendCounters(b []byte) (day, today, total int64) {
	return int64(binary.LittleEndian.Uint64(b)), int64(binary.LittleEndian.Uint64(b[8:])), int64(binary.LittleEndian.Uint64(b[16:]))
}

// RestoreSpend sets the spend counters from AppendSpend's output and
// returns the number of campaigns restored. Campaigns the current
// snapshot does not have are kept for a later reload that brings them
// back, but for those [State.Retire] would retire at once, which are
// ignored. It checks the whole input before it changes anything.
func (s *State) RestoreSpend(b []byte) (int, error) {
	entries, err := DecodeSpend(b)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkSavedCurrency(entries); err != nil {
		return 0, err
	}
	m := s.campaignsWith(entries)
	n := 0
	s.stamping.RLock()
	defer s.stamping.RUnlock()
	for _, e := range entries {
		if cs := m[e.ID]; cs != nil { // else retired (see campaignsWith)
			cs.day.Store(dayOf(e.Day))
			cs.today.Store(e.Today)
			cs.total.Store(e.Total)
			cs.ver.Store(s.version.Add(1))
			if d := s.savedSeen[e.ID]; d > int64(cs.seen.Load()) {
				cs.seen.Store(dayOf(d))
			}
			n++
		}
	}
	return n, nil
}

// AppendSeen appends, for the spend file, the last UTC day a compiled
// book had each campaign whose spend AppendSpend saves, where it is later
// than the campaign's last spend day: count u32, then per campaign its id
// (u16 length, bytes) and the day (u64), little endian. Without it a
// restart forgot that a campaign that had spent its total long ago was
// in the book until yesterday: the restore retired it, and a book that
// brought it back found its total unspent (the money audit).
func (s *State) AppendSeen(dst []byte) []byte {
	at := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	n := uint32(0)
	for id, cs := range *s.camps.Load() {
		seen := int64(cs.seen.Load())
		if seen > int64(cs.day.Load()) && (cs.total.Load() != 0 || cs.today.Load() != 0) {
			dst = binary.LittleEndian.AppendUint16(dst, uint16(len(id)))
			dst = append(dst, id...)
			dst = binary.LittleEndian.AppendUint64(dst, uint64(seen))
			n++
		}
	}
	binary.LittleEndian.PutUint32(dst[at:], n)
	return dst
}

// RestoreSeen reads AppendSeen's output, for the restores of spend that
// follow it, and returns its entry count. It checks the whole input
// first.
func (s *State) RestoreSeen(b []byte) (int, error) {
	if len(b) < 4 {
		return 0, errors.New("truncated campaign count")
	}
	n := binary.LittleEndian.Uint32(b)
	seen := make(map[string]int64, min(n, 1<<20))
	rest := b[4:]
	for i := uint32(0); i < n; i++ {
		if len(rest) < 2 || len(rest) < 2+int(binary.LittleEndian.Uint16(rest))+8 {
			return 0, fmt.Errorf("campaign %d: truncated", i)
		}
		l := int(binary.LittleEndian.Uint16(rest))
		day := int64(binary.LittleEndian.Uint64(rest[2+l:]))
		if l == 0 || day <= 0 || day > math.MaxInt32 {
			return 0, fmt.Errorf("campaign %d: bad entry", i)
		}
		seen[string(rest[2:2+l])] = day
		rest = rest[2+l+8:]
	}
	if len(rest) != 0 {
		return 0, fmt.Errorf("%d bytes after the last campaign", len(rest))
	}
	s.mu.Lock()
	s.savedSeen = seen
	s.mu.Unlock()
	return int(n), nil
}

// RaiseSpend raises this host's own spend to entries where they hold
// more: what peers last read of it (see package peers), for a host that
// restarts with a state file older than their reading (a crash: it is
// saved every state.saveInterval) or without one (a replaced machine).
// A campaign's total becomes the larger of the two, and so does its
// spend of the later day. It returns the number of campaigns raised;
// campaigns no Snapshot has had are kept as by RestoreSpend. Call it
// before the host bills.
func (s *State) RaiseSpend(entries []CampaignSpend) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.campaignsWith(entries)
	s.stamping.RLock()
	defer s.stamping.RUnlock()
	n := 0
	for _, e := range entries {
		cs := m[e.ID]
		if cs == nil { // retired (see campaignsWith)
			continue
		}
		raised := false
		if e.Total > cs.total.Load() {
			cs.total.Store(e.Total)
			raised = true
		}
		switch day := int64(cs.day.Load()); {
		case e.Day > day:
			cs.day.Store(dayOf(e.Day))
			cs.today.Store(e.Today)
			raised = true
		case e.Day == day && e.Today > cs.today.Load():
			cs.today.Store(e.Today)
			raised = true
		}
		if raised {
			cs.ver.Store(s.version.Add(1))
			n++
		}
	}
	return n
}

// campaignsWith returns the counters by campaign id with one for every
// entry, creating those no Snapshot has had yet, so that a reload that
// brings the campaign attaches to them; but none for an entry of a
// campaign it does not count whose day is too old for it to count again
// (see [State.Retirable]). It publishes a new map only when it adds one.
// Call it with s.mu held.
func (s *State) campaignsWith(entries []CampaignSpend) map[string]*campaignState {
	old := *s.camps.Load()
	today := dayNumber(s.now())
	var m map[string]*campaignState
	for _, e := range entries {
		if old[e.ID] != nil || m[e.ID] != nil || s.stale(max(e.Day, s.savedSeen[e.ID]), today) {
			continue
		}
		if m == nil {
			m = make(map[string]*campaignState, len(old)+len(entries))
			for k, v := range old {
				m[k] = v
			}
		}
		// The same key Compile derives.
		m[e.ID] = &campaignState{freqKey: xxhash.Sum64String(e.ID)}
	}
	if m == nil {
		return old
	}
	s.camps.Store(&m)
	s.grown.Add(uint64(len(m) - len(old)))
	return m
}

// AppendFreq appends the frequency-cap table to dst, for the state file:
// table size u64, count u64, then each occupied slot as index u64 and
// slot u64, little endian. Safe while impressions are counted.
func (s *State) AppendFreq(dst []byte) []byte {
	t := &s.freq
	dst = binary.LittleEndian.AppendUint64(dst, uint64(len(t.slots)))
	at := len(dst)
	dst = binary.LittleEndian.AppendUint64(dst, 0)
	for i := range t.slots {
		if i&(1<<16-1) == 1<<16-1 {
			runtime.Gosched() // a large table must not hold a serving core
		}
		if v := t.slots[i].Load(); v != 0 {
			dst = binary.LittleEndian.AppendUint64(dst, uint64(i))
			dst = binary.LittleEndian.AppendUint64(dst, v)
		}
	}
	binary.LittleEndian.PutUint64(dst[at:], uint64(len(dst)-at-8)/16)
	return dst
}

// ErrFreqSize is returned by [State.RestoreFreq] for a table saved with
// another size: a slot's place depends on the size, and its fingerprint
// keeps too little of the key to move it.
var ErrFreqSize = errors.New("frequency-cap table size differs")

// RestoreFreq loads AppendFreq's output into the table and returns the
// number of occupied slots read. It checks the whole input first.
func (s *State) RestoreFreq(b []byte) (int, error) {
	t := &s.freq
	if len(b) < 16 {
		return 0, errors.New("truncated frequency table header")
	}
	size, count := binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])
	b = b[16:]
	if count > uint64(len(b))/16 || uint64(len(b)) != 16*count {
		return 0, fmt.Errorf("%d frequency slots declared in %d bytes", count, len(b))
	}
	if size != uint64(len(t.slots)) {
		return 0, fmt.Errorf("%w: saved with %d slots, configured with %d", ErrFreqSize, size, len(t.slots))
	}
	n := int(count)
	for i := 0; i < n; i++ {
		idx, v := binary.LittleEndian.Uint64(b[16*i:]), binary.LittleEndian.Uint64(b[16*i+8:])
		if idx >= uint64(len(t.slots)) || v == 0 {
			return 0, fmt.Errorf("frequency slot %d: bad entry", i)
		}
	}
	for i := 0; i < n; i++ {
		t.slots[binary.LittleEndian.Uint64(b[16*i:])].Store(binary.LittleEndian.Uint64(b[16*i+8:]))
	}
	return n, nil
}
