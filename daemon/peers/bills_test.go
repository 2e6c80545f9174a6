package peers

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/rtbd/rtbd/daemon/decision"
	"github.com/rtbd/rtbd/daemon/notice"
)

// record is the Billed the tests append for v: every field derived from
// v, so that a record read half old and half new shows.
func record(v uint64) notice.Billed {
	return notice.Billed{Notice: v, Time: int64(v) + 7, Charge: notice.Charge{
		CapKey: v ^ 0x5555, CapWindow: int64(v%1000) + 1,
		Campaign: v*3 + 1, Today: int64(v % 77), Total: int64(v) + 9,
	}}
}

// recordV1 is record(v) as an answer of the first version carries it.
func recordV1(v uint64) notice.Billed {
	r := record(v)
	r.Campaign, r.Today, r.Total = 0, 0, 0
	return r
}

// winRecord is the Billed of a win's reservation the tests append for v.
func winRecord(v uint64) notice.Billed {
	return notice.Billed{Notice: v, Time: int64(v) + 5, Win: true, Amount: int64(v)*11 + 3, Charge: notice.Charge{
		CapKey: v ^ 0xaaaa, CapWindow: int64(v%500) + 2, Campaign: v*5 + 1,
	}}
}

func readJournal(t *testing.T, j *Journal, epoch, since uint64) bills {
	t.Helper()
	got, err := decodeBills(j.AppendFrom(nil, epoch, since, journalVersion))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got.records {
		if r != record(r.Notice) {
			t.Fatalf("torn record %+v", r)
		}
	}
	return got
}

func TestJournalReadsFromCursor(t *testing.T) {
	j := newJournal(8)
	for v := range uint64(5) {
		j.Billed(record(v + 100))
	}
	got := readJournal(t, j, 0, 0)
	if got.epoch != j.epoch || got.next != 5 || got.missed != 0 || len(got.records) != 5 || got.records[0].Notice != 100 {
		t.Fatalf("first reading: epoch %d next %d missed %d, %d records; want epoch %d, next 5, none missed, 100..104",
			got.epoch, got.next, got.missed, len(got.records), j.epoch)
	}
	if got := readJournal(t, j, j.epoch, 3); got.next != 5 || len(got.records) != 2 || got.records[0].Notice != 103 {
		t.Fatalf("from 3: next %d, %+v; want 103 and 104", got.next, got.records)
	}
	if got := readJournal(t, j, j.epoch, 5); got.next != 5 || len(got.records) != 0 {
		t.Fatalf("at the head: next %d, %d records; want 5 and none", got.next, len(got.records))
	}
	// A cursor of another epoch (this host restarted) starts over.
	if got := readJournal(t, j, j.epoch+2, 4); got.next != 5 || len(got.records) != 5 {
		t.Fatalf("another epoch: next %d, %d records; want all 5", got.next, len(got.records))
	}

	// 20 more: the ring of 8 keeps 17..24; a reader at 10 missed 7.
	for v := range uint64(20) {
		j.Billed(record(v + 200))
	}
	got = readJournal(t, j, j.epoch, 10)
	if got.next != 25 || got.missed != 7 || len(got.records) != 8 || got.records[0].Notice != 212 {
		t.Fatalf("lapped reader: next %d missed %d, %d records from %d; want 25, 7, 8 from 212",
			got.next, got.missed, len(got.records), got.records[0].Notice)
	}
}

