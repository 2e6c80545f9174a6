package decision

import (
	"math"
	"math/bits"
	"slices"

	"github.com/rtbd/rtbd/daemon/openrtb"
)

// A structured pod's slots often differ only in their duration range and
// floor (each slot of a generated CTV pod has its own): sameSlot rarely
// lets two share a scan, and each slot built its terms, ANDed them and
// scanned the campaigns again, mostly the same ones. jointSlots scans
// them together: one AND of the terms with the slots' durations merged,
// one pass over the candidates, and the cross weights, logit, flight and
// eligibility of each candidate found once (see evaluateSlots). Each slot
// keeps its own cut and options, and a candidate is evaluated for a slot
// exactly when the slot's own scan (collect) would have evaluated it: it
// has a creative of one of the slot's durations and reaches the slot's
// cut at that point of the scan, which depends only on the candidates
// before it that the slot evaluated. The scan ends where the lowest cut
// lets it.

// slotScan is one scan of a joint scan (see jointSlots): a structured
// slot's imp, what prepareImp set that differs between the slots (the
// imp's floor, its mimes, protocols and battr), its options, best first,
// and its bounds.
type slotScan struct {
	imp            *openrtb.Imp
	impFloor       float64
	fitM           [2]fitMasks
	vMimes, aMimes []uint64
	opts           []option
	b              bounds
	cut, cutM      float64
	nw             int    // the scan's stop word (without cross slack: see jointFlush)
	durs           uint64 // the slot's durations, bit i for durs[i] (see index.vdurBits)
	dur            *term  // the slot's duration term, when the index has no durBits
}

// maxImpTerms bounds the terms impTerms adds.
const maxImpTerms = 7

// jointSlots scans the structured slots of the pod (media bit mb) from
// imp first on, prepared, that can share a scan (see jointAlike),
// together, and queues them as scanSlot would have, one by one. It
// reports false, having changed nothing, when it would scan fewer than
// two of them together (or a slot could not be prepared): scanSlot then
// takes them. Slots that share options (see sameSlot) share a scan as in
// scanSlot.
func (s *Snapshot) jointSlots(c *Ctx, first, mb int, podID []byte, resp *openrtb.Response) bool {
	if c.Trace != nil || c.guar > 0 || len(c.slots) > 0 || len(podID) == 0 {
		return false
	}
	imps := c.req.Imps
	a := &imps[first]
	members := append(c.jointIdx[:0], int32(first))
	c.jointOf[0] = 0
	ns := 1
	c.scans[0].imp, c.scans[0].b.k = a, min(structuredOptions*s.alikeSlots(c, first, mb, podID), maxDynamicOptions)
	kSum := c.scans[0].b.k
	for j := first + 1; j < len(imps) && len(members) < maxSlots; j++ {
		imp := &imps[j]
		m, p := podOf(imp)
		if m != mb || string(p.PodID) != string(podID) || c.done[j] {
			continue
		}
		if isDynamic(p) || !s.jointAlike(a, imp, mb) {
			break
		}
		if !sameSlot(&imps[members[len(members)-1]], imp, mb) {
			k := min(structuredOptions*s.alikeSlots(c, j, mb, podID), maxDynamicOptions)
			if kSum+k > maxSlotOptions {
				break
			}
			c.scans[ns].imp, c.scans[ns].b.k = imp, k
			kSum += k
			ns++
		}
		c.jointOf[len(members)] = int8(ns - 1)
		members = append(members, int32(j))
	}
	c.jointIdx = members
	if ns < 2 || c.nReq+maxImpTerms+ns > maxTerms || c.expired() {
		c.dropScans(ns)
		return false
	}
	// Prepare the slots in order, keeping what differs between them; the
	// rest prepareImp sets alike for all (see jointAlike), and the last
	// slot's is left in c, as scanSlot leaves it.
	for t, j := range members {
		if t > 0 && !c.prepareImp(&imps[j]) {
			c.prepareImp(a) // as it was: scanSlot takes the slots
			c.dropScans(ns)
			return false
		}
		if sc := &c.scans[c.jointOf[t]]; sc.imp == &imps[j] {
			sc.impFloor, sc.fitM = c.impFloor, c.fitM
			sc.vMimes = append(sc.vMimes[:0], c.vMimes...)
			sc.aMimes = append(sc.aMimes[:0], c.aMimes...)
			sc.opts = sc.opts[:0]
		}
	}
	for _, j := range members[1:] {
		c.done[j] = true
	}
	worst := c.worst
	if s.jointScan(c, mb, ns) {
		for t, j := range members {
			sc := &c.scans[c.jointOf[t]]
			if t > 0 && c.jointOf[t] == c.jointOf[t-1] {
				prev := c.slots[len(c.slots)-1]
				c.slots = append(c.slots, slot{imp: j, lo: prev.lo, hi: prev.hi})
				continue
			}
			lo := len(c.slotOpts)
			c.slotOpts = append(c.slotOpts, sc.opts...)
			c.slots = append(c.slots, slot{imp: j, lo: int8(lo), hi: int8(len(c.slotOpts))})
		}
		return true
	}
	// No slot has an option: the request's no-bid reason is the slots'
	// own scans' (their notes), so they run.
	c.worst = worst
	for t, j := range members {
		if t > 0 && c.expired() || !c.prepareImp(&imps[j]) {
			continue
		}
		s.scanSlot(c, int(j), mb, podID, resp)
	}
	return true
}

