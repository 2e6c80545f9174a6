package server

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/rtbd/rtbd/daemon/campaign"
)

// TestBenchClockIsPinned checks that NewBench's decisions see
// benchInstant's weekday and hour whatever the time the test runs at: the
// demo campaigns day-parted to them bid on demo CTV requests, and
// day-parted to the next hour do not.
func TestBenchClockIsPinned(t *testing.T) {
	requests := campaign.GenerateCTVRequests(16, 1)
	for _, tc := range []struct {
		hour int
		bids bool
	}{
		{benchInstant.Hour(), true},
		{(benchInstant.Hour() + 1) % 24, false},
	} {
		dir := t.TempDir()
		f, m := campaign.Demo()
		for i := range f.Campaigns {
			f.Campaigns[i].Targeting.Hours = []int{tc.hour}
			f.Campaigns[i].Targeting.Weekdays = []int{int(benchInstant.Weekday())}
		}
		writeFileJSON(t, filepath.Join(dir, "campaigns.json"), f)
		writeFileJSON(t, filepath.Join(dir, "model.json"), m)
		srv, err := NewBench(dir)
		if err != nil {
			t.Fatal(err)
		}
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI("/openrtb2/bid")
		bids := 0
		for _, body := range requests {
			ctx.Request.SetBody(body)
			ctx.Response.Reset()
			srv.Handler(&ctx)
			if ctx.Response.StatusCode() == fasthttp.StatusOK {
				bids++
			}
		}
		if got := bids > 0; got != tc.bids {
			t.Errorf("campaigns day-parted to %02d h UTC: %d bids on %d requests; want bids: %v (bench clock %s)",
				tc.hour, bids, len(requests), tc.bids, benchInstant)
		}
	}
}

func writeFileJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
