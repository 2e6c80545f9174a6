package decision

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestWeightBounds: each bucket's level bounds its weight from above, by
// at most one quantisation step, so exp(-level) bounds exp(-w) from below.
func TestWeightBounds(t *testing.T) {
	t.Parallel()
	f := func(w []float64) {
		t.Helper()
		b := newWeightBounds(w)
		lo, hi := slicesMin(w), slicesMax(w)
		step := (hi - lo) / 255
		for i, x := range w {
			e := b.expNeg[b.q[i]]
			if e > math.Exp(-x) {
				t.Fatalf("bucket %d weight %v: expNeg %v above exp(-w) %v", i, x, e, math.Exp(-x))
			}
			if e < math.Exp(-x-step)*(1-1e-9) {
				t.Fatalf("bucket %d weight %v: expNeg %v looser than one step %v", i, x, e, step)
			}
		}
	}
	f([]float64{0})
	f([]float64{0.5, 0.5, 0.5})
	f([]float64{-3, 2})
	r := rand.New(rand.NewPCG(7, 8))
	w := make([]float64, 1<<12)
	for i := range w {
		w[i] = math.Round(r.NormFloat64()*0.05*1e4) / 1e4
	}
	f(w)
	for i := range w {
		w[i] = r.Float64()*20 - 10
	}
	f(w)
}

func slicesMin(w []float64) float64 {
	m := w[0]
	for _, x := range w {
		m = min(m, x)
	}
	return m
}

func slicesMax(w []float64) float64 {
	m := w[0]
	for _, x := range w {
		m = max(m, x)
	}
	return m
}
