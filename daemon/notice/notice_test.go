package notice

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"
)

// billCall is one recorded Spender.Bill call, with its slices copied.
type billCall struct {
	cid   string
	uk    uint64
	price float64
	cur   string
	now   time.Time
}

// fakeSpender records Bill calls; campaigns in unknown return an error.
type fakeSpender struct {
	mu      sync.Mutex
	calls   []billCall
	unknown map[string]bool
}

func (s *fakeSpender) Bill(cid []byte, uk uint64, price float64, cur []byte, now time.Time) (Charge, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, billCall{string(cid), uk, price, string(cur), now})
	if s.unknown[string(cid)] {
		return Charge{}, errors.New("unknown campaign")
	}
	if uk == 0 {
		return Charge{}, nil
	}
	// A charge the test can recognise.
	return Charge{CapKey: uk * 3, CapWindow: 60, Campaign: uk + 1, Today: 2, Total: 5}, nil
}

// journal records what a Handler hands its Journal.
type journal struct {
	mu     sync.Mutex
	billed []Billed
}

func (j *journal) Billed(b Billed) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.billed = append(j.billed, b)
}

func (s *fakeSpender) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// sinkCall is one recorded Sink.Notice call.
type sinkCall struct {
	kind          Kind
	exchange      string
	deal          string
	dealKnown     bool
	bid, cid, imp string
	price         float64
	cur           string
	loss          int
	stated, mtw   float64 // StatedPrice, MinToWin
	bp            float64 // BidPrice
	test          bool
	unpriced      bool
	uncharged     bool
}

type fakeSink struct {
	mu    sync.Mutex
	calls []sinkCall
}

func (s *fakeSink) Notice(e Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, sinkCall{e.Kind, string(e.Exchange), string(e.DealID), e.DealKnown, string(e.BidID), string(e.CampaignID), string(e.ImpID),
		e.Price, string(e.Cur), e.Loss, e.StatedPrice, e.MinToWin, e.BidPrice, e.Test, e.Unpriced, e.Uncharged})
}

