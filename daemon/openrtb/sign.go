package openrtb

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/dchest/siphash"

	"github.com/rtbd/rtbd/daemon/secret"
)

// NoticeKey signs the notice URLs of bids (see [Response.NoticeKey]) with
// SipHash-2-4, a keyed hash made for short messages: without the key, a
// signature of other values cannot be made, so a notice for a bid never
// made, or a made one's campaign, imp or user changed, is refused. The
// hosts that bid and those that receive the notices share the key.
type NoticeKey struct{ k0, k1 uint64 }

// Sign returns the signature of a notice's canonical query (see
// [AppendNoticeQuery]).
func (k *NoticeKey) Sign(query []byte) uint64 { return siphash.Hash(k.k0, k.k1, query) }

// ParseNoticeKeys reads notice keys, one per line as 32 hex digits (128
// bits: `openssl rand -hex 16`); blank lines and lines that start with '#'
// are skipped. The first key signs, and every one verifies: to rotate,
// add the new key second on every host, then move it first, then drop
// the old one.
func ParseNoticeKeys(text string) ([]NoticeKey, error) {
	var keys []NoticeKey
	for n, line := range secret.Lines(text) {
		b, err := hex.DecodeString(line)
		if err != nil || len(b) != 16 {
			return nil, fmt.Errorf("line %d: a notice key is 32 hex digits", n)
		}
		var k NoticeKey
		for i := range 8 {
			k.k0 |= uint64(b[i]) << (8 * i)
			k.k1 |= uint64(b[8+i]) << (8 * i)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no notice key")
	}
	return keys, nil
}

// NoticeQuery holds the fields of a bid's notice URLs that are signed
// (see [AppendNoticeQuery]).
type NoticeQuery struct {
	// BidID, CampaignID, ImpID and Cur are the bid's id, campaign, imp
	// and currency; UserKey its user's key (0 when unknown).
	BidID, CampaignID, ImpID []byte
	UserKey                  uint64
	Cur                      []byte
	// BidPrice is the bid's price, as the response's "price" writes it:
	// the notice handler charges no more than it (see package notice),
	// and a signature covers it. Empty: not written.
	BidPrice []byte
	// BillOnWin has the bid billed at its win notice (see
	// [Response.BillOnWin]).
	BillOnWin bool
	// Explore marks a bid sent unshaded to learn the exchange's shading
	// (see [Response.Explore]).
	Explore bool
	// Exchange names the exchange the bid was made on (see
	// [Response.Exchange]); empty for the default one.
	Exchange []byte
	// Deal is the id of the deal the bid was made through; empty for a
	// bid in the open auction. Notices carry it so that their records
	// name the deal (see package eventlog).
	Deal []byte
	// WithDeal writes "&deal=" when Deal is empty too. rtbd's bids all
	// carry it, so that a notice of an open-auction bid ("deal=") is told
	// from one of a bid made before rtbd named deals (no deal field).
	WithDeal bool
	// Qty is the imp's qty.multiplier as a decimal (see [Bid.Qty]);
	// empty: not written. It comes last: an rtbd from before it verifies
	// it as a field it does not know.
	Qty []byte
}

// AppendNoticeQuery appends q's canonical query, the part of a notice URL
// that is signed: "?bid=ID&cid=CID&imp=IMPID&uk=UK&cur=CUR&bp=BP&bo=w&sx=1&x=EXCHANGE&deal=DEAL",
// each value query-escaped and UK as 16 lower-case hex digits; "&bp=BP"
// only when BidPrice is not empty, "&bo=w" only with BillOnWin, "&sx=1"
// only with Explore, "&x=EXCHANGE" only when Exchange is not empty, and
// "&deal=DEAL" only when Deal is not empty or WithDeal is set. The
// bid's notice URLs carry the query as written; the notice handler
// writes it again from the values it parsed, to verify the signature.
//
// A field added to the query later goes after the others, written as
// [AppendNoticeField] writes it: a notice handler that does not know the
// field signs it as it comes, so that the notices of a newer rtbd's bids
// still verify on a host rolled back to this one. Deal was the first
// such field: rtbd from before it signs deal as it comes.
func AppendNoticeQuery(dst []byte, q *NoticeQuery) []byte {
	dst = append(dst, "?bid="...)
	dst = appendQueryEscape(dst, q.BidID)
	dst = append(dst, "&cid="...)
	dst = appendQueryEscape(dst, q.CampaignID)
	dst = append(dst, "&imp="...)
	dst = appendQueryEscape(dst, q.ImpID)
	dst = append(dst, "&uk="...)
	dst = AppendHex16(dst, q.UserKey)
	dst = append(dst, "&cur="...)
	dst = appendQueryEscape(dst, q.Cur)
	if len(q.BidPrice) != 0 {
		dst = append(dst, "&bp="...)
		dst = appendQueryEscape(dst, q.BidPrice)
	}
	if q.BillOnWin {
		dst = append(dst, "&bo=w"...)
	}
	if q.Explore {
		dst = append(dst, "&sx=1"...)
	}
	if len(q.Exchange) != 0 {
		dst = append(dst, "&x="...)
		dst = appendQueryEscape(dst, q.Exchange)
	}
	if len(q.Deal) != 0 {
		dst = append(dst, "&deal="...)
		dst = appendQueryEscape(dst, q.Deal)
	} else if q.WithDeal {
		dst = append(dst, "&deal="...)
	}
	if len(q.Qty) != 0 {
		dst = append(dst, "&qm="...)
		dst = appendQueryEscape(dst, q.Qty)
	}
	return dst
}

// AppendNoticeField appends "&KEY=VALUE", each query-escaped: the form of
// a signed notice field that [AppendNoticeQuery] does not write, which a
// notice handler appends after the fields it knows to verify a signature.
func AppendNoticeField(dst, key, value []byte) []byte {
	dst = append(dst, '&')
	dst = appendQueryEscape(dst, key)
	dst = append(dst, '=')
	return appendQueryEscape(dst, value)
}
