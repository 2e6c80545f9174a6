package decision

import (
	"math"
	"math/bits"

	"github.com/rtbd/rtbd/daemon/openrtb"
)

// deadlineEvery is how many candidates are evaluated between deadline checks.
const deadlineEvery = 256

// collect evaluates the candidates of imp for media bit mb and keeps the k
// best options in c.opts, highest price first. With perCreative (dynamic
// pods) every fitting creative is an option, else a campaign's best one.
//
// Campaign ordinals are sorted by a static price bound, so the scan stops
// at the first word where the bound on every later price (see
// suffixBounds) is below the floor or the k-th best price; that word is
// searched for again whenever the cut rises. A candidate is then bounded
// alone, first with its unknown cross features at the largest weight (see
// firstBound), then, in batches, with bounds of their exact weights (see
// weightBounds); only one that can still beat the cut is evaluated.
// Tracing disables the cuts so every campaign is explained.
func (s *Snapshot) collect(c *Ctx, imp *openrtb.Imp, mb, k int, perCreative bool) {
	var it candIter
	k = s.startImp(c, imp, mb, k, perCreative, &it)
	if c.Trace != nil {
		s.traceFiltered(c, imp, mb)
	}
	b := c.newBounds(s, imp, mb, k)
	o := it.next()
	if o < 0 && c.blockedOnly() {
		c.note(ReasonBlocked)
	}
	if c.Trace != nil {
		for ; o >= 0; o = it.next() {
			s.evaluate(c, imp, mb, o, b.logit, k, perCreative, s.cross(c, o, s.crossDomainOf(c, o)), 0)
		}
		return
	}
	if o < 0 {
		return
	}
	// Without unknown cross features the first bound's e bounds
	// exp(-logit) from below: each candidate that passes is evaluated at
	// once. With them, the passing candidates are flushed in batches.
	first := s.firstBounds(c)
	slack := c.rf.slack != 0
	limit := 1
	if slack {
		limit = c.batchLimit()
	}
	flush := func() bool {
		if slack {
			return s.flush(c, imp, mb, &b, perCreative)
		}
		// No slack: no cross weight above 0, so the first bound's e
		// holds, but a domain cross weight, all below 0, still prices
		// (once passed as 0: such a model overbid 20x).
		o := int(c.batch[0])
		c.batch = c.batch[:0]
		return s.evaluateTimed(c, imp, mb, o, &b, perCreative, s.cross(c, o, s.crossDomainOf(c, o)), b.expRS*float64(first[o].expNegS))
	}
	if s.scanWords(c, &it, o, first, &b.suf, b.expRS, b.cut(c), limit, flush, func() float64 { return b.cut(c) }) {
		c.note(ReasonBelowFloor)
	}
	s.flush(c, imp, mb, &b, perCreative)
}

// scanWords is the scan of collect and jointRun: it walks the candidates
// of it from o on, word by word, and within a word bit by bit with no
// call on the path of a candidate its first bound rejects (passFirst:
// most candidates at 100,000 campaigns), batching those that pass, limit
// at a time. It hands each full batch to flush, which empties it and
// returns false when the deadline passed; after it, cutOf gives the cut,
// which changes only when an option is offered, and the scan ends at the
// first word whose suffix bound (suf, with the margin of belowOdds) is
// below it. It reports whether a candidate was below the cut, and leaves
// the last batch, not full, in c.batch.
func (s *Snapshot) scanWords(c *Ctx, it *candIter, o int, first []firstBound, suf *sufScan, expRS, cut float64, limit int, flush func() bool, cutOf func() float64) bool {
	conv := c.conv
	cutM := margined(cut, conv)
	it.nw = min(it.nw, s.stopWord(suf, cutM))
	wi, w := it.wi, it.w|1<<(o&63)
	if wi >= it.nw {
		w = 0
	}
	c.batch = c.batch[:0]
	below := false
	for w != 0 {
		n, rest, bl := passFirst(&c.batchBuf, len(c.batch), limit, w, wi<<6, first, expRS, cutM)
		c.batch, below = c.batchBuf[:n], below || bl
		if w = rest; w == 0 {
			w, wi = it.nextWord(), it.wi
		}
		if n < limit {
			continue
		}
		if !flush() {
			break
		}
		if nc := cutOf(); nc != cut {
			cut, cutM = nc, margined(nc, conv)
			if it.nw = min(it.nw, s.stopWord(suf, cutM)); wi >= it.nw {
				break
			}
		}
	}
	return below
}

