package decision

import (
	"cmp"
	"math"
	"slices"
	"sync"
)

// Ordinals and the early stop of the scan.
//
// Campaigns get ordinals by a static bound on their price, highest first
// (see sortByBound), so that the AND of the targeting bitsets meets the
// most promising candidates first. The scan of an imp stops at the first
// word (64 ordinals) whose suffix bound, the highest price any campaign
// at or after it can reach for this request, is below the cut.
//
// The bound of campaign o at request logit L (request features, media and
// the slack of unknown cross features) is g(L) = Value x sigmoid(L + x),
// with x its campaign, best creative and (when precomputed) device type
// cross weights. log g is concave in L with slope d = 1 - sigmoid(L + x)
// in (0, 1), so its tangent at any grid point Lg bounds it:
//
//	log g(L) <= log g(Lg) + (L - Lg) d(Lg)
//
// The price is min(g, MaxCPM): a campaign already capped at Lg stays
// below log MaxCPM at any L (slope 0). For every word w, device type
// variant and grid point, suffixBounds keeps over ordinals >= 64w the
// maximum log MaxCPM of the capped campaigns, and for the others the
// maximum of log g(Lg) and the maximum and minimum of d, rounded outwards
// to float32: one sequential column per request.

// Suffix-bound grid: gridN points of request logits, gridStep apart,
// centred on the model bias. A logit off the grid uses the nearest end
// point: still a bound, only looser.
const (
	gridN    = 17
	gridStep = 0.25
)

// suffixBounds is the per-word suffix price bound table.
type suffixBounds struct {
	on       bool // false without a model: the bound is the suffix cap
	variants int  // device type variants: numDevTypes + 1, or 1
	center   float64
	words    int
	// cols[(variant*gridN+g)*words+w] for grid point g.
	cols []sufEntry
}

// sufEntry bounds a suffix at one grid point: max log MaxCPM of the
// capped campaigns, max log g and max and min d of the others.
type sufEntry struct {
	capped, s, dHi, dLo float32
}

// sortByBound renumbers the campaigns (compiled in rank order, with their
// model weights) by min(Value x sigmoid(bias + wCamp + maxCrW), MaxCPM),
// highest first, ties by rank, and returns order permuted alike.
func (s *Snapshot) sortByBound(order []int) []int {
	key := make([]float64, len(s.camps))
	for o := range s.camps {
		cc := &s.camps[o]
		score := 1.0
		if s.model.on {
			score = sigmoid(s.model.bias + cc.wCamp + cc.maxCrW)
		}
		key[o] = min(cc.value*score, cc.maxCPM)
	}
	perm := make([]int, len(s.camps))
	for i := range perm {
		perm[i] = i
	}
	slices.SortStableFunc(perm, func(a, b int) int { return cmp.Compare(key[b], key[a]) })
	camps := make([]ccamp, len(s.camps))
	out := make([]int, len(order))
	for i, p := range perm {
		camps[i] = s.camps[p]
		out[i] = order[p]
	}
	s.camps = camps
	return out
}

// buildSuffixBounds fills s.sufB; it runs after precomputeDevType. The
// device type variants are independent and filled in parallel.
func (s *Snapshot) buildSuffixBounds() {
	m := &s.model
	b := &s.sufB
	*b = suffixBounds{on: m.on, variants: 1, center: m.bias, words: words(len(s.camps))}
	if !m.on {
		return
	}
	if s.devW != nil {
		b.variants = numDevTypes + 1
	}
	b.cols = make([]sufEntry, b.variants*gridN*b.words)
	n := len(s.camps)
	logV, logCap := make([]float64, n), make([]float64, n)
	for o := range s.camps {
		logV[o], logCap[o] = math.Log(s.camps[o].value), math.Log(s.camps[o].maxCPM)
	}
	var wg sync.WaitGroup
	for v := 0; v < b.variants; v++ {
		wg.Go(func() {
			x := make([]float64, n)
			for o := range s.camps {
				x[o] = s.camps[o].wCamp + s.camps[o].maxCrW
				if v < numDevTypes && s.devW != nil {
					x[o] += s.devW[v*n+o]
				}
			}
			for g := 0; g < gridN; g++ {
				col := b.cols[(v*gridN+g)*b.words : (v*gridN+g+1)*b.words]
				fillColumn(col, b.gridPoint(g), x, logV, logCap)
			}
		})
	}
	wg.Wait()
}

