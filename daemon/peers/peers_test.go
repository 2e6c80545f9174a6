package peers

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/decision"
)

// host is one rtbd's decision state on the demo book, serving its own
// spend on a real loopback listener.
type host struct {
	id   string // bidding.hostID
	st   *decision.State
	snap *decision.Snapshot
	url  string
	srv  *fasthttp.Server
	ln   net.Listener
}

func newHost(t *testing.T) *host {
	t.Helper()
	f, m := campaign.Demo()
	st := decision.NewState(1024)
	snap, err := decision.Compile(f, m, st, decision.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hostSeq++
	return &host{id: fmt.Sprintf("h%d", hostSeq), st: st, snap: snap}
}

var hostSeq int

// serve starts h's peer listener with handler (Handler when nil).
func (h *host) serve(t *testing.T, handler fasthttp.RequestHandler) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if handler == nil {
		handler = (&Source{State: h.st, HostID: h.id}).Handler
	}
	h.ln, h.srv = ln, &fasthttp.Server{Handler: handler}
	h.url = "http://" + ln.Addr().String()
	go h.srv.Serve(ln) //nolint:errcheck // ends with Shutdown
	t.Cleanup(h.stop)
}

// stop shuts h's server down, waiting at most a second for its
// connections: fasthttp waits for a connection that never sent a request
// until its client closes it, and Go's transport keeps one it dialed for
// a request served meanwhile by another for 90 s.
func (h *host) stop() {
	if h.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		h.srv.ShutdownWithContext(ctx) //nolint:errcheck // a connection left open is the client's
		h.srv = nil
	}
}

// bill bills n impressions of the demo book's first campaign at CPM 1000
// USD: 1 USD each.
func (h *host) bill(t *testing.T, n int, now time.Time) {
	t.Helper()
	id := h.snap.CampaignStatus(0, now).ID
	for range n {
		if _, err := h.st.Bill(id, 0, 1000, nil, now); err != nil {
			t.Fatal(err)
		}
	}
}

// peerSpend returns what h counts of its peers' spend for the first
// campaign, today and in total, in USD.
func (h *host) peerSpend(now time.Time) (today, total float64) {
	s := h.snap.CampaignStatus(0, now)
	return s.PeerToday, s.PeerTotal
}

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func TestSyncCountsPeersSpend(t *testing.T) {
	a, b, c := newHost(t), newHost(t), newHost(t)
	a.serve(t, nil)
	b.serve(t, nil)
	a.bill(t, 3, now)
	b.bill(t, 2, now.Add(-24*time.Hour)) // yesterday: total only
	s := New(c.st, []string{a.url, b.url + "/"}, time.Second, c.id)
	if err := s.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if today, total := c.peerSpend(now); today != 3 || total != 5 {
		t.Fatalf("peer spend today %v, total %v; want 3 and 5", today, total)
	}
	// c's own spend, what its peers read, is still zero.
	if own, _ := decision.DecodeSpend(c.st.AppendSpend(nil)); len(own) != 0 {
		t.Fatalf("c's own spend %+v; want none", own)
	}
	a.bill(t, 1, now)
	if err := s.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if today, total := c.peerSpend(now); today != 4 || total != 6 {
		t.Fatalf("after a's bill: peer spend today %v, total %v; want 4 and 6", today, total)
	}

	// a stops: c keeps counting its last reading and says why.
	a.stop()
	err := s.SyncOnce(context.Background())
	if err == nil || !strings.Contains(err.Error(), a.url) {
		t.Fatalf("SyncOnce with a stopped: %v; want an error naming %s", err, a.url)
	}
	if today, total := c.peerSpend(now); today != 4 || total != 6 {
		t.Fatalf("a stopped: peer spend today %v, total %v; want 4 and 6 still", today, total)
	}

	// a comes back without its state (a lost disk): it reports less than
	// c has seen, which must not lower the count.
	a2 := newHost(t)
	a2.bill(t, 1, now)
	a2.serve(t, nil)
	s2 := New(c.st, []string{a2.url}, time.Second, c.id)
	s2.peers[0].spend = s.peers[0].spend // the same peer at a new port
	if err := s2.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if today, total := c.peerSpend(now); today != 4 || total != 4 {
		t.Fatalf("after a2: peer spend today %v, total %v; want a's 4 kept (b is not in s2)", today, total)
	}
}

