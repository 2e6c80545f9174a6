package decision

import "math"

// weightBounds is a one-byte-per-bucket upper bound of the model weights:
// bucket i's weight is at most level(q[i]). It is 1/8 of the float64
// table, so that bounding a candidate's exact cross weight mostly hits the
// CPU cache; only a candidate that survives the bound loads its real
// weight.
type weightBounds struct {
	q []uint8
	// expNeg[l] <= exp(-w) for every weight w in a bucket of level l.
	expNeg [256]float64
}

func newWeightBounds(w []float64) weightBounds {
	var b weightBounds
	if len(w) == 0 {
		return b
	}
	lo, hi := w[0], w[0]
	for _, x := range w {
		lo, hi = min(lo, x), max(hi, x)
	}
	step := (hi - lo) / 255
	level := func(l int) float64 {
		if l == 255 || step == 0 {
			return hi
		}
		return lo + float64(l)*step
	}
	b.q = make([]uint8, len(w))
	for i, x := range w {
		l := 255
		if step > 0 && x == x {
			l = min(max(int(math.Ceil((x-lo)/step)), 0), 255)
		}
		for l < 255 && level(l) < x {
			l++
		}
		b.q[i] = uint8(l)
	}
	for l := range b.expNeg {
		// One part in 1e12 below exp: exp is accurate to an ulp.
		b.expNeg[l] = math.Exp(-level(l)) * (1 - 1e-12)
	}
	return b
}

// expNegLow returns a lower bound of exp(-weight) of feature hash h.
func (m *model) expNegLow(h uint64) float64 {
	return m.ub.expNeg[m.ub.q[h&m.mask]]
}