func TestJournalConcurrentAppends(t *testing.T) {
	const writers, each = 4, 2000
	j := newJournal(1 << 14)
	var wg sync.WaitGroup
	for w := range uint64(writers) {
		wg.Go(func() {
			for i := range uint64(each) {
				j.Billed(record(w<<32 | i + 1))
			}
		})
	}
	seen := map[uint64]bool{}
	var next uint64
	read := func() {
		got := readJournal(t, j, j.epoch, next)
		if got.missed != 0 {
			t.Fatalf("missed %d with a ring larger than all appends", got.missed)
		}
		for _, r := range got.records {
			if seen[r.Notice] {
				t.Fatalf("record %x read twice", r.Notice)
			}
			seen[r.Notice] = true
		}
		next = got.next
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for reading := true; reading; {
		select {
		case <-done:
			reading = false
		default:
		}
		read()
	}
	read()
	if len(seen) != writers*each {
		t.Fatalf("read %d distinct records; want %d", len(seen), writers*each)
	}
}

// TestJournalAnswersEitherVersion: a reader that asks for an earlier
// version (an older rtbd) gets the records it knows: without the spend
// before version 2, and without the wins before version 3, which it would
// take for bills. Every answer moves its cursor past all of them.
func TestJournalAnswersEitherVersion(t *testing.T) {
	j := newJournal(8)
	j.Billed(record(10))
	j.Billed(winRecord(20))
	j.Billed(record(11))
	j.Billed(winRecord(21))
	for version, want := range map[int][]notice.Billed{
		1: {recordV1(10), recordV1(11)},
		2: {record(10), record(11)},
		3: {record(10), winRecord(20), record(11), winRecord(21)},
	} {
		b := j.AppendFrom(nil, 0, 0, version)
		size := map[int]int{1: billRecord, 2: billRecord2, 3: billRecord3}[version]
		if len(b) != billsHeader+len(want)*size {
			t.Fatalf("version %d: %d bytes; want %d records of %d", version, len(b), len(want), size)
		}
		got, err := decodeBills(b)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.records, want) || got.next != 4 {
			t.Fatalf("version %d: records %+v, next %d; want %+v, next 4", version, got.records, got.next, want)
		}
	}
}

func TestDecodeBillsRefusesBadAnswers(t *testing.T) {
	j := newJournal(8)
	j.Billed(record(1))
	j.Billed(record(2))
	j.Billed(winRecord(3))
	for version := 1; version <= journalVersion; version++ {
		good := j.AppendFrom(nil, 0, 0, version)
		for i := range len(good) {
			if _, err := decodeBills(good[:i]); err == nil {
				t.Fatalf("version %d: decoded the first %d of %d bytes", version, i, len(good))
			}
		}
		if _, err := decodeBills(append(good, 0)); err == nil {
			t.Fatalf("version %d: decoded an answer with a byte too many", version)
		}
	}
	kind := j.AppendFrom(nil, 0, 0, 3)
	kind[len(kind)-16] = 2 // the last record's kind
	if _, err := decodeBills(kind); err == nil {
		t.Fatal("decoded a record of kind 2")
	}
}

// billingHost is a host with a notice handler whose billing notices go to
// its journal, as rtbd wires them with state.peers.
type billingHost struct {
	*host
	journal *Journal
	notices *notice.Handler
}

func newBillingHost(t *testing.T) *billingHost {
	h := &billingHost{host: newHost(t), journal: NewJournal()}
	h.notices = notice.New(notice.Config{Journal: h.journal}, h.st, nil)
	return h
}

// sync returns a Syncer of h over urls that applies billing notices as
// rtbd does.
func (h *billingHost) sync(urls ...string) *Syncer {
	s := New(h.st, urls, time.Second, h.id)
	s.ShareBills(Applier(h.st, h.notices))
	return s
}

// bill sends h the billing notice of bid id for user uk of the demo
// campaign display-shoes-ros (capped at 6 a day) at CPM 2 USD.
func (h *billingHost) bill(t *testing.T, id string, uk uint64) {
	t.Helper()
	h.notify(t, h.notices.ServeBill, "bill", id, uk)
}

// win sends h the win notice of bid id, as bill does its billing notice.
func (h *billingHost) win(t *testing.T, id string, uk uint64) {
	t.Helper()
	h.notify(t, h.notices.ServeWin, "win", id, uk)
}