// batchSize is how many candidates have their cross weights loaded together.
const batchSize = 16

// smallBatch is the batch of a small book (fewer than smallBookWords
// words of ordinals), whose scan stops after a few words: the cut raised
// by a flush stops it sooner, so that fewer candidates are batched past
// the stop. A batch of 8 took 2.4 % off a CTV request's decision
// instructions at 1,000 campaigns and 6 % off a display request's, and
// added 2.7 % at 100,000 campaigns, where a flush's fixed cost is spread
// over more candidates that pass (bench/icount.sh).
const smallBatch = 8

// batchLimit is the batch of the book: batchSize, or smallBatch for a small
// one.
func (c *Ctx) batchLimit() int {
	if c.words >= smallBookWords {
		return batchSize
	}
	return smallBatch
}

// smallBookWords is the words of ordinals from which a book's batches are
// batchSize; a variable for tests.
var smallBookWords = chunkedImpWords

// passFirst appends to batch[:n] the candidates of word w (ordinals base
// + bit) whose first bound (see collect) can reach the margined cut cutM,
// until the batch holds limit. It returns the batch's new length, the
// candidates of w not yet looked at, and whether one was below the cut.
// It makes no call, so the scan of a word keeps its state in registers:
// most candidates at 100,000 campaigns end here. Nor does it branch on
// the bound (belowMargined, computed alike): every candidate is written
// to batch[n], and n moves past it only when it passes. Which candidates
// pass follows no pattern a branch predictor learns, and a mispredicted
// branch per passing candidate cost more than the scan of one.
func passFirst(batch *[batchSize]int32, n, limit int, w uint64, base int, first []firstBound, expRS, cutM float64) (int, uint64, bool) {
	belowN := 0
	for ; w != 0 && n < limit; w &= w - 1 {
		o := base + bits.TrailingZeros64(w)
		f := &first[o]
		below := 0 // set by conditional moves
		if float64(f.maxCPM) < cutM {
			below = 1
		}
		if float64(f.value) < cutM*(1+expRS*float64(f.expNegS)) {
			below = 1
		}
		batch[n] = int32(o)
		n += 1 - below
		belowN += below
	}
	return n, w, belowN > 0
}

// bounds holds what collect needs to bound prices for one imp and media.
type bounds struct {
	logit    float64 // request logit including the media feature
	suf      sufScan // the suffix bounds for this logit
	expRS    float64 // exp(-(logit + cross slack))
	expR0    float64 // exp(-logit)
	minFloor float64
	k        int
}

// newBounds returns the bounds of imp for media bit mb. All but the floor
// and k depend on the request and mb only: the slots of a pod reuse them
// from c.lastB.
func (c *Ctx) newBounds(s *Snapshot, imp *openrtb.Imp, mb, k int) bounds {
	if c.lastMB != mb {
		b := &c.lastB
		*b = bounds{logit: c.rf.base + s.model.media[mb]}
		b.suf.col, b.suf.delta = s.sufB.column(b.logit+c.rf.slack, c.rf.dt)
		if s.model.on {
			b.expRS = math.Exp(-(b.logit + c.rf.slack))
			b.expR0 = math.Exp(-b.logit)
		}
		c.lastMB = mb
	}
	b := c.lastB
	b.minFloor, b.k = c.minFloor(imp), k
	return b
}

// priceSlack covers the rounding of a price to 4 decimals (up to half a
// step, or one step when raised to the floor) and float error: an option
// whose unrounded bound is ub is priced at most ub + priceSlack.
const priceSlack = 2e-4

// cut is the price bound an option must reach: the floor, or the k-th
// best price less priceSlack (an option rounded to the k-th price may
// still win the tie on rank).
func (b *bounds) cut(c *Ctx) float64 {
	cut := b.minFloor
	if len(c.opts) >= b.k {
		cut = max(cut, c.opts[b.k-1].price-priceSlack)
	}
	if c.mn {
		// An open option need only beat the best open one.
		open := b.minFloor
		if c.open.ord >= 0 {
			open = max(open, c.open.price-priceSlack)
		}
		cut = min(cut, open)
	}
	return cut
}

