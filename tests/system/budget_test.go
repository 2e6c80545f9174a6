package system

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/tests/system/harness"
)

// budgetDaily is the daily budget, in USD, of the campaign that
// TestBudgetSurvivesFailover spends: a few impressions at the campaign's
// price of at most 5 USD CPM.
const budgetDaily = 0.02

// TestBudgetSurvivesFailover stops the master of a pair that shares
// budgets (state.peers, as the NixOS module's failover.shareBudgets sets
// it) right after it spent a campaign's daily budget, and checks that the
// backup, once it holds the VIP, does not spend that budget a second
// time: it counts the master's spend. A billing notice for one of the
// master's bids that reaches the backup after the move (the exchange
// sends it to the VIP) is billed there once, and its replay is not, nor
// is the replay of one the master billed: the dollar is neither lost nor
// counted twice. The pair reads each other over HTTPS (state.peerTLS,
// certificates of a site CA) with a state.peerTokenFile token, and the
// client host, without it, reads nothing.
//
// The master either crashes (SIGKILL, link down) once the backup counts
// its last bill, peers reading each other's spend only every minute: the
// backup follows the master's billing notices, which carry the spend, so
// it counts each within a round trip, not at its next reading. Or it
// drains (SIGTERM) at once, peers reading every second: a stopping rtbd
// waits for its peers' last reading, so the backup has every bill without
// the test waiting for it.
func TestBudgetSurvivesFailover(t *testing.T) {
	bin := setup(t, true)
	for _, stop := range []string{"crash", "drain"} {
		t.Run(stop, func(t *testing.T) { budgetFailover(t, bin, stop) })
	}
}

func budgetFailover(t *testing.T, bin harness.Binaries, stop string) {
	dir := t.TempDir()
	camp := reloadCampaign
	camp.Budget = campaign.Budget{Daily: budgetDaily, Pacing: "asap"}
	data := readDemo(t)
	data.Campaigns = append(data.Campaigns, camp)
	campaigns, model := filepath.Join(dir, "campaigns.json"), filepath.Join(dir, "model.json")
	writeCampaigns(t, campaigns, data)
	must(t, os.WriteFile(model, readFile(t, "../../daemon/campaign/demo/model.json"), 0o644))
	interval := "1m"
	if stop == "drain" {
		interval = "1s"
	}
	// The pair authenticates and encrypts as a deployment should
	// (state.peerTokenFile, state.peerTLS).
	tokens := filepath.Join(dir, "peer-tokens")
	must(t, os.WriteFile(tokens, []byte("0123456789abcdef0123456789abcdef\n"), 0o600))
	ca := newTestCA(t)

	p := newPairWith(t, bin, false, func(p *pair, h *harness.Host) harness.RtbdConfig {
		cfg := harness.NewRtbdConfig(h, 0)
		cfg.Data = map[string]any{"campaignsFile": campaigns, "modelFile": model}
		certFile, keyFile := ca.Issue(t, h.Addr)
		cfg.State = map[string]any{
			"dir":   t.TempDir(),
			"peers": []string{fmt.Sprintf("https://%s:%d", p.other(h).Addr, harness.PeerPort)},
			"peerTLS": map[string]any{
				"listenAddress": fmt.Sprintf("%s:%d", h.Addr, harness.PeerPort),
				"certFile":      certFile, "keyFile": keyFile, "caFile": ca.File,
			},
			"peerInterval":  interval,
			"peerTokenFile": tokens,
		}
		return cfg
	})
	vip := harness.VIP.String()
	hc := p.client.NS.HTTPClient(2 * time.Second)
	peerSpend := func() float64 { return spendToday(t, p.r2, "rtbd_campaign_peer_spend_today") }
	// The backup has read the master once: it is one of the master's
	// peers to wait for.
	must(t, harness.Poll(5*time.Second, 20*time.Millisecond, func() (bool, error) {
		m, err := p.r2.Metrics()
		return err == nil && m[fmt.Sprintf(`rtbd_peer_syncs_total{peer="https://%s:%d"}`, p.b1.Addr, harness.PeerPort)] >= 1, err
	}))
	// Another host, without the token, reads nothing, though it trusts
	// the site CA; nor over plain HTTP.
	tr := hc.Transport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: ca.Pool()}
	resp, err := (&http.Client{Transport: tr, Timeout: hc.Timeout}).Get(fmt.Sprintf("https://%s:%d/state/spend", p.b1.Addr, harness.PeerPort))
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the client host read the master's spend without a token: %s; want 401", resp.Status)
	}
	if resp, err := hc.Get(fmt.Sprintf("http://%s:%d/state/spend", p.b1.Addr, harness.PeerPort)); err == nil {
		resp.Body.Close()
		t.Fatalf("the master's peer port answered plain HTTP: %s; want no answer", resp.Status)
	}

	// The master bids until the budget is spent; the exchange bills every
	// bid at once but the first, whose notice comes late.
	var held, billed []bid
	for len(held)+len(billed) < 100 {
		b, ok := postCampaignBid(t, p.client, vip)
		if !ok {
			break
		}
		if len(held) == 0 {
			held = append(held, b)
			continue
		}
		if status := fireNotice(t, hc, vip, b); status != 204 {
			t.Fatalf("billing notice through the VIP got %d; want 204", status)
		}
		billed = append(billed, b)
	}
	spent := spendToday(t, p.r1, "rtbd_campaign_spend_today")
	t.Logf("master: %d bids billed, spend today %.4f USD of %.2f; one notice held", len(billed), spent, budgetDaily)
	if len(billed) < 2 || spent < budgetDaily {
		t.Fatalf("the master stopped bidding after %d billed bids with %.4f USD spent; want the %.2f USD budget spent first", len(billed), spent, budgetDaily)
	}

	var stopped time.Duration
	switch stop {
	case "crash":
		must(t, harness.Poll(5*time.Second, 20*time.Millisecond, func() (bool, error) {
			got := peerSpend()
			return got == spent, fmt.Errorf("the backup reads %.4f USD of the master's spend; want %.4f", got, spent)
		}))
		p.k1.KillGroup()
		p.r1.KillGroup()
		must(t, p.b1.LinkDown())
	case "drain":
		start := time.Now()
		must(t, p.r1.Signal(syscall.SIGTERM))
		if code, err := p.r1.Wait(10 * time.Second); err != nil || code != 0 {
			t.Fatalf("the master did not exit 0 within 10 s of SIGTERM: %d, %v", code, err)
		}
		stopped = time.Since(start)
	}
	must(t, harness.Poll(5*time.Second, 10*time.Millisecond, func() (bool, error) { return p.b2.HasVIP() }))
	if got := peerSpend(); got != spent {
		t.Fatalf("with the master gone the backup counts %.4f USD of its spend; want %.4f", got, spent)
	}

	// The backup answers through the VIP and does not bid the budget again.
	status, body, err := harness.PostBid(p.client.NS, vip, []byte(reloadRequest))
	must(t, err)
	if status != 204 {
		t.Fatalf("after the failover the backup answered %d %s; want 204: the master spent the daily budget", status, body)
	}
	if own := spendToday(t, p.r2, "rtbd_campaign_spend_today"); own != 0 {
		t.Fatalf("the backup's own spend %.4f before any notice reached it; want 0", own)
	}

	// The late notice of the master's first bid is billed by the backup,
	// and only once.
	for i, want := range []float64{held[0].price / 1000, held[0].price / 1000} {
		if status := fireNotice(t, hc, vip, held[0]); status != 204 {
			t.Fatalf("late billing notice %d got %d; want 204", i+1, status)
		}
		if got := spendToday(t, p.r2, "rtbd_campaign_spend_today"); !near(got, want) {
			t.Fatalf("after late notice %d the backup's own spend is %.6f; want %.6f", i+1, got, want)
		}
	}
	// A notice the master billed, replayed to the backup (the exchange
	// retries one it saw no answer to), is a duplicate there: the backup
	// applied the master's billing notices with its spend.
	if status := fireNotice(t, hc, vip, billed[0]); status != 204 {
		t.Fatalf("replayed billing notice got %d; want 204", status)
	}
	if got := spendToday(t, p.r2, "rtbd_campaign_spend_today"); !near(got, held[0].price/1000) {
		t.Fatalf("after a replay of the master's notice the backup's own spend is %.6f; want %.6f", got, held[0].price/1000)
	}
	t.Logf("FIGURE scenario=budget_%s billed=%d master_spend_usd=%.4f backup_peer_spend_usd=%.4f late_bill_usd=%.6f master_exit_ms=%s",
		stop, len(billed), spent, peerSpend(), held[0].price/1000, harness.Ms(stopped))
}

