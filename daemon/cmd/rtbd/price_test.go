package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rtbd/rtbd/daemon/corpus"
	"github.com/rtbd/rtbd/daemon/decision"
)

// TestEncryptedPriceNotices runs the daemon with price keys for one
// exchange: its billing notices charge their decrypted price, a forged
// one is refused, and the default endpoint's notices take decimals only.
func TestEncryptedPriceNotices(t *testing.T) {
	// The example keys and prices of Google's "Decrypt price
	// confirmations": 100 CPI micros (a CPM of 0.1), and that price with
	// one bit changed.
	keys := filepath.Join(t.TempDir(), "adx-price-keys")
	if err := os.WriteFile(keys, []byte("skU7Ax_NL5pPAFyKdkfZjZz2-VhIN8bjj1rVFOaJ_5o=\narO23ykdNqUQ5LEoQ0FVmPkBd7xB5CO89PDZlSjpFxo=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const price, forged = "YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCce_6msaw", "YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCcf_6msaw"
	d := startDaemon(t, map[string]any{
		"exchanges": []map[string]any{{"name": "adx", "bidPath": "/openrtb2/adx"}},
		"bidding":   map[string]any{"priceKeysFiles": map[string]string{"adx": keys}},
	})
	var bids []bid
	for _, f := range corpus.Requests() {
		_, got := d.postBidTo(t, "/openrtb2/adx", f.Body)
		for _, b := range got {
			if !decision.IsTestBidID([]byte(b.ID)) && b.BURL != "" {
				bids = append(bids, b)
			}
		}
		if len(bids) >= 2 {
			break
		}
	}
	if len(bids) < 2 {
		t.Fatalf("%d billable bids on /openrtb2/adx; want 2", len(bids))
	}
	if code := d.fire(t, bids[0].BURL, forged); code != 400 {
		t.Fatalf("billing notice with a forged encrypted price: status %d; want 400", code)
	}
	d.notice(t, bids[1].BURL, price)
	if got := d.spendTotal(t); got != 100 {
		t.Fatalf("spend %d micro-units after a bill of 100 CPI micros; want 100", got)
	}
	name := `rtbd_exchange_spend_total{exchange="adx"}`
	if got := d.metric(t, name); math.Abs(got-0.0001) > 1e-12 {
		t.Fatalf("%s = %v; want 0.0001", name, got)
	}
	other := d.billableBids(t, 4, 1)[0]
	if strings.Contains(other.BURL, "x=") {
		t.Fatalf("burl %s of a bid on http.bidPath names an exchange", other.BURL)
	}
	if code := d.fire(t, other.BURL, price); code != 400 {
		t.Fatalf("encrypted price on http.bidPath, which has no keys: status %d; want 400", code)
	}
	// A reload reads the keys again: with the two swapped, Google's
	// example no longer decrypts.
	if err := os.WriteFile(keys, []byte("arO23ykdNqUQ5LEoQ0FVmPkBd7xB5CO89PDZlSjpFxo=\nskU7Ax_NL5pPAFyKdkfZjZz2-VhIN8bjj1rVFOaJ_5o=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := d.reload(t); code != 200 {
		t.Fatalf("reload with new price keys: status %d", code)
	}
	if code := d.fire(t, bids[0].BURL, price); code != 400 {
		t.Fatalf("the example price after its keys were replaced: status %d; want 400", code)
	}
}
