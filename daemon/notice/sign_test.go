package notice

import (
	"fmt"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/rtbd/rtbd/daemon/openrtb"
)

// signedQuery is the query of a notice of bid (campaign "c/1", imp "i1",
// user 0xbeef, USD, bid price 3) at price, signed with key as a bid's
// notice URLs are, and then changed by edit.
func signedQuery(key *openrtb.NoticeKey, bid, price string, edit func(string) string) string {
	q := openrtb.AppendNoticeQuery(nil, &openrtb.NoticeQuery{BidID: []byte(bid), CampaignID: []byte("c/1"), ImpID: []byte("i1"), UserKey: 0xbeef, Cur: []byte("USD"), BidPrice: []byte("3")})
	return edit(fmt.Sprintf("%s&sig=%016x&price=%s", q[1:], key.Sign(q), price))
}

// TestSignedNotices: with keys, a notice is processed when one of them
// signed it, refused as forged when its values changed after signing or
// its sig is not one, and processed and counted as unsigned without sig,
// unless signatures are required.
func TestSignedNotices(t *testing.T) {
	keys, err := openrtb.ParseNoticeKeys("000102030405060708090a0b0c0d0e0f\n" + strings.Repeat("ab", 16))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := openrtb.ParseNoticeKeys(strings.Repeat("cd", 16))
	same := func(q string) string { return q }
	serve := func(h *Handler, q string) (int, string) {
		t.Helper()
		return serveDirect(t, h, "GET", "/bill?"+q, "")
	}
	sp := &fakeSpender{}
	h := New(Config{Keys: keys}, sp, nil)
	for i, k := range keys { // the signing key, and the next one of a rotation
		q := signedQuery(&k, fmt.Sprint("b ", i), "1.5", same)
		if code, body := serve(h, q); code != 204 || sp.count() != i+1 {
			t.Fatalf("notice signed with key %d: %d %q, %d bills; want 204 and billed", i, code, body, sp.count())
		}
	}
	forged := noticesTotal[KindBill][resultForged].Get()
	for _, q := range []string{
		signedQuery(&other[0], "b 1", "1.5", same),
		signedQuery(&keys[0], "b 1", "1.5", func(q string) string { return strings.Replace(q, "cid=c%2F1", "cid=c%2F2", 1) }),
		signedQuery(&keys[0], "b 1", "1.5", func(q string) string { return strings.Replace(q, "imp=i1", "imp=i2", 1) }),
		signedQuery(&keys[0], "b 1", "1.5", func(q string) string { return strings.Replace(q, "uk=000000000000beef", "uk=000000000000beee", 1) }),
		signedQuery(&keys[0], "b 1", "1.5", func(q string) string { return strings.Replace(q, "bid=b+1", "bid=b+2", 1) }),
		signedQuery(&keys[0], "b 1", "1.5", func(q string) string { return strings.Replace(q, "bp=3", "bp=30", 1) }),
		signedQuery(&keys[0], "b 1", "1.5", func(q string) string { return strings.Replace(q, "&bp=3", "", 1) }),
		signedQuery(&keys[0], "b 1", "1.5", func(q string) string { return strings.Replace(q, "&bp=3", "&bp=3&bo=w", 1) }),
		signedQuery(&keys[0], "b 1", "1.5", func(q string) string { return strings.Replace(q, "&bp=3", "&bp=3&x=ssp-1", 1) }),
		signedQuery(&keys[0], "b 1", "1.5", func(q string) string { return q[:strings.Index(q, "sig=")+4] + "zz" + q[strings.Index(q, "&price"):] }),
	} {
		if code, body := serve(h, q); code != 400 || body != reasonBadSig {
			t.Fatalf("%s: %d %q; want 400 %q", q, code, body, reasonBadSig)
		}
	}
	if got := noticesTotal[KindBill][resultForged].Get() - forged; got != 10 || sp.count() != 2 {
		t.Fatalf("forged counted %d times, %d bills; want 10 and no bill", got, sp.count())
	}
	// The price is the exchange's: it is not signed.
	if code, _ := serve(h, signedQuery(&keys[0], "b 3", "2.5", same)); code != 204 || sp.count() != 3 {
		t.Fatalf("a signed notice at another price: %d; want 204", code)
	}

	unsigned := noticesUnsigned[KindBill].Get()
	if code, _ := serve(h, "bid=u1&cid=c&price=1"); code != 204 || noticesUnsigned[KindBill].Get() != unsigned+1 {
		t.Fatalf("unsigned notice: %d, counted %d; want 204, counted once", code, noticesUnsigned[KindBill].Get()-unsigned)
	}
	strict := New(Config{Keys: keys, RequireSigned: true}, sp, nil)
	if code, body := serve(strict, "bid=u2&cid=c&price=1"); code != 400 || body != reasonMissingSig {
		t.Fatalf("unsigned notice when required: %d %q; want 400 %q", code, body, reasonMissingSig)
	}
	// Without keys, sig is not looked at.
	if code, _ := serve(New(Config{}, sp, nil), "bid=u3&cid=c&sig=zz&price=1"); code != 204 {
		t.Fatalf("a notice with a bad sig and no keys: %d; want 204", code)
	}
}

