package decision

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sync"
	"time"

	"github.com/rtbd/rtbd/daemon/notice"
)

// Reservations. Spend moves when a bid is billed (burl), which for video
// is when the ad plays: seconds to minutes after the auction was won
// (nurl). A campaign at the end of its budget keeps bidding, and winning,
// until its bills come in, and each of those wins spends past the budget.
// So a win reserves its price: budgets and pacing count the campaign's
// reserved spend with its billed spend until the bid's billing notice
// releases it, or until the reservation expires (a won bid that is never
// billed: the ad did not play). The notice handler journals each one for
// the hosts that share this one's budgets, which reserve it too
// (State.ReserveShared) until the bill, processed by any of them, ends
// it. The state file keeps them (AppendReservations).
//
// Frequency caps have the same gap: a user capped at one impression could
// see several before the first one bills. So the win also counts the
// impression in the user's cap, and the bill that ends its reservation
// does not count it again (see State.BillReserved); a won ad that never
// plays stays counted, on the side of the user.

// reservations is a FIFO of the live reservations, oldest first, with an
// index by bid. Notices hold mu; the bid path reads only the campaigns'
// reserved counters.
type reservations struct {
	mu   sync.Mutex
	ttl  int64 // seconds a reservation lasts; 0: wins reserve nothing
	ring []reservation
	// Sequence numbers: the reservation with number q is ring[q&mask];
	// head is the oldest still in the ring, tail the next to add.
	head, tail uint64
	mask       uint64
	// index finds a live reservation by its key: open addressing with
	// linear probing, twice the ring's size, each slot 0 or 1 + the
	// reservation's sequence number. A map would allocate as deletions
	// make it rehash; this does not.
	index []uint64
	shift uint8 // 64 - log2(len(index))
	live  int

	// Counts for metrics: reservations released by a bill, expired, and
	// released early because the ring was full; bills of reservations
	// that had ended so (see ended).
	billed, expired, evicted, late uint64

	// ended remembers the keys of reservations that counted their cap and
	// ended without a bill (expired or evicted), so that a bill that comes
	// later does not count the cap a second time: direct-mapped by home
	// (a key overwrites the one in its slot), as many slots as the ring.
	ended      []uint64
	endedShift uint8

	// byKey finds a campaign by its key (freqKey), for ReserveShared and
	// RestoreReservations; built from keysOf, the campaigns map it was
	// built from, again when the State's map is another.
	byKey  map[uint64]*campaignState
	keysOf *map[string]*campaignState
}

// reservation is one won bid's spend, in micro-units of its campaign's
// currency. cs is nil once it was released.
type reservation struct {
	key     uint64
	cs      *campaignState
	amount  int64
	at      int64 // unix seconds
	counted bool  // the win counted the impression in the user's cap
}

// SetReservations sets how long a win reserves its price (0: wins reserve
// nothing) and the slots of the ring (rounded up to a power of two; a
// released reservation keeps its slot until the older ones end, and when
// every slot is in use the oldest is released early). It gives the live
// reservations back to their campaigns.
func (s *State) SetReservations(ttl time.Duration, slots int) {
	r := &s.res
	r.mu.Lock()
	defer r.mu.Unlock()
	for q := r.head; q != r.tail; q++ {
		r.release(&r.ring[q&r.mask])
	}
	r.ttl, r.ring, r.head, r.tail, r.mask, r.index, r.live = max(int64(ttl/time.Second), 0), nil, 0, 0, 0, nil, 0
	r.billed, r.expired, r.evicted, r.late, r.ended = 0, 0, 0, 0, nil
	if r.ttl == 0 {
		return
	}
	n := 1024
	for n < slots {
		n <<= 1
	}
	r.ring, r.mask = make([]reservation, n), uint64(n-1)
	r.index, r.shift = make([]uint64, 2*n), uint8(64-bits.TrailingZeros(uint(2*n)))
	r.ended, r.endedShift = make([]uint64, n), uint8(64-bits.TrailingZeros(uint(n)))
}

// WinReservation returns how long a win reserves its price, as
// SetReservations set it (0: off).
func (s *State) WinReservation() time.Duration {
	r := &s.res
	r.mu.Lock()
	defer r.mu.Unlock()
	return time.Duration(r.ttl) * time.Second
}

