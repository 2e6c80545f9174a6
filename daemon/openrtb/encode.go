package openrtb

import (
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf8"
)

var usd = []byte("USD")

// AppendResponse appends the BidResponse JSON for r to dst and returns the
// extended buffer. It does not allocate when dst has enough capacity.
//
// With no bids it writes {"id":..,"cur":..} plus "nbr" when r.NBR >= 0;
// see [AppendNoBid] for the minimal no-bid body. Strings are JSON-escaped
// (control characters, quotes, invalid UTF-8 replaced by U+FFFD); the
// notice URLs are built as documented on [Response.NoticeBase].
func AppendResponse(dst []byte, r *Response) []byte {
	cur := r.Cur
	if len(cur) == 0 {
		cur = usd
	}
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, r.ID)
	if len(r.BidID) != 0 {
		dst = append(dst, `,"bidid":`...)
		dst = appendString(dst, r.BidID)
	}
	dst = append(dst, `,"cur":`...)
	dst = appendString(dst, cur)
	if len(r.Bids) == 0 {
		if r.NBR >= 0 {
			dst = append(dst, `,"nbr":`...)
			dst = strconv.AppendInt(dst, int64(r.NBR), 10)
		}
		return append(dst, '}')
	}
	dst = append(dst, `,"seatbid":[`...)
	// The notice query's fields that are the response's, set once:
	// appendNotices sets each bid's.
	nq := NoticeQuery{Cur: cur, BillOnWin: r.BillOnWin, Exchange: r.Exchange, WithDeal: true}
	groups := 0
	// written has the bids among the first 64 that a group before wrote:
	// they need no comparison with the bids before them.
	var written uint64
	for i := range r.Bids {
		seat := r.Bids[i].Seat
		if i < 64 {
			if written>>i&1 != 0 {
				continue
			}
		} else if seatBefore(r.Bids[:i], seat) {
			continue
		}
		if groups > 0 {
			dst = append(dst, ',')
		}
		groups++
		dst = append(dst, '{')
		if len(seat) != 0 {
			dst = append(dst, `"seat":`...)
			dst = appendString(dst, seat)
			dst = append(dst, ',')
		}
		dst = append(dst, `"bid":[`...)
		dst = appendBid(dst, r, &r.Bids[i], &nq)
		for j := i + 1; j < len(r.Bids); j++ {
			if string(r.Bids[j].Seat) != string(seat) {
				continue
			}
			if j < 64 {
				written |= 1 << j
			}
			dst = append(dst, ',')
			dst = appendBid(dst, r, &r.Bids[j], &nq)
		}
		dst = append(dst, "]}"...)
	}
	return append(dst, "]}"...)
}

// seatBefore reports whether one of bids has seat.
func seatBefore(bids []Bid, seat []byte) bool {
	for i := range bids {
		if string(bids[i].Seat) == string(seat) {
			return true
		}
	}
	return false
}

// AppendNoBid appends the minimal no-bid body {"id":..,"nbr":nbr} to dst.
func AppendNoBid(dst []byte, id []byte, nbr int) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, id)
	dst = append(dst, `,"nbr":`...)
	dst = strconv.AppendInt(dst, int64(nbr), 10)
	return append(dst, '}')
}

func appendBid(dst []byte, r *Response, b *Bid, nq *NoticeQuery) []byte {
	if r.BidIDsPlain {
		dst = append(dst, `{"id":"`...)
		dst = append(dst, b.ID...)
		dst = append(dst, '"')
	} else {
		dst = append(dst, `{"id":`...)
		dst = appendString(dst, b.ID)
	}
	dst = append(dst, `,"impid":`...)
	dst = appendString(dst, b.ImpID)
	dst = append(dst, `,"price":`...)
	p := len(dst)
	dst = appendPrice(dst, b.Price)
	// The notices' bp is the price as written here. A later append that
	// grows dst leaves this array as it is.
	price := dst[p:len(dst):len(dst)]
	if len(b.Static) != 0 {
		dst = append(dst, b.Static...)
	} else {
		dst = AppendBidStatic(dst, b)
	}
	dst = appendStringField(dst, `,"dealid":`, b.DealID)
	dst = appendIntField(dst, `,"slotinpod":`, b.SlotInPod, b.SlotInPod != 0)
	if len(r.NoticeBase) != 0 {
		dst = appendNotices(dst, r, b, nq, price)
	}
	return append(dst, '}')
}

