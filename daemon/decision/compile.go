package decision

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"
	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

// Options configures [Compile].
type Options struct {
	// Currency of bid prices (ISO-4217); default "USD". It needs a rate.
	Currency string
	// Rates are units of each currency per 1 USD; USD is always 1.
	Rates map[string]float64
	// HostID prefixes every bid id; default "rtbd".
	HostID string
	// NoticeBase is copied to [openrtb.Response.NoticeBase]; empty disables
	// notice URLs.
	NoticeBase string
	// NoticeKey is copied to [openrtb.Response.NoticeKey]: nil leaves the
	// notice URLs unsigned.
	NoticeKey *openrtb.NoticeKey
	// FirstPriceShading scales bids in first-price auctions, never below
	// the floor they cleared; 0 or 1 means no shading (see
	// config.Bidding.FirstPriceShading).
	FirstPriceShading float64
	// OpenBesideDeal bids, on an imp whose auction is not private, the
	// best open-auction option beside the best deal one (see decideImp).
	OpenBesideDeal bool
	// BlockUnknownCategories: where a request blocks categories (bcat), a
	// campaign with none in the request's taxonomy (cattax) does not bid
	// (see config.Bidding.BlockUnknownCategories).
	BlockUnknownCategories bool

	// denseBelow overrides the constant of that name when > 0 (tests).
	denseBelow int
}

// Snapshot is an immutable compiled campaign set: the targeting index, the
// model and the prices. It is safe for concurrent use by any number of
// [Snapshot.Decide] calls; a reload compiles a new Snapshot and swaps it in.
type Snapshot struct {
	camps []ccamp  // by ordinal: sorted by static price bound (see sortByBound)
	deals []string // the deal ids the campaigns list, sorted, once each
	// sufB holds the price bounds of every suffix of words (see suffix.go).
	sufB suffixBounds
	hot  []hotCamp // by ordinal: what the batch bound reads, packed
	// devExpNegS[(dt-1)*n+o] (n campaigns) is hotCamp.expNegS with the
	// campaign_x_devicetype weight of device type dt included: the device
	// type cross feature costs nothing per candidate for the common device
	// types. Device-type-major, so that a scan reads it sequentially.
	devExpNegS []float64
	devW       []float64 // the campaign_x_devicetype weights, same layout
	// first[v*n+o] is what the first bound of candidate o reads (see
	// collect) for device type variant v: the index rf.dt, or, for the
	// other requests, numDevTypes (0 when no device type is precomputed).
	first []firstBound
	ix    index
	// mimeIDs are the distinct mimes of the creatives (folded hashes):
	// mime mimeIDs[i] is bit i of the fit masks (see fitMasks).
	mimeIDs []uint64
	model   model
	money   money
	state   *State

	hostID     []byte
	noticeBase []byte
	// noticePlain: noticeBase has no byte to escape in JSON (see
	// openrtb.Response.NoticeBasePlain).
	noticePlain bool
	// hostPlain: hostID has no byte to escape in JSON, nor then have the
	// bid ids (see newBidID and openrtb.Response.BidIDsPlain).
	hostPlain  bool
	noticeKey  *openrtb.NoticeKey
	shade      float64 // first-price shading factor, 1 for none
	openBeside bool    // Options.OpenBesideDeal
	// blockUnknownCat is Options.BlockUnknownCategories.
	blockUnknownCat bool
}

// hotCamp holds the fields read for every candidate that passed its first
// bound (see firstBound) before the campaign itself is touched: 32 bytes
// per campaign, read in ordinal order.
type hotCamp struct {
	value, maxCPM float64
	// expNegS is exp(-(wCamp+maxCrW)): with E = exp(-(request logit +
	// cross slack)), value/(1+E*expNegS) bounds the campaign's price.
	expNegS float64
	// xLeft is the campaign half of its cross features (see crosshash.go).
	xLeft uint64
}

// firstBound is a candidate's first price bound: hotCamp's value and
// maxCPM and its expNegS for one device type variant, in float32 rounded
// outwards (value and maxCPM up, expNegS down), so that the bound only
// ever admits more. A candidate reads one 12-byte entry where it read
// hotCamp and devExpNegS, two cache lines apart; a variant is 1.2 MB at
// 100,000 campaigns, where hotCamp is 3.2 MB, and stays in L2.
type firstBound struct{ value, maxCPM, expNegS float32 }

// catList is a campaign's categories in one taxonomy.
type catList struct {
	tax int
	cat [][]byte
}

