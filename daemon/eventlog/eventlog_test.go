package eventlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

type jsonRecord struct {
	TS         string   `json:"ts"`
	Kind       string   `json:"kind"`
	Reason     uint8    `json:"reason"`
	ReasonName string   `json:"reason_name"`
	Price      *float64 `json:"price"`
	Cur        string   `json:"cur"`
	RequestID  string   `json:"request_id"`
	BidID      string   `json:"bid_id"`
	CampaignID string   `json:"campaign_id"`
	ImpID      string   `json:"imp_id"`
	Exchange   string   `json:"exchange"`
	DealID     string   `json:"deal_id"`
	Stated     float64  `json:"stated_price"`
	MinToWin   float64  `json:"min_to_win"`
	BidPrice   float64  `json:"bid_price"`
	DealKnown  bool     `json:"deal_known"`
	LossCode   *int32   `json:"loss_code"` // loss records only
	Unpriced   bool     `json:"unpriced"`
	Uncharged  bool     `json:"uncharged"`
	Test       *bool    `json:"test"` // only when true
}

// wantString is what a JSON reader should get back for stored bytes.
func wantString(b []byte) string { return strings.ToValidUTF8(string(b), "\ufffd") }

func TestRoundTripCat(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	l, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000
	appendAll(t, l, 0, n/2)
	l.sync() // two blocks at least
	appendAll(t, l, n/2, n)
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %s", err)
	}
	if got := l.Flushed(); got != n {
		t.Fatalf("Flushed() = %d; want %d", got, n)
	}
	var out, notes bytes.Buffer
	rd := Reader{Notes: &notes, ReasonNames: func(c uint8) string {
		if c == 3 {
			return "three"
		}
		return ""
	}, IsTestBid: testIsTestBid}
	skipped, err := rd.Cat(&out, cfg.Dir)
	if err != nil || skipped != 0 || notes.Len() != 0 {
		t.Fatalf("Cat: skipped %d, err %v, notes %q", skipped, err, notes.String())
	}
	sc := bufio.NewScanner(&out)
	i, tests := 0, 0
	for ; sc.Scan(); i++ {
		var got jsonRecord
		if err := json.Unmarshal(sc.Bytes(), &got); err != nil {
			t.Fatalf("line %d %q: %s", i, sc.Text(), err)
		}
		want := testRecord(i)
		checkJSONRecord(t, i, &got, &want)
		if test := testIsTestBid(want.BidID()); (got.Test != nil) != test || test && !*got.Test {
			t.Fatalf("line %d %q: a test request's bid: %v", i, sc.Text(), test)
		} else if test {
			tests++
		}
	}
	if i != n {
		t.Fatalf("Cat printed %d records; want %d", i, n)
	}
	if tests == 0 {
		t.Fatal("no test request's bid among the records")
	}
}

