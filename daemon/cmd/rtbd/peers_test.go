package main

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/decision"
)

// peerSpendTotal sums rtbd_campaign_peer_spend_total over every campaign,
// in micro-units; ok is false when the daemon has no such series.
func (d *daemon) peerSpendTotal(t *testing.T) (sum int64, ok bool) {
	t.Helper()
	for series, v := range d.metrics(t) {
		if strings.HasPrefix(series, "rtbd_campaign_peer_spend_total{") {
			sum += int64(math.Round(v * 1e6))
			ok = true
		}
	}
	return sum, ok
}

// waitPeerSpend polls d until it counts want micro-units of peer spend.
func (d *daemon) waitPeerSpend(t *testing.T, want int64, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, _ := d.peerSpendTotal(t)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: peer spend %d micro-units after 10 s; want %d", what, got, want)
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline, not synchronisation
	}
}

func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", url, resp.Status, err)
	}
	return b
}

// TestPeersShareSpend runs two daemons that list each other in
// state.peers: what one bills, the other counts against the budgets
// within a few state.peerInterval, and keeps counting when the first dies
// and the second restarts meanwhile (the spend file holds the reading).
func TestPeersShareSpend(t *testing.T) {
	pa, pb := freePorts(t)
	dirB := t.TempDir()
	a := startDaemon(t, map[string]any{
		"state":   map[string]any{"peers": []string{"http://" + pb}, "peerListenAddress": pa, "peerInterval": "100ms"},
		"bidding": map[string]any{"hostID": "a"},
	})
	cfgB := func() map[string]any {
		return map[string]any{
			"state":   map[string]any{"dir": dirB, "peers": []string{"http://" + pa}, "peerListenAddress": pb, "peerInterval": "100ms"},
			"drain":   map[string]any{"delay": "0s"},
			"bidding": map[string]any{"hostID": "b"},
		}
	}
	b := startDaemon(t, cfgB())

	bids, spent := a.billCorpus(t, 10)
	b.waitPeerSpend(t, spent, "b reading a")
	if own := b.spendTotal(t); own != 0 {
		t.Fatalf("b's own spend %d; want 0: peer spend is not b's own", own)
	}
	// b applied a's billing notices in the same reading: replayed to b,
	// as an exchange retries them after a failover, they are duplicates.
	for _, bid := range bids {
		b.notice(t, bid.BURL, "2")
	}
	if own := b.spendTotal(t); own != 0 {
		t.Fatalf("b's own spend %d after replays of a's billing notices; want 0", own)
	}
	billed := 0 // the bids of test requests move no spend and are not shared
	for _, bid := range bids {
		if !decision.IsTestBidID([]byte(bid.ID)) {
			billed++
		}
	}
	if got := b.metric(t, `rtbd_peer_bills_applied_total{peer="http://`+pa+`"}`); got != float64(billed) {
		t.Fatalf("b applied %v of a's billing notices; want %d", got, billed)
	}
	// a counts b's spend, none, and not its own through b.
	a.waitPeerSpend(t, 0, "a reading b")
	if got, ok := a.peerSpendTotal(t); !ok || got != 0 {
		t.Fatalf("a's peer spend %d (series present: %v); want 0", got, ok)
	}
	// The admin listener serves the same own spend as the peer listener.
	if x, y := get(t, a.admin+"/state/spend"), get(t, "http://"+pa+"/state/spend"); !bytes.Equal(x, y) || len(x) == 0 {
		t.Fatalf("admin and peer listeners differ: %d and %d bytes", len(x), len(y))
	}

	// a dies; b restarts while a is down and still counts a's spend.
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	a.wait()
	b.stop(t)
	if own, peer := savedSpend(t, dirB); own != 0 || peer != spent {
		t.Fatalf("rtbd state of b: own %d, peers %d; want 0 and a's %d", own, peer, spent)
	}
	b2 := startDaemon(t, cfgB())
	if got, _ := b2.peerSpendTotal(t); got != spent {
		t.Fatalf("b after a restart with a down: peer spend %d; want a's %d", got, spent)
	}
	b2.waitMetric(t, `rtbd_peer_sync_errors_total{peer="http://`+pa+`"}`, func(v float64) bool { return v >= 2 },
		"two sync errors for the dead peer")
	if got, _ := b2.peerSpendTotal(t); got != spent {
		t.Fatalf("b with a down for two readings: peer spend %d; want a's %d kept", got, spent)
	}
}

