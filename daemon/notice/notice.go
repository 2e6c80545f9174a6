// Package notice serves the win (nurl), billing (burl) and loss (lurl)
// notices of the bids rtbd makes, each processed at most once per bid id.
//
// The notice URLs are built by openrtb.AppendResponse from
// [openrtb.Response.NoticeBase]; their query parameters are bid, cid, imp, uk
// (16 hex digits), cur, bp (the bid's price), price (the exchange's
// ${AUCTION_PRICE}) and, for loss notices, loss (${AUCTION_LOSS}), bo=w
// for a bid billed at its win notice (see [Config.BillOnWin]), and sig
// when they are signed (see [Config.Keys]). A win or billing notice is
// charged and logged at most at bp: an auction does not clear above the
// bid, and a higher price is counted in rtbd_notices_capped_total and
// held to bp (the Sink gets it as the stated price). Billing notices move spend through a
// [Spender]; every accepted notice goes to a [Sink] for the event log. Win
// and billing notices need a price; a loss notice without one (absent or an
// unsubstituted macro) is accepted at [UnknownPrice].
package notice

import (
	"bytes"
	"slices"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/valyala/fasthttp"

	"github.com/rtbd/rtbd/daemon/openrtb"
	"github.com/rtbd/rtbd/daemon/shading"
)

// Kind is the kind of a notice.
type Kind uint8

// The notice kinds, one per endpoint.
const (
	KindWin  Kind = iota // nurl: the bid won the auction
	KindBill             // burl: the impression is billable; moves spend
	KindLoss             // lurl: the bid lost; loss carries the reason
	numKinds
)

// String returns "win", "bill" or "loss".
func (k Kind) String() string {
	switch k {
	case KindWin:
		return "win"
	case KindBill:
		return "bill"
	case KindLoss:
		return "loss"
	}
	return "unknown"
}

// Spender moves spend for a billed impression. It is implemented by the
// decision engine's state, which also counts the frequency cap of userKey
// (0 when unknown). price is the CPM in cur. An error means the campaign is
// unknown; the notice is then counted as result="unknown" and still answered
// 204. Bill must be safe for concurrent use and must not retain its slices.
// The handler hands what Bill returns to its [Journal].
type Spender interface {
	Bill(campaignID []byte, userKey uint64, price float64, cur []byte, now time.Time) (Charge, error)
}

// Converter is implemented by a [Spender] that knows the currency rates
// (decision.State, by bidding.rates). A bid is in the currency its
// request asked for, when it is not Config.Currency, so its notices are
// too: one in a currency with a rate is converted to Config.Currency as
// it is read, and everything after (the charge, MaxPrice, the cap at the
// bid's price, the spend metrics, shading and the Sink's Event) is in
// Config.Currency. A notice in a currency without a rate is refused
// (400, "unsupported cur"). CurrencyRate returns the units of
// Config.Currency per unit of cur, 0 for a currency without a rate.
type Converter interface {
	CurrencyRate(cur []byte) float64
}

// Adopter is implemented by a [Spender] that can start counting a
// campaign it does not know (decision.State): a notice for one is
// charged, or reserved, after Adopt returns true, instead of being
// refused as unknown. Adopt returns true when it counts the campaign,
// from now on or already (another notice adopted it meanwhile), false
// when it does not; the notice is then counted as result "unknown". With
// Config.Keys, only a notice whose sig a key made asks.
type Adopter interface {
	Adopt(campaignID []byte) bool
}

// Reserver is implemented by a [Spender] that counts a won bid against
// its campaign's budget, and its user's frequency cap, before the bid is
// billed: a campaign at the end of its budget, or a user at the cap,
// would otherwise keep winning until the bills come in. The handler calls
// Reserve for the first win notice of a bid (not a test bid), and
// BillReserved instead of [Spender.Bill] for the first billing notice of
// one, which ends the reservation and does not count the impression in
// the cap again. key is [BillKey] of the bid id, the same for both
// notices. An error means the campaign is unknown, as from Bill. The
// handler hands what a Reserve added to its [Journal], so that the hosts
// that share this one's budgets reserve it too. billed reports whether
// the bid's billing notice was processed: Reserve asks it with the lock
// that BillReserved takes, and reserves nothing when it was, so that a
// bill processed while its win is (exchanges send both at the
// impression, in either order) leaves no reservation behind.
type Reserver interface {
	Reserve(key uint64, campaignID []byte, userKey uint64, price float64, cur []byte, now time.Time, billed func(key uint64) bool) (Reserved, error)
	BillReserved(key uint64, campaignID []byte, userKey uint64, price float64, cur []byte, now time.Time) (Charge, error)
}

