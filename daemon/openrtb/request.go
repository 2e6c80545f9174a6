// Package openrtb decodes OpenRTB 2.5 and 2.6 bid requests into a reusable,
// allocation-free view and appends bid responses into caller-owned buffers.
//
// The decoder is lenient in the way real exchanges need: numbers may arrive as
// strings, unknown fields are skipped, and fields that OpenRTB 2.5 carried in
// "ext" (schain, gdpr, consent, us_privacy, eids) are read from both their 2.5
// and their 2.6 locations. It is strict where a wrong answer would cost money:
// a missing id or imp, a wrong type that cannot be coerced, a truncated body or
// nesting deeper than [MaxDepth] are errors.
package openrtb

// Request is a decoded view of one OpenRTB BidRequest.
//
// Byte slices alias either the body passed to [Request.Parse] or the
// request's own scratch buffer (for strings that needed unescaping). They are
// valid until the next Parse or Reset of the same Request and until the body is
// released. Do not retain them.
//
// The zero value is ready to use. A Request is not safe for concurrent use;
// pool it (see [AcquireRequest]) and reuse it so that the slices below keep
// their capacity and steady-state parsing does not allocate.
type Request struct {
	ID   []byte
	Imps []Imp

	Site   Site
	App    App
	DOOH   bool // a "dooh" object was present
	Device Device
	User   User
	Regs   Regs
	Source Source

	// Test is true when "test" is 1: no spend, no frequency counting.
	Test bool
	// AT is the auction type: 1 first price, 2 second price plus; 0 when absent.
	AT int
	// TMax is the maximum time in milliseconds the exchange waits; 0 when absent.
	TMax int
	// AllImps is 1 when the exchange promises all impressions are offered.
	AllImps int

	Cur  [][]byte // allowed bid currencies; empty means USD
	BCat [][]byte // blocked advertiser categories, in taxonomy CatTax
	ACat [][]byte // allowed advertiser categories (2.6-202309); empty: any
	// CatTax is cattax (2.6), the taxonomy of BCat and ACat from AdCOM's
	// List: Category Taxonomies (1 IAB Content Category Taxonomy 1.0, 6
	// IAB Content Taxonomy 2.2, 7 Content Taxonomy 3.0, 500+ vendor
	// specific, ...); 0 when absent, which OpenRTB reads as 1.
	CatTax int
	BAdv   [][]byte // blocked advertiser domains
	BApp   [][]byte // blocked app bundles
	WLang  [][]byte // allowed creative languages (ISO-639-1)
	// WLangB is wlangb (2.6): allowed languages as IETF BCP 47 tags
	// ("en-US"), of which a creative's ISO-639-1 lang is the primary
	// subtag.
	WLangB [][]byte
	WSeat  [][]byte // allowed buyer seats
	BSeat  [][]byte // blocked buyer seats

	scratch []byte // unescaped strings; see [Request.Parse]
	depth   int
	// fresh is set by Reset and cleared by Parse: a pooled Request is
	// reset when it is put back, and Parse need not clear it again.
	fresh bool
}

// Site is the "site" object; Present is false when the request had none.
type Site struct {
	Present     bool
	ID          []byte
	Domain      []byte
	Page        []byte
	PublisherID []byte
	Cat         [][]byte
}

// App is the "app" object; Present is false when the request had none.
type App struct {
	Present     bool
	ID          []byte
	Bundle      []byte
	Domain      []byte
	PublisherID []byte
	Cat         [][]byte
}

// Device is the "device" object with the fields rtbd targets on.
type Device struct {
	// Type is the OpenRTB device type (3 connected TV, 7 set-top box, ...);
	// 0 when absent.
	Type int
	OS   []byte
	IFA  []byte
	IP   []byte
	Lmt  int
	DNT  int
	Geo  Geo
}

// Geo is device.geo, completed by user.geo: its place (country, region,
// metro, zip) when device.geo names none, its utcoffset when device.geo
// has none.
type Geo struct {
	Country []byte // ISO-3166-1 alpha-3 as sent
	Region  []byte
	Metro   []byte
	Zip     []byte
	// UTCOffset is the viewer's local time as minutes from UTC (geo.
	// utcoffset), when HasUTCOffset: an offset of a real time zone, from
	// -720 to +840 (a value outside, such as seconds sent for minutes,
	// is left unknown).
	UTCOffset    int
	HasUTCOffset bool
}

