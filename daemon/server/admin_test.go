package server

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/config"
	"github.com/rtbd/rtbd/daemon/decision"
	"github.com/rtbd/rtbd/daemon/engine"
	"github.com/rtbd/rtbd/daemon/peers"
	"github.com/rtbd/rtbd/daemon/secret"
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
	a := NewAdmin(srv, func() error { return nil }, nil)
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
// writeCampaigns writes f as the campaigns file at path.
func writeCampaigns(t *testing.T, path string, f *campaign.File) {
	t.Helper()
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestAdminReloadKeepsServingOnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "campaigns.json")
	f, _ := campaign.Demo()
	writeCampaigns(t, path, f)
	srv, c := testServer(t, func(c *config.Config) { c.Data.CampaignsFile = path })
	a := NewAdmin(srv, srv.eng.Reload, nil)
	if code, body := adminDo(t, a, "POST", "/admin/reload", nil); code != 200 {
		t.Fatalf("good reload: %d %s", code, body)
	}
	f.Campaigns[0].MaxCPM = -1
	writeCampaigns(t, path, f)
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

// TestFlightsFromFile runs campaign flights from the campaigns file to
// the bid endpoint: a book whose flights have all ended answers no bid
// (explain: reason budget, filter ended), one whose flights are on bids,
// and a flight that does not parse fails the reload, naming the field.
func TestFlightsFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "campaigns.json")
	f, _ := campaign.Demo()
	setFlights := func(start, end time.Time) {
		for i := range f.Campaigns {
			f.Campaigns[i].Flight = &campaign.Flight{Start: start.Format(time.RFC3339), End: end.Format(time.RFC3339)}
		}
		writeCampaigns(t, path, f)
	}
	now := time.Now()
	setFlights(now.Add(-48*time.Hour), now.Add(-time.Hour))
	srv, c := testServer(t, func(c *config.Config) { c.Data.CampaignsFile = path })
	a := NewAdmin(srv, srv.eng.Reload, nil)
	video := corpusFile(t, "iab__2.6-video.json")
	if r := post(t, c, "/openrtb2/bid", video); r.status != 204 {
		t.Fatalf("flights ended: status %d; want 204", r.status)
	}
	if _, body := adminDo(t, a, "POST", "/admin/explain", video); !strings.Contains(body, `"reason":"budget"`) || !strings.Contains(body, `"filter":"ended"`) {
		t.Fatalf("explain with flights ended: %s", body)
	}
	setFlights(now.Add(-time.Hour), now.Add(48*time.Hour))
	if code, body := adminDo(t, a, "POST", "/admin/reload", nil); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	if r := post(t, c, "/openrtb2/bid", video); r.status != 200 {
		t.Fatalf("flights on: status %d; want 200", r.status)
	}
	f.Campaigns[1].Flight.End = "2026-13-01T00:00:00Z"
	writeCampaigns(t, path, f)
	if code, body := adminDo(t, a, "POST", "/admin/reload", nil); code != 422 || !strings.Contains(body, f.Campaigns[1].ID) || !strings.Contains(body, "flight.end") {
		t.Fatalf("reload of a bad flight: %d %q; want 422 naming campaign %q and flight.end", code, body, f.Campaigns[1].ID)
	}
}

func TestAdminExplain(t *testing.T) {
	srv, _ := testServer(t, nil)
	a := NewAdmin(srv, func() error { return nil }, nil)
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

// TestDeadman: with data.deadman set, a control plane silent for longer
// gets every bid request a no-bid (nbr 1, reason deadman), /admin/explain
// and GET /admin/heartbeat say so, and a heartbeat or a reload resumes
// bidding (a failed reload does not: TestDeadmanDaemon, with notices). The silence is made by a sign of life
// dated in the past, not by waiting.
// explainReason returns the reason /admin/explain gives for body.
func explainReason(t *testing.T, a *Admin, body []byte) string {
	t.Helper()
	_, out := adminDo(t, a, "POST", "/admin/explain", body)
	var v struct{ Reason string }
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("explain: %v: %s", err, out)
	}
	return v.Reason
}