// Charge is what a [Spender] moved for one billed impression.
type Charge struct {
	CapKey    uint64 // the frequency-cap entry the impression counted in; 0 for none
	CapWindow int64  // its window, seconds
	// Campaign is the campaign's key, xxhash of its id: the same on every
	// host. Today and Total are the campaign's spend on this host, of the
	// impression's UTC day and in total, once it counted, in micro-units
	// of the campaign currency.
	Campaign     uint64
	Today, Total int64
}

// Reserved is what a [Reserver] reserved for one won bid.
type Reserved struct {
	Campaign uint64 // the campaign's key, as in [Charge]
	Amount   int64  // the price reserved, in micro-units of the campaign currency
	// CapKey and CapWindow are the frequency-cap entry the win counted
	// the impression in, and its window in seconds; 0 for none.
	CapKey    uint64
	CapWindow int64
	// Added is false when nothing was reserved: the bid had a live
	// reservation already (a replayed win), or wins reserve nothing.
	Added bool
}

// Billed is a billing notice this host processed first, as the hosts that
// share its budgets apply it: they remember the notice, so that a replay
// sent to them after a failover is a duplicate there too, count the
// impression against the user's frequency cap, and count the campaign's
// spend at once instead of at their next reading of this host's.
//
// With Win, it is instead the reservation of a won bid that is not billed
// yet (see [Reserver]): the hosts that share budgets reserve Amount for
// the campaign under the same key until the bid's bill, processed by any
// of them, ends it, and count the impression in the cap entry CapKey
// (0: none). Then Today and Total are 0. A host that takes over a
// failed one's address so goes on counting its wins in flight.
type Billed struct {
	Notice uint64 // the notice's dedupe fingerprint (see Handler.MarkBilled); the reservation's key with Win
	Time   int64  // when it was billed (won, with Win), unix seconds; its UTC day is Time/86400
	// Charge is what billing it moved. Its Campaign is 0 in a record from
	// an rtbd that did not share spend with its notices.
	Charge
	Win    bool  // a win's reservation, not a bill
	Amount int64 // with Win, the amount reserved, in micro-units of the campaign currency
}

// Journal receives every Billed of this host, and with a [Reserver] the
// reservations of its wins. Billed must not block.
type Journal interface {
	Billed(Billed)
}

// Sink receives every notice processed for the first time, for the event
// log. Notice must not block and must not retain e's slices, which alias
// the request.
type Sink interface {
	Notice(e Event)
}

// Event is a notice as a [Sink] gets it.
type Event struct {
	Kind     Kind
	Exchange []byte // x; empty for the default exchange
	// DealID is the deal of the notice's bid (deal=), empty for a bid in
	// the open auction. DealKnown is false for a URL without deal, of a
	// bid made before rtbd named deals in notice URLs: its deal, if any,
	// is only in the bid's record.
	DealID    []byte
	DealKnown bool
	BidID     []byte
	// CampaignID, ImpID and Cur are the notice's cid, imp and cur.
	CampaignID, ImpID, Cur []byte
	// Price is what a win or billing notice was charged, at most the bid's
	// price, and a loss notice's price, [UnknownPrice] when it had none.
	Price float64
	// StatedPrice is the price a capped win or billing notice stated,
	// above the bid's; 0 for the others.
	StatedPrice float64
	// MinToWin is the notice's mtw; 0 when unknown.
	MinToWin float64
	// BidPrice is the bid's price as the notice URL carries it (bp); 0
	// when it carries none.
	BidPrice float64
	// Uncharged is whether a billing notice (or a win that bills) moved
	// no spend: the Spender did not know its campaign, nor adopted it.
	Uncharged bool
	// Unpriced is whether a win or billing notice came without a price
	// it could be charged (empty, the macro unsubstituted, a decimal from
	// an exchange that encrypts its prices): Price is then the bid's.
	Unpriced bool
	// Loss is the loss reason of a loss notice; -1 when unknown or not a loss.
	Loss int
	// Test is whether the bid was made for a test request ("test": 1; see
	// [Config.IsTest]): its notices move no spend, and a sink that sums
	// spend leaves its bills out.
	Test bool
}