// belowOdds reports whether a campaign priced at most min(v/(1+e), maxCPM)
// (campaign currency; e >= 0 bounds its exp(-logit) from below) cannot
// reach cut (response currency). It multiplies instead of dividing, and
// keeps a relative margin of 1e-9 for the rounding of the two forms and of
// the currency conversion.
func (b *bounds) belowOdds(c *Ctx, v, maxCPM, e, cut float64) bool {
	return belowMargined(v, maxCPM, e, margined(cut, c.conv))
}

// margined is cut with belowOdds' margin, in campaign currency at exchange
// rate conv (campaign to response currency), for belowMargined.
func margined(cut, conv float64) float64 { return cut * (1 - 1e-9) / conv }

// belowMargined is belowOdds for the margined cut cutM, for a scan that
// keeps cutM while the cut does not change: two multiplications fewer per
// candidate than converting the campaign's prices.
func belowMargined(v, maxCPM, e, cutM float64) bool {
	return maxCPM < cutM || v < cutM*(1+e)
}

// expNegS is exp(-(campaign and creative weights, and the cross weight of
// device type index dt when it is precomputed, dt >= 0)) of campaign o.
func (s *Snapshot) expNegS(dt, o int) float64 {
	if dt >= 0 {
		return s.devExpNegS[dt*len(s.camps)+o]
	}
	return s.hot[o].expNegS
}

// flush bounds the batched candidates with their cross weights and
// evaluates the survivors. The weight bounds (see weightBounds) of the
// whole batch are loaded before any candidate is evaluated, so the CPU
// overlaps their cache misses; only a survivor loads its exact weight. It
// returns false when the deadline passed.
func (s *Snapshot) flush(c *Ctx, imp *openrtb.Imp, mb int, b *bounds, perCreative bool) bool {
	dom := s.batchBounds(c)
	// As in collect, the margined cut changes only when an option is offered.
	cut := b.cut(c)
	cutM := margined(cut, c.conv)
	for i, o32 := range c.batch {
		o := int(o32)
		h := &s.hot[o]
		e := c.batchE[i]
		if c.rf.dt < 0 {
			e *= math.Exp(-s.model.crossDevType(c, h.xLeft))
		}
		e *= b.expR0 * s.expNegS(c.rf.dt, o)
		if belowMargined(h.value, h.maxCPM, e, cutM) {
			c.note(ReasonBelowFloor)
			continue
		}
		w := 0.0
		if dom {
			w = s.model.weight(c.batchH[i])
		}
		if !s.evaluateTimed(c, imp, mb, o, b, perCreative, s.cross(c, o, w), e) {
			c.batch = c.batch[:0]
			return false
		}
		if nc := b.cut(c); nc != cut {
			cut, cutM = nc, margined(nc, c.conv)
		}
	}
	c.batch = c.batch[:0]
	return true
}

// batchBounds loads the batch's domain cross weight bounds: the hashes into c.batchH and exp(-bound) into c.batchE,
// 1 when the request has no domain cross feature. It reports whether it
// has.
func (s *Snapshot) batchBounds(c *Ctx) bool {
	m := &s.model
	if !m.fam[famXDomain] || len(c.rf.domain) == 0 {
		for i := range c.batch {
			c.batchE[i] = 1
		}
		return false
	}
	for i, o := range c.batch {
		h := crossHash(s.hot[o].xLeft, c.rf.xDom)
		c.batchH[i], c.batchE[i] = h, m.expNegLow(h)
	}
	return true
}

// evaluateTimed evaluates o, checking the deadline every deadlineEvery
// candidates; it returns false when the deadline passed.
func (s *Snapshot) evaluateTimed(c *Ctx, imp *openrtb.Imp, mb, o int, b *bounds, perCreative bool, cross, eLow float64) bool {
	if c.visits++; c.visits%deadlineEvery == 0 && c.expired() {
		return false
	}
	s.evaluate(c, imp, mb, o, b.logit, b.k, perCreative, cross, eLow)
	return true
}

// crossDomainOf is campaign o's campaign_x_domain weight for the request.
func (s *Snapshot) crossDomainOf(c *Ctx, o int) float64 {
	return s.model.crossDomain(c, s.hot[o].xLeft)
}

