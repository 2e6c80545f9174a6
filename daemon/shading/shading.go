// Package shading learns an exchange's first-price shading factor from
// what its auctions say the bids needed: the ${AUCTION_MIN_TO_WIN} of
// its billing notices.
//
// In a first-price auction the winner pays its bid, so a bidder bids
// below its value v, at v x s. A lower factor s pays less for each
// impression it wins and wins fewer of them; the factor that earns the
// most surplus, (v - price) x P(win), is s* = argmax (1 - s) x F(s),
// where F(s) is the chance that the highest other bid is below v x s.
// That chance differs per exchange and moves with its demand, so an
// [Estimator] measures it: a small share of the bids (Config.Explore)
// goes out unshaded, at v, and each of those that wins tells, with its
// minimum to win m, that the auction would have been won at any factor
// above m / v. Over the exploration bids, the fraction won at factor s
// is F(s), for every s at once. Counts decay with a half-life of an
// hour, so the factor follows the exchange.
//
// Only the exploration bids teach: a shaded bid's win says nothing of
// the factors above the one it was bid at, and learning from those
// would ratchet the factor down. An exploration bid that is not billed
// (lost, or won and never shown) counts as not won, at any factor.
//
// The count of exploration bids scales F by a constant, which moves no
// maximum: the choice depends on the wins' minimums alone, and the bids
// only gate it (MinBids). So a host that receives the billing notices
// of another's bids (a shared notice address) learns from them as well.
package shading