// catsOf returns cc's categories of taxonomy tax, or nil. A bid carries
// those of the request's taxonomy (cattax), else cats[0].
func (cc *ccamp) catsOf(tax int) *catList {
	for i := range cc.cats {
		if cc.cats[i].tax == tax {
			return &cc.cats[i]
		}
	}
	return nil
}

// ccamp is a compiled campaign.
type ccamp struct {
	id       []byte
	seat     []byte
	adomain  [][]byte
	adomainH []uint64
	bundle   []byte // app-install bundle id; nil when none
	// cats are the campaign's categories by taxonomy, the one its bids
	// carry by default first (Campaign.Cat, taxonomy 1, when it has any);
	// catH their keys (see taxSalt), for the index and pod de-duplication.
	cats []catList
	catH []uint64
	// podSig has a bit for the campaign and for each of its adomainH and
	// catH (see podSigOf): two campaigns whose podSig do not meet cannot
	// clash in a pod.
	podSig uint64
	value  float64
	maxCPM float64
	daily  int64 // micro-units of the file currency; 0 unlimited
	total  int64
	burst  int64
	asap   bool
	// flighted says the campaign has a flight (start to end, below);
	// spread that even pacing spreads total over it, which has both
	// bounds; totalBurst is its allowance, as burst is the day's.
	flighted   bool
	spread     bool
	totalBurst int64
	end        int64
	// hours has bit h set for each UTC hour h the campaign bids in
	// (targeting.hours; all 24 without): even pacing spreads the daily
	// budget over those hours, not the whole day.
	hours     uint32
	freqMax   int
	freqWin   int64 // seconds
	freqKey   uint64
	deals     []uint64 // hashes of deal ids
	dealsOnly bool
	creatives []ccreative
	st        *campaignState
	ext       []byte // bid.ext: the DSA transparency; nil for none

	// rank is the ordinal in (Value desc, id asc) order: among options of
	// equal price, the lower rank wins, whatever order the scan visits.
	rank int32

	// start and end bound the flight in unix seconds (campaign.Flight
	// Bounds: 0 and campaign.NoEnd without one); span is end - start,
	// for a check in one comparison. Every evaluation reads start and
	// span, so they share the cache line of wCamp; end is with the
	// budget.
	start int64
	span  uint64

	// Model parts known at compile time.
	wCamp  float64 // weight of "campaign=<id>"
	xLeft  uint64  // crossLeft of the hash of "campaign=<id>"
	maxCrW float64 // highest creative weight
}

// ccreative is a compiled creative.
type ccreative struct {
	id, adid []byte
	media    openrtb.MediaType
	mtype    int
	w, h     int
	dur      int
	mimes    []uint64 // folded hashes
	protocol int
	bitrate  int // kbps; 0 unknown
	attr     []int
	btype    uint8 // a banner's ad types, bit t for type t (campaign.Creative.BannerTypes)
	lang     []byte
	secure   bool
	adm      []byte   // markup, already JSON-escaped (openrtb.AppendEscaped)
	native   *cnative // a native creative's pieces; its bids' markup is made of them
	// static is the bid's campaign- and creative-level fields encoded
	// (openrtb.Bid.Static); nil for a banner without a size of its own,
	// whose bid takes the imp's.
	static []byte
	weight float64 // weight of "creative=<id>"
	// expGap <= exp(maxCrW - weight) of its campaign: it turns a lower
	// bound of the campaign's exp(-logit) into one of the creative's.
	expGap float64
	// fitMasks hold the creative's mimes, protocol and attr as bit masks
	// (see fitMasks), checked with those of the imp in one AND each.
	masks fitMasks
}