// TestNoticesOfANewerRtbd: a newer rtbd signs the fields it adds after
// the others (openrtb.AppendNoticeQuery). This one signs them as they
// come, so their notices are billed here (after a rollback); a field
// slipped in before sig without the key is refused, one after sig is
// not signed and is ignored, and the same holds for a POSTed form.
func TestNoticesOfANewerRtbd(t *testing.T) {
	keys, err := openrtb.ParseNoticeKeys("000102030405060708090a0b0c0d0e0f")
	if err != nil {
		t.Fatal(err)
	}
	// newer returns bid's notice query as a newer rtbd signs it, with two
	// more fields, one that needs escaping ("seat") and "zz", then edited.
	newer := func(bid string, edit func(string) string) string {
		q := openrtb.AppendNoticeQuery(nil, &openrtb.NoticeQuery{BidID: []byte(bid), CampaignID: []byte("c/1"), ImpID: []byte("i1"), UserKey: 0xbeef, Cur: []byte("USD"), BidPrice: []byte("3"), Exchange: []byte("ssp")})
		q = openrtb.AppendNoticeField(q, []byte("seat"), []byte("pg 1/&"))
		q = openrtb.AppendNoticeField(q, []byte("zz"), []byte("9"))
		return edit(fmt.Sprintf("%s&sig=%016x&price=1.5", q[1:], keys[0].Sign(q)))
	}
	same := func(q string) string { return q }
	sp := &fakeSpender{}
	h := New(Config{Keys: keys, Exchanges: []string{"ssp"}}, sp, nil)
	for i, q := range []string{
		newer("n1", same),
		newer("n2", func(q string) string { return q + "&ssp_extra=1" }), // after sig: not signed
	} {
		if code, body := serveDirect(t, h, "GET", "/bill?"+q, ""); code != 204 || sp.count() != i+1 {
			t.Fatalf("%s: %d %q, %d bills; want 204 and billed", q, code, body, sp.count())
		}
	}
	if q := newer("n3", same); !strings.Contains(q, "&seat=pg+1%2F%26&zz=9&sig=") {
		t.Fatalf("query %s: the later fields are not where a newer rtbd writes them", q)
	}
	if code, body := serveDirect(t, h, "POST", "/bill", newer("n3", same)); code != 204 || sp.count() != 3 {
		t.Fatalf("POSTed form: %d %q, %d bills; want 204 and billed", code, body, sp.count())
	}
	for _, q := range []string{
		newer("n4", func(q string) string { return strings.Replace(q, "pg+1", "pg+2", 1) }),
		newer("n4", func(q string) string { return strings.Replace(q, "&zz=9", "", 1) }),
		newer("n4", func(q string) string { return strings.Replace(q, "&sig=", "&more=1&sig=", 1) }),
		newer("n4", func(q string) string { return strings.Replace(q, "&seat=", "&more=1&seat=", 1) }),
		signedQuery(&keys[0], "n4", "1.5", func(q string) string { return strings.Replace(q, "&sig=", "&seat=pg&sig=", 1) }),
	} {
		if code, body := serveDirect(t, h, "GET", "/bill?"+q, ""); code != 400 || body != reasonBadSig {
			t.Fatalf("%s: %d %q; want 400 %q", q, code, body, reasonBadSig)
		}
	}
	if sp.count() != 3 {
		t.Fatalf("%d bills; want the 3 signed ones", sp.count())
	}
}

