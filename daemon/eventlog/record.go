package eventlog

import (
	"encoding/binary"
	"errors"
	"math"
	"strconv"
)

// Kind says what a [Record] describes.
type Kind uint8

// Record kinds. The numeric values are written to disk: append, never renumber.
const (
	// KindBid is a bid sent in a response.
	KindBid Kind = iota
	// KindNoBid is a request answered without a bid; Reason says why.
	KindNoBid
	// KindWin is a win notice (nurl).
	KindWin
	// KindBill is a billing notice (burl); its price moves spend.
	KindBill
	// KindLoss is a loss notice (lurl).
	KindLoss

	numKinds
)

var kindNames = [numKinds]string{"bid", "nobid", "win", "bill", "loss"}

// String returns the kind's name as the reader prints it: "bid", "nobid",
// "win", "bill" or "loss".
func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Maximum lengths of the inline byte fields of a [Record]. Longer values are
// truncated by the setters.
const (
	MaxRequestID  = 64
	MaxBidID      = 48
	MaxCampaignID = 64
	MaxImpID      = 32
	MaxExchange   = 64
	MaxDealID     = 64
)

// Record is one event. It has a fixed size and no pointers, so that
// [Log.Append] copies it into the ring without allocating. The zero value is
// an empty bid record; set the byte fields with the setters, which copy and
// truncate. Records with the same content compare equal with ==.
type Record struct {
	// TimeUnixNano is the event time in nanoseconds since the Unix epoch.
	TimeUnixNano int64
	// Price is the bid or notice price in CPM, in currency Cur: for a win
	// or billing notice, what it charged.
	Price float64
	// StatedPrice is, for a win or billing notice whose price was above
	// the bid's, the price the exchange stated; Price is then the bid's
	// price, as the notice was charged (capped; see package notice). 0
	// otherwise.
	StatedPrice float64
	// MinToWin is a notice's mtw (${AUCTION_MIN_TO_WIN}, the lowest bid
	// that would have won; exchanges send it in billing notices); 0 when
	// it carried none.
	MinToWin float64
	// BidPrice is, for a notice, the price of its bid as the notice URL
	// carries it (bp), in Cur; 0 when unknown, and for bids and no-bids.
	BidPrice float64
	// DealKnown is, for a notice, whether its URL named its bid's deal:
	// DealID is then that deal, empty for a bid in the open auction. It is
	// false for the notices of bids made before rtbd named deals in notice
	// URLs, whose deal only the bid's record has, and for bids and no-bids.
	DealKnown bool
	// Kind is the record type.
	Kind Kind
	// Reason is a no-bid record's reason code, whose names belong to
	// the decision package (see [Reader.ReasonNames]), and a loss
	// record's loss reason, the code of OpenRTB's list (102: lost to a
	// higher bid) its notice carried: 255 for 255 and above (an
	// exchange's own codes), 0 when it carried none. LossCode has the
	// code whole.
	Reason uint8
	// LossCode is a loss record's loss reason as its notice carried it,
	// whatever its size (an exchange's own codes are 1000 and above);
	// -1 when it carried none, or one that could not be read. A record
	// written before rtbd logged it has its Reason here. 0 in others.
	LossCode int32
	// Unpriced is whether a win or billing notice came without a price
	// it could be charged: Price is then its bid's (see package notice).
	Unpriced bool
	// Uncharged is whether a billing notice moved no spend: the host
	// did not know its campaign (see package notice).
	Uncharged bool
	// Cur is the ISO-4217 currency of Price, e.g. {'U','S','D'}.
	Cur [3]byte

	requestIDLen  uint8
	bidIDLen      uint8
	campaignIDLen uint8
	impIDLen      uint8
	exchangeLen   uint8
	dealIDLen     uint8
	requestID     [MaxRequestID]byte
	bidID         [MaxBidID]byte
	campaignID    [MaxCampaignID]byte
	impID         [MaxImpID]byte
	exchange      [MaxExchange]byte
	dealID        [MaxDealID]byte
}

// SetRequestID copies b (at most [MaxRequestID] bytes) into r.
func (r *Record) SetRequestID(b []byte) { setField(r.requestID[:], &r.requestIDLen, b) }

// SetBidID copies b (at most [MaxBidID] bytes) into r.
func (r *Record) SetBidID(b []byte) { setField(r.bidID[:], &r.bidIDLen, b) }

// SetCampaignID copies b (at most [MaxCampaignID] bytes) into r.
func (r *Record) SetCampaignID(b []byte) { setField(r.campaignID[:], &r.campaignIDLen, b) }

// SetImpID copies b (at most [MaxImpID] bytes) into r.
func (r *Record) SetImpID(b []byte) { setField(r.impID[:], &r.impIDLen, b) }