// Compile builds a Snapshot of f and m (m may be nil: every score is 1),
// attaching each campaign to its spend and frequency state in st, which
// survives reloads. f is expected to be validated (campaign.File.Validate);
// Compile still rejects what it cannot compile.
func Compile(f *campaign.File, m *campaign.Model, st *State, opt Options) (*Snapshot, error) {
	if f == nil || st == nil {
		return nil, fmt.Errorf("cannot compile campaigns: nil file or state")
	}
	s := &Snapshot{state: st, hostID: []byte(cmp.Or(opt.HostID, "rtbd")), noticeBase: []byte(opt.NoticeBase), noticeKey: opt.NoticeKey, shade: 1, openBeside: opt.OpenBesideDeal, blockUnknownCat: opt.BlockUnknownCategories}
	s.noticePlain = bytes.Equal(openrtb.AppendEscaped(nil, s.noticeBase), s.noticeBase)
	s.hostPlain = bytes.Equal(openrtb.AppendEscaped(nil, s.hostID), s.hostID)
	if f := opt.FirstPriceShading; f > 0 && f < 1 {
		s.shade = f
	}
	var err error
	if s.money, err = newMoney(f.Currency, opt.Currency, opt.Rates); err != nil {
		return nil, fmt.Errorf("cannot compile campaigns: %w", err)
	}
	if s.model, err = newModel(m); err != nil {
		return nil, fmt.Errorf("cannot compile model: %w", err)
	}
	order, err := campaignOrder(f)
	if err != nil {
		return nil, fmt.Errorf("cannot compile campaigns: %w", err)
	}
	for i := range f.Campaigns {
		s.deals = append(s.deals, f.Campaigns[i].Deals...)
	}
	slices.Sort(s.deals)
	s.deals = slices.Compact(s.deals)
	s.camps = make([]ccamp, len(order))
	for o, fi := range order {
		if err := s.compileCampaign(&s.camps[o], &f.Campaigns[fi]); err != nil {
			return nil, fmt.Errorf("cannot compile campaign %q: %w", f.Campaigns[fi].ID, err)
		}
		s.camps[o].rank = int32(o)
	}
	s.model.finish(s.camps)
	s.buildFitMasks()
	order = s.sortByBound(order)
	for o := range s.camps { // by the final ordinals
		s.camps[o].podSig = podSigOf(&s.camps[o], o)
	}
	s.ix = buildIndex(f, order, s.camps, cmp.Or(opt.denseBelow, denseBelow))
	s.hot = make([]hotCamp, len(s.camps))
	for o := range s.camps {
		cc := &s.camps[o]
		s.hot[o] = hotCamp{
			value: cc.value, maxCPM: cc.maxCPM, expNegS: math.Exp(-(cc.wCamp + cc.maxCrW)),
			xLeft: cc.xLeft,
		}
	}
	s.precomputeDevType()
	s.buildFirstBounds()
	s.buildSuffixBounds()
	if err := st.attach(s); err != nil {
		return nil, fmt.Errorf("cannot compile campaigns: %w", err)
	}
	return s, nil
}

// campaignOrder returns file indexes sorted by Value, highest first (ties
// by id), and rejects duplicate ids. This order is the campaigns' rank,
// which breaks price ties; ordinals are then assigned by sortByBound.
func campaignOrder(f *campaign.File) ([]int, error) {
	order := make([]int, len(f.Campaigns))
	seen := make(map[string]bool, len(order))
	for i := range order {
		c := &f.Campaigns[i]
		if c.ID == "" || seen[c.ID] {
			return nil, fmt.Errorf("campaign %d: empty or duplicate id %q", i, c.ID)
		}
		if !(c.Value > 0) || !(c.MaxCPM > 0) || math.IsInf(c.Value, 0) || math.IsInf(c.MaxCPM, 0) {
			return nil, fmt.Errorf("campaign %q: value %v and maxCpm %v must be > 0", c.ID, c.Value, c.MaxCPM)
		}
		seen[c.ID] = true
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ca, cb := &f.Campaigns[a], &f.Campaigns[b]
		return cmp.Or(cmp.Compare(cb.Value, ca.Value), strings.Compare(ca.ID, cb.ID))
	})
	return order, nil
}