// Reserve records that the bid with key bidKey (the same for its win and
// its billing notice) won at CPM price in currency cur at now: its
// campaign's reserved spend grows by price/1000 until [State.BillReserved]
// or [State.Release] with the same key, or until the reservation expires,
// and the impression counts in userKey's cap (0: unknown user) at once. A
// second Reserve of a key reserves and counts nothing more. It is an
// error for a campaign no Snapshot has had; the notice handler does not
// call it for test bids. It returns what it reserved, for the peers.
// billed (nil: none) reports whether the bid was billed, here or by a
// peer: it is asked with the lock held, as by [State.ReserveShared], and
// a billed bid reserves nothing.
func (s *State) Reserve(bidKey uint64, campaignID []byte, userKey uint64, price float64, cur []byte, now time.Time, billed func(bidKey uint64) bool) (notice.Reserved, error) {
	r := &s.res
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ttl == 0 {
		return notice.Reserved{}, nil
	}
	cs, spend, err := s.charge(campaignID, price, cur)
	if err != nil || billed != nil && billed(bidKey) {
		return notice.Reserved{}, err
	}
	rv := notice.Reserved{Campaign: cs.freqKey, Amount: spend}
	rv.CapKey, rv.CapWindow = capOf(cs, userKey)
	rv.Added = s.reserve(reservation{key: bidKey, cs: cs, amount: spend, at: now.Unix()}, rv.CapKey, rv.CapWindow)
	return rv, nil
}

// ReserveShared applies the reservation that another host's [State.Reserve]
// returned for the bid with key bidKey, at unix second sec on that host,
// and reports whether it added it. It adds nothing for a campaign this
// State does not count, one that expired meanwhile, a key with a live
// reservation, or a bid already billed: billed (nil: none) reports
// whether the bid's billing notice was processed, here or by a peer. Its
// impression counts in the cap entry capKey (0: none), as the win's did
// on that host, and the bid's bill does not count it again here. It
// joins the ring as the newest, so it expires no earlier than those added
// before it: late by as much as it came late, on the side of the budget.
//
// billed is asked with the reservations' lock held. A bill marks its bid
// billed before it takes that lock to end the reservation
// ([State.BillReserved], [State.Release]), so a bill processed at the
// same time either is seen here, or comes after and ends what this adds.
func (s *State) ReserveShared(bidKey, campaign uint64, amount int64, capKey uint64, capWindow, sec int64, billed func(bidKey uint64) bool) bool {
	r := &s.res
	r.mu.Lock()
	defer r.mu.Unlock()
	now := s.now().Unix()
	sec = min(sec, now) // as in RestoreReservations
	cs := r.campaign(s, campaign)
	if r.ttl == 0 || cs == nil || amount < 0 || sec <= now-r.ttl || billed != nil && billed(bidKey) {
		return false
	}
	if capWindow <= 0 {
		capKey = 0
	}
	return s.reserve(reservation{key: bidKey, cs: cs, amount: amount, at: sec}, capKey, capWindow)
}

// reserve expires what is due at e's time, adds e and counts its
// impression in the cap entry capKey (0: none), and reports whether it
// added it. Call it with mu held and ttl > 0.
func (s *State) reserve(e reservation, capKey uint64, window int64) bool {
	r := &s.res
	r.expire(e.at)
	e.counted = capKey != 0
	if !r.add(e) {
		return false
	}
	if capKey != 0 {
		s.freq.incr(capKey, e.at, window)
	}
	return true
}

// campaign returns the counters of the campaign with key k, or nil. Call
// it with mu held.
func (r *reservations) campaign(s *State, k uint64) *campaignState {
	if m := s.camps.Load(); m != r.keysOf {
		r.byKey = make(map[uint64]*campaignState, len(*m))
		for _, cs := range *m {
			r.byKey[cs.freqKey] = cs
		}
		r.keysOf = m
	}
	return r.byKey[k]
}

// add adds e, newest, unless its key has a live reservation, releasing
// the oldest when every slot is in use, and reports whether it added it.
// Call it with mu held and ttl > 0.
func (r *reservations) add(e reservation) bool {
	i, ok := r.find(e.key)
	if ok {
		return false
	}
	if r.tail-r.head == uint64(len(r.ring)) {
		old := &r.ring[r.head&r.mask]
		if old.cs != nil {
			r.evicted++
			r.end(old)
			r.drop(old)
			i, _ = r.find(e.key) // the drop may have moved the free slot
		}
		r.head++
	}
	r.ring[r.tail&r.mask] = e
	r.index[i] = r.tail + 1
	r.live++
	r.tail++
	e.cs.reserved.Add(e.amount)
	return true
}

