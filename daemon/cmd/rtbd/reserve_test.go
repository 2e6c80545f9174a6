package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/corpus"
	"github.com/rtbd/rtbd/daemon/decision"
)

// billableBids returns the bids of requests that are not tests (which
// move no spend) among d's answers to n corpus requests, at least min.
func (d *daemon) billableBids(t *testing.T, n, min int) []bid {
	t.Helper()
	var bids []bid
	for _, x := range d.corpusBids(t, n) {
		if !decision.IsTestBidID([]byte(x.ID)) {
			bids = append(bids, x)
		}
	}
	if len(bids) < min {
		t.Fatalf("%d bids of requests that are not tests; want %d", len(bids), min)
	}
	return bids
}

// TestWinReservesUntilBilled runs two daemons that share their budgets:
// a's win notices reserve their bids' prices on a, and on b once b reads
// a's journal; a billing notice a processes releases its win on both, and
// so does one that b processes (after a failover, say), on b at once and
// on a once a reads b's billing notices.
func TestWinReservesUntilBilled(t *testing.T) {
	pa, pb := freePorts(t)
	peers := func(self, other string) map[string]any {
		return map[string]any{"peers": []string{"http://" + other}, "peerListenAddress": self, "peerInterval": "100ms"}
	}
	a := startDaemon(t, map[string]any{"state": peers(pa, pb), "bidding": map[string]any{"hostID": "a"}})
	b := startDaemon(t, map[string]any{"state": peers(pb, pa), "bidding": map[string]any{"hostID": "b"}})
	bids := a.billableBids(t, 8, 2)
	one, two := bids[0], bids[1]
	price := func(x bid) string { return strconv.FormatFloat(x.Price, 'f', -1, 64) }
	micro := func(x bid) int64 { return int64(math.Round(x.Price * 1000)) }
	a.notice(t, one.NURL, price(one))
	a.notice(t, two.NURL, price(two))
	a.notice(t, two.NURL, price(two)) // a replay reserves nothing more
	if got, want := a.campaignSum(t, "rtbd_campaign_reserved_spend"), micro(one)+micro(two); math.Abs(float64(got-want)) > 2 || a.metric(t, "rtbd_win_reservations") != 2 {
		t.Fatalf("after two wins: %d micro-units in %v reservations; want %d in 2", got, a.metric(t, "rtbd_win_reservations"), want)
	}
	b.waitApplied(t, "wins", 2)
	if got, want := b.campaignSum(t, "rtbd_campaign_reserved_spend"), micro(one)+micro(two); math.Abs(float64(got-want)) > 2 || b.metric(t, "rtbd_win_reservations") != 2 {
		t.Fatalf("b, after a's two wins: %d micro-units in %v reservations; want %d in 2", got, b.metric(t, "rtbd_win_reservations"), want)
	}
	if got := b.metric(t, `rtbd_peer_bills_applied_total{peer="http://`+pa+`"}`); got != 0 {
		t.Fatalf("b counts %v of a's billing notices applied after a's two wins; want 0 (wins are not bills)", got)
	}

	a.notice(t, one.BURL, price(one))
	if got := a.campaignSum(t, "rtbd_campaign_reserved_spend"); math.Abs(float64(got-micro(two))) > 1 || a.metric(t, `rtbd_win_reservations_ended_total{how="billed"}`) != 1 {
		t.Fatalf("after a billed one: %d micro-units reserved, %v ended by a bill; want %d and 1",
			got, a.metric(t, `rtbd_win_reservations_ended_total{how="billed"}`), micro(two))
	}
	b.waitApplied(t, "bills", 1)
	if got := b.campaignSum(t, "rtbd_campaign_reserved_spend"); math.Abs(float64(got-micro(two))) > 1 || b.metric(t, "rtbd_win_reservations") != 1 {
		t.Fatalf("b, after a billed one: %d micro-units in %v reservations; want %d in 1", got, b.metric(t, "rtbd_win_reservations"), micro(two))
	}
	b.notice(t, two.BURL, price(two)) // after a failover, say
	if got := b.campaignSum(t, "rtbd_campaign_reserved_spend"); got != 0 || b.metric(t, "rtbd_win_reservations") != 0 {
		t.Fatalf("b, after billing a's other win: %d micro-units in %v reservations; want none", got, b.metric(t, "rtbd_win_reservations"))
	}
	a.waitMetric(t, "rtbd_win_reservations", func(v float64) bool { return v == 0 }, "a ending its reservation after b billed the win")
	if got := a.campaignSum(t, "rtbd_campaign_reserved_spend"); got != 0 {
		t.Fatalf("a reserves %d micro-units after both wins were billed; want 0", got)
	}
}

