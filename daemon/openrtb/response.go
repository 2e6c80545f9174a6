package openrtb

// Response is a BidResponse to be encoded with [AppendResponse].
//
// Byte slices may alias the request, the decision snapshot or the caller's
// scratch buffers; they must stay valid until AppendResponse returns.
// The zero value is an empty response; [Response.Reset] keeps capacity.
type Response struct {
	ID    []byte // echoes Request.ID
	BidID []byte // the response id chosen by the bidder
	Cur   []byte // currency of every price in Bids; "USD" when empty
	// Bids are encoded in one seatbid per distinct Bid.Seat, in the order
	// each seat first appears.
	Bids []Bid

	// NoticeBase is the absolute URL prefix (ending in "/") that nurl, burl
	// and lurl are built on. No notice URLs are emitted when it is empty.
	// For each bid, with every value query-escaped:
	//
	//	nurl: NoticeBase + "win?bid=ID&cid=CID&imp=IMPID&uk=UK&cur=CUR&bp=BP&price=${AUCTION_PRICE}"
	//	burl: NoticeBase + "bill?bid=ID&cid=CID&imp=IMPID&uk=UK&cur=CUR&bp=BP&price=${AUCTION_PRICE}"
	//	lurl: NoticeBase + "loss?bid=ID&cid=CID&imp=IMPID&uk=UK&cur=CUR&bp=BP&price=${AUCTION_PRICE}&loss=${AUCTION_LOSS}"
	//
	// where UK is Bid.UserKey as 16 lower-case hex digits, CUR is Cur and
	// BP is Bid.Price as "price" has it.
	NoticeBase []byte
	// NoticeBasePlain says NoticeBase has no byte that JSON escapes
	// (AppendEscaped would copy it): the encoder copies it into each URL
	// instead of escaping it for every bid.
	NoticeBasePlain bool
	// BidIDsPlain says no Bid.ID has a byte that JSON escapes: the
	// encoder copies them.
	BidIDsPlain bool
	// NoticeKey, when set, signs the notice URLs: "&sig=SIG" follows BP
	// (and "&bo=w" and "&x=EXCHANGE"), SIG the key's signature of the query up to it as 16
	// lower-case hex digits (see [AppendNoticeQuery]).
	NoticeKey *NoticeKey
	// BillOnWin adds "&bo=w" after BP: the notice handler bills these
	// bids at their win notice, for an exchange that sends no billing
	// notice (see package notice).
	BillOnWin bool
	// Exchange adds "&x=EXCHANGE" after that: the name of the exchange
	// whose endpoint the request came to, so that its notices are counted
	// as its own (see package notice). Empty for http.bidPath's.
	Exchange []byte
	// MinToWin adds "&mtw=${AUCTION_MIN_TO_WIN}" after the price: an
	// exchange that substitutes it tells the lowest price that would
	// have won (see package notice). Not signed, as the price is not.
	MinToWin bool
	// Explore marks the open-auction bids (those without a deal) as sent
	// unshaded to learn the exchange's first-price shading: "&sx=1"
	// after "&bo=w" (see package shading).
	Explore bool

	// NBR is the no-bid reason code; used only when Bids is empty and the
	// server is configured to answer no-bids with a body. -1 omits it.
	NBR int
}

// Reset clears r for reuse, keeping the capacity of its slices. It clears
// the bids in use, not the whole capacity: a pod answer grows Bids to 32,
// and clearing them all after every banner answer cost 4 % of the bid
// handler. A bid past len(Bids) keeps stale fields, so code that reslices
// Bids up into its capacity must clear each bid it reuses (append of a
// Bid literal does).
func (r *Response) Reset() {
	for i := range r.Bids {
		r.Bids[i].reset()
	}
	*r = Response{Bids: r.Bids[:0], NBR: -1}
}

// Bid is one seatbid[].bid[] entry.
type Bid struct {
	// Seat is the buyer seat the bid is made on behalf of: its seatbid's
	// seat, omitted when empty. The exchange bills and applies wseat and
	// bseat by it.
	Seat  []byte
	ID    []byte // unique per bid; the key of win, billing and loss notices
	ImpID []byte // Imp.ID of the imp this bid is for
	Price float64
	AdID  []byte
	CrID  []byte
	// CampaignID is carried in the notice URLs (cid=) so that win and
	// billing notices can be attributed without server-side bid state.
	CampaignID []byte
	// UserKey is the frequency-cap key of the user (0 when unknown), carried
	// in the notice URLs (uk=) so a billing notice counts the impression.
	UserKey uint64
	ADomain [][]byte
	Bundle  []byte // the advertised app's bundle id, for app-install ads
	Cat     [][]byte
	// CatTax is the taxonomy of Cat (see [Request.CatTax]); 0 and 1,
	// OpenRTB's default, omit bid.cattax.
	CatTax    int
	Attr      []int
	MType     int // 1 banner, 2 video, 3 audio, 4 native
	DealID    []byte
	W, H      int
	Dur       int // seconds, for video and audio
	SlotInPod int // 2.6 bid.slotinpod; 0 omits it
	// Qty is the imp's qty.multiplier (DOOH; 0: none): the notice URLs
	// carry it (signed, qm=) and ask the exchange for the multiplier it
	// bills (mul=${AUCTION_MULTIPLIER}), so that a bill counts the
	// impressions the exchange charges for.
	Qty  float64
	Lang []byte
	// LangB writes Lang as bid.langb (2.6, an IETF BCP 47 tag), not
	// bid.language: for a request that lists its languages in wlangb, as
	// the spec has a bid carry one of the two, in the request's form.
	LangB bool
	// AdM is the markup, emitted as a JSON string (escaped by the encoder
	// unless AdMEscaped).
	AdM []byte
	// AdMEscaped says AdM already is JSON string content, escaped with
	// [AppendEscaped]: the encoder copies it. Markup is static per creative,
	// so the decision engine escapes it once at compile time instead of on
	// every bid (escaping a 2 KB VAST document costs about 2 us).
	AdMEscaped bool
	// Ext is bid.ext, a JSON object written as it is (nil omits it): the
	// campaign's DSA transparency, {"dsa":{...}}.
	Ext []byte
	// Static, when set, is what [AppendBidStatic] writes for this bid,
	// encoded once per creative; the encoder copies it. The fields it
	// covers must agree with it: they stay set for the event log and
	// explain traces.
	Static []byte
}

func (b *Bid) reset() {
	// Cleared in place, as Request.Reset explains: the literal with b's
	// own slices in it was built in a temporary and copied.
	adomain, cat, attr := b.ADomain[:0], b.Cat[:0], b.Attr[:0]
	*b = Bid{}
	b.ADomain, b.Cat, b.Attr = adomain, cat, attr
}
