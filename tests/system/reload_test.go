package system

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/tests/system/harness"
)

// reloadRequest asks for a 123x45 banner on a site no demo campaign
// targets: the demo data does not bid on it, the added campaign does.
const reloadRequest = `{"id":"systest-reload","at":1,"tmax":500,"cur":["USD"],
"imp":[{"id":"1","banner":{"w":123,"h":45,"format":[{"w":123,"h":45}]},"bidfloor":0.01,"bidfloorcur":"USD","secure":1}],
"site":{"id":"systest","domain":"systest.rtbd.example","page":"https://systest.rtbd.example/","publisher":{"id":"systest-pub"}},
"device":{"ua":"Mozilla/5.0 (X11; Linux x86_64)","ip":"10.213.0.12","devicetype":2,"os":"Linux","geo":{"country":"USA"}},
"user":{"id":"systest-user"}}`

var reloadCampaign = campaign.Campaign{
	ID: "systest-reload", ADomain: []string{"systest.rtbd.example"}, Value: 5, MaxCPM: 5,
	Budget:    campaign.Budget{Pacing: "asap"},
	Targeting: campaign.Targeting{Media: []string{"banner"}, SiteDomains: []string{"systest.rtbd.example"}},
	Creatives: []campaign.Creative{{ID: "systest-123x45", Type: "banner", W: 123, H: 45, Secure: true, Markup: "<div>systest</div>"}},
}

// TestReloadUnderLoad adds a campaign with SIGHUP under load: no request
// fails and the new campaign bids within a second. A broken file then
// leaves the old data serving and counts a failed reload.
func TestReloadUnderLoad(t *testing.T) {
	bin := setup(t, false)
	topo := harness.NewTopology(t, "bidder1", "client")
	b1, client := topo.Hosts["bidder1"], topo.Hosts["client"]
	dir := t.TempDir()
	demo := readDemo(t)
	campaigns := filepath.Join(dir, "campaigns.json")
	writeCampaigns(t, campaigns, demo)
	must(t, os.WriteFile(filepath.Join(dir, "model.json"), readFile(t, "../../daemon/campaign/demo/model.json"), 0o644))
	cfg := harness.NewRtbdConfig(b1, 0)
	cfg.Data = map[string]any{"campaignsFile": campaigns, "modelFile": filepath.Join(dir, "model.json")}
	r := harness.StartRtbd(t, bin, b1, "rtbd-b1", cfg, "")
	must(t, r.WaitReady(10*time.Second))

	addr := b1.Addr.String()
	status, body, err := harness.PostBid(client.NS, addr, []byte(reloadRequest))
	must(t, err)
	if status != 204 {
		t.Fatalf("before reload the crafted request got %d %s; want 204 (the demo data must not bid on it)", status, body)
	}

	const rate, dur = 2000, 5 * time.Second
	l := harness.StartLoad(t, bin, client.NS, harness.LoadSpec{Target: addr, Rate: rate, Duration: dur, Timeout: time.Second})
	waitBidRequests(t, r, rate, 6*time.Second)
	okBefore := reloads(t, r, "ok")

	demo.Campaigns = append(demo.Campaigns, reloadCampaign)
	writeCampaigns(t, campaigns, demo)
	hup := time.Now()
	must(t, r.Signal(syscall.SIGHUP))
	err = harness.Poll(time.Second, 10*time.Millisecond, func() (bool, error) {
		status, body, err := harness.PostBid(client.NS, addr, []byte(reloadRequest))
		return status == 200 && strings.Contains(string(body), "systest-123x45"), err
	})
	took := time.Since(hup)
	if err != nil {
		t.Errorf("the added campaign did not bid within 1s of SIGHUP: %v", err)
	}
	if got := reloads(t, r, "ok"); got != okBefore+1 {
		t.Errorf("rtbd_reloads_total{result=\"ok\"} = %v; want %v", got, okBefore+1)
	}

	// A broken file: the reload fails, the previous snapshot keeps serving.
	errBefore := reloads(t, r, "error")
	writeFile(t, campaigns, []byte(`{"version":1,"campaigns":[`))
	must(t, r.Signal(syscall.SIGHUP))
	must(t, harness.Poll(2*time.Second, 10*time.Millisecond, func() (bool, error) {
		return reloads(t, r, "error") == errBefore+1, nil
	}))
	status, body, err = harness.PostBid(client.NS, addr, []byte(reloadRequest))
	must(t, err)
	if status != 200 || !strings.Contains(string(body), "systest-123x45") {
		t.Errorf("after a failed reload the crafted request got %d %s; want the previous snapshot's bid", status, body)
	}

	res, err := l.Result(dur + 10*time.Second)
	must(t, err)
	failed := harness.Failed(res)
	t.Logf("FIGURE scenario=reload rate=%d new_campaign_bids_after_ms=%s failed=%d errors=%d timeouts=%d sent=%d p99_ms=%s max_ms=%s",
		rate, harness.Ms(took), failed, res.Errors, res.Timeouts, res.Sent, harness.Ms(res.Latency.P99), harness.Ms(res.Latency.Max))
	if failed != 0 {
		t.Errorf("%d requests failed across the reloads (errors %d %s, timeouts %d); want 0", failed, res.Errors, errorKinds(res), res.Timeouts)
	}
	if ready, err := r.Ready(); !ready {
		t.Errorf("rtbd not ready after a failed reload: %v", err)
	}
}

func reloads(t *testing.T, r *harness.Rtbd, result string) float64 {
	t.Helper()
	m, err := r.Metrics()
	must(t, err)
	return m[`rtbd_reloads_total{result="`+result+`"}`]
}

func readDemo(t *testing.T) campaign.File {
	var f campaign.File
	must(t, json.Unmarshal(readFile(t, "../../daemon/campaign/demo/campaigns.json"), &f))
	return f
}

func writeCampaigns(t *testing.T, path string, f campaign.File) {
	b, err := json.Marshal(f)
	must(t, err)
	writeFile(t, path, b)
}

// writeFile replaces path atomically, as a deploy tool would.
func writeFile(t *testing.T, path string, b []byte) {
	tmp := path + ".tmp"
	must(t, os.WriteFile(tmp, b, 0o644))
	must(t, os.Rename(tmp, path))
}

func readFile(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	must(t, err)
	return b
}
