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

// AppendNoticeQuery appends the canonical query of a notice, the part of
// its URL that is signed: "?bid=ID&cid=CID&imp=IMPID&uk=UK&cur=CUR&bp=BP&bo=w&sx=1&x=EXCHANGE",
// each value query-escaped and UK as 16 lower-case hex digits; "&bp=BP"
// only when bp is not empty, "&bo=w" only with billOnWin, "&sx=1" only
// with explore, "&x=EXCHANGE" only when exchange is not empty. BP is the
// bid's price, as the response's "price" writes it: the notice handler
// charges no more than it (see package notice), and a signature covers
// it. "bo=w" has the bid billed at its win notice (see
// [Response.BillOnWin]), "sx=1" marks a bid sent unshaded to learn the
// exchange's shading (see [Response.Explore]), and x names the exchange
// the bid was made on (see [Response.Exchange]). The bid's
// notice URLs carry the query as written; the notice handler writes it
// again from the values it parsed, to verify the signature.
//
// A field added to the query later goes after x, written as
// [AppendNoticeField] writes it: a notice handler that does not know the
// field signs it as it comes, so that the notices of a newer rtbd's bids
// still verify on a host rolled back to this one.
func AppendNoticeQuery(dst, bid, cid, imp []byte, uk uint64, cur, bp []byte, billOnWin, explore bool, exchange []byte) []byte {
	dst = append(dst, "?bid="...)
	dst = appendQueryEscape(dst, bid)
	dst = append(dst, "&cid="...)
	dst = appendQueryEscape(dst, cid)
	dst = append(dst, "&imp="...)
	dst = appendQueryEscape(dst, imp)
	dst = append(dst, "&uk="...)
	dst = AppendHex16(dst, uk)
	dst = append(dst, "&cur="...)
	dst = appendQueryEscape(dst, cur)
	if len(bp) != 0 {
		dst = append(dst, "&bp="...)
		dst = appendQueryEscape(dst, bp)
	}
	if billOnWin {
		dst = append(dst, "&bo=w"...)
	}
	if explore {
		dst = append(dst, "&sx=1"...)
	}
	if len(exchange) != 0 {
		dst = append(dst, "&x="...)
		dst = appendQueryEscape(dst, exchange)
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