// TestWinsCountCaps runs two daemons that share caps, with a campaign
// capped at 3 impressions a user an hour: on a, each win counts at once,
// so the third win caps the user before any bill; and neither a's own
// bill of a win nor b's bill of a's second win counts it again on a.
func TestWinsCountCaps(t *testing.T) {
	a, b := cappedPair(t, 3)
	win := func(n int) bid {
		t.Helper()
		code, bids := a.postBid(t, capsFor("u1"))
		if code != 200 || len(bids) != 1 {
			t.Fatalf("a's answer %d for u1: %d with %d bids; want a bid", n, code, len(bids))
		}
		a.notice(t, bids[0].NURL, "2")
		return bids[0]
	}
	a.notice(t, win(1).BURL, "2")
	b.notice(t, win(2).BURL, "2") // after a failover, say
	a.waitApplied(t, "bills", 1)
	win(3)
	if code, _ := a.postBid(t, capsFor("u1")); code != 204 {
		t.Fatalf("a after u1's third win, none of it billed there: %d; want 204 (capped)", code)
	}
}

// TestLateBillCountsCapOnce: with bidding.winReservation "2s", a's win
// for u1 (capped at 2) counts u1's cap on a and on b, and its reservation
// expires on both; the bill that comes after counts it again on neither,
// so u1 still gets a second ad from each. The bill is counted as late.
func TestLateBillCountsCapOnce(t *testing.T) {
	// 2 s, not 1: b takes a's win only while it is not expired, in whole
	// seconds, and reads it up to a peer interval later.
	a, b := cappedPairWith(t, 2, map[string]any{"winReservation": "2s"})
	code, bids := a.postBid(t, capsFor("u1"))
	if code != 200 || len(bids) != 1 {
		t.Fatalf("a's answer for u1: %d with %d bids; want a bid", code, len(bids))
	}
	a.notice(t, bids[0].NURL, "2")
	b.waitApplied(t, "wins", 1)
	for _, d := range []*daemon{a, b} {
		d.waitMetric(t, `rtbd_win_reservations_ended_total{how="expired"}`, func(v float64) bool { return v == 1 },
			"the win's reservation expiring")
	}
	a.notice(t, bids[0].BURL, "2")
	b.waitApplied(t, "bills", 1)
	for name, d := range map[string]*daemon{"a": a, "b": b} {
		if got := d.metric(t, "rtbd_win_reservations_late_bills_total"); got != 1 {
			t.Fatalf("%s: %v late bills; want 1", name, got)
		}
		if code, _ := d.postBid(t, capsFor("u1")); code != 200 {
			t.Fatalf("%s after u1's one ad, billed late: %d; want 200 (1 of 2)", name, code)
		}
	}
}

// TestReservationsSurviveRestart: a win not yet billed when rtbd stops
// for a deploy (SIGTERM) is still reserved after the restart, from
// state.dir, and its bill then releases it.
func TestReservationsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := map[string]any{"state": map[string]any{"dir": dir}, "drain": map[string]any{"delay": "0s"}}
	d := startDaemon(t, cfg)
	won := d.billableBids(t, 4, 1)[0]
	price := strconv.FormatFloat(won.Price, 'f', -1, 64)
	d.notice(t, won.NURL, price)
	reserved := d.campaignSum(t, "rtbd_campaign_reserved_spend")
	if reserved == 0 {
		t.Fatal("the win reserved nothing")
	}
	d.stop(t)
	d2 := startDaemon(t, cfg)
	if got := d2.campaignSum(t, "rtbd_campaign_reserved_spend"); got != reserved || d2.metric(t, "rtbd_win_reservations") != 1 {
		t.Fatalf("after the restart: %d micro-units in %v reservations; want %d in 1", got, d2.metric(t, "rtbd_win_reservations"), reserved)
	}
	d2.notice(t, won.BURL, price)
	if got := d2.campaignSum(t, "rtbd_campaign_reserved_spend"); got != 0 || d2.metric(t, `rtbd_win_reservations_ended_total{how="billed"}`) != 1 {
		t.Fatalf("after the bill: %d micro-units reserved; want 0, released by the bill", got)
	}
}

