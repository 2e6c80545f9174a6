package shading

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

var t0 = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

// market simulates n exploration bids of value 1 on an exchange whose
// highest other bid is draw() (relative to the value): each bid wins
// when that is below 1, and its billing notice says so. It returns the
// factor after an update at now.
func market(e *Estimator, n int, draw func() float64, now time.Time) float64 {
	for range n {
		e.Explored(1)
		if m := draw(); m < 1 {
			e.Won(1, m, now)
		}
	}
	e.Update(now)
	return e.Shade()
}

// uniform returns a draw uniform on [lo, hi).
func uniform(r *rand.Rand, lo, hi float64) func() float64 {
	return func() float64 { return lo + (hi-lo)*r.Float64() }
}

// TestLearnsSurplusMaximum: with the other bids uniform on [0.3, 0.9) of
// the value, the chance to win at factor s is (s - 0.3) / 0.6, and the
// surplus (1 - s)(s - 0.3) / 0.6 peaks at s = 0.65. With them uniform on
// [0.5, 1.5), it is (s - 0.5)(1 - s), peaking at 0.75.
func TestLearnsSurplusMaximum(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		lo, hi, want float64
	}{{0.3, 0.9, 0.65}, {0.5, 1.5, 0.75}, {0.05, 0.25, 0.25}} {
		e := New(Config{Start: 0.9, Min: 0.1, Explore: 0.05}, t0)
		if got := market(e, 20000, uniform(r, c.lo, c.hi), t0.Add(time.Minute)); math.Abs(got-c.want) > 0.021 {
			t.Errorf("other bids uniform on [%v, %v): factor %v; want %v", c.lo, c.hi, got, c.want)
		}
		if st := e.State(); st.Learning || st.Shade != e.Shade() {
			t.Errorf("state %+v: learning, or not the factor %v", st, e.Shade())
		}
	}
}

// TestMin: the factor never goes below Config.Min, even where the
// surplus peaks lower.
func TestMin(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	e := New(Config{Start: 0.9, Min: 0.5, Explore: 0.05}, t0)
	if got := market(e, 5000, uniform(r, 0.05, 0.25), t0.Add(time.Minute)); got != 0.5 {
		t.Fatalf("factor %v; want Min 0.5", got)
	}
}

// TestStartsUntilLearned: the factor stays Config.Start until MinBids
// exploration bids and MinWins wins are counted.
func TestStartsUntilLearned(t *testing.T) {
	e := New(Config{Start: 0.85, Min: 0.1, Explore: 0.05}, t0)
	// Enough bids, too few wins.
	if got := market(e, MinBids*2, func() float64 { return 1.2 }, t0); got != 0.85 {
		t.Fatalf("after bids that never won: %v; want 0.85", got)
	}
	for range MinWins - 1 {
		e.Won(1, 0.4, t0)
	}
	e.Update(t0)
	if got, st := e.Shade(), e.State(); got != 0.85 || !st.Learning {
		t.Fatalf("after %d wins: %v (%+v); want 0.85, learning", MinWins-1, got, st)
	}
	e.Won(1, 0.4, t0)
	e.Update(t0)
	if got, st := e.Shade(), e.State(); got != 0.41 || st.Learning {
		t.Fatalf("after %d wins all at 0.4: %v (%+v); want 0.41, learned", MinWins, got, st)
	}
	// Too few bids, many wins.
	e = New(Config{Start: 0.85, Min: 0.1, Explore: 0.05}, t0)
	if got := market(e, MinBids-1, func() float64 { return 0.4 }, t0); got != 0.85 {
		t.Fatalf("after %d bids: %v; want 0.85", MinBids-1, got)
	}
}

// TestFollowsTheExchange: old observations fade with HalfLife, so after
// a few hours of a new market the factor is the new market's.
func TestFollowsTheExchange(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	e := New(Config{Start: 0.9, Min: 0.1, Explore: 0.05}, t0)
	if got := market(e, 20000, uniform(r, 0.3, 0.9), t0); math.Abs(got-0.65) > 0.021 {
		t.Fatalf("first market: %v; want 0.65", got)
	}
	now := t0
	for range 8 { // 4 hours: the first market weighs 1/16 of the second
		now = now.Add(HalfLife / 2)
		market(e, 5000, uniform(r, 0.5, 1.5), now)
	}
	if got := e.Shade(); math.Abs(got-0.75) > 0.021 {
		t.Fatalf("after 4 hours of the second market: %v; want 0.75", got)
	}
}