// reservationBytes is the size of one reservation in the state file.
const reservationBytes = 33

// AppendReservations appends the live reservations, oldest first, for
// the state file: a restart in a deploy keeps counting the wins not yet
// billed. Each is its key, its campaign's key (xxhash of the id, which
// the restoring State looks up), amount and time, and whether it counted
// in a cap.
func (s *State) AppendReservations(dst []byte) []byte {
	r := &s.res
	r.mu.Lock()
	defer r.mu.Unlock()
	dst = binary.LittleEndian.AppendUint32(dst, uint32(r.live))
	for q := r.head; q != r.tail; q++ {
		e := &r.ring[q&r.mask]
		if e.cs == nil {
			continue
		}
		dst = binary.LittleEndian.AppendUint64(dst, e.key)
		dst = binary.LittleEndian.AppendUint64(dst, e.cs.freqKey)
		dst = binary.LittleEndian.AppendUint64(dst, uint64(e.amount))
		dst = binary.LittleEndian.AppendUint64(dst, uint64(e.at))
		counted := byte(0)
		if e.counted {
			counted = 1
		}
		dst = append(dst, counted)
	}
	return dst
}

// RestoreReservations loads AppendReservations' output and returns the
// number of reservations restored: those not yet expired, of campaigns
// the State counts, as many as the slots hold (the newest). Their caps
// were counted in the frequency table, restored on its own. It checks the
// whole input first. Call it before notices are served.
func (s *State) RestoreReservations(b []byte) (int, error) {
	if len(b) < 4 {
		return 0, errors.New("truncated reservations header")
	}
	n := binary.LittleEndian.Uint32(b)
	b = b[4:]
	if uint64(len(b)) != uint64(n)*reservationBytes {
		return 0, fmt.Errorf("%d reservations declared in %d bytes", n, len(b))
	}
	for i := 0; i < int(n); i++ {
		e := b[i*reservationBytes:]
		if amount, counted := int64(binary.LittleEndian.Uint64(e[16:])), e[32]; amount < 0 || counted > 1 {
			return 0, fmt.Errorf("reservation %d: bad entry", i)
		}
	}
	r := &s.res
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ttl == 0 {
		return 0, nil
	}
	now, restored := s.now().Unix(), 0
	for i := 0; i < int(n); i++ {
		e := b[i*reservationBytes:]
		cs := r.campaign(s, binary.LittleEndian.Uint64(e[8:]))
		// Not after now: one from a clock that ran ahead would hold the
		// expiry of every later one back.
		at := min(int64(binary.LittleEndian.Uint64(e[24:])), now)
		if cs == nil || at <= now-r.ttl {
			// Its campaign is gone, or it expired meanwhile: a bill
			// that comes now must not count its cap again.
			r.end(&reservation{key: binary.LittleEndian.Uint64(e), counted: e[32] == 1})
			continue
		}
		if r.add(reservation{key: binary.LittleEndian.Uint64(e), cs: cs, amount: int64(binary.LittleEndian.Uint64(e[16:])), at: at, counted: e[32] == 1}) {
			restored++
		}
	}
	return restored, nil
}

// AppendEnded appends, for the state file, the keys of the reservations
// that counted their cap and ended unbilled (see [State.LateBills]), so
// that a bill that comes after a restart does not count the cap again:
// their number, then each key. It is a section of its own, which a build
// without it skips.
func (s *State) AppendEnded(dst []byte) []byte {
	r := &s.res
	r.mu.Lock()
	defer r.mu.Unlock()
	at := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	n := uint32(0)
	for _, k := range r.ended {
		if k != 0 {
			dst = binary.LittleEndian.AppendUint64(dst, k)
			n++
		}
	}
	binary.LittleEndian.PutUint32(dst[at:], n)
	return dst
}