// TestBillOnWin runs rtbd with bidding.billOn "win", for an exchange that
// sends no billing notice: a win notice moves its bid's spend, reserves
// nothing, and a burl that comes after all is a duplicate.
func TestBillOnWin(t *testing.T) {
	d := startDaemon(t, map[string]any{"bidding": map[string]any{"billOn": "win"}})
	won := d.billableBids(t, 4, 1)[0]
	price := strconv.FormatFloat(won.Price, 'f', -1, 64)
	d.notice(t, won.NURL, price)
	want := int64(math.Round(won.Price * 1000))
	if got := d.spendTotal(t); math.Abs(float64(got-want)) > 1 || d.metric(t, "rtbd_win_reservations") != 0 {
		t.Fatalf("after the win: spend %d micro-units, %v reservations; want %d and none", got, d.metric(t, "rtbd_win_reservations"), want)
	}
	d.notice(t, won.BURL, price)
	if got := d.spendTotal(t); math.Abs(float64(got-want)) > 1 || d.metric(t, `rtbd_notices_total{kind="bill",result="duplicate"}`) != 1 {
		t.Fatalf("after the burl: spend %d micro-units; want %d, the burl a duplicate", got, want)
	}
}

// TestBillOnWinPath: with the default billOn "bill", a bid made on an
// endpoint of http.billOnWinBidPaths (an exchange that sends no burl) is
// billed at its win notice, whose URL says so (bo=w), and reserves
// nothing; one made on http.bidPath reserves at its win and moves no
// spend until its burl.
func TestBillOnWinPath(t *testing.T) {
	d := startDaemon(t, map[string]any{"http": map[string]any{"billOnWinBidPaths": []string{"/openrtb2/no-burl"}},
		"exchanges": []map[string]any{{"name": "ssp-1", "bidPath": "/openrtb2/ssp-1"}}})
	var won *bid
	var body []byte
	for _, f := range corpus.Requests() {
		_, bids := d.postBidTo(t, "/openrtb2/no-burl", f.Body)
		if len(bids) > 0 && !decision.IsTestBidID([]byte(bids[0].ID)) {
			won, body = &bids[0], f.Body
			break
		}
	}
	if won == nil {
		t.Fatal("no bid on /openrtb2/no-burl for a corpus request that is not a test")
	}
	if !strings.Contains(won.NURL, "&bo=w") {
		t.Fatalf("nurl %s of a bid on /openrtb2/no-burl has no bo=w", won.NURL)
	}
	price := strconv.FormatFloat(won.Price, 'f', -1, 64)
	d.notice(t, won.NURL, price)
	want := int64(math.Round(won.Price * 1000))
	if got := d.spendTotal(t); math.Abs(float64(got-want)) > 1 || d.metric(t, "rtbd_win_reservations") != 0 {
		t.Fatalf("after the win on /openrtb2/no-burl: spend %d micro-units, %v reservations; want %d and none",
			got, d.metric(t, "rtbd_win_reservations"), want)
	}
	other := d.billableBids(t, 4, 1)[0]
	if strings.Contains(other.NURL, "bo=") {
		t.Fatalf("nurl %s of a bid on http.bidPath has bo", other.NURL)
	}
	d.notice(t, other.NURL, "1")
	if got := d.spendTotal(t); math.Abs(float64(got-want)) > 1 || d.metric(t, "rtbd_win_reservations") != 1 {
		t.Fatalf("after a win on http.bidPath: spend %d micro-units, %v reservations; want %d and 1",
			got, d.metric(t, "rtbd_win_reservations"), want)
	}
	// Each win counted as its exchange's, and the bill-on-win's spend.
	_, bids := d.postBidTo(t, "/openrtb2/ssp-1", body)
	if len(bids) == 0 || !strings.Contains(bids[0].NURL, "&x=ssp-1") {
		t.Fatalf("bids on /openrtb2/ssp-1: %+v; want one whose nurl has x=ssp-1", bids)
	}
	d.notice(t, bids[0].NURL, "1")
	for name, want := range map[string]float64{
		`rtbd_exchange_notices_total{exchange="/openrtb2/no-burl",kind="win"}`: 1,
		`rtbd_exchange_spend_total{exchange="/openrtb2/no-burl"}`:              won.Price / 1000,
		`rtbd_exchange_notices_total{exchange="default",kind="win"}`:           1,
		`rtbd_exchange_notices_total{exchange="ssp-1",kind="win"}`:             1,
		`rtbd_exchange_notices_total{exchange="unknown",kind="win"}`:           0,
		`rtbd_bids_total{exchange="ssp-1"}`:                                    float64(len(bids)),
	} {
		if got := d.metric(t, name); math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v; want %v", name, got, want)
		}
	}
}