// dropScans clears the imps of the first ns scans, which jointSlots
// set before it gave up a joint scan: no reference into the request may
// outlive it in the pooled Ctx (the review). jointScan clears its own.
func (c *Ctx) dropScans(ns int) {
	for i := range c.scans[:ns] {
		c.scans[i].imp = nil
	}
}

// jointAlike reports whether structured slots a and b of media bit mb
// can share a joint scan: prepareImp sets the same deals, guides and
// deal floors for both, and impTerms the same terms but the duration
// term.
func (s *Snapshot) jointAlike(a, b *openrtb.Imp, mb int) bool {
	if string(a.BidFloorCur) != string(b.BidFloorCur) || a.Media != b.Media || !samePMP(&a.PMP, &b.PMP) ||
		!sameGuide(&a.Video.Pod, &b.Video.Pod) || !sameGuide(&a.Audio.Pod, &b.Audio.Pod) {
		return false
	}
	ix := &s.ix
	if mb == mbAudio {
		return ix.mimes.full || equalLists(a.Audio.Mimes, b.Audio.Mimes)
	}
	x, y := &a.Video, &b.Video
	return plcmtOf(x) == plcmtOf(y) && (ix.mimes.full || equalLists(x.Mimes, y.Mimes)) &&
		(ix.protocol.full || slices.Equal(x.Protocols, y.Protocols))
}

// sameGuide compares the floor guidance of two pods' media.
func sameGuide(a, b *openrtb.Pod) bool {
	return a.MinCPMPerSec == b.MinCPMPerSec && slices.Equal(a.DurFloors, b.DurFloors)
}

// slotDurs returns the duration bounds of imp's media mb.
func slotDurs(imp *openrtb.Imp, mb int) (minDur, maxDur, podDur int, rqd []int) {
	if mb == mbAudio {
		a := &imp.Audio
		return a.MinDur, a.MaxDur, podMaxDur(&a.Pod), a.RqdDurs
	}
	v := &imp.Video
	return v.MinDur, v.MaxDur, podMaxDur(&v.Pod), v.RqdDurs
}

// jointScan builds the terms of the ns scans in c.scans, with their
// durations merged, scans the candidates and evaluates them for each
// slot, and reports whether a slot has an option. It leaves c as
// prepareImp left it, with c.opts empty.
func (s *Snapshot) jointScan(c *Ctx, mb, ns int) bool {
	scans := c.scans[:ns]
	ix := &s.ix
	d, durs, name, have := &ix.vdur, ix.vdurs, "video_duration", ix.vdurBits
	if mb == mbAudio {
		d, durs, name, have = &ix.adur, ix.adurs, "audio_duration", ix.adurBits
	}
	masks := have != nil
	var union uint64
	if masks {
		for i := range scans {
			sc := &scans[i]
			minDur, maxDur, podDur, rqd := slotDurs(sc.imp, mb)
			sc.durs = 0
			for j, dur := range durs {
				if durFits(dur, minDur, maxDur, podDur, rqd) {
					sc.durs |= 1 << j
				}
			}
			union |= sc.durs
		}
	}
	c.truncateTerms(c.nReq)
	s.impTerms(c, scans[0].imp, mb)
	for i := c.nReq; i < c.nTerms; i++ {
		if t := &c.terms[i]; t.name == name {
			// Widen the first slot's duration term to the others'.
			for j, dur := range durs {
				if masks && (scans[0].durs>>j&1 != 0 || union>>j&1 == 0) {
					continue
				}
				if !masks && !s.anyDurFits(scans, mb, dur) {
					continue
				}
				t.orPosting(d.lookup(intKey(uint64(dur))))
			}
			break
		}
	}
	c.sortTerms()
	var impc *andCache
	if c.chunkImp {
		impc = &c.impc
		impc.reset(c.words)
	}
	var it candIter
	it.init(c.impc.terms, impc, &c.reqc, len(s.camps))
	// A slot takes the campaigns with a creative of one of its durations:
	// with more than 64 durations, its own duration term tells them, after
	// the sorted ones (the AND does not take it).
	c.durBits = have
	for i := range scans {
		sc := &scans[i]
		sc.dur = nil
		if !masks {
			minDur, maxDur, podDur, rqd := slotDurs(sc.imp, mb)
			c.durTerm(name, d, durs, minDur, maxDur, podDur, rqd)
			sc.dur = &c.terms[c.nTerms-1]
		}
	}
	// What prepareImp left, for the end.
	impFloor, fitM, vMimes, aMimes, opts := c.impFloor, c.fitM, c.vMimes, c.aMimes, c.opts[:0]
	found := s.jointRun(c, mb, ns, &it)
	c.impFloor, c.fitM, c.vMimes, c.aMimes, c.opts = impFloor, fitM, vMimes, aMimes, opts
	for i := range scans {
		// No reference into the request or the snapshot outlives it.
		scans[i].imp, scans[i].b.suf, scans[i].dur = nil, sufScan{}, nil
	}
	c.durBits = nil
	return found
}

