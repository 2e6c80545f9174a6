package openrtb

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// decodedResponse is the encoding/json view of AppendResponse output.
type decodedResponse struct {
	ID      string `json:"id"`
	BidID   string `json:"bidid"`
	Cur     string `json:"cur"`
	NBR     *int   `json:"nbr"`
	SeatBid []struct {
		Seat string `json:"seat"`
		Bid  []struct {
			ID        string   `json:"id"`
			ImpID     string   `json:"impid"`
			Price     float64  `json:"price"`
			AdID      string   `json:"adid"`
			CrID      string   `json:"crid"`
			CID       string   `json:"cid"`
			ADomain   []string `json:"adomain"`
			Bundle    string   `json:"bundle"`
			Cat       []string `json:"cat"`
			CatTax    *int     `json:"cattax"`
			Attr      []int    `json:"attr"`
			MType     int      `json:"mtype"`
			DealID    string   `json:"dealid"`
			W         int      `json:"w"`
			H         int      `json:"h"`
			Dur       int      `json:"dur"`
			SlotInPod int      `json:"slotinpod"`
			Language  string   `json:"language"`
			AdM       string   `json:"adm"`
			NURL      string   `json:"nurl"`
			BURL      string   `json:"burl"`
			LURL      string   `json:"lurl"`
		} `json:"bid"`
	} `json:"seatbid"`
}

func decodeResponse(t *testing.T, b []byte) *decodedResponse {
	t.Helper()
	if !json.Valid(b) {
		t.Fatalf("invalid JSON: %s", b)
	}
	var d decodedResponse
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("cannot decode %s: %s", b, err)
	}
	return &d
}

func testResponse() *Response {
	return &Response{
		ID:         []byte("req-1"),
		BidID:      []byte("resp 1"),
		NoticeBase: []byte("https://n.example.com/rtb/"),
		Bids: []Bid{{
			Seat: []byte("rtbd"),
			ID:   []byte("b&1"), ImpID: []byte("imp 1"), Price: 1.2345, AdID: []byte("ad"),
			CrID: []byte("cr"), CampaignID: []byte("c/7"), UserKey: 0xabc,
			ADomain: [][]byte{[]byte("a.com"), []byte("b.com")}, Bundle: []byte("com.a.app"), Cat: [][]byte{[]byte("IAB1")},
			Attr: []int{1, 2}, MType: 2, DealID: []byte("deal"), W: 640, H: 480, Dur: 30,
			SlotInPod: -1, Lang: []byte("en"), AdM: []byte("<VAST version=\"4.0\">\n</VAST>"),
		}, {
			Seat: []byte("rtbd"), ID: []byte("b2"), ImpID: []byte("i2"), Price: 0.1,
		}},
	}
}