// User is the "user" object.
type User struct {
	ID       []byte
	BuyerUID []byte
	// Consent is the TCF consent string from user.consent or user.ext.consent.
	Consent []byte
	// Segments holds user.data[].segment[].id values.
	Segments [][]byte
	// EIDs holds user.eids (or user.ext.eids) with the first uid of each.
	EIDs []EID
}

// EID is one extended identifier: its source and its first uid.
type EID struct {
	Source []byte
	UID    []byte
}

// Regs holds regulatory signals from regs and regs.ext.
type Regs struct {
	COPPA int
	// GDPR is -1 when absent, else 0 or 1 (regs.gdpr or regs.ext.gdpr).
	GDPR      int
	USPrivacy []byte // regs.us_privacy or regs.ext.us_privacy
	GPP       []byte
	GPPSID    []int
	// The EU Digital Services Act signals of IAB Tech Lab's DSA
	// transparency extension (regs.ext.dsa, or regs.dsa): DSARequired is
	// dsarequired (2 and 3: a bid without bid.ext.dsa is refused), and
	// DSAPubRender pubrender, -1 when absent (0: the publisher cannot
	// render the transparency, 2: it will).
	DSARequired  int
	DSAPubRender int
}

// Source is the "source" object.
type Source struct {
	// TID is source.tid, the transaction id common to every path an
	// opportunity (one ad break, for long-form video) takes through the
	// supply chain.
	TID []byte
	// TIDType is source.ext.tidt, 0 when absent: 1 says TID is unique to
	// the opportunity across the supply chain, 2 that it is not (it may
	// be unique per demand source only), so it must not be used to find
	// the same opportunity arriving by another path.
	TIDType int
	// SChainPresent is true when source.schain or source.ext.schain was sent.
	SChainPresent bool
	// SChainComplete is schain.complete (0 or 1).
	SChainComplete int
	// SChainNodes is the number of nodes in the chain.
	SChainNodes int
}

// MediaType is a bit set of the media types an imp offers.
type MediaType uint8

// Media types, matching the bits of [MediaType]. The values of [Bid.MType]
// are the OpenRTB mtype codes instead (1 banner, 2 video, 3 audio, 4 native).
const (
	MediaBanner MediaType = 1 << iota
	MediaVideo
	MediaAudio
	MediaNative
)

// Imp is one "imp" object.
type Imp struct {
	ID          []byte
	TagID       []byte
	BidFloor    float64 // 0 when absent
	BidFloorCur []byte  // empty means USD
	Secure      int
	// QtyMultiplier is imp.qty.multiplier (2.6, DOOH): how many
	// impressions one play of the ad counts for, so the exchange bills
	// price/1000 times it; 0 when absent.
	QtyMultiplier float64
	// Media is the set of media objects present in this imp.
	Media  MediaType
	Banner Banner
	Video  Video
	Audio  Audio
	Native Native
	PMP    PMP
}

// Native is what a bid needs of imp.native's request: the Native Ads
// request object, a JSON string in imp.native.request (from some
// exchanges an object there, or its assets in imp.native itself). An
// imp has MediaNative when it has one; one that could not be read whole
// leaves it no asset, so that nothing fills it.
type Native struct {
	// Ver is the request's ver, else imp.native.ver: "1.0", "1.1",
	// "1.2"; empty when neither says.
	Ver    []byte
	Assets []NativeAsset
	// BAttr is imp.native.battr: creative attributes the imp blocks.
	BAttr []int
	// EventImp: the request's eventtrackers take impression trackers
	// (event 1) as image pixels (method 1), which a 1.2 response then
	// carries in eventtrackers rather than the older imptrackers.
	EventImp bool
	// Mimes and Protocols hold the video assets' mimes and protocols:
	// see [Native.AssetMimes] and [Native.AssetProtocols].
	Mimes     [][]byte
	Protocols []int
}

// AssetMimes returns the mimes of video asset a of n.
func (n *Native) AssetMimes(a *NativeAsset) [][]byte { return n.Mimes[a.MimeLo:a.MimeHi] }

// AssetProtocols returns the protocols of video asset a of n.
func (n *Native) AssetProtocols(a *NativeAsset) []int { return n.Protocols[a.ProtoLo:a.ProtoHi] }

