package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/rtbd/rtbd/daemon/corpus"
)

// firstPriceRequest returns a corpus request made a first-price auction
// ("at" 1, not a test) that path answers with one open-auction bid of a
// price at least 3 times the floor, so that shading it by down to a
// third is never held up by the floor; its id is idMark, for withID.
func firstPriceRequest(t *testing.T, d *daemon, path string) string {
	t.Helper()
	for _, f := range corpus.Requests() {
		var r map[string]any
		if err := json.Unmarshal(f.Body, &r); err != nil {
			continue
		}
		imps, _ := r["imp"].([]any)
		if len(imps) != 1 {
			continue
		}
		imp := imps[0].(map[string]any)
		if _, deals := imp["pmp"]; deals {
			continue
		}
		r["at"], r["id"] = 1, idMark
		delete(r, "test")
		b, _ := json.Marshal(r)
		body := string(b)
		_, bids := d.postBidTo(t, path, withID(body, "probe"))
		floor, _ := imp["bidfloor"].(float64)
		if len(bids) == 1 && bids[0].Price >= 3*floor && bids[0].Price > 0.01 {
			return body
		}
	}
	t.Fatal("no corpus request gets a single open-auction bid well above its floor")
	return ""
}

const idMark = "@request-id@"

// withID returns body with the id id in place of idMark.
func withID(body, id string) []byte { return []byte(strings.Replace(body, idMark, id, 1)) }