// bid is what the test keeps of one of the campaign's bids.
type bid struct {
	price float64
	burl  string
}

// postCampaignBid posts reloadRequest to addr and returns the campaign's
// bid, or false for a no-bid.
func postCampaignBid(t *testing.T, h *harness.Host, addr string) (bid, bool) {
	t.Helper()
	status, body, err := harness.PostBid(h.NS, addr, []byte(reloadRequest))
	must(t, err)
	if status == 204 {
		return bid{}, false
	}
	var resp struct {
		SeatBid []struct {
			Bid []struct {
				Price float64 `json:"price"`
				CrID  string  `json:"crid"`
				BURL  string  `json:"burl"`
			} `json:"bid"`
		} `json:"seatbid"`
	}
	if status != 200 {
		t.Fatalf("bid request got %d %s", status, body)
	}
	must(t, json.Unmarshal(body, &resp))
	if len(resp.SeatBid) != 1 || len(resp.SeatBid[0].Bid) != 1 || resp.SeatBid[0].Bid[0].CrID != "systest-123x45" {
		t.Fatalf("want one bid of the budgeted campaign; got %s", body)
	}
	b := resp.SeatBid[0].Bid[0]
	return bid{price: b.Price, burl: b.BURL}, true
}

// fireNotice sends b's billing notice, its price macro filled with the
// bid price, to the bid listener at addr, and returns the status.
func fireNotice(t *testing.T, c *http.Client, addr string, b bid) int {
	t.Helper()
	u, err := url.Parse(strings.ReplaceAll(b.burl, "${AUCTION_PRICE}", strconv.FormatFloat(b.price, 'f', -1, 64)))
	must(t, err)
	u.Scheme, u.Host = "http", fmt.Sprintf("%s:%d", addr, harness.BidPort)
	resp, err := c.Get(u.String())
	must(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// spendToday returns the campaign's series name of r's metrics, 0 when
// absent.
func spendToday(t *testing.T, r *harness.Rtbd, name string) float64 {
	t.Helper()
	m, err := r.Metrics()
	must(t, err)
	return m[name+`{campaign="`+reloadCampaign.ID+`"}`]
}

// near reports whether two amounts in USD are within one micro-dollar:
// rtbd counts spend in whole micro-units of the currency.
func near(a, b float64) bool { return a-b <= 1e-6 && b-a <= 1e-6 }
