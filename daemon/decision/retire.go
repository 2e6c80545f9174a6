package decision

import (
	"log/slog"
	"runtime"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/rtbd/rtbd/daemon/stats"
)

// Retirement. The State keeps the spend of every campaign a book, a peer
// or the state file has had, so that a campaign a reload drops and a
// later one brings back keeps its total. Kept forever, that grows with
// every campaign ever run: the spend file and every peer's reading carry
// them all (about 41 bytes each, every second to every peer), and peers
// refuse a reading over 64 MiB, about 1.6 million campaigns, after which
// budgets are no longer shared.
//
// A campaign is retired when, for more than state.retireAfterDays UTC
// days, no compiled book has had it and nobody has spent on it: the
// latest day this host or any peer billed it. Every host of a group
// reaches the same verdict from the same facts (the last spend day
// travels with the spend), within the hour between two sweeps and the
// day it last saw the campaign in its own book. A spend entry of a
// campaign the State does not count, for a day that old, is ignored
// wherever it comes from (a peer's reading, the state file): a host that
// retired a campaign is not handed it back by one that has not yet, and
// nothing revives it but a book.
//
// A campaign that a book brings back after its retirement starts from
// zero spend: its total budget counts from then. Keep a campaign in the
// book while its total must hold, or set state.retireAfterDays longer
// than the longest pause.

// SetRetireAfter sets state.retireAfterDays: [State.Retire] retires a
// campaign that no book has had and nobody has spent on for more than
// days UTC days. 0, the State's default, keeps every campaign.
func (s *State) SetRetireAfter(days int) { s.retireAfter.Store(int64(max(days, 0))) }

// RetireAfter returns state.retireAfterDays as SetRetireAfter set it.
func (s *State) RetireAfter() int { return int(s.retireAfter.Load()) }

// SetClock sets the clock the State retires by, time.Now by default:
// for tests, which cannot wait 30 days. Call it before the State is
// shared.
func (s *State) SetClock(now func() time.Time) { s.now = now }

// stale reports whether day is more than state.retireAfterDays before
// today; never when retiring is off.
func (s *State) stale(day, today int64) bool {
	n := s.retireAfter.Load()
	return n > 0 && today-day > n
}

// Retirable reports whether a spend entry of campaign id, for UTC day
// day, is to be ignored: retiring is on, the State does not count the
// campaign, and day is too old for it to count again (see
// [State.Retire]). The peers' readings use it to forget what the State
// retired. It does not allocate.
func (s *State) Retirable(id []byte, day int64) bool {
	if !s.stale(day, dayNumber(s.now())) {
		return false
	}
	_, counted := (*s.camps.Load())[string(id)]
	return !counted
}

// Retire drops the counters of the campaigns that no book has had and
// nobody has spent on for more than state.retireAfterDays, and returns
// how many it dropped. The daemon calls it every hour; it visits every
// campaign, yielding every spendYieldEvery of them. A bill of a retired
// campaign is refused as unknown (see [State.Bill]).
func (s *State) Retire() int {
	if s.retireAfter.Load() == 0 {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	today := dayNumber(s.now())
	if snap := s.snap.Load(); snap != nil {
		for i := range snap.camps {
			snap.camps[i].st.seen.Store(dayOf(today))
		}
	}
	old := *s.camps.Load()
	var gone []string
	n := 0
	for id, cs := range old {
		if n++; n%spendYieldEvery == 0 {
			runtime.Gosched()
		}
		last := int64(cs.day.Load())
		if p := cs.peer.Load(); p != nil {
			last = max(last, p.day)
		}
		if s.stale(int64(cs.seen.Load()), today) && s.stale(last, today) {
			gone = append(gone, id)
		}
	}
	if len(gone) == 0 {
		return 0
	}
	m := make(map[string]*campaignState, len(old)-len(gone))
	for k, v := range old {
		m[k] = v
	}
	for _, id := range gone {
		delete(m, id)
	}
	s.camps.Store(&m)
	return len(gone)
}

// Grown counts the campaigns the State ever started counting: a change
// means it counts one it did not before, which an entry [State.Retirable]
// reported may now be part of.
func (s *State) Grown() uint64 { return s.grown.Load() }

// adoptLog logs an adoption at most every 10 s, with how many it left
// out.
var adoptLog = stats.NewThrottle(10 * time.Second)

// maxAdopted bounds the campaigns [State.Adopt] counts that no book has
// had yet.
const maxAdopted = 1024

// Adopt starts counting campaign id, which no book has had, so that a
// notice for one of its bids is charged rather than refused: a host
// whose book lags behind the bidding host's (a backup that took the
// address over, a reload still compiling) bills what the exchange
// charged. A book that brings the campaign later attaches to its
// counters, with the spend they hold; until then its frequency cap is
// unknown, so its impressions count in no cap. A campaign no book
// brings is retired as a restored one is (see [State.Retire]). Adopt
// returns true when the State counts id, from now on or already (two
// notices of a new campaign at once: the second finds it adopted), and
// false before any book and when maxAdopted adopted campaigns are still
// in no book: notices can name any id, so only so many are taken on
// trust (signed notices, see notice.Config.Keys, name only ids this
// fleet bid with).
func (s *State) Adopt(id []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.camps.Load()
	if old[string(id)] != nil {
		return true // another notice adopted it meanwhile, or a book
	}
	if len(id) == 0 || s.snap.Load() == nil {
		return false
	}
	for a := range s.adopted {
		if old[a] == nil { // retired
			delete(s.adopted, a)
		}
	}
	if len(s.adopted) >= maxAdopted {
		return false
	}
	m := make(map[string]*campaignState, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	cs := &campaignState{freqKey: xxhash.Sum64String(string(id))} // as Compile derives it
	// Seen today, as a book's campaign: Retire would otherwise drop one
	// whose win only reserved, with its reservation, at the next sweep.
	cs.seen.Store(dayOf(dayNumber(s.now())))
	m[string(id)] = cs
	if s.adopted == nil {
		s.adopted = map[string]struct{}{}
	}
	s.adopted[string(id)] = struct{}{}
	s.camps.Store(&m)
	s.grown.Add(1)
	adoptLog.Log(slog.Default(), slog.LevelWarn, "billing a campaign no book has had; it is counted from now on", "campaign", string(id))
	return true
}

// Counts reports whether the State counts campaign id.
func (s *State) Counts(id string) bool {
	_, ok := (*s.camps.Load())[id]
	return ok
}
