package main

import (
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// noticeKeyFile writes a file of one notice key, for
// bidding.noticeKeyFile, and returns its path.
func noticeKeyFile(t *testing.T) string {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "notice-keys")
	if err := os.WriteFile(keyFile, []byte("000102030405060708090a0b0c0d0e0f\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return keyFile
}

// TestSignedNotices runs rtbd with bidding.noticeKeyFile: its bids'
// notice URLs are signed, a billing notice as bid moves spend, one whose
// campaign was changed is refused as forged and moves nothing, and one
// without sig is processed and counted as unsigned. A notice priced above
// its bid moves the bid's price (checkCapped). A key file rtbd
// cannot use stops the start, naming it.
func TestSignedNotices(t *testing.T) {
	keyFile := noticeKeyFile(t)
	d := startDaemon(t, map[string]any{"bidding": map[string]any{"noticeKeyFile": keyFile}})
	var bids []bid // of requests that are not tests, which move no spend
	for _, b := range d.corpusBids(t, 12) {
		if !strings.Contains(b.BURL, "&sig=") {
			t.Fatalf("burl %s is not signed", b.BURL)
		}
		if !strings.HasSuffix(b.ID, "t") {
			bids = append(bids, b)
		}
	}
	if len(bids) < 4 {
		t.Fatalf("%d bids of requests that are not tests; want 4", len(bids))
	}
	if code := d.fire(t, bids[0].BURL, "2"); code != 204 {
		t.Fatalf("signed billing notice: status %d; want 204", code)
	}
	spent := d.spendTotal(t)
	if spent <= 0 {
		t.Fatalf("spend %d micro-units after a signed notice; want more than 0", spent)
	}
	// Another campaign's id in a signed notice, as a competitor would put
	// there to spend its budget.
	u, _ := url.Parse(strings.Replace(bids[1].BURL, "${AUCTION_PRICE}", "2", 1))
	q := u.Query()
	q.Set("cid", q.Get("cid")+"x")
	u.RawQuery = q.Encode()
	if code := d.fire(t, u.String(), "2"); code != 400 {
		t.Fatalf("notice with its cid changed: status %d; want 400", code)
	}
	if got := d.metric(t, `rtbd_notices_total{kind="bill",result="forged"}`); got != 1 || d.spendTotal(t) != spent {
		t.Fatalf("forged notices %v, spend %d; want 1 and %d", got, d.spendTotal(t), spent)
	}
	q = u.Query()
	q.Set("cid", strings.TrimSuffix(q.Get("cid"), "x"))
	q.Del("sig")
	u.RawQuery = q.Encode()
	if code := d.fire(t, u.String(), "2"); code != 204 || d.metric(t, `rtbd_notices_unsigned_total{kind="bill"}`) != 1 {
		t.Fatalf("unsigned notice: status %d, counted %v; want 204 and counted", code, d.metric(t, `rtbd_notices_unsigned_total{kind="bill"}`))
	}
	checkCapped(t, d, bids[2:])

	if err := os.WriteFile(keyFile, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := runToExit(t, map[string]any{"bidding": map[string]any{"noticeKeyFile": keyFile}}); code != 1 || !strings.Contains(out, keyFile) {
		t.Fatalf("bad key file: exit %d\n%s\nwant 1 and the file named", code, out)
	}
}

// checkCapped fires the billing notices of bids[0] and bids[1] (signed,
// of requests that are not tests), the first at four times its bid's
// price and the second at half of it: the first moves its bid's price and
// is counted as capped, the second moves its own.
func checkCapped(t *testing.T, d *daemon, bids []bid) {
	t.Helper()
	capped, spent := d.metric(t, `rtbd_notices_capped_total{kind="bill"}`), d.spendTotal(t)
	over, under := bids[0], bids[1]
	if code := d.fire(t, over.BURL, strconv.FormatFloat(4*over.Price, 'f', -1, 64)); code != 204 {
		t.Fatalf("billing notice above its bid: status %d; want 204", code)
	}
	if code := d.fire(t, under.BURL, strconv.FormatFloat(under.Price/2, 'f', -1, 64)); code != 204 {
		t.Fatalf("billing notice below its bid: status %d; want 204", code)
	}
	// Spend counts micro-units of the currency: a CPM price p moves p*1000.
	want := math.Round(over.Price*1000) + math.Round(under.Price/2*1000)
	if got := d.spendTotal(t) - spent; math.Abs(float64(got)-want) > 2 {
		t.Fatalf("the two notices moved %d micro-units; want %v (the first at its bid's %v, the second at %v)", got, want, over.Price, under.Price/2)
	}
	if got := d.metric(t, `rtbd_notices_capped_total{kind="bill"}`) - capped; got != 1 {
		t.Fatalf("%v billing notices counted as capped; want 1", got)
	}
}

// TestNoticeKeyRotation rotates bidding.noticeKeyFile's keys with reloads
// and no restart, as the README says: the new key added first (it signs,
// the old one still verifies), then the old one dropped (its notices are
// refused), and a key file a reload cannot use changes nothing.
func TestNoticeKeyRotation(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "notice-keys")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(keyFile, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a, b := strings.Repeat("0a", 16), strings.Repeat("0b", 16)
	write(a + "\n")
	d := startDaemon(t, map[string]any{"bidding": map[string]any{"noticeKeyFile": keyFile}})
	billable := func() []bid {
		t.Helper()
		bids := d.billableBids(t, 8, 2)
		return bids[:2]
	}
	byA := billable()
	write(b + "\n" + a + "\n")
	if code := d.reload(t); code != 200 {
		t.Fatalf("reload with b added: status %d", code)
	}
	byB := billable() // signed with b: with a dropped, only b verifies them
	if code := d.fire(t, byA[0].BURL, "1"); code != 204 {
		t.Fatalf("a's notice with a still listed: status %d; want 204", code)
	}
	write(b + "\n")
	if code := d.reload(t); code != 200 {
		t.Fatalf("reload with a dropped: status %d", code)
	}
	if code := d.fire(t, byA[1].BURL, "1"); code != 400 {
		t.Fatalf("a's notice after a was dropped: status %d; want 400 (forged)", code)
	}
	if code := d.fire(t, byB[0].BURL, "1"); code != 204 {
		t.Fatalf("b's notice: status %d; want 204", code)
	}
	write("not a key\n")
	if code := d.reload(t); code != 422 {
		t.Fatalf("reload with a bad key file: status %d; want 422", code)
	}
	if code := d.fire(t, byB[1].BURL, "1"); code != 204 {
		t.Fatalf("b's notice after a failed reload: status %d; want 204", code)
	}
}