// NativeAsset is one asset of a native request. An asset of none of the
// four kinds (or of one this reader does not know) has Kind 0: no ad can
// fill it, so when it is required nothing bids.
type NativeAsset struct {
	ID       int // the request's id, else its index (some requests have none)
	Required bool
	Kind     NativeKind
	// Type is an image's type (1 icon, 3 main; 0 unsaid) or a data
	// asset's (1 sponsored, 2 desc, 12 ctatext, ...).
	Type int
	// Len is the longest text a title or data asset takes, in
	// characters; 0 for no limit.
	Len int
	// WMin and HMin are an image's least size; W and H its exact size,
	// which counts only where the request gives no minimum (the spec: "if
	// only w is included, it should be considered an exact requirement").
	// 0: none.
	W, H, WMin, HMin int
	// MinDur and MaxDur bound a video asset's duration, in seconds (0:
	// none). Its mimes and protocols are in Native.Mimes[MimeLo:MimeHi]
	// and Native.Protocols[ProtoLo:ProtoHi].
	MinDur, MaxDur                   int
	MimeLo, MimeHi, ProtoLo, ProtoHi uint8
}

// NativeKind is the kind of a native asset.
type NativeKind uint8

// Native asset kinds.
const (
	NativeTitle NativeKind = 1 + iota
	NativeImg
	NativeData
	NativeVideo
)

// Banner is imp.banner; sizes from banner.format[] and banner.w/h.
type Banner struct {
	W, H    int
	Formats []Format
	BAttr   []int
	// BType is banner.btype: the banner ad types the imp blocks (1 XHTML
	// text, 2 XHTML banner, 3 JavaScript, 4 iframe).
	BType []int
}

// Format is one banner size.
type Format struct{ W, H int }

// Video is imp.video including the OpenRTB 2.6 pod fields.
type Video struct {
	Mimes     [][]byte
	MinDur    int
	MaxDur    int
	Protocols []int
	// Plcmt is the 2.6 placement subtype; Placement the deprecated 2.5 one.
	Plcmt      int
	Placement  int
	W, H       int
	Linearity  int
	StartDelay int
	// MinBitrate and MaxBitrate bound a creative's bit rate, in kbps; 0
	// leaves it unbounded.
	MinBitrate, MaxBitrate int
	BAttr                  []int
	Pod
}

// Pod is the OpenRTB 2.6 pod fields (section 7.6) and duration floors,
// which imp.video and imp.audio share.
type Pod struct {
	PodID        []byte
	PodSeq       int
	SlotInPod    int
	PodDur       int // dynamic pod: total seconds to fill
	MaxSeq       int // dynamic pod: most ads in the pod
	RqdDurs      []int
	MinCPMPerSec float64
	PodDedupe    []int
	DurFloors    []DurFloor
}

// DurFloor is one entry of durfloors (OpenRTB 2.6-202309, in imp.video,
// imp.audio and deals): the floor of creatives whose duration is within
// MinDur and MaxDur, both included (0: unbounded), in the currency of the
// imp's or the deal's bidfloorcur.
type DurFloor struct {
	MinDur, MaxDur int
	BidFloor       float64
}

// Applies reports whether f covers a creative of dur seconds.
func (f *DurFloor) Applies(dur int) bool {
	return dur >= f.MinDur && (f.MaxDur <= 0 || dur <= f.MaxDur)
}

// Audio is imp.audio including the OpenRTB 2.6 pod fields.
type Audio struct {
	Mimes     [][]byte
	MinDur    int
	MaxDur    int
	Protocols []int
	// MinBitrate and MaxBitrate are as in [Video].
	MinBitrate, MaxBitrate int
	BAttr                  []int
	Pod
}

// PMP is imp.pmp.
type PMP struct {
	PrivateAuction int
	Deals          []Deal
}

// Deal is one imp.pmp.deals[] entry.
type Deal struct {
	ID          []byte
	BidFloor    float64
	BidFloorCur []byte
	AT          int
	WSeat       [][]byte
	WADomain    [][]byte
	// Guar is 1 for a guaranteed deal, which the bidder must bid on
	// (2.6); 0 otherwise.
	Guar int
	// Floor guidance by duration (2.6-202309); a deal that has any of
	// BidFloor, MinCPMPerSec and DurFloors sets its bids' floor alone.
	MinCPMPerSec float64
	DurFloors    []DurFloor
}