// TestRecover: a host that restarts with less spend than its peers last
// read of it (a state file older than their reading, or none) raises its
// own to theirs, campaign by campaign and day by day; more of its own is
// kept; a peer that never read it, or is down, adds nothing.
func TestRecover(t *testing.T) {
	a, b := newHost(t), newHost(t)
	b.serve(t, nil)
	sa := New(a.st, []string{b.url}, time.Second, a.id)
	a.serve(t, (&Source{State: a.st, HostID: a.id, Seen: sa.SeenOf}).Handler)
	b.bill(t, 2, now.Add(-24*time.Hour))
	b.bill(t, 5, now)
	if err := sa.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	own := func(h *host) (today, total float64) {
		s := h.snap.CampaignStatus(0, now)
		return s.SpendToday, s.SpendTotal
	}

	// b restarts on a state file saved after its first bill of today.
	b2 := newHost(t)
	b2.id = b.id
	b2.bill(t, 1, now)
	s2 := New(b2.st, []string{a.url}, time.Second, b2.id)
	if n, err := s2.Recover(context.Background()); n != 1 || err != nil {
		t.Fatalf("Recover = %d, %v; want 1 campaign raised", n, err)
	}
	if today, total := own(b2); today != 5 || total != 7 {
		t.Fatalf("b's own spend after Recover: today %v, total %v; want a's reading, 5 and 7", today, total)
	}
	// The peers' reading is of b's own spend, not of theirs.
	if today, total := b2.peerSpend(now); today != 0 || total != 0 {
		t.Fatalf("b's peer spend after Recover: %v, %v; want none", today, total)
	}

	// b restarts on a state file of yesterday's.
	b4 := newHost(t)
	b4.id = b.id
	b4.bill(t, 1, now.Add(-24*time.Hour))
	if n, err := New(b4.st, []string{a.url}, time.Second, b4.id).Recover(context.Background()); n != 1 || err != nil {
		t.Fatalf("Recover on yesterday's file = %d, %v; want 1 campaign raised", n, err)
	}
	if today, total := own(b4); today != 5 || total != 7 {
		t.Fatalf("b's own spend after Recover on yesterday's file: today %v, total %v; want 5 and 7", today, total)
	}

	// A host that spent more since keeps its own.
	b3 := newHost(t)
	b3.id = b.id
	b3.bill(t, 9, now)
	if n, err := New(b3.st, []string{a.url}, time.Second, b3.id).Recover(context.Background()); n != 0 || err != nil {
		t.Fatalf("Recover with more spend = %d, %v; want nothing raised", n, err)
	}
	if today, total := own(b3); today != 9 || total != 9 {
		t.Fatalf("b3's own spend %v, %v; want its 9 kept", today, total)
	}

	// A host a never read gets nothing; a peer that is down, an error.
	c := newHost(t)
	if n, err := New(c.st, []string{a.url}, time.Second, c.id).Recover(context.Background()); n != 0 || err != nil {
		t.Fatalf("Recover of a host never read = %d, %v; want 0, nil", n, err)
	}
	b.stop()
	if n, err := New(c.st, []string{b.url}, time.Second, c.id).Recover(context.Background()); n != 0 || err == nil || !strings.Contains(err.Error(), b.url) {
		t.Fatalf("Recover from a peer that is down = %d, %v; want 0 and an error naming it", n, err)
	}
	resp, err := http.Get(a.url + SeenPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("%s without %s: %d; want 400", SeenPath, HostHeader, resp.StatusCode)
	}
}

