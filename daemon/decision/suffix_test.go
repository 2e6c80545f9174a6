package decision

import (
	"math"
	"testing"

	"github.com/rtbd/rtbd/daemon/campaign"
)

// TestSuffixBoundsAreUpperBounds: for request logits on and off the grid
// (and off its ends) and every device type variant, the bound of every
// word is at least the highest price of any campaign from that word on,
// and at a grid point it is tight (a loose bound would still be exact but
// would scan far too much).
func TestSuffixBoundsAreUpperBounds(t *testing.T) {
	t.Parallel()
	f := campaign.Generate(2000, 3)
	m := campaign.GenerateModel(1<<12, 3)
	m.Bias = -1 // centre the grid away from 0
	s := mustCompile(t, f, m)
	n := len(s.camps)
	for _, l := range []float64{-1, -0.9, -1.13, -2.5, 0.4, 1.07, -9, 7} {
		for dt := -1; dt < numDevTypes; dt++ {
			var sc sufScan
			sc.col, sc.delta = s.sufB.column(l, dt)
			best := make([]float64, n+1) // best[o]: highest price from o on
			for o := n - 1; o >= 0; o-- {
				cc := &s.camps[o]
				x := cc.wCamp + cc.maxCrW
				if dt >= 0 {
					x += s.devW[dt*n+o]
				}
				best[o] = max(best[o+1], min(cc.value*sigmoid(l+x), cc.maxCPM))
			}
			for w := 0; w < s.sufB.words; w++ {
				ub := math.Exp(sc.logBound(w))
				if ub < best[w<<6] {
					t.Fatalf("logit %v dt %d word %d: bound %v below price %v", l, dt, w, ub, best[w<<6])
				}
				if onGrid := sc.delta == 0; onGrid && ub > best[w<<6]*1.001 {
					t.Fatalf("logit %v dt %d word %d: bound %v loose for price %v", l, dt, w, ub, best[w<<6])
				}
			}
			// Between grid points the tangent adds ~1 %; past the ends, more.
			if got := s.stopWord(&sc, best[0]*1.05); got != 0 && math.Abs(sc.delta) <= gridStep/2 {
				t.Fatalf("logit %v dt %d: stopWord above every price = %d; want 0", l, dt, got)
			}
			if got := s.stopWord(&sc, 0); got != s.sufB.words {
				t.Fatalf("logit %v dt %d: stopWord(0) = %d; want %d", l, dt, got, s.sufB.words)
			}
		}
	}
}

// TestOrdinalsFollowStaticBound: ordinals are sorted by the static bound
// and keep the Value rank for ties; without a model the bound is
// min(Value, MaxCPM).
func TestOrdinalsFollowStaticBound(t *testing.T) {
	t.Parallel()
	for _, m := range []*campaign.Model{nil, campaign.GenerateModel(1<<12, 4)} {
		s := mustCompile(t, campaign.Generate(1500, 4), m)
		key := func(cc *ccamp) float64 {
			if m == nil {
				return min(cc.value, cc.maxCPM)
			}
			return min(cc.value*sigmoid(s.model.bias+cc.wCamp+cc.maxCrW), cc.maxCPM)
		}
		ranks := make([]bool, len(s.camps))
		for o := range s.camps {
			cc := &s.camps[o]
			ranks[cc.rank] = true
			if o == 0 {
				continue
			}
			prev := &s.camps[o-1]
			if kp, k := key(prev), key(cc); kp < k || kp == k && prev.rank > cc.rank {
				t.Fatalf("model %v: ordinal %d (key %v rank %d) after key %v rank %d", m != nil, o, k, cc.rank, kp, prev.rank)
			}
		}
		for r, ok := range ranks {
			if !ok {
				t.Fatalf("rank %d unused", r)
			}
		}
		var sc sufScan
		sc.col, sc.delta = s.sufB.column(0, -1)
		if m == nil {
			if got, want := s.stopWord(&sc, key(&s.camps[64])+1e-9), 1; key(&s.camps[63]) > key(&s.camps[64]) && got > want {
				t.Fatalf("no model: stopWord = %d; want <= %d", got, want)
			}
		}
	}
}

// TestFirstBoundsRoundOutwards: for every device type variant (and the
// requests without one), a candidate's float32 first bound admits at least
// what the exact one does, and hardly more: value and maxCPM rounded up,
// exp(-s) down, from the variant its device type selects.
func TestFirstBoundsRoundOutwards(t *testing.T) {
	t.Parallel()
	f := campaign.Generate(500, 5)
	for i := range f.Campaigns { // values float32 cannot hold exactly
		f.Campaigns[i].Value += 1e-9 * float64(i)
		f.Campaigns[i].MaxCPM = f.Campaigns[i].Value * 1.5
	}
	for _, m := range []*campaign.Model{nil, campaign.GenerateModel(1<<12, 5)} {
		s := mustCompile(t, f, m)
		n := len(s.camps)
		for dt := -1; dt < numDevTypes; dt++ {
			c := &Ctx{}
			c.rf.dt = dt
			first := s.firstBounds(c)
			if len(first) != n {
				t.Fatalf("model %v dt %d: %d first bounds for %d campaigns", m != nil, dt, len(first), n)
			}
			for o := range n {
				h, fb := &s.hot[o], first[o]
				e := h.expNegS
				if dt >= 0 && s.devExpNegS != nil {
					e = s.devExpNegS[dt*n+o]
				}
				const tight = 1e-6 // float32 has 24 bits: a rounding is within 1.2e-7
				if float64(fb.value) < h.value || float64(fb.maxCPM) < h.maxCPM || float64(fb.expNegS) > e || fb.expNegS < 0 ||
					float64(fb.value) > h.value*(1+tight) || float64(fb.maxCPM) > h.maxCPM*(1+tight) || float64(fb.expNegS) < e*(1-tight) {
					t.Fatalf("model %v dt %d campaign %d: first bound %+v; exact value %v maxCPM %v expNegS %v",
						m != nil, dt, o, fb, h.value, h.maxCPM, e)
				}
			}
		}
	}
}
