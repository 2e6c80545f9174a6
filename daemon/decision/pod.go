package decision

import (
	"cmp"
	"math"
	"math/bits"
	"slices"

	"github.com/rtbd/rtbd/daemon/openrtb"
)

// Options kept per pod imp: alternatives for when the best ones share an
// advertiser domain or category with ads already in the pod.
const (
	structuredOptions = 4
	maxDynamicOptions = 32
)

// dynamicOptions is how many options a dynamic pod of media bit mb keeps:
// twice the most ads it can take, so that greedy assembly has room for
// dedupe.
func (s *Snapshot) dynamicOptions(v *openrtb.Pod, mb int) int {
	slots := v.MaxSeq
	if slots <= 0 {
		durs, shortest := s.ix.vdurs, 15
		if mb == mbAudio {
			durs = s.ix.adurs
		}
		if len(durs) > 0 && durs[0] > 0 {
			shortest = durs[0]
		}
		slots = v.PodDur/shortest + 1
	}
	return min(max(2*slots+2, 4), maxDynamicOptions)
}

// podSalt keeps campaign ordinals apart from adomain hashes in c.podDom.
const podSalt = 0x2545f4914f6cdd1d

// podSigOf is the pod signature of campaign o, cc (ccamp.podSig): bit o
// mod 64, and for each advertiser domain and category the top 6 bits of
// its hash. Options whose campaigns clash (see optionsClash) share a
// campaign, an adomainH or a catH, and so a bit.
func podSigOf(cc *ccamp, o int) uint64 {
	sig := uint64(1) << (uint64(o) & 63)
	for _, h := range cc.adomainH {
		sig |= 1 << (h >> 58)
	}
	for _, h := range cc.catH {
		sig |= 1 << (h >> 58)
	}
	return sig
}

// decidePod fills the pod that starts at imp first (see podOf), a CTV
// (video) or an audio pod: every later imp with the same podid in the
// same media is a slot (at most one bid each); an imp with poddur or
// maxseq is a dynamic pod taking several bids. No two ads of a pod share
// an advertiser domain, a category or a campaign. Structured slots are
// filled together (see fillSlots), dynamic pods in request order after
// the slots before them. Ads through a guaranteed deal, which the buyer
// must bid on, go in first (see option.first). In a small book, the
// request's terms are ANDed a quarter chunk at a time (see fillQuarter).
func (s *Snapshot) decidePod(c *Ctx, first int, resp *openrtb.Response) {
	req := c.req
	mb, pod := podOf(&req.Imps[first])
	podID := pod.PodID
	c.podDom, c.podCat, c.podSig, c.inPod, c.podFirst, c.reqc.quarter = c.podDom[:0], c.podCat[:0], 0, true, false, c.words < smallBookWords
	c.slots, c.slotOpts = c.slots[:0], c.slotOpts[:0]
	for i := first; i < len(req.Imps); i++ {
		imp := &req.Imps[i]
		m, p := podOf(imp)
		if i != first && (len(podID) == 0 || m != mb || string(p.PodID) != string(podID) || c.done[i]) {
			continue
		}
		c.done[i] = true
		// The first slot's deadline check is decide's, just before.
		if i != first && c.expired() || !c.prepareImp(imp) {
			continue
		}
		if isDynamic(p) {
			s.fillSlots(c, resp)
			c.opts = c.opts[:0]
			s.collect(c, imp, mb, s.dynamicOptions(p, mb), true)
			s.fillDynamic(c, imp, p, resp)
			continue
		}
		if !s.jointSlots(c, i, mb, podID, resp) {
			s.scanSlot(c, i, mb, podID, resp)
		}
	}
	s.fillSlots(c, resp)
	c.inPod = false
}

// putFirst marks the options in c.opts through a guaranteed deal first
// and moves them before the others, keeps those and the k best others,
// and returns how many it marked. c.opts was sorted by price, and the
// move keeps the order within each part: it is then sorted by beats.
func (c *Ctx) putFirst(k int) int {
	n := 0
	for i := range c.opts {
		if o := c.opts[i]; o.deal >= 0 && c.dealGuide[o.deal].guar {
			o.first = true
			copy(c.opts[n+1:i+1], c.opts[n:i])
			c.opts[n] = o
			n++
		}
	}
	if n == 0 {
		return 0
	}
	c.podFirst = true
	c.opts = c.opts[:min(len(c.opts), n+k)]
	return n
}