// AppendBidStatic appends the fields of b that depend only on its campaign
// and creative, from `,"adid":` to `,"adm":`, as the encoder writes them
// when b.Static is empty. A decision engine that encodes them once per
// creative with it, and sets b.Static, saves escaping them on every bid:
// AdID, CrID, CampaignID, ADomain, Bundle, Cat, CatTax, Attr, MType, W, H,
// Dur, Lang, Ext and AdM (copied when AdMEscaped).
func AppendBidStatic(dst []byte, b *Bid) []byte {
	dst = appendStringField(dst, `,"adid":`, b.AdID)
	dst = appendStringField(dst, `,"crid":`, b.CrID)
	dst = appendStringField(dst, `,"cid":`, b.CampaignID)
	dst = appendStringList(dst, `,"adomain":`, b.ADomain)
	dst = appendStringField(dst, `,"bundle":`, b.Bundle)
	dst = appendStringList(dst, `,"cat":`, b.Cat)
	dst = appendIntField(dst, `,"cattax":`, b.CatTax, b.CatTax > 1 && len(b.Cat) > 0)
	dst = appendIntList(dst, `,"attr":`, b.Attr)
	dst = appendIntField(dst, `,"mtype":`, b.MType, b.MType > 0)
	dst = appendIntField(dst, `,"w":`, b.W, b.W > 0)
	dst = appendIntField(dst, `,"h":`, b.H, b.H > 0)
	dst = appendIntField(dst, `,"dur":`, b.Dur, b.Dur > 0)
	if b.LangB {
		dst = appendStringField(dst, `,"langb":`, b.Lang)
	} else {
		dst = appendStringField(dst, `,"language":`, b.Lang)
	}
	if len(b.Ext) != 0 {
		dst = append(dst, `,"ext":`...)
		dst = append(dst, b.Ext...)
	}
	if b.AdMEscaped {
		return appendRawStringField(dst, `,"adm":`, b.AdM)
	}
	return appendStringField(dst, `,"adm":`, b.AdM)
}

// appendPrice writes the shortest decimal that parses back to price. NaN
// and infinities, which JSON cannot carry, are written as 0.
//
// Prices are rounded to 4 decimals, so most are the nearest double to
// n/10^4 for an integer n. Such a price is written from n with integer
// arithmetic: with at most 15 significant digits, no other decimal as
// short rounds to the same double, so the digits of n/10^4 without
// trailing zeros are strconv's shortest form, at a fraction of its cost.
func appendPrice(dst []byte, price float64) []byte {
	if math.IsNaN(price) || math.IsInf(price, 0) {
		price = 0
	}
	if price >= 0 && price < maxFastPrice {
		// math.Round from math.Trunc (one instruction): x - t is exact.
		x := price * 1e4
		n := math.Trunc(x)
		if x-n >= 0.5 {
			n++
		}
		if n/1e4 == price {
			return appendTenThousandths(dst, uint64(n))
		}
	}
	return strconv.AppendFloat(dst, price, 'f', -1, 64)
}

// maxFastPrice keeps n/10^4 within 15 significant digits.
const maxFastPrice = 1e11