func checkJSONRecord(t *testing.T, i int, got *jsonRecord, want *Record) {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, got.TS)
	if err != nil || ts.UnixNano() != want.TimeUnixNano {
		t.Fatalf("record %d: ts %q (%v); want %d", i, got.TS, err, want.TimeUnixNano)
	}
	wantName := ""
	if want.Reason == 3 && want.Kind == KindNoBid { // a loss's 3 is not a no-bid reason
		wantName = "three"
	}
	if got.Kind != want.Kind.String() || got.Reason != want.Reason || got.ReasonName != wantName {
		t.Fatalf("record %d: kind %q reason %d %q; want %s %d %q", i, got.Kind, got.Reason, got.ReasonName, want.Kind, want.Reason, wantName)
	}
	if got.Price == nil || *got.Price != want.Price || got.Cur != want.CurString() {
		t.Fatalf("record %d: price %v %q; want %v %q", i, got.Price, got.Cur, want.Price, want.CurString())
	}
	if got.RequestID != wantString(want.RequestID()) || got.BidID != wantString(want.BidID()) ||
		got.CampaignID != wantString(want.CampaignID()) || got.ImpID != wantString(want.ImpID()) {
		t.Fatalf("record %d: ids %q %q %q %q; want %q %q %q %q", i, got.RequestID, got.BidID, got.CampaignID, got.ImpID,
			want.RequestID(), want.BidID(), want.CampaignID(), want.ImpID())
	}
	if got.Exchange != wantString(want.Exchange()) || got.DealID != wantString(want.DealID()) || got.DealKnown != want.DealKnown {
		t.Fatalf("record %d: exchange %q deal %q known %v; want %q %q %v", i, got.Exchange, got.DealID, got.DealKnown,
			want.Exchange(), want.DealID(), want.DealKnown)
	}
	if (got.LossCode != nil) != (want.Kind == KindLoss) || got.LossCode != nil && *got.LossCode != want.LossCode ||
		got.Unpriced != want.Unpriced || got.Uncharged != want.Uncharged {
		t.Fatalf("record %d: loss code %v, unpriced %v, uncharged %v; want %+v", i, got.LossCode, got.Unpriced, got.Uncharged, want)
	}
	if got.Stated != want.StatedPrice || got.MinToWin != want.MinToWin || got.BidPrice != want.BidPrice {
		t.Fatalf("record %d: stated %v mtw %v bp %v; want %v %v %v", i, got.Stated, got.MinToWin, got.BidPrice,
			want.StatedPrice, want.MinToWin, want.BidPrice)
	}
}

func TestNilAndDisabledLog(t *testing.T) {
	t.Parallel()
	var l *Log
	r := testRecord(1)
	if l.Append(&r) || l.Close() != nil || l.Flushed() != 0 || l.Dropped() != 0 {
		t.Fatal("nil *Log must be a no-op")
	}
	l, err := Open(testConfigNoDir())
	if l != nil || err != nil {
		t.Fatalf("Open with empty Dir = %v, %v; want nil, nil", l, err)
	}
}

func TestAppendAfterClose(t *testing.T) {
	t.Parallel()
	l, err := Open(testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %s", err)
	}
	r := testRecord(0)
	before := droppedTotal.Get()
	if l.Append(&r) {
		t.Fatal("Append after Close returned true")
	}
	if l.Dropped() != 1 || droppedTotal.Get() < before+1 {
		t.Fatalf("Dropped() = %d, metric %d -> %d; want the drop counted", l.Dropped(), before, droppedTotal.Get())
	}
}

func TestOpenBadDir(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Dir = "/proc/self/rtbd-cannot-exist"
	if l, err := Open(cfg); err == nil {
		l.Close()
		t.Fatal("Open on an impossible directory succeeded")
	}
}

func TestKindString(t *testing.T) {
	t.Parallel()
	f := func(k Kind, want string) {
		t.Helper()
		if got := k.String(); got != want {
			t.Fatalf("unexpected result for Kind(%d).String(); got %q; want %q", k, got, want)
		}
	}
	f(KindBid, "bid")
	f(KindNoBid, "nobid")
	f(KindWin, "win")
	f(KindBill, "bill")
	f(KindLoss, "loss")
	f(Kind(9), "kind(9)")
}

func TestSettersTruncate(t *testing.T) {
	t.Parallel()
	long := []byte(strings.Repeat("x", 200))
	var r Record
	r.SetRequestID(long)
	r.SetBidID(long)
	r.SetCampaignID(long)
	r.SetImpID(long)
	r.SetExchange(long)
	r.SetDealID(long)
	if len(r.RequestID()) != MaxRequestID || len(r.BidID()) != MaxBidID ||
		len(r.CampaignID()) != MaxCampaignID || len(r.ImpID()) != MaxImpID ||
		len(r.Exchange()) != MaxExchange || len(r.DealID()) != MaxDealID {
		t.Fatalf("lengths %d %d %d %d %d %d", len(r.RequestID()), len(r.BidID()), len(r.CampaignID()), len(r.ImpID()),
			len(r.Exchange()), len(r.DealID()))
	}
	r.SetRequestID([]byte("ab"))
	r.SetCur("EURO")
	if string(r.RequestID()) != "ab" || r.CurString() != "" {
		t.Fatalf("got %q cur %q; want \"ab\" and no currency", r.RequestID(), r.CurString())
	}
	r.SetBidIDString("")
	r.SetCampaignIDString("c")
	r.SetImpID(nil)
	r.SetExchangeString("x")
	r.SetDealID(nil)
	var fresh Record
	fresh.SetRequestIDString("ab")
	fresh.SetCampaignID([]byte("c"))
	fresh.SetExchange([]byte("x"))
	if r != fresh {
		t.Fatalf("a reused record differs from a fresh one with the same content:\n%+v\n%+v", r, fresh)
	}
}

