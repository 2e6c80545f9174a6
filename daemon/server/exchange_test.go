package server

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"github.com/rtbd/rtbd/daemon/config"
	"github.com/rtbd/rtbd/daemon/decision"
	"github.com/rtbd/rtbd/daemon/stats"
)

// TestExchanges serves three exchanges beside http.bidPath, each at its
// own path: every answer is counted as its exchange's alone, with the
// exchange's own no-bid form and billing.
func TestExchanges(t *testing.T) {
	yes, no := true, false
	srv, c := testServer(t, func(c *config.Config) {
		c.Bidding.NoBidBody = false
		c.Exchanges = []config.Exchange{
			{Name: "tx-body", BidPath: "/openrtb2/a", NoBidBody: &yes},
			{Name: "tx-win", BidPath: "/openrtb2/b", BillOnWin: true, NoBidBody: &no},
		}
		c.HTTP.BillOnWinBidPaths = []string{"/openrtb2/w"}
		c.HTTP.MaxBodyBytes = 4096
		c.Shedding.MaxQueueAge = config.Duration(time.Second)
	})
	srv.queue = &stats.QueueProbe{}
	def, a, b, w := srv.exchanges[0], srv.exchanges[1], srv.exchanges[2], srv.exchanges[3]
	if def.name != "default" || a.name != "tx-body" || b.name != "tx-win" || w.name != "/openrtb2/w" || len(srv.exchanges) != 4 {
		t.Fatalf("exchanges %q %q %q %q (%d)", def.name, a.name, b.name, w.name, len(srv.exchanges))
	}
	// counts returns every counter of the four exchanges, to compare
	// before and after each request: only the expected one may move.
	counts := func() map[string]uint64 {
		m := map[string]uint64{}
		for _, x := range srv.exchanges {
			for r, c := range x.results {
				m[x.name+" "+resultNames[r]] = c.Get()
			}
			for r, c := range x.reasons {
				m[x.name+" nbr "+decision.Reason(r).String()] = c.Get()
			}
			m[x.name+" bids"] = x.bids.Get()
			m[x.name+" late"] = x.late.Get()
			m[x.name+" duration"] = x.duration.Count()
		}
		return m
	}
	// tmax 100 s: no answer in time is late, however slow the machine.
	bid := bytes.Replace(corpusFile(t, "iab__2.6-video.json"), []byte(`"tmax": 120`), []byte(`"tmax": 100000`), 1)
	if !bytes.Contains(bid, []byte(`"tmax": 100000`)) {
		t.Fatal("fixture changed: no tmax 120 in iab__2.6-video.json")
	}
	noBid := []byte(`{"id":"nb","imp":[{"id":"1","banner":{"w":1,"h":1}}]}`)
	step := func(name, method, path string, body []byte, wantStatus int, moved ...string) reply {
		t.Helper()
		before := counts()
		var r reply
		switch method {
		case "POST":
			r = post(t, c, path, body)
		case "RAW":
			r = rawPost(t, c, path, body)
		default:
			r = get(t, c, path)
		}
		if r.status != wantStatus {
			t.Fatalf("%s: status %d (%s); want %d", name, r.status, r.body, wantStatus)
		}
		after := counts()
		want := map[string]bool{}
		for _, k := range moved {
			want[k] = true
		}
		for k, v := range after {
			d := v - before[k]
			if want[k] != (d > 0) {
				t.Errorf("%s: %s moved by %d; want it to move: %v", name, k, d, want[k])
			}
			if n := bidsIn(r.body); strings.HasSuffix(k, " bids") && d > 0 && d != uint64(n) {
				t.Errorf("%s: %s moved by %d; the answer has %d bids", name, k, d, n)
			}
		}
		return r
	}
	r := step("bid on tx-body", "POST", "/openrtb2/a", bid, 200, "tx-body bid", "tx-body bids", "tx-body duration")
	if bytes.Contains(r.body, []byte("bo=w")) {
		t.Errorf("tx-body bills on the host's billOn; its notice URLs carry bo=w")
	}
	r = step("bid on tx-win", "POST", "/openrtb2/b", bid, 200, "tx-win bid", "tx-win bids", "tx-win duration")
	if !bytes.Contains(r.body, []byte("bo=w")) {
		t.Errorf("tx-win bills on win; its notice URLs lack bo=w")
	}
	r = step("bid on /openrtb2/w", "POST", "/openrtb2/w", bid, 200, "/openrtb2/w bid", "/openrtb2/w bids", "/openrtb2/w duration")
	if !bytes.Contains(r.body, []byte("bo=w")) {
		t.Errorf("http.billOnWinBidPaths bill on win; the notice URLs lack bo=w")
	}
	step("bid on the default", "POST", "/openrtb2/bid", bid, 200, "default bid", "default bids", "default duration")
	r = step("no-bid on tx-body", "POST", "/openrtb2/a", noBid, 200, "tx-body nobid", "tx-body nbr no_candidates", "tx-body duration")
	if !bytes.Contains(r.body, []byte(`"nbr"`)) {
		t.Errorf("tx-body answers no-bids with a body; got %s", r.body)
	}
	step("no-bid on tx-win", "POST", "/openrtb2/b", noBid, 204, "tx-win nobid", "tx-win nbr no_candidates", "tx-win duration")
	step("no-bid on the default", "POST", "/openrtb2/bid", noBid, 204, "default nobid", "default nbr no_candidates", "default duration")
	step("bad JSON on /openrtb2/w", "POST", "/openrtb2/w", []byte(`{"id":`), 400, "/openrtb2/w bad_request", "/openrtb2/w duration")
	step("GET on tx-win", "GET", "/openrtb2/b", nil, 405, "tx-win method_not_allowed", "tx-win duration")
	// fasthttp refuses the body before the handler: readError counts it.
	step("too large on tx-body", "RAW", "/openrtb2/a", bytes.Repeat([]byte(" "), 5000), 413, "tx-body too_large")
	step("not a bid path", "POST", "/openrtb2/c", bid, 404)

	// Waited 50 ms for a tmax of 40: a fast no-bid, and an answer later
	// than the exchange waits.
	for range 40 {
		srv.queue.Observe(50 * time.Millisecond)
	}
	late := bytes.Replace(bid, []byte(`"tmax": 100000`), []byte(`"tmax": 40`), 1)
	step("late on tx-win", "POST", "/openrtb2/b", late, 204, "tx-win timeout", "tx-win nbr deadline", "tx-win nobid", "tx-win late", "tx-win duration")
	step("in time on tx-win", "POST", "/openrtb2/b", bid, 200, "tx-win bid", "tx-win bids", "tx-win duration")

	var out bytes.Buffer
	metrics.WritePrometheus(&out, false)
	for _, want := range []string{
		`rtbd_bid_requests_total{exchange="tx-win",result="timeout"} `,
		`rtbd_bid_requests_late_total{exchange="tx-win"} `,
		`rtbd_nobid_total{exchange="tx-body",reason="no_candidates"} `,
		`rtbd_bids_total{exchange="tx-body"} `,
		`rtbd_request_duration_seconds_count{path="bid",exchange="/openrtb2/w"} `,
		`rtbd_bid_requests_total{exchange="/openrtb2/w",result="bad_request"} `,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("/metrics misses %s", want)
		}
	}
}

// bidsIn counts the bids of an answer body.
func bidsIn(body []byte) int { return bytes.Count(body, []byte(`"impid"`)) }

func get(t testing.TB, c *fasthttp.Client, path string) reply {
	t.Helper()
	status, body, err := c.Get(nil, "http://rtbd"+path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return reply{status: status, body: body}
}