// Config configures a [Handler]. The zero value gives the defaults.
type Config struct {
	// Currency is the currency of bid prices (bidding.currency); default
	// "USD". A notice without cur= is in it; one in another currency is
	// converted to it when the Spender is a [Converter], else refused.
	Currency string
	// MaxPrice is the highest CPM, in USD (converted to Currency when the
	// Spender is a [Converter]), of a bid's price (bp) and of a notice's
	// without one; default 5000, above any bid a book can make (maxCpm is
	// at most 1000 of the campaign currency, 1000 KWD some 3,300 USD). A
	// notice with bp is held to bp: see parsePriceArg.
	MaxPrice float64
	// DedupeSlots is the size of the win and billing notices' dedupe
	// table, rounded up to a power of two; default 1<<20 (16 MiB). Loss
	// notices, which move no money and may be many times as many, have a
	// table of their own, a quarter of its size, so that they never push
	// a bill out of it.
	DedupeSlots int
	// DedupeTTL is how long a bid id is remembered; default 48h because
	// billing notices may arrive a day after the auction.
	DedupeTTL time.Duration
	// IsTest reports whether a bid id belongs to a test request ("test": 1);
	// billing notices for such bids are counted but never call the
	// Spender. Nil means no bid is a test bid.
	IsTest func(bidID []byte) bool
	// Journal, when set, receives every billing notice that moved spend,
	// and every reservation a win added (state.peers: the peers read it).
	Journal Journal
	// Keys verify the sig of notices, which the bids' notice URLs carry
	// when they are signed with the first (see [openrtb.NoticeKey]): a
	// notice whose sig none of them made is refused (400, result
	// "forged"). A notice without sig is processed and counted in
	// rtbd_notices_unsigned_total, unless RequireSigned. Empty: sig is
	// not checked.
	Keys []openrtb.NoticeKey
	// RequireSigned refuses notices without sig as forged too: set it
	// once the bids of every host are signed and their notices are in.
	RequireSigned bool
	// BillOnWin bills a bid at its win notice, for exchanges that send
	// no billing notice: the win moves spend and caps, goes to the
	// Journal and is logged as a win and a bill, under the billing
	// notice's key, so that a burl that comes after all is a duplicate.
	// Without it, only the bids whose notice URLs carry bo=w are (see
	// openrtb.Response.BillOnWin): those of exchanges that send none.
	BillOnWin bool
	// Exchanges are the names a notice's x may carry (see
	// openrtb.Response.Exchange), besides "default", the name of the
	// notices without x. Each notice processed for the first time is
	// counted under its exchange in rtbd_exchange_notices_total{exchange,
	// kind}, what a billing notice charged in
	// rtbd_exchange_spend_total{exchange} and a loss notice's reason in
	// rtbd_exchange_losses_total{exchange,reason}; a notice whose x is none of
	// these (an exchange since removed from the configuration) under
	// "unknown".
	Exchanges []string
	// PriceKeys decrypt the prices of the exchanges that encrypt them
	// (see [PriceKeys]), by the name of the exchange of Exchanges that
	// the notices' x carries; a price that is not a decimal is decrypted
	// with them, and one whose integrity signature fails is refused
	// (400, result "forged"). Other exchanges' prices are decimals.
	PriceKeys map[string]*PriceKeys
	// Shading are the estimators of the exchanges whose first-price
	// shading is learned (config.Exchange.AutoShading), by name: each
	// billing notice of a bid sent unshaded to learn it (sx=1) with a
	// known ${AUCTION_MIN_TO_WIN} is an observation (see package
	// shading).
	Shading map[string]*shading.Estimator
}