// cross is campaign o's cross-feature weight given its domain part.
func (s *Snapshot) cross(c *Ctx, o int, domain float64) float64 {
	if !s.model.on {
		return 0
	}
	if c.rf.dt >= 0 {
		return domain + s.devW[c.rf.dt*len(s.camps)+o]
	}
	return domain + s.model.crossDevType(c, s.hot[o].xLeft)
}

// minFloor is the lowest floor any option of imp can face: durations
// only raise the floors of pickDeal, which are the imp's or the deals'.
func (c *Ctx) minFloor(imp *openrtb.Imp) float64 {
	f := c.impFloor
	if imp.PMP.PrivateAuction == 1 {
		f = math.Inf(1)
	}
	for j, d := range c.dealFloor {
		switch {
		case d < 0: // unusable
		case c.dealGuide[j].own:
			f = min(f, d)
		default:
			f = min(f, c.impFloor)
		}
	}
	return f
}

// evaluate prices campaign o on imp and offers its options to c.opts.
// Pacing and the frequency cap, which read shared counters, are checked
// only for an option good enough to be kept. eLow > 0 is a lower bound of
// exp(-(logit + campaign weight + best creative weight + cross)), with
// which a creative that cannot be kept is skipped before its exp (see
// skipCreative); 0 prices every creative.
func (s *Snapshot) evaluate(c *Ctx, imp *openrtb.Imp, mb, o int, logit float64, k int, perCreative bool, cross, eLow float64) {
	cc := &s.camps[o]
	deal, floor := c.pickDeal(imp, cc)
	if deal == -2 || uint64(c.sec-cc.start) >= cc.span { // or outside the flight
		c.rejectPick(o, cc, deal)
		return
	}
	fixed, shade := s.auction(c, imp, deal)
	x := logit + cc.wCamp + cross
	traced := c.Trace != nil
	skip := eLow > 0 && !traced
	var best option
	best.ord, best.cr = -1, -1
	// why is the last check that failed, for the trace (see whyText).
	why, blocked, checked := whyCreative, false, false
	for i := range cc.creatives {
		cr := &cc.creatives[i]
		if cr.media != 1<<mb {
			continue
		}
		if r := c.fit(cr, imp, mb); r != whyNone {
			why, blocked = r, blocked || r != whyCreative
			continue
		}
		crFloor := floor
		if c.byDur {
			crFloor = c.creativeFloor(cr, deal, floor)
		}
		if skip {
			if r := c.skipCreative(cc, cr, eLow*cr.expGap, crFloor, deal, k); r != whyNone {
				why = r
				continue
			}
		}
		price, score := s.price(c, cc, cr, x, crFloor, fixed, shade)
		opt := option{ord: int32(o), cr: int16(i), deal: int8(deal), dur: int32(cr.dur), rank: cc.rank, price: price, score: score}
		if price <= 0 {
			why = whyBelowFloor
			continue
		}
		if !traced && !c.keeps(&opt, k) {
			continue
		}
		if !checked {
			if r := s.eligible(c, cc, o); r != "" {
				c.reject(o, reasonOf(r), r)
				return
			}
			why, checked = whyNone, true
		}
		// A DOOH play is billed as qty impressions: a bid on one must fit
		// what the budgets have left, not only start below them.
		if q := imp.QtyMultiplier; q > 1 && !cc.affords(c.sec, c.playCost(opt.price, q)+c.playsOf(o)) {
			why = whyPlayOverBudget
			c.note(ReasonBudget)
			continue
		}
		if perCreative {
			c.offer(opt, k)
		}
		if best.cr < 0 || opt.price > best.price {
			best = opt
		}
	}
	switch {
	case best.cr >= 0 && !perCreative:
		c.offer(best, k)
	case best.cr < 0 && blocked:
		c.note(ReasonBlocked)
	}
	if traced {
		c.Trace.add(c, o, whyText[why], best.score, best.price)
	}
}

// Why a creative was not bid, as evaluate tracks it: fit's checks, then
// skipCreative's and price's outcomes.
const (
	whyNone           uint8 = iota // it may serve
	whyCreative                    // size, duration, mime or protocol
	whyBattr                       // blocked: battr
	whySecure                      // blocked: not secure
	whyWlang                       // blocked: language
	whyBelowFloor                  // price below the floor
	whyCut                         // cannot enter the k best
	whyPlayOverBudget              // a DOOH play over what the budgets have left
	whyBtype                       // blocked: banner.btype
)