// SetExchange copies b (at most [MaxExchange] bytes) into r: the name of
// the exchange (bid endpoint) the bid was made on or the notice names.
func (r *Record) SetExchange(b []byte) { setField(r.exchange[:], &r.exchangeLen, b) }

// SetDealID copies b (at most [MaxDealID] bytes) into r: the deal a bid
// was made through, or that of the bid a notice is for.
func (r *Record) SetDealID(b []byte) { setField(r.dealID[:], &r.dealIDLen, b) }

// SetRequestIDString is [Record.SetRequestID] for a string; it does not allocate.
func (r *Record) SetRequestIDString(s string) { setFieldString(r.requestID[:], &r.requestIDLen, s) }

// SetBidIDString is [Record.SetBidID] for a string; it does not allocate.
func (r *Record) SetBidIDString(s string) { setFieldString(r.bidID[:], &r.bidIDLen, s) }

// SetCampaignIDString is [Record.SetCampaignID] for a string; it does not allocate.
func (r *Record) SetCampaignIDString(s string) { setFieldString(r.campaignID[:], &r.campaignIDLen, s) }

// SetImpIDString is [Record.SetImpID] for a string; it does not allocate.
func (r *Record) SetImpIDString(s string) { setFieldString(r.impID[:], &r.impIDLen, s) }

// SetExchangeString is [Record.SetExchange] for a string; it does not allocate.
func (r *Record) SetExchangeString(s string) { setFieldString(r.exchange[:], &r.exchangeLen, s) }

// setField copies b into dst, truncating, and zeroes what remains of the
// previous value, so that bytes past the length are always zero and records
// with the same content compare equal with ==.
func setField(dst []byte, n *uint8, b []byte) {
	m := copy(dst, b)
	if old := int(*n); old > m {
		clear(dst[m:old])
	}
	*n = uint8(m)
}

func setFieldString(dst []byte, n *uint8, s string) {
	m := copy(dst, s)
	if old := int(*n); old > m {
		clear(dst[m:old])
	}
	*n = uint8(m)
}

// SetCur sets Cur from a currency code; anything but 3 bytes clears it.
func (r *Record) SetCur(s string) {
	r.Cur = [3]byte{}
	if len(s) == 3 {
		copy(r.Cur[:], s)
	}
}

// RequestID returns the stored request id. The slice aliases r: it is valid
// until r changes. Do not retain it.
func (r *Record) RequestID() []byte { return r.requestID[:r.requestIDLen] }

// BidID returns the stored bid id, aliasing r like [Record.RequestID].
func (r *Record) BidID() []byte { return r.bidID[:r.bidIDLen] }

// CampaignID returns the stored campaign id, aliasing r like [Record.RequestID].
func (r *Record) CampaignID() []byte { return r.campaignID[:r.campaignIDLen] }

// ImpID returns the stored imp id, aliasing r like [Record.RequestID].
func (r *Record) ImpID() []byte { return r.impID[:r.impIDLen] }

// Exchange returns the stored exchange name, aliasing r like
// [Record.RequestID]. It is empty in records written before rtbd logged it.
func (r *Record) Exchange() []byte { return r.exchange[:r.exchangeLen] }

// DealID returns the stored deal id, aliasing r like [Record.RequestID].
func (r *Record) DealID() []byte { return r.dealID[:r.dealIDLen] }

// CurString returns Cur without trailing zero bytes ("" when unset).
func (r *Record) CurString() string { return string(r.cur()) }

// cur is Cur without trailing zero bytes, aliasing r.
func (r *Record) cur() []byte {
	n := 0
	for n < len(r.Cur) && r.Cur[n] != 0 {
		n++
	}
	return r.Cur[:n]
}

// On-disk record frame, little endian, inside a decompressed block:
//
//	kind u8, reason u8, time i64, price f64 bits, cur [3]byte,
//	then four (len u8, bytes) fields: request id, bid id, campaign id, imp id,
//	then, when kind has frameMore set, two more fields: exchange, deal id,
//	and stated price f64 bits, min to win f64 bits,
//	then, when kind also has frameTail set, the tail: len u8, bytes.
//
// rtbd writes every frame with frameMore and frameTail; frames without
// them (written before those were logged) decode with their fields empty
// and zero. The tail holds the fields added since, in order: bid price
// f64 bits, flags u8 (bit 0: DealKnown). A later field goes at its end,
// and a reader takes the fields it knows from the tail and skips the
// rest, so that a segment written by a newer rtbd stays readable by an
// older one (from this format on). Since: flags bit 1 Unpriced, bit 2
// Uncharged; then the loss code, i32.
const (
	recordFixedLen = 1 + 1 + 8 + 8 + 3
	frameMore      = 0x80
	frameTail      = 0x40
	// tailLen is the length of the tail this rtbd writes.
	tailLen = 13
	// The flags of the tail.
	tailDealKnown = 1
	tailUnpriced  = 2
	tailUncharged = 4
)