func (s *Snapshot) compileCampaign(cc *ccamp, c *campaign.Campaign) error {
	cc.id = []byte(c.ID)
	cc.seat = []byte(c.Seat)
	if c.Bundle != "" {
		cc.bundle = []byte(c.Bundle)
	}
	for _, d := range c.ADomain {
		cc.adomain = append(cc.adomain, []byte(d))
		cc.adomainH = append(cc.adomainH, hashFoldString(d))
	}
	lists := c.Categories
	if len(c.Cat) > 0 {
		lists = append([]campaign.Categories{{CatTax: 1, Cat: c.Cat}}, lists...)
	}
	for _, l := range lists {
		cl := catList{tax: l.CatTax}
		for _, d := range l.Cat {
			cl.cat = append(cl.cat, []byte(d))
			cc.catH = append(cc.catH, xxhash.Sum64String(d)^taxSalt(l.CatTax))
		}
		cc.cats = append(cc.cats, cl)
	}
	cc.value, cc.maxCPM = c.Value, c.MaxCPM
	cc.daily, cc.total = micros(c.Budget.Daily), micros(c.Budget.Total)
	// Even pacing may run ahead of the day's schedule by 1 % of the daily
	// budget, so that a campaign can bid from the first second of the day.
	cc.burst = cc.daily / 100
	cc.asap = c.Budget.Pacing == "asap"
	start, end, err := c.Flight.Bounds()
	if err != nil {
		return err
	}
	cc.start, cc.end, cc.span = start, end, uint64(end-start)
	cc.flighted = start > 0 || end != campaign.NoEnd
	cc.hours = allHours
	if len(c.Targeting.Hours) > 0 {
		cc.hours = 0
		for _, h := range c.Targeting.Hours {
			cc.hours |= 1 << h
		}
	}
	cc.spread = !cc.asap && cc.total > 0 && start > 0 && end != campaign.NoEnd
	if cc.spread {
		// 1 % of a day's share of the total, as burst is of the daily.
		cc.totalBurst = int64(float64(cc.total) * float64(min(end-start, 86400)) / float64(end-start) / 100)
	}
	cc.freqMax = c.FreqCap.Max
	cc.freqWin = int64(c.FreqCap.WindowSeconds)
	if cc.freqWin <= 0 {
		cc.freqWin = 86400
	}
	cc.freqKey = xxhash.Sum64String(c.ID)
	for _, d := range c.Deals {
		cc.deals = append(cc.deals, xxhash.Sum64String(d))
	}
	cc.dealsOnly = c.DealsOnly && len(c.Deals) > 0
	cc.ext = dsaExt(c.DSA)
	for i := range c.Creatives {
		cr, err := compileCreative(&c.Creatives[i])
		if err != nil {
			return fmt.Errorf("creative %q: %w", c.Creatives[i].ID, err)
		}
		cc.creatives = append(cc.creatives, cr)
	}
	for i := range cc.creatives {
		cc.creatives[i].encodeStatic(cc)
	}
	return nil
}

// encodeStatic encodes the creative's bid fields that do not depend on the
// request, once, so that bids copy them instead of escaping each string
// (openrtb.AppendBidStatic). The escaped markup then lives inside it.
func (cr *ccreative) encodeStatic(cc *ccamp) {
	if cr.media == openrtb.MediaBanner && (cr.w <= 0 || cr.h <= 0) {
		return
	}
	b := openrtb.Bid{
		AdID: cr.adid, CrID: cr.id, CampaignID: cc.id, ADomain: cc.adomain, Bundle: cc.bundle,
		Attr: cr.attr, MType: cr.mtype, Lang: cr.lang, AdM: cr.adm, AdMEscaped: true, Ext: cc.ext,
	}
	if len(cc.cats) > 0 {
		// A bid with the categories of another taxonomy is encoded
		// without static (see emit).
		b.Cat, b.CatTax = cc.cats[0].cat, cc.cats[0].tax
	}
	switch cr.media {
	case openrtb.MediaBanner:
		b.W, b.H = cr.w, cr.h
	case openrtb.MediaVideo, openrtb.MediaAudio:
		b.Dur = cr.dur
	}
	cr.static = openrtb.AppendBidStatic(nil, &b)
	if n := len(cr.adm); n > 0 {
		// It ends with `,"adm":"<adm>"`.
		cr.adm = cr.static[len(cr.static)-1-n : len(cr.static)-1 : len(cr.static)-1]
	}
}

// dsaExt encodes d as bid.ext, {"dsa":{...}} as IAB Tech Lab's DSA
// transparency extension names its fields; nil for no d.
func dsaExt(d *campaign.DSA) []byte {
	if d == nil {
		return nil
	}
	type transparency struct {
		Domain string `json:"domain"`
		Params []int  `json:"dsaparams,omitempty"`
	}
	var ext struct {
		DSA struct {
			Behalf       string         `json:"behalf"`
			Paid         string         `json:"paid"`
			Transparency []transparency `json:"transparency,omitempty"`
			AdRender     int            `json:"adrender"`
		} `json:"dsa"`
	}
	e := &ext.DSA
	e.Behalf, e.Paid, e.AdRender = d.Behalf, d.Paid, d.AdRender
	for _, t := range d.Transparency {
		e.Transparency = append(e.Transparency, transparency{t.Domain, t.Params})
	}
	b, err := json.Marshal(&ext)
	if err != nil {
		panic("BUG: cannot encode a DSA object: " + err.Error())
	}
	return b
}

func micros(x float64) int64 {
	if !(x > 0) {
		return 0
	}
	return int64(math.Round(x * 1e6))
}

