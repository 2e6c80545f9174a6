package server

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/config"
	"github.com/rtbd/rtbd/daemon/engine"
)

func adminDo(t *testing.T, a *Admin, method, uri string, body []byte) (int, string) {
	t.Helper()
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	ctx.Request.SetBody(body)
	a.Handler(&ctx)
	return ctx.Response.StatusCode(), string(ctx.Response.Body())
}

func TestAdminHealthReadyMetrics(t *testing.T) {
	srv, _ := testServer(t, nil)
	a := NewAdmin(srv, func() error { return nil })
	if code, _ := adminDo(t, a, "GET", "/healthz", nil); code != 200 {
		t.Fatalf("/healthz: %d", code)
	}
	if code, _ := adminDo(t, a, "GET", "/readyz", nil); code != 200 {
		t.Fatalf("/readyz while ready: %d", code)
	}
	srv.Drain()
	if code, _ := adminDo(t, a, "GET", "/readyz", nil); code != 503 {
		t.Fatalf("/readyz while draining: %d; want 503", code)
	}
	code, body := adminDo(t, a, "GET", "/metrics", nil)
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`rtbd_bid_requests_total{exchange="default",result="bid"}`, `rtbd_nobid_total{exchange="default",reason="no_candidates"}`,
		`rtbd_request_duration_seconds_bucket{path="bid",exchange="default",le="0.001"}`, `rtbd_bid_requests_late_total{exchange="default"}`, `rtbd_decision_duration_seconds_count`,
		`rtbd_reloads_total{result="ok"}`, `rtbd_campaigns`, `rtbd_build_info{`, `go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("/metrics misses %s", want)
		}
	}
	if code, _ := adminDo(t, a, "GET", "/debug/pprof/", nil); code != 200 {
		t.Fatalf("/debug/pprof/: %d", code)
	}
}

// TestAdminReloadKeepsServingOnError swaps a valid data file for a broken
// one: the reload fails, names the campaign and field, and the old snapshot
// keeps bidding.
func TestAdminReloadKeepsServingOnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "campaigns.json")
	f, _ := campaign.Demo()
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	srv, c := testServer(t, func(c *config.Config) { c.Data.CampaignsFile = path })
	a := NewAdmin(srv, srv.eng.Reload)
	if code, body := adminDo(t, a, "POST", "/admin/reload", nil); code != 200 {
		t.Fatalf("good reload: %d %s", code, body)
	}
	f.Campaigns[0].MaxCPM = -1
	b, _ = json.Marshal(f)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	old := srv.eng.Snapshot()
	code, body := adminDo(t, a, "POST", "/admin/reload", nil)
	if code != 422 || !strings.Contains(body, f.Campaigns[0].ID) || !strings.Contains(body, "maxCpm") {
		t.Fatalf("bad reload: %d %q; want 422 naming campaign %q and maxCpm", code, body, f.Campaigns[0].ID)
	}
	if srv.eng.Snapshot() != old {
		t.Fatalf("a failed reload replaced the snapshot")
	}
	if r := post(t, c, "/openrtb2/bid", corpusFile(t, "iab__2.6-video.json")); r.status != 200 {
		t.Fatalf("not bidding after a failed reload: %d", r.status)
	}
	if code, _ := adminDo(t, a, "GET", "/admin/reload", nil); code != 405 {
		t.Fatalf("GET /admin/reload: %d; want 405", code)
	}
}

func TestAdminExplain(t *testing.T) {
	srv, _ := testServer(t, nil)
	a := NewAdmin(srv, func() error { return nil })
	code, body := adminDo(t, a, "POST", "/admin/explain", corpusFile(t, "iab__2.6-video.json"))
	var v struct {
		Reason   string          `json:"reason"`
		Response json.RawMessage `json:"response"`
		Trace    json.RawMessage `json:"trace"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &v) != nil {
		t.Fatalf("explain: %d %s", code, body)
	}
	if v.Reason != "bid" || len(v.Trace) < 10 || string(v.Response) == "null" {
		t.Fatalf("explain of a bidding request: %s", body)
	}
	code, body = adminDo(t, a, "POST", "/admin/explain", []byte(`{"id":"x","imp":[{"id":"1","banner":{"w":1,"h":1}}]}`))
	if code != 200 || !strings.Contains(body, `"response":null`) || strings.Contains(body, `"reason":"bid"`) {
		t.Fatalf("explain of a no-bid: %d %s", code, body)
	}
	if code, _ := adminDo(t, a, "POST", "/admin/explain", []byte(`{`)); code != 400 {
		t.Fatalf("explain of bad JSON: %d; want 400", code)
	}
}

func TestDryRun(t *testing.T) {
	cfg := config.Default()
	if err := engine.DryRun(&cfg); err != nil {
		t.Fatalf("demo data: %v", err)
	}
	cfg.Data.CampaignsFile = filepath.Join(t.TempDir(), "missing.json")
	if err := engine.DryRun(&cfg); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Fatalf("missing file: %v", err)
	}
}