func TestAppendResponse(t *testing.T) {
	t.Parallel()
	r := testResponse()
	d := decodeResponse(t, AppendResponse(nil, r))
	if d.ID != "req-1" || d.BidID != "resp 1" || d.Cur != "USD" || d.NBR != nil {
		t.Fatalf("unexpected header fields: %+v", d)
	}
	if len(d.SeatBid) != 1 || d.SeatBid[0].Seat != "rtbd" || len(d.SeatBid[0].Bid) != 2 {
		t.Fatalf("unexpected seatbid: %+v", d.SeatBid)
	}
	b := d.SeatBid[0].Bid[0]
	if b.ID != "b&1" || b.ImpID != "imp 1" || b.Price != 1.2345 || b.AdID != "ad" || b.CrID != "cr" ||
		b.CID != "c/7" || strings.Join(b.ADomain, ",") != "a.com,b.com" || b.Bundle != "com.a.app" || strings.Join(b.Cat, ",") != "IAB1" ||
		len(b.Attr) != 2 || b.Attr[1] != 2 || b.MType != 2 || b.DealID != "deal" || b.W != 640 || b.H != 480 ||
		b.Dur != 30 || b.SlotInPod != -1 || b.Language != "en" || b.AdM != "<VAST version=\"4.0\">\n</VAST>" {
		t.Fatalf("unexpected bid: %+v", b)
	}
	if b.CatTax != nil {
		t.Fatalf("bid.cattax %d for categories of the default taxonomy; want none", *b.CatTax)
	}
	for kind, u := range map[string]string{"win": b.NURL, "bill": b.BURL, "loss": b.LURL} {
		checkNotice(t, u, kind, "b&1", "c/7", "imp 1", "0000000000000abc", "USD", "1.2345", "deal")
	}
	// MinToWin asks each of the three for the minimum to win, unsigned,
	// after the price.
	r.MinToWin = true
	mb := decodeResponse(t, AppendResponse(nil, r)).SeatBid[0].Bid[0]
	for _, u := range []string{mb.NURL, mb.BURL, mb.LURL} {
		if !strings.Contains(u, "&price=${AUCTION_PRICE}&mtw=${AUCTION_MIN_TO_WIN}") {
			t.Fatalf("notice %q lacks &mtw=${AUCTION_MIN_TO_WIN} after the price", u)
		}
	}
	b2 := d.SeatBid[0].Bid[1]
	if b2.Price != 0.1 || b2.W != 0 || b2.MType != 0 || b2.AdM != "" || b2.DealID != "" {
		t.Fatalf("unexpected second bid: %+v", b2)
	}
	for kind, u := range map[string]string{"win": b2.NURL, "bill": b2.BURL, "loss": b2.LURL} {
		checkNotice(t, u, kind, "b2", "", "i2", "0000000000000000", "USD", "0.1", "")
	}
	// One seatbid per seat, in the order seats first appear; a bid
	// without a seat gets a seatbid without one.
	seats := &Response{ID: []byte("s"), NBR: -1, Bids: []Bid{
		{Seat: []byte("a"), ID: []byte("1")}, {Seat: []byte("b"), ID: []byte("2")},
		{ID: []byte("3")}, {Seat: []byte("a"), ID: []byte("4")}, {Seat: []byte("b"), ID: []byte("5")},
	}}
	var got []string
	for _, sb := range decodeResponse(t, AppendResponse(nil, seats)).SeatBid {
		ids := sb.Seat + ":"
		for _, b := range sb.Bid {
			ids += b.ID
		}
		got = append(got, ids)
	}
	if want := "a:14 b:25 :3"; strings.Join(got, " ") != want {
		t.Fatalf("seatbid groups %q, want %q", got, want)
	}
	// More bids than the 64 the encoder marks as written, their seats
	// interleaved, one first seen past the 64th.
	seats.Bids = seats.Bids[:0]
	var want []string
	for i := range 150 {
		seat := fmt.Sprint(i % 7)
		if i%11 == 0 {
			seat = ""
		}
		if i >= 100 && i%5 == 0 {
			seat = "late"
		}
		seats.Bids = append(seats.Bids, Bid{Seat: []byte(seat), ID: []byte(fmt.Sprint(i))})
		k := slices.IndexFunc(want, func(g string) bool { return strings.HasPrefix(g, seat+":") })
		if k < 0 {
			k, want = len(want), append(want, seat+":")
		}
		want[k] += "," + fmt.Sprint(i)
	}
	got = got[:0]
	for _, sb := range decodeResponse(t, AppendResponse(nil, seats)).SeatBid {
		ids := sb.Seat + ":"
		for _, b := range sb.Bid {
			ids += "," + b.ID
		}
		got = append(got, ids)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("150 bids: seatbid groups %q, want %q", got, want)
	}
	// Omitted fields must be absent, not zero.
	out := string(AppendResponse(nil, &Response{ID: []byte("x"), Cur: []byte("EUR"), NBR: -1, Bids: []Bid{{ID: []byte("b"), ImpID: []byte("i")}}}))
	if want := `{"id":"x","cur":"EUR","seatbid":[{"bid":[{"id":"b","impid":"i","price":0}]}]}`; out != want {
		t.Fatalf("unexpected minimal response\ngot  %s\nwant %s", out, want)
	}
	// bid.cattax names the taxonomy of bid.cat when it is not OpenRTB's
	// default, 1, and goes without categories.
	for _, c := range []struct {
		tax  int
		cat  []string
		want string
	}{
		{7, []string{"JLBCU7"}, `,"cat":["JLBCU7"],"cattax":7}`},
		{1, []string{"IAB1"}, `,"cat":["IAB1"]}`},
		{7, nil, `"price":0}`},
	} {
		b := Bid{ID: []byte("b"), ImpID: []byte("i"), CatTax: c.tax}
		for _, v := range c.cat {
			b.Cat = append(b.Cat, []byte(v))
		}
		out := string(AppendResponse(nil, &Response{ID: []byte("x"), NBR: -1, Bids: []Bid{b}}))
		if !strings.HasSuffix(out, c.want+"]}]}") {
			t.Fatalf("cattax %d, cat %q: got %s, want it to end in %s", c.tax, c.cat, out, c.want)
		}
	}
}

