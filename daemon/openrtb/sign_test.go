package openrtb

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestNoticeKeyIsSipHash checks the key's byte order against the
// reference vector of the SipHash paper (Aumasson and Bernstein, appendix
// A): key 00..0f, message 00..0e.
func TestNoticeKeyIsSipHash(t *testing.T) {
	keys, err := ParseNoticeKeys("# rotated 2026-11-23\n\n000102030405060708090a0b0c0d0e0f\n  0F0E0D0C0B0A09080706050403020100  \n")
	if err != nil || len(keys) != 2 {
		t.Fatalf("ParseNoticeKeys: %d keys, %v; want 2", len(keys), err)
	}
	msg := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}
	if got := keys[0].Sign(msg); got != 0xa129ca6149be45e5 {
		t.Fatalf("signature %#x; want the reference 0xa129ca6149be45e5", got)
	}
	if keys[1].Sign(msg) == keys[0].Sign(msg) {
		t.Fatal("two keys sign alike")
	}
	for _, bad := range []string{"", "# none\n", "000102", "000102030405060708090a0b0c0d0e0g", "000102030405060708090a0b0c0d0e0f00"} {
		if _, err := ParseNoticeKeys(bad); err == nil {
			t.Errorf("ParseNoticeKeys(%q) succeeded", bad)
		}
	}
}