// TestRecoverSpendFromPeers: a host that dies and comes back without its
// state.dir (a replaced machine) asks its peer what it read of its spend
// and counts it as its own again, so that the group's budgets still hold
// what it billed before.
func TestRecoverSpendFromPeers(t *testing.T) {
	pa, pb := freePorts(t)
	a := startDaemon(t, map[string]any{
		"state":   map[string]any{"peers": []string{"http://" + pb}, "peerListenAddress": pa, "peerInterval": "100ms"},
		"bidding": map[string]any{"hostID": "a"},
	})
	cfgB := func(dir string) map[string]any {
		return map[string]any{
			"state":   map[string]any{"dir": dir, "peers": []string{"http://" + pa}, "peerListenAddress": pb, "peerInterval": "100ms"},
			"bidding": map[string]any{"hostID": "b"},
		}
	}
	b := startDaemon(t, cfgB(t.TempDir()))
	_, spent := b.billCorpus(t, 10)
	a.waitPeerSpend(t, spent, "a reading b")
	if err := b.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	b.wait()
	b2 := startDaemon(t, cfgB(t.TempDir()))
	if got := b2.spendTotal(t); got != spent {
		t.Fatalf("b restarted without its state: own spend %d; want the %d a read of it", got, spent)
	}
	if got, _ := b2.peerSpendTotal(t); got != 0 {
		t.Fatalf("b's peer spend %d; want a's, none", got)
	}
}

// TestPeersReadFinalBillsAtStop stops a daemon by SIGTERM right after it
// billed: it waits for its peer's next reading before it exits, so the
// peer counts every bill and has every notice as billed, although it
// reads only every second and the stopped daemon is gone afterwards.
func TestPeersReadFinalBillsAtStop(t *testing.T) {
	pa, pb := freePorts(t)
	a := startDaemon(t, map[string]any{
		"state":   map[string]any{"peers": []string{"http://" + pb}, "peerListenAddress": pa},
		"drain":   map[string]any{"delay": "0s"},
		"bidding": map[string]any{"hostID": "a"},
	})
	b := startDaemon(t, map[string]any{
		"state":   map[string]any{"peers": []string{"http://" + pa}, "peerListenAddress": pb, "peerInterval": "1s"},
		"bidding": map[string]any{"hostID": "b"},
	})
	b.waitMetric(t, `rtbd_peer_syncs_total{peer="http://`+pa+`"}`, func(v float64) bool { return v >= 1 }, "b reading a")
	bids, spent := a.billCorpus(t, 10)
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	if err := a.wait(); err != nil {
		t.Fatalf("a did not exit 0 after SIGTERM: %v", err)
	}
	t.Logf("a exited %s after SIGTERM", time.Since(stopped).Round(time.Millisecond))
	b.waitPeerSpend(t, spent, "b after a stopped")
	for _, bid := range bids {
		b.notice(t, bid.BURL, "2") // a's notices, replayed to b
	}
	if own := b.spendTotal(t); own != 0 {
		t.Fatalf("b's own spend %d after replays of the notices a billed before it stopped; want 0", own)
	}
}

// cappedPair starts two daemons, a and b, that share their budgets and
// caps (state.peers, read every 100 ms) and whose one campaign, "capped",
// buys capsRequest's site for at most max impressions a user an hour.
func cappedPair(t *testing.T, max int) (a, b *daemon) {
	t.Helper()
	return cappedPairWith(t, max, nil)
}

