package main

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/corpus"
)

// TestDeadmanDaemon runs rtbd with data.deadman and no control plane: once
// the switch trips, bid requests get a no-bid while the billing notice of
// a bid made before still moves spend; a restart on the same state.dir
// does not renew the switch's credit; a heartbeat resumes bidding.
func TestDeadmanDaemon(t *testing.T) {
	const deadman = 3 * time.Second
	dir := t.TempDir()
	cfg := func() map[string]any {
		return map[string]any{
			"data":  map[string]any{"deadman": deadman.String()},
			"state": map[string]any{"dir": dir},
			"drain": map[string]any{"delay": "0s"},
		}
	}
	d := startDaemon(t, cfg())
	before := d.billableBids(t, 4, 1)[0] // made within data.deadman of the start
	heartbeat := func(method string) int {
		t.Helper()
		req, _ := http.NewRequest(method, d.admin+"/admin/heartbeat", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Nothing beats: the switch trips data.deadman after the start.
	for start := time.Now(); heartbeat("GET") != 503; {
		if time.Since(start) > deadman+10*time.Second {
			t.Fatalf("GET /admin/heartbeat not 503 %s after data.deadman %s", time.Since(start), deadman)
		}
		time.Sleep(50 * time.Millisecond) // polling with a deadline, not synchronisation
	}
	if got := d.metric(t, "rtbd_deadman_tripped"); got != 1 {
		t.Fatalf("rtbd_deadman_tripped %v after the trip", got)
	}
	halted := `rtbd_nobid_total{exchange="default",reason="deadman"}`
	n0 := d.metric(t, halted)
	body := corpus.Requests()[0].Body
	for _, f := range corpus.Requests()[:8] {
		if code, bids := d.postBid(t, f.Body); code != 204 || len(bids) != 0 {
			t.Fatalf("%s after the trip: status %d with %d bids; want 204", f.Name, code, len(bids))
		}
	}
	if got := d.metric(t, halted) - n0; got != 8 {
		t.Fatalf("%s moved by %v for 8 requests", halted, got)
	}
	d.notice(t, before.BURL, strconv.FormatFloat(before.Price, 'f', -1, 64))
	if got := d.spendTotal(t); got <= 0 {
		t.Fatalf("spend %d after billing a bid made before the trip; want it counted", got)
	}
	// Restarted on the files the control plane left, rtbd does not bid
	// on them for another data.deadman: the last sign of life is saved.
	d.stop(t)
	var state strings.Builder
	if err := printState(&state, dir); err != nil || !strings.Contains(state.String(), `"controlPlaneLastSeen":"`) {
		t.Fatalf("rtbd state: %v; no controlPlaneLastSeen in\n%s", err, state.String())
	}
	d = startDaemon(t, cfg())
	if code := heartbeat("GET"); code != 503 {
		t.Fatalf("GET /admin/heartbeat right after a restart %s after the last sign of life: %d; want 503", deadman, code)
	}
	if code, _ := d.postBid(t, body); code != 204 {
		t.Fatalf("a bid request right after the restart: status %d; want 204", code)
	}

	// A heartbeat resumes bidding for data.deadman: a request sent right
	// after it bids (tried three times, in case this machine stalls for
	// longer than data.deadman in between).
	for i := 0; ; i++ {
		if code := heartbeat("POST"); code != 200 {
			t.Fatalf("POST /admin/heartbeat: status %d", code)
		}
		if code, bids := d.postBid(t, body); code == 200 && len(bids) > 0 {
			break
		}
		if i == 2 {
			t.Fatal("no bid right after a heartbeat, three times")
		}
	}
}