// firstBonus is firstBonus of opts when the pod has options through a
// guaranteed deal, else 0.
func (c *Ctx) firstBonus(opts []option) float64 {
	if !c.podFirst {
		return 0
	}
	return firstBonus(opts)
}

// firstBonus is what the pod searches add to the price of an option
// through a guaranteed deal (option.first): more than the other options
// together, so that a set with more such ads is worth more than any set
// with fewer, and among sets with as many the price decides. 0 when
// there is none.
func firstBonus(opts []option) float64 {
	sum, first := 0.0, false
	for i := range opts {
		sum, first = sum+opts[i].price, first || opts[i].first
	}
	if !first {
		return 0
	}
	return 1 + sum
}

// value is what the pod searches maximise the total of: the price, plus
// bonus (see firstBonus) for an option through a guaranteed deal.
func (o *option) value(bonus float64) float64 {
	if o.first {
		return o.price + bonus
	}
	return o.price
}

// Bounds of the structured slots filled together, and of their options.
const (
	maxSlots       = 16
	maxSlotOptions = 64
)

// slot is a structured slot waiting in c.slots: its imp, and its options,
// c.slotOpts[lo:hi], best first. Alike slots next to each other share
// one scan and one range.
type slot struct {
	imp    int32
	lo, hi int8
}

// scanSlot collects the options of structured slot i (imp prepared) into
// c.slotOpts, or reuses those of the slot queued before when it is alike,
// and queues the slot. A full queue is filled first.
func (s *Snapshot) scanSlot(c *Ctx, i, mb int, podID []byte, resp *openrtb.Response) {
	req := c.req
	if n := len(c.slots); n > 0 && n < maxSlots {
		if prev := c.slots[n-1]; sameSlot(&req.Imps[prev.imp], &req.Imps[i], mb) {
			c.slots = append(c.slots, slot{imp: int32(i), lo: prev.lo, hi: prev.hi})
			return
		}
	}
	c.opts = c.opts[:0]
	n := s.alikeSlots(c, i, mb, podID)
	s.collect(c, &req.Imps[i], mb, min(structuredOptions*n, maxDynamicOptions), false)
	if len(c.slots) == maxSlots || len(c.slotOpts)+len(c.opts) > maxSlotOptions {
		s.fillSlots(c, resp)
	}
	lo := len(c.slotOpts)
	c.slotOpts = append(c.slotOpts, c.opts[:min(len(c.opts), maxSlotOptions)]...)
	c.slots = append(c.slots, slot{imp: int32(i), lo: int8(lo), hi: int8(len(c.slotOpts))})
}

// fillSlots bids on the queued structured slots: at most one option each,
// the assignment with the highest total price in which no two ads, nor an
// ad and one already in the pod, share a campaign, advertiser domain or
// category. Filling slot by slot can lose much of that: when the best ad
// of the first slot and the only good one of the second come from one
// advertiser (a 30 s and a 15 s spot, say), the second slot gets a poor
// ad or none, where giving the first slot its second-best ad fills both.
func (s *Snapshot) fillSlots(c *Ctx, resp *openrtb.Response) {
	if len(c.slots) == 0 {
		return
	}
	ss, bonus := &c.slotSearch, c.firstBonus(c.slotOpts)
	if !s.greedySlots(c, ss, bonus) {
		ss.init(s, c, bonus)
		ss.search(0, 0, 0)
	}
	for t, sl := range c.slots {
		if j := ss.best[t]; j >= 0 {
			s.podTake(c, &c.slotOpts[j])
			s.emit(c, &c.req.Imps[sl.imp], &c.slotOpts[j], resp)
		}
	}
	c.slots, c.slotOpts = c.slots[:0], c.slotOpts[:0]
}