func (s *fakeSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// serveDirect runs one request through h.Route on a fresh RequestCtx. A
// non-empty form is sent as an application/x-www-form-urlencoded body.
func serveDirect(t *testing.T, h *Handler, method, uri, form string) (int, string) {
	t.Helper()
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	if form != "" {
		ctx.Request.Header.SetContentType("application/x-www-form-urlencoded")
		ctx.Request.SetBodyString(form)
	}
	hf := h.Route(ctx.Path())
	if hf == nil {
		t.Fatalf("no route for %q", uri)
	}
	hf(&ctx)
	return ctx.Response.StatusCode(), string(ctx.Response.Body())
}

const goodQuery = "bid=b1&cid=c7&imp=1&uk=00000000000000ff&cur=USD&price=2.5"

func TestBillOK(t *testing.T) {
	sp, sink := &fakeSpender{}, &fakeSink{}
	h := New(Config{}, sp, sink)
	at := time.Unix(1700000000, 0)
	h.now = func() time.Time { return at }
	ok0, spend0 := noticesTotal[KindBill][resultOK].Get(), noticeSpendTotal.Get()

	if code, body := serveDirect(t, h, "GET", "/bill?"+goodQuery, ""); code != 204 {
		t.Fatalf("unexpected status %d (%q); want 204", code, body)
	}
	want := billCall{cid: "c7", uk: 0xff, price: 2.5, cur: "USD", now: at}
	if len(sp.calls) != 1 || sp.calls[0] != want {
		t.Fatalf("unexpected Bill calls %+v; want [%+v]", sp.calls, want)
	}
	wantSink := sinkCall{KindBill, "", "", false, "b1", "c7", "1", 2.5, "USD", -1, 0, 0, 0, false, false, false}
	if len(sink.calls) != 1 || sink.calls[0] != wantSink {
		t.Fatalf("unexpected Sink calls %+v; want [%+v]", sink.calls, wantSink)
	}
	if got := noticesTotal[KindBill][resultOK].Get() - ok0; got != 1 {
		t.Fatalf("unexpected ok count %d; want 1", got)
	}
	if got := noticeSpendTotal.Get() - spend0; math.Abs(got-0.0025) > 1e-9 {
		t.Fatalf("unexpected spend %v; want 0.0025", got)
	}
}

// reservingSpender is a fakeSpender that is also a Reserver: it records
// the keys it holds, and refuses the campaigns in unknown.
type reservingSpender struct {
	fakeSpender
	held map[uint64]float64
	// meanwhile, when set, runs in Reserve before it takes its lock: what
	// happens between the handler's check and the reservation.
	meanwhile func()
}

// Reserve reserves nothing for a bid billed (asked under its lock), as
// decision.State does.
func (s *reservingSpender) Reserve(key uint64, cid []byte, uk uint64, price float64, cur []byte, now time.Time, billed func(uint64) bool) (Reserved, error) {
	if f := s.meanwhile; f != nil {
		s.meanwhile = nil
		f()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unknown[string(cid)] {
		return Reserved{}, errors.New("unknown campaign")
	}
	if _, ok := s.held[key]; ok || billed != nil && billed(key) {
		return Reserved{}, nil
	}
	s.held[key] = price
	return Reserved{Campaign: 7, Amount: int64(price * 1000), CapKey: uk, CapWindow: 60, Added: true}, nil
}

func (s *reservingSpender) BillReserved(key uint64, cid []byte, uk uint64, price float64, cur []byte, now time.Time) (Charge, error) {
	ch, err := s.Bill(cid, uk, price, cur, now)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.held, key)
	return ch, err
}

// TestWinReserves: the first win notice of a bid reserves its price (at
// most its bid's) under the bid's billing key, and its billing notice is
// billed with that key, which releases it; a replayed win, a test bid's
// win, a win after its bid's bill and a loss reserve nothing, and a win
// of an unknown campaign is counted as such. What a win reserved is
// journaled for the peers, once, as a win's record.
func TestWinReserves(t *testing.T) {
	sp := &reservingSpender{fakeSpender: fakeSpender{unknown: map[string]bool{"gone": true}}, held: map[uint64]float64{}}
	j := &journal{}
	h := New(Config{Journal: j, IsTest: func(bid []byte) bool { return strings.HasSuffix(string(bid), "t") }}, sp, nil)
	at := time.Unix(1_800_000_000, 0)
	h.now = func() time.Time { return at }
	serve := func(path, query string) {
		t.Helper()
		if code, body := serveDirect(t, h, "GET", path+"?"+query, ""); code != 204 {
			t.Fatalf("%s?%s: %d %q; want 204", path, query, code, body)
		}
	}
	serve("/win", "bid=b1&cid=c&uk=00000000000000ff&bp=2&price=1.5")
	serve("/win", "bid=b1&cid=c&uk=00000000000000ff&bp=2&price=1.5")
	serve("/win", "bid=b2&cid=c&bp=2&price=9") // held to bp
	serve("/win", "bid=b3t&cid=c&price=1")
	serve("/loss", "bid=b4&cid=c&price=1")
	if len(sp.held) != 2 || sp.held[BillKey([]byte("b1"))] != 1.5 || sp.held[BillKey([]byte("b2"))] != 2 {
		t.Fatalf("held %v; want b1 at 1.5 and b2 at 2", sp.held)
	}
	want := []Billed{
		{Notice: BillKey([]byte("b1")), Time: at.Unix(), Win: true, Amount: 1500, Charge: Charge{Campaign: 7, CapKey: 0xff, CapWindow: 60}},
		{Notice: BillKey([]byte("b2")), Time: at.Unix(), Win: true, Amount: 2000, Charge: Charge{Campaign: 7, CapWindow: 60}},
	}
	if !slices.Equal(j.billed, want) {
		t.Fatalf("journal %+v; want the two reservations, %+v", j.billed, want)
	}
	serve("/bill", "bid=b1&cid=c&bp=2&price=1.5")
	if _, ok := sp.held[BillKey([]byte("b1"))]; ok || len(sp.held) != 1 || sp.count() != 1 {
		t.Fatalf("after b1's bill: held %v, %d bills; want only b2 held, b1 billed", sp.held, sp.count())
	}
	serve("/bill", "bid=b6&cid=c&price=1") // the bill before the win
	serve("/win", "bid=b6&cid=c&price=1")
	if _, ok := sp.held[BillKey([]byte("b6"))]; ok {
		t.Fatal("a win whose bid was billed already was reserved")
	}
	// The bill comes while the win is being processed, after its check.
	sp.meanwhile = func() { serve("/bill", "bid=b7&cid=c&price=1") }
	serve("/win", "bid=b7&cid=c&price=1")
	if _, ok := sp.held[BillKey([]byte("b7"))]; ok {
		t.Fatal("a win whose bid was billed while it was processed was reserved")
	}
	unknown := noticesTotal[KindWin][resultUnknown].Get()
	serve("/win", "bid=b5&cid=gone&price=1")
	if noticesTotal[KindWin][resultUnknown].Get() != unknown+1 || len(sp.held) != 1 {
		t.Fatalf("a win of an unknown campaign: counted %d, held %v; want counted unknown, nothing held",
			noticesTotal[KindWin][resultUnknown].Get()-unknown, sp.held)
	}
}

// TestBillOnWin: with BillOnWin, the first win notice of a bid bills it
// (at most at bp), journals it under the billing notice's key and logs a
// win and a bill; a burl that follows is a duplicate, a burl that came
// first leaves the win nothing to bill, and a test bid's win bills
// nothing.
func TestBillOnWin(t *testing.T) {
	sp, sink, j := &fakeSpender{}, &fakeSink{}, &journal{}
	h := New(Config{BillOnWin: true, Journal: j, IsTest: func(bid []byte) bool { return strings.HasSuffix(string(bid), "t") }}, sp, sink)
	serve := func(path, query string) {
		t.Helper()
		if code, body := serveDirect(t, h, "GET", path+"?"+query, ""); code != 204 {
			t.Fatalf("%s?%s: %d %q; want 204", path, query, code, body)
		}
	}
	dups := noticesTotal[KindBill][resultDuplicate].Get()
	serve("/win", "bid=b1&cid=c&uk=00000000000000ff&bp=2&price=2.5")
	if len(sp.calls) != 1 || sp.calls[0].price != 2 || sp.calls[0].uk != 0xff {
		t.Fatalf("bills %+v; want b1's win billed once at its bid's 2", sp.calls)
	}
	if len(j.billed) != 1 || j.billed[0].Notice != BillKey([]byte("b1")) {
		t.Fatalf("journal %+v; want b1 under its billing key", j.billed)
	}
	if len(sink.calls) != 2 || sink.calls[0].kind != KindBill || sink.calls[1].kind != KindWin {
		t.Fatalf("logged %+v; want a bill and a win", sink.calls)
	}
	serve("/bill", "bid=b1&cid=c&bp=2&price=2")
	serve("/bill", "bid=b2&cid=c&price=1") // the exchange's burl first
	serve("/win", "bid=b2&cid=c&price=1")
	serve("/win", "bid=b3t&cid=c&price=1")
	if len(sp.calls) != 2 || noticesTotal[KindBill][resultDuplicate].Get() != dups+1 {
		t.Fatalf("%d bills, %v duplicate bills; want 2 (b1 at its win, b2 at its burl) and b1's burl a duplicate",
			len(sp.calls), noticesTotal[KindBill][resultDuplicate].Get()-dups)
	}
}

// TestBillOnWinPerBid: without Config.BillOnWin, a win notice with bo=w
// (a bid of an exchange that sends no billing notice) bills its bid as
// BillOnWin would, and journals it as a bill; one without bo reserves; a
// bad bo is refused.
func TestBillOnWinPerBid(t *testing.T) {
	sp := &reservingSpender{held: map[uint64]float64{}}
	j := &journal{}
	h := New(Config{Journal: j}, sp, nil)
	serve := func(query string, want int) {
		t.Helper()
		if code, body := serveDirect(t, h, "GET", "/win?"+query, ""); code != want {
			t.Fatalf("/win?%s: %d %q; want %d", query, code, body, want)
		}
	}
	serve("bid=b1&cid=c&bp=2&bo=w&price=2.5", 204)
	serve("bid=b2&cid=c&bp=2&price=1.5", 204)
	if len(sp.calls) != 1 || sp.calls[0].price != 2 || len(sp.held) != 1 || sp.held[BillKey([]byte("b2"))] != 1.5 {
		t.Fatalf("bills %+v, held %v; want b1 billed at 2 and b2 reserved", sp.calls, sp.held)
	}
	if len(j.billed) != 2 || j.billed[0].Notice != BillKey([]byte("b1")) || j.billed[0].Win || !j.billed[1].Win {
		t.Fatalf("journal %+v; want b1's bill, then b2's reservation", j.billed)
	}
	for _, bo := range []string{"W", "b", "1", "ww"} {
		if code, body := serveDirect(t, h, "GET", "/win?bid=b3&cid=c&price=1&bo="+bo, ""); code != 400 || body != reasonBadBillOn {
			t.Fatalf("bo=%s: %d %q; want 400 %q", bo, code, body, reasonBadBillOn)
		}
	}
}

// TestPriceCappedAtBid: a win or billing notice whose price is above its
// bid's (bp) is charged and logged at the bid's price and counted as
// capped, once however often it is replayed, with the price the exchange
// stated beside it in the event log; a price at or below it is kept, as
// is a loss notice's (the winner's price), and a bad bp is refused. The
// log gets a notice's mtw and bp too.
func TestPriceCappedAtBid(t *testing.T) {
	sp, sink := &fakeSpender{}, &fakeSink{}
	h := New(Config{}, sp, sink)
	bills, wins := noticesCapped[KindBill].Get(), noticesCapped[KindWin].Get()
	for _, c := range []struct {
		path, query              string
		charged, stated, mtw, bp float64
	}{
		{"/bill", "bid=b1&cid=c&bp=2&price=2.5&mtw=1.25", 2, 2.5, 1.25, 2},
		{"/bill", "bid=b1&cid=c&bp=2&price=2.5", 0, 0, 0, 0}, // a replay: not billed
		{"/bill", "bid=b2&cid=c&bp=2&price=2", 2, 0, 0, 2},
		{"/bill", "bid=b3&cid=c&bp=2.0001&price=1.5&mtw=1.4", 1.5, 0, 1.4, 2.0001},
		{"/bill", "bid=b4&cid=c&price=900", 900, 0, 0, 0}, // no bp: an older bid's URL
		{"/win", "bid=b5&cid=c&bp=0.75&price=75", 0.75, 75, 0, 0.75},
		{"/loss", "bid=b6&cid=c&bp=2&price=3&loss=102", 3, 0, 0, 2},
	} {
		calls := len(sink.calls)
		if code, body := serveDirect(t, h, "GET", c.path+"?"+c.query, ""); code != 204 {
			t.Fatalf("%s?%s: %d %q; want 204", c.path, c.query, code, body)
		}
		if c.charged == 0 {
			if len(sink.calls) != calls {
				t.Fatalf("%s?%s: the replay was processed", c.path, c.query)
			}
			continue
		}
		if got := sink.calls[len(sink.calls)-1]; got.price != c.charged || got.stated != c.stated || got.mtw != c.mtw || got.bp != c.bp {
			t.Fatalf("%s?%s: logged at %v, stated %v, mtw %v, bp %v; want %v, %v, %v, %v", c.path, c.query,
				got.price, got.stated, got.mtw, got.bp, c.charged, c.stated, c.mtw, c.bp)
		}
		if c.path == "/bill" && sp.calls[len(sp.calls)-1].price != c.charged {
			t.Fatalf("%s?%s: billed at %v; want %v", c.path, c.query, sp.calls[len(sp.calls)-1].price, c.charged)
		}
	}
	if got := noticesCapped[KindBill].Get() - bills; got != 1 {
		t.Fatalf("%d billing notices counted as capped; want 1", got)
	}
	if got := noticesCapped[KindWin].Get() - wins; got != 1 {
		t.Fatalf("%d win notices counted as capped; want 1", got)
	}
	for _, bp := range []string{"x", "-1", "NaN", "1e999", "${AUCTION_BID_PRICE}"} {
		if code, body := serveDirect(t, h, "GET", "/bill?bid=bad&cid=c&price=1&bp="+bp, ""); code != 400 || body != reasonBadBidPrice {
			t.Fatalf("bp=%s: %d %q; want 400 %q", bp, code, body, reasonBadBidPrice)
		}
	}
}

func TestBillDefaultsCurrencyAndUserKey(t *testing.T) {
	sp := &fakeSpender{}
	h := New(Config{Currency: "EUR"}, sp, nil)
	if code, body := serveDirect(t, h, "GET", "/bill?bid=b&cid=c&price=1&cur=eur", ""); code != 204 {
		t.Fatalf("unexpected status %d (%q); want 204", code, body)
	}
	if code, body := serveDirect(t, h, "GET", "/bill?bid=b2&cid=c&price=1", ""); code != 204 {
		t.Fatalf("unexpected status %d (%q); want 204", code, body)
	}
	if len(sp.calls) != 2 || sp.calls[0].cur != "EUR" || sp.calls[1].cur != "EUR" || sp.calls[1].uk != 0 {
		t.Fatalf("unexpected Bill calls %+v", sp.calls)
	}
}

// TestLossesKeepBillsDeduped: loss notices, many times as many as bills,
// have a dedupe table of their own: however many come, a replayed billing
// notice is still a duplicate, and a replayed loss notice too while its
// table holds it.
func TestLossesKeepBillsDeduped(t *testing.T) {
	sp := &fakeSpender{}
	h := New(Config{DedupeSlots: 64}, sp, nil)
	if code, body := serveDirect(t, h, "GET", "/bill?bid=billed&cid=c&price=1", ""); code != 204 {
		t.Fatalf("bill: %d %q", code, body)
	}
	lossEvictions := lossDedupeEvictions.Get()
	for i := range 1000 {
		if code, body := serveDirect(t, h, "GET", "/loss?bid=lost"+strconv.Itoa(i)+"&cid=c&loss=102&price=1", ""); code != 204 {
			t.Fatalf("loss %d: %d %q", i, code, body)
		}
	}
	if lossDedupeEvictions.Get() == lossEvictions {
		t.Fatal("1000 loss notices in a table of 16 slots evicted none: not the loss table")
	}
	dups := noticesTotal[KindBill][resultDuplicate].Get()
	if code, body := serveDirect(t, h, "GET", "/bill?bid=billed&cid=c&price=1", ""); code != 204 || sp.count() != 1 {
		t.Fatalf("replayed bill after 1000 losses: %d %q, %d Bill calls; want a duplicate, 1 call", code, body, sp.count())
	}
	if noticesTotal[KindBill][resultDuplicate].Get() != dups+1 {
		t.Fatal("the replayed bill was not counted as a duplicate")
	}
	dups = noticesTotal[KindLoss][resultDuplicate].Get()
	serveDirect(t, h, "GET", "/loss?bid=lost999&cid=c&loss=102&price=1", "")
	if noticesTotal[KindLoss][resultDuplicate].Get() != dups+1 {
		t.Fatal("the last loss notice, replayed at once, was not a duplicate")
	}
}

// TestNoticeQty: a DOOH bid's notices count the impressions of one play:
// the exchange's multiplier (mul) when it substituted one in range, else
// the bid's imp's (qm), else 1; the prices, the bid's price they are held
// to and mtw all multiply by it, and a qm that is no multiplier is
// refused.
func TestNoticeQty(t *testing.T) {
	sp, sink := &fakeSpender{}, &fakeSink{}
	h := New(Config{}, sp, sink)
	for _, tc := range []struct {
		query        string
		code         int
		price, bp, m float64 // charged, bp and mtw
	}{
		{"bid=q1&cid=c&price=2&qm=14.2", 204, 28.4, 0, 0},
		{"bid=q2&cid=c&price=2&qm=14.2&mul=10", 204, 20, 0, 0},
		{"bid=q3&cid=c&price=2&qm=14.2&mul=${AUCTION_MULTIPLIER}", 204, 28.4, 0, 0},
		{"bid=q4&cid=c&price=2&qm=14.2&mul=abc", 204, 28.4, 0, 0},
		{"bid=q5&cid=c&price=2&qm=14.2&mul=100001", 204, 56.8, 0, 0}, // at most 2 qm
		{"bid=q12&cid=c&price=2&qm=10&mul=25", 204, 40, 0, 0},
		{"bid=q13&cid=c&price=2&qm=10&mul=20", 204, 40, 0, 0},
		{"bid=q14&cid=c&price=2&qm=10&mul=0", 204, 20, 0, 0},
		{"bid=q6&cid=c&price=2&mul=3", 204, 2, 0, 0}, // no qm: mul is not the bid's
		{"bid=q7&cid=c&price=3&bp=2&mtw=1&qm=10", 204, 20, 20, 10},
		{"bid=q8&cid=c&price=2", 204, 2, 0, 0},
		{"bid=q9&cid=c&price=2&qm=0", 400, 0, 0, 0},
		{"bid=q10&cid=c&price=2&qm=x", 400, 0, 0, 0},
		{"bid=q11&cid=c&price=2&qm=100001", 400, 0, 0, 0},
	} {
		calls := len(sp.calls)
		code, body := serveDirect(t, h, "GET", "/bill?"+tc.query, "")
		if code != tc.code {
			t.Fatalf("%s: %d %q; want %d", tc.query, code, body, tc.code)
		}
		if code != 204 {
			if body != reasonBadQty || len(sp.calls) != calls {
				t.Fatalf("%s: refused with %q after %d Bill calls; want %q and none", tc.query, body, len(sp.calls)-calls, reasonBadQty)
			}
			continue
		}
		c, e := sp.calls[len(sp.calls)-1], sink.calls[len(sink.calls)-1]
		if math.Abs(c.price-tc.price) > 1e-9 || math.Abs(e.bp-tc.bp) > 1e-9 || math.Abs(e.mtw-tc.m) > 1e-9 {
			t.Fatalf("%s: charged %v, bp %v, mtw %v; want %v, %v, %v", tc.query, c.price, e.bp, e.mtw, tc.price, tc.bp, tc.m)
		}
	}
}

// convertingSpender is a fakeSpender that is also a Converter, with the
// rates perUSD (units per USD; USD is 1) and the bid currency bid.
type convertingSpender struct {
	fakeSpender
	bid    string
	perUSD map[string]float64
}

func (s *convertingSpender) CurrencyRate(cur []byte) float64 {
	rate := func(c string) float64 {
		if strings.EqualFold(c, "USD") {
			return 1
		}
		for k, r := range s.perUSD {
			if strings.EqualFold(k, c) {
				return r
			}
		}
		return 0
	}
	if r := rate(string(cur)); r > 0 {
		return rate(s.bid) / r
	}
	return 0
}

// TestNoticeCurrencies: a bid is in the currency its request asked for,
// and so are its notices: one in a currency with a rate is charged, capped
// and reported in the bid currency; one without a rate is refused.
func TestNoticeCurrencies(t *testing.T) {
	sp, sink := &convertingSpender{bid: "USD", perUSD: map[string]float64{"EUR": 0.5, "JPY": 150, "GBP": 0}}, &fakeSink{}
	h := New(Config{Currency: "USD"}, sp, sink)
	for _, tc := range []struct {
		query      string
		code       int
		price, bid float64 // charged and bp, in USD
		stated     float64
	}{
		{"bid=e1&cid=c&price=2&cur=EUR", 204, 4, 0, 0},
		{"bid=e2&cid=c&price=1500&cur=jpy", 204, 10, 0, 0}, // MaxPrice (5000) holds in USD
		{"bid=e3&cid=c&price=3&bp=2&mtw=1&cur=EUR", 204, 4, 4, 6},
		{"bid=e4&cid=c&price=1.5&cur=USD", 204, 1.5, 0, 0},
		{"bid=e5&cid=c&price=750001&cur=JPY", 400, 0, 0, 0},
		{"bid=e6&cid=c&price=1&cur=GBP", 400, 0, 0, 0},
		{"bid=e7&cid=c&price=1&cur=CHF", 400, 0, 0, 0},
	} {
		calls, events := len(sp.calls), len(sink.calls)
		code, body := serveDirect(t, h, "GET", "/bill?"+tc.query, "")
		if code != tc.code {
			t.Fatalf("%s: %d %q; want %d", tc.query, code, body, tc.code)
		}
		if code != 204 {
			if len(sp.calls) != calls || body != reasonCurrency && body != reasonPriceRange {
				t.Fatalf("%s: refused with %q, Bill calls %d; want no charge", tc.query, body, len(sp.calls)-calls)
			}
			continue
		}
		c, e := sp.calls[len(sp.calls)-1], sink.calls[len(sink.calls)-1]
		if len(sp.calls) != calls+1 || len(sink.calls) != events+1 || math.Abs(c.price-tc.price) > 1e-9 || c.cur != "USD" {
			t.Fatalf("%s: charged %v %s; want %v USD", tc.query, c.price, c.cur, tc.price)
		}
		if e.cur != "USD" || math.Abs(e.price-tc.price) > 1e-9 || math.Abs(e.bp-tc.bid) > 1e-9 || math.Abs(e.stated-tc.stated) > 1e-9 {
			t.Fatalf("%s: event %+v; want price %v, bp %v, stated %v USD", tc.query, e, tc.price, tc.bid, tc.stated)
		}
	}
	if e := sink.calls[2]; math.Abs(e.mtw-2) > 1e-9 {
		t.Fatalf("mtw=1 EUR reported as %v; want 2 USD", e.mtw)
	}

	// Bidding in EUR: a notice without cur is in EUR, one in USD converts.
	sp = &convertingSpender{bid: "EUR", perUSD: map[string]float64{"EUR": 0.5}}
	h = New(Config{Currency: "EUR"}, sp, nil)
	for _, q := range []string{"bid=u1&cid=c&price=2&cur=USD", "bid=u2&cid=c&price=2"} {
		if code, body := serveDirect(t, h, "GET", "/bill?"+q, ""); code != 204 {
			t.Fatalf("%s: %d %q; want 204", q, code, body)
		}
	}
	if len(sp.calls) != 2 || sp.calls[0].price != 1 || sp.calls[1].price != 2 || sp.calls[0].cur != "EUR" || sp.calls[1].cur != "EUR" {
		t.Fatalf("Bill calls %+v; want 1 EUR and 2 EUR", sp.calls)
	}
}

func TestBillUnknownCampaign(t *testing.T) {
	sp := &fakeSpender{unknown: map[string]bool{"gone": true}}
	h := New(Config{}, sp, nil)
	unknown0, spend0 := noticesTotal[KindBill][resultUnknown].Get(), noticeSpendTotal.Get()
	if code, _ := serveDirect(t, h, "GET", "/bill?bid=u1&cid=gone&price=3", ""); code != 204 {
		t.Fatalf("unexpected status %d for an unknown campaign; want 204", code)
	}
	if got := noticesTotal[KindBill][resultUnknown].Get() - unknown0; got != 1 {
		t.Fatalf("unexpected unknown count %d; want 1", got)
	}
	if got := noticeSpendTotal.Get() - spend0; got != 0 {
		t.Fatalf("spend moved by %v for an unknown campaign", got)
	}
}

// adoptingSpender is a fakeSpender that adopts the unknown campaigns of
// adoptable: it knows them from then on.
type adoptingSpender struct {
	fakeSpender
	adoptable map[string]bool
	adopted   []string
}

func (s *adoptingSpender) Adopt(cid []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.unknown[string(cid)] || !s.adoptable[string(cid)] {
		return false
	}
	delete(s.unknown, string(cid))
	s.adopted = append(s.adopted, string(cid))
	return true
}

// TestBillAdoptsCampaign: a bill for a campaign the Spender does not
// know yet is charged once it adopts it, and counted as ok; one it does
// not adopt is unknown.
func TestBillAdoptsCampaign(t *testing.T) {
	sp := &adoptingSpender{
		fakeSpender: fakeSpender{unknown: map[string]bool{"new": true, "junk": true}},
		adoptable:   map[string]bool{"new": true},
	}
	h := New(Config{}, sp, nil)
	ok0, unknown0, spend0 := noticesTotal[KindBill][resultOK].Get(), noticesTotal[KindBill][resultUnknown].Get(), noticeSpendTotal.Get()
	serveDirect(t, h, "GET", "/bill?bid=n1&cid=new&price=3", "")
	serveDirect(t, h, "GET", "/bill?bid=j1&cid=junk&price=3", "")
	if got := noticesTotal[KindBill][resultOK].Get() - ok0; got != 1 {
		t.Fatalf("%d bills ok; want 1 (the adopted campaign's)", got)
	}
	if got := noticesTotal[KindBill][resultUnknown].Get() - unknown0; got != 1 {
		t.Fatalf("%d bills unknown; want 1 (the campaign not adopted)", got)
	}
	if got := noticeSpendTotal.Get() - spend0; math.Abs(got-0.003) > 1e-9 {
		t.Fatalf("spend moved by %v; want 0.003 (one bill at CPM 3)", got)
	}
	if len(sp.adopted) != 1 || sp.count() != 3 {
		t.Fatalf("adopted %v with %d Bill calls; want [new] with 3 (each campaign once, new again once adopted)", sp.adopted, sp.count())
	}
}

func TestWinAndLossDoNotBill(t *testing.T) {
	sp, sink := &fakeSpender{}, &fakeSink{}
	h := New(Config{}, sp, sink)
	win0, loss0 := noticesTotal[KindWin][resultOK].Get(), noticesTotal[KindLoss][resultOK].Get()
	if code, _ := serveDirect(t, h, "GET", "/win?"+goodQuery, ""); code != 204 {
		t.Fatalf("unexpected win status %d; want 204", code)
	}
	if code, _ := serveDirect(t, h, "POST", "/x/loss?"+goodQuery+"&loss=102", ""); code != 204 {
		t.Fatalf("unexpected loss status %d; want 204", code)
	}
	if sp.count() != 0 {
		t.Fatalf("win or loss called Spender.Bill %d times", sp.count())
	}
	if len(sink.calls) != 2 || sink.calls[0].kind != KindWin || sink.calls[0].loss != -1 ||
		sink.calls[1].kind != KindLoss || sink.calls[1].loss != 102 {
		t.Fatalf("unexpected Sink calls %+v", sink.calls)
	}
	if noticesTotal[KindWin][resultOK].Get()-win0 != 1 || noticesTotal[KindLoss][resultOK].Get()-loss0 != 1 {
		t.Fatalf("win or loss ok counters did not move by 1")
	}
}

func TestKindsAreDedupedSeparately(t *testing.T) {
	sink := &fakeSink{}
	h := New(Config{}, &fakeSpender{}, sink)
	for _, p := range []string{"/win", "/bill", "/loss", "/win"} {
		serveDirect(t, h, "GET", p+"?"+goodQuery, "")
	}
	if len(sink.calls) != 3 {
		t.Fatalf("unexpected Sink calls %+v; want win, bill and loss once each", sink.calls)
	}
}

func TestValidation(t *testing.T) {
	sp := &fakeSpender{}
	h := New(Config{MaxPrice: 100}, sp, nil)
	f := func(path, query string, want result) {
		t.Helper()
		k := h.kindOf(t, path)
		before := noticesTotal[k][want].Get()
		code, body := serveDirect(t, h, "GET", path+"?"+query, "")
		if code != 400 || body == "" {
			t.Fatalf("unexpected answer for %s?%s; got %d %q; want 400 with a reason", path, query, code, body)
		}
		if got := noticesTotal[k][want].Get() - before; got != 1 {
			t.Fatalf("counter %v of %s moved by %d for %q; want 1", want, k, got, query)
		}
		if sp.count() != 0 {
			t.Fatalf("Spender.Bill was called for invalid %q", query)
		}
	}
	f("/bill", "bid=a&cid=c&price=-1", resultInvalid)
	f("/bill", "bid=a&cid=c&price=NaN", resultInvalid)
	f("/bill", "bid=a&cid=c&price=1e999", resultInvalid)
	f("/bill", "bid=a&cid=c&price=abc", resultInvalid)
	f("/bill", "bid=a&cid=c&price=100.01", resultInvalid)
	f("/bill", "bid=a&cid=c", resultInvalid)
	f("/bill", "bid=a&cid=c&price=", resultInvalid)
	f("/bill", "bid=a&cid=c&price=${AUCTION_PRICE}", resultUnsubstituted)
	f("/bill", "bid=a&cid=c&price=%24%7BAUCTION_PRICE%7D", resultUnsubstituted)
	f("/win", "bid=a&cid=c&price=${AUCTION_PRICE}", resultUnsubstituted)
	f("/bill", "bid=a&cid=c&price=1&cur=EUR", resultInvalid)
	f("/bill", "cid=c&price=1", resultInvalid)
	f("/bill", "bid=&cid=c&price=1", resultInvalid)
	f("/bill", "bid="+strings.Repeat("x", 129)+"&cid=c&price=1", resultInvalid)
	f("/bill", "bid=a&price=1", resultInvalid)
	f("/bill", "bid=a&cid=c&price=1&imp="+strings.Repeat("x", 129), resultInvalid)
	f("/bill", "bid=a&cid=c&price=1&uk=123", resultInvalid)
	f("/bill", "bid=a&cid=c&price=1&uk=zzzzzzzzzzzzzzzz", resultInvalid)
	f("/bill", "bid=a&cid=c&price=1&uk=00000000000000001", resultInvalid)
	f("/win", "bid=a&cid=c&price=-0.5", resultInvalid)
}

// TestNoticesWithoutAPrice: a win or billing notice without a price it
// can be charged (empty, the macro, a price above MaxPrice) is charged at
// its bid's price when it carries it, the most the impression can cost,
// and counted as unpriced or capped; without bp it is refused.
func TestNoticesWithoutAPrice(t *testing.T) {
	sp, sink := &fakeSpender{}, &fakeSink{}
	h := New(Config{}, sp, sink)
	unpriced, capped := noticesUnpriced[KindBill].Get(), noticesCapped[KindBill].Get()
	for _, tc := range []struct {
		query    string
		charged  float64
		unpriced bool
	}{
		{"bid=u1&cid=c&price=${AUCTION_PRICE}&bp=2", 2, true},
		{"bid=u2&cid=c&price=%24%7BAUCTION_PRICE%7D&bp=2", 2, true},
		{"bid=u3&cid=c&price=&bp=2.5", 2.5, true},
		{"bid=u4&cid=c&bp=2.5", 2.5, true},
		{"bid=u5&cid=c&price=5500&bp=3", 3, false}, // above MaxPrice: capped at bp
		{"bid=u6&cid=c&price=${AUCTION_PRICE}", -1, false},
		{"bid=u7&cid=c&price=5500", -1, false},
		// bp itself is held to MaxPrice: charged up to it, an unsigned
		// bp=1e300 overflowed the spend counters.
		{"bid=u8&cid=c&price=5500&bp=5500", -1, false},
		{"bid=u9&cid=c&bp=1e300", -1, false},
	} {
		calls, events := len(sp.calls), sink.count()
		code, body := serveDirect(t, h, "GET", "/bill?"+tc.query, "")
		if tc.charged < 0 {
			if code != 400 || len(sp.calls) != calls || sink.count() != events {
				t.Fatalf("%s: %d %q, %d charges; want 400 and none", tc.query, code, body, len(sp.calls)-calls)
			}
			continue
		}
		if code != 204 || len(sp.calls) != calls+1 || sp.calls[calls].price != tc.charged {
			t.Fatalf("%s: %d %q, charges %+v; want 204 and one of %v", tc.query, code, body, sp.calls[calls:], tc.charged)
		}
		if e := sink.calls[events]; e.unpriced != tc.unpriced || e.price != tc.charged {
			t.Fatalf("%s: event %+v; want price %v, unpriced %v", tc.query, e, tc.charged, tc.unpriced)
		}
	}
	if u, c := noticesUnpriced[KindBill].Get()-unpriced, noticesCapped[KindBill].Get()-capped; u != 4 || c != 1 {
		t.Fatalf("counted %d unpriced and %d capped bills; want 4 and 1", u, c)
	}
}

// TestUnchargedBills: a bill the Spender refuses (a campaign it does not
// know) is logged as uncharged, whether it comes as a billing notice or
// as a win that bills; the others are not.
func TestUnchargedBills(t *testing.T) {
	for _, billOnWin := range []bool{false, true} {
		sp, sink := &fakeSpender{unknown: map[string]bool{"gone": true}}, &fakeSink{}
		h := New(Config{BillOnWin: billOnWin}, sp, sink)
		path := "/bill"
		if billOnWin {
			path = "/win"
		}
		for _, cid := range []string{"gone", "here"} {
			if code, body := serveDirect(t, h, "GET", path+"?bid=b-"+cid+"&cid="+cid+"&price=1", ""); code != 204 {
				t.Fatalf("%s for %s: %d %q", path, cid, code, body)
			}
		}
		var bills []string
		for _, c := range sink.calls {
			if c.kind == KindBill {
				bills = append(bills, fmt.Sprintf("%s %v", c.cid, c.uncharged))
			}
		}
		if !slices.Equal(bills, []string{"gone true", "here false"}) {
			t.Fatalf("billOnWin %v: bills logged %q; want gone uncharged, here charged", billOnWin, bills)
		}
	}
}

// TestMaxPriceInUSD: MaxPrice is in USD, whatever the bid currency: a
// bill of 8,500 KRW (about 6 USD) is not out of range.
func TestMaxPriceInUSD(t *testing.T) {
	sp := &convertingSpender{bid: "KRW", perUSD: map[string]float64{"KRW": 1400}}
	h := New(Config{Currency: "KRW"}, sp, nil)
	for q, want := range map[string]int{
		"bid=k1&cid=c&price=8500":            204,
		"bid=k2&cid=c&price=6999999":         204, // 4999.99 USD
		"bid=k3&cid=c&price=7000001":         400,
		"bid=k4&cid=c&price=9000&bp=9031.33": 204, // the audit's bill of a KRW bid
	} {
		if code, body := serveDirect(t, h, "GET", "/bill?"+q, ""); code != want {
			t.Errorf("%s: %d %q; want %d", q, code, body, want)
		}
	}
}

// TestOddLosses: a loss notice whose price, bp or loss code cannot be
// read is kept, with what it lacks unknown: a loss moves no money, and
// the winner's price may be above ours and MaxPrice.
func TestOddLosses(t *testing.T) {
	sink := &fakeSink{}
	h := New(Config{}, &fakeSpender{}, sink)
	for i, tc := range []struct {
		query string
		price float64
		loss  int
	}{
		{"price=2,5&loss=102", UnknownPrice, 102},
		{"price=-1&loss=102", UnknownPrice, 102},
		{"price=5500&bp=3&loss=102", UnknownPrice, 102},
		{"price=900&bp=3&loss=102", 900, 102},
		{"price=2&bp=abc&loss=102", 2, 102},
		{"price=2&loss=-1", 2, -1},
		{"price=2&loss=100000", 2, -1},
		{"price=2&loss=1001", 2, 1001},
	} {
		q := fmt.Sprintf("/loss?bid=o%d&cid=c&%s", i, tc.query)
		if code, body := serveDirect(t, h, "GET", q, ""); code != 204 {
			t.Fatalf("%s: %d %q; want 204", q, code, body)
		}
		if e := sink.calls[len(sink.calls)-1]; e.price != tc.price || e.loss != tc.loss {
			t.Fatalf("%s: event %+v; want price %v, loss %d", q, e, tc.price, tc.loss)
		}
	}
}

// TestLossWithoutPrice accepts loss notices whose price is absent or left
// as a macro: they move no money, and the sink gets UnknownPrice.
func TestLossWithoutPrice(t *testing.T) {
	sp, sink := &fakeSpender{}, &fakeSink{}
	h := New(Config{}, sp, sink)
	for i, q := range []string{
		"bid=a1&cid=c&price=${AUCTION_PRICE}&loss=${AUCTION_LOSS}",
		"bid=a2&cid=c&price=%24%7BAUCTION_PRICE%7D&loss=102",
		"bid=a3&cid=c",
	} {
		if code, body := serveDirect(t, h, "GET", "/x/loss?"+q, ""); code != 204 {
			t.Fatalf("loss %q: status %d %q; want 204", q, code, body)
		}
		if c := sink.calls[i]; c.kind != KindLoss || c.price != UnknownPrice {
			t.Fatalf("loss %q: sink got %+v; want a loss at UnknownPrice", q, c)
		}
	}
	if sink.calls[1].loss != 102 || sink.calls[0].loss != -1 {
		t.Fatalf("loss codes %d, %d; want -1 (macro) and 102", sink.calls[0].loss, sink.calls[1].loss)
	}
	// A win or billing notice still needs its price.
	if code, _ := serveDirect(t, h, "GET", "/x/win?bid=a4&cid=c&price=${AUCTION_PRICE}", ""); code == 204 {
		t.Fatal("a win notice with an unsubstituted price was accepted")
	}
	if sp.count() != 0 {
		t.Fatalf("loss notices called Spender.Bill %d times", sp.count())
	}
}

func TestLongestValidBid(t *testing.T) {
	sp := &fakeSpender{}
	h := New(Config{}, sp, nil)
	if code, body := serveDirect(t, h, "GET", "/bill?bid="+strings.Repeat("x", 128)+"&cid=c&price=1", ""); code != 204 {
		t.Fatalf("unexpected status %d (%q) for a 128-byte bid; want 204", code, body)
	}
}

// kindOf returns the kind that path routes to.
func (h *Handler) kindOf(t *testing.T, path string) Kind {
	switch path {
	case "/win":
		return KindWin
	case "/bill":
		return KindBill
	case "/loss":
		return KindLoss
	}
	t.Fatalf("BUG: no kind for %q", path)
	return 0
}

func TestMethodNotAllowed(t *testing.T) {
	h := New(Config{}, &fakeSpender{}, nil)
	for _, m := range []string{"PUT", "DELETE", "HEAD"} {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(m)
		ctx.Request.SetRequestURI("/bill?" + goodQuery)
		h.ServeBill(&ctx)
		if got := ctx.Response.StatusCode(); got != 405 {
			t.Fatalf("unexpected status %d for %s; want 405", got, m)
		}
		if got := string(ctx.Response.Header.Peek("Allow")); got != "GET, POST" {
			t.Fatalf("unexpected Allow header %q", got)
		}
	}
}

func TestRoute(t *testing.T) {
	h := New(Config{DedupeSlots: 8}, nil, nil)
	f := func(path string, want Kind, wantOK bool) {
		t.Helper()
		hf := h.Route([]byte(path))
		if (hf != nil) != wantOK {
			t.Fatalf("unexpected Route(%q) != nil: %v; want %v", path, hf != nil, wantOK)
		}
		if !wantOK {
			return
		}
		sink := &fakeSink{}
		h.sink = sink
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(fmt.Sprintf("%s?bid=route%s&cid=c&price=1", path, path))
		hf(&ctx)
		if len(sink.calls) != 1 || sink.calls[0].kind != want {
			t.Fatalf("Route(%q) served %+v; want kind %s", path, sink.calls, want)
		}
	}
	f("/win", KindWin, true)
	f("/bill", KindBill, true)
	f("/loss", KindLoss, true)
	f("/rtb/v1/bill", KindBill, true)
	f("/winx", 0, false)
	f("/win/", 0, false)
	f("/openrtb2/bid", 0, false)
	f("", 0, false)
}

func TestTestBidsDoNotBill(t *testing.T) {
	sp, sink := &fakeSpender{}, &fakeSink{}
	isTest := func(bid []byte) bool { return string(bid) == "b-test" }
	h := New(Config{IsTest: isTest}, sp, sink)
	if code, body := serveDirect(t, h, "GET", "/bill?bid=b-test&cid=c&price=1", ""); code != 204 {
		t.Fatalf("unexpected status %d (%q); want 204", code, body)
	}
	if len(sp.calls) != 0 || len(sink.calls) != 1 || !sink.calls[0].test {
		t.Fatalf("a test bid billed: Bill calls %+v, sink calls %+v; want none, and one marked test", sp.calls, sink.calls)
	}
	if code, _ := serveDirect(t, h, "GET", "/bill?bid=b-real&cid=c&price=1", ""); code != 204 || len(sp.calls) != 1 || len(sink.calls) != 2 || sink.calls[1].test {
		t.Fatalf("a real bid did not bill: %d %+v, sink calls %+v", code, sp.calls, sink.calls)
	}
}

func TestJournalGetsBillsThatMovedSpend(t *testing.T) {
	sp, j := &fakeSpender{unknown: map[string]bool{"gone": true}}, &journal{}
	h := New(Config{Journal: j, IsTest: func(bid []byte) bool { return string(bid) == "b-test" }}, sp, nil)
	at := time.Unix(1700000000, 0)
	h.now = func() time.Time { return at }
	for _, uri := range []string{
		"/bill?" + goodQuery,
		"/bill?" + goodQuery, // a replay
		"/win?" + goodQuery,
		"/bill?bid=b2&cid=gone&price=1",
		"/bill?bid=b-test&cid=c7&price=1",
	} {
		if code, body := serveDirect(t, h, "GET", uri, ""); code != 204 {
			t.Fatalf("%s: %d %q; want 204", uri, code, body)
		}
	}
	want := Billed{Notice: fingerprint(KindBill, []byte("b1")), Time: at.Unix(), Charge: Charge{CapKey: 0xff * 3, CapWindow: 60, Campaign: 0xff + 1, Today: 2, Total: 5}}
	if len(j.billed) != 1 || j.billed[0] != want {
		t.Fatalf("journal %+v; want only the first bill of b1, %+v", j.billed, want)
	}
	// Another host that marked it billed answers its replay as a duplicate.
	sp2 := &fakeSpender{}
	h2 := New(Config{}, sp2, nil)
	h2.MarkBilled(j.billed[0].Notice)
	if code, _ := serveDirect(t, h2, "GET", "/bill?"+goodQuery, ""); code != 204 || len(sp2.calls) != 0 {
		t.Fatalf("a notice marked billed was billed again: %d, %+v", code, sp2.calls)
	}
	if code, _ := serveDirect(t, h2, "GET", "/win?"+goodQuery, ""); code != 204 || sp2.count() != 0 {
		t.Fatalf("win of a marked bill: %d", code)
	}
}

// TestExchangeNotices: each notice processed for the first time counts
// under the exchange its x names, the default's without x and
// "unknown"'s with a name not configured, and a billing notice's charge
// adds to its exchange's spend; a duplicate or refused notice counts
// nowhere. The event log gets the x of each, as it was sent.
func TestExchangeNotices(t *testing.T) {
	sp, sink := &fakeSpender{unknown: map[string]bool{"gone": true}}, &fakeSink{}
	h := New(Config{Exchanges: []string{"tx-n1", "/tx/n2"}}, sp, sink)
	if n := len(h.exchanges); n != 4 || h.exchanges[0].name != "default" || h.exchanges[3].name != "unknown" {
		t.Fatalf("%d exchanges: %+v", n, h.exchanges)
	}
	counts := func() map[string]float64 {
		m := map[string]float64{}
		for i := range h.exchanges {
			x := &h.exchanges[i]
			for k, kind := range []string{"win", "bill", "loss"} {
				m[x.name+" "+kind] = float64(x.notices[k].Get())
			}
			m[x.name+" spend"] = x.spend.Get()
			// The loss series by name, as a scrape reads them.
			for _, reason := range []string{"0", "102", "215", "other", "unknown"} {
				series := `rtbd_exchange_losses_total{exchange="` + x.name + `",reason="` + reason + `"}`
				m[x.name+" loss "+reason] = float64(metrics.GetOrCreateCounter(series).Get())
			}
		}
		return m
	}
	f := func(uri string, wantCode int, moved ...string) {
		t.Helper()
		before := counts()
		if code, body := serveDirect(t, h, "GET", uri, ""); code != wantCode {
			t.Fatalf("%s: %d %q; want %d", uri, code, body, wantCode)
		}
		want := map[string]float64{}
		for i := 0; i+1 < len(moved); i += 2 {
			var v float64
			fmt.Sscan(moved[i+1], &v)
			want[moved[i]] = v
		}
		for k, v := range counts() {
			if d := v - before[k]; math.Abs(d-want[k]) > 1e-12 {
				t.Errorf("%s: %s moved by %g; want %g", uri, k, d, want[k])
			}
		}
	}
	f("/win?bid=e1&cid=c&price=2&x=tx-n1", 204, "tx-n1 win", "1")
	f("/win?bid=e1&cid=c&price=2&x=tx-n1", 204) // a duplicate
	f("/bill?bid=e1&cid=c&price=2&x=tx-n1", 204, "tx-n1 bill", "1", "tx-n1 spend", "0.002")
	f("/loss?bid=e2&cid=c&price=3&loss=102&x=%2Ftx%2Fn2", 204, "/tx/n2 loss", "1", "/tx/n2 loss 102", "1")
	f("/loss?bid=e2&cid=c&price=3&loss=102&x=%2Ftx%2Fn2", 204) // a duplicate
	// Loss reasons: OpenRTB's by number, an exchange's own codes as
	// other, none as unknown.
	f("/loss?bid=e7&cid=c&loss=215&x=tx-n1", 204, "tx-n1 loss", "1", "tx-n1 loss 215", "1")
	f("/loss?bid=e8&cid=c&loss=216&x=tx-n1", 204, "tx-n1 loss", "1", "tx-n1 loss other", "1")
	f("/loss?bid=e9&cid=c&loss=1002&x=tx-n1", 204, "tx-n1 loss", "1", "tx-n1 loss other", "1")
	f("/loss?bid=e10&cid=c&loss=$%7BAUCTION_LOSS%7D&x=tx-n1", 204, "tx-n1 loss", "1", "tx-n1 loss unknown", "1")
	f("/loss?bid=e11&cid=c&price=1", 204, "default loss", "1", "default loss unknown", "1")
	f("/loss?bid=e12&cid=c&loss=0&x=tx-n1", 204, "tx-n1 loss", "1", "tx-n1 loss 0", "1")
	f("/loss?bid=e13&cid=c&loss=x&x=tx-n1", 204, "tx-n1 loss", "1", "tx-n1 loss unknown", "1") // a code it cannot read
	f("/win?bid=e4&cid=c&price=1&x=tx-removed", 204, "unknown win", "1")
	f("/win?bid=e5&cid=c&price=1&x="+strings.Repeat("x", 129), 400)
	f("/bill?bid=e6&cid=gone&price=1&x=tx-n1", 204) // a campaign the spender does not know
	var logged []string
	for _, c := range sink.calls {
		logged = append(logged, c.bid+" "+c.exchange)
	}
	want := []string{"e1 tx-n1", "e1 tx-n1", "e2 /tx/n2", "e7 tx-n1", "e8 tx-n1", "e9 tx-n1", "e10 tx-n1",
		"e11 ", "e12 tx-n1", "e13 tx-n1", "e4 tx-removed", "e6 tx-n1"}
	if !slices.Equal(logged, want) {
		t.Fatalf("logged %q; want %q", logged, want)
	}
}