// appendTenThousandths writes n/10^4 as a decimal without trailing zeros.
// The digits are written into a buffer, the integer part backwards from
// its point, two at a time from digitPairs, and appended at once.
func appendTenThousandths(dst []byte, n uint64) []byte {
	var b [32]byte
	const point = 20 // maxFastPrice has 12 integer digits
	q, frac := n/1e4, n%1e4
	i := point
	for q >= 100 {
		r := q % 100 * 2
		q /= 100
		i -= 2
		b[i], b[i+1] = digitPairs[r], digitPairs[r+1]
	}
	if q >= 10 {
		i -= 2
		b[i], b[i+1] = digitPairs[2*q], digitPairs[2*q+1]
	} else {
		i--
		b[i] = byte('0' + q)
	}
	end := point
	if frac != 0 {
		hi, lo := frac/100*2, frac%100*2
		b[point], b[point+1], b[point+2] = '.', digitPairs[hi], digitPairs[hi+1]
		b[point+3], b[point+4] = digitPairs[lo], digitPairs[lo+1]
		end = point + 5
		for b[end-1] == '0' {
			end--
		}
	}
	return append(dst, b[i:end]...)
}

// digitPairs holds "00" to "99": the two digits of k at 2k and 2k+1.
const digitPairs = "0001020304050607080910111213141516171819" +
	"2021222324252627282930313233343536373839" +
	"4041424344454647484950515253545556575859" +
	"6061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

func appendStringField(dst []byte, name string, s []byte) []byte {
	if len(s) == 0 {
		return dst
	}
	dst = append(dst, name...)
	return appendString(dst, s)
}

// appendRawStringField is appendStringField for content already escaped.
func appendRawStringField(dst []byte, name string, s []byte) []byte {
	if len(s) == 0 {
		return dst
	}
	dst = append(dst, name...)
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// AppendEscaped appends s escaped as the content of a JSON string, without
// the quotes: control characters, quotes and backslashes escaped, invalid
// UTF-8 replaced by U+FFFD, and U+2028/U+2029 escaped for JavaScript.
func AppendEscaped(dst, s []byte) []byte { return appendStringContent(dst, s) }

func appendIntField(dst []byte, name string, v int, ok bool) []byte {
	if !ok {
		return dst
	}
	dst = append(dst, name...)
	return strconv.AppendInt(dst, int64(v), 10)
}

func appendStringList(dst []byte, name string, list [][]byte) []byte {
	if len(list) == 0 {
		return dst
	}
	dst = append(dst, name...)
	dst = append(dst, '[')
	for i, s := range list {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s)
	}
	return append(dst, ']')
}

func appendIntList(dst []byte, name string, list []int) []byte {
	if len(list) == 0 {
		return dst
	}
	dst = append(dst, name...)
	dst = append(dst, '[')
	for i, v := range list {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendInt(dst, int64(v), 10)
	}
	return append(dst, ']')
}