func checkNotice(t *testing.T, u, kind, bid, cid, imp, uk, cur, bp, deal string) {
	t.Helper()
	prefix := "https://n.example.com/rtb/" + kind + "?"
	if !strings.HasPrefix(u, prefix) {
		t.Fatalf("notice %q does not start with %q", u, prefix)
	}
	q, err := url.ParseQuery(u[len(prefix):])
	if err != nil {
		t.Fatalf("cannot parse notice query %q: %s", u, err)
	}
	want := url.Values{"bid": {bid}, "cid": {cid}, "imp": {imp}, "uk": {uk}, "cur": {cur}, "bp": {bp}, "price": {"${AUCTION_PRICE}"}}
	if kind == "loss" {
		want["loss"] = []string{"${AUCTION_LOSS}"}
	}
	want["deal"] = []string{deal} // empty for an open-auction bid, but there
	if q.Encode() != want.Encode() {
		t.Fatalf("unexpected %s notice query\ngot  %v\nwant %v", kind, q, want)
	}
}

func TestAppendResponseNoBid(t *testing.T) {
	t.Parallel()
	f := func(r *Response, want string) {
		t.Helper()
		if got := string(AppendResponse(nil, r)); got != want {
			t.Fatalf("unexpected response; got %s; want %s", got, want)
		}
	}
	f(&Response{ID: []byte("a"), NBR: -1}, `{"id":"a","cur":"USD"}`)
	f(&Response{ID: []byte("a"), NBR: 2}, `{"id":"a","cur":"USD","nbr":2}`)
	if got := string(AppendNoBid([]byte("x"), []byte(`a"b`), 15)); got != `x{"id":"a\"b","nbr":15}` {
		t.Fatalf("unexpected AppendNoBid output %s", got)
	}
}