// jointRun is jointScan's scan, from the bounds on.
func (s *Snapshot) jointRun(c *Ctx, mb, ns int, it *candIter) bool {
	scans := c.scans[:ns]
	for i := range scans {
		sc := &scans[i]
		c.impFloor, c.opts = sc.impFloor, sc.opts
		sc.b = c.newBounds(s, sc.imp, mb, sc.b.k)
	}
	c.jointCur = -1
	o := it.next()
	if o < 0 {
		return false
	}
	first := s.firstBounds(c)
	slack := c.rf.slack != 0
	limit := 1
	if slack {
		limit = c.batchLimit()
	}
	b0 := &scans[0].b
	flush := func() bool { return s.jointFlush(c, mb, ns, slack, first) }
	if s.scanWords(c, it, o, first, &b0.suf, b0.expRS, c.jointCuts(s, ns, slack), limit, flush, func() float64 { return c.jointLow(ns) }) {
		c.note(ReasonBelowFloor)
	}
	s.jointFlush(c, mb, ns, slack, first)
	for i := range scans {
		if len(scans[i].opts) > 0 {
			return true
		}
	}
	return false
}

// anyDurFits reports whether a creative of dur seconds fits one of the
// scans' slots.
func (s *Snapshot) anyDurFits(scans []slotScan, mb, dur int) bool {
	for i := range scans {
		minDur, maxDur, podDur, rqd := slotDurs(scans[i].imp, mb)
		if durFits(dur, minDur, maxDur, podDur, rqd) {
			return true
		}
	}
	return false
}

// jointCuts sets each scan's cut (and without cross slack its stop word)
// and returns the lowest.
func (c *Ctx) jointCuts(s *Snapshot, ns int, slack bool) float64 {
	low := math.Inf(1)
	for i := range c.scans[:ns] {
		sc := &c.scans[i]
		c.opts = sc.opts
		sc.cut = sc.b.cut(c)
		sc.cutM = margined(sc.cut, c.conv)
		if !slack {
			sc.nw = s.stopWord(&sc.b.suf, sc.cutM)
		}
		low = min(low, sc.cut)
	}
	c.jointCur = -1
	return low
}

// jointLow returns the lowest cut of the scans.
func (c *Ctx) jointLow(ns int) float64 {
	low := math.Inf(1)
	for i := range c.scans[:ns] {
		low = min(low, c.scans[i].cut)
	}
	return low
}

// jointFlush evaluates the batched candidates for each scan whose slot
// takes them and whose cut they can reach, as flush (with cross slack)
// or collect (without, one candidate at a time, within the scan's stop
// word) does for one slot. It returns false when the deadline passed.
func (s *Snapshot) jointFlush(c *Ctx, mb, ns int, slack bool, first []firstBound) bool {
	ok := s.jointEvaluateBatch(c, mb, ns, slack, first)
	c.batch = c.batch[:0]
	return ok
}

