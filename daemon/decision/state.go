package decision

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rtbd/rtbd/daemon/notice"
)

// State is the mutable side of the decision: spend counters per campaign
// and the frequency-cap table. It survives reloads: [Compile] attaches each
// campaign of a new Snapshot to its counters by campaign id.
//
// All methods are safe for concurrent use. The read path (Decide) uses only
// atomic loads.
type State struct {
	mu    sync.Mutex // serialises attach (Compile)
	camps atomic.Pointer[map[string]*campaignState]
	order atomic.Pointer[spendOrder] // camps sorted by id, for AppendSpend
	snap  atomic.Pointer[Snapshot]   // last compiled, for Bill's currency and caps
	freq  freqTable
	peers atomic.Bool // SetPeerSpend was called: peers share the budgets

	// retireAfter is state.retireAfterDays (SetRetireAfter), 0 to keep
	// every campaign; grown counts the campaigns camps ever gained (see
	// Grown). now is the clock, time.Now but in tests.
	retireAfter atomic.Int64
	grown       atomic.Uint64
	now         func() time.Time

	// version counts the changes to own spend, and each campaign keeps
	// the version of its last (see AppendSpendSince). Bill holds stamping
	// shared while it changes a campaign's spend and stamps it;
	// AppendSpendSince takes it to read version, so that every change
	// stamped up to the version it answers with is in its answer. epoch
	// names this State's versions, which mean nothing to another one.
	version  atomic.Uint64
	stamping sync.RWMutex
	epoch    uint64

	res reservations // won bids' spend until billed (see Reserve)

	// adopted are the campaigns Adopt counts that no book has had yet;
	// guarded by mu.
	adopted map[string]struct{}

	// cur is the currency of the campaign files whose books counted the
	// spend (the counters are in micro-units of it): the last compiled
	// book's. savedCur is the state file's (RestoreCurrency). Guarded by
	// mu.
	cur, savedCur string

	// savedSeen is the last day a book had each campaign, as the state
	// file kept it (RestoreSeen), for the restores of spend that follow:
	// a campaign a book had lately is not retired for its old spend day.
	// Guarded by mu.
	savedSeen map[string]int64
}

// campaignState holds one campaign's counters, in micro-units of the
// campaign file currency.
type campaignState struct {
	day atomic.Int32 // UTC day number that today belongs to (see dayOf)
	// seen is the UTC day number a compiled Snapshot last had the
	// campaign on (see Retire).
	seen  atomic.Int32
	today atomic.Int64
	total atomic.Int64
	ver   atomic.Uint64 // State.version of the last change to the three
	// reserved is the spend of won bids not yet billed (see Reserve),
	// which budgets and pacing count with today and total.
	reserved   atomic.Int64
	freqMax    atomic.Int32 // > 0: the campaign has a cap
	freqWindow atomic.Int32 // seconds, at most campaign.MaxFreqCapWindow
	freqKey    uint64
	// peer is the peers' spend (SetPeerSpend), nil without any. Behind a
	// pointer, campaignState fits the 64-byte size class: one cache line
	// for the budget and cap checks of every candidate.
	peer atomic.Pointer[peerSpend]
}

// dayOf is day number d as campaignState keeps it: UTC day numbers fit
// 32 bits for millions of years, and one from a damaged file or a peer
// is held to the range rather than wrapped.
func dayOf(d int64) int32 { return int32(min(max(d, math.MinInt32), math.MaxInt32)) }

// peerSpend is the peers' spend of one campaign, replaced whole.
type peerSpend struct{ day, today, total int64 }

// NewState returns a State whose frequency-cap table has freqSlots entries
// rounded up to a power of two (at least 1024). The table never grows: when
// it is full, the oldest entries in a probe window are evicted.
func NewState(freqSlots int) *State {
	s := &State{now: time.Now, epoch: rand.Uint64()>>1 | 1}
	m := map[string]*campaignState{}
	s.camps.Store(&m)
	s.freq.init(freqSlots)
	s.SetReservations(0, 0)
	return s
}

// ErrCurrencyChanged is returned by [Compile] for a book in another
// currency than the spend counted so far, and by [State.RestoreCurrency]
// for a state file in another currency than the book: the counters are in
// micro-units of the file currency, so a book restating its budgets in
// JPY would find its USD spend counted as as many JPY (100 USD spent of
// 100 became 100 JPY of 15,000, and the campaign bid again: the money
// audit).
var ErrCurrencyChanged = errors.New("the campaign currency changed while spend was counted in the old one")