// appendRecord appends the frame of r to dst.
func appendRecord(dst []byte, r *Record) []byte {
	dst = append(dst, byte(r.Kind)|frameMore|frameTail, r.Reason)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(r.TimeUnixNano))
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(r.Price))
	dst = append(dst, r.Cur[:]...)
	dst = appendField(dst, r.RequestID())
	dst = appendField(dst, r.BidID())
	dst = appendField(dst, r.CampaignID())
	dst = appendField(dst, r.ImpID())
	dst = appendField(dst, r.Exchange())
	dst = appendField(dst, r.DealID())
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(r.StatedPrice))
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(r.MinToWin))
	dst = append(dst, tailLen)
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(r.BidPrice))
	var flags byte
	if r.DealKnown {
		flags |= tailDealKnown
	}
	if r.Unpriced {
		flags |= tailUnpriced
	}
	if r.Uncharged {
		flags |= tailUncharged
	}
	dst = append(dst, flags)
	return binary.LittleEndian.AppendUint32(dst, uint32(r.LossCode))
}

func appendField(dst, b []byte) []byte {
	dst = append(dst, byte(len(b)))
	return append(dst, b...)
}

var errBadFrame = errors.New("eventlog: malformed record frame")

// decodeRecord decodes one frame from src into r and returns the rest.
func decodeRecord(r *Record, src []byte) ([]byte, error) {
	if len(src) < recordFixedLen {
		return src, errBadFrame
	}
	kind, more, tail := Kind(src[0]&^(frameMore|frameTail)), src[0]&frameMore != 0, src[0]&frameTail != 0
	if kind >= numKinds || tail && !more {
		return src, errBadFrame
	}
	r.Kind, r.Reason = kind, src[1]
	r.TimeUnixNano = int64(binary.LittleEndian.Uint64(src[2:]))
	r.Price = math.Float64frombits(binary.LittleEndian.Uint64(src[10:]))
	copy(r.Cur[:], src[18:21])
	src = src[recordFixedLen:]
	var ok bool
	if src, ok = decodeField(r.requestID[:], &r.requestIDLen, src); !ok {
		return src, errBadFrame
	}
	if src, ok = decodeField(r.bidID[:], &r.bidIDLen, src); !ok {
		return src, errBadFrame
	}
	if src, ok = decodeField(r.campaignID[:], &r.campaignIDLen, src); !ok {
		return src, errBadFrame
	}
	if src, ok = decodeField(r.impID[:], &r.impIDLen, src); !ok {
		return src, errBadFrame
	}
	if !more {
		setField(r.exchange[:], &r.exchangeLen, nil)
		setField(r.dealID[:], &r.dealIDLen, nil)
		r.StatedPrice, r.MinToWin, r.BidPrice, r.DealKnown = 0, 0, 0, false
		r.Unpriced, r.Uncharged, r.LossCode = false, false, r.legacyLossCode()
		return src, nil
	}
	if src, ok = decodeField(r.exchange[:], &r.exchangeLen, src); !ok {
		return src, errBadFrame
	}
	if src, ok = decodeField(r.dealID[:], &r.dealIDLen, src); !ok {
		return src, errBadFrame
	}
	if len(src) < 16 {
		return src, errBadFrame
	}
	r.StatedPrice = math.Float64frombits(binary.LittleEndian.Uint64(src))
	r.MinToWin = math.Float64frombits(binary.LittleEndian.Uint64(src[8:]))
	src, r.BidPrice, r.DealKnown = src[16:], 0, false
	r.Unpriced, r.Uncharged, r.LossCode = false, false, r.legacyLossCode()
	if !tail {
		return src, nil
	}
	if len(src) < 1 || len(src) < 1+int(src[0]) {
		return src, errBadFrame
	}
	t, rest := src[1:1+int(src[0])], src[1+int(src[0]):]
	if len(t) >= 8 {
		r.BidPrice = math.Float64frombits(binary.LittleEndian.Uint64(t))
	}
	if len(t) >= 9 {
		r.DealKnown = t[8]&tailDealKnown != 0
		r.Unpriced = t[8]&tailUnpriced != 0
		r.Uncharged = t[8]&tailUncharged != 0
	}
	if len(t) >= 13 {
		r.LossCode = int32(binary.LittleEndian.Uint32(t[9:]))
	}
	return rest, nil
}

// legacyLossCode is the LossCode of a record written without one: its
// Reason for a loss.
func (r *Record) legacyLossCode() int32 {
	if r.Kind == KindLoss {
		return int32(r.Reason)
	}
	return 0
}

func decodeField(dst []byte, n *uint8, src []byte) ([]byte, bool) {
	if len(src) < 1 {
		return src, false
	}
	l := int(src[0])
	if l > len(dst) || len(src) < 1+l {
		return src, false
	}
	setField(dst, n, src[1:1+l])
	return src[1+l:], true
}