// TestDealInNotices: the deal a bid's notice URLs name, signed, reaches
// the Sink with each of its notices, of any length and escaped, and
// known; "deal=" is an open-auction bid's, known too; a URL without deal
// (of a bid made before rtbd named deals) has it unknown. A deal changed,
// dropped or added without the key is refused as forged.
func TestDealInNotices(t *testing.T) {
	keys, err := openrtb.ParseNoticeKeys("000102030405060708090a0b0c0d0e0f")
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("d", 200)
	query := func(bid, deal string, withDeal bool, edit func(string) string) string {
		q := openrtb.AppendNoticeQuery(nil, &openrtb.NoticeQuery{BidID: []byte(bid), CampaignID: []byte("c"), ImpID: []byte("1"), Cur: []byte("USD"), BidPrice: []byte("3"), Exchange: []byte("ssp"), Deal: []byte(deal), WithDeal: withDeal})
		return edit(fmt.Sprintf("%s&sig=%016x&price=1.5", q[1:], keys[0].Sign(q)))
	}
	same := func(q string) string { return q }
	sink := &fakeSink{}
	sp := &fakeSpender{}
	h := New(Config{Keys: keys, Exchanges: []string{"ssp"}}, sp, sink)
	type known struct {
		deal  string
		known bool
	}
	var want []known
	for i, c := range []struct {
		kind, bid, deal string
		withDeal        bool
	}{
		{"win", "d1", "pg 1/&", true}, {"bill", "d1", "pg 1/&", true}, {"loss", "d2", "pg-2", true},
		{"bill", "d3", long, true}, {"bill", "d4", "", true}, {"bill", "d5", "", false},
	} {
		q := query(c.bid, c.deal, c.withDeal, same)
		if code, body := serveDirect(t, h, "GET", "/"+c.kind+"?"+q, ""); code != 204 || sink.count() != i+1 {
			t.Fatalf("%s %s: %d %q, %d notices; want 204 and recorded", c.kind, q, code, body, sink.count())
		}
		want = append(want, known{c.deal, c.withDeal})
	}
	form := query("d6", "pg-6", true, same)
	if code, body := serveDirect(t, h, "POST", "/bill", form); code != 204 {
		t.Fatalf("POSTed %s: %d %q; want 204", form, code, body)
	}
	want = append(want, known{"pg-6", true})
	for _, q := range []string{
		query("f1", "pg-1", true, func(q string) string { return strings.Replace(q, "deal=pg-1", "deal=pg-2", 1) }),
		query("f2", "pg-1", true, func(q string) string { return strings.Replace(q, "&deal=pg-1", "", 1) }),
		query("f3", "", true, func(q string) string { return strings.Replace(q, "&deal=", "", 1) }),
		query("f4", "", true, func(q string) string { return strings.Replace(q, "&deal=", "&deal=pg-1", 1) }),
		query("f5", "", false, func(q string) string { return strings.Replace(q, "&sig=", "&deal=&sig=", 1) }),
	} {
		if code, body := serveDirect(t, h, "GET", "/bill?"+q, ""); code != 400 || body != reasonBadSig {
			t.Fatalf("%s: %d %q; want 400 %q", q, code, body, reasonBadSig)
		}
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for i, c := range sink.calls {
		if got := (known{c.deal, c.dealKnown}); got != want[i] {
			t.Fatalf("notice %d (%s of %s): deal %+v; want %+v", i, c.kind, c.bid, got, want[i])
		}
	}
	if len(sink.calls) != len(want) || sp.count() != 5 {
		t.Fatalf("%d notices, %d bills; want %d and 5", len(sink.calls), sp.count(), len(want))
	}
}

// TestFieldsAfterSigAreTheExchanges: what follows sig, in the query
// string or in a POSTed form beside it, is the exchange's: a signed
// field there is not read, even one the URL lacks (a bid from before
// rtbd named deals has no deal; an open-exchange bid no x), so the
// notice still verifies and is billed as the bid was made. A notice
// without sig has its fields anywhere.
func TestFieldsAfterSigAreTheExchanges(t *testing.T) {
	keys, err := openrtb.ParseNoticeKeys("000102030405060708090a0b0c0d0e0f")
	if err != nil {
		t.Fatal(err)
	}
	// older is the billing query of bid as an rtbd from before deals
	// signed it: no deal, no x, no bo, no sx.
	older := func(bid string) string {
		q := openrtb.AppendNoticeQuery(nil, &openrtb.NoticeQuery{BidID: []byte(bid), CampaignID: []byte("c"), ImpID: []byte("1"), UserKey: 0xbeef, Cur: []byte("USD"), BidPrice: []byte("3")})
		return fmt.Sprintf("%s&sig=%016x&price=2", q[1:], keys[0].Sign(q))
	}
	const appended = "deal=pg-9&x=other&bp=1&bo=w&sx=1&cid=c2&uk=00000000000000aa&bid=zz&imp=9&cur=EUR"
	sp, sink := &fakeSpender{}, &fakeSink{}
	h := New(Config{Keys: keys, Exchanges: []string{"other"}}, sp, sink)
	var bids []string
	for i, field := range strings.Split(appended, "&") {
		bid := fmt.Sprint("o", i)
		if code, body := serveDirect(t, h, "GET", "/bill?"+older(bid)+"&"+field, ""); code != 204 {
			t.Fatalf("%s appended after sig: %d %q; want 204", field, code, body)
		}
		bids = append(bids, bid)
	}
	if code, body := serveDirect(t, h, "GET", "/bill?"+older("all")+"&"+appended, ""); code != 204 {
		t.Fatalf("all of %s appended after sig: %d %q; want 204", appended, code, body)
	}
	if code, body := serveDirect(t, h, "POST", "/bill?"+older("form"), appended); code != 204 {
		t.Fatalf("%s POSTed beside a signed query: %d %q; want 204", appended, code, body)
	}
	bids = append(bids, "all", "form")
	// A form that carries sig carries the signed fields: a changed one fails.
	forged := strings.Replace(older("f1"), "cid=c&", "cid=c2&", 1)
	if code, body := serveDirect(t, h, "POST", "/bill", forged); code != 400 || body != reasonBadSig {
		t.Fatalf("POSTed %s: %d %q; want 400 %q", forged, code, body, reasonBadSig)
	}
	// Without keys sig is not checked, but still ends what is ours.
	open := New(Config{Exchanges: []string{"other", "ssp"}}, sp, sink)
	if code, body := serveDirect(t, open, "GET", "/bill?"+older("n1")+"&"+appended, ""); code != 204 {
		t.Fatalf("without keys: %d %q; want 204", code, body)
	}
	bids = append(bids, "n1")

	sink.mu.Lock()
	notices := sink.calls
	sink.calls = nil
	sink.mu.Unlock()
	sp.mu.Lock()
	bills := sp.calls
	sp.mu.Unlock()
	if len(notices) != len(bids) || len(bills) != len(bids) {
		t.Fatalf("%d notices, %d bills; want %d of each", len(notices), len(bills), len(bids))
	}
	for i, c := range notices {
		want := sinkCall{kind: KindBill, bid: bids[i], cid: "c", imp: "1", price: 2, cur: "USD", loss: -1, bp: 3}
		if c != want {
			t.Fatalf("notice %d: %+v; want %+v, as signed", i, c, want)
		}
		if b := bills[i]; b.cid != "c" || b.uk != 0xbeef || b.price != 2 {
			t.Fatalf("bill %d of %s: %+v; want c, user beef at 2", i, bids[i], b)
		}
	}

	// Without sig, the fields are wherever they are, the first of each
	// and the query string's first.
	code, body := serveDirect(t, open, "POST", "/bill?bid=u1&cid=c&price=1&x=other", "deal=pg-9&x=ssp&cid=c9&deal=pg-8")
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if code != 204 || len(sink.calls) != 1 || sink.calls[0].deal != "pg-9" || !sink.calls[0].dealKnown || sink.calls[0].exchange != "other" {
		t.Fatalf("unsigned notice with its deal and x in a form: %d %q, %+v; want 204, pg-9 and other", code, body, sink.calls)
	}
}

// TestLaterFieldsKnowEveryField: laterFields adds none of the fields that
// AppendNoticeQuery writes, every optional one set: a field added there
// and not to laterFields' list would be signed twice, and every notice
// refused as forged.
func TestLaterFieldsKnowEveryField(t *testing.T) {
	q := openrtb.AppendNoticeQuery(nil, &openrtb.NoticeQuery{BidID: []byte("b"), CampaignID: []byte("c"), ImpID: []byte("i"), UserKey: 1, Cur: []byte("USD"), BidPrice: []byte("2"), BillOnWin: true, Explore: true, Exchange: []byte("ssp"), Deal: []byte("pg")})
	var a fasthttp.Args
	// The unsigned fields that rtbd knows are not later fields either,
	// wherever they are.
	a.ParseBytes(fmt.Appendf([]byte("price=1&mtw=1&loss=102&"), "%s&sig=%016x", q[1:], 1))
	if n := strings.Count(string(q), "&") + 1; a.Len() != n+4 {
		t.Fatalf("%s: %d fields; want the query's %d, sig and the 3 unsigned", q, a.Len(), n)
	}
	if got := laterFields(nil, &a); len(got) != 0 {
		t.Fatalf("laterFields of %s = %q; want nothing: it does not know a field of AppendNoticeQuery", q, got)
	}
}

// TestSetKeys: the keys a reload sets verify the notices that come after,
// and the keys it drops no longer do; SetPriceKeys does the same with
// the exchanges' price keys.
func TestSetKeys(t *testing.T) {
	a, _ := openrtb.ParseNoticeKeys(strings.Repeat("0a", 16))
	b, _ := openrtb.ParseNoticeKeys(strings.Repeat("0b", 16))
	keys := append(b, a...)
	h := New(Config{Keys: a, Exchanges: []string{"adx"}}, &fakeSpender{}, nil)
	f := func(key *openrtb.NoticeKey, bid string, want int) {
		t.Helper()
		if code, body := serveDirect(t, h, "GET", "/bill?"+signedQuery(key, bid, "1", func(q string) string { return q }), ""); code != want {
			t.Fatalf("notice %s: %d %q; want %d", bid, code, body, want)
		}
	}
	f(&a[0], "k1", 204)
	f(&b[0], "k2", 400)
	h.SetKeys(keys) // b added first, to sign; a still verifies
	keys[0] = a[0]  // SetKeys keeps a copy
	f(&b[0], "k3", 204)
	f(&a[0], "k4", 204)
	h.SetKeys(b) // a dropped
	f(&a[0], "k5", 400)
	f(&b[0], "k6", 204)

	price := "/bill?bid=p1&cid=c&x=adx&price=YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCce_6msaw"
	if code, _ := serveDirect(t, New(Config{Exchanges: []string{"adx"}}, &fakeSpender{}, nil), "GET", price, ""); code != 400 {
		t.Fatalf("encrypted price without keys: %d; want 400", code)
	}
	h = New(Config{Exchanges: []string{"adx"}}, &fakeSpender{}, nil)
	h.SetPriceKeys(map[string]*PriceKeys{"adx": mustPriceKeys(t, googleKeys)})
	if code, body := serveDirect(t, h, "GET", price, ""); code != 204 {
		t.Fatalf("encrypted price after SetPriceKeys: %d %q; want 204", code, body)
	}
	h.SetPriceKeys(nil)
	if code, _ := serveDirect(t, h, "GET", strings.Replace(price, "p1", "p2", 1), ""); code != 400 {
		t.Fatalf("encrypted price after its keys were removed: %d; want 400", code)
	}
}

// TestAdoptOnlySigned: with keys, a notice for a campaign the Spender
// does not know adopts it only when a key signed it; without keys, any
// notice does (see Adopter).
func TestAdoptOnlySigned(t *testing.T) {
	keys, err := openrtb.ParseNoticeKeys(strings.Repeat("ab", 16))
	if err != nil {
		t.Fatal(err)
	}
	newSpender := func() *adoptingSpender {
		return &adoptingSpender{fakeSpender: fakeSpender{unknown: map[string]bool{"c/1": true}}, adoptable: map[string]bool{"c/1": true}}
	}
	sp := newSpender()
	h := New(Config{Keys: keys}, sp, nil)
	serveDirect(t, h, "GET", "/bill?bid=u1&cid=c%2F1&price=3", "")
	if len(sp.adopted) != 0 {
		t.Fatalf("an unsigned notice adopted %v; want none with keys", sp.adopted)
	}
	serveDirect(t, h, "GET", "/bill?"+signedQuery(&keys[0], "s1", "1.5", func(q string) string { return q }), "")
	if len(sp.adopted) != 1 {
		t.Fatalf("a signed notice adopted %v; want c/1", sp.adopted)
	}
	sp = newSpender()
	serveDirect(t, New(Config{}, sp, nil), "GET", "/bill?bid=u1&cid=c%2F1&price=3", "")
	if len(sp.adopted) != 1 {
		t.Fatalf("without keys, a notice adopted %v; want c/1", sp.adopted)
	}
}