// greedySlots fills the slots in order into ss.best, each with its best
// option that clashes with no ad in the pod nor one taken before, as
// decidePod did before slots were filled together. It reports whether
// that is surely the best assignment: it reaches the bound of each run of
// alike slots taking the run's best options that clash with no ad already
// in the pod. It looks at few options, so that this, the common case,
// costs about what filling slot by slot cost. Options are worth their
// value (see firstBonus).
func (s *Snapshot) greedySlots(c *Ctx, ss *slotSearch, bonus float64) bool {
	ss.m, ss.bestPrice = len(c.slots), 0
	bound := 0.0
	for t := 0; t < ss.m; {
		sl, r := c.slots[t], 1
		for t+r < ss.m && c.slots[t+r].lo == sl.lo && c.slots[t+r].hi == sl.hi {
			r++
		}
		for j, n := sl.lo, 0; j < sl.hi && n < r; j++ {
			if o := &c.slotOpts[j]; !s.podConflict(c, o) {
				bound += o.value(bonus)
				n++
			}
		}
		t += r
	}
	for t, sl := range c.slots {
		ss.best[t] = -1
		for j := sl.lo; j < sl.hi; j++ {
			o := &c.slotOpts[j]
			if s.podConflict(c, o) {
				continue
			}
			clash := false
			for u := range t {
				if k := ss.best[u]; k >= 0 && s.optionsClash(o, &c.slotOpts[k]) {
					clash = true
					break
				}
			}
			if !clash {
				ss.best[t], ss.bestPrice = j, ss.bestPrice+o.value(bonus)
				break
			}
		}
	}
	return ss.bestPrice+slotGain >= bound
}

// slotSearch assigns options to structured slots by depth-first search
// with a price bound, from the slot-by-slot fill as the incumbent, within
// searchBudget nodes. Its prices are the options' values (see firstBonus).
type slotSearch struct {
	m      int
	lo, hi [maxSlots]int8
	price  [maxSlotOptions]float64
	// conflict holds the options that cannot share the pod with this one,
	// itself included: alike slots share options, and one ad fills one slot.
	conflict     [maxSlotOptions]uint64
	usable       uint64                // options that clash with no ad already in the pod
	bound        [maxSlots + 1]float64 // at least the best total slots t.. could add
	choice, best [maxSlots]int8        // option per slot, -1 for none
	bestPrice    float64
	nodes        int
}

// slotGain is how much more a set must be worth than the incumbent: equal
// totals summed in another order must not displace the slot-by-slot fill.
const slotGain = 1e-9

// init prepares the search of c's queued slots from the incumbent that
// greedySlots left in best and bestPrice, with the same bonus.
func (ss *slotSearch) init(s *Snapshot, c *Ctx, bonus float64) {
	opts := c.slotOpts
	ss.m, ss.nodes = len(c.slots), 0
	ss.usable = s.optionConflicts(c, opts, ss.conflict[:])
	for i := range opts {
		ss.price[i] = opts[i].value(bonus)
		ss.conflict[i] |= 1 << i
	}
	for t, sl := range c.slots {
		ss.lo[t], ss.hi[t] = sl.lo, sl.hi
	}
	ss.setBounds()
}

// setBounds sets bound from the slots' usable options: slots t.. can add
// at most, for the rest of t's run of alike slots (one range), the best
// usable options of the range, one per slot, and the bound of the next
// run.
func (ss *slotSearch) setBounds() {
	ss.bound[ss.m] = 0
	for t := ss.m - 1; t >= 0; t-- {
		end := t + 1
		for end < ss.m && ss.lo[end] == ss.lo[t] && ss.hi[end] == ss.hi[t] {
			end++
		}
		sum := 0.0
		for j, n := ss.lo[t], 0; j < ss.hi[t] && n < end-t; j++ {
			if ss.usable&(1<<j) != 0 { // options are sorted: best first
				sum += ss.price[j]
				n++
			}
		}
		ss.bound[t] = ss.bound[end] + sum
	}
}

// search assigns slots t.. given the options that the ones used so far
// rule out (their conflicts, themselves included) and the price sum of
// those used, keeping the best assignment seen.
func (ss *slotSearch) search(t int, blocked uint64, sum float64) {
	if sum > ss.bestPrice+slotGain {
		ss.bestPrice = sum
		copy(ss.best[:t], ss.choice[:t])
		for u := t; u < ss.m; u++ {
			ss.best[u] = -1
		}
	}
	if t == ss.m || ss.nodes >= searchBudget || sum+ss.bound[t] <= ss.bestPrice+slotGain {
		return
	}
	ss.nodes++
	// The options of slot t: bits lo..hi-1 (a shift by 64 gives 0).
	span := (uint64(1)<<ss.hi[t] - 1) &^ (uint64(1)<<ss.lo[t] - 1)
	for m := ss.usable & span &^ blocked; m != 0; m &= m - 1 {
		j := bits.TrailingZeros64(m)
		ss.choice[t] = int8(j)
		ss.search(t+1, blocked|ss.conflict[j], sum+ss.price[j])
	}
	ss.choice[t] = -1
	ss.search(t+1, blocked, sum)
}