func (h *billingHost) notify(t *testing.T, serve fasthttp.RequestHandler, kind, id string, uk uint64) {
	t.Helper()
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI(fmt.Sprintf("/%s?bid=%s&cid=%s&imp=1&uk=%016x&cur=USD&price=2", kind, id, cappedCampaign, uk))
	serve(&ctx)
	if ctx.Response.StatusCode() != fasthttp.StatusNoContent {
		t.Fatalf("%s notice %s: %d %s", kind, id, ctx.Response.StatusCode(), ctx.Response.Body())
	}
}

// reserved returns h's reserved spend of the capped campaign in USD.
func (h *billingHost) reserved(t *testing.T) float64 {
	t.Helper()
	for i := range h.snap.Campaigns() {
		if st := h.snap.CampaignStatus(i, time.Now()); string(st.ID) == cappedCampaign {
			return st.Reserved
		}
	}
	t.Fatalf("no campaign %s", cappedCampaign)
	return 0
}

const cappedCampaign = "display-shoes-ros"

// ownSpend returns h's own spend of the capped campaign in micro-USD.
func (h *billingHost) ownSpend(t *testing.T) int64 {
	t.Helper()
	entries, err := decision.DecodeSpend(h.st.AppendSpend(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.ID == cappedCampaign {
			return e.Total
		}
	}
	return 0
}

func TestShareBillsCapsAndDedupes(t *testing.T) {
	a, c := newBillingHost(t), newBillingHost(t)
	a.serve(t, (&Source{State: a.st, Journal: a.journal, HostID: a.id}).Handler)
	const user = 0xdeadbeef
	for i := range 4 {
		a.bill(t, fmt.Sprintf("a-%d", i), user)
	}
	s := c.sync(a.url)
	if err := s.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := c.st.Impressions(cappedCampaign, user, time.Now()); got != 4 {
		t.Fatalf("c counts %d impressions of the user billed on a; want 4", got)
	}
	// a's notices replayed to c (the exchange retries after a failover)
	// are duplicates there: c's own spend does not move.
	for i := range 4 {
		c.bill(t, fmt.Sprintf("a-%d", i), user)
	}
	if got := c.ownSpend(t); got != 0 {
		t.Fatalf("c's own spend %d after replays of a's notices; want 0", got)
	}
	// A new notice reaching c is c's: billed once, and a reads it back.
	c.bill(t, "a-4", user)
	if got := c.ownSpend(t); got != 2000 {
		t.Fatalf("c's own spend %d after a's late notice; want 2000 micro-USD", got)
	}
	c.serve(t, (&Source{State: c.st, Journal: c.journal, HostID: c.id}).Handler)
	if err := a.sync(c.url).SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.bill(t, "a-4", user) // a replay to a: a duplicate there
	if got := a.ownSpend(t); got != 4*2000 {
		t.Fatalf("a's own spend %d; want its 4 bills only", got)
	}
	if got := a.st.Impressions(cappedCampaign, user, time.Now()); got != 5 {
		t.Fatalf("a counts %d impressions; want its 4 and c's 1", got)
	}

	// Readings apply each notice once: a second one, and one by a
	// Syncer restored from the saved cursor, add nothing.
	if err := s.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	s2 := c.sync(a.url)
	if n, err := s2.RestoreCursors(s.AppendCursors(nil)); err != nil || n != 1 {
		t.Fatalf("RestoreCursors: %d, %v; want 1", n, err)
	}
	if err := s2.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := c.st.Impressions(cappedCampaign, user, time.Now()); got != 5 {
		t.Fatalf("after more readings c counts %d impressions; want 5 (a's 4, its own 1)", got)
	}
	saved := s.AppendCursors(nil)
	for i := range len(saved) {
		if _, err := s2.RestoreCursors(saved[:i]); err == nil {
			t.Fatalf("RestoreCursors of the first %d of %d bytes succeeded", i, len(saved))
		}
	}
}

// TestShareWins: a win reserved on a is reserved on c too once c reads
// a's journal, with its impression counted in the user's cap. When the
// bid's bill comes to c (a failed over), c bills it, ends its reservation
// without counting the cap again, and a, reading c, ends its own the same
// way. A win whose bill c processed before it read the win reserves
// nothing on c.
func TestShareWins(t *testing.T) {
	a, c := newBillingHost(t), newBillingHost(t)
	for _, h := range []*billingHost{a, c} {
		h.st.SetReservations(time.Hour, 0)
		h.serve(t, (&Source{State: h.st, Journal: h.journal, HostID: h.id}).Handler)
	}
	sa, sc := a.sync(c.url), c.sync(a.url)
	sync := func(s *Syncer) {
		t.Helper()
		if err := s.SyncOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	check := func(h *billingHost, reserved float64, impressions int, spend int64) {
		t.Helper()
		if r, n, sp := h.reserved(t), h.st.Impressions(cappedCampaign, 0xabc, time.Now()), h.ownSpend(t); r != reserved || n != impressions || sp != spend {
			t.Fatalf("%s: reserved %v USD, %d impressions, own spend %d; want %v, %d, %d", h.id, r, n, sp, reserved, impressions, spend)
		}
	}
	a.win(t, "w-1", 0xabc)
	check(a, 0.002, 1, 0)
	sync(sc)
	check(c, 0.002, 1, 0)
	c.bill(t, "w-1", 0xabc)
	check(c, 0, 1, 2000)
	sync(sa)
	check(a, 0, 1, 0)

	a.win(t, "w-2", 0xabc)
	c.bill(t, "w-2", 0xabc) // before c reads a's win
	sync(sc)
	check(c, 0, 2, 4000)
	sync(sa)
	check(a, 0, 2, 0)
}

func TestShareBillsFromRestartedPeer(t *testing.T) {
	a, c := newBillingHost(t), newBillingHost(t)
	a.serve(t, (&Source{State: a.st, Journal: a.journal, HostID: a.id}).Handler)
	const user = 0xfeed
	a.bill(t, "a-0", user)
	s := c.sync(a.url)
	if err := s.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	// a restarts: a new journal whose sequence starts over below c's
	// cursor. c reads it from its start instead of waiting for it to
	// pass the old cursor.
	a.stop()
	a2 := &billingHost{host: a.host, journal: NewJournal()}
	a2.notices = notice.New(notice.Config{Journal: a2.journal}, a2.st, nil)
	a2.bill(t, "a2-0", user)
	a2.serve(t, (&Source{State: a2.st, Journal: a2.journal, HostID: a2.id}).Handler)
	s.peers[0].url = a2.url
	if err := s.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := c.st.Impressions(cappedCampaign, user, time.Now()); got != 2 {
		t.Fatalf("c counts %d impressions; want a's 1 before and 1 after its restart", got)
	}
}

// FuzzDecodeBills feeds arbitrary answers to decodeBills: it must not
// panic, and an answer it accepts holds exactly its declared records.
func FuzzDecodeBills(f *testing.F) {
	j := newJournal(8)
	j.Billed(record(1))
	f.Add(j.AppendFrom(nil, 0, 0, 1))
	f.Add(j.AppendFrom(nil, 0, 0, 2))
	j.Billed(winRecord(2))
	f.Add(j.AppendFrom(nil, 0, 0, 3))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeBills(b)
		if err != nil {
			return
		}
		n := len(got.records)
		rest, fits := len(b)-billsHeader, false
		for _, size := range []int{billRecord, billRecord2, billRecord3} {
			fits = fits || rest == n*size
		}
		if !fits || got.epoch == 0 {
			t.Fatalf("accepted %d bytes as %d records of epoch %d", len(b), len(got.records), got.epoch)
		}
	})
}