// appendNotices writes the win, billing and loss notice URLs as JSON
// strings: NoticeBase + kind + "?bid=..&cid=..&imp=..&uk=..&cur=..&bp=..[&bo=w][&sx=1][&x=..]&deal=..[&sig=..]&price=${AUCTION_PRICE}[&mtw=${AUCTION_MIN_TO_WIN}]",
// and "&loss=${AUCTION_LOSS}" on the loss notice. The three share their
// base and query, which are escaped (and signed) once and copied.
//
// nq has the response's fields of the query (Cur, BillOnWin, Exchange,
// WithDeal); the bid's are set here.
func appendNotices(dst []byte, r *Response, b *Bid, nq *NoticeQuery, price []byte) []byte {
	dst = append(dst, `,"nurl":"`...)
	at := len(dst)
	if r.NoticeBasePlain {
		dst = append(dst, r.NoticeBase...)
	} else {
		dst = appendStringContent(dst, r.NoticeBase)
	}
	base := dst[at:len(dst):len(dst)] // a later append never writes into it
	dst = append(dst, "win"...)
	q := len(dst)
	nq.BidID, nq.CampaignID, nq.ImpID, nq.UserKey = b.ID, b.CampaignID, b.ImpID, b.UserKey
	nq.BidPrice, nq.Deal, nq.Explore = price, b.DealID, r.Explore && len(b.DealID) == 0
	if b.Qty > 0 {
		// A copy with the multiplier, in this frame with its digits.
		var qty [24]byte
		q := *nq
		q.Qty = strconv.AppendFloat(qty[:0], b.Qty, 'f', -1, 64)
		dst = AppendNoticeQuery(dst, &q)
	} else {
		dst = AppendNoticeQuery(dst, nq)
	}
	if r.NoticeKey != nil {
		sig := r.NoticeKey.Sign(dst[q:])
		dst = append(dst, "&sig="...)
		dst = AppendHex16(dst, sig)
	}
	dst = append(dst, "&price=${AUCTION_PRICE}"...)
	if r.MinToWin {
		dst = append(dst, "&mtw=${AUCTION_MIN_TO_WIN}"...)
	}
	if b.Qty > 0 {
		dst = append(dst, "&mul=${AUCTION_MULTIPLIER}"...)
	}
	query := dst[q:len(dst):len(dst)] // a later append never writes into it
	dst = append(dst, `","burl":"`...)
	dst = append(dst, base...)
	dst = append(dst, "bill"...)
	dst = append(dst, query...)
	dst = append(dst, `","lurl":"`...)
	dst = append(dst, base...)
	dst = append(dst, "loss"...)
	dst = append(dst, query...)
	return append(dst, `&loss=${AUCTION_LOSS}"`...)
}

const hexDigits = "0123456789abcdef"

// AppendHex16 appends v as 16 lower-case hex digits, leading zeros
// included: the user key of notice URLs, and bid ids' sequence numbers.
func AppendHex16(dst []byte, v uint64) []byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], hex8(uint32(v>>32)))
	binary.BigEndian.PutUint64(b[8:], hex8(uint32(v)))
	return append(dst, b[:]...)
}

// hex8 returns the eight hex digits of v as the bytes of a uint64, the
// first digit in the most significant byte, all eight at once.
func hex8(v uint32) uint64 {
	// Spread the nibbles one to a byte: halves, then quarters, then
	// nibbles move up, each into the low half of the next wider field.
	// The 64-bit constants are variables, as specialMask's are.
	x := uint64(v)
	x = (x | x<<16) & swarQuads
	x = (x | x<<8) & swarPairs
	x = (x | x<<4) & hexNibbles
	// A nibble of 10 or more carries into bit 4 when 6 is added (no byte
	// overflows); its digit is a letter, 'a'-'0'-10 = 39 further on.
	letters := (x + hexPlus6) >> 4 & hexLSB
	return x + hexZeros + letters*39
}

var (
	hexNibbles uint64 = 0x0f0f0f0f0f0f0f0f
	hexPlus6   uint64 = lsb * 6
	hexLSB     uint64 = lsb
	hexZeros   uint64 = lsb * '0'
)

// appendQueryEscape escapes s as net/url.QueryEscape does (space as '+'),
// without allocating. Its output never needs JSON escaping. Runs of
// unreserved bytes are copied at once; ids are plain, so the leading run
// is found 8 bytes a step, their table entries ANDed without a branch.
func appendQueryEscape(dst, s []byte) []byte {
	if queryPlain(s) {
		return append(dst, s...)
	}
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := (*[8]byte)(s[i:])
		t := &queryUnreserved
		if t[w[0]]&t[w[1]]&t[w[2]]&t[w[3]]&t[w[4]]&t[w[5]]&t[w[6]]&t[w[7]] == 0 {
			break
		}
	}
	start := 0
	for ; i < len(s); i++ {
		c := s[i]
		if queryUnreserved[c] != 0 {
			continue
		}
		dst = append(dst, s[start:i]...)
		if c == ' ' {
			dst = append(dst, '+')
		} else {
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&0xf])
		}
		start = i + 1
	}
	return append(dst, s[start:]...)
}