// TestWonUpdates: wins choose again on their own, after updateWins of
// them or updateEvery, without Update.
func TestWonUpdates(t *testing.T) {
	e := New(Config{Start: 0.9, Min: 0.1, Explore: 0.05}, t0)
	e.Explored(MinBids)
	for range updateWins - 1 {
		e.Won(1, 0.3, t0)
	}
	if got := e.Shade(); got != 0.9 {
		t.Fatalf("after %d wins: %v; want 0.9 still (no update yet)", updateWins-1, got)
	}
	e.Won(1, 0.3, t0)
	if got := e.Shade(); got != 0.31 {
		t.Fatalf("after %d wins: %v; want 0.31", updateWins, got)
	}
	// updateEvery later, one win updates: with most wins now at 0.5 and
	// many more bids, the peak moves.
	e.Explored(MinBids)
	for range updateWins - 2 {
		e.Won(1, 0.5, t0)
	}
	e.Won(1, 0.5, t0.Add(updateEvery))
	if got := e.Shade(); got != 0.51 {
		t.Fatalf("after a win %v later: %v; want 0.51", updateEvery, got)
	}
}

// TestWonIgnoresBadValues: a win without a usable value or minimum to
// win counts nothing; one whose minimum is at or above the value counts
// as won at factor 1 only.
func TestWonIgnoresBadValues(t *testing.T) {
	e := New(Config{Start: 0.9, Min: 0.1, Explore: 0.05}, t0)
	e.Explored(MinBids)
	for _, vm := range [][2]float64{{0, 0.5}, {-1, 0.5}, {math.NaN(), 0.5}, {1, -1}, {1, math.NaN()}} {
		e.Won(vm[0], vm[1], t0)
	}
	e.Update(t0)
	if st := e.State(); st.Wins != 0 {
		t.Fatalf("bad values counted: %+v", st)
	}
	for range MinWins {
		e.Won(1, 3, t0)
		e.Won(1, math.Inf(1), t0)
	}
	e.Update(t0)
	if got, st := e.Shade(), e.State(); got != 1 || st.Wins != 2*MinWins {
		t.Fatalf("wins at or above the value: %v (%+v); want 1, %d wins", got, st, 2*MinWins)
	}
}

// TestExplores: the share of uniform hashes that explore is Explore.
func TestExplores(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, share := range []float64{0.01, 0.05, 0.5} {
		e := New(Config{Start: 1, Min: 0.5, Explore: share}, t0)
		n := 0
		for range 100000 {
			if e.Explores(r.Uint64()) {
				n++
			}
		}
		if got := float64(n) / 100000; math.Abs(got-share) > 0.004 {
			t.Errorf("explore %v: %v of the requests", share, got)
		}
		if !e.Explores(0) || e.Explores(math.MaxUint64) {
			t.Errorf("explore %v: hash 0 does not explore, or the largest does", share)
		}
	}
}

// TestChoose pins the choice on hand-made counts: ties go to the higher
// factor, and no factor below the lowest.
func TestChoose(t *testing.T) {
	var w [Steps]float64
	w[39], w[79] = 10, 10 // won from 0.40 and from 0.80
	// (1-0.4)*10 = 6 against (1-0.8)*20 = 4.
	if got := choose(&w, 100, 0.1); got != 0.4 {
		t.Fatalf("choose: %v; want 0.4", got)
	}
	// From 0.5, 0.5 itself: (1-0.5)*10 = 5.
	if got := choose(&w, 100, 0.5); got != 0.5 {
		t.Fatalf("choose from 0.5: %v; want 0.5", got)
	}
	if got := choose(&w, 100, 0.85); got != 0.85 {
		t.Fatalf("choose from 0.85: %v; want 0.85", got)
	}
	w[79] = 20 // (1-0.8)*30 = 6: a tie
	if got := choose(&w, 100, 0.1); got != 0.8 {
		t.Fatalf("choose on a tie: %v; want the higher, 0.8", got)
	}
}

// TestConcurrent: bids, wins, reads and updates from many goroutines
// lose no count (run with -race).
func TestConcurrent(t *testing.T) {
	e := New(Config{Start: 0.9, Min: 0.1, Explore: 0.05}, t0)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				e.Explored(2)
				e.Won(1, float64((g+i)%100)/100, t0)
				if e.Shade() <= 0 {
					t.Error("no factor")
				}
				if i%100 == 0 {
					e.Update(t0)
				}
			}
		})
	}
	wg.Wait()
	e.Update(t0)
	if st := e.State(); st.Bids != 16000 || st.Wins != 8000 {
		t.Fatalf("state %+v; want 16000 bids and 8000 wins", st)
	}
}