// TestAppendResponseSignsNotices: with a key, the three notice URLs of a
// bid carry sig, the key's signature of the query before it, which is the
// query AppendNoticeQuery writes from the bid's values, its price as bp
// included.
func TestAppendResponseSignsNotices(t *testing.T) {
	keys, err := ParseNoticeKeys("000102030405060708090a0b0c0d0e0f")
	if err != nil {
		t.Fatal(err)
	}
	r := testResponse()
	r.NoticeKey = &keys[0]
	for _, c := range []struct {
		billOnWin bool
		exchange  string
		want      string // between bp and deal
	}{
		{false, "", ""},
		{true, "", "&bo=w"},
		{false, "ssp-1", "&x=ssp-1"},
		{true, "/openrtb2/w", "&bo=w&x=%2Fopenrtb2%2Fw"},
	} {
		r.BillOnWin, r.Exchange = c.billOnWin, []byte(c.exchange)
		b := decodeResponse(t, AppendResponse(nil, r)).SeatBid[0].Bid[0]
		want := strconv.FormatUint(keys[0].Sign(AppendNoticeQuery(nil, &NoticeQuery{BidID: []byte("b&1"), CampaignID: []byte("c/7"), ImpID: []byte("imp 1"), UserKey: 0xabc, Cur: []byte("USD"), BidPrice: []byte("1.2345"), BillOnWin: c.billOnWin, Exchange: []byte(c.exchange), Deal: []byte("deal")})), 16)
		for _, u := range []string{b.NURL, b.BURL, b.LURL} {
			q, err := url.ParseQuery(u[strings.IndexByte(u, '?')+1:])
			if err != nil {
				t.Fatal(err)
			}
			if sig := q.Get("sig"); strings.TrimLeft(sig, "0") != want || len(sig) != 16 {
				t.Fatalf("notice %s: sig %q; want %016s", u, sig, want)
			}
			if !strings.Contains(u, "&cur=USD&bp=1.2345"+c.want+"&deal=deal&sig="+q.Get("sig")+"&price=${AUCTION_PRICE}") {
				t.Fatalf("notice %s: bp%s, deal and sig not between cur and price", u, c.want)
			}
			if q.Get("x") != c.exchange {
				t.Fatalf("notice %s: x %q; want %q", u, q.Get("x"), c.exchange)
			}
		}
	}
	// Explore marks the open-auction bid (the second), signed, and not
	// the deal bid (the first).
	r.BillOnWin, r.Exchange, r.Explore = true, []byte("ssp-1"), true
	d := decodeResponse(t, AppendResponse(nil, r)).SeatBid[0]
	if u := d.Bid[0].BURL; strings.Contains(u, "sx=") {
		t.Fatalf("the deal bid's notice %s is marked as exploring", u)
	}
	want := strconv.FormatUint(keys[0].Sign(AppendNoticeQuery(nil, &NoticeQuery{BidID: []byte("b2"), ImpID: []byte("i2"), Cur: []byte("USD"), BidPrice: []byte("0.1"), BillOnWin: true, Explore: true, Exchange: []byte("ssp-1"), WithDeal: true})), 16)
	for _, u := range []string{d.Bid[1].NURL, d.Bid[1].BURL, d.Bid[1].LURL} {
		if !strings.Contains(u, fmt.Sprintf("&bp=0.1&bo=w&sx=1&x=ssp-1&deal=&sig=%016s&price=", want)) {
			t.Fatalf("open bid's notice %s: want &bo=w&sx=1&x=ssp-1&deal= signed (%016s)", u, want)
		}
	}
	r.Explore = false
	if keys[0].Sign(AppendNoticeQuery(nil, &NoticeQuery{BidID: []byte("b")})) ==
		keys[0].Sign(AppendNoticeQuery(nil, &NoticeQuery{BidID: []byte("b"), Explore: true})) {
		t.Fatal("the signature does not cover sx")
	}
	if keys[0].Sign(AppendNoticeQuery(nil, &NoticeQuery{BidID: []byte("b"), Exchange: []byte("a")})) ==
		keys[0].Sign(AppendNoticeQuery(nil, &NoticeQuery{BidID: []byte("b"), Exchange: []byte("c")})) {
		t.Fatal("the signature does not cover x")
	}
	if keys[0].Sign(AppendNoticeQuery(nil, &NoticeQuery{BidID: []byte("b"), Deal: []byte("a")})) ==
		keys[0].Sign(AppendNoticeQuery(nil, &NoticeQuery{BidID: []byte("b"), Deal: []byte("c")})) {
		t.Fatal("the signature does not cover deal")
	}
	if keys[0].Sign(AppendNoticeQuery(nil, &NoticeQuery{BidID: []byte("b")})) ==
		keys[0].Sign(AppendNoticeQuery(nil, &NoticeQuery{BidID: []byte("b"), WithDeal: true})) {
		t.Fatal("the signature does not cover an empty deal")
	}
	r.NoticeKey, r.BillOnWin, r.Exchange = nil, false, nil
	if b := decodeResponse(t, AppendResponse(nil, r)).SeatBid[0].Bid[0]; strings.Contains(b.BURL, "sig=") {
		t.Fatalf("unsigned notice %s carries sig", b.BURL)
	}
}

// TestNoticeQueryDealIsALaterField: deal, added after the other fields,
// is written as AppendNoticeField writes a field, empty too: an rtbd from
// before deal signs it as it comes, so that after a rollback the notices
// of the bids a newer one made still verify.
func TestNoticeQueryDealIsALaterField(t *testing.T) {
	q := NoticeQuery{
		BidID: []byte("b 1"), CampaignID: []byte("c"), ImpID: []byte("1"), UserKey: 7, Cur: []byte("USD"),
		BidPrice: []byte("2.5"), BillOnWin: true, Explore: true, Exchange: []byte("ssp/1"),
	}
	before := AppendNoticeQuery(nil, &q)
	if strings.Contains(string(before), "deal") {
		t.Fatalf("no deal and no WithDeal: query %s has deal", before)
	}
	q.WithDeal = true
	for _, deal := range []string{"", "pg-1", "pg 1/&=?", "d\u00e9al%"} {
		q.Deal = []byte(deal)
		got := AppendNoticeQuery(nil, &q)
		if want := AppendNoticeField(slices.Clip(before), []byte("deal"), q.Deal); string(got) != string(want) {
			t.Fatalf("deal %q: query %s; want %s", deal, got, want)
		}
		v, err := url.ParseQuery(string(got[1:]))
		if err != nil || v.Get("deal") != deal {
			t.Fatalf("deal %q: query %s reads back deal %q (%v)", deal, got, v.Get("deal"), err)
		}
	}
}