// cappedPairWith is cappedPair with bidding settings added to both.
func cappedPairWith(t *testing.T, max int, bidding map[string]any) (a, b *daemon) {
	t.Helper()
	f := campaign.File{Version: 1, Currency: "USD", Campaigns: []campaign.Campaign{{
		ID: "capped", ADomain: []string{"caps.rtbd.example"}, Value: 5, MaxCPM: 5,
		Budget:    campaign.Budget{Pacing: "asap"},
		FreqCap:   campaign.FreqCap{Max: max, WindowSeconds: 3600},
		Targeting: campaign.Targeting{Media: []string{"banner"}, SiteDomains: []string{"caps.rtbd.example"}},
		Creatives: []campaign.Creative{{ID: "capped-300x250", Type: "banner", W: 300, H: 250, Secure: true, Markup: "<div>caps</div>"}},
	}}}
	cp := filepath.Join(t.TempDir(), "campaigns.json")
	js, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cp, js, 0o600); err != nil {
		t.Fatal(err)
	}
	pa, pb := freePorts(t)
	cfg := func(id, listen, peer string) map[string]any {
		b := map[string]any{"hostID": id}
		maps.Copy(b, bidding)
		return map[string]any{
			"data":    map[string]any{"campaignsFile": cp},
			"state":   map[string]any{"peers": []string{"http://" + peer}, "peerListenAddress": listen, "peerInterval": "100ms"},
			"bidding": b,
		}
	}
	return startDaemon(t, cfg("a", pa, pb)), startDaemon(t, cfg("b", pb, pa))
}

// waitApplied polls d until it applied n of its peers' journal records
// of kind what ("bills": billing notices, "wins": wins' reservations),
// for at most 10 s.
func (d *daemon) waitApplied(t *testing.T, what string, n float64) {
	t.Helper()
	prefix := "rtbd_peer_" + what + "_applied_total{"
	deadline := time.Now().Add(10 * time.Second)
	for {
		applied := 0.0
		for series, v := range d.metrics(t) {
			if strings.HasPrefix(series, prefix) {
				applied += v
			}
		}
		if applied >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v of the peers' %s applied after 10 s; want %v", applied, what, n)
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline, not synchronisation
	}
}

// capsFor is capsRequest for user.
func capsFor(user string) []byte { return []byte(strings.Replace(capsRequest, "USER", user, 1)) }

// capsRequest asks for a 300x250 banner on the one site the campaign of
// cappedPair buys, for user USER.
const capsRequest = `{"id":"caps","at":1,"tmax":500,"cur":["USD"],
"imp":[{"id":"1","banner":{"w":300,"h":250},"bidfloor":0.01,"bidfloorcur":"USD","secure":1}],
"site":{"id":"caps","domain":"caps.rtbd.example","page":"https://caps.rtbd.example/"},
"device":{"ua":"Mozilla/5.0","ip":"10.0.0.1","devicetype":2},"user":{"id":"USER"}}`

// TestPeersShareCaps runs two daemons that list each other in
// state.peers with a campaign capped at one impression per user: once a
// bills a user's impression, b does not bid for that user either, and
// still bids for another.
func TestPeersShareCaps(t *testing.T) {
	a, bd := cappedPair(t, 1)
	req := capsFor
	code, bids := a.postBid(t, req("u1"))
	if code != 200 || len(bids) != 1 {
		t.Fatalf("a's first answer for u1: %d with %d bids; want a bid", code, len(bids))
	}
	a.notice(t, bids[0].BURL, "2")
	if code, _ := a.postBid(t, req("u1")); code != 204 {
		t.Fatalf("a after u1's impression: %d; want 204 (capped)", code)
	}
	bd.waitApplied(t, "bills", 1)
	if code, _ := bd.postBid(t, req("u1")); code != 204 {
		t.Fatalf("b for u1, capped on a: %d; want 204", code)
	}
	if code, _ := bd.postBid(t, req("u2")); code != 200 {
		t.Fatalf("b for u2: %d; want a bid", code)
	}
}