// TestJournalBilledDoesNotAllocate: Billed runs on every billing notice.
func TestJournalBilledDoesNotAllocate(t *testing.T) {
	j := newJournal(8)
	var nj notice.Journal = j // as the notice handler calls it
	if n := testing.AllocsPerRun(100, func() { nj.Billed(record(3)) }); n != 0 {
		t.Fatalf("Billed allocates %v times per call; want 0", n)
	}
}

func TestFinalReadsWaitsForRecentPeers(t *testing.T) {
	a, c := newBillingHost(t), newBillingHost(t)
	src := &Source{State: a.st, Journal: a.journal, HostID: a.id}
	a.serve(t, src.Handler)
	if read, expected := src.FinalReads(time.Minute, nil).Wait(context.Background()); read != 0 || expected != 0 {
		t.Fatalf("no peer ever read a: %d of %d; want 0 of 0 at once", read, expected)
	}
	s := c.sync(a.url)
	if err := s.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w := src.FinalReads(0, nil); len(w.hosts) != 0 {
		t.Fatalf("peers read within the last 0 s: %v; want none", w.hosts)
	}

	w := src.FinalReads(time.Minute, nil)
	// An operator's read, without a host id, is not c's.
	if _, _, err := fasthttp.Get(nil, a.url+Path); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if read, expected := w.Wait(ctx); read != 0 || expected != 1 {
		t.Fatalf("before c's next reading: %d of %d; want 0 of 1", read, expected)
	}
	a.bill(t, "a-last", 7)
	if err := s.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if read, expected := w.Wait(context.Background()); read != 1 || expected != 1 {
		t.Fatalf("after c's reading: %d of %d; want 1 of 1", read, expected)
	}
	if got := c.st.Impressions(cappedCampaign, 7, time.Now()); got != 1 {
		t.Fatalf("c counts %d impressions of a's last bill; want 1", got)
	}
}