// explain posts body to /admin/explain with query and returns the status
// and body of the answer.
func (d *daemon) explain(t *testing.T, query string, body []byte) (int, []byte) {
	t.Helper()
	resp, err := http.Post(d.admin+"/admin/explain"+query, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// TestAutoShading runs an exchange with exchanges[].autoShading (signed
// notices): a share of its first-price bids goes out unshaded and
// marked sx=1, the rest at its firstPriceShading; billing notices of the
// marked bids with their minimum to win teach it the factor that earns
// the most, and the next bids are shaded by that. The mark is signed.
func TestAutoShading(t *testing.T) {
	key, dir := noticeKeyFile(t), t.TempDir()
	cfg := func() map[string]any {
		return map[string]any{
			"bidding": map[string]any{"noticeKeyFile": key},
			"exchanges": []any{map[string]any{"name": "tx-fp", "bidPath": "/openrtb2/fp", "minToWin": true,
				"firstPriceShading": 0.8, "autoShading": map[string]any{"explore": 0.5, "min": 0.3}},
				map[string]any{"name": "tx-fixed", "bidPath": "/openrtb2/fixed", "firstPriceShading": 0.7}},
			"state": map[string]any{"dir": dir},
			"drain": map[string]any{"delay": "0s"},
		}
	}
	d := startDaemon(t, cfg())
	const (
		path      = "/openrtb2/fp"
		factor    = `rtbd_exchange_shading{exchange="tx-fp"}`
		bids      = `rtbd_exchange_shading_explored_total{exchange="tx-fp",event="bid"}`
		wins      = `rtbd_exchange_shading_explored_total{exchange="tx-fp",event="win"}`
		exploring = `rtbd_exchange_shading_exploring{exchange="tx-fp"}`
	)
	body := firstPriceRequest(t, d, path)
	// send sends n requests and sorts their bids: marked or not.
	send := func(n int, run string) (explored, shaded []bid) {
		t.Helper()
		for i := range n {
			_, bs := d.postBidTo(t, path, withID(body, fmt.Sprintf("%s-%d", run, i)))
			for _, b := range bs {
				if strings.Contains(b.BURL, "&sx=1") {
					explored = append(explored, b)
				} else {
					shaded = append(shaded, b)
				}
			}
		}
		return explored, shaded
	}
	// checkPrices fails unless every bid of bs is priced f x v, to the
	// response's 4 decimals: v, a price read from a response, is off by
	// up to half a unit of the 4th decimal, and the bid's price too.
	checkPrices := func(what string, bs []bid, f, v float64) {
		t.Helper()
		for _, b := range bs {
			if math.Abs(b.Price-f*v) > 0.00005*(1+f)+1e-9 {
				t.Fatalf("%s: bid at %v; want %v x %v", what, b.Price, f, v)
			}
		}
	}
	explored, shaded := send(600, "a")
	if len(explored) < 240 || len(explored) > 360 || len(explored)+len(shaded) != 600 {
		t.Fatalf("%d bids explored and %d shaded of 600; want about half each", len(explored), len(shaded))
	}
	v := explored[0].Price
	checkPrices("explored", explored, 1, v)
	checkPrices("shaded by firstPriceShading", shaded, 0.8, v)
	if m := d.metrics(t); m[factor] != 0.8 || m[bids] != float64(len(explored)) || m[wins] != 0 || m[exploring] != 1 {
		t.Fatalf("factor %v, explored bids %v and wins %v, exploring %v; want 0.8, %d and 0, 1", m[factor], m[bids], m[wins], m[exploring], len(explored))
	}

	// The mark is signed: a bill with it removed, or added to a shaded
	// bid's, is refused.
	const macro = "${AUCTION_MIN_TO_WIN}"
	for _, u := range []string{strings.Replace(explored[0].BURL, "&sx=1", "", 1), strings.Replace(shaded[0].BURL, "&x=", "&sx=1&x=", 1)} {
		if code := d.fire(t, strings.Replace(u, macro, "0.001", 1), "0.001"); code != 400 {
			t.Fatalf("bill %s: status %d; want 400 (bad signature)", u, code)
		}
	}
	// 40 wins of explored bids, each needing 0.455 of the value: the
	// factor that earns the most is 0.46, learned at the 32nd.
	// The charged price is kept tiny, so that the campaign's budget and
	// pacing do not stop its bids.
	mtw := strconv.FormatFloat(0.455*v, 'f', -1, 64)
	for _, b := range explored[:40] {
		d.notice(t, strings.Replace(b.BURL, macro, mtw, 1), "0.001")
	}
	// Shaded bids' wins teach nothing.
	for _, b := range shaded[:10] {
		d.notice(t, strings.Replace(b.BURL, macro, mtw, 1), "0.001")
	}
	if m := d.metrics(t); m[factor] != 0.46 || m[wins] != 40 {
		t.Fatalf("after 40 explored wins at 0.455: factor %v, explored wins %v; want 0.46 and 40", m[factor], m[wins])
	}
	explored, shaded = send(60, "b")
	if len(explored) == 0 || len(shaded) == 0 {
		t.Fatalf("%d bids explored and %d shaded of 60; want some of each", len(explored), len(shaded))
	}
	checkPrices("explored", explored, 1, v)
	checkPrices("shaded by the learned factor", shaded, 0.46, v)

	// /admin/explain prices as the exchange it names would, never
	// exploring; the default endpoint's factor is bidding's (1).
	for _, c := range []struct {
		query  string
		code   int
		factor float64
	}{{"?exchange=tx-fp", 200, 0.46}, {"?exchange=tx-fixed", 200, 0.7}, {"", 200, 1}, {"?exchange=default", 200, 1}, {"?exchange=nope", 400, 0}} {
		code, out := d.explain(t, c.query, withID(body, "explain"))
		var e struct {
			Response *struct{ SeatBid []struct{ Bid []bid } }
		}
		if code != c.code || json.Unmarshal(out, &e) != nil && code == 200 {
			t.Fatalf("explain%s: %d %s; want %d", c.query, code, out, c.code)
		}
		// As checkPrices: the price is rounded, and so was v.
		if code == 200 && (e.Response == nil || math.Abs(e.Response.SeatBid[0].Bid[0].Price-c.factor*v) > 0.00005*(1+c.factor)+1e-9) {
			t.Fatalf("explain%s: %s; want a bid at %v", c.query, out, c.factor*v)
		}
	}

	// An exchange with a fixed factor of its own bids by it.
	if _, bs := d.postBidTo(t, "/openrtb2/fixed", withID(body, "fixed")); len(bs) != 1 || strings.Contains(bs[0].BURL, "sx=") {
		t.Fatalf("first-price request to an exchange of fixed shading: bids %+v; want one, unmarked", bs)
	} else {
		checkPrices("shaded by the exchange's firstPriceShading", bs, 0.7, v)
	}

	// A restart on the same state.dir bids with the learned factor at
	// once.
	d.stop(t)
	d = startDaemon(t, cfg())
	if m := d.metrics(t); m[factor] != 0.46 || m[exploring] != 1 {
		t.Fatalf("after a restart: factor %v, exploring %v; want 0.46 and 1", m[factor], m[exploring])
	}
	explored, shaded = send(20, "r")
	if len(shaded) == 0 {
		t.Fatal("no shaded bid of 20 after a restart")
	}
	checkPrices("shaded after a restart", shaded, 0.46, v)
	checkPrices("explored after a restart", explored, 1, v)

	// A second-price request is neither shaded nor marked.
	sp := strings.Replace(body, `"at":1`, `"at":2`, 1)
	for i := range 20 {
		_, bs := d.postBidTo(t, path, withID(sp, fmt.Sprintf("c-%d", i)))
		if len(bs) != 1 || strings.Contains(bs[0].BURL, "sx=") || math.Abs(bs[0].Price-v) > 0.00006 {
			t.Fatalf("second-price request: bids %+v; want one at %v, unmarked", bs, v)
		}
	}
}