func TestAppendStringEscaping(t *testing.T) {
	t.Parallel()
	f := func(in, wantJSON string) {
		t.Helper()
		got := string(appendString(nil, []byte(in)))
		if got != wantJSON {
			t.Fatalf("unexpected escaping of %q; got %s; want %s", in, got, wantJSON)
		}
		var s string
		if err := json.Unmarshal([]byte(got), &s); err != nil {
			t.Fatalf("escaped %q is not a JSON string: %s", in, err)
		}
		var ref string
		refJSON, _ := json.Marshal(in)
		_ = json.Unmarshal(refJSON, &ref)
		if s != ref {
			t.Fatalf("escaped %q decodes to %q; encoding/json round trip gives %q", in, s, ref)
		}
	}
	f(``, `""`)
	f(`plain <b>&</b>`, `"plain <b>&</b>"`)
	f(`q"b\s/`, `"q\"b\\s/"`)
	f("l1\nl2\r\t", `"l1\nl2\r\t"`)
	f("\x00\x01\x1f\x7f", `"\u0000\u0001\u001f`+"\x7f"+`"`)
	f("é€😀", `"é€😀"`)
	f("a\xffb\xc3(", `"a\ufffdb\ufffd("`)
	f("\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`) // encoded surrogate
	f("x\u2028y\u2029", `"x\u2028y\u2029"`)
}

// TestAppendStringMatchesRuneLoop compares appendStringContent, which
// skips plain runs eight bytes at a time, with a rune-by-rune reference on
// random strings of plain ASCII, quotes, backslashes, control bytes,
// UTF-8 (U+2028 included) and invalid bytes, at every offset of an
// 8-byte step.
func TestAppendStringMatchesRuneLoop(t *testing.T) {
	t.Parallel()
	pieces := []string{"a", "Z", "0", " ", "/", "<", "~", "\x7f", `"`, `\`, "\n", "\x00", "\x1f",
		"é", "€", "😀", "\u2028", "\u2029", "\xff", "\xc3", "\xed\xa0\x80", "abcdefgh"}
	rng := rand.New(rand.NewPCG(3, 5))
	var b []byte
	for range 100000 {
		b = b[:0]
		for n := rng.IntN(12); n > 0; n-- {
			b = append(b, pieces[rng.IntN(len(pieces))]...)
		}
		got, want := appendStringContent(nil, b), appendStringRuneLoop(nil, b)
		if string(got) != string(want) {
			t.Fatalf("appendStringContent(%q) = %q; rune by rune %q", b, got, want)
		}
		if got := appendString(nil, b); !json.Valid(got) || string(got) != `"`+string(want)+`"` {
			t.Fatalf("appendString(%q) = %s; want the quoted %s", b, got, want)
		}
	}
}

// appendStringRuneLoop is the reference: rune by rune, each escaped or
// copied alone.
func appendStringRuneLoop(dst, s []byte) []byte {
	str := string(s)
	for i, r := range str {
		_, size := utf8.DecodeRuneInString(str[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, `\ufffd`...)
		case r == '"' || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r < 0x20:
			dst = appendASCIIEscape(dst, byte(r))
		case r == '\u2028' || r == '\u2029':
			dst = fmt.Appendf(dst, `\u%04x`, r)
		default:
			dst = append(dst, str[i:i+size]...)
		}
	}
	return dst
}

func TestAppendPrice(t *testing.T) {
	t.Parallel()
	f := func(price float64, want string) {
		t.Helper()
		if got := string(appendPrice(nil, price)); got != want {
			t.Fatalf("unexpected appendPrice(%v); got %s; want %s", price, got, want)
		}
	}
	f(0, "0")
	f(1.5, "1.5")
	a, b := 0.1, 0.2
	f(a+b, "0.30000000000000004")
	f(1e-7, "0.0000001")
	f(math.NaN(), "0")
	f(math.Inf(1), "0")
	f(-0.0, "0")
	f(-2.5, "-2.5")
	f(12.0001, "12.0001")
	f(3.1, "3.1")
	f(99999999999.9999, "99999999999.9999")
	f(1e11, "100000000000")
	f(0.00005, "0.00005")
}

// TestAppendPriceMatchesStrconv compares appendPrice with strconv's
// shortest form on prices rounded to 4 decimals as decide rounds them,
// on their neighbouring doubles, and on arbitrary doubles.
func TestAppendPriceMatchesStrconv(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 9))
	check := func(p float64) {
		if got, want := string(appendPrice(nil, p)), strconv.FormatFloat(p, 'f', -1, 64); got != want {
			t.Fatalf("appendPrice(%b) = %s; strconv gives %s", p, got, want)
		}
	}
	for i := 0; i < 200000; i++ {
		scale := math.Pow(10, float64(rng.IntN(19)-3)) // up to 1e15: past maxFastPrice
		p := math.Round(rng.Float64()*scale*1e4) / 1e4
		check(p)
		check(math.Nextafter(p, math.Inf(1)))
		check(math.Nextafter(p, 0))
		check(rng.Float64() * scale)
	}
}

func TestAppendQueryEscape(t *testing.T) {
	t.Parallel()
	cases := []string{"", "abc-_.~XYZ09", "a b&c=d/e?f#g%h+i", "é\x00\xff",
		"rtbd-1-67a1b2c3-1f", "abcdefg hijklmnop", "abcdefgh ijklmnop", "abcdefghijklmno/", "/bcdefghijklmnop"}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 { // mostly plain, with a byte to escape anywhere
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = "abcXYZ019-_.~"[rng.IntN(13)]
			if rng.IntN(30) == 0 {
				b[i] = byte(rng.IntN(256))
			}
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		if got, want := string(appendQueryEscape([]byte("x"), []byte(s))), "x"+url.QueryEscape(s); got != want {
			t.Fatalf("unexpected query escaping of %q; got %s; want %s", s, got, want)
		}
	}
}

// TestAppendHex16 checks every digit value at every position, then random
// values, against fmt's %016x.
func TestAppendHex16(t *testing.T) {
	t.Parallel()
	values := []uint64{0, 1, 0xabcdef, 1<<63 | 5, math.MaxUint64, 0x0123456789abcdef}
	for pos := range 16 {
		for d := range uint64(16) {
			values = append(values, d<<(4*pos), d<<(4*pos)|^(0xf<<(4*pos)))
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 10000 {
		values = append(values, rng.Uint64())
	}
	for _, v := range values {
		if got, want := string(AppendHex16([]byte("uk="), v)), fmt.Sprintf("uk=%016x", v); got != want {
			t.Fatalf("AppendHex16(%#x) = %s; want %s", v, got, want)
		}
	}
}

// TestAdMEscapedMatchesEncoder checks that markup escaped once with
// AppendEscaped and copied by the encoder gives the same bytes as markup
// escaped by the encoder on every bid.
func TestAdMEscapedMatchesEncoder(t *testing.T) {
	t.Parallel()
	f := func(adm string) {
		t.Helper()
		plain := Response{ID: []byte("r"), NBR: -1, Bids: []Bid{{ID: []byte("b"), ImpID: []byte("1"), Price: 1, AdM: []byte(adm)}}}
		pre := plain
		pre.Bids = []Bid{plain.Bids[0]}
		pre.Bids[0].AdM, pre.Bids[0].AdMEscaped = AppendEscaped(nil, []byte(adm)), true
		a, b := AppendResponse(nil, &plain), AppendResponse(nil, &pre)
		if string(a) != string(b) {
			t.Fatalf("pre-escaped adm differs:\n%s\n%s", a, b)
		}
	}
	f(`<VAST version="4.0"><Ad id="a\b"></Ad></VAST>`)
	f("line\nbreak\ttab \x01 \u2028 \xff")
	f("")
}

// TestNoticeBasePlain checks that a NoticeBase marked plain is copied as
// the encoder would have escaped it: the same bytes for a plain base.
func TestNoticeBasePlain(t *testing.T) {
	t.Parallel()
	r := testResponse()
	want := string(AppendResponse(nil, r))
	r.NoticeBasePlain = true
	if got := string(AppendResponse(nil, r)); got != want {
		t.Fatalf("with NoticeBasePlain:\n%s\nwant\n%s", got, want)
	}
	if !strings.Contains(want, `"nurl":"https://n.example.com/rtb/win?`) {
		t.Fatalf("no notice URL in %s", want)
	}
}

// TestBidIDsPlain checks that bid ids marked plain are copied as the
// encoder would have escaped them: the same bytes for plain ids.
func TestBidIDsPlain(t *testing.T) {
	t.Parallel()
	r := testResponse()
	r.Bids[0].ID = []byte("rtbd-6745a3b2-1879c4f2e5a01234t")
	want := string(AppendResponse(nil, r))
	r.BidIDsPlain = true
	if got := string(AppendResponse(nil, r)); got != want {
		t.Fatalf("with BidIDsPlain:\n%s\nwant\n%s", got, want)
	}
}