func TestDeadman(t *testing.T) {
	const timeout = time.Minute
	srv, c := testServer(t, func(c *config.Config) {
		c.Data.Deadman = config.Duration(timeout)
		c.Bidding.NoBidBody = true
	})
	a := NewAdmin(srv, srv.eng.Reload, nil)
	body := corpusFile(t, "iab__2.6-video.json")
	bids := func() bool {
		t.Helper()
		r := post(t, c, "/openrtb2/bid", body)
		var v struct {
			NBR     *int              `json:"nbr"`
			SeatBid []json.RawMessage `json:"seatbid"`
		}
		if r.status != 200 || json.Unmarshal(r.body, &v) != nil {
			t.Fatalf("bid request: %d %s", r.status, r.body)
		}
		if len(v.SeatBid) == 0 && (v.NBR == nil || *v.NBR != 1) {
			t.Fatalf("no-bid without nbr 1 (technical error): %s", r.body)
		}
		return len(v.SeatBid) > 0
	}
	state := func() int {
		t.Helper()
		code, _ := adminDo(t, a, "GET", "/admin/heartbeat", nil)
		return code
	}
	if !bids() || state() != 200 || explainReason(t, a, body) != "bid" {
		t.Fatalf("not bidding right after start, with data.deadman %s", timeout)
	}

	halted := srv.exchanges[0].reasons[decision.ReasonDeadman]
	before := halted.Get()
	srv.eng.Beat(time.Now().Add(-timeout - time.Second))
	if bids() || halted.Get() != before+1 {
		t.Fatalf("bid with the control plane silent for longer than data.deadman (deadman no-bids %d)", halted.Get()-before)
	}
	if code, out := adminDo(t, a, "GET", "/admin/heartbeat", nil); code != 503 || !strings.Contains(out, "not bidding") {
		t.Fatalf("GET /admin/heartbeat after the trip: %d %q; want 503", code, out)
	}
	if got := explainReason(t, a, body); got != "deadman" {
		t.Fatalf("explain after the trip: %q; want deadman", got)
	}
	if code, out := adminDo(t, a, "POST", "/admin/heartbeat", nil); code != 200 || !strings.Contains(out, "bidding until") {
		t.Fatalf("POST /admin/heartbeat: %d %q", code, out)
	}
	if !bids() || state() != 200 {
		t.Fatal("not bidding after a heartbeat")
	}
	// A reload is a sign of life; a failed one is not.
	srv.eng.Beat(time.Now().Add(-timeout - time.Second))
	if code, _ := adminDo(t, a, "POST", "/admin/reload", nil); code != 200 || !bids() {
		t.Fatalf("not bidding after a reload (reload %d)", code)
	}
	if code, _ := adminDo(t, a, "PUT", "/admin/heartbeat", nil); code != 405 {
		t.Fatalf("PUT /admin/heartbeat: %d; want 405", code)
	}
}

