package peers

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/notice"
	"github.com/rtbd/rtbd/daemon/secret"
)

const (
	tokOld = "0123456789abcdef0123456789abcdef"
	tokNew = "fedcba9876543210fedcba9876543210fedcba98"
	tokBad = "00000000000000000000000000000000"
)

// TestPeerTokens: with state.peerTokenFile, a host serves its spend and
// billing notices to the readers that send one of its tokens only, and a
// reader that sends none or another says so and counts nothing.
func TestPeerTokens(t *testing.T) {
	a := newBillingHost(t)
	src := &Source{State: a.st, Journal: a.journal, HostID: a.id, Tokens: secret.NewTokens([]string{tokOld, tokNew})}
	a.serve(t, src.Handler)
	a.bill(t, "a-1", 7)
	want := a.ownSpend(t)

	read := func(send []string) (*billingHost, error) {
		c := newBillingHost(t)
		s := c.sync(a.url)
		s.SendTokens(secret.NewTokens(send))
		return c, s.SyncOnce(context.Background())
	}
	for _, send := range [][]string{nil, {tokBad, tokOld}} {
		before := unauthorized.Get()
		c, err := read(send)
		if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "state.peerTokenFile") {
			t.Fatalf("sending %q: %v; want a 401 that names state.peerTokenFile", send, err)
		}
		if got := c.peerTotal(t); got != 0 {
			t.Fatalf("sending %q: c counts %v of a's spend; want none", send, got)
		}
		if got := unauthorized.Get() - before; got != 1 {
			t.Fatalf("sending %q: %d refused reads counted; want 1", send, got)
		}
	}
	// Either token of a's file, the second too (a rotation under way).
	for _, send := range [][]string{{tokOld}, {tokNew, tokBad}} {
		c, err := read(send)
		if err != nil {
			t.Fatalf("sending %q: %v", send, err)
		}
		if got := c.peerTotal(t); got != float64(want)/1e6 {
			t.Fatalf("sending %q: c counts %v of a's spend; want %v", send, got, float64(want)/1e6)
		}
		if !c.notices.HasBilled(notice.BillKey([]byte("a-1"))) {
			t.Fatalf("sending %q: a's billing notice not applied on c", send)
		}
	}

	// What a refusal looks like to anyone: 401 with its scheme, before
	// the method is looked at, on both paths.
	for _, path := range []string{Path, BillsPath} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			req, _ := http.NewRequest(method, a.url+path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("%s %s without a token: %s, WWW-Authenticate %q; want 401 asking for a bearer token", method, path, resp.Status, resp.Header.Get("WWW-Authenticate"))
			}
		}
	}

	// A reload drops the old token: a reader still sending it is refused.
	src.Tokens.Set([]string{tokNew})
	if _, err := read([]string{tokOld}); err == nil {
		t.Fatal("the dropped token still reads a's state")
	}

	// While the file is rolled out, a host may serve readers without a
	// token, counted; a wrong token is refused all the same.
	src.AcceptWithoutToken = true
	before := readsWithoutToken.Get()
	if c, err := read(nil); err != nil || c.peerTotal(t) != float64(want)/1e6 {
		t.Fatalf("no token with AcceptWithoutToken: %v", err)
	}
	if got := readsWithoutToken.Get() - before; got != 2 {
		t.Fatalf("%d reads without a token counted; want 2 (spend and notices)", got)
	}
	if _, err := read([]string{tokOld}); err == nil {
		t.Fatal("a wrong token read a's state with AcceptWithoutToken")
	}
}

// peerTotal returns what h counts of its peers' spend of the capped
// campaign, in USD.
func (h *billingHost) peerTotal(t *testing.T) float64 {
	t.Helper()
	for i, id := range campaignIDs(h.snap) {
		if id == cappedCampaign {
			return h.snap.CampaignStatus(i, time.Now()).PeerTotal
		}
	}
	t.Fatalf("no campaign %s", cappedCampaign)
	return 0
}