// fillDynamic bids the set of options with the highest total price that
// fits the pod's duration and count and has no two ads of one campaign,
// advertiser domain or category, nor one that clashes with ads already in
// the pod. Greedy filling by price per second can lose much of that: in a
// 30 s pod it takes a 15 s spot at 12 over a 30 s spot at 20.
func (s *Snapshot) fillDynamic(c *Ctx, imp *openrtb.Imp, pod *openrtb.Pod, resp *openrtb.Response) {
	ps, bonus := &c.pod, c.firstBonus(c.opts)
	if ps.init(s, c, pod, bonus); !ps.greedyIsBest() {
		ps.search(0, 0, 0, 0, 0, 0)
	}
	for j := range ps.n {
		if ps.best&(1<<j) != 0 {
			s.podTake(c, &c.opts[j])
			s.emit(c, imp, &c.opts[j], resp)
		}
	}
}

// podSearch finds the best set of a dynamic pod's options (at most
// maxDynamicOptions, sorted by value, highest first: see firstBonus) by
// depth-first search with a price bound. searchBudget bounds the nodes visited; the search
// starts from the greedy fill, so a cut-off search is never worse.
type podSearch struct {
	n              int
	price          [maxDynamicOptions]float64
	prefix         [maxDynamicOptions + 1]float64 // prefix[i]: the sum of price[:i]
	density        [maxDynamicOptions + 1]float64 // density[i]: the most price per second of usable options i..
	dur            [maxDynamicOptions]int
	conflict       [maxDynamicOptions]uint64 // options that cannot share the pod with this one
	usable         uint64                    // options that clash with no ad already in the pod
	maxDur, maxCnt int
	best           uint64
	bestPrice      float64
	nodes          int
}

const searchBudget = 4096

func (ps *podSearch) init(s *Snapshot, c *Ctx, v *openrtb.Pod, bonus float64) {
	opts := c.opts[:min(len(c.opts), maxDynamicOptions)]
	ps.n, ps.usable, ps.best, ps.bestPrice, ps.nodes = len(opts), 0, 0, 0, 0
	ps.maxDur, ps.maxCnt = math.MaxInt, len(opts)
	if v.PodDur > 0 {
		ps.maxDur = v.PodDur
	}
	if v.MaxSeq > 0 {
		ps.maxCnt = min(v.MaxSeq, len(opts))
	}
	for i := range opts {
		ps.price[i], ps.dur[i] = opts[i].value(bonus), int(opts[i].dur)
	}
	ps.usable = s.optionConflicts(c, opts, ps.conflict[:])
	ps.setSums()
	ps.greedy()
}

// setSums sets prefix and density from price, dur and usable. An
// option without a duration has an infinite density: it turns the
// duration bound off for the options up to it.
func (ps *podSearch) setSums() {
	for i := range ps.n {
		ps.prefix[i+1] = ps.prefix[i] + ps.price[i]
	}
	ps.density[ps.n] = 0
	for i := ps.n - 1; i >= 0; i-- {
		d := 0.0
		if ps.usable&(1<<i) != 0 {
			d = math.Inf(1)
			if ps.dur[i] > 0 {
				d = ps.price[i] / float64(ps.dur[i])
			}
		}
		ps.density[i] = max(ps.density[i+1], d)
	}
}

// bound is the most that options j.. can add to a set of cnt options
// lasting dur: the next prices up to the count limit, and at most the
// pod's remaining seconds at the best price per second among them.
// Neither grows with j.
func (ps *podSearch) bound(j, dur, cnt int) float64 {
	b := ps.prefix[min(ps.n, j+ps.maxCnt-cnt)] - ps.prefix[j]
	if ps.maxDur < math.MaxInt && !math.IsInf(ps.density[j], 1) {
		b = min(b, float64(ps.maxDur-dur)*ps.density[j])
	}
	return b
}

