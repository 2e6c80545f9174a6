package notice

import (
	"math"
	"strconv"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/rtbd/rtbd/daemon/openrtb"
)

// maxIDLen bounds bid, cid and imp values; ids we issue are far shorter.
const maxIDLen = 128

// maxLossCode bounds the loss reason: OpenRTB codes are 0-215 and
// exchange-specific ones start at 1000.
const maxLossCode = 99999

// notice is one parsed notice. Its byte slices alias the request and are
// valid only until the handler returns.
type notice struct {
	bid, cid, imp, cur []byte
	bp                 []byte  // the bid's price as its notice URL has it; nil when absent
	bidPrice           float64 // bp parsed; -1 when absent
	price              float64 // the exchange's price, at most the bid's (see capped)
	rate               float64 // units of Config.Currency per unit of cur: parse converts the prices with it
	qty                float64 // impressions one play counts for (DOOH; else 1): parse multiplies the prices by it
	maxPrice           float64 // Config.MaxPrice in Config.Currency (see Handler.maxPriceIn)
	qm                 []byte  // qm as the URL has it (signed); nil when absent
	userKey            uint64
	loss               int     // -1 when absent
	minToWin           float64 // mtw, ${AUCTION_MIN_TO_WIN}; -1 when unknown
	stated             float64 // when capped, the exchange's price; else 0
	capped             bool    // the exchange's price was above the bid's, and price is the bid's
	unpriced           bool    // the notice had no price (or the macro), and price is the bid's
	billOnWin          bool    // bo=w: the bid is billed at its win notice
	explore            bool    // sx=1: the bid was sent unshaded (see package shading)
	exchange           []byte  // x: the exchange the bid was made on; nil for the default
	deal               []byte  // the deal the bid was made through; empty in the open auction
	dealKnown          bool    // the URL has deal (rtbd's bids' all do since it named deals)
	test               bool    // the bid was made for a test request (Config.IsTest)
	// trusted: a key made its sig, or there are no keys to check one
	// with; only such a notice may make the Spender count a campaign it
	// does not know (see Adopter).
	trusted bool
	xs      *exchangeState // the exchange's, by x (see Handler.exchange)
}

// event returns n as a Sink gets it, as a notice of kind k.
func (n *notice) event(k Kind) Event {
	return Event{
		Kind: k, Exchange: n.exchange, DealID: n.deal, DealKnown: n.dealKnown, BidID: n.bid, CampaignID: n.cid, ImpID: n.imp, Cur: n.cur,
		Price: n.price, StatedPrice: n.stated, MinToWin: max(n.minToWin, 0), BidPrice: max(n.bidPrice, 0), Unpriced: n.unpriced, Loss: n.loss, Test: n.test,
	}
}

// Reasons sent as the body of a 400, short and constant.
const (
	reasonMissingBid    = "missing bid"
	reasonLongBid       = "bid too long"
	reasonMissingCid    = "missing cid"
	reasonLongID        = "cid or imp too long"
	reasonMissingPrice  = "missing price"
	reasonUnsubstituted = "price macro not substituted"
	reasonBadPrice      = "bad price"
	reasonPriceRange    = "price out of range"
	reasonPlainPrice    = "decimal price from an exchange that encrypts its prices"
	reasonCurrency      = "unsupported cur"
	reasonBadUK         = "bad uk"
	reasonBadBidPrice   = "bad bp"
	reasonBadBillOn     = "bad bo"
	reasonBadExplore    = "bad sx"
	reasonLongExchange  = "x too long"
	reasonBadSig        = "bad sig"
	reasonBadEncrypted  = "bad encrypted price"
	reasonMissingSig    = "missing sig"
	reasonBadQty        = "bad qm"
)

// args looks up notice parameters in the query string and, for a POST, in an
// application/x-www-form-urlencoded body; the query string wins.
type args struct {
	query *fasthttp.Args
	post  *fasthttp.Args // nil unless POST
}

// peek returns the value of key, or nil when absent in both places.
func (a args) peek(key string) []byte {
	if v := a.query.Peek(key); v != nil {
		return v
	}
	if a.post != nil {
		return a.post.Peek(key)
	}
	return nil
}

// The fields rtbd signs (openrtb.AppendNoticeQuery), as indices of
// signed.v.
const (
	fieldBid = iota
	fieldCid
	fieldImp
	fieldUK
	fieldCur
	fieldBP
	fieldBo
	fieldSx
	fieldX
	fieldDeal
	fieldQm
	signedFields
)

