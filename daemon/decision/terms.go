package decision

import (
	"bytes"
	"math"
	"math/bits"

	"github.com/cespare/xxhash/v2"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

// maxTerms bounds the terms of one imp: request-level ones plus imp ones.
const maxTerms = 32

// termBuf builds the terms of one request in a Ctx.
func (c *Ctx) newTerm(name string, neg bool) *term {
	if c.nTerms == maxTerms {
		panic("BUG: too many targeting terms")
	}
	t := &c.terms[c.nTerms]
	c.nTerms++
	t.name, t.neg, t.pre = name, neg, false
	t.lo, t.hi = math.MaxInt, 0
	if len(t.scr) < c.words {
		t.scr = make([]uint64, c.words)
	}
	t.scr = t.scr[:c.words]
	return t
}

// orAny adds the campaigns unconstrained on d to t.
func (t *term) orAny(d *dim) {
	t.orDense(d.any, d.anyLo, d.anyHi)
	t.est += d.anyCnt
}

// truncateTerms drops the terms from index n on, clearing their scratch.
func (c *Ctx) truncateTerms(n int) {
	for i := n; i < c.nTerms; i++ {
		c.terms[i].clear()
	}
	c.nTerms = n
}

// sortTerms orders the terms for the AND: positive terms by estimated
// size, smallest (most selective) first, then negative terms. c.impc.terms
// gets the imp-level ones and, once per request, c.reqc.terms the
// request-level ones; allTerms sorts all of them, when needed.
func (c *Ctx) sortTerms() {
	c.impc.terms = sortedTerms(c.impc.terms[:0], c.terms[c.nReq:c.nTerms])
}

// allTerms returns all terms of the imp, sorted. Only the rare paths need
// them (blockedOnly, tracing), so they are not sorted for every imp.
func (c *Ctx) allTerms() []*term {
	c.perm = sortedTerms(c.perm[:0], c.terms[:c.nTerms])
	return c.perm
}

func (c *Ctx) sortRequestTerms() {
	c.reqc.terms = sortedTerms(c.reqc.terms[:0], c.terms[:c.nReq])
	c.reqc.reset(c.words)
}

func sortedTerms(p []*term, terms []term) []*term {
	for i := range terms {
		p = append(p, &terms[i])
	}
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && termLess(p[j], p[j-1]); j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
	return p
}

// startImp builds the imp's terms for media bit mb and starts it on
// them; with a guaranteed deal, it evaluates the campaigns listing one
// for up to k options (see collectGuaranteed). It returns how many
// options the imp keeps: k, and in a pod its options through a
// guaranteed deal besides.
func (s *Snapshot) startImp(c *Ctx, imp *openrtb.Imp, mb, k int, perCreative bool, it *candIter) int {
	c.truncateTerms(c.nReq)
	s.impTerms(c, imp, mb)
	c.sortTerms()
	var impc *andCache
	if c.chunkImp {
		impc = &c.impc
		impc.reset(c.words)
	}
	it.init(c.impc.terms, impc, &c.reqc, len(s.camps))
	if c.guar > 0 {
		return s.collectGuaranteed(c, imp, mb, k, perCreative)
	}
	return k
}

func termLess(a, b *term) bool {
	if a.neg != b.neg {
		return !a.neg
	}
	return a.est < b.est
}

// anyOrKey adds a positive term: unconstrained campaigns or those listing h
// (when present). A dimension no campaign constrains admits every campaign
// and gets no term: it could neither remove a candidate nor be the one to
// explain its removal.
func (c *Ctx) anyOrKey(name string, d *dim, h uint64, present bool) {
	if d.full {
		return
	}
	t := c.newTerm(name, false)
	t.orAny(d)
	if present {
		t.orPosting(d.lookup(h))
	}
}

// requestTerms adds the terms that depend on the request only.
func (s *Snapshot) requestTerms(c *Ctx, req *openrtb.Request, sec int64) {
	ix := &s.ix
	dt := req.Device.Type
	c.anyOrKey("device_type", &ix.device, intKey(uint64(dt)), dt != 0)
	g := &req.Device.Geo
	c.foldKey("os", &ix.os, req.Device.OS)
	c.foldKey("country", &ix.country, g.Country)
	c.foldKey("region", &ix.region, g.Region)
	c.foldKey("metro", &ix.metro, g.Metro)
	if !ix.inventory.full || len(ix.blockInv.posts) > 0 {
		s.inventoryTerms(c, req)
	}
	if !ix.publisher.full {
		pub := publisherID(req)
		c.anyOrKey("publisher", &ix.publisher, xxhash.Sum64(pub), len(pub) > 0)
	}
	if !ix.segment.full {
		t := c.newTerm("segment", false)
		t.orAny(&ix.segment)
		for _, sg := range req.User.Segments {
			t.orPosting(ix.segment.lookup(xxhash.Sum64(sg)))
		}
	}
	day := sec / 86400
	c.anyOrKey("hour", &ix.hour, intKey(uint64(sec%86400/3600)), true)
	c.anyOrKey("weekday", &ix.weekday, intKey(uint64((day+4)%7)), true) // 1970-01-01 was a Thursday
	if !ix.localHour.full || !ix.localWeekday.full {
		// The viewer's time; unknown, it matches only campaigns without
		// local day-parting.
		local := sec + int64(g.UTCOffset)*60
		c.anyOrKey("local_hour", &ix.localHour, intKey(uint64(local%86400/3600)), g.HasUTCOffset)
		c.anyOrKey("local_weekday", &ix.localWeekday, intKey(uint64((local/86400+4)%7)), g.HasUTCOffset)
	}
	s.blockTerms(c, req)
}

// foldKey is anyOrKey of the case-folded value v; it hashes v only when
// the dimension needs it.
func (c *Ctx) foldKey(name string, d *dim, v []byte) {
	if !d.full {
		c.anyOrKey(name, d, hashFold(v), len(v) > 0)
	}
}

// inventoryTerms adds the terms of the allow lists (targeting.siteDomains,
// appBundles) and the block lists of the request's site or app. A site is
// known by its host: site.domain's, else site.page's (most Prebid Server
// requests send no domain). A listed domain covers its subdomains: a site
// on www.example.com or m.news.example.com is on example.com. Matched on
// site.domain alone and exactly, a block list let both kinds of request
// through, and the advertiser paid for inventory it had excluded (the
// protocol audit).
func (s *Snapshot) inventoryTerms(c *Ctx, req *openrtb.Request) {
	ix := &s.ix
	var allow, block *term
	if !ix.inventory.full {
		allow = c.newTerm("inventory", false)
		allow.orAny(&ix.inventory)
	}
	key := func(h uint64) {
		if allow != nil {
			allow.orPosting(ix.inventory.lookup(h))
		}
		if p := ix.blockInv.lookup(h); p != nil {
			if block == nil {
				block = c.newTerm("block_inventory", true)
			}
			block.orPosting(p)
		}
	}
	if host := requestHost(req); len(host) > 0 {
		// The host and the domains it is under, up to maxHostLevels of
		// them, the shortest last: a.b.example.com, b.example.com,
		// example.com, com.
		dots := bytes.Count(host, dot)
		for skip := dots - maxHostLevels + 1; skip > 0; skip-- {
			host = host[bytes.IndexByte(host, '.')+1:]
		}
		for {
			key(hashFold(host))
			i := bytes.IndexByte(host, '.')
			if i < 0 {
				return
			}
			host = host[i+1:]
		}
	}
	if req.App.Present && len(req.App.Bundle) > 0 {
		key(hashFold(req.App.Bundle) ^ appSalt)
	}
}

// maxHostLevels bounds the domains a site's host is looked up as.
const maxHostLevels = 16

var dot = []byte{'.'}

// requestHost is the host of the request's site, from site.domain, else
// site.page; nil without a site or one of them.
func requestHost(req *openrtb.Request) []byte {
	if !req.Site.Present {
		return nil
	}
	if h := siteHost(req.Site.Domain); len(h) > 0 {
		return h
	}
	return siteHost(req.Site.Page)
}

// siteHost returns the host of a site domain or URL, as browsers read
// it: past a scheme ("https://", or a bare "//" at the start) and a
// user, before a path, query, fragment ('\\' too) or port, without a
// trailing dot ("https://u@www.Example.com.:8443/a?b" gives
// "www.Example.com"; the hashes fold the case). A "//" anywhere else is
// a path's or a query's: taken for the scheme's, a page whose query
// named another site was judged by that site (the commit review).
func siteHost(b []byte) []byte {
	// site.domain is mostly a bare host: one pass finds none of the
	// bytes that the URL's parts start with.
	plain := true
	for _, c := range b {
		if c == '/' || c == ':' || c == '@' || c == '?' || c == '#' || c == '\\' {
			plain = false
			break
		}
	}
	if plain {
		return bytes.TrimSuffix(b, dot)
	}
	b = b[schemeLen(b):]
	for i, c := range b {
		if c == '/' || c == '?' || c == '#' || c == '\\' {
			b = b[:i]
			break
		}
	}
	if i := bytes.LastIndexByte(b, '@'); i >= 0 {
		b = b[i+1:]
	}
	// A port: the last ':' of a host with one, or after an IPv6
	// literal's ']'; a bare IPv6 address keeps its colons.
	if i := bytes.LastIndexByte(b, ':'); i >= 0 && (bytes.IndexByte(b, ':') == i || i > 0 && b[i-1] == ']') {
		b = b[:i]
	}
	return bytes.TrimSuffix(b, dot)
}

// schemeLen is the length of the scheme and "//" that b starts with
// (RFC 3986: a letter, then letters, digits, '+', '-' and '.'), 2 for a
// bare "//", else 0.
func schemeLen(b []byte) int {
	if bytes.HasPrefix(b, schemeSep) {
		return len(schemeSep)
	}
	for i, c := range b {
		switch {
		case 'a' <= c|0x20 && c|0x20 <= 'z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':' && bytes.HasPrefix(b[i+1:], schemeSep):
			return i + 1 + len(schemeSep)
		default:
			return 0
		}
	}
	return 0
}

var schemeSep = []byte("//")

// blockTerms adds the request's block and allow lists on campaigns.
func (s *Snapshot) blockTerms(c *Ctx, req *openrtb.Request) {
	ix := &s.ix
	// bcat and acat are in the taxonomy of cattax: they match the
	// campaigns' categories in it.
	salt := taxSalt(req.CatTax)
	c.negList("bcat", &ix.cat, req.BCat, false, salt)
	if s.blockUnknownCat && len(req.BCat) > 0 {
		// A campaign with no category in that taxonomy may be in a
		// blocked one: with Options.BlockUnknownCategories it does not bid.
		t := c.newTerm("bcat_taxonomy", false)
		t.block = true
		t.orPosting(ix.catTax.lookup(intKey(uint64(max(req.CatTax, 1)))))
	}
	if len(req.ACat) > 0 {
		// acat allows only bids with one of its advertiser categories: a
		// campaign with none of them, or with no category in the
		// taxonomy, is blocked.
		t := c.newTerm("acat", false)
		t.block = true
		for _, v := range req.ACat {
			t.orPosting(ix.cat.find(v, false, salt))
		}
	}
	c.negList("badv", &ix.adomain, req.BAdv, true, 0)
	// bapp lists the bundle ids of advertised apps: a campaign's bundle,
	// or, as before that field existed, a bundle id in its adomain.
	c.negList("bapp", &ix.bundle, req.BApp, true, 0)
	c.negList("bapp", &ix.adomain, req.BApp, true, 0)
	c.negList("bseat", &ix.seat, req.BSeat, false, 0)
	s.dsaTerm(c, &req.Regs)
	if len(req.WSeat) > 0 {
		// Only the listed seats: a campaign without a seat bids on no
		// seat the exchange could check, as a deal's wseat has it.
		t := c.newTerm("wseat", false)
		t.block = true
		for _, v := range req.WSeat {
			t.orPosting(ix.seat.find(v, false, 0))
		}
	}
}

// dsaTerm keeps the campaigns whose bids the request's DSA signals admit:
// where dsarequired is 2 or 3, only those with DSA transparency, and of
// those with it none whose adRender pubrender rules out (0: the publisher
// cannot render the transparency, so the ad must; 2: the publisher will,
// so the ad must not), as Prebid Server checks bids.
func (s *Snapshot) dsaTerm(c *Ctx, g *openrtb.Regs) {
	ix := &s.ix
	bad := -1 // the adRender that pubrender rules out
	switch g.DSAPubRender {
	case 0:
		bad = 0
	case 2:
		bad = 1
	}
	if g.DSARequired == 2 || g.DSARequired == 3 {
		t := c.newTerm("dsa", false)
		t.block = true
		for r := range 2 {
			if r != bad {
				t.orPosting(ix.dsa.lookup(intKey(uint64(r))))
			}
		}
		return
	}
	if bad < 0 {
		return
	}
	if p := ix.dsa.lookup(intKey(uint64(bad))); p != nil {
		t := c.newTerm("dsa", true)
		t.block = true
		t.orPosting(p)
	}
}

// find returns the posting of value v of a dim with its filter (see
// valueFilter), its xxhash or, with fold, its folded hash, xored with
// salt; nil when no campaign has v.
func (d *dim) find(v []byte, fold bool, salt uint64) *posting {
	if len(d.posts) == 0 || !d.filter.mayHave(v) {
		return nil
	}
	if fold {
		return d.lookup(hashFold(v) ^ salt)
	}
	return d.lookup(xxhash.Sum64(v) ^ salt)
}

// negList adds a negative term of the postings of vals (see find), if any
// matched. d must have its filter (see valueFilter).
func (c *Ctx) negList(name string, d *dim, vals [][]byte, fold bool, salt uint64) {
	if len(d.posts) == 0 {
		return // no campaign has a value to block
	}
	var t *term
	for _, v := range vals {
		p := d.find(v, fold, salt)
		if p == nil {
			continue
		}
		if t == nil {
			t = c.newTerm(name, true)
			t.block = true
		}
		t.orPosting(p)
	}
}

// plcmtOf returns v's 2.6 plcmt, or else the one its 2.5 placement
// means, 0 when unknown: in-stream (1) is instream (1); in-banner,
// in-article and in-feed (2-4), which play without content, are no
// content/standalone (4). Interstitial/slider/floating (5) is left
// unknown: a floating player is not an interstitial in 2.6's terms.
func plcmtOf(v *openrtb.Video) int {
	switch {
	case v.Plcmt != 0:
		return v.Plcmt
	case v.Placement == 1:
		return 1
	case v.Placement >= 2 && v.Placement <= 4:
		return 4
	}
	return 0
}

// impTerms adds the terms of imp for media type bit mb; prepareImp must
// have run on imp.
func (s *Snapshot) impTerms(c *Ctx, imp *openrtb.Imp, mb int) {
	ix := &s.ix
	c.newTerm("media", false).orPosting(ix.media.lookup(intKey(uint64(mb))))
	s.dealTerm(c, imp)
	switch openrtb.MediaType(1 << mb) {
	case openrtb.MediaBanner:
		s.sizeTerm(c, &imp.Banner)
	case openrtb.MediaVideo:
		v := &imp.Video
		c.durTerm("video_duration", &ix.vdur, ix.vdurs, v.MinDur, v.MaxDur, podMaxDur(&v.Pod), v.RqdDurs)
		s.mimesTerm(c, c.vMimes)
		if !ix.protocol.full {
			t := c.newTerm("protocols", false)
			t.orAny(&ix.protocol)
			for _, p := range v.Protocols {
				t.orPosting(ix.protocol.lookup(intKey(uint64(p))))
			}
		}
		pl := plcmtOf(v)
		c.anyOrKey("plcmt", &ix.plcmt, intKey(uint64(pl)), pl != 0)
	case openrtb.MediaAudio:
		a := &imp.Audio
		c.durTerm("audio_duration", &ix.adur, ix.adurs, a.MinDur, a.MaxDur, podMaxDur(&a.Pod), a.RqdDurs)
		s.mimesTerm(c, c.aMimes)
	}
}

// mimesTerm admits the campaigns whose targeting takes one of the imp's
// mimes (hashed by prepareImp), or any.
func (s *Snapshot) mimesTerm(c *Ctx, mimes []uint64) {
	ix := &s.ix
	if ix.mimes.full {
		return
	}
	t := c.newTerm("mimes", false)
	t.orAny(&ix.mimes)
	for _, h := range mimes {
		t.orPosting(ix.mimes.lookup(h))
	}
}

// podMaxDur is the longest ad a dynamic pod takes (0: no pod limit).
func podMaxDur(v *openrtb.Pod) int {
	if v.PodDur > 0 {
		return v.PodDur
	}
	return 0
}

func (s *Snapshot) dealTerm(c *Ctx, imp *openrtb.Imp) {
	if c.guar > 0 {
		s.guaranteedTerm(c)
	}
	ix := &s.ix
	if ix.deal.full && imp.PMP.PrivateAuction != 1 {
		return
	}
	t := c.newTerm("deal", false)
	if imp.PMP.PrivateAuction != 1 {
		t.orAny(&ix.deal)
	}
	for _, h := range c.dealH { // the deal ids, hashed by prepareImp
		t.orPosting(ix.deal.lookup(h))
	}
}

// guaranteedTerm removes from the scan the campaigns that list a
// guaranteed deal of the imp: collectGuaranteed evaluates them first.
func (s *Snapshot) guaranteedTerm(c *Ctx) {
	t := c.newTerm("guaranteed", true)
	t.pre = true
	for j, h := range c.dealH {
		if c.dealGuide[j].guar {
			t.orPosting(s.ix.deal.lookup(h))
		}
	}
}

// collectGuaranteed evaluates the candidates that list a guaranteed deal
// of the imp (deal.guar 1), which the bidder must bid on: priced at their
// maxCPM (see price), not by their model, so the scan's bounds would skip
// them; the scan skips them instead (see guaranteedTerm). They are few:
// each is checked against the terms alone. In a pod their options through
// the deal go first (see putFirst), and it returns k plus their number:
// the scan then keeps them and k others. Until they are marked it keeps
// up to maxDynamicOptions, so that the campaigns' other options cannot
// push them out. Outside a pod it returns k.
func (s *Snapshot) collectGuaranteed(c *Ctx, imp *openrtb.Imp, mb, k int, perCreative bool) int {
	kg := k
	if c.inPod {
		kg = max(k, maxDynamicOptions)
	}
	b := c.newBounds(s, imp, mb, kg)
	if c.Trace != nil {
		c.Trace.at(imp, mb)
	}
	for j, h := range c.dealH {
		if !c.dealGuide[j].guar {
			continue
		}
		p := s.ix.deal.lookup(h)
		if p == nil {
			continue
		}
		for _, o := range p.sparse {
			s.evaluateGuaranteed(c, imp, mb, int(o), j, kg, perCreative, &b)
		}
		for wi := p.lo; wi < p.hi && p.dense != nil; wi++ {
			for w := p.dense[wi]; w != 0; w &= w - 1 {
				s.evaluateGuaranteed(c, imp, mb, wi<<6|bits.TrailingZeros64(w), j, kg, perCreative, &b)
			}
		}
	}
	if c.inPod {
		return k + c.putFirst(k)
	}
	return k
}

// evaluateGuaranteed evaluates campaign o, which lists the imp's
// guaranteed deal j, when the imp's terms admit it, and it lists no
// guaranteed deal before j (evaluated then).
func (s *Snapshot) evaluateGuaranteed(c *Ctx, imp *openrtb.Imp, mb, o, j, k int, perCreative bool, b *bounds) {
	cc := &s.camps[o]
	for i, h := range c.dealH[:j] {
		if c.dealGuide[i].guar && containsU64(cc.deals, h) {
			return
		}
	}
	for i := range c.terms[:c.nTerms] {
		if t := &c.terms[i]; !t.pre && !t.has(o) {
			return
		}
	}
	s.evaluate(c, imp, mb, o, b.logit, k, perCreative, s.cross(c, o, s.crossDomainOf(c, o)), 0)
}

func (s *Snapshot) sizeTerm(c *Ctx, b *openrtb.Banner) {
	if len(b.Formats) == 0 && (b.W <= 0 || b.H <= 0) {
		return // no size constraint
	}
	ix := &s.ix
	if ix.size.full {
		return
	}
	t := c.newTerm("banner_size", false)
	t.orAny(&ix.size)
	for _, f := range b.Formats {
		t.orPosting(ix.size.lookup(intKey(uint64(f.W)<<32 | uint64(f.H))))
	}
	if b.W > 0 && b.H > 0 {
		t.orPosting(ix.size.lookup(intKey(uint64(b.W)<<32 | uint64(b.H))))
	}
}

// durTerm adds the campaigns with a creative duration the imp accepts.
func (c *Ctx) durTerm(name string, d *dim, durs []int, minDur, maxDur, podDur int, rqd []int) {
	t := c.newTerm(name, false)
	for _, dur := range durs {
		if durFits(dur, minDur, maxDur, podDur, rqd) {
			t.orPosting(d.lookup(intKey(uint64(dur))))
		}
	}
}

// durFits reports whether a creative of dur seconds fits: one of rqd
// exactly when given, else within [minDur, maxDur] (0: no bound), and
// never longer than a dynamic pod.
func durFits(dur, minDur, maxDur, podDur int, rqd []int) bool {
	if podDur > 0 && dur > podDur {
		return false
	}
	if len(rqd) > 0 {
		for _, r := range rqd {
			if r == dur {
				return true
			}
		}
		return false
	}
	return dur >= minDur && (maxDur <= 0 || dur <= maxDur)
}

// blockedOnly reports whether the request's block lists removed every
// candidate: without them, some campaign would match.
func (c *Ctx) blockedOnly() bool {
	all := c.allTerms()
	p := c.perm2[:0]
	for _, t := range all {
		if !t.block {
			p = append(p, t)
		}
	}
	c.perm2 = p
	if len(p) == len(all) {
		return false
	}
	var it candIter
	it.init(p, nil, nil, len(c.snap.camps))
	found := it.next() >= 0
	clear(c.perm2)
	return found
}