// Handler serves notices. Create it with [New]; it is safe for concurrent use.
type Handler struct {
	sp         Spender
	res        Reserver // sp, when it is one
	sink       Sink
	currency   []byte
	conv       Converter // sp, when it is one
	maxPrice   float64
	dedupe     *dedupeTable // win and billing notices
	lossDedupe *dedupeTable
	recent     *recentBills // see KeepRecentBills; nil without
	isTest     func(bidID []byte) bool
	journal    Journal
	now        func() time.Time                    // time.Now; replaced by tests
	keys       atomic.Pointer[[]openrtb.NoticeKey] // Config.Keys, or SetKeys'
	signed     bool                                // RequireSigned
	billOnWin  bool
	exchanges  []exchangeState // "default" first, "unknown" last

	// Handlers bound once, so that Route does not allocate method values.
	win, bill, loss fasthttp.RequestHandler
}

// New returns a Handler billing through sp. sp may be nil only when billing
// notices need not move spend (they are then all counted as ok); sink may be nil.
func New(cfg Config, sp Spender, sink Sink) *Handler {
	if cfg.Currency == "" {
		cfg.Currency = "USD"
	}
	if cfg.MaxPrice <= 0 {
		cfg.MaxPrice = 5000
	}
	if cfg.DedupeSlots <= 0 {
		cfg.DedupeSlots = 1 << 20
	}
	if cfg.DedupeTTL <= 0 {
		cfg.DedupeTTL = 48 * time.Hour
	}
	h := &Handler{
		sp:         sp,
		sink:       sink,
		currency:   []byte(cfg.Currency),
		maxPrice:   cfg.MaxPrice,
		dedupe:     newDedupeTable(cfg.DedupeSlots, int64(cfg.DedupeTTL), dedupeEvictions),
		lossDedupe: newDedupeTable(cfg.DedupeSlots/4, int64(cfg.DedupeTTL), lossDedupeEvictions),
		isTest:     cfg.IsTest,
		journal:    cfg.Journal,
		now:        time.Now,
		signed:     cfg.RequireSigned && len(cfg.Keys) > 0,
		billOnWin:  cfg.BillOnWin,
		exchanges:  newExchangeStates(cfg.Exchanges, cfg.Shading),
	}
	h.SetKeys(cfg.Keys)
	h.SetPriceKeys(cfg.PriceKeys)
	h.res, _ = sp.(Reserver)
	h.conv, _ = sp.(Converter)
	h.win, h.bill, h.loss = h.ServeWin, h.ServeBill, h.ServeLoss
	return h
}

// SetKeys replaces the keys that verify the notices' sig (Config.Keys),
// for a reload that read bidding.noticeKeyFile again. Notices being
// parsed finish with the keys they started with.
func (h *Handler) SetKeys(keys []openrtb.NoticeKey) {
	keys = slices.Clone(keys)
	h.keys.Store(&keys)
}

// SetPriceKeys replaces the exchanges' price keys (Config.PriceKeys).
func (h *Handler) SetPriceKeys(keys map[string]*PriceKeys) {
	for i := range h.exchanges {
		h.exchanges[i].priceKeys.Store(keys[h.exchanges[i].name])
	}
}

// Route returns the handler for a request path whose last segment is "win",
// "bill" or "loss" ("/win", "/rtb/bill", ...), or nil for any other path, so
// that NoticeBase may carry a path prefix. It does not allocate. A server
// should match its bid path first and then fall back to Route:
//
//	if hf := notices.Route(ctx.Path()); hf != nil {
//		hf(ctx)
//		return
//	}
func (h *Handler) Route(path []byte) fasthttp.RequestHandler {
	if i := bytes.LastIndexByte(path, '/'); i >= 0 {
		path = path[i+1:]
	}
	switch string(path) { // no allocation: the compiler compares in place
	case "win":
		return h.win
	case "bill":
		return h.bill
	case "loss":
		return h.loss
	}
	return nil
}

// ServeWin serves a win notice (nurl): the first for a bid id reserves
// its price and counts it in the user's cap when the Spender is a
// [Reserver]; every one is counted and logged.
func (h *Handler) ServeWin(ctx *fasthttp.RequestCtx) { h.serve(ctx, KindWin) }

// ServeBill serves a billing notice (burl): the first notice for a bid id
// calls [Spender.Bill]; replays are counted and answered 204.
func (h *Handler) ServeBill(ctx *fasthttp.RequestCtx) { h.serve(ctx, KindBill) }

// ServeLoss serves a loss notice (lurl). It only counts and logs the loss.
func (h *Handler) ServeLoss(ctx *fasthttp.RequestCtx) { h.serve(ctx, KindLoss) }