func TestSyncRejectsBadAnswers(t *testing.T) {
	a, c := newHost(t), newHost(t)
	a.bill(t, 2, now)
	answer := func(ctx *fasthttp.RequestCtx) { (&Source{State: a.st, HostID: a.id}).Serve(ctx) }
	a.serve(t, func(ctx *fasthttp.RequestCtx) { answer(ctx) })
	s := New(c.st, []string{a.url}, time.Second, c.id)
	if err := s.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	good := a.st.AppendSpend(nil)
	for name, h := range map[string]fasthttp.RequestHandler{
		"truncated": func(ctx *fasthttp.RequestCtx) { ctx.SetBody(good[:len(good)-1]) },
		"extra":     func(ctx *fasthttp.RequestCtx) { ctx.SetBody(append(good, 0)) },
		"html":      func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("<html>proxy error</html>") },
		"status":    func(ctx *fasthttp.RequestCtx) { ctx.Error("not found", fasthttp.StatusNotFound) },
		// A host id that the state file could not keep, or that is no id.
		"long id": func(ctx *fasthttp.RequestCtx) {
			ctx.Response.Header.Set(HostHeader, strings.Repeat("x", 65))
			ctx.SetBody(good)
		},
		"odd id": func(ctx *fasthttp.RequestCtx) {
			ctx.Response.Header.Set(HostHeader, "a b")
			ctx.SetBody(good)
		},
	} {
		answer = h
		if err := s.SyncOnce(context.Background()); err == nil {
			t.Fatalf("%s answer: SyncOnce returned nil", name)
		}
		if today, total := c.peerSpend(now); today != 2 || total != 2 {
			t.Fatalf("%s answer: peer spend %v, %v; want 2 and 2 kept", name, today, total)
		}
	}
	// Only GET /state/spend is served (and /state/bills with a journal).
	// A peer with this host's id: listed by mistake, it would count this
	// host's spend twice.
	answer = (&Source{State: a.st, HostID: c.id}).Handler
	if err := s.SyncOnce(context.Background()); err == nil || !strings.Contains(err.Error(), "hostID") {
		t.Fatalf("a peer answering with this host's id: %v; want an error naming hostID", err)
	}
	answer = (&Source{State: a.st, HostID: a.id}).Handler
	for _, tc := range []struct{ method, path string }{{"POST", Path}, {"GET", "/metrics"}, {"GET", BillsPath}} {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.Header.SetMethod(tc.method)
		req.SetRequestURI(a.url + tc.path)
		if err := fasthttp.Do(req, resp); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode() == fasthttp.StatusOK {
			t.Fatalf("%s %s: status 200; want an error", tc.method, tc.path)
		}
	}
}

func TestKnownSpendSurvivesRestart(t *testing.T) {
	a, c := newHost(t), newHost(t)
	a.serve(t, nil)
	a.bill(t, 3, now)
	s := New(c.st, []string{a.url, "http://127.0.0.1:1"}, time.Second, c.id)
	s.SyncOnce(context.Background()) //nolint:errcheck // the second peer is down
	saved := s.Append(nil)

	// c restarts while a is down: the saved reading counts at once.
	a.stop()
	c2 := newHost(t)
	s2 := New(c2.st, []string{a.url, "http://127.0.0.1:2"}, time.Second, c2.id)
	if n, err := s2.Restore(saved); err != nil || n != 1 {
		t.Fatalf("Restore: %d, %v; want 1 peer (the other is no longer configured)", n, err)
	}
	if today, total := c2.peerSpend(now); today != 3 || total != 3 {
		t.Fatalf("restored peer spend %v, %v; want 3 and 3", today, total)
	}
	s3 := New(newHost(t).st, []string{a.url}, time.Second, "c3")
	for i := range len(saved) {
		if _, err := s3.Restore(saved[:i]); err == nil {
			t.Fatalf("Restore of the first %d of %d bytes succeeded", i, len(saved))
		}
	}
}