// signedField returns the index of key among the fields rtbd signs, or -1.
func signedField(key []byte) int {
	switch string(key) {
	case "bid":
		return fieldBid
	case "cid":
		return fieldCid
	case "imp":
		return fieldImp
	case "uk":
		return fieldUK
	case "cur":
		return fieldCur
	case "bp":
		return fieldBP
	case "bo":
		return fieldBo
	case "sx":
		return fieldSx
	case "x":
		return fieldX
	case "deal":
		return fieldDeal
	case "qm":
		return fieldQm
	}
	return -1
}

// signed holds the values of the fields rtbd signs, as a notice has them.
type signed struct {
	v    [signedFields][]byte // nil when absent
	seen uint16               // bit i: v[i] is present, empty or not
	src  *fasthttp.Args       // the Args with sig; nil when the notice has none
}

// has reports whether field i is present, empty or not.
func (s *signed) has(i int) bool { return s.seen&(1<<i) != 0 }

// read takes the first occurrence of each signed field in src, up to its
// first sig when untilSig.
func (s *signed) read(src *fasthttp.Args, untilSig bool) {
	for key, value := range src.All() {
		if untilSig && string(key) == "sig" {
			return
		}
		if i := signedField(key); i >= 0 && !s.has(i) {
			s.v[i], s.seen = value, s.seen|1<<i
		}
	}
}

// signed reads the signed fields of a into s. A notice with sig has them
// before it, in the query string or else in the POSTed form, whichever
// has sig: what follows sig is the exchange's (the price, and whatever it
// adds), so a field there, even one a URL from an older rtbd lacks
// (deal, x, bp), is not read as ours. A notice without sig has them
// anywhere, the query string first.
func (a args) signed(s *signed) {
	switch {
	case a.query.Has("sig"):
		s.src = a.query
	case a.post != nil && a.post.Has("sig"):
		s.src = a.post
	}
	if s.src != nil {
		s.read(s.src, true)
		return
	}
	s.read(a.query, false)
	if a.post != nil {
		s.read(a.post, false)
	}
}

// parse fills n from a. It returns resultOK, or the failing result and a reason.
func (h *Handler) parse(a args, k Kind, n *notice) (result, string) {
	var f signed
	a.signed(&f)
	n.bid, n.cid, n.imp, n.cur = f.v[fieldBid], f.v[fieldCid], f.v[fieldImp], f.v[fieldCur]
	if len(n.bid) == 0 {
		return resultInvalid, reasonMissingBid
	}
	if len(n.bid) > maxIDLen {
		return resultInvalid, reasonLongBid
	}
	if len(n.cid) == 0 {
		return resultInvalid, reasonMissingCid
	}
	if len(n.cid) > maxIDLen || len(n.imp) > maxIDLen {
		return resultInvalid, reasonLongID
	}
	// x first: the exchange may encrypt its prices.
	if n.exchange = f.v[fieldX]; len(n.exchange) > maxIDLen {
		return resultInvalid, reasonLongExchange
	}
	n.xs = h.exchange(n.exchange)
	n.deal, n.dealKnown = f.v[fieldDeal], f.has(fieldDeal) // any length: the event log keeps its first MaxDealID bytes, as the bid's
	n.rate = 1
	if len(n.cur) > 0 {
		if n.rate = h.rateOf(n.cur); n.rate == 0 {
			return resultInvalid, reasonCurrency
		}
	}
	n.maxPrice = h.maxPriceIn() // once: a rate lookup when the bid currency is not USD
	var reason string
	if n.qty, n.qm, reason = parseQty(f.v[fieldQm], a.peek("mul")); reason != "" {
		return resultInvalid, reason
	}
	if r, reason := h.parseBidPrice(k, f.v[fieldBP], n); r != resultOK {
		return r, reason
	}
	if r, reason := h.parsePriceArg(k, a.peek("price"), n); r != resultOK {
		return r, reason
	}
	var ok bool
	if n.billOnWin, ok = parseFlag(f.v[fieldBo], "w"); !ok {
		return resultInvalid, reasonBadBillOn
	}
	if n.explore, ok = parseFlag(f.v[fieldSx], "1"); !ok {
		return resultInvalid, reasonBadExplore
	}
	if n.userKey, ok = parseUserKey(f.v[fieldUK]); !ok {
		return resultInvalid, reasonBadUK
	}
	if n.minToWin = h.parseMinToWin(a.peek("mtw"), n); n.minToWin > 0 {
		n.minToWin *= n.qty
	}
	n.loss = -1
	if k == KindLoss {
		if n.loss, ok = parseLoss(a.peek("loss")); !ok {
			n.loss = -1 // the loss still counts, its reason unknown
		}
	}
	if keys := *h.keys.Load(); len(keys) > 0 {
		return h.verify(keys, f.src, k, n)
	}
	n.trusted = true
	return resultOK, ""
}

