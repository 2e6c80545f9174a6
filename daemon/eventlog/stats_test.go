package eventlog

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// writeLog writes test records from..to-1 into a fresh log directory.
func writeLog(t *testing.T, from, to int) string {
	t.Helper()
	rs := make([]Record, 0, to-from)
	for i := from; i < to; i++ {
		rs = append(rs, testRecord(i))
	}
	return writeRecords(t, rs...)
}

func TestStats(t *testing.T) {
	t.Parallel()
	const n = 100
	dir := writeLog(t, 0, n)
	var out bytes.Buffer
	rd := Reader{ReasonNames: func(c uint8) string { return map[uint8]string{1: "one"}[c] }, IsTestBid: testIsTestBid}
	if _, err := rd.Stats(&out, dir); err != nil {
		t.Fatal(err)
	}
	// Expected values computed from the inputs, independently of summary.
	kinds := map[string]int{}
	type sum struct {
		bills int
		cpm   float64
	}
	testBills := map[string]*sum{} // by currency
	dealTestBills := 0
	spend := map[string]float64{}
	reasons := map[uint8]int{}
	exchanges := map[string]map[string]int{}
	exchangeSpend := map[string]float64{}
	uncharged := map[string]int{} // by exchange
	type capped struct {
		bills              int
		excess             float64
		bidBills, mtwBills int
		bidSum, discount   float64
		overpaid           float64
	}
	exchangeCapped := map[string]*capped{}
	type deal struct {
		bids, wins, losses, bills int
		cpm                       float64
		lossReasons               map[string]int
	}
	exchangeLosses := map[string]map[string]int{} // by exchange, then code
	deals := map[string]*deal{}
	dealOf := map[string]string{} // bid id: its deal bid's deal line
	named, joined := 0, 0
	for i := range n {
		r := testRecord(i)
		if r.Kind == KindBid && len(r.DealID()) > 0 {
			k := string(r.DealID()) + "/" + string(r.Exchange()) + "/" + r.CurString()
			if deals[k] == nil {
				deals[k] = &deal{}
			}
			deals[k].bids++
			dealOf[string(r.BidID())] = k
		}
	}
	for i := range n {
		r := testRecord(i)
		kinds[r.Kind.String()]++
		if exchanges[string(r.Exchange())] == nil {
			exchanges[string(r.Exchange())] = map[string]int{}
		}
		exchanges[string(r.Exchange())][r.Kind.String()]++
		if r.Kind == KindWin || r.Kind == KindBill || r.Kind == KindLoss {
			k, ok := dealOf[string(r.BidID())]
			if r.DealKnown { // its notice named the deal, or none
				k, ok = string(r.DealID())+"/"+string(r.Exchange())+"/"+r.CurString(), len(r.DealID()) > 0
				if ok && deals[k] == nil {
					deals[k] = &deal{}
				}
			}
			if ok {
				switch r.Kind {
				case KindWin:
					deals[k].wins++
				case KindLoss:
					deals[k].losses++
					if deals[k].lossReasons == nil {
						deals[k].lossReasons = map[string]int{}
					}
					deals[k].lossReasons[lossKey(r.LossCode)]++
				default:
					if strings.HasSuffix(string(r.BidID()), "t") {
						dealTestBills++
						break
					}
					if r.Uncharged {
						break
					}
					deals[k].bills++
					deals[k].cpm += r.Price
				}
				if r.DealKnown {
					named++
				} else {
					joined++
				}
			}
		}
		if r.Kind == KindBill && strings.HasSuffix(string(r.BidID()), "t") {
			if testBills[r.CurString()] == nil {
				testBills[r.CurString()] = &sum{}
			}
			testBills[r.CurString()].bills++
			testBills[r.CurString()].cpm += r.Price
		} else if r.Kind == KindBill && r.Uncharged {
			uncharged[string(r.Exchange())]++
		} else if r.Kind == KindBill {
			spend[string(r.CampaignID())+"/"+r.CurString()] += r.Price
			exchangeSpend[string(r.Exchange())+"/"+r.CurString()] += r.Price
			c := exchangeCapped[string(r.Exchange())+"/"+r.CurString()]
			if c == nil {
				c = &capped{}
				exchangeCapped[string(r.Exchange())+"/"+r.CurString()] = c
			}
			if r.StatedPrice != 0 {
				c.bills++
				c.excess += r.StatedPrice - r.Price
			}
			if r.BidPrice != 0 { // 1.5 times the price: a discount of a third
				c.bidBills++
				c.bidSum += r.BidPrice
				c.discount += r.BidPrice - r.Price
			}
			if r.MinToWin != 0 { // half the price
				c.mtwBills++
				c.overpaid += r.Price - r.MinToWin
			}
		}
		if r.Kind == KindNoBid {
			reasons[r.Reason]++
		}
		if r.Kind == KindLoss {
			if exchangeLosses[string(r.Exchange())] == nil {
				exchangeLosses[string(r.Exchange())] = map[string]int{}
			}
			exchangeLosses[string(r.Exchange())][lossKey(r.LossCode)]++
		}
	}
	if n := uncharged[""] + uncharged["x-1"] + uncharged["default"]; n == 0 {
		t.Fatal("no uncharged bills: test some")
	}
	if named == 0 || joined == 0 {
		t.Fatalf("%d notices name their deal, %d are of a deal bid and do not: both must be tested", named, joined)
	}
	wins, losses := 0, 0
	for _, d := range deals {
		wins, losses = wins+d.wins, losses+d.losses
	}
	if wins == 0 || losses == 0 {
		t.Fatalf("%d wins and %d losses under deals: both must be tested", wins, losses)
	}
	if len(testBills) < 2 || dealTestBills == 0 {
		t.Fatalf("test bills in %d currencies, %d under deals: test several, and under deals", len(testBills), dealTestBills)
	}
	dealCodes := map[string]bool{}
	for _, d := range deals {
		for code := range d.lossReasons {
			dealCodes[code] = true
		}
	}
	if len(dealCodes) < 3 {
		t.Fatalf("deal losses of codes %v: test several", dealCodes)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if want := 1 + 5 + len(spend) + len(exchanges) + len(exchangeSpend) + len(deals) + len(reasons) + len(testBills); len(lines) != want {
		t.Fatalf("got %d lines; want %d:\n%s", len(lines), want, out.String())
	}
	for _, line := range lines {
		var m struct {
			Type, Kind, First, Last, CampaignID, Cur, ReasonName, Exchange, DealID string
			Records, Bills, Bids, Wins, Losses                                     int
			Reason                                                                 uint8
			CPMSum                                                                 float64 `json:"cpm_sum"`
			Spend                                                                  float64
			Bid, NoBid, Win, Bill, Loss                                            int
			SkippedBytes                                                           int            `json:"skipped_bytes"`
			CappedBills                                                            int            `json:"capped_bills"`
			CappedCPMExcess                                                        float64        `json:"capped_cpm_excess"`
			BidBills                                                               int            `json:"bid_bills"`
			BidCPMSum                                                              float64        `json:"bid_cpm_sum"`
			DiscountCPMSum                                                         float64        `json:"discount_cpm_sum"`
			MTWBills                                                               int            `json:"mtw_bills"`
			OverpaidCPMSum                                                         float64        `json:"overpaid_cpm_sum"`
			LossReasons                                                            map[string]int `json:"loss_reasons"`
			UnchargedBills                                                         int            `json:"uncharged_bills"`
		}
		dec := json.NewDecoder(strings.NewReader(strings.NewReplacer(`"campaign_id"`, `"CampaignID"`,
			`"reason_name"`, `"ReasonName"`, `"deal_id"`, `"DealID"`).Replace(line)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("line %q: %s", line, err)
		}
		switch m.Type {
		case "total":
			first, last := testRecord(0), testRecord(n-1)
			if m.Records != n || m.First != rfc3339(first.TimeUnixNano) || m.Last != rfc3339(last.TimeUnixNano) {
				t.Fatalf("total line %q", line)
			}
		case "kind":
			if m.Records != kinds[m.Kind] {
				t.Fatalf("kind line %q; want %d records", line, kinds[m.Kind])
			}
		case "spend":
			want := spend[m.CampaignID+"/"+m.Cur]
			if m.CPMSum != want || m.Spend != want/1000 || want == 0 {
				t.Fatalf("spend line %q; want cpm_sum %v", line, want)
			}
		case "exchange":
			x := exchanges[m.Exchange]
			if x == nil || m.Bid != x["bid"] || m.NoBid != x["nobid"] || m.Win != x["win"] || m.Bill != x["bill"] || m.Loss != x["loss"] ||
				!maps.Equal(m.LossReasons, exchangeLosses[m.Exchange]) || m.LossReasons == nil || m.UnchargedBills != uncharged[m.Exchange] {
				t.Fatalf("exchange line %q; want %v, losses %v", line, x, exchangeLosses[m.Exchange])
			}
		case "exchange_spend":
			want, c := exchangeSpend[m.Exchange+"/"+m.Cur], exchangeCapped[m.Exchange+"/"+m.Cur]
			if m.CPMSum != want || m.Spend != want/1000 || want == 0 || m.CappedBills != c.bills || m.CappedCPMExcess != c.excess ||
				m.BidBills != c.bidBills || m.BidCPMSum != c.bidSum || m.DiscountCPMSum != c.discount ||
				m.MTWBills != c.mtwBills || m.OverpaidCPMSum != c.overpaid {
				t.Fatalf("exchange_spend line %q; want cpm_sum %v, %+v", line, want, *c)
			}
			if c.bidBills == 0 || c.mtwBills == 0 || c.discount <= 0 || c.overpaid <= 0 {
				t.Fatalf("exchange_spend line %q: the test records leave a sum at 0 (%+v)", line, *c)
			}
		case "deal":
			d := deals[m.DealID+"/"+m.Exchange+"/"+m.Cur]
			if d == nil || m.Bids != d.bids || m.Wins != d.wins || m.Losses != d.losses || m.Bills != d.bills ||
				m.CPMSum != d.cpm || m.Spend != d.cpm/1000 || !maps.Equal(m.LossReasons, d.lossReasons) || m.LossReasons == nil {
				t.Fatalf("deal line %q; want %+v", line, d)
			}
		case "test_bills":
			if b := testBills[m.Cur]; b == nil || m.Bills != b.bills || m.CPMSum != b.cpm || m.Spend != 0 {
				t.Fatalf("test_bills line %q; want %+v", line, b)
			}
			delete(testBills, m.Cur) // once
		case "nobid_reason":
			wantName := map[uint8]string{1: "one"}[m.Reason]
			if m.Records != reasons[m.Reason] || m.ReasonName != wantName {
				t.Fatalf("reason line %q; want %d records named %q", line, reasons[m.Reason], wantName)
			}
		default:
			t.Fatalf("unexpected line %q", line)
		}
	}
}

// lossKey is how Stats names loss code c.
func lossKey(c int32) string {
	if c < 0 {
		return "unknown"
	}
	return strconv.Itoa(int(c))
}

func rfc3339(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }

func TestMainCommand(t *testing.T) {
	t.Parallel()
	dir := writeLog(t, 0, 10)
	names := segmentFiles(t, dir)
	torn := filepath.Join(t.TempDir(), "torn.zst")
	if err := os.WriteFile(torn, readFile(t, dir, names[0])[:20], 0o600); err != nil {
		t.Fatal(err)
	}
	f := func(args []string, wantCode, wantLines int, wantStderr string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := Main(args, &stdout, &stderr)
		lines := strings.Count(stdout.String(), "\n")
		if code != wantCode || lines != wantLines || !strings.Contains(stderr.String(), wantStderr) {
			t.Fatalf("Main(%q) = %d with %d lines, stderr %q; want %d, %d lines, stderr containing %q",
				args, code, lines, stderr.String(), wantCode, wantLines, wantStderr)
		}
	}
	f([]string{"cat", "-dir", dir}, 0, 10, "")
	f([]string{"cat", filepath.Join(dir, names[0])}, 0, 10, "")
	f([]string{"cat", "-dir", dir, filepath.Join(dir, names[0])}, 0, 20, "")
	f([]string{"cat", torn}, 0, 0, "skipped 20 bytes")
	f([]string{"stats", "-dir", dir}, 0, 1+5+2+3+2+2+2, "") // total, kinds, spend, exchanges, their spend, deals, reasons
	f([]string{"cat", "-dir", filepath.Join(dir, "missing")}, 1, 0, "no such file")
	f([]string{"cat"}, 2, 0, "give -dir or files")
	f([]string{"cat", "-bogus"}, 2, 0, "usage:")
	f([]string{"tail"}, 2, 0, `unknown sub-command "tail"`)
	f(nil, 2, 0, "usage:")
	f([]string{"help"}, 0, strings.Count(usage, "\n"), "")
	var out bytes.Buffer
	if err := Cat(&out, dir); err != nil || strings.Count(out.String(), "\n") != 10 {
		t.Fatalf("Cat: %v, output %q", err, out.String())
	}
	out.Reset()
	if err := Stats(&out, dir); err != nil || !strings.HasPrefix(out.String(), `{"type":"total","records":10,`) {
		t.Fatalf("Stats: %v, output %q", err, out.String())
	}
}

// TestStatsDealAcrossHosts: a deal bid logged by host a and won and
// billed on host b (after a failover) by notices that did not name the
// deal (of a bid made before rtbd named it), read b first, counts its win
// and bill under the deal; a bid billed on both hosts counts both bills,
// as spend does; the notices of a bid without a deal count under none.
func TestStatsDealAcrossHosts(t *testing.T) {
	t.Parallel()
	a := writeRecords(t, rec(KindBid, "b1", "pg", 5), rec(KindBid, "b2", "pg", 5), rec(KindBid, "b3", "", 4), rec(KindBill, "b2", "", 2),
		lost(rec(KindLoss, "b4", "", 6), 102), rec(KindBid, "b4", "pg", 5), rec(KindBid, "b5t", "pg", 9))
	b := writeRecords(t, rec(KindWin, "b1", "", 3), rec(KindBill, "b1", "", 3), rec(KindBill, "b2", "", 2.5), rec(KindWin, "b3", "", 1), rec(KindBill, "b3", "", 1),
		rec(KindWin, "b5t", "", 9), rec(KindBill, "b5t", "", 9))
	var out bytes.Buffer
	if _, err := (&Reader{IsTestBid: testIsTestBid}).Stats(&out, b, a); err != nil {
		t.Fatal(err)
	}
	// b1's win and bill (3), b2's two bills (2.5 on host b, 2 on host a),
	// b4's loss (read before its bid); not b3's. b5t is a test request's
	// bid: its win counts, its bill is no spend.
	want := `{"type":"deal","deal_id":"pg","exchange":"x","bids":4,"wins":2,"losses":1,"loss_reasons":{"102":1},"cur":"USD","bills":3,"cpm_sum":7.5,"spend":0.0075}`
	if !strings.Contains(out.String(), want+"\n") {
		t.Fatalf("got\n%s\nwant the line %s", out.String(), want)
	}
	if want := `{"type":"test_bills","cur":"USD","bills":1,"cpm_sum":9}`; !strings.Contains(out.String(), want+"\n") {
		t.Fatalf("got\n%s\nwant the line %s", out.String(), want)
	}
	// Every bill moved spend, as the hosts charged them.
	if want := `{"type":"exchange_spend","exchange":"x","cur":"USD","bills":4,"cpm_sum":8.5,"spend":0.0085,"capped_bills":0,"capped_cpm_excess":0,"bid_bills":0,"bid_cpm_sum":0,"discount_cpm_sum":0,"mtw_bills":0,"overpaid_cpm_sum":0}`; !strings.Contains(out.String(), want+"\n") {
		t.Fatalf("got\n%s\nwant the line %s", out.String(), want)
	}
}

// TestStatsDealNamedByNotices: a notice whose URL named its deal counts
// under it without its bid's record, once, even beside notices that need
// the join; one that named no deal ("deal=", an open-auction bid's)
// counts under none, whatever its bid id.
func TestStatsDealNamedByNotices(t *testing.T) {
	t.Parallel()
	named := func(k Kind, bid, deal string, price float64) Record {
		r := rec(k, bid, deal, price)
		r.DealKnown = true
		return r
	}
	// Host b won, lost and billed only: no bid records.
	b := writeRecords(t, named(KindWin, "b1", "pg", 3), named(KindBill, "b1", "pg", 3), named(KindBill, "b2", "pg", 2),
		named(KindBill, "b3", "pmp", 1), lost(named(KindLoss, "b6", "pmp", 7), 101), named(KindBill, "b4", "", 4), named(KindWin, "b4", "", 4))
	var out bytes.Buffer
	if _, err := (&Reader{}).Stats(&out, b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`{"type":"deal","deal_id":"pg","exchange":"x","bids":0,"wins":1,"losses":0,"loss_reasons":{},"cur":"USD","bills":2,"cpm_sum":5,"spend":0.005}`,
		`{"type":"deal","deal_id":"pmp","exchange":"x","bids":0,"wins":0,"losses":1,"loss_reasons":{"101":1},"cur":"USD","bills":1,"cpm_sum":1,"spend":0.001}`,
	} {
		if !strings.Contains(out.String(), want+"\n") {
			t.Fatalf("got\n%s\nwant the line %s", out.String(), want)
		}
	}
	if n := strings.Count(out.String(), `"type":"deal"`); n != 2 {
		t.Fatalf("got\n%s\n%d deal lines; want 2", out.String(), n)
	}
	// With host a's bids, one of them won and billed by notices without
	// deal: the join runs, and counts neither named notice again, nor b4's.
	a := writeRecords(t, rec(KindBid, "b1", "pg", 5), rec(KindBid, "b4", "pg", 5), rec(KindBid, "b5", "pg", 5),
		rec(KindWin, "b5", "", 1.5), rec(KindBill, "b5", "", 1.5))
	out.Reset()
	if _, err := (&Reader{}).Stats(&out, a, b); err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"deal","deal_id":"pg","exchange":"x","bids":3,"wins":2,"losses":0,"loss_reasons":{},"cur":"USD","bills":3,"cpm_sum":6.5,"spend":0.0065}`; !strings.Contains(out.String(), want+"\n") {
		t.Fatalf("got\n%s\nwant the line %s", out.String(), want)
	}
	// One deal bid, lost by a notice without deal, is joined too.
	out.Reset()
	if _, err := (&Reader{}).Stats(&out, writeRecords(t, rec(KindBid, "b9", "pg", 5), rec(KindLoss, "b9", "", 1))); err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"deal","deal_id":"pg","exchange":"x","bids":1,"wins":0,"losses":1,"loss_reasons":{"0":1},"cur":"USD","bills":0,"cpm_sum":0,"spend":0}`; !strings.Contains(out.String(), want+"\n") {
		t.Fatalf("got\n%s\nwant the line %s", out.String(), want)
	}
}

// TestStatsDiscountAndOverpaid: an exchange's bills with a bid price sum
// what the auction charged below the bid, and those with a minimum to win
// what was charged above it; neither goes below 0, and a bill without them
// counts in neither.
func TestStatsDiscountAndOverpaid(t *testing.T) {
	t.Parallel()
	bill := func(bid string, price, bp, mtw float64) Record {
		r := rec(KindBill, bid, "", price)
		r.BidPrice, r.MinToWin = bp, mtw
		return r
	}
	dir := writeRecords(t,
		bill("b1", 2, 3, 1.5), // second price: 1 below the bid, 0.5 above the minimum
		bill("b2", 4, 3.5, 5), // above its bid and below its minimum (not rtbd's notices): 0 and 0
		bill("b3", 1, 0, 0),   // an older bid's URL: neither
		bill("b4", 2, 2.5, 0), // a bid price alone
	)
	var out bytes.Buffer
	if _, err := (&Reader{}).Stats(&out, dir); err != nil {
		t.Fatal(err)
	}
	want := `{"type":"exchange_spend","exchange":"x","cur":"USD","bills":4,"cpm_sum":9,"spend":0.009,"capped_bills":0,"capped_cpm_excess":0,` +
		`"bid_bills":3,"bid_cpm_sum":9,"discount_cpm_sum":1.5,"mtw_bills":2,"overpaid_cpm_sum":0.5}`
	if !strings.Contains(out.String(), want+"\n") {
		t.Fatalf("got\n%s\nwant the line %s", out.String(), want)
	}
}

// rec is a record of exchange x and campaign c in USD.
func rec(k Kind, bid, deal string, price float64) Record {
	r := Record{Kind: k, Price: price, TimeUnixNano: 1_763_000_000_000_000_000}
	r.SetCur("USD")
	r.SetBidIDString(bid)
	r.SetCampaignIDString("c")
	r.SetExchangeString("x")
	r.SetDealID([]byte(deal))
	return r
}

// lost returns r, a loss record, with loss code.
func lost(r Record, code int32) Record {
	r.LossCode, r.Reason = code, uint8(min(max(code, 0), 255))
	return r
}

// writeRecords writes rs into a fresh log directory.
func writeRecords(t *testing.T, rs ...Record) string {
	t.Helper()
	cfg := testConfig(t)
	l, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rs {
		if !l.Append(&rs[i]) {
			t.Fatal("Append dropped a record")
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return cfg.Dir
}