func TestRecordFrame(t *testing.T) {
	t.Parallel()
	f := func(r Record) {
		t.Helper()
		frame := appendRecord([]byte("prefix"), &r)
		var got Record
		rest, err := decodeRecord(&got, frame[len("prefix"):])
		if err != nil || len(rest) != 0 || got != r {
			t.Fatalf("frame round trip: err %v, rest %d; got %+v; want %+v", err, len(rest), got, r)
		}
		for n := range len(frame) - len("prefix") {
			if _, err := decodeRecord(&got, frame[len("prefix"):len("prefix")+n]); err == nil {
				t.Fatalf("decodeRecord accepted a frame cut to %d bytes", n)
			}
		}
	}
	f(Record{})
	f(testRecord(3))
	f(testRecord(5))
	r := testRecord(4)
	r.Price = math.Inf(-1)
	f(r)
	r = testRecord(3) // a bill with a stated price, an mtw and a bid price
	if r.StatedPrice == 0 || r.MinToWin == 0 || r.BidPrice == 0 {
		t.Fatalf("test record 3 has no stated price, mtw or bid price: %+v", r)
	}
	f(r)
}

// TestRecordFrameTail: the tail's fields decode; a tail longer than this
// rtbd writes (a newer rtbd's, with fields added at its end) decodes, its
// unknown bytes skipped so the next frame decodes too; a frame without a
// tail (the format before it) decodes with the tail's fields zero, and
// one with the first tail (bid price alone) with DealKnown false; a cut
// tail, or a tail without frameMore, is a bad frame.
func TestRecordFrameTail(t *testing.T) {
	t.Parallel()
	r := testRecord(3)
	r.DealKnown = true
	frame := appendRecord(nil, &r)
	head := frame[:len(frame)-1-tailLen] // up to the tail
	// A newer rtbd's frame: three more bytes in the tail, then a frame.
	newer := append(append([]byte(nil), head...), tailLen+3)
	newer = append(append(newer, frame[len(head)+1:]...), 7, 8, 9)
	next := testRecord(4)
	newer = appendRecord(newer, &next)
	var got Record
	rest, err := decodeRecord(&got, newer)
	if err != nil || got != r {
		t.Fatalf("frame with a longer tail: err %v; got %+v; want %+v", err, got, r)
	}
	if rest, err = decodeRecord(&got, rest); err != nil || len(rest) != 0 || got != next {
		t.Fatalf("frame after a longer tail: err %v, rest %d; got %+v; want %+v", err, len(rest), got, next)
	}
	// The format before the tail.
	old := append([]byte{frame[0] &^ frameTail}, head[1:]...)
	got = r
	want := r
	want.BidPrice, want.DealKnown, want.Unpriced, want.Uncharged = 0, false, false, false
	if rest, err := decodeRecord(&got, old); err != nil || len(rest) != 0 || got != want {
		t.Fatalf("frame without a tail: err %v, rest %d; got %+v; want %+v", err, len(rest), got, want)
	}
	// The first tail: the bid price, without flags.
	first := append(append([]byte(nil), head...), 8)
	first = append(first, frame[len(head)+1:len(head)+1+8]...)
	got = r
	want = r
	want.DealKnown, want.Unpriced, want.Uncharged = false, false, false
	if rest, err := decodeRecord(&got, first); err != nil || len(rest) != 0 || got != want {
		t.Fatalf("frame with the first tail: err %v, rest %d; got %+v; want %+v", err, len(rest), got, want)
	}
	// The tail before the loss code: a loss's is its Reason.
	loss := testRecord(19)
	loss.Unpriced = true // not a loss's, but the flag reads
	if loss.Kind != KindLoss || loss.LossCode != 1001 || loss.Reason != 255 {
		t.Fatalf("testRecord(19) is %+v; want a loss of code 1001", loss)
	}
	lf := appendRecord(nil, &loss)
	lh := lf[:len(lf)-1-tailLen]
	second := append(append(append([]byte(nil), lh...), 9), lf[len(lh)+1:len(lh)+1+9]...)
	got, want = r, loss
	want.LossCode = 255
	if rest, err := decodeRecord(&got, second); err != nil || len(rest) != 0 || got != want {
		t.Fatalf("frame with the second tail: err %v, rest %d; got %+v; want %+v", err, len(rest), got, want)
	}
	for _, bad := range [][]byte{
		append(append([]byte(nil), head...), tailLen+1, 1),  // cut
		append([]byte{frame[0] &^ frameMore}, frame[1:]...), // tail without frameMore
	} {
		if _, err := decodeRecord(&got, bad); err == nil {
			t.Fatalf("decodeRecord accepted the bad frame %x", bad)
		}
	}
}