// verify checks sig, the notice's signature in src (nil when it has
// none), against the canonical query of n's values
// (openrtb.AppendNoticeQuery) and the fields before sig that this rtbd
// does not know (see laterFields), under each of the keys.
func (h *Handler) verify(keys []openrtb.NoticeKey, src *fasthttp.Args, k Kind, n *notice) (result, string) {
	var sig []byte
	if src != nil {
		sig = src.Peek("sig")
	}
	if len(sig) == 0 {
		if h.signed {
			return resultForged, reasonMissingSig
		}
		noticesUnsigned[k].Inc()
		return resultOK, ""
	}
	want, ok := parseUserKey(sig) // the same 16 hex digits; sig is not empty
	if !ok {
		return resultForged, reasonBadSig
	}
	var buf [512]byte
	nq := openrtb.NoticeQuery{
		BidID: n.bid, CampaignID: n.cid, ImpID: n.imp, UserKey: n.userKey, Cur: n.cur, BidPrice: n.bp,
		BillOnWin: n.billOnWin, Explore: n.explore, Exchange: n.exchange, Deal: n.deal, WithDeal: n.dealKnown,
		Qty: n.qm,
	}
	q := laterFields(openrtb.AppendNoticeQuery(buf[:0], &nq), src)
	for i := range keys {
		if keys[i].Sign(q) == want {
			n.trusted = true
			return resultOK, ""
		}
	}
	return resultForged, reasonBadSig
}

// laterFields appends to q, as openrtb.AppendNoticeField writes them, the
// fields of src before sig that this rtbd does not know: a newer rtbd's,
// which it signs after the others (see openrtb.AppendNoticeQuery). So a
// host rolled back to this version still bills the notices of the bids a
// newer one made, and a field slipped into the signed part without the
// key still fails. The fields after sig (price, mtw, loss and whatever an
// exchange adds) are not signed, and not read as signed ones (args.signed).
func laterFields(q []byte, src *fasthttp.Args) []byte {
	for key, value := range src.All() {
		switch string(key) {
		case "sig":
			return q
		case "price", "mtw", "loss", "mul":
			continue
		}
		if signedField(key) < 0 {
			q = openrtb.AppendNoticeField(q, key, value)
		}
	}
	return q
}

// maxQty bounds a DOOH multiplier: the impressions one play of an ad
// counts for, a few hundred on the largest screens.
const maxQty = 1e5

// maxMulOverQm bounds the multiplier an exchange bills (mul) by the
// bid's imp's (qm): the exchange's own estimate of the play's audience,
// which its count after the play may exceed, but not by this much.
const maxMulOverQm = 2

// parseQty returns the multiplier of a notice's prices: for a DOOH bid
// (qm, the bid's imp's multiplier, which rtbd signed), the one the
// exchange billed (mul, ${AUCTION_MULTIPLIER}) when it substituted it
// with a positive number, at most maxMulOverQm times qm, else qm; for
// any other bid 1, whatever mul says (mul is not signed: a notice whose
// bid carried no qm asked for none); and qm, for the signature. A qm that
// is not a number in (0, maxQty] is the reason the notice is refused.
func parseQty(qm, mul []byte) (float64, []byte, string) {
	if len(qm) == 0 {
		return 1, nil, ""
	}
	q, ok := parsePrice(qm)
	if !ok || !(q > 0) || q > maxQty {
		return 0, nil, reasonBadQty
	}
	if len(mul) > 0 && !isMacro(mul) {
		if v, ok := parsePrice(mul); ok && v > 0 {
			q = min(v, maxMulOverQm*q)
		}
	}
	return q, qm, ""
}

// UnknownPrice is the price of a loss notice that carried none, or an
// unsubstituted ${AUCTION_PRICE}.
const UnknownPrice = -1.0