// queryPlain reports whether every byte of s is unreserved, as the values
// of notice queries mostly are, testing eight bytes a step and the last
// ones in the eight (or four) that end s, without a loop over bytes.
func queryPlain(s []byte) bool {
	t := &queryUnreserved
	n := len(s)
	switch {
	case n >= 8:
		for i := 0; i+8 <= n; i += 8 {
			w := (*[8]byte)(s[i:])
			if t[w[0]]&t[w[1]]&t[w[2]]&t[w[3]]&t[w[4]]&t[w[5]]&t[w[6]]&t[w[7]] == 0 {
				return false
			}
		}
		w := (*[8]byte)(s[n-8:])
		return t[w[0]]&t[w[1]]&t[w[2]]&t[w[3]]&t[w[4]]&t[w[5]]&t[w[6]]&t[w[7]] != 0
	case n >= 4:
		a, b := (*[4]byte)(s), (*[4]byte)(s[n-4:])
		return t[a[0]]&t[a[1]]&t[a[2]]&t[a[3]]&t[b[0]]&t[b[1]]&t[b[2]]&t[b[3]] != 0
	case n > 0:
		return t[s[0]]&t[s[n/2]]&t[s[n-1]] != 0
	}
	return true
}

const upperHex = "0123456789ABCDEF"

// queryUnreserved is 1 for the bytes net/url.QueryEscape leaves as they
// are, 0 for the others: numbers, so that 8 entries AND without a branch.
var queryUnreserved = func() (t [256]uint8) {
	for c := range 256 {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' {
			t[c] = 1
		}
	}
	return t
}()

// appendString appends s as a quoted JSON string.
func appendString(dst, s []byte) []byte {
	if len(s) == 1 && !strClass[s[0]] {
		// A one-byte id ("impid":"1"), without a copy call.
		return append(dst, '"', s[0], '"')
	}
	dst = append(dst, '"')
	dst = appendStringContent(dst, s)
	return append(dst, '"')
}

// appendStringContent appends the JSON-escaped content of s: quotes,
// backslashes and control characters are escaped, invalid UTF-8 becomes
// U+FFFD, and U+2028/U+2029 are escaped so the output is also valid
// JavaScript. Runs of safe bytes are found eight at a time (skipPlain, the
// parser's string scan: its stop bytes are these and the non-ASCII ones)
// and copied at once.
func appendStringContent(dst, s []byte) []byte {
	if jsonPlain(s) {
		return append(dst, s...)
	}
	start := 0
	for i := 0; i < len(s); {
		if i = skipPlain(s, i); i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf { // '"', '\\' or a control character
			dst = append(dst, s[start:i]...)
			dst = appendASCIIEscape(dst, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\u202`...)
			dst = append(dst, hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// jsonPlain reports whether s has none of the bytes that end the fast path
// of string scanning (see specialMask), as most strings of a response:
// eight bytes a step, the last ones in the eight (or four) that end s,
// without a loop over bytes. Borrows run up from the lowest flagged
// byte, and the overlapping bytes are plain, so a zero mask is exact.
func jsonPlain(s []byte) bool {
	n := len(s)
	switch {
	case n >= 8:
		for i := 0; i <= n-8; i += 8 {
			if specialMask(binary.LittleEndian.Uint64(s[i:])) != 0 {
				return false
			}
		}
		return specialMask(binary.LittleEndian.Uint64(s[n-8:])) == 0
	case n >= 4:
		x := uint64(binary.LittleEndian.Uint32(s)) | uint64(binary.LittleEndian.Uint32(s[n-4:]))<<32
		return specialMask(x) == 0
	case n > 0:
		return !(strClass[s[0]] || strClass[s[n/2]] || strClass[s[n-1]])
	}
	return true
}

func appendASCIIEscape(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}