// RestoreEnded loads AppendEnded's output and returns how many keys it
// restored: all of them while the slots hold them (a key takes its home
// slot, over the one there before). It checks the whole input first.
// Call it after SetReservations and before notices are served.
func (s *State) RestoreEnded(b []byte) (int, error) {
	if len(b) < 4 {
		return 0, errors.New("truncated ended reservations header")
	}
	n := binary.LittleEndian.Uint32(b)
	b = b[4:]
	if uint64(len(b)) != uint64(n)*8 {
		return 0, fmt.Errorf("%d ended reservations declared in %d bytes", n, len(b))
	}
	r := &s.res
	r.mu.Lock()
	defer r.mu.Unlock()
	restored := 0
	for i := 0; i < int(n) && len(r.ended) > 0; i++ {
		if k := binary.LittleEndian.Uint64(b[8*i:]); k != 0 {
			r.ended[fibHash(k, r.endedShift)] = k
			restored++
		}
	}
	return restored, nil
}

// BillReserved is [State.Bill] for the bid with key bidKey, which ends
// its reservation once the spend moved: the bid's win counted the
// impression in the user's cap, if its reservation is live or ended
// unbilled not long ago (see LateBills), and it is not counted again. The
// charge names the cap entry either way, for the hosts that share this
// one's caps.
func (s *State) BillReserved(bidKey uint64, campaignID []byte, userKey uint64, price float64, cur []byte, now time.Time) (notice.Charge, error) {
	r := &s.res
	r.mu.Lock()
	defer r.mu.Unlock()
	// Spend moves before the reservation ends: the bid path never sees
	// the campaign without either.
	e, counted := r.settle(bidKey)
	ch, err := s.bill(campaignID, userKey, price, cur, now, !counted)
	r.endBilled(e)
	return ch, err
}

// Release ends the reservation of bidKey, if it is live: its billing
// notice was processed, here by [State.BillReserved] or by a host that
// shares this one's budgets. It reports whether the reservation's win
// counted the impression in the user's cap (also when the reservation
// ended unbilled not long ago, as in BillReserved), which a billing
// notice of another host then must not count again here.
func (s *State) Release(bidKey uint64) (counted bool) {
	r := &s.res
	r.mu.Lock()
	defer r.mu.Unlock()
	e, counted := r.settle(bidKey)
	r.endBilled(e)
	return counted
}

// settle returns the live reservation of key, or nil, and whether the
// bid's win counted the cap: the live one's mark, or else whether its
// reservation ended unbilled (see endedCounted). Call it with mu held.
func (r *reservations) settle(key uint64) (*reservation, bool) {
	if e := r.lookup(key); e != nil {
		return e, e.counted
	}
	return nil, r.endedCounted(key)
}

// endBilled ends e (nil: none), released by its bill. Call it with mu held.
func (r *reservations) endBilled(e *reservation) {
	if e != nil {
		r.billed++
		r.drop(e)
	}
}

// end remembers e's key in ended when its win counted the cap: e ends
// without a bill. Call it with mu held.
func (r *reservations) end(e *reservation) {
	if e.counted && e.key != 0 {
		r.ended[fibHash(e.key, r.endedShift)] = e.key
	}
}

// endedCounted reports whether key's reservation counted its cap and
// ended without a bill, as far as ended remembers, and forgets it: its
// bill came late. Call it with mu held.
func (r *reservations) endedCounted(key uint64) bool {
	if len(r.ended) == 0 || key == 0 {
		return false
	}
	i := fibHash(key, r.endedShift)
	if r.ended[i] != key {
		return false
	}
	r.ended[i] = 0
	r.late++
	return true
}

// LateBills returns how many bills, here or a peer's, came after their
// win's reservation had ended (expired, or evicted from a full ring),
// since SetReservations: as far as the State remembers those, which it
// does for one ring's worth of keys. Many say bidding.winReservation is
// shorter than the time the exchanges take to bill.
func (s *State) LateBills() uint64 {
	r := &s.res
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.late
}

// lookup returns the live reservation of key, or nil. Call it with mu held.
func (r *reservations) lookup(key uint64) *reservation {
	if r.ttl == 0 {
		return nil
	}
	if i, ok := r.find(key); ok {
		return &r.ring[(r.index[i]-1)&r.mask]
	}
	return nil
}

// ExpireReservations releases the reservations older than their time to
// live at now. The daemon calls it every second: the notices' own calls
// stop when no notices come in.
func (s *State) ExpireReservations(now time.Time) {
	r := &s.res
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ttl != 0 {
		r.expire(now.Unix())
	}
}

// Reservations returns the number of live reservations and how many
// reservations were released by their bills, expired, and released early
// because the ring was full, since SetReservations.
func (s *State) Reservations() (live int, billed, expired, evicted uint64) {
	r := &s.res
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.live, r.billed, r.expired, r.evicted
}