// checkCurrency returns ErrCurrencyChanged when the counters hold spend
// of a currency other than cur. Call it with s.mu held.
func (s *State) checkCurrency(cur string) error {
	if s.cur == "" || s.cur == cur {
		return nil
	}
	for _, cs := range *s.camps.Load() {
		if cs.total.Load() != 0 || cs.today.Load() != 0 || cs.reserved.Load() != 0 || cs.peer.Load() != nil {
			return fmt.Errorf("%w: the campaigns file is in %s, the spend in %s; restate the budgets in %s, or move state.dir away to start from zero spend", ErrCurrencyChanged, cur, s.cur, s.cur)
		}
	}
	return nil
}

// AppendCurrency appends, for the spend file, the currency the spend is
// counted in (see ErrCurrencyChanged).
func (s *State) AppendCurrency(dst []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append(dst, s.cur...)
}

// RestoreCurrency reads AppendCurrency's output, before the spend is
// restored, whose restore then fails with ErrCurrencyChanged if the file
// holds spend and the book compiled since the start is in another
// currency. A file without spend may change currency, as a reload may.
func (s *State) RestoreCurrency(b []byte) (int, error) {
	if len(b) != 0 && len(b) != 3 {
		return 0, fmt.Errorf("currency %q is no ISO 4217 code", b)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.savedCur = string(b)
	if len(b) == 0 {
		return 0, nil
	}
	return 1, nil
}

// checkSavedCurrency returns ErrCurrencyChanged when entries, spend the
// state file restores, are in another currency than the book's (see
// RestoreCurrency). Call it with s.mu held.
func (s *State) checkSavedCurrency(entries []CampaignSpend) error {
	if s.savedCur == "" || s.cur == "" || s.savedCur == s.cur {
		return nil
	}
	for _, e := range entries {
		if e.Today != 0 || e.Total != 0 {
			return fmt.Errorf("%w: the campaigns file is in %s, the state file's spend in %s; restate the budgets in %s, or move state.dir away to start from zero spend", ErrCurrencyChanged, s.cur, s.savedCur, s.savedCur)
		}
	}
	return nil
}

// attach links the campaigns of snap to their counters, creating new ones.
// It fails, changing nothing, for a book in another currency than the
// spend counted (see ErrCurrencyChanged).
func (s *State) attach(snap *Snapshot) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := string(snap.money.codes[snap.money.file])
	if err := s.checkCurrency(cur); err != nil {
		return err
	}
	s.cur = cur
	today := dayNumber(s.now())
	old := *s.camps.Load()
	m := make(map[string]*campaignState, len(old)+len(snap.camps))
	for k, v := range old {
		m[k] = v
	}
	added := 0
	for i := range snap.camps {
		cc := &snap.camps[i]
		cs := m[string(cc.id)]
		if cs == nil {
			cs = &campaignState{freqKey: cc.freqKey}
			m[string(cc.id)] = cs
			added++
		}
		cs.freqMax.Store(int32(min(cc.freqMax, math.MaxInt32)))
		cs.freqWindow.Store(int32(cc.freqWin))
		cs.seen.Store(dayOf(today))
		cc.st = cs
		if len(s.adopted) > 0 {
			delete(s.adopted, string(cc.id))
		}
	}
	// The last book had its campaigns until now: those this one drops
	// are retired from today on, not from the day it was compiled. So
	// are its currencies, for the notices of bids still out in them.
	if prev := s.snap.Load(); prev != nil {
		for i := range prev.camps {
			prev.camps[i].st.seen.Store(dayOf(today))
		}
		snap.money.retire(&prev.money, s.now().Unix())
	}
	s.camps.Store(&m)
	s.grown.Add(uint64(added))
	s.snap.Store(snap)
	return nil
}

// ErrUnknownCampaign is returned by [State.Bill] for a campaign id that no
// compiled Snapshot has had.
var ErrUnknownCampaign = errors.New("decision: unknown campaign")

// Bill records one billed impression of campaignID at CPM price in currency
// cur (empty means USD) at time now: it adds price/1000, converted to the
// campaign currency, to the campaign's spend of the day and in total, and
// counts the impression against the frequency cap of userKey (0: unknown
// user, not counted). The notice handler calls it once per billing notice;
// it must not call it for bids of test requests (see [IsTestBidID]).
//
// The charge names the frequency-cap entry the impression counted in, for
// [State.CountImpression] on the hosts that share this one's caps (CapKey
// 0 when it counted in none: no cap, unknown user), and the campaign's
// own spend once it counted, for [State.UpdatePeerSpend] on the hosts
// that share its budgets.
func (s *State) Bill(campaignID []byte, userKey uint64, price float64, cur []byte, now time.Time) (notice.Charge, error) {
	return s.bill(campaignID, userKey, price, cur, now, true)
}