// TestGonePeerSpend: a peer the state file has and state.peers no longer
// lists still counts what it spent, restart after restart: dropped, its
// spend was back in the survivors' budgets (the money audit). A configured
// peer that answers with its host id, the same host at a new address,
// takes its place, so its spend is not counted twice.
func TestGonePeerSpend(t *testing.T) {
	a, b, c := newHost(t), newHost(t), newHost(t)
	a.serve(t, nil)
	b.serve(t, nil)
	a.bill(t, 3, now)
	b.bill(t, 2, now)
	s := New(c.st, []string{a.url, b.url}, time.Second, c.id)
	if err := s.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	saved, ids := s.Append(nil), s.AppendIDs(nil)

	restart := func(saved, ids []byte, urls ...string) (*host, *Syncer) {
		t.Helper()
		h := newHost(t)
		s := New(h.st, urls, time.Second, h.id)
		if _, err := s.Restore(saved); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RestoreIDs(ids); err != nil {
			t.Fatal(err)
		}
		return h, s
	}
	// b leaves the group.
	c2, s2 := restart(saved, ids, a.url)
	if _, total := c2.peerSpend(now); total != 5 {
		t.Fatalf("b left the group: peers' total %v; want 5 (a's 3 and b's 2)", total)
	}
	c3, s3 := restart(s2.Append(nil), s2.AppendIDs(nil), a.url)
	if _, total := c3.peerSpend(now); total != 5 {
		t.Fatalf("a restart later: peers' total %v; want 5", total)
	}
	// b comes back at a new address, with its state.
	b.stop()
	b2 := &host{id: b.id, st: b.st, snap: b.snap}
	b2.serve(t, nil)
	c4, s4 := restart(s3.Append(nil), s3.AppendIDs(nil), a.url, b2.url)
	if err := s4.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, total := c4.peerSpend(now); total != 5 {
		t.Fatalf("b back at a new address: peers' total %v; want 5, b's spend once", total)
	}
}

// TestMergeSpend folds readings one campaign at a time, decoded
// (mergeSpend: saved readings, billing notices) and as they arrive
// (mergeReading: a peer's answer).
func TestMergeSpend(t *testing.T) {
	t.Run("decoded", func(t *testing.T) {
		testMergeSpend(t, func(known map[string]decision.CampaignSpend, e decision.CampaignSpend) []string {
			return mergeSpend(known, []decision.CampaignSpend{e}, never)
		})
	})
	t.Run("reading", func(t *testing.T) {
		testMergeSpend(t, func(known map[string]decision.CampaignSpend, e decision.CampaignSpend) []string {
			changed, _, err := mergeReading(known, decision.AppendSpendEntries(nil, []decision.CampaignSpend{e}), nil, never)
			if err != nil {
				t.Fatal(err)
			}
			return changed
		})
	})
}

// never retires a campaign.
func never([]byte, int64) bool { return false }

func testMergeSpend(t *testing.T, fold func(map[string]decision.CampaignSpend, decision.CampaignSpend) []string) {
	known := map[string]decision.CampaignSpend{}
	merge := func(e decision.CampaignSpend) []string { return fold(known, e) }
	if got := merge(decision.CampaignSpend{ID: "c", Day: 10, Today: 5, Total: 50}); len(got) != 1 || got[0] != "c" {
		t.Fatalf("a first reading changed %q; want c", got)
	}
	if got := merge(decision.CampaignSpend{ID: "c", Day: 10, Today: 3, Total: 40}); len(got) != 0 { // older reading
		t.Fatalf("an older reading changed %q", got)
	}
	if got := known["c"]; got.Day != 10 || got.Today != 5 || got.Total != 50 {
		t.Fatalf("after an older reading: %+v", got)
	}
	if got := merge(decision.CampaignSpend{ID: "c", Day: 11, Today: 1, Total: 51}); len(got) != 1 { // next day
		t.Fatal("the next day's reading reported no change")
	}
	if got := known["c"]; got.Day != 11 || got.Today != 1 || got.Total != 51 {
		t.Fatalf("after the next day: %+v", got)
	}
	merge(decision.CampaignSpend{ID: "c", Day: 10, Today: 9, Total: 60}) // a late reading of yesterday
	if got := known["c"]; got.Day != 11 || got.Today != 1 || got.Total != 60 {
		t.Fatalf("after yesterday's late reading: %+v", got)
	}
}