// fillColumn computes the suffix entries of one variant (campaign
// exponents x) at grid point lg.
func fillColumn(col []sufEntry, lg float64, x, logV, logCap []float64) {
	inf := float32(math.Inf(-1))
	acc := sufEntry{capped: inf, s: inf, dHi: 0, dLo: 1}
	n := len(x)
	for w := len(col) - 1; w >= 0; w-- {
		for o := min(n, (w+1)<<6) - 1; o >= w<<6; o-- {
			// With e = exp(-z): log sigmoid(z) = -log1p(e), d = e/(1+e).
			e := math.Exp(-(lg + x[o]))
			ls := logV[o] - math.Log1p(e)
			if math.IsInf(e, 1) {
				ls = logV[o] + lg + x[o] // log sigmoid(z) -> z
			}
			if ls >= logCap[o] {
				acc.capped = max(acc.capped, up32(logCap[o]))
				continue
			}
			d := e / (1 + e)
			if math.IsInf(e, 1) {
				d = 1
			}
			acc.s = max(acc.s, up32(ls))
			acc.dHi = max(acc.dHi, up32(d))
			acc.dLo = min(acc.dLo, down32(d))
		}
		col[w] = acc
	}
}

// up32 and down32 round to float32 towards +Inf and -Inf, with one more
// step of margin for the float64 rounding of their inputs.
func up32(x float64) float32 {
	return math.Nextafter32(float32(x), float32(math.Inf(1)))
}

func down32(x float64) float32 {
	return math.Nextafter32(float32(x), float32(math.Inf(-1)))
}

func (b *suffixBounds) gridPoint(g int) float64 {
	return b.center + float64(g-gridN/2)*gridStep
}

// column returns the entries for request logit l (including slack) and
// device type index dt (-1: not precomputed), and l minus its grid point.
func (b *suffixBounds) column(l float64, dt int) ([]sufEntry, float64) {
	if !b.on {
		return nil, 0
	}
	v := 0
	if b.variants > 1 {
		v = devVariant(dt)
	}
	g := int(math.Round((l-b.center)/gridStep)) + gridN/2
	if l != l { // NaN cannot happen with finite weights; stay safe
		g = gridN - 1
	}
	g = min(max(g, 0), gridN-1)
	return b.cols[(v*gridN+g)*b.words : (v*gridN+g+1)*b.words], l - b.gridPoint(g)
}

// sufScan is the suffix bound of one collect: the column and the offset
// of the request logit from its grid point.
type sufScan struct {
	col   []sufEntry
	delta float64
}

// logBound returns the log of the highest price (file currency) of any
// campaign with an ordinal >= 64w; it does not increase with w.
func (sc *sufScan) logBound(w int) float64 {
	e := &sc.col[w]
	d := e.dHi
	if sc.delta < 0 {
		d = e.dLo
	}
	return max(float64(e.capped), float64(e.s)+sc.delta*float64(d))
}

// stopWord returns the first word from which no campaign can be priced at
// cut (file currency) or more, or the number of words.
func (s *Snapshot) stopWord(sc *sufScan, cut float64) int {
	lo, hi := 0, s.sufB.words
	if sc.col == nil { // no model: ordinals are sorted by min(Value, MaxCPM)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if h := &s.hot[m<<6]; min(h.value, h.maxCPM) < cut {
				hi = m
			} else {
				lo = m + 1
			}
		}
		return lo
	}
	lc := math.Log(cut)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if sc.logBound(m) < lc {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}