// serve validates, deduplicates and processes one notice of kind k. It
// answers 204 for every well-formed notice, 400 with a reason otherwise and
// 405 for methods other than GET and POST.
func (h *Handler) serve(ctx *fasthttp.RequestCtx, k Kind) {
	a := args{query: ctx.QueryArgs()}
	switch {
	case ctx.IsGet():
	case ctx.IsPost():
		a.post = ctx.PostArgs()
	default:
		methodNotAllowed.Inc()
		ctx.Error("method not allowed", fasthttp.StatusMethodNotAllowed) // resets headers
		ctx.Response.Header.Set(fasthttp.HeaderAllow, "GET, POST")
		return
	}
	var n notice
	if r, reason := h.parse(a, k, &n); r != resultOK {
		noticesTotal[k][r].Inc()
		ctx.Error(reason, fasthttp.StatusBadRequest)
		return
	}
	r := h.process(k, &n)
	noticesTotal[k][r].Inc()
	if r == resultOK {
		n.xs.notices[k].Inc()
		if k == KindLoss {
			n.xs.losses.Of(n.loss).Inc()
		}
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// process applies a valid notice once per (kind, bid id) and returns its result.
func (h *Handler) process(k Kind, n *notice) result {
	now := h.now()
	fp, tab := fingerprint(k, n.bid), h.dedupe
	if k == KindLoss {
		tab = h.lossDedupe
	}
	if tab.seen(fp, now.UnixNano()) {
		return resultDuplicate
	}
	n.cur = h.currency // parse converted n's prices to it
	if n.capped {
		noticesCapped[k].Inc()
	}
	if n.unpriced {
		noticesUnpriced[k].Inc()
	}
	r := resultOK
	n.test = h.isTest != nil && h.isTest(n.bid)
	moves := h.sp != nil && !n.test
	switch {
	case k == KindWin && moves && (h.billOnWin || n.billOnWin):
		// The win is the bid's billing notice, under the bill's key: a
		// burl the exchange sends after all is a duplicate, and one it
		// sent first leaves nothing to bill.
		if bk := BillKey(n.bid); !h.dedupe.seen(bk, now.UnixNano()) {
			r = h.charge(bk, n, now)
			h.remember(bk, now) // after the charge: see KeepRecentBills
			if h.sink != nil {
				e := n.event(KindBill)
				e.Uncharged = r != resultOK
				h.sink.Notice(e)
			}
		}
	case k == KindWin && moves && h.res != nil:
		// Some exchanges fire both notices at the impression, in either
		// order: a win whose bid was billed already, here or by a peer,
		// has nothing left to reserve.
		if bk := BillKey(n.bid); !h.dedupe.has(bk, now.UnixNano()) {
			r = h.reserve(bk, n, now)
		}
	case k == KindBill && moves:
		r = h.charge(fp, n, now)
	}
	if k != KindLoss {
		// After the charge (see KeepRecentBills). A win too: after a
		// crash, its replay would reserve the bid's price again and be
		// logged a second time.
		h.remember(fp, now)
	}
	if h.sink != nil {
		e := n.event(k)
		e.Uncharged = k == KindBill && moves && r != resultOK
		h.sink.Notice(e)
	}
	return r
}

// charge bills n, whose billing notice has the key bk, through the
// Spender (ending its reservation when it is a [Reserver]), and hands
// the charge to the Journal. It returns resultUnknown for a campaign the
// Spender does not know and does not adopt (see [Adopter]).
func (h *Handler) charge(bk uint64, n *notice, now time.Time) result {
	ch, err := h.billSpender(bk, n, now)
	if err != nil && h.adopt(n) {
		ch, err = h.billSpender(bk, n, now)
	}
	if err != nil {
		return resultUnknown
	}
	noticeSpendTotal.Add(n.price / 1000)
	n.xs.spend.Add(n.price / 1000)
	if n.minToWin >= 0 {
		n.xs.feedback().observe(n.price, n.minToWin)
		if n.explore && n.xs.shading != nil && n.bidPrice > 0 {
			n.xs.shading.Won(n.bidPrice, n.minToWin, now)
		}
	}
	if h.journal != nil {
		h.journal.Billed(Billed{Notice: bk, Time: now.Unix(), Charge: ch})
	}
	return resultOK
}

// billSpender charges n through the Spender: BillReserved when it is a
// [Reserver], else Bill.
func (h *Handler) billSpender(bk uint64, n *notice, now time.Time) (Charge, error) {
	if h.res != nil {
		return h.res.BillReserved(bk, n.cid, n.userKey, n.price, n.cur, now)
	}
	return h.sp.Bill(n.cid, n.userKey, n.price, n.cur, now)
}

// reserve reserves n's price under bk, the key of its billing notice, and
// hands what it added to the Journal. It returns resultUnknown for a
// campaign the Reserver does not know.
func (h *Handler) reserve(bk uint64, n *notice, now time.Time) result {
	rv, err := h.res.Reserve(bk, n.cid, n.userKey, n.price, n.cur, now, h.HasBilled)
	if err != nil && h.adopt(n) {
		rv, err = h.res.Reserve(bk, n.cid, n.userKey, n.price, n.cur, now, h.HasBilled)
	}
	if err != nil {
		return resultUnknown
	}
	if rv.Added && h.journal != nil {
		h.journal.Billed(Billed{Notice: bk, Time: now.Unix(), Win: true, Amount: rv.Amount,
			Charge: Charge{CapKey: rv.CapKey, CapWindow: rv.CapWindow, Campaign: rv.Campaign}})
	}
	return resultOK
}

// adopt asks the Spender, when it is an [Adopter], to count the campaign
// of n, for which it just refused n, and reports whether it does now.
// Only a trusted notice asks: with keys, one whose sig a key made, so
// that forged notices cannot fill the Spender with campaigns.
func (h *Handler) adopt(n *notice) bool {
	a, ok := h.sp.(Adopter)
	return ok && n.trusted && a.Adopt(n.cid)
}

// HasBilled reports whether the billing notice with [Billed.Notice] fp was
// processed, here or, through MarkBilled, by another host: a win's
// reservation that a peer shares after the bid was billed has nothing
// left to reserve.
func (h *Handler) HasBilled(fp uint64) bool {
	return h.dedupe.has(fp, h.now().UnixNano())
}

// rateOf returns the units of Config.Currency per unit of cur, not
// empty: 1 for Config.Currency itself, 0 for a currency without a rate.
func (h *Handler) rateOf(cur []byte) float64 {
	switch {
	case bytes.EqualFold(cur, h.currency):
		return 1
	case h.conv != nil:
		return h.conv.CurrencyRate(cur)
	}
	return 0
}

// BillKey is the key of a bid's billing notice, from its bid id: the
// notice dedupe's, [Billed.Notice]'s and [Reserver]'s.
func BillKey(bid []byte) uint64 { return fingerprint(KindBill, bid) }

// fingerprint is the dedupe key of (k, bid): xxhash of the bid id seeded by
// the kind, so that a win and a bill for one bid are distinct.
func fingerprint(k Kind, bid []byte) uint64 {
	var d xxhash.Digest
	d.ResetWithSeed(uint64(k) + 1)
	_, _ = d.Write(bid)
	return d.Sum64()
}

// MarkBilled remembers a billing notice another host processed, by its
// [Billed.Notice], as if this handler had: a replay of it here is a
// duplicate, for the handler's dedupe TTL from now.
func (h *Handler) MarkBilled(fp uint64) {
	now := h.now()
	if !h.dedupe.seen(fp, now.UnixNano()) {
		h.remember(fp, now) // its spend counts in the peer's, saved with ours
	}
}

// AppendDedupe appends the notices processed and not yet expired to dst,
// for the state file, so that a restarted daemon still answers a replayed
// billing notice as a duplicate instead of billing it again. With
// KeepRecentBills, call DedupeSaved once what it appended is written.
func (h *Handler) AppendDedupe(dst []byte) []byte {
	if h.recent != nil {
		h.recent.marked()
	}
	return h.dedupe.appendLive(dst, h.now().UnixNano())
}

// RestoreDedupe loads AppendDedupe's output, keeping each entry's expiry,
// and returns the number of live entries restored. Call it before the
// handler serves.
func (h *Handler) RestoreDedupe(b []byte) (int, error) {
	return h.dedupe.restore(b, h.now().UnixNano(), nil)
}