// whyText names the whys in traces.
var whyText = [...]string{"", "creative", "battr", "secure", "wlang", "below_floor", "cut", "play_over_budget", "btype"}

// keeps reports whether opt would enter the k best (with c.mn, be the
// best open option when it is one). It compares prices alone: options
// are marked first (see option.first) after they are all offered, and
// offer turns away one that cannot beat a first.
func (c *Ctx) keeps(opt *option, k int) bool {
	kth, ok := c.kth(int(opt.deal), k)
	return !ok || opt.outprices(kth)
}

// kth returns the option that an option through deal (-1: open) must
// beat to be kept: the k-th best, or with c.mn for an open option the
// best open one; ok is false while there are fewer.
func (c *Ctx) kth(deal, k int) (kth *option, ok bool) {
	if c.mn && deal < 0 {
		return &c.open, c.open.ord >= 0
	}
	if len(c.opts) >= k {
		return &c.opts[k-1], true
	}
	return nil, false
}

// beats orders options: in a pod those through a guaranteed deal first
// (see option.first), then higher price first, then lower campaign rank
// (the order of the campaigns by Value), so that the outcome does not
// depend on the order in which the scan meets campaigns.
func (o *option) beats(p *option) bool {
	if o.first != p.first {
		return o.first
	}
	return o.outprices(p)
}

// outprices is beats without option.first.
func (o *option) outprices(p *option) bool {
	return o.price > p.price || o.price == p.price && o.rank < p.rank
}

// eligible checks budget, pacing and the user's frequency cap for
// campaign o, cc; it returns "" or the failed check. The cap counts the
// impressions billed and the response's bids on the other imps: a
// campaign capped at 1 does not bid on every ad slot of one page.
// Out of line, as price is.
//
//go:noinline
func (s *Snapshot) eligible(c *Ctx, cc *ccamp, o int) string {
	if p := cc.pacing(c.sec); p != PacingOK {
		return p.String()
	}
	if cc.freqMax > 0 && c.userKey != 0 &&
		s.state.freq.count(freqHash(c.userKey, cc.freqKey), c.sec, cc.freqWin)+c.capBidsOf(o) >= cc.freqMax {
		return "freq_cap"
	}
	return ""
}

// play is a bid of the response on a DOOH play (see Ctx.plays).
type play struct {
	ord  int32
	cost float64
}

// playCost is what a bid at price (a CPM in the response currency) on a
// play of q impressions may cost, in micro-units of the campaign file
// currency, the budgets' unit.
func (c *Ctx) playCost(price, q float64) float64 { return price / c.conv * q * 1e3 }

// playsOf is what the response's bids on DOOH plays of campaign o may
// cost, in micro-units of the campaign file currency.
func (c *Ctx) playsOf(o int) float64 {
	sum := 0.0
	for _, p := range c.plays {
		if int(p.ord) == o {
			sum += p.cost
		}
	}
	return sum
}

// capBidsOf returns how many bids the response has from campaign o, when
// it has a frequency cap.
func (c *Ctx) capBidsOf(o int) int {
	n := 0
	for _, b := range c.capBids {
		if int(b) == o {
			n++
		}
	}
	return n
}

func reasonOf(why string) Reason {
	if why == "freq_cap" {
		return ReasonFreqCap
	}
	return ReasonBudget
}

// rejectPick rejects campaign o, cc, that pickDeal refused (deal -2) or
// that is outside its flight. It is out of line, as a call on one line:
// evaluate keeps its inlining budget for the checks every candidate runs,
// and its lines the offsets the PGO profile names its hot calls by.
//
//go:noinline
func (c *Ctx) rejectPick(o int, cc *ccamp, deal int) {
	if deal == -2 {
		c.reject(o, ReasonBlocked, "deal_seat")
		return
	}
	c.reject(o, ReasonBudget, cc.flight(c.sec).String())
}

// reject records a candidate removed after the index.
func (c *Ctx) reject(o int, r Reason, why string) {
	c.note(r)
	if c.Trace != nil {
		c.Trace.add(c, o, why, 0, 0)
	}
}