// spendReading is a reading of n campaigns, with the counters of the
// first moved campaigns raised by round.
func spendReading(n, moved, round int) []byte {
	entries := spendEntries(n)
	for i := range entries[:moved] {
		entries[i].Today += int64(round)
		entries[i].Total += int64(round)
	}
	return decision.AppendSpendEntries(nil, entries)
}

// spendEntries is the spend of n campaigns, campaign-000000 up, of
// today (day 20000).
func spendEntries(n int) []decision.CampaignSpend {
	entries := make([]decision.CampaignSpend, n)
	for i := range entries {
		entries[i] = decision.CampaignSpend{ID: fmt.Sprintf("campaign-%06d", i), Day: 20000, Today: int64(i + 1), Total: int64(2*i + 1)}
	}
	return entries
}

// spendSource returns a Source whose State counts the spend of n
// campaigns, and a GET of Path to serve with it.
func spendSource(tb testing.TB, n int) (*Source, *fasthttp.RequestCtx) {
	tb.Helper()
	st := decision.NewState(1024)
	if _, err := st.RestoreSpend(spendReading(n, 0, 0)); err != nil {
		tb.Fatal(err)
	}
	ctx := new(fasthttp.RequestCtx)
	ctx.Request.Header.SetMethod("GET")
	ctx.Request.SetRequestURI(Path)
	return &Source{State: st, HostID: "self"}, ctx
}

