package shading

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// TestRestoreKeepsTheFactor: an estimator restored from what another
// learned bids with the learned factor at once, with the counts decayed
// by the time between; restored after long enough that too little is
// left, it bids with Config.Start until it learns again. Exchanges the
// restoring side does not have are skipped.
func TestRestoreKeepsTheFactor(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	cfg := Config{Start: 0.9, Min: 0.1, Explore: 0.05}
	a := New(cfg, t0)
	learned := market(a, 20000, uniform(r, 0.3, 0.9), t0.Add(time.Minute))
	if learned == cfg.Start {
		t.Fatalf("nothing learned: factor %v", learned)
	}
	gone := New(cfg, t0)
	market(gone, 20000, uniform(r, 0.05, 0.25), t0.Add(time.Minute))
	saved := Append(nil, map[string]*Estimator{"x": a, "gone": gone}, t0.Add(2*time.Minute))
	st := a.State()

	b := New(cfg, t0)
	n, err := Restore(saved, map[string]*Estimator{"x": b, "new": New(cfg, t0)}, t0.Add(2*time.Minute+HalfLife))
	if err != nil || n != 1 {
		t.Fatalf("restored %d, %v; want 1", n, err)
	}
	if got := b.State(); got.Shade != learned || math.Abs(got.Bids-st.Bids/2) > 1e-6 || math.Abs(got.Wins-st.Wins/2) > 1e-6 {
		t.Fatalf("restored an hour later: %+v; want factor %v, bids %v and wins %v (half of %+v)", got, learned, st.Bids/2, st.Wins/2, st)
	}
	// Ten half-lives later: 20,000 bids are 20, below MinBids.
	c := New(cfg, t0)
	if n, err := Restore(saved, map[string]*Estimator{"x": c}, t0.Add(2*time.Minute+10*HalfLife)); err != nil || n != 1 {
		t.Fatalf("restored %d, %v; want 1", n, err)
	}
	if got := c.State(); got.Shade != cfg.Start || !got.Learning {
		t.Fatalf("restored ten hours later: %+v; want factor %v, learning", got, cfg.Start)
	}
	// Saved again, a restored estimator saves what it restored.
	again := Append(nil, map[string]*Estimator{"x": b}, t0.Add(2*time.Minute+HalfLife))
	d := New(cfg, t0)
	if _, err := Restore(again, map[string]*Estimator{"x": d}, t0.Add(2*time.Minute+HalfLife)); err != nil || d.State() != b.State() {
		t.Fatalf("saved and restored again: %+v, %v; want %+v", d.State(), err, b.State())
	}
}

// TestRestoreRejects: data cut anywhere, with a bad count or with
// trailing bytes restores nothing; so does a count that is negative, NaN
// or infinite.
func TestRestoreRejects(t *testing.T) {
	e := New(Config{Start: 0.9, Min: 0.1, Explore: 0.05}, t0)
	market(e, 20000, uniform(rand.New(rand.NewPCG(5, 6)), 0.3, 0.9), t0.Add(time.Minute))
	saved := Append(nil, map[string]*Estimator{"x": e, "y": e}, t0.Add(time.Minute))
	check := func(what string, b []byte) {
		t.Helper()
		f := New(Config{Start: 0.9, Min: 0.1, Explore: 0.05}, t0)
		if n, err := Restore(b, map[string]*Estimator{"x": f, "y": f}, t0.Add(time.Minute)); !errors.Is(err, ErrState) || n != 0 || f.Shade() != 0.9 {
			t.Fatalf("%s: restored %d, %v, factor %v; want ErrState, nothing", what, n, err, f.Shade())
		}
	}
	for i := range saved {
		check("cut", saved[:i])
	}
	check("trailing", append(saved[:len(saved):len(saved)], 0))
	// The first record's bids, then its first win.
	bids := 4 + 2 + 1 + 8 + 2
	for _, at := range []int{bids, bids + 8} {
		for _, v := range []float64{-1, math.NaN(), math.Inf(1)} {
			b := append([]byte(nil), saved...)
			binary.LittleEndian.PutUint64(b[at:], math.Float64bits(v))
			check("a count of "+strconv.FormatFloat(v, 'g', -1, 64), b)
		}
	}
	// A record of another number of steps (saved by another version) is
	// skipped, and the others restored.
	other := binary.LittleEndian.AppendUint32(nil, 2)
	other = binary.LittleEndian.AppendUint16(other, 3)
	other = append(other, "old"...)
	other = binary.LittleEndian.AppendUint64(other, uint64(t0.UnixNano()))
	other = binary.LittleEndian.AppendUint16(other, Steps+1)
	other = append(other, make([]byte, 8*(Steps+2))...)
	other = append(other, saved[4:4+2+1+stateLen]...) // x's record
	f, old := New(Config{Start: 0.9, Min: 0.1, Explore: 0.05}, t0), New(Config{Start: 0.9, Min: 0.1, Explore: 0.05}, t0)
	if n, err := Restore(other, map[string]*Estimator{"x": f, "old": old}, t0.Add(time.Minute)); n != 1 || err != nil || f.Shade() != e.Shade() || old.Shade() != 0.9 {
		t.Fatalf("a record of %d steps and one of %d: restored %d, %v, factors %v and %v; want x's only (%v)", Steps+1, Steps, n, err, f.Shade(), old.Shade(), e.Shade())
	}
}