// bill is Bill, counting the impression in the cap only with countCap
// (the charge names the cap entry either way).
func (s *State) bill(campaignID []byte, userKey uint64, price float64, cur []byte, now time.Time, countCap bool) (notice.Charge, error) {
	var ch notice.Charge
	cs, spend, err := s.charge(campaignID, price, cur)
	if err != nil {
		return ch, err
	}
	ch.Campaign = cs.freqKey
	s.stamping.RLock()
	ch.Today, ch.Total = cs.addSpend(spend, dayNumber(now))
	cs.ver.Store(s.version.Add(1))
	s.stamping.RUnlock()
	if ch.CapKey, ch.CapWindow = capOf(cs, userKey); ch.CapKey != 0 && countCap {
		s.freq.incr(ch.CapKey, now.Unix(), ch.CapWindow)
	}
	return ch, nil
}

// capOf returns the frequency-cap entry and window of userKey's
// impressions of the campaign, or 0, 0 when it has no cap or the user is
// unknown.
func capOf(cs *campaignState, userKey uint64) (key uint64, window int64) {
	if cs.freqMax.Load() > 0 && userKey != 0 {
		return freqHash(userKey, cs.freqKey), int64(cs.freqWindow.Load())
	}
	return 0, 0
}

// CountImpression counts one impression, billed by another host at unix
// second sec, in the frequency-cap entry capKey with window capWindow, as
// that host's [State.Bill] returned them. Campaign ids, and so the keys,
// are the same on every host; the window is the billing host's.
func (s *State) CountImpression(capKey uint64, capWindow, sec int64) {
	if capKey != 0 && capWindow > 0 {
		s.freq.incr(capKey, sec, capWindow)
	}
}

// Impressions returns the impressions of userKey counted against
// campaignID's frequency cap at now, 0 for a campaign without a cap.
func (s *State) Impressions(campaignID string, userKey uint64, now time.Time) int {
	cs := (*s.camps.Load())[campaignID]
	if cs == nil || cs.freqMax.Load() == 0 || userKey == 0 {
		return 0
	}
	return s.freq.count(freqHash(userKey, cs.freqKey), now.Unix(), int64(cs.freqWindow.Load()))
}

func dayNumber(t time.Time) int64 { return t.Unix() / 86400 }

// addSpend adds micro-units to today's and the total spend, starting a new
// day when day moved on, and returns both once added. A bill racing the
// day change may land in either day; budgets are approximate to one
// impression. A day more than one ahead of day is a clock's that jumped
// (see spentToday): its spend becomes day's, so that the next midnight
// starts a new day again; left in place, it kept a daily budget from
// starting afresh until that date came (the money audit: a bill dated a
// year ahead held a campaign to one day's budget for ten days).
func (cs *campaignState) addSpend(spend, day int64) (today, total int64) {
	if d := cs.day.Load(); d != dayOf(day) {
		switch {
		case int64(d) < day:
			if cs.day.CompareAndSwap(d, dayOf(day)) {
				cs.today.Store(0)
			}
		case int64(d) > day+1:
			cs.day.CompareAndSwap(d, dayOf(day))
		}
	}
	return cs.today.Add(spend), cs.total.Add(spend)
}

// spentToday returns today's spend as of day. A later day is the
// clock's error, not tomorrow: a bill counted while this host's clock ran
// ahead past midnight, or restored or read from a host whose clock did.
// addSpend adds the bills that follow to that day, so its spend is
// today's, or a daily budget would not hold until the date caught up.
func (cs *campaignState) spentToday(day int64) int64 {
	d := int64(cs.day.Load())
	if d < int64(dayOf(day)) {
		return 0
	}
	if d > day+1 {
		// Days ahead (see addSpend): today's from now on, so that the
		// next midnight starts a new day even if no bill comes, as none
		// does once this spend fills the budget.
		cs.day.CompareAndSwap(dayOf(d), dayOf(day))
	}
	return cs.today.Load()
}