func TestFinalReadsSkipsUnreachablePeers(t *testing.T) {
	a, c := newBillingHost(t), newBillingHost(t)
	src := &Source{State: a.st, Journal: a.journal, HostID: a.id}
	a.serve(t, src.Handler)
	c.serve(t, (&Source{State: c.st, Journal: c.journal, HostID: c.id}).Handler)
	if err := c.sync(a.url).SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	sa := a.sync(c.url)
	if err := sa.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sa.Unreachable(c.id) {
		t.Fatal("c is unreachable after a read it")
	}
	// c dies: a's next reading fails, and a stopping a does not wait for
	// c's final reading, which will not come.
	c.stop()
	if err := sa.SyncOnce(context.Background()); err == nil {
		t.Fatal("a read a stopped c")
	}
	if w := src.FinalReads(time.Minute, sa.Unreachable); len(w.hosts) != 0 {
		t.Fatalf("a waits for %v; want no one: c is unreachable", w.hosts)
	}
	if w := src.FinalReads(time.Minute, nil); len(w.hosts) != 1 || w.hosts[0] != c.id {
		t.Fatalf("without skip a waits for %v; want [%s]", w.hosts, c.id)
	}
}

// TestShareBillsWithOlderPeer: a peer from before the journal answers 404
// on BillsPath; its spend is still shared and the reading is no error.
func TestShareBillsWithOlderPeer(t *testing.T) {
	a, c := newBillingHost(t), newBillingHost(t)
	a.serve(t, (&Source{State: a.st, HostID: a.id}).Handler) // no Journal: 404
	a.bill(t, "a-0", 9)
	a.host.bill(t, 1, time.Now()) // 1 USD on the demo book's first campaign
	s := c.sync(a.url)
	for range 2 {
		if err := s.SyncOnce(context.Background()); err != nil {
			t.Fatalf("reading a peer without billing notices: %v", err)
		}
	}
	if today, _ := c.peerSpend(time.Now()); today != 1 {
		t.Fatalf("c counts %v USD of the older peer's spend on the first campaign; want 1", today)
	}
	if got := c.st.Impressions(cappedCampaign, 9, time.Now()); got != 0 {
		t.Fatalf("c counts %d impressions from a peer that serves no notices; want 0", got)
	}
}