// optionConflicts returns the options that clash with no ad already in
// the pod (bit i for opts[i]) and sets conflict[i] to the usable options
// other than opts[i] that cannot share the pod with it: the same
// campaign, advertiser domain or category. len(opts) <= 64.
func (s *Snapshot) optionConflicts(c *Ctx, opts []option, conflict []uint64) (usable uint64) {
	// An option's signature (its campaign's podSig) sets one bit per
	// campaign, advertiser domain and category: two options can clash
	// only if their signatures meet.
	// with[b] holds the usable options seen so far whose signature has bit
	// b, so an option meets only the options it may clash with rather than
	// every option before it.
	var with [64]uint64
	for i := range opts {
		conflict[i] = 0
		if s.podConflict(c, &opts[i]) {
			continue // never taken: its clashes do not matter
		}
		usable |= 1 << i
		sig := s.camps[opts[i].ord].podSig
		var meets uint64
		for ; sig != 0; sig &= sig - 1 {
			b := bits.TrailingZeros64(sig)
			meets |= with[b]
			with[b] |= 1 << i
		}
		for ; meets != 0; meets &= meets - 1 {
			j := bits.TrailingZeros64(meets)
			if s.optionsClash(&opts[i], &opts[j]) {
				conflict[i] |= 1 << j
				conflict[j] |= 1 << i
			}
		}
	}
	return usable
}

// greedy fills the pod by price per second, the first incumbent.
func (ps *podSearch) greedy() {
	var order [maxDynamicOptions]int8
	var perSec [maxDynamicOptions]float64
	for i := range ps.n {
		order[i] = int8(i)
		perSec[i] = ps.price[i] / float64(max(ps.dur[i], 1))
	}
	sortByPerSec(order[:ps.n], perSec[:ps.n])
	var set uint64
	total, count, sum := 0, 0, 0.0
	for _, i := range order[:ps.n] {
		if count == ps.maxCnt || ps.usable&(1<<i) == 0 || ps.conflict[i]&set != 0 || total+ps.dur[i] > ps.maxDur {
			continue
		}
		set |= 1 << i
		total, count, sum = total+ps.dur[i], count+1, sum+ps.price[i]
	}
	ps.best, ps.bestPrice = set, sum
}

// sortByPerSec sorts the options order by their price per second,
// perSec[i] for option i, highest first, keeping the order of equal ones:
// an insertion sort, as slices.SortStableFunc with cmp.Compare, which sorts
// at most 32 options but through a call per comparison.
func sortByPerSec(order []int8, perSec []float64) {
	for i := 1; i < len(order); i++ {
		x := order[i]
		j := i
		for ; j > 0 && cmp.Compare(perSec[order[j-1]], perSec[x]) < 0; j-- {
			order[j] = order[j-1]
		}
		order[j] = x
	}
}

// greedyIsBest reports whether the incumbent already takes the most
// valuable usable options the count allows, so that no search can beat it.
func (ps *podSearch) greedyIsBest() bool {
	bound, cnt := 0.0, 0
	for i := 0; i < ps.n && cnt < ps.maxCnt; i++ {
		if ps.usable&(1<<i) != 0 {
			bound += ps.price[i]
			cnt++
		}
	}
	return ps.bestPrice >= bound
}

// search extends set (options below from, total duration dur, count cnt,
// price sum) with options from from on, keeping the best set seen.
// blocked holds the options that those of set conflict with.
func (ps *podSearch) search(from int, set, blocked uint64, sum float64, dur, cnt int) {
	if sum > ps.bestPrice {
		ps.best, ps.bestPrice = set, sum
	}
	if cnt == ps.maxCnt || ps.nodes >= searchBudget {
		return
	}
	ps.nodes++
	for m := ps.usable &^ blocked &^ (uint64(1)<<from - 1); m != 0; m &= m - 1 {
		j := bits.TrailingZeros64(m)
		if dur+ps.dur[j] > ps.maxDur {
			continue
		}
		// The bound does not grow with j: no later branch can do better.
		if sum+ps.bound(j, dur, cnt) <= ps.bestPrice {
			return
		}
		ps.search(j+1, set|1<<j, blocked|ps.conflict[j], sum+ps.price[j], dur+ps.dur[j], cnt+1)
	}
}

// optionsClash reports whether two options may not share a pod: the same
// campaign, advertiser domain or category.
func (s *Snapshot) optionsClash(a, b *option) bool {
	if a.ord == b.ord {
		return true
	}
	ca := &s.camps[a.ord]
	return ca.podSig&s.camps[b.ord].podSig != 0 && s.clashes(b, ca.adomainH, ca.catH)
}

// podConflict reports whether o clashes with an ad already in the pod.
func (s *Snapshot) podConflict(c *Ctx, o *option) bool {
	if s.camps[o.ord].podSig&c.podSig == 0 {
		return false
	}
	return s.clashes(o, c.podDom, c.podCat)
}