// peerSpent returns the peers' spend of day and in total; a later day's
// counts as day's, as in spentToday.
func (cs *campaignState) peerSpent(day int64) (today, total int64) {
	p := cs.peer.Load()
	if p == nil {
		return 0, 0
	}
	if p.day >= day {
		today = p.today
	}
	return today, p.total
}

// SetPeerSpend replaces the spend that the other hosts sharing this one's
// budgets (state.peers) reported, summed per campaign; Day is the latest
// day a peer reported for the campaign and Today the sum of that day's
// spends. Budgets and pacing count it with this host's own spend. A
// campaign absent from entries has no peer spend. Own spend, which
// AppendSpend saves and peers read, never includes it, so each host's
// spend is counted once however many hosts read it.
func (s *State) SetPeerSpend(entries []CampaignSpend) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.campaignsWith(entries)
	byID := make(map[string]*CampaignSpend, len(entries))
	for i := range entries {
		byID[entries[i].ID] = &entries[i]
	}
	for id, cs := range m {
		if e := byID[id]; e != nil {
			cs.setPeer(e)
		} else if cs.peer.Load() != nil {
			cs.peer.Store(nil)
		}
	}
	s.peers.Store(true)
}

// UpdatePeerSpend replaces the peers' spend of the campaigns in entries,
// as SetPeerSpend does, and leaves the others' as they are: a peer's
// billing notices move only the campaigns they billed.
func (s *State) UpdatePeerSpend(entries []CampaignSpend) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.campaignsWith(entries)
	for i := range entries {
		if cs := m[entries[i].ID]; cs != nil { // else retired
			cs.setPeer(&entries[i])
		}
	}
	s.peers.Store(true)
}

func (cs *campaignState) setPeer(e *CampaignSpend) {
	if cur := cs.peer.Load(); cur == nil || *cur != (peerSpend{e.Day, e.Today, e.Total}) {
		cs.peer.Store(&peerSpend{e.Day, e.Today, e.Total})
	}
}

// CampaignIDs appends the ids of the campaigns the State counts (those
// of every compiled Snapshot and of peer spend) to dst.
func (s *State) CampaignIDs(dst []string) []string {
	for id := range *s.camps.Load() {
		dst = append(dst, id)
	}
	return dst
}

// NumCampaigns returns how many campaigns the State counts.
func (s *State) NumCampaigns() int { return len(*s.camps.Load()) }

// PeerSpendSet reports whether SetPeerSpend was called: the budgets are
// shared with peers.
func (s *State) PeerSpendSet() bool { return s.peers.Load() }

// PacingState is a campaign's budget state at a point in time.
type PacingState uint8

// Pacing states. The numbers are not stored anywhere; the names are
// metric labels.
const (
	// PacingOK means the campaign may bid.
	PacingOK PacingState = iota
	// PacingAhead means even pacing holds the campaign back: it spent more
	// than its share of the day, or of its flight, so far.
	PacingAhead
	// PacingDailySpent means the daily budget is spent.
	PacingDailySpent
	// PacingTotalSpent means the total budget is spent.
	PacingTotalSpent
	// PacingNotStarted means the campaign's flight has not started.
	PacingNotStarted
	// PacingEnded means the campaign's flight has ended.
	PacingEnded
)

var pacingNames = [...]string{"ok", "ahead", "daily_spent", "total_spent", "not_started", "ended"}

// String returns the snake_case name of p, used as a metric label.
func (p PacingState) String() string {
	if int(p) < len(pacingNames) {
		return pacingNames[p]
	}
	return "unknown"
}

// flight returns PacingNotStarted or PacingEnded when unix second sec is
// outside the campaign's flight, else PacingOK. The decision checks
// the flight in one comparison (ccamp.span) before pricing anything, and
// calls flight only to name the state.
func (cc *ccamp) flight(sec int64) PacingState {
	switch {
	case sec < cc.start:
		return PacingNotStarted
	case sec >= cc.end:
		return PacingEnded
	}
	return PacingOK
}

// status is the campaign's state at unix second sec: flight, then pacing.
func (cc *ccamp) status(sec int64) PacingState {
	if p := cc.flight(sec); p != PacingOK {
		return p
	}
	return cc.pacing(sec)
}