// TestAdminTokens: with admin.tokenFile, the reload, the heartbeat's
// POST, explain and pprof answer 401 to a request without one of its
// tokens, and do nothing; the scrapers' and keepalived's paths stay open.
// The state asks for state.peerTokenFile's tokens, not the admin's.
func TestAdminTokens(t *testing.T) {
	const (
		adminTok = "0123456789abcdef0123456789abcdef"
		peerTok  = "fedcba9876543210fedcba9876543210"
	)
	srv, _ := testServer(t, func(c *config.Config) { c.Data.Deadman = config.Duration(time.Minute) })
	reloads := 0
	a := NewAdmin(srv, func() error { reloads++; return nil }, secret.NewTokens([]string{adminTok}))
	do := func(method, uri, token string, body []byte) (int, *fasthttp.ResponseHeader) {
		t.Helper()
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(method)
		ctx.Request.SetRequestURI(uri)
		if token != "" {
			ctx.Request.Header.Set("Authorization", "Bearer "+token)
		}
		ctx.Request.SetBody(body)
		a.Handler(&ctx)
		return ctx.Response.StatusCode(), &ctx.Response.Header
	}
	for _, r := range [][2]string{{"GET", "/metrics"}, {"GET", "/healthz"}, {"GET", "/readyz"}, {"GET", "/admin/heartbeat"}, {"HEAD", "/admin/heartbeat"}, {"GET", peers.Path}} {
		if code, _ := do(r[0], r[1], "", nil); code != 200 {
			t.Errorf("%s %s without a token: %d; want 200", r[0], r[1], code)
		}
	}
	video := corpusFile(t, "iab__2.6-video.json")
	_, last := srv.eng.Deadman()
	protected := []struct {
		method, uri string
		body        []byte
	}{
		{"POST", "/admin/reload", nil}, {"POST", "/admin/heartbeat", nil}, {"PUT", "/admin/heartbeat", nil},
		{"POST", "/admin/explain", video}, {"GET", "/admin/explain?exchange=default", nil}, {"GET", "/debug/pprof/", nil}, {"GET", "/debug/pprof/heap", nil},
	}
	before := unauthorized.Get()
	for _, token := range []string{"", peerTok, adminTok[:31] + "0"} {
		for _, r := range protected {
			code, h := do(r.method, r.uri, token, r.body)
			if code != 401 || !strings.HasPrefix(string(h.Peek("WWW-Authenticate")), "Bearer") {
				t.Errorf("%s %s with token %q: %d, WWW-Authenticate %q; want 401 asking for a bearer token", r.method, r.uri, token, code, h.Peek("WWW-Authenticate"))
			}
		}
	}
	if got, want := unauthorized.Get()-before, uint64(3*len(protected)); got != want {
		t.Errorf("%d refusals counted; want %d", got, want)
	}
	if _, l := srv.eng.Deadman(); reloads != 0 || !l.Equal(last) {
		t.Fatalf("refused requests reloaded %d times, moved the last sign of life from %v to %v", reloads, last, l)
	}
	for _, r := range protected[:2] {
		if code, _ := do(r.method, r.uri, adminTok, r.body); code != 200 {
			t.Errorf("%s %s with the token: %d; want 200", r.method, r.uri, code)
		}
	}
	if _, l := srv.eng.Deadman(); reloads != 1 || !l.After(last) {
		t.Fatalf("with the token: %d reloads, last sign of life %v (was %v); want 1 and later", reloads, l, last)
	}
	if code, _ := do("POST", "/admin/explain", adminTok, video); code != 200 {
		t.Errorf("explain with the token: %d", code)
	}
	if code, _ := do("GET", "/debug/pprof/", adminTok, nil); code != 200 {
		t.Errorf("pprof with the token: %d", code)
	}

	a.peerSrc.Tokens = secret.NewTokens([]string{peerTok})
	for token, want := range map[string]int{"": 401, adminTok: 401, peerTok: 200} {
		if code, _ := do("GET", peers.Path, token, nil); code != want {
			t.Errorf("GET %s with token %q: %d; want %d", peers.Path, token, code, want)
		}
	}

	// admin.metricsNeedToken puts /metrics behind the token too.
	srv, _ = testServer(t, func(c *config.Config) { c.Admin.MetricsNeedToken = true })
	a = NewAdmin(srv, func() error { return nil }, secret.NewTokens([]string{adminTok}))
	for token, want := range map[string]int{"": 401, peerTok: 401, adminTok: 200} {
		if code, _ := do("GET", "/metrics", token, nil); code != want {
			t.Errorf("GET /metrics with metricsNeedToken and token %q: %d; want %d", token, code, want)
		}
	}
	if code, _ := do("GET", "/readyz", "", nil); code != 200 {
		t.Errorf("GET /readyz with metricsNeedToken: %d; want 200", code)
	}
}