import (
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Config is an exchange's automatic shading.
type Config struct {
	// Name is the exchange's, the label of its metrics:
	// rtbd_exchange_shading{exchange} (the factor),
	// rtbd_exchange_shading_explored_total{exchange,event="bid"|"win"}
	// (the exploration bids and their wins with a minimum to win) and
	// rtbd_exchange_shading_exploring{exchange} (0 once stopped: see
	// FutileBids). Empty: no metrics.
	Name string
	// Start is the factor bid with until enough has been learned, in
	// (0, 1].
	Start float64
	// Min is the lowest factor it may choose, in (0, 1].
	Min float64
	// Explore is the share of first-price bids sent unshaded, in
	// (0, 1]: each one pays its full value when it wins.
	Explore float64
}

// Steps is the factors' resolution: s in 1/Steps steps, and the
// exploration wins counted in Steps buckets of m / v.
const Steps = 100

// Learning needs at least MinBids exploration bids and MinWins of their
// wins (decayed counts) before it moves the factor from Config.Start.
const (
	MinBids = 200
	MinWins = 30
)

// HalfLife is how fast old observations fade.
const HalfLife = time.Hour

// A win folds the new counts in and chooses again when updateEvery has
// passed since the last time, or updateWins wins have come since.
const (
	updateEvery = 10 * time.Second
	updateWins  = 32
)

// Estimator learns one exchange's factor. Its methods are safe for
// concurrent use; Shade and Explores are one atomic load each.
type Estimator struct {
	cfg Config
	// exploreBelow: a request whose hash's top 32 bits are below it
	// explores; 0 once exploring has proven futile (see Explored).
	exploreBelow atomic.Uint64
	// Exploration bids and their wins since New, to tell an exchange
	// that sends no minimum to win.
	totalBids, totalWins atomic.Uint64
	shade                atomic.Uint64 // math.Float64bits of the factor

	// Counted since the last update: exploration bids, and their wins
	// by bucket of m / v (the last bucket also takes m >= v).
	bids   atomic.Uint64
	wins   [Steps]atomic.Uint64
	recent atomic.Uint64 // wins since the last update

	lastUpdate atomic.Int64 // unix nanoseconds
	mu         sync.Mutex   // serializes update
	sumBids    float64      // decayed
	sumWins    [Steps]float64

	gauge, exploring         *metrics.Gauge // nil without Config.Name
	exploredBid, exploredWin *metrics.Counter
}

// New returns an estimator that bids with cfg.Start until it has
// learned, from now on.
func New(cfg Config, now time.Time) *Estimator {
	e := &Estimator{cfg: cfg}
	e.exploreBelow.Store(uint64(cfg.Explore * (1 << 32)))
	e.lastUpdate.Store(now.UnixNano())
	if cfg.Name != "" {
		l := `{exchange="` + cfg.Name + `"`
		e.gauge = metrics.GetOrCreateGauge(`rtbd_exchange_shading`+l+`}`, nil)
		e.exploring = metrics.GetOrCreateGauge(`rtbd_exchange_shading_exploring`+l+`}`, nil)
		e.exploring.Set(1)
		e.exploredBid = metrics.GetOrCreateCounter(`rtbd_exchange_shading_explored_total` + l + `,event="bid"}`)
		e.exploredWin = metrics.GetOrCreateCounter(`rtbd_exchange_shading_explored_total` + l + `,event="win"}`)
	}
	e.set(cfg.Start)
	return e
}

// set makes f the factor.
func (e *Estimator) set(f float64) {
	e.shade.Store(math.Float64bits(f))
	if e.gauge != nil {
		e.gauge.Set(f)
	}
}

// Shade returns the factor to bid with in first-price auctions.
func (e *Estimator) Shade() float64 { return math.Float64frombits(e.shade.Load()) }

// Explores reports whether the request whose uniformly distributed hash
// is h goes out unshaded.
func (e *Estimator) Explores(h uint64) bool { return h>>32 < e.exploreBelow.Load() }

// FutileBids is how many exploration bids without one win counted make
// an estimator stop exploring: the exchange does not substitute
// ${AUCTION_MIN_TO_WIN} in its billing notices, or sends none, and each
// further exploration bid would cost what shading saves and teach
// nothing. The factor stays; a restart explores again.
const FutileBids = 10000

// Explored counts n exploration bids sent.
func (e *Estimator) Explored(n int) {
	e.bids.Add(uint64(n))
	if e.exploredBid != nil {
		e.exploredBid.Add(n)
	}
	if t := e.totalBids.Add(uint64(n)); t >= FutileBids && t-uint64(n) < FutileBids && e.totalWins.Load() == 0 {
		e.exploreBelow.Store(0)
		if e.exploring != nil {
			e.exploring.Set(0)
		}
		slog.Error("shading: no billing notice with a minimum to win came for the exploration bids; exploring stops until a restart, the factor stays",
			"exchange", e.cfg.Name, "bids", t, "factor", e.Shade())
	}
}

// Exploring reports whether e still explores (see FutileBids).
func (e *Estimator) Exploring() bool { return e.exploreBelow.Load() != 0 }

// Won counts the win of an exploration bid of value v (the price it was
// bid at, unshaded) whose minimum to win was m, and chooses the factor
// again when the last choice is older than 10 s or 32 wins.
func (e *Estimator) Won(v, m float64, now time.Time) {
	if !(v > 0) || !(m >= 0) {
		return
	}
	b := min(int(min(m/v, 1)*Steps), Steps-1) // m >= v: won at s = 1 only
	e.wins[b].Add(1)
	e.totalWins.Add(1)
	if e.exploredWin != nil {
		e.exploredWin.Inc()
	}
	due := e.recent.Add(1) >= updateWins || now.UnixNano()-e.lastUpdate.Load() >= int64(updateEvery)
	if due && e.mu.TryLock() {
		e.update(now)
		e.mu.Unlock()
	}
}

// Update folds in what was counted since the last update, decayed by
// the time since, and chooses the factor.
func (e *Estimator) Update(now time.Time) {
	e.mu.Lock()
	e.update(now)
	e.mu.Unlock()
}

func (e *Estimator) update(now time.Time) {
	dt := now.UnixNano() - e.lastUpdate.Load()
	e.lastUpdate.Store(now.UnixNano())
	e.recent.Store(0)
	decay := math.Exp2(-float64(max(dt, 0)) / float64(HalfLife))
	e.sumBids = e.sumBids*decay + float64(e.bids.Swap(0))
	won := 0.0
	for i := range e.sumWins {
		e.sumWins[i] = e.sumWins[i]*decay + float64(e.wins[i].Swap(0))
		won += e.sumWins[i]
	}
	if e.sumBids < MinBids || won < MinWins {
		return
	}
	e.set(choose(&e.sumWins, e.sumBids, e.cfg.Min))
}

// choose returns the factor in [lowest, 1], in 1/Steps steps, that
// maximizes (1 - s) x F(s), where F(s) is the share of the bids whose
// win needed a factor of at most s: a win in bucket i (m / v in
// [i, i+1) / Steps) counts from s = (i+1) / Steps. Ties go to the
// higher factor, which wins more.
func choose(wins *[Steps]float64, bids, lowest float64) float64 {
	best, bestS := -1.0, 1.0
	won := 0.0
	for k := 1; k <= Steps; k++ {
		won += wins[k-1]
		s := float64(k) / Steps
		if s < lowest-1e-9 {
			continue
		}
		if v := (1 - s) * won / bids; v >= best*(1-1e-9) { // a tie, up to rounding
			best, bestS = v, s
		}
	}
	return bestS
}

// State is what an estimator has learned, for metrics and tests.
type State struct {
	Shade      float64
	Bids, Wins float64 // decayed, as of the last update
	Learning   bool    // too few recent bids or wins to choose: the factor stays
}

// State returns what e had learned at its last update.
func (e *Estimator) State() State {
	e.mu.Lock()
	defer e.mu.Unlock()
	won := 0.0
	for _, w := range e.sumWins {
		won += w
	}
	return State{Shade: e.Shade(), Bids: e.sumBids, Wins: won, Learning: e.sumBids < MinBids || won < MinWins}
}