// pickDeal returns the deal index cc bids on and the floor that applies
// before durations (see creativeFloor): -1 for the open auction, -2 when
// cc may not bid (a deals-only campaign whose deals' wseat or wadomain
// exclude it, or a private auction). It is the first deal of the imp
// that cc lists and may bid on, a guaranteed one first. A deal without
// floor guidance of its own takes the imp's. A campaign that may bid in
// the open auction passes over a deal whose floor is above the most it
// bids (maxCpm): held to it, it bid nothing where the open auction took
// its bid (the protocol audit).
func (c *Ctx) pickDeal(imp *openrtb.Imp, cc *ccamp) (int, float64) {
	if c.guar > 0 {
		return c.pickGuaranteed(imp, cc)
	}
	open := !cc.dealsOnly && imp.PMP.PrivateAuction != 1
	for j, h := range c.dealH {
		if c.dealFloor[j] < 0 || !containsU64(cc.deals, h) {
			continue
		}
		if d := &imp.PMP.Deals[j]; dealAdmits(d, cc) {
			f := c.dealFloorOf(j)
			if open && f > cc.maxCPM*c.conv {
				continue
			}
			return j, f
		}
	}
	if !open {
		return -2, 0
	}
	return -1, c.impFloor
}

// pickGuaranteed is pickDeal for an imp with a guaranteed deal, which it
// picks first. Out of line: such imps are few.
//
// As pickDeal, a campaign that may bid in the open auction passes over a
// deal, guaranteed or not, whose floor is above its maxCpm: another
// buyer's guaranteed deal on the imp once held it to such a deal, and it
// bid nothing where the open auction took its bid (the pricing audit).
//
//go:noinline
func (c *Ctx) pickGuaranteed(imp *openrtb.Imp, cc *ccamp) (int, float64) {
	open := !cc.dealsOnly && imp.PMP.PrivateAuction != 1
	pick := -1
	for j, h := range c.dealH {
		if c.dealFloor[j] < 0 || !containsU64(cc.deals, h) || !dealAdmits(&imp.PMP.Deals[j], cc) {
			continue
		}
		if open && c.dealFloorOf(j) > cc.maxCPM*c.conv {
			continue
		}
		if pick < 0 || c.dealGuide[j].guar && !c.dealGuide[pick].guar {
			pick = j
		}
	}
	switch {
	case pick >= 0:
		return pick, c.dealFloorOf(pick)
	case !open:
		return -2, 0
	}
	return -1, c.impFloor
}

// dealFloorOf is the floor of deal j before durations: its own, or
// without floor guidance of its own the imp's.
func (c *Ctx) dealFloorOf(j int) float64 {
	if !c.dealGuide[j].own {
		return c.impFloor
	}
	return c.dealFloor[j]
}

func containsU64(s []uint64, v uint64) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// dealAdmits checks a deal's wseat and wadomain against the campaign.
func dealAdmits(d *openrtb.Deal, cc *ccamp) bool {
	if len(d.WSeat) > 0 && !containsBytes(d.WSeat, cc.seat, false) {
		return false
	}
	if len(d.WADomain) == 0 {
		return true
	}
	for _, a := range cc.adomain {
		if containsBytes(d.WADomain, a, true) {
			return true
		}
	}
	return false
}

func containsBytes(list [][]byte, v []byte, fold bool) bool {
	for _, x := range list {
		if fold && equalFold(x, v) || !fold && string(x) == string(v) {
			return true
		}
	}
	return false
}

// Auction types (OpenRTB "at", in the request and in a deal).
const (
	atFirstPrice  = 1
	atSecondPrice = 2
	atFixedPrice  = 3 // deals only: the deal's bidfloor is the agreed price
)

// auctionShade is the shading factor of a request or deal auction type:
// the request's first-price factor (see Ctx.Shade) in first-price
// auctions, none otherwise. A request
// without "at" is a second-price auction (the OpenRTB default).
// guaranteed is the shade auction gives a guaranteed deal (deal.guar 1):
// price bids it at its floor, the agreed price, whatever the model's
// score, when the campaign's maxCPM reaches it.
const guaranteed = 0

func (c *Ctx) auctionShade(at int) float64 {
	if at == atFirstPrice {
		return c.fpShade
	}
	return 1
}