// expire drops the reservations at the head that are released or older
// than the time to live at unix second sec. Call it with mu held.
func (r *reservations) expire(sec int64) {
	for ; r.head != r.tail; r.head++ {
		e := &r.ring[r.head&r.mask]
		if e.cs != nil {
			if e.at > sec-r.ttl {
				return
			}
			r.expired++
			r.end(e)
			r.drop(e)
		}
	}
}

// drop releases the live reservation e and forgets its key.
func (r *reservations) drop(e *reservation) {
	i, _ := r.find(e.key)
	r.unindex(i)
	r.live--
	r.release(e)
}

// find returns the index slot of key's live reservation and true, or
// the free slot where it would go and false. The index is at most half
// full, so a free slot is always found.
func (r *reservations) find(key uint64) (uint64, bool) {
	m := uint64(len(r.index) - 1)
	for i := r.home(key); ; i = (i + 1) & m {
		q := r.index[i]
		if q == 0 {
			return i, false
		}
		if r.ring[(q-1)&r.mask].key == key {
			return i, true
		}
	}
}

// home is the first index slot probed for key.
func (r *reservations) home(key uint64) uint64 { return fibHash(key, r.shift) }

// fibHash is the slot of key in a table of 1<<(64-shift) slots (Fibonacci
// hashing: keys are hashes already, but tests use small integers).
func fibHash(key uint64, shift uint8) uint64 { return key * 0x9e3779b97f4a7c15 >> shift }

// unindex empties index slot i, and moves back the entries after it that
// could no longer be found past the gap (deletion without tombstones in
// linear probing).
func (r *reservations) unindex(i uint64) {
	m := uint64(len(r.index) - 1)
	for j := (i + 1) & m; r.index[j] != 0; j = (j + 1) & m {
		h := r.home(r.ring[(r.index[j]-1)&r.mask].key)
		// The entry at j stays unless its home is cyclically outside (i, j].
		if (j-h)&m >= (j-i)&m {
			r.index[i] = r.index[j]
			i = j
		}
	}
	r.index[i] = 0
}

// release gives e's amount back to its campaign, once.
func (r *reservations) release(e *reservation) {
	if e.cs != nil {
		e.cs.reserved.Add(-e.amount)
		e.cs = nil
	}
}

// CurrencyRate returns the units of the bid currency (bidding.currency)
// per unit of currency cur, by the snapshot's rates (Options.Rates); 0
// for a currency without one, or before a snapshot. The notice handler
// converts a notice in its bid's currency with it (see notice.Converter).
func (s *State) CurrencyRate(cur []byte) float64 {
	snap := s.snap.Load()
	if snap == nil {
		return 0
	}
	r, ok := snap.money.noticeRate(cur)
	if !ok {
		return 0
	}
	return snap.money.rates[snap.money.bid] / r
}

// charge returns the counters of campaignID and the spend of one
// impression at CPM price in currency cur, in micro-units of the campaign
// file currency, as [State.Bill] and [State.Reserve] count it.
func (s *State) charge(campaignID []byte, price float64, cur []byte) (*campaignState, int64, error) {
	cs := (*s.camps.Load())[string(campaignID)]
	snap := s.snap.Load()
	if cs == nil || snap == nil {
		return nil, 0, fmt.Errorf("cannot bill campaign %q: %w", campaignID, ErrUnknownCampaign)
	}
	if !(price >= 0) || math.IsInf(price, 0) {
		return nil, 0, fmt.Errorf("cannot bill campaign %q: bad price %v", campaignID, price)
	}
	r, ok := snap.money.noticeRate(cur)
	if !ok {
		return nil, 0, fmt.Errorf("cannot bill campaign %q: no rate for currency %q", campaignID, cur)
	}
	// CPM/1000 per impression, in micro-units: x 1e6 / 1e3.
	spend := math.Round(price * (snap.money.rates[snap.money.file] / r) * 1e3)
	if spend > maxCharge {
		return nil, 0, fmt.Errorf("cannot bill campaign %q: price %v is past any budget", campaignID, price)
	}
	return cs, int64(spend), nil
}

// maxCharge bounds one charge, in micro-units: a budget is at most
// campaign.MaxBudget (1e12 units, 1e18 micro-units), and one impression
// beyond it would overflow the int64 counters: a price of 1e300 made them
// negative, so that the budget never filled and the saved spend failed
// its restore (the commit review).
const maxCharge = 1e15