// TestReadingDoesNotAllocatePerCampaign: a reading of 2,000 campaigns of
// which 10 moved allocates for those 10 (the hand-on), not for each
// campaign, as decoding every id into a string did (2,001 allocations).
func TestReadingDoesNotAllocatePerCampaign(t *testing.T) {
	s := New(decision.NewState(1024), []string{"http://peer"}, time.Second, "self")
	p := s.peers[0]
	if err := s.take(p, spendReading(2000, 10, 0), false, false, 0); err != nil {
		t.Fatal(err)
	}
	s.publish()
	readings := [][]byte{spendReading(2000, 10, 1), spendReading(2000, 10, 2)}
	round := 0
	allocs := testing.AllocsPerRun(20, func() {
		round++
		if err := s.take(p, readings[round%2], false, false, 0); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 50 {
		t.Fatalf("a reading of 2,000 campaigns, 10 moved, allocated %.0f times; want at most 50", allocs)
	}
	if got := p.spend["campaign-000009"]; got.Total != 2*9+1+2 {
		t.Fatalf("campaign-000009 known as %+v; want total %d", got, 2*9+1+2)
	}
}

// TestReadingReusesItsBuffer: a peer's answer is read into the buffer the
// last one left, not a new one each interval (io.ReadAll's doubling cost
// about twice the answer's size a reading).
func TestReadingReusesItsBuffer(t *testing.T) {
	reading := spendReading(20000, 0, 0) // 780 KB
	a, c := newHost(t), newHost(t)
	a.serve(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set(HostHeader, a.id)
		ctx.SetBody(reading)
	})
	s := New(c.st, []string{a.url}, 5*time.Second, c.id)
	for range 3 { // the buffers and connections on both sides
		if err := s.SyncOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 5
	for range n {
		if err := s.SyncOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > uint64(len(reading))/4 {
		t.Fatalf("a reading of a %d-byte answer allocated %d bytes; want at most a quarter of the answer", len(reading), per)
	}
}

// TestServeSpendSizesItsBuffer: answering a reading allocates at most one
// buffer of about the answer's size, where growing one from nothing and
// copying it into the response's took five times the answer.
func TestServeSpendSizesItsBuffer(t *testing.T) {
	src, ctx := spendSource(t, 20000)
	serve := func() int {
		ctx.Response.Reset()
		src.Serve(ctx)
		return len(ctx.Response.Body())
	}
	n := serve() // sizes the next
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const rounds = 5
	for range rounds {
		if got := serve(); got != n {
			t.Fatalf("answer of %d bytes; want %d, as the first", got, n)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / rounds; per > uint64(n)*3/2 {
		t.Fatalf("an answer of %d bytes allocated %d bytes; want at most 1.5 times the answer", n, per)
	}
}

// TestPeerWinReservationShown: a host shows each peer's
// bidding.winReservation beside its own, from the peer's spend answers,
// and follows a change of it.
func TestPeerWinReservationShown(t *testing.T) {
	a, c := newHost(t), newHost(t)
	a.serve(t, nil)
	a.st.SetReservations(2*time.Minute, 1024)
	c.st.SetReservations(5*time.Minute, 1024)
	s := New(c.st, []string{a.url}, time.Second, c.id)
	shown := func() float64 { return s.peers[0].winReservation.Get() }
	if got := shown(); got != -1 {
		t.Fatalf("a's winReservation before a reading: %v; want -1, unknown", got)
	}
	for _, want := range []time.Duration{2 * time.Minute, 0} {
		a.st.SetReservations(want, 1024)
		if err := s.SyncOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := shown(); got != want.Seconds() {
			t.Fatalf("a's winReservation as c shows it: %v s; want %v s", got, want.Seconds())
		}
	}
	if own := c.st.WinReservation(); own != 5*time.Minute {
		t.Fatalf("c's own winReservation %s; want 5m, as set", own)
	}
}

// TestRetireForgetsPeersSpend: a peer that still serves the spend of a
// campaign this host retired does not bring it back, the host forgets
// what it knew of the peer's spend of it, and a book that brings it back
// counts the peer's spend again although the peer's answer did not
// change.
func TestRetireForgetsPeersSpend(t *testing.T) {
	a, c := newHost(t), newHost(t)
	a.serve(t, nil)
	today := time.Now().Unix() / 86400
	// a has not retired "gone", last billed 40 days ago, and counts
	// "fresh", billed today; neither is in either book.
	if _, err := a.st.RestoreSpend(decision.AppendSpendEntries(nil, []decision.CampaignSpend{
		{ID: "gone", Day: today - 40, Total: 5e6}, {ID: "fresh", Day: today, Today: 1e6, Total: 1e6},
	})); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	c.st.SetClock(func() time.Time { return at })
	c.st.SetRetireAfter(30)
	s := New(c.st, []string{a.url}, time.Second, c.id)
	sync := func() {
		t.Helper()
		if err := s.SyncOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	known := func() []string {
		t.Helper()
		saved, err := Decode(s.Append(nil))
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range saved[a.url] {
			ids = append(ids, e.ID)
		}
		return ids
	}
	if got := s.peers[0].retireDays.Get(); got != -1 {
		t.Fatalf("a's state.retireAfterDays before a reading: %v; want -1, unknown", got)
	}
	sync()
	// a keeps every campaign (0), which c shows beside its own 30.
	if got := s.peers[0].retireDays.Get(); got != 0 {
		t.Fatalf("a's state.retireAfterDays as c shows it: %v; want 0", got)
	}
	if c.st.Counts("gone") || !c.st.Counts("fresh") || fmt.Sprint(known()) != "[fresh]" {
		t.Fatalf("counting gone %v, fresh %v, knowing %q of a; want fresh only", c.st.Counts("gone"), c.st.Counts("fresh"), known())
	}
	// c's book brings "gone" back: a's unchanged answer counts now.
	f, m := campaign.Demo()
	back := f.Campaigns[0]
	back.ID = "gone"
	withGone := *f
	withGone.Campaigns = append(slices.Clone(f.Campaigns), back)
	bringBack := func() {
		t.Helper()
		snap, err := decision.Compile(&withGone, m, c.st, decision.Options{})
		if err != nil {
			t.Fatal(err)
		}
		sync()
		i := slices.Index(campaignIDs(snap), "gone")
		if st := snap.CampaignStatus(i, at); string(st.ID) != "gone" || st.PeerTotal != 5 {
			t.Fatalf("gone back in the book: %+v; want a's total of 5", st)
		}
	}
	bringBack()
	// The book drops it again; 31 days on, c retires both, and forgets
	// a's spend of them for good.
	if _, err := decision.Compile(f, m, c.st, decision.Options{}); err != nil {
		t.Fatal(err)
	}
	at = at.Add(31 * 24 * time.Hour)
	if n := c.st.Retire(); n != 2 {
		t.Fatalf("retired %d; want gone and fresh", n)
	}
	if n := s.Retire(); n != 2 || len(known()) != 0 {
		t.Fatalf("Syncer.Retire dropped %d, knows %q; want 2 dropped, none left", n, known())
	}
	sync()
	if c.st.Counts("gone") || c.st.Counts("fresh") || len(known()) != 0 {
		t.Fatalf("a reading brought back a retired campaign: knowing %q", known())
	}
	// Back once more, after c forgot what a had of it.
	bringBack()
}

// TestReadingsAreDeltas: after a whole reading, each one holds only what
// the peer billed since; a peer that restarted (new versions) or an
// rtbd from before the versions answers the whole spend, which counts
// the same.
func TestReadingsAreDeltas(t *testing.T) {
	a, c := newHost(t), newHost(t)
	// 1,000 campaigns spent today besides the demo book's.
	spent := spendEntries(1000)
	for i := range spent {
		spent[i].Day = now.Unix() / 86400
	}
	if _, err := a.st.RestoreSpend(decision.AppendSpendEntries(nil, spent)); err != nil {
		t.Fatal(err)
	}
	var src atomic.Pointer[Source]
	src.Store(&Source{State: a.st, HostID: a.id})
	var sizes, sinces []string
	var mu sync.Mutex
	a.serve(t, func(ctx *fasthttp.RequestCtx) {
		src.Load().Handler(ctx)
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, strconv.Itoa(len(ctx.Response.Body())))
		sinces = append(sinces, string(ctx.Response.Header.Peek(SinceHeader)))
	})
	s := New(c.st, []string{a.url}, time.Second, c.id)
	read := func(wantToday, wantTotal float64) (size, since string) {
		t.Helper()
		if err := s.SyncOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		if today, total := c.peerSpend(now); today != wantToday || total != wantTotal {
			t.Fatalf("peer spend %v today, %v in total; want %v and %v", today, total, wantToday, wantTotal)
		}
		mu.Lock()
		defer mu.Unlock()
		return sizes[len(sizes)-1], sinces[len(sinces)-1]
	}
	a.bill(t, 3, now)
	if size, since := read(3, 3); since != "0" || len(size) < 5 {
		t.Fatalf("first reading: %s bytes since %q; want the whole spend, since 0", size, since)
	}
	// A version a never gave gets the whole spend.
	resp, err := http.Get(fmt.Sprintf("%s%s?epoch=%d&since=%d", a.url, Path, a.st.SpendEpoch(), uint64(1)<<40))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get(SinceHeader); got != "0" || resp.ContentLength < 1000*26 {
		t.Fatalf("since a version not given: %d bytes since %q; want the whole spend, since 0", resp.ContentLength, got)
	}
	a.bill(t, 1, now)
	entry := strconv.Itoa(4 + 26 + len(a.snap.CampaignStatus(0, now).ID))
	if size, since := read(4, 4); since == "0" || size != entry {
		t.Fatalf("after one bill: %s bytes since %q; want the one campaign billed (%s bytes) since the last version", size, since, entry)
	}
	if size, _ := read(4, 4); size != "4" {
		t.Fatalf("with nothing billed: %s bytes; want 4, no campaign", size)
	}

	// a restarts: its spend comes back from its state file, under new
	// versions, and it bills once more.
	a2 := newHost(t)
	if _, err := a2.st.RestoreSpend(a.st.AppendSpend(nil)); err != nil {
		t.Fatal(err)
	}
	a2.bill(t, 2, now)
	src.Store(&Source{State: a2.st, HostID: a.id})
	if size, since := read(6, 6); since != "0" || len(size) < 5 {
		t.Fatalf("after a restart: %s bytes since %q; want the whole spend", size, since)
	}
	a2.bill(t, 1, now)
	if size, since := read(7, 7); since == "0" || size != entry {
		t.Fatalf("after a restart and a bill: %s bytes since %q; want a delta of %s", size, since, entry)
	}

	// An rtbd from before the versions answers the whole spend, without
	// their headers, whatever it is asked.
	old := func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set(HostHeader, a.id)
		ctx.SetBody(a2.st.AppendSpend(nil))
	}
	a.stop()
	a.serve(t, old)
	s.peers[0].url = a.url
	a2.bill(t, 1, now)
	read(8, 8)
	a2.bill(t, 1, now)
	read(9, 9)
}

// TestRecoverFromARestartedPeer: a restarts on its state file and has not
// read b again when b, restarted too, asks what a last read of it: a
// answers from the saved reading, which knows b by its host id.
func TestRecoverFromARestartedPeer(t *testing.T) {
	a, b := newHost(t), newHost(t)
	b.serve(t, nil)
	sa := New(a.st, []string{b.url}, time.Second, a.id)
	b.bill(t, 5, now)
	if err := sa.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	spend, ids := sa.Append(nil), sa.AppendIDs(nil)
	b.stop()

	// a restarts: a new Syncer restored from the saved sections.
	a2 := newHost(t)
	sa2 := New(a2.st, []string{b.url}, time.Second, a2.id)
	if _, err := sa2.Restore(spend); err != nil {
		t.Fatal(err)
	}
	if n, err := sa2.RestoreIDs(ids); n != 1 || err != nil {
		t.Fatalf("RestoreIDs = %d, %v; want 1 peer", n, err)
	}
	a2.serve(t, (&Source{State: a2.st, HostID: a2.id, Seen: sa2.SeenOf}).Handler)
	b2 := newHost(t)
	b2.id = b.id
	if n, err := New(b2.st, []string{a2.url}, time.Second, b2.id).Recover(context.Background()); n != 1 || err != nil {
		t.Fatalf("Recover from a restarted peer = %d, %v; want 1 campaign raised", n, err)
	}
	if st := b2.snap.CampaignStatus(0, now); st.SpendToday != 5 || st.SpendTotal != 5 {
		t.Fatalf("b's own spend after Recover: %+v; want 5 and 5", st)
	}
	for cut := 0; cut < len(ids); cut++ {
		if _, err := sa2.RestoreIDs(ids[:cut]); err == nil {
			t.Fatalf("host ids cut to %d of %d bytes: no error", cut, len(ids))
		}
	}
}

// TestReplacedPeer: another host answering at a peer's address (a
// machine replaced under a new bidding.hostID, without the old one's
// state) has its spend counted beside the old host's, which stays as a
// gone peer's, restart after restart. Merged into one, the old spend hid
// the new host's until it passed it, and the group overspent by it.
func TestReplacedPeer(t *testing.T) {
	a, c := newHost(t), newHost(t)
	a.serve(t, nil)
	a.bill(t, 3, now)
	s := New(c.st, []string{a.url}, time.Second, c.id)
	if err := s.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	// a's machine is replaced: a new host, with a new id and no spend,
	// at the same address.
	a.stop()
	n := newHost(t)
	ln, err := net.Listen("tcp", strings.TrimPrefix(a.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	n.ln, n.srv, n.url = ln, &fasthttp.Server{Handler: (&Source{State: n.st, HostID: n.id}).Handler}, a.url
	go n.srv.Serve(ln) //nolint:errcheck // ends with Shutdown
	t.Cleanup(n.stop)
	n.bill(t, 1, now)
	if err := s.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, total := c.peerSpend(now); total != 4 {
		t.Fatalf("a replaced by a new host: peers' total %v; want 4 (a's 3 and the new host's 1)", total)
	}
	// Saved and restored, both still count, and the new host's reading
	// is still its own.
	c2 := newHost(t)
	s2 := New(c2.st, []string{a.url}, time.Second, c2.id)
	if _, err := s2.Restore(s.Append(nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.RestoreIDs(s.AppendIDs(nil)); err != nil {
		t.Fatal(err)
	}
	n.bill(t, 1, now)
	if err := s2.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, total := c2.peerSpend(now); total != 5 {
		t.Fatalf("after a restart: peers' total %v; want 5 (a's 3 and the new host's 2)", total)
	}
}