// auction is how an option of imp through deal (-1 for none) is priced: a
// fixed-price deal at its floor, a guaranteed one too (shade guaranteed),
// else shaded by the deal's auction type when it has one, or the
// request's.
func (s *Snapshot) auction(c *Ctx, imp *openrtb.Imp, deal int) (fixed bool, shade float64) {
	if deal < 0 {
		return false, c.openShade
	}
	if c.dealGuide[deal].guar {
		return true, guaranteed
	}
	switch at := imp.PMP.Deals[deal].AT; at {
	case atFixedPrice:
		// The agreed price is the deal's floor; without one, an auction.
		return c.dealGuide[deal].own, 1
	case atFirstPrice, atSecondPrice:
		return false, c.auctionShade(at)
	}
	return false, c.shade
}

// price computes a creative's price and score: Value x score capped at
// MaxCPM, in the response currency, rounded, and >= floor (the
// creative's: see creativeFloor). price <= 0 means below floor. Through a guaranteed
// deal (shade guaranteed) the price is MaxCPM, whatever the score.
// An option that clears the floor is then bid at the floor when fixed (a
// fixed-price or guaranteed deal), else at its value times shade, but not below the
// floor: shading lowers what a first-price auction charges, never whether
// the bid clears.
//
// Out of line, as fit, skipCreative and eligible are: inlined into
// evaluate (as rtbd's PGO profile had them), their arguments and the
// creative loop's state were spilled and reloaded around every call,
// about 800 instructions more per CTV request at 1,000 campaigns
// (bench/icount.sh).
//
//go:noinline
func (s *Snapshot) price(c *Ctx, cc *ccamp, cr *ccreative, x, floor float64, fixed bool, shade float64) (price, score float64) {
	score = 1.0
	if s.model.on {
		score = c.sig.sigmoid(x + cr.weight)
	}
	p := min(cc.value*score, cc.maxCPM) * c.conv
	if shade == guaranteed {
		p = cc.maxCPM * c.conv // bid whatever the score, up to maxCPM
	}
	if !(p >= floor) || !(p > 0) { // a NaN too
		c.note(ReasonBelowFloor)
		return 0, score
	}
	switch {
	case fixed && floor > 0:
		p = floor
	case shade > 0 && shade < 1:
		p = max(p*shade, floor)
	}
	return roundPrice(p, floor, cc.maxCPM*c.conv), score
}

// skipCreative reports whether creative cr of cc, whose exp(-logit) is
// at least eLow, may skip pricing, with the outcome price would have had:
// whyBelowFloor when its price is surely below the floor (noted as
// ReasonBelowFloor, as price does), whyCut when it surely cannot enter the
// k best and price could at most note ReasonBelowFloor, already noted;
// else whyNone. The bounds keep the margins of belowOdds and priceSlack.
// Out of line, as price is.
//
//go:noinline
func (c *Ctx) skipCreative(cc *ccamp, cr *ccreative, eLow, floor float64, deal, k int) uint8 {
	var b bounds
	if floor > 0 && b.belowOdds(c, cc.value, cc.maxCPM, eLow, floor) {
		c.note(ReasonBelowFloor)
		return whyBelowFloor
	}
	if kth, ok := c.kth(deal, k); ok && c.worst >= ReasonBelowFloor &&
		b.belowOdds(c, cc.value, cc.maxCPM, eLow, kth.price-priceSlack) {
		return whyCut
	}
	return whyNone
}

// offer inserts opt into c.opts, kept sorted by [option.beats] and at most
// k long; with c.mn, an open option goes to c.open when it beats it.
func (c *Ctx) offer(opt option, k int) {
	if c.mn && opt.deal < 0 {
		if c.open.ord < 0 || opt.beats(&c.open) {
			c.open = opt
		}
		return
	}
	if len(c.opts) >= k {
		if !opt.beats(&c.opts[k-1]) {
			return
		}
		c.opts = c.opts[:k-1]
	}
	c.opts = append(c.opts, opt)
	for i := len(c.opts) - 1; i > 0 && c.opts[i].beats(&c.opts[i-1]); i-- {
		c.opts[i], c.opts[i-1] = c.opts[i-1], c.opts[i]
	}
}
