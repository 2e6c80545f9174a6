package decision

import (
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

// Ctx is the per-request scratch of [Snapshot.Decide]. Get one with
// [AcquireCtx] and give it back with [ReleaseCtx]; a Ctx is not safe for
// concurrent use. Byte slices that Decide writes into the Response (bid ids)
// live in the Ctx and are valid until the next Decide or ReleaseCtx.
type Ctx struct {
	// Trace, when non-nil, records why each campaign did or did not bid.
	// It makes Decide slow and allocating; use it for /admin/explain only.
	Trace *Trace
	// Deadline, when non-zero, stops the decision between imps (and every
	// few hundred candidates) once time.Now() is after it.
	Deadline time.Time
	// Shade, when in (0, 1], is the first-price shading factor of the
	// request (its exchange's), instead of the snapshot's
	// (Options.FirstPriceShading).
	Shade float64
	// Explore bids the request's open auction unshaded, to learn its
	// exchange's factor (see package shading); deals keep theirs.
	Explore bool

	terms  [maxTerms]term
	nTerms int
	// capBids holds the ordinal of every campaign with a frequency cap
	// once for each bid the response has from it: the user may see every
	// ad of a page, so they count against the cap like the impressions
	// billed before (see Snapshot.eligible).
	capBids []int32
	// plays holds, for each bid of the response on a DOOH play (an imp
	// with qty.multiplier), its campaign's ordinal and what it may cost
	// in micro-units of the campaign file currency: another play of the
	// campaign must fit the budgets with them (see evaluate).
	plays []play
	nReq  int     // terms [0, nReq) depend on the request only
	perm  []*term // all terms, sorted
	perm2 []*term
	impc  andCache // the imp's terms, sorted, and their AND
	reqc  andCache // the request's terms, sorted, and their AND
	words int
	// chunkImp says the imp's terms are ANDed in chunks, into impc (see
	// chunkedImpWords).
	chunkImp bool

	snap      *Snapshot
	req       *openrtb.Request
	sec       int64
	respCur   int
	conv      float64 // campaign currency -> response currency
	shade     float64 // the request's auction: first-price shading, 1 for none
	fpShade   float64 // the factor of first-price auctions (see Shade)
	openShade float64 // shade, or 1 to explore
	userKey   uint64
	worst     Reason
	timedOut  bool
	visits    int
	rf        reqFeatures
	domBuf    []byte
	devBuf    []byte
	vMimes    []uint64           // imp.video.mimes, hashed by prepareImp
	aMimes    []uint64           // imp.audio.mimes
	fitM      [2]fitMasks        // the imp's video's and audio's (see fitMasks)
	impFloor  float64            // response currency
	vGuide    floorGuide         // video.mincpmpersec and durfloors
	aGuide    floorGuide         // audio's
	dealGuide []floorGuide       // each deal's (see pickDeal)
	durFloors []openrtb.DurFloor // the guides' durfloors, response currency
	byDur     bool               // a guide has mincpmpersec or durfloors
	dealFloor []float64          // response currency; < 0 unusable
	dealH     []uint64
	guar      int // the imp's usable guaranteed deals
	// inPod: the imps being decided are a pod's, where an option through
	// a guaranteed deal comes first (see option.first); podFirst: the pod
	// has such options.
	inPod, podFirst bool
	opts            []option
	// mn: the imp's deal and open options are kept apart, the deal ones
	// in opts and the best open one in open (see decideImp).
	mn     bool
	open   option
	podDom []uint64
	podCat []uint64
	podSig uint64 // the podSig of the pod's ads: podDom and podCat meet no other
	done   []bool
	idBuf  []byte
	admBuf []byte // native bids' markup (see cnative.appendMarkup); a grown one leaves the old to earlier bids
	idPre  []byte // the bid id prefix of the request (see newBidID)
	lastB  bounds // see newBounds
	lastMB int    // the media bit of lastB; -1 none
	sig    sigmoidCache
	pod    podSearch
	// The structured slots of the pod being filled (see scanSlot).
	slots      []slot
	slotOpts   []option
	slotSearch slotSearch
	// The scans of structured slots scanned together (see jointSlots):
	// scans[jointOf[t]] serves imp jointIdx[t]; jointCur is the scan whose
	// floor and fit masks c holds, -1 none.
	scans    [maxSlots]slotScan
	jointIdx []int32
	jointOf  [maxSlots]int8
	jointCur int
	durBits  []uint64 // the index's durBits of the joint scan's media
	batch    []int32  // batchBuf[:n], see collect
	batchBuf [batchSize]int32
	batchH   [batchSize]uint64
	batchE   [batchSize]float64
}

// option is one priced candidate of an imp.
type option struct {
	ord  int32
	cr   int16
	deal int8 // index in imp.PMP.Deals (at most 64), -1 for the open auction
	// first: through a guaranteed deal in a pod, which must take it
	// whatever the other ads are worth (see beats and firstBonus).
	first bool
	dur   int32
	rank  int32 // the campaign's rank, to break price ties
	price float64
	score float64
}

// AcquireCtx returns an empty Ctx from a pool.
func AcquireCtx() *Ctx {
	if c, ok := ctxPool.Get().(*Ctx); ok {
		return c
	}
	return &Ctx{}
}

// ReleaseCtx returns c to the pool. Do not use c, or slices Decide wrote
// into a Response with it, afterwards.
func ReleaseCtx(c *Ctx) {
	c.reset()
	c.Trace, c.Deadline, c.Shade, c.Explore = nil, time.Time{}, 0, false
	ctxPool.Put(c)
}

var ctxPool sync.Pool

// reset drops references into the last request and snapshot, keeping
// capacity.
func (c *Ctx) reset() {
	c.truncateTerms(0)
	// perm and the caches' terms point into c.terms: nothing to drop.
	c.perm, c.impc.terms, c.reqc.terms = c.perm[:0], c.impc.terms[:0], c.reqc.terms[:0]
	c.snap, c.req = nil, nil
	c.opts = c.opts[:0]
	c.mn, c.open, c.inPod, c.podFirst = false, option{ord: -1}, false, false
	c.lastB, c.lastMB = bounds{}, -1
}

func (c *Ctx) begin(s *Snapshot, req *openrtb.Request, now time.Time) {
	c.reset()
	c.snap, c.req = s, req
	c.words = words(len(s.camps))
	c.chunkImp = c.words >= chunkedImpWords
	c.sec = now.Unix()
	c.worst, c.timedOut, c.visits = ReasonNoCandidates, false, 0
	c.idBuf, c.idPre, c.admBuf = c.idBuf[:0], c.idPre[:0], c.admBuf[:0]
	c.done, c.capBids, c.plays = c.done[:0], c.capBids[:0], c.plays[:0]
	for range req.Imps {
		c.done = append(c.done, false)
	}
}

// note records how far a candidate got, for the no-bid reason.
func (c *Ctx) note(r Reason) { c.worst = max(c.worst, r) }

// expired reports whether the deadline has passed. time.Until reads only
// the monotonic clock when the deadline has a monotonic reading (one made
// from time.Now), half the cost of time.Now().After.
func (c *Ctx) expired() bool {
	if c.Deadline.IsZero() {
		return false
	}
	if !c.timedOut && time.Until(c.Deadline) < 0 {
		c.timedOut = true
	}
	return c.timedOut
}

// Decide chooses the bids for req at time now and writes them into resp
// (which it resets first): id, bidid, cur, seat, the notice base and one
// bid per imp, or several per dynamic CTV pod; on no bid only id is set. It returns ReasonBid when
// resp has bids, else why not. Decide does not change spend or frequency
// counters (see [State.Bill]) and does not allocate in steady state when
// c.Trace is nil.
func (s *Snapshot) Decide(c *Ctx, req *openrtb.Request, now time.Time, resp *openrtb.Response) Reason {
	// The last response's bids are not cleared first, as Response.Reset
	// would: emit sets every field of a Bid it reuses, and those past this
	// response's end are cleared after, as they hold references. Clearing
	// them all first cost 1 % of a CTV decision.
	old := resp.Bids
	*resp = openrtb.Response{Bids: old[:0], NBR: -1}
	resp.ID = req.ID
	c.begin(s, req, now)
	defer c.reset()
	r := s.decide(c, req, now, resp)
	// A grown Bids left old behind: its bids are then all past the end.
	for i := len(resp.Bids); i < len(old); i++ {
		resetBid(&old[i])
	}
	if r != ReasonBid {
		return r
	}
	if len(resp.Bids) == 0 {
		if c.timedOut {
			return ReasonDeadline
		}
		return c.worst
	}
	resp.BidID = resp.Bids[0].ID
	resp.Cur = s.money.codes[c.respCur]
	resp.NoticeBase, resp.NoticeBasePlain, resp.NoticeKey = s.noticeBase, s.noticePlain, s.noticeKey
	resp.BidIDsPlain = s.hostPlain // see newBidID
	return ReasonBid
}

// resetBid clears b, keeping the capacity of its slices.
func resetBid(b *openrtb.Bid) {
	*b = openrtb.Bid{ADomain: b.ADomain[:0], Cat: b.Cat[:0], Attr: b.Attr[:0]}
}

// decide runs the imps; it returns ReasonBid to mean "look at resp".
func (s *Snapshot) decide(c *Ctx, req *openrtb.Request, now time.Time, resp *openrtb.Response) Reason {
	if len(req.Imps) == 0 || len(req.ID) == 0 {
		return ReasonInvalid
	}
	if c.expired() {
		return ReasonDeadline
	}
	ri, ok := s.money.respCurrency(req.Cur)
	if !ok {
		return ReasonCurrency
	}
	c.respCur, c.conv = ri, s.money.factor(s.money.file, ri)
	c.fpShade = s.shade
	if c.Shade > 0 && c.Shade <= 1 {
		c.fpShade = c.Shade
	}
	c.shade = c.auctionShade(req.AT)
	c.openShade = c.shade
	if c.Explore {
		c.openShade = 1
	}
	c.userKey = UserKey(req)
	s.model.prepare(c, req, int(c.sec%86400/3600))
	s.requestTerms(c, req, c.sec)
	c.nReq = c.nTerms
	c.sortRequestTerms()
	for i := range req.Imps {
		if c.done[i] {
			continue
		}
		if i > 0 && c.expired() { // imp 0: checked above
			break
		}
		imp := &req.Imps[i]
		if _, pod := podOf(imp); pod != nil {
			s.decidePod(c, i, resp)
		} else {
			s.decideImp(c, imp, resp)
		}
	}
	return ReasonBid
}

// Media type bits, as collect takes them.
const (
	mbBanner = 0
	mbVideo  = 1
	mbAudio  = 2
	mbNative = 3
)

// podOf returns the media type bit and the pod fields of imp when it is a
// slot of a pod or a dynamic pod: video's when the imp offers video with
// a podid, poddur or maxseq, else audio's alike; nil when it is in no pod.
func podOf(imp *openrtb.Imp) (int, *openrtb.Pod) {
	if imp.Media&openrtb.MediaVideo != 0 && inPod(&imp.Video.Pod) {
		return mbVideo, &imp.Video.Pod
	}
	if imp.Media&openrtb.MediaAudio != 0 && inPod(&imp.Audio.Pod) {
		return mbAudio, &imp.Audio.Pod
	}
	return 0, nil
}

func inPod(p *openrtb.Pod) bool { return len(p.PodID) > 0 || isDynamic(p) }

// isDynamic reports whether the pod takes several ads (poddur or maxseq).
func isDynamic(p *openrtb.Pod) bool { return p.PodDur > 0 || p.MaxSeq > 0 }

// decideImp bids on a non-pod imp: the best option over the imp's media
// types. With Options.OpenBesideDeal, an imp that has deals
// and an auction that is not private (OpenRTB's "M+N": deal bids and open
// bids) gets the best deal option and the best open option apart, two
// bids from two campaigns: when the exchange cannot take the deal bid (a
// floor or rule of its own), the open bid still competes.
func (s *Snapshot) decideImp(c *Ctx, imp *openrtb.Imp, resp *openrtb.Response) {
	if !c.prepareImp(imp) {
		return
	}
	c.opts = c.opts[:0]
	c.mn = s.openBeside && len(c.dealH) > 0 && imp.PMP.PrivateAuction != 1
	best, open := option{ord: -1}, option{ord: -1}
	for mb := 0; mb < 4; mb++ {
		if imp.Media&(1<<mb) == 0 {
			continue
		}
		c.opts, c.open = c.opts[:0], option{ord: -1}
		s.collect(c, imp, mb, 1, false)
		if len(c.opts) > 0 && (best.ord < 0 || c.opts[0].price > best.price) {
			best = c.opts[0]
		}
		if c.open.ord >= 0 && (open.ord < 0 || c.open.price > open.price) {
			open = c.open
		}
	}
	c.mn, c.open = false, option{ord: -1}
	if best.ord >= 0 {
		s.emit(c, imp, &best, resp)
	}
	if open.ord >= 0 {
		s.emit(c, imp, &open, resp)
	}
	if c.guar > 0 && (best.ord < 0 || best.deal < 0 || !c.dealGuide[best.deal].guar) {
		// The bidder must bid on a guaranteed deal: its best option goes
		// beside a better one.
		if g := s.bestGuaranteed(c, imp); g.ord >= 0 {
			s.emit(c, imp, &g, resp)
		}
	}
}

// maxGuaranteedOptions bounds the options bestGuaranteed keeps, among
// which it looks for one through a guaranteed deal: the campaigns listing
// one may have better options through other deals.
const maxGuaranteedOptions = 16

// bestGuaranteed returns imp's best option through a guaranteed deal, or
// one with ord -1. It evaluates the campaigns listing one again, as
// collect did, untraced: the trace has them already.
func (s *Snapshot) bestGuaranteed(c *Ctx, imp *openrtb.Imp) option {
	tr := c.Trace
	c.Trace = nil
	g := option{ord: -1}
	for mb := 0; mb < 4; mb++ {
		if imp.Media&(1<<mb) == 0 {
			continue
		}
		c.opts, c.open = c.opts[:0], option{ord: -1}
		var it candIter
		s.startImp(c, imp, mb, maxGuaranteedOptions, false, &it)
		for i := range c.opts {
			if o := &c.opts[i]; o.deal >= 0 && c.dealGuide[o.deal].guar {
				if g.ord < 0 || o.beats(&g) {
					g = *o
				}
				break
			}
		}
	}
	c.opts, c.Trace = c.opts[:0], tr
	return g
}

// prepareImp computes the imp's floors (response currency) and hashes; it
// returns false when a floor currency has no rate.
func (c *Ctx) prepareImp(imp *openrtb.Imp) bool {
	m := &c.snap.money
	fi, ok := m.lookup(imp.BidFloorCur)
	if !ok {
		c.note(ReasonCurrency)
		return false
	}
	rate := m.factor(fi, c.respCur)
	c.impFloor = imp.BidFloor * rate
	c.durFloors = c.durFloors[:0]
	c.vGuide = c.guide(imp.Video.MinCPMPerSec, imp.Video.DurFloors, rate)
	c.aGuide = c.guide(imp.Audio.MinCPMPerSec, imp.Audio.DurFloors, rate)
	c.byDur = c.vGuide.perSec > 0 || c.aGuide.perSec > 0
	c.dealH, c.dealFloor, c.dealGuide = c.dealH[:0], c.dealFloor[:0], c.dealGuide[:0]
	c.guar = 0
	for i := range imp.PMP.Deals {
		d := &imp.PMP.Deals[i]
		c.dealH = append(c.dealH, xxhash.Sum64(d.ID))
		f, g := -1.0, floorGuide{} // unusable deal: no rate for its floor currency
		if di, ok := m.lookup(d.BidFloorCur); ok {
			r := m.factor(di, c.respCur)
			if len(d.BidFloorCur) == 0 && len(imp.BidFloorCur) > 0 {
				// No currency: USD by the spec, but IAB's own 2.6
				// example prices a GBP request's deal in GBP. The
				// higher reading is below neither (the protocol audit).
				r = max(r, rate)
			}
			f, g = d.BidFloor*r, c.guide(d.MinCPMPerSec, d.DurFloors, r)
			g.own = g.own || d.BidFloor > 0
			// Its floor is the agreed price: without one, it is bid on
			// as any deal.
			if g.guar = d.Guar == 1 && g.own; g.guar {
				c.guar++
			}
		}
		c.dealFloor, c.dealGuide = append(c.dealFloor, f), append(c.dealGuide, g)
		c.byDur = c.byDur || g.perSec > 0
	}
	c.byDur = c.byDur || len(c.durFloors) > 0
	c.vMimes = hashMimes(c.vMimes[:0], imp.Video.Mimes)
	c.aMimes = hashMimes(c.aMimes[:0], imp.Audio.Mimes)
	if imp.Media&(openrtb.MediaVideo|openrtb.MediaAudio) != 0 {
		c.setFitMasks(imp)
	}
	return true
}

// floorGuide is the floor guidance by duration of an imp's video or
// audio, or of a deal (OpenRTB 2.6 section 7.11): mincpmpersec, and
// durfloors c.durFloors[lo:hi], in the response currency.
type floorGuide struct {
	perSec float64
	lo, hi int32
	// own: the guide has floors (for a deal, a bidfloor too), so that a
	// deal's bids follow its guide alone (see creativeFloor).
	own bool
	// guar: a usable guaranteed deal (deal.guar 1) with a floor, the
	// agreed price, which the bidder must bid on (see collectGuaranteed).
	guar bool
}

// guide appends durfloors to c.durFloors at rate (their currency to the
// response's) and returns their guide with mincpmpersec perSec.
func (c *Ctx) guide(perSec float64, durFloors []openrtb.DurFloor, rate float64) floorGuide {
	g := floorGuide{perSec: perSec * rate, lo: int32(len(c.durFloors))}
	for _, f := range durFloors {
		f.BidFloor *= rate
		c.durFloors = append(c.durFloors, f)
	}
	g.hi = int32(len(c.durFloors))
	g.own = perSec > 0 || g.hi > g.lo
	return g
}

// creativeFloor is the floor of creative cr bid through deal (-1 for the
// open auction), whose floor before durations is floor (see pickDeal):
// raised to what the duration floors ask for a video or audio creative,
// the deal's own when it has floor guidance, else the imp's video's or
// audio's. OpenRTB 2.6 (section 7.11) has a deal's guidance replace the
// imp's; an open bid keeps the imp's bidfloor beside its media's
// guidance, since exchanges check both.
func (c *Ctx) creativeFloor(cr *ccreative, deal int, floor float64) float64 {
	var g *floorGuide
	switch {
	case cr.media != openrtb.MediaVideo && cr.media != openrtb.MediaAudio:
		return floor
	case deal >= 0 && c.dealGuide[deal].own:
		g = &c.dealGuide[deal]
	case cr.media == openrtb.MediaVideo:
		g = &c.vGuide
	default:
		g = &c.aGuide
	}
	if g.perSec > 0 {
		floor = max(floor, g.perSec*float64(cr.dur))
	}
	for _, f := range c.durFloors[g.lo:g.hi] {
		if f.Applies(cr.dur) {
			floor = max(floor, f.BidFloor)
		}
	}
	return floor
}

// hashMimes appends the folded hashes of mimes to dst.
func hashMimes(dst []uint64, mimes [][]byte) []uint64 {
	for _, mt := range mimes {
		dst = append(dst, hashFold(mt))
	}
	return dst
}

// UserKey returns the frequency-cap key of the request's user: the xxhash
// of the first present of user.id, user.buyeruid, the first eid uid and
// device.ifa, or 0 when none is present. An id of zeros (and dashes) is
// not present: it is what a device that limits ad tracking sends as its
// ifa (00000000-0000-0000-0000-000000000000), common on CTV, and the
// viewers of every such device would otherwise share one cap.
func UserKey(req *openrtb.Request) uint64 {
	u := &req.User
	switch {
	case isUserID(u.ID):
		return fixKey(xxhash.Sum64(u.ID))
	case isUserID(u.BuyerUID):
		return fixKey(xxhash.Sum64(u.BuyerUID))
	}
	for i := range u.EIDs {
		if isUserID(u.EIDs[i].UID) {
			return fixKey(xxhash.Sum64(u.EIDs[i].UID))
		}
	}
	if isUserID(req.Device.IFA) {
		return fixKey(xxhash.Sum64(req.Device.IFA))
	}
	return 0
}

// isUserID reports whether id names a user: it is not empty and not
// only zeros and dashes.
func isUserID(id []byte) bool {
	for _, c := range id {
		if c != '0' && c != '-' {
			return true
		}
	}
	return false
}