var mediaByName = map[string]openrtb.MediaType{
	"banner": openrtb.MediaBanner, "video": openrtb.MediaVideo,
	"audio": openrtb.MediaAudio, "native": openrtb.MediaNative,
}

// mediaNames and mtypes are indexed by the bit number of a MediaType.
var (
	mediaNames = [4]string{"banner", "video", "audio", "native"}
	mtypes     = [4]int{1, 2, 3, 4}
)

func compileCreative(c *campaign.Creative) (ccreative, error) {
	m, ok := mediaByName[c.Type]
	if !ok {
		return ccreative{}, fmt.Errorf("unknown creative type %q", c.Type)
	}
	cr := ccreative{
		id: []byte(c.ID), adid: []byte(cmp.Or(c.AdID, c.ID)), media: m, mtype: mtypes[mediaBit(m)],
		w: c.W, h: c.H, dur: c.Dur, protocol: c.Protocol, bitrate: c.Bitrate, attr: slices.Clone(c.Attr),
		lang: []byte(c.Lang), secure: c.Secure, adm: openrtb.AppendEscaped(nil, []byte(c.Markup)),
	}
	if m == openrtb.MediaBanner {
		cr.btype = c.BannerTypes()
	}
	for _, mi := range c.Mimes {
		cr.mimes = append(cr.mimes, hashFoldString(mi))
	}
	if m == openrtb.MediaNative {
		var err error
		if cr.native, err = compileNative(&cr, c.Markup); err != nil {
			return ccreative{}, fmt.Errorf("native markup: %w", err)
		}
	}
	return cr, nil
}

// mediaBit returns the bit number (0 banner .. 3 native) of a single media type.
func mediaBit(m openrtb.MediaType) int {
	for i := 0; i < 4; i++ {
		if m == 1<<i {
			return i
		}
	}
	panic("BUG: mediaBit of a media set")
}

// Campaigns returns the number of compiled campaigns.
func (s *Snapshot) Campaigns() int { return len(s.camps) }

// DealIDs returns the deal ids the campaigns list, sorted, once each. The
// caller must not change it.
func (s *Snapshot) DealIDs() []string { return s.deals }

// numDevTypes is how many OpenRTB device types (1..numDevTypes) have their
// campaign_x_devicetype weights precomputed.
const numDevTypes = 8

func (s *Snapshot) precomputeDevType() {
	m := &s.model
	if !m.on || !m.fam[famXDevType] {
		return
	}
	s.devExpNegS = make([]float64, len(s.camps)*numDevTypes)
	s.devW = make([]float64, len(s.camps)*numDevTypes)
	var right [numDevTypes + 1]uint64
	for dt := 1; dt <= numDevTypes; dt++ {
		right[dt] = crossRight(featureHash(famDevType, []byte{byte('0' + dt)}))
	}
	for o := range s.camps {
		cc := &s.camps[o]
		for dt := 1; dt <= numDevTypes; dt++ {
			w := m.weight(crossHash(cc.xLeft, right[dt]))
			x := cc.wCamp + cc.maxCrW + w
			s.devW[(dt-1)*len(s.camps)+o] = w
			s.devExpNegS[(dt-1)*len(s.camps)+o] = math.Exp(-x)
		}
	}
}

// buildFirstBounds fills s.first from s.hot and s.devExpNegS.
func (s *Snapshot) buildFirstBounds() {
	n, variants := len(s.camps), 1
	if s.devExpNegS != nil {
		variants = numDevTypes + 1
	}
	s.first = make([]firstBound, variants*n)
	for v := range variants {
		dt := v // the inverse of devVariant
		if v == numDevTypes || s.devExpNegS == nil {
			dt = -1
		}
		for o := range s.hot {
			h := &s.hot[o]
			s.first[v*n+o] = firstBound{value: up32(h.value), maxCPM: up32(h.maxCPM), expNegS: max(down32(s.expNegS(dt, o)), 0)}
		}
	}
}

// firstBounds returns the first bounds of c's device type variant.
func (s *Snapshot) firstBounds(c *Ctx) []firstBound {
	n, v := len(s.camps), 0
	if s.devExpNegS != nil {
		v = devVariant(c.rf.dt)
	}
	return s.first[v*n : (v+1)*n]
}

// devVariant is the device type variant of the tables kept per variant
// (first bounds, suffix bounds) for device type index dt: dt itself, or
// numDevTypes for the requests whose device type is not precomputed (-1).
func devVariant(dt int) int {
	if dt >= 0 {
		return dt
	}
	return numDevTypes
}