// parsePriceArg reads the price value v of a notice of kind k into
// n.price: a decimal CPM, or, from an exchange with price keys, an
// encrypted price. parseBidPrice has read bp.
//
// A win or billing notice is charged. An auction never clears above the
// bid, so a price above bp is the exchange's error (a unit or currency
// mix-up, a bad macro) or a forgery: the notice is charged at bp and
// marked capped. A notice without a price (empty, or the macro left
// unsubstituted) is charged at bp too, the most it can be, and marked
// unpriced: the exchange billed an impression, and counting nothing
// would let the campaign overspend. Only a notice without bp is refused
// then, or above Config.MaxPrice.
//
// A decimal price from an exchange with price keys is not its price (see
// decodePrice): such a notice is charged at bp, as unpriced, and refused
// as forged without bp.
//
// A loss notice moves no money, and an exchange often has no clearing
// price to put in it: a price it lacks or that cannot be read is
// recorded as unknown, and the loss kept. Its price is the winner's,
// which may be above bp.
func (h *Handler) parsePriceArg(k Kind, v []byte, n *notice) (result, string) {
	if len(v) == 0 || isMacro(v) {
		switch {
		case k == KindLoss:
			n.price = UnknownPrice
		case n.bidPrice >= 0:
			n.price, n.unpriced = n.bidPrice, true
		case len(v) == 0:
			return resultInvalid, reasonMissingPrice
		default:
			return resultUnsubstituted, reasonUnsubstituted
		}
		return resultOK, ""
	}
	p, r, reason := h.decodePrice(v, n.xs, n.rate)
	p *= n.qty
	switch {
	case reason == reasonPlainPrice && k != KindLoss && n.bidPrice >= 0:
		n.price, n.unpriced = n.bidPrice, true
	case k == KindLoss:
		n.price = p
		if r != resultOK || p > n.maxPrice*n.qty {
			n.price = UnknownPrice
		}
	case r != resultOK:
		return r, reason
	case n.bidPrice >= 0 && p > n.bidPrice:
		n.stated, n.price, n.capped = p, n.bidPrice, true
	case n.bidPrice < 0 && p > n.maxPrice*n.qty:
		return resultInvalid, reasonPriceRange
	default:
		n.price = p
	}
	return resultOK, ""
}

// maxPriceIn is Config.MaxPrice in Config.Currency.
func (h *Handler) maxPriceIn() float64 {
	if r := h.rateOf(usd); r > 0 {
		return h.maxPrice * r
	}
	return h.maxPrice
}

var usd = []byte("USD")

// decodePrice decodes the price value v, not empty: a decimal CPM, or,
// from an exchange xs with price keys, an encrypted price; and converts
// it to Config.Currency at rate. An exchange with price keys encrypts
// its prices: a decimal one from it is not taken as its price
// (reasonPlainPrice), since whoever saw a notice URL could otherwise
// send price=0 before the exchange and have the bill charge nothing.
func (h *Handler) decodePrice(v []byte, xs *exchangeState, rate float64) (float64, result, string) {
	var p float64
	if keys := xs.priceKeys.Load(); keys != nil {
		micros, ok := keys.Decrypt(v)
		if !ok {
			if _, plain := parsePrice(v); plain {
				return 0, resultForged, reasonPlainPrice
			}
			return 0, resultForged, reasonBadEncrypted
		}
		p = float64(micros) / 1000 // per impression to CPM
	} else {
		var ok bool
		if p, ok = parsePrice(v); !ok {
			return 0, resultInvalid, reasonBadPrice
		}
	}
	return p * rate, resultOK, ""
}

// parseMinToWin returns the CPM mtw carries, ${AUCTION_MIN_TO_WIN} as
// n's exchange substituted it (a decimal, or encrypted as its prices), or
// -1 when it is absent, unsubstituted, bad or above MaxPrice: feedback
// never fails the notice that carries it.
func (h *Handler) parseMinToWin(v []byte, n *notice) float64 {
	if len(v) == 0 {
		return -1
	}
	if p, r, _ := h.decodePrice(v, n.xs, n.rate); r == resultOK && p <= n.maxPrice {
		return p
	}
	return -1
}