// jointEvaluateBatch is jointFlush but for emptying the batch.
func (s *Snapshot) jointEvaluateBatch(c *Ctx, mb, ns int, slack bool, first []firstBound) bool {
	scans := c.scans[:ns]
	if !slack {
		e0 := scans[0].b.expRS
		for _, o32 := range c.batch {
			o := int(o32)
			f := &first[o]
			e := e0 * float64(f.expNegS)
			var mask uint32
			for t := range scans {
				sc := &scans[t]
				if o>>6 < sc.nw && float64(f.maxCPM) >= sc.cutM && float64(f.value) >= sc.cutM*(1+e) && c.takes(sc, o) {
					mask |= 1 << t
				}
			}
			if mask != 0 && !s.evaluateSlots(c, mb, o, mask, slack, s.cross(c, o, s.crossDomainOf(c, o)), e) {
				return false
			}
		}
		return true
	}
	dom := s.batchBounds(c)
	expR0 := scans[0].b.expR0
	for i, o32 := range c.batch {
		o := int(o32)
		h := &s.hot[o]
		e := c.batchE[i]
		if c.rf.dt < 0 {
			e *= math.Exp(-s.model.crossDevType(c, h.xLeft))
		}
		e *= expR0 * s.expNegS(c.rf.dt, o)
		var mask uint32
		for t := range scans {
			sc := &scans[t]
			if belowMargined(h.value, h.maxCPM, e, sc.cutM) {
				c.note(ReasonBelowFloor)
			} else if c.takes(sc, o) {
				mask |= 1 << t
			}
		}
		if mask == 0 {
			continue
		}
		w := 0.0
		if dom {
			w = s.model.weight(c.batchH[i])
		}
		if !s.evaluateSlots(c, mb, o, mask, slack, s.cross(c, o, w), e) {
			return false
		}
	}
	return true
}

// takes reports whether scan sc's slot takes campaign o: whether o has a
// creative of one of its durations.
func (c *Ctx) takes(sc *slotScan, o int) bool {
	if c.durBits != nil {
		return c.durBits[o]&sc.durs != 0
	}
	return sc.dur.has(o)
}

// evaluateSlots is evaluate of candidate o, untraced and keeping a
// campaign's best creative, for each scan t of the joint scan with bit t
// in mask, whose cuts (and stop words) it then updates: what does not
// depend on the slot (the flight, the logit, eligible) is found once.
// Its notes are rougher than evaluate's: a joint scan's notes matter only
// when no slot gets an option, and then the slots' own scans run (see
// jointSlots). It returns false when the deadline passed (see
// evaluateTimed).
func (s *Snapshot) evaluateSlots(c *Ctx, mb, o int, mask uint32, slack bool, cross, eLow float64) bool {
	if c.visits++; c.visits%deadlineEvery == 0 && c.expired() {
		return false
	}
	cc := &s.camps[o]
	if uint64(c.sec-cc.start) >= cc.span { // outside the flight
		c.note(ReasonBudget)
		return true
	}
	x := c.scans[0].b.logit + cc.wCamp + cross
	checked := false
	for ; mask != 0; mask &= mask - 1 {
		t := bits.TrailingZeros32(mask)
		sc := &c.scans[t]
		if c.jointCur != t {
			c.impFloor, c.fitM, c.vMimes, c.aMimes = sc.impFloor, sc.fitM, sc.vMimes, sc.aMimes
			c.jointCur = t
		}
		c.opts = sc.opts
		imp, k := sc.imp, sc.b.k
		deal, floor := c.pickDeal(imp, cc)
		if deal == -2 {
			c.note(ReasonBlocked)
			continue
		}
		fixed, shade := s.auction(c, imp, deal)
		best := option{ord: -1, cr: -1}
		for i := range cc.creatives {
			cr := &cc.creatives[i]
			if cr.media != 1<<mb || c.fit(cr, imp, mb) != whyNone {
				continue
			}
			crFloor := floor
			if c.byDur {
				crFloor = c.creativeFloor(cr, deal, floor)
			}
			if eLow > 0 && c.skipCreative(cc, cr, eLow*cr.expGap, crFloor, deal, k) != whyNone {
				continue
			}
			price, score := s.price(c, cc, cr, x, crFloor, fixed, shade)
			if price <= 0 {
				continue
			}
			opt := option{ord: int32(o), cr: int16(i), deal: int8(deal), dur: int32(cr.dur), rank: cc.rank, price: price, score: score}
			if !c.keeps(&opt, k) {
				continue
			}
			if !checked {
				// The same for every slot: one it fails for, it fails for all.
				if r := s.eligible(c, cc, o); r != "" {
					c.note(reasonOf(r))
					return true
				}
				checked = true
			}
			if q := imp.QtyMultiplier; q > 1 && !cc.affords(c.sec, c.playCost(opt.price, q)+c.playsOf(o)) {
				c.note(ReasonBudget)
				continue
			}
			if best.cr < 0 || opt.price > best.price {
				best = opt
			}
		}
		if best.cr < 0 {
			continue
		}
		c.offer(best, k)
		sc.opts = c.opts
		if nc := sc.b.cut(c); nc != sc.cut {
			sc.cut, sc.cutM = nc, margined(nc, c.conv)
			if !slack {
				sc.nw = min(sc.nw, s.stopWord(&sc.b.suf, sc.cutM))
			}
		}
	}
	return true
}