// TestNoticeQueryGolden pins the signed bytes of a notice with every
// field, and their signature, as literals: hosts of one fleet run two
// versions during a rollout, and the notices of one's bids must verify
// on the other. A change here breaks that; the tests above write their
// expected queries with AppendNoticeQuery itself and would not see it.
func TestNoticeQueryGolden(t *testing.T) {
	keys, err := ParseNoticeKeys("000102030405060708090a0b0c0d0e0f")
	if err != nil {
		t.Fatal(err)
	}
	q := AppendNoticeQuery(nil, &NoticeQuery{BidID: []byte("b&1"), CampaignID: []byte("c/7"), ImpID: []byte("imp 1"), UserKey: 0xabc,
		Cur: []byte("USD"), BidPrice: []byte("1.2345"), BillOnWin: true, Explore: true, Exchange: []byte("ssp-1"), Deal: []byte("deal é"), Qty: []byte("2.5")})
	const want = "?bid=b%261&cid=c%2F7&imp=imp+1&uk=0000000000000abc&cur=USD&bp=1.2345&bo=w&sx=1&x=ssp-1&deal=deal+%C3%A9&qm=2.5"
	if string(q) != want {
		t.Fatalf("query\n%s\nwant\n%s", q, want)
	}
	if sig := keys[0].Sign(q); sig != 0x52b730e00bccebef {
		t.Fatalf("signature %#x; want 0x52b730e00bccebef", sig)
	}
}

// TestAppendResponseNoticeQty: a bid with a qty multiplier carries qm,
// signed, and mul in its three notices, and the bids after it carry
// neither: each bid's notices have its own values only.
func TestAppendResponseNoticeQty(t *testing.T) {
	keys, err := ParseNoticeKeys("000102030405060708090a0b0c0d0e0f")
	if err != nil {
		t.Fatal(err)
	}
	r := testResponse()
	r.NoticeKey, r.Explore = &keys[0], true
	r.Bids[0].Qty = 14.2
	r.Bids = append(r.Bids, Bid{Seat: []byte("rtbd"), ID: []byte("b3"), ImpID: []byte("i3"), Price: 2})
	d := decodeResponse(t, AppendResponse(nil, r)).SeatBid[0]
	for i, c := range []struct {
		q   NoticeQuery
		mul string
	}{
		{NoticeQuery{BidID: []byte("b&1"), CampaignID: []byte("c/7"), ImpID: []byte("imp 1"), UserKey: 0xabc, Cur: []byte("USD"),
			BidPrice: []byte("1.2345"), Deal: []byte("deal"), WithDeal: true, Qty: []byte("14.2")}, "&mul=${AUCTION_MULTIPLIER}"},
		{NoticeQuery{BidID: []byte("b2"), ImpID: []byte("i2"), Cur: []byte("USD"), BidPrice: []byte("0.1"), Explore: true, WithDeal: true}, ""},
		{NoticeQuery{BidID: []byte("b3"), ImpID: []byte("i3"), Cur: []byte("USD"), BidPrice: []byte("2"), Explore: true, WithDeal: true}, ""},
	} {
		q := AppendNoticeQuery(nil, &c.q)
		want := fmt.Sprintf("%s&sig=%016x&price=${AUCTION_PRICE}%s", q, keys[0].Sign(q), c.mul)
		b := d.Bid[i]
		for _, u := range []struct{ got, want string }{
			{b.NURL, "https://n.example.com/rtb/win" + want},
			{b.BURL, "https://n.example.com/rtb/bill" + want},
			{b.LURL, "https://n.example.com/rtb/loss" + want + "&loss=${AUCTION_LOSS}"},
		} {
			if u.got != u.want {
				t.Fatalf("bid %d: notice %s; want %s", i, u.got, u.want)
			}
		}
	}
}