// parseBidPrice reads bp, the price of the bid the notice is for (see
// parsePriceArg). rtbd wrote it, so a bad one, or one above MaxPrice,
// fails a win or billing notice: a win or bill is charged up to bp, and
// an unsigned notice's bp=1e300 overflowed the spend counters (the commit
// review). A loss notice is kept without it.
func (h *Handler) parseBidPrice(k Kind, bp []byte, n *notice) (result, string) {
	n.bidPrice = -1
	if len(bp) == 0 {
		return resultOK, ""
	}
	v, ok := parsePrice(bp)
	if !ok || v*n.rate > n.maxPrice {
		if k == KindLoss {
			return resultOK, ""
		}
		if ok {
			return resultInvalid, reasonPriceRange
		}
		return resultInvalid, reasonBadBidPrice
	}
	v *= n.rate * n.qty // the bid's currency is the notice's, and so is its qty
	n.bp, n.bidPrice = bp, v
	return resultOK, ""
}

// parseFlag reads a flag of the notice's query, absent or on: set
// reports whether v is on, and ok whether it is either.
func parseFlag(v []byte, on string) (set, ok bool) {
	switch string(v) {
	case "":
		return false, true
	case on:
		return true, true
	}
	return false, false
}

// isMacro reports whether v is an OpenRTB macro the exchange left in place,
// such as ${AUCTION_PRICE} or ${AUCTION_PRICE:B64}.
func isMacro(v []byte) bool {
	return len(v) >= 3 && v[0] == '$' && v[1] == '{'
}

// parsePrice parses a plain decimal CPM price: finite and >= 0. Only digits,
// '.', and an exponent are accepted, so "NaN", "Inf" and hex floats are not,
// and most bad input is refused before strconv (whose errors allocate).
func parsePrice(v []byte) (float64, bool) {
	if len(v) == 0 || len(v) > 32 || !decimalShape(v) {
		return 0, false
	}
	p, err := strconv.ParseFloat(b2s(v), 64)
	if err != nil || math.IsInf(p, 0) || math.IsNaN(p) || p < 0 {
		return 0, false
	}
	return p, true
}

// decimalShape reports whether v is a decimal strconv.ParseFloat reads
// without an error, so without allocating one: an optional sign, digits
// with at most one '.' (one digit at least), an optional exponent of at
// most 3 digits with an optional sign, and a value below 1e308 (a larger
// one is out of range, and far from any price).
func decimalShape(v []byte) bool {
	i := 0
	if v[0] == '+' || v[0] == '-' {
		i++
	}
	digits, intDigits, dot := 0, 0, false
	for ; i < len(v); i++ {
		switch c := v[i]; {
		case c >= '0' && c <= '9':
			digits++
			if !dot {
				intDigits++
			}
			continue
		case c == '.' && !dot:
			dot = true
			continue
		}
		break
	}
	if digits == 0 {
		return false
	}
	if i == len(v) {
		return true
	}
	if v[i] != 'e' && v[i] != 'E' {
		return false
	}
	i++
	neg := false
	if i < len(v) && (v[i] == '+' || v[i] == '-') {
		neg = v[i] == '-'
		i++
	}
	exp := v[i:]
	if len(exp) == 0 || len(exp) > 3 {
		return false
	}
	e := 0
	for _, c := range exp {
		if c < '0' || c > '9' {
			return false
		}
		e = e*10 + int(c-'0')
	}
	return neg || intDigits+e <= 308 // below 10^(intDigits+e)
}

// parseUserKey parses uk, and sig: exactly 16 hex digits (either case),
// or absent or empty (0, unknown user).
func parseUserKey(v []byte) (uint64, bool) {
	if len(v) == 0 {
		return 0, true
	}
	if len(v) != 16 {
		return 0, false
	}
	var u uint64
	for _, c := range v {
		d, ok := hexDigit(c)
		if !ok {
			return 0, false
		}
		u = u<<4 | uint64(d)
	}
	return u, true
}

// hexDigit returns the value of the hex digit c.
func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// parseLoss parses the loss reason: a decimal integer in [0, maxLossCode].
// An absent value or an unsubstituted ${AUCTION_LOSS} gives -1 (unknown):
// the notice still says that we lost.
func parseLoss(v []byte) (int, bool) {
	if len(v) == 0 || isMacro(v) {
		return -1, true
	}
	if len(v) > 5 {
		return 0, false
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n <= maxLossCode
}

// b2s converts b to a string without copying. The string must not outlive b
// and b must not change while it is used.
func b2s(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