// BenchmarkWon is a billing notice's cost of teaching the estimator:
// counting the win, and every updateWins wins, the update.
func BenchmarkWon(b *testing.B) {
	e := New(Config{Start: 0.9, Min: 0.1, Explore: 0.05}, t0)
	e.Explored(1 << 30)
	i := 0
	for b.Loop() {
		e.Won(1, float64(i%100)/100, t0)
		i++
	}
}

// TestEarnsNearTheBestFixedFactor runs the estimator online in simulated
// markets (other bids relative to the value; 200,000 auctions over two
// hours; 5 % explored): its surplus, exploration's cost included, is
// within 10 % of the best fixed factor's in hindsight, and well above
// the factor it starts from.
func TestEarnsNearTheBestFixedFactor(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	lognormal := func(mu, sigma float64) func() float64 {
		return func() float64 { return math.Exp(mu + sigma*r.NormFloat64()) }
	}
	for _, c := range []struct {
		name string
		draw func() float64
	}{
		{"uniform 0.3-0.9", uniform(r, 0.3, 0.9)},
		{"uniform 0.5-1.5", uniform(r, 0.5, 1.5)},
		{"lognormal around 0.6", lognormal(math.Log(0.6), 0.25)},
	} {
		const n = 200000
		draws := make([]float64, n)
		for i := range draws {
			draws[i] = c.draw()
		}
		e := New(Config{Start: 0.95, Min: 0.3, Explore: 0.05}, t0)
		learned := 0.0
		for i, m := range draws {
			now := t0.Add(time.Duration(i) * 2 * time.Hour / n)
			explore := e.Explores(r.Uint64())
			s := e.Shade()
			if explore {
				s = 1
				e.Explored(1)
			}
			if m < s {
				learned += 1 - s
				if explore {
					e.Won(1, m, now)
				}
			}
		}
		fixed := func(s float64) float64 {
			sum := 0.0
			for _, m := range draws {
				if m < s {
					sum += 1 - s
				}
			}
			return sum
		}
		best, bestS := 0.0, 0.0
		for k := 30; k <= 100; k++ {
			if v := fixed(float64(k) / 100); v > best {
				best, bestS = v, float64(k)/100
			}
		}
		start := fixed(0.95)
		t.Logf("%s: learned %.3f (surplus %.0f), best fixed %.2f (%.0f), start 0.95 (%.0f): %.1f %% of the best, %.1fx the start",
			c.name, e.Shade(), learned, bestS, best, start, 100*learned/best, learned/start)
		if learned < 0.9*best || learned < 1.5*start {
			t.Errorf("%s: surplus %.0f; want at least 90 %% of the best fixed factor's %.0f and 1.5x the start's %.0f", c.name, learned, best, start)
		}
	}
}

// TestStopsFutileExploring: FutileBids exploration bids without a win
// counted stop exploring (the exchange sends no minimum to win); one win
// before them keeps it going.
func TestStopsFutileExploring(t *testing.T) {
	e := New(Config{Start: 0.8, Min: 0.5, Explore: 0.05}, t0)
	e.Explored(FutileBids - 1)
	if !e.Explores(0) || !e.Exploring() {
		t.Fatalf("stopped exploring after %d bids", FutileBids-1)
	}
	e.Explored(1)
	if e.Explores(0) || e.Exploring() || e.Shade() != 0.8 {
		t.Fatalf("after %d bids without a win: exploring %v, factor %v; want no, 0.8", FutileBids, e.Explores(0), e.Shade())
	}
	e = New(Config{Start: 0.8, Min: 0.5, Explore: 0.05}, t0)
	e.Won(1, 0.5, t0)
	e.Explored(2 * FutileBids)
	if !e.Explores(0) {
		t.Fatal("stopped exploring although a win came")
	}
}

// TestMetrics: a named estimator shows its factor and whether it explores
// under its exchange's name.
func TestMetrics(t *testing.T) {
	e := New(Config{Name: "shading-test", Start: 0.8, Min: 0.5, Explore: 0.05}, t0)
	e.Explored(FutileBids)
	var buf bytes.Buffer
	metrics.WritePrometheus(&buf, false)
	for _, want := range []string{
		`rtbd_exchange_shading{exchange="shading-test"} 0.8` + "\n",
		`rtbd_exchange_shading_exploring{exchange="shading-test"} 0` + "\n",
		`rtbd_exchange_shading_explored_total{exchange="shading-test",event="bid"} ` + strconv.Itoa(FutileBids) + "\n",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("metrics miss %q", want)
		}
	}
}
