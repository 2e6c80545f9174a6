package engine

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/config"
)

func TestEngineMetrics(t *testing.T) {
	cfg := config.Default()
	e, err := New(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.State().Bill([]byte("video-telco"), 42, 5000, []byte("USD"), time.Now()); err != nil {
		t.Fatalf("cannot bill a demo campaign: %v", err)
	}
	var buf bytes.Buffer
	writeCampaignMetrics(&buf)
	out := buf.String()
	if got := strings.Count(out, "rtbd_campaign_spend_today{"); got != e.Snapshot().Campaigns() {
		t.Fatalf("%d spend series for %d campaigns", got, e.Snapshot().Campaigns())
	}
	// 5000 CPM is 5 in money: billing moves spend by price/1000.
	if !strings.Contains(out, `rtbd_campaign_spend_today{campaign="video-telco"} 5`+"\n") {
		t.Fatalf("billed spend missing:\n%s", out)
	}
	if !strings.Contains(out, `rtbd_campaign_pacing{campaign="video-telco",state="`) {
		t.Fatalf("pacing state missing")
	}
}

func TestReloadFailureKeepsSnapshot(t *testing.T) {
	cfg := config.Default()
	e, err := New(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	old := e.Snapshot()
	e.data.CampaignsFile = "/nonexistent/campaigns.json"
	before := reloadsFailed.Get()
	if err := e.Reload(); err == nil || !strings.Contains(err.Error(), "/nonexistent/campaigns.json") {
		t.Fatalf("Reload of a missing file: %v", err)
	}
	if e.Snapshot() != old || reloadsFailed.Get() != before+1 {
		t.Fatalf("failed reload replaced the snapshot or was not counted")
	}
}