// TestRecordFrameWithoutMore: a frame written before the exchange and
// deal were logged (no frameMore) decodes with both empty, even into a
// record that held them.
func TestRecordFrameWithoutMore(t *testing.T) {
	t.Parallel()
	r := testRecord(10) // a bid through a deal, on exchange "x-1"
	if len(r.Exchange()) == 0 || len(r.DealID()) == 0 {
		t.Fatalf("test record without exchange or deal: %+v", r)
	}
	frame := appendRecord(nil, &r)
	// The old frame: the kind without frameMore, and none of its fields.
	old := append([]byte{frame[0] &^ (frameMore | frameTail)}, frame[1:len(frame)-2-len(r.Exchange())-len(r.DealID())-16-1-tailLen]...)
	got := r
	got.StatedPrice, got.MinToWin, got.BidPrice = 1, 2, 3
	rest, err := decodeRecord(&got, old)
	want := r
	want.SetExchange(nil)
	want.SetDealID(nil)
	if err != nil || len(rest) != 0 || got != want {
		t.Fatalf("old frame: err %v, rest %d; got %+v; want %+v", err, len(rest), got, want)
	}
	// With frameMore, the same bytes are a cut frame.
	if _, err := decodeRecord(&got, append([]byte{frame[0] &^ frameTail}, old[1:]...)); err == nil {
		t.Fatal("a frame with frameMore and no exchange decoded")
	}
}

func TestAppendJSONString(t *testing.T) {
	t.Parallel()
	f := func(in, want string) {
		t.Helper()
		got := appendJSONString(nil, []byte(in))
		var s string
		if err := json.Unmarshal(got, &s); err != nil || s != want || !utf8.Valid(got) {
			t.Fatalf("appendJSONString(%q) = %s (%v); decodes to %q; want %q", in, got, err, s, want)
		}
	}
	f("", "")
	f("abc", "abc")
	f(`a"b\c`, `a"b\c`)
	f("\x00\x1f\n", "\x00\x1f\n")
	f("é☃", "é☃")
	f("a\xffb", "a\ufffdb")
}

func TestAppendFloat(t *testing.T) {
	t.Parallel()
	f := func(v float64, want string) {
		t.Helper()
		if got := string(appendFloat(nil, v)); got != want {
			t.Fatalf("appendFloat(%v) = %s; want %s", v, got, want)
		}
	}
	f(1.25, "1.25")
	f(0, "0")
	f(math.NaN(), "null")
	f(math.Inf(1), "null")
}