// clashes reports whether o's campaign (salted ordinal), advertiser
// domains or categories are among dom and cat, as podTake records them.
func (s *Snapshot) clashes(o *option, dom, cat []uint64) bool {
	cc := &s.camps[o.ord]
	if containsU64(dom, uint64(o.ord)^podSalt) {
		return true
	}
	for _, h := range cc.adomainH {
		if containsU64(dom, h) {
			return true
		}
	}
	for _, h := range cc.catH {
		if containsU64(cat, h) {
			return true
		}
	}
	return false
}

func (s *Snapshot) podTake(c *Ctx, o *option) {
	cc := &s.camps[o.ord]
	c.podSig |= cc.podSig
	c.podDom = append(c.podDom, uint64(o.ord)^podSalt)
	c.podDom = append(c.podDom, cc.adomainH...)
	c.podCat = append(c.podCat, cc.catH...)
}

// alikeSlots counts the structured slots of the pod (media bit mb) from
// imp i on that are alike (see sameSlot) to it.
func (s *Snapshot) alikeSlots(c *Ctx, i, mb int, podID []byte) int {
	n := 1
	imps := c.req.Imps
	for j := i + 1; j < len(imps) && len(podID) > 0; j++ {
		if m, p := podOf(&imps[j]); m == mb && string(p.PodID) == string(podID) && !isDynamic(p) && sameSlot(&imps[i], &imps[j], mb) {
			n++
		}
	}
	return n
}

// sameSlot reports whether two imps take the same ads of media bit mb at
// the same floors, so that one scan serves both. It compares every field
// of the imp that the targeting terms (impTerms), fit and the pricing
// read: one left out gave a slot the ads of the slot before whatever its
// own bound (bit rate, linearity, 2.5 placement, a deal's guar: the
// protocol audit).
func sameSlot(a, b *openrtb.Imp, mb int) bool {
	if a.BidFloor != b.BidFloor || string(a.BidFloorCur) != string(b.BidFloorCur) || a.QtyMultiplier != b.QtyMultiplier ||
		a.Secure != b.Secure || a.Media != b.Media || !samePMP(&a.PMP, &b.PMP) {
		return false
	}
	if mb == mbAudio {
		x, y := &a.Audio, &b.Audio
		return x.MinDur == y.MinDur && x.MaxDur == y.MaxDur && samePod(&x.Pod, &y.Pod) &&
			x.MinBitrate == y.MinBitrate && x.MaxBitrate == y.MaxBitrate &&
			slices.Equal(x.Protocols, y.Protocols) && slices.Equal(x.BAttr, y.BAttr) && equalLists(x.Mimes, y.Mimes)
	}
	x, y := &a.Video, &b.Video
	return x.MinDur == y.MinDur && x.MaxDur == y.MaxDur && plcmtOf(x) == plcmtOf(y) && samePod(&x.Pod, &y.Pod) &&
		x.MinBitrate == y.MinBitrate && x.MaxBitrate == y.MaxBitrate && x.Linearity == y.Linearity &&
		slices.Equal(x.Protocols, y.Protocols) && slices.Equal(x.BAttr, y.BAttr) && equalLists(x.Mimes, y.Mimes)
}

// samePod compares what of the pod fields bounds a slot's ads.
func samePod(a, b *openrtb.Pod) bool {
	return a.MinCPMPerSec == b.MinCPMPerSec && a.PodDur == b.PodDur && a.MaxSeq == b.MaxSeq &&
		slices.Equal(a.RqdDurs, b.RqdDurs) && slices.Equal(a.DurFloors, b.DurFloors)
}

func samePMP(a, b *openrtb.PMP) bool {
	if a.PrivateAuction != b.PrivateAuction || len(a.Deals) != len(b.Deals) {
		return false
	}
	for i := range a.Deals {
		x, y := &a.Deals[i], &b.Deals[i]
		if string(x.ID) != string(y.ID) || x.BidFloor != y.BidFloor || string(x.BidFloorCur) != string(y.BidFloorCur) ||
			x.AT != y.AT || x.Guar != y.Guar || x.MinCPMPerSec != y.MinCPMPerSec || !slices.Equal(x.DurFloors, y.DurFloors) ||
			!equalLists(x.WSeat, y.WSeat) || !equalLists(x.WADomain, y.WADomain) {
			return false
		}
	}
	return true
}

func equalLists(a, b [][]byte) bool {
	return slices.EqualFunc(a, b, func(x, y []byte) bool { return string(x) == string(y) })
}