// pacing returns the campaign's pacing state at unix second sec, inside
// its flight (see flight). The spend of won bids not yet billed (see
// State.Reserve) counts as spent.
func (cc *ccamp) pacing(sec int64) PacingState {
	cs := cc.st
	day := sec / 86400
	peerToday, peerTotal := cs.peerSpent(day)
	reserved := cs.reserved.Load()
	if cc.total > 0 {
		spent := cs.total.Load() + peerTotal + reserved
		if spent >= cc.total {
			return PacingTotalSpent
		}
		// Even over the flight: allow while spend <= total x elapsed
		// fraction of the flight.
		if cc.spread && float64(spent) > float64(cc.total)*float64(sec-cc.start)/float64(cc.end-cc.start)+float64(cc.totalBurst) {
			return PacingAhead
		}
	}
	if cc.daily == 0 {
		return PacingOK
	}
	today := cs.spentToday(day) + peerToday + reserved
	if today >= cc.daily {
		return PacingDailySpent
	}
	if cc.asap {
		return PacingOK
	}
	// Even: allow while spend <= daily x elapsed fraction of the UTC day's
	// hours the campaign bids in, or of their part inside the flight.
	day0 := sec - sec%86400
	lo, hi := day0, day0+86400
	if cc.flighted {
		lo, hi = max(lo, cc.start), min(hi, cc.end)
	}
	elapsed, length := int64(sec-lo), hi-lo
	if cc.hours != allHours {
		before := activeSeconds(cc.hours, lo-day0)
		elapsed = activeSeconds(cc.hours, sec-day0) - before
		length = activeSeconds(cc.hours, hi-day0) - before
	}
	if length <= 0 {
		return PacingOK // not a second to bid in: targeting decides
	}
	allowed := float64(cc.daily)*float64(elapsed)/float64(length) + float64(cc.burst)
	if float64(today) > allowed {
		return PacingAhead
	}
	return PacingOK
}

// allHours is the hours mask of a campaign without targeting.hours.
const allHours = 1<<24 - 1

// activeSeconds returns the seconds in [0, t) of a UTC day, t in [0,
// 86400], whose hour is in the mask hours (bit h for hour h).
func activeSeconds(hours uint32, t int64) int64 {
	h := t / 3600
	n := int64(bits.OnesCount32(hours&(1<<h-1))) * 3600
	if h < 24 && hours>>h&1 != 0 {
		n += t - h*3600
	}
	return n
}

// affords reports whether cc's budgets, daily and total, have room for
// amount micro-units (campaign file currency) more at unix second sec:
// what one bid on a DOOH play costs, which counts many impressions (see
// evaluate). pacing already held that the spend is below them.
func (cc *ccamp) affords(sec int64, amount float64) bool {
	cs := cc.st
	peerToday, peerTotal := cs.peerSpent(sec / 86400)
	reserved := cs.reserved.Load()
	if cc.total > 0 && float64(cs.total.Load()+peerTotal+reserved)+amount > float64(cc.total) {
		return false
	}
	return cc.daily == 0 || float64(cs.spentToday(sec/86400)+peerToday+reserved)+amount <= float64(cc.daily)
}

// CampaignStatus is one campaign's spend and pacing, for metrics.
type CampaignStatus struct {
	ID         []byte // valid while the Snapshot is; do not modify
	SpendToday float64
	SpendTotal float64
	// PeerToday and PeerTotal are the peers' spend (see
	// [State.SetPeerSpend]); Pacing counts it with this host's.
	PeerToday float64
	PeerTotal float64
	// Reserved is the spend of won bids not yet billed (see
	// [State.Reserve]); Pacing counts it too.
	Reserved float64
	Pacing   PacingState
}

// CampaignStatus returns the status of the campaign with ordinal i
// (0 <= i < [Snapshot.Campaigns]) at time now; amounts are in the campaign
// file currency.
func (s *Snapshot) CampaignStatus(i int, now time.Time) CampaignStatus {
	cc := &s.camps[i]
	peerToday, peerTotal := cc.st.peerSpent(dayNumber(now))
	return CampaignStatus{
		ID:         cc.id,
		SpendToday: float64(cc.st.spentToday(dayNumber(now))) / 1e6,
		SpendTotal: float64(cc.st.total.Load()) / 1e6,
		PeerToday:  float64(peerToday) / 1e6,
		PeerTotal:  float64(peerTotal) / 1e6,
		Reserved:   float64(cc.st.reserved.Load()) / 1e6,
		Pacing:     cc.status(now.Unix()),
	}
}

// FreqOccupancy returns how many frequency-cap slots hold an entry and the
// table size.
func (s *State) FreqOccupancy() (used, total int) { return s.freq.occupancy() }