// TestNoticesOfACampaignNotInTheBook: a host whose book lacks a campaign
// (it lags behind the host that bid) reserves its win and charges its
// bills all the same, and the book that brings the campaign has them.
func TestNoticesOfACampaignNotInTheBook(t *testing.T) {
	one := campaign.Campaign{
		ID: "old", ADomain: []string{"old.rtbd.example"}, Value: 5, MaxCPM: 5,
		Targeting: campaign.Targeting{Media: []string{"banner"}},
		Creatives: []campaign.Creative{{ID: "old-300x250", Type: "banner", W: 300, H: 250, Secure: true, Markup: "<div>old</div>"}},
	}
	two, three := one, one
	two.ID, two.Creatives = "fresh", []campaign.Creative{{ID: "fresh-300x250", Type: "banner", W: 300, H: 250, Secure: true, Markup: "<div>fresh</div>"}}
	three.ID, three.Creatives = "won", []campaign.Creative{{ID: "won-300x250", Type: "banner", W: 300, H: 250, Secure: true, Markup: "<div>won</div>"}}
	cp := filepath.Join(t.TempDir(), "campaigns.json")
	write := func(cs ...campaign.Campaign) {
		js, err := json.Marshal(campaign.File{Version: 1, Currency: "USD", Campaigns: cs})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cp, js, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(one)
	d := startDaemon(t, map[string]any{"data": map[string]any{"campaignsFile": cp}})
	d.notice(t, d.bid+"/bill?bid=adopt1&cid=fresh&price=${AUCTION_PRICE}", "3")
	d.notice(t, d.bid+"/win?bid=adopt2&cid=won&price=${AUCTION_PRICE}", "2")
	if got := d.metric(t, "rtbd_win_reservations"); got != 1 {
		t.Fatalf("a win of a campaign not in the book: %v reservations; want 1", got)
	}
	d.notice(t, d.bid+"/bill?bid=adopt2&cid=won&price=${AUCTION_PRICE}", "2")
	if got := d.metric(t, `rtbd_notices_total{kind="bill",result="ok"}`); got != 2 {
		t.Fatalf("%v billing notices ok; want 2", got)
	}
	write(one, two, three)
	if code := d.reload(t); code != 200 {
		t.Fatalf("reload: %d", code)
	}
	for id, want := range map[string]float64{"fresh": 0.003, "won": 0.002} {
		if got := d.metric(t, `rtbd_campaign_spend_total{campaign="`+id+`"}`); math.Abs(got-want) > 1e-9 {
			t.Fatalf("spend of campaign %s, which the book brought: %v; want %v", id, got, want)
		}
	}
	if got := d.metric(t, `rtbd_win_reservations_ended_total{how="billed"}`); got != 1 {
		t.Fatalf("%v reservations ended by their bill; want 1", got)
	}
}
