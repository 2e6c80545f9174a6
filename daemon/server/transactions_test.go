package server

import (
	"encoding/json"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/config"
	"github.com/rtbd/rtbd/daemon/decision"
)

// txHash returns a hash whose bucket is bucket and whose fingerprint is fp,
// in a table of 1024 slots.
func txHash(bucket, fp uint64) uint64 { return fp<<32 | bucket*txBucket }

func TestTransactionsWindow(t *testing.T) {
	t.Parallel()
	const window = 2 * time.Second
	const p, q = 1, 2 // two paths
	tx := newTransactions(window, 1000)
	if len(tx.slots) != 1024 {
		t.Fatalf("1000 slots rounded to %d; want 1024", len(tx.slots))
	}
	t0 := time.Unix(1_800_000_000, 0)
	a, b := txHash(3, 7), txHash(3, 8)
	if tx.seen(a, q, t0) || tx.seen(a, txAnyPath, t0) {
		t.Fatal("seen in an empty table")
	}
	if !tx.claim(a, p, t0) {
		t.Fatal("first claim refused")
	}
	for _, d := range []time.Duration{0, time.Millisecond, window - time.Millisecond} {
		if !tx.seen(a, q, t0.Add(d)) || !tx.seen(a, txAnyPath, t0.Add(d)) || tx.claim(a, q, t0.Add(d)) {
			t.Fatalf("%s after its bid: not seen by another path, or claimed by it", d)
		}
		// The path that bid may bid again.
		if tx.seen(a, p, t0.Add(d)) || !tx.claim(a, p, t0.Add(d)) {
			t.Fatalf("%s after its bid: refused to the path that bid", d)
		}
	}
	if tx.seen(b, q, t0) || !tx.claim(b, q, t0) {
		t.Fatal("another id of the same bucket: seen, or refused")
	}
	// The window counts from the first bid, not from the path's repeats,
	// and once it passed the id can be bid on by any path.
	if tx.seen(a, q, t0.Add(window)) || !tx.claim(a, q, t0.Add(window)) {
		t.Fatal("still refused once the window passed")
	}
	if !tx.seen(a, p, t0.Add(window)) || tx.claim(a, p, t0.Add(window)) {
		t.Fatal("the new claim of another path does not hold against the first")
	}
	if n := used(tx, 3); n != 2 {
		t.Fatalf("bucket holds %d words after two ids; want 2 (a re-claim reuses its word)", n)
	}
	// A hash below 2^32 has fingerprint 0; for path 0 at a tick of 0 its
	// word would be 0, which marks an empty one.
	if t1 := time.UnixMilli(1 << 36); !tx.claim(5, 0, t1) || !tx.seen(5, p, t1) {
		t.Fatal("hash 5 (fingerprint 0) of path 0 claimed at tick 0 not remembered")
	}
}

func used(tx *transactions, bucket uint64) (n int) {
	for i := range uint64(txBucket) {
		if tx.slots[bucket*txBucket+i].Load() != 0 {
			n++
		}
	}
	return n
}

// A fifth id in a full bucket evicts the oldest, which can then be bid on
// again; the eviction of an id still in its window is counted.
func TestTransactionsEvictOldest(t *testing.T) {
	t.Parallel()
	tx := newTransactions(time.Hour, 1024)
	t0 := time.Unix(1_800_000_000, 0)
	// Claimed out of time order: the oldest is the third.
	at := []time.Duration{3, 2, 0, 4, 1}
	for i, d := range at[:4] {
		if !tx.claim(txHash(9, uint64(10+i)), 1, t0.Add(d*time.Second)) {
			t.Fatalf("claim %d refused", i)
		}
	}
	before := transactionEvictions.Get()
	if !tx.claim(txHash(9, 14), 1, t0.Add(5*time.Second)) {
		t.Fatal("fifth id refused")
	}
	if got := transactionEvictions.Get() - before; got != 1 {
		t.Fatalf("evictions counted %d; want 1", got)
	}
	for i := range 5 {
		want := i != 2
		if got := tx.seen(txHash(9, uint64(10+i)), 2, t0.Add(6*time.Second)); got != want {
			t.Fatalf("id %d (bid at +%ds) seen %v; want %v", i, at[i], got, want)
		}
	}
	// Other buckets are untouched.
	if used(tx, 8) != 0 || used(tx, 10) != 0 {
		t.Fatal("a neighbouring bucket was written")
	}
}

// The word keeps the low 22 bits of the millisecond: a window across their
// wrap still holds.
func TestTransactionsTickWrap(t *testing.T) {
	t.Parallel()
	tx := newTransactions(100*time.Millisecond, 1024)
	t0 := time.UnixMilli(1<<40 - 3) // the tick is 2^22-3
	h := txHash(1, 99)
	tx.claim(h, 1, t0)
	if !tx.seen(h, 2, t0.Add(50*time.Millisecond)) {
		t.Fatal("not seen 50ms later, across the tick's wrap")
	}
	if tx.seen(h, 2, t0.Add(100*time.Millisecond)) {
		t.Fatal("seen after the window, across the tick's wrap")
	}
}

// TestTransactionsSizing checks the sizing bidding.transactionSlots
// documents: ids arrive at a steady rate, each is looked for as its window
// ends, and the share pushed out early by newer ids of its bucket is 2 %
// with four slots per id live in a window, 0.2 % with eight (Poisson: 1.9
// and 0.18 %).
func TestTransactionsSizing(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		perID   int
		maxLost float64
	}{{4, 0.025}, {8, 0.0025}} {
		const slots = 1 << 16
		live := slots / c.perID // ids within one window, one a millisecond
		tx := newTransactions(time.Duration(live)*time.Millisecond, slots)
		t0 := time.UnixMilli(1 << 30)
		hs := make([]uint64, 0, 20*live)
		lost, checked := 0, 0
		for i := range 20 * live {
			now := t0.Add(time.Duration(i) * time.Millisecond)
			hs = append(hs, rng.Uint64())
			tx.claim(hs[i], 1, now)
			if j := i - live + 1; j >= 2*live { // its window ends now; the table is in its steady state
				checked++
				if !tx.seen(hs[j], 2, now) {
					lost++
				}
			}
		}
		share := float64(lost) / float64(checked)
		t.Logf("%d slots per id live: %.3f %% pushed out early", c.perID, 100*share)
		if share > c.maxLost {
			t.Errorf("%d slots per id live: %.3f %% pushed out early; want at most %.2f %%", c.perID, 100*share, 100*c.maxLost)
		}
	}
}

// Requests of one transaction by four paths racing through claim get one
// bid.
func TestTransactionsRace(t *testing.T) {
	t.Parallel()
	tx := newTransactions(time.Minute, 1024)
	now := time.Now()
	for round := range 200 {
		h := txHash(uint64(round%256), uint64(1000+round))
		var wins sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for p := range uint64(4) {
			wins.Go(func() {
				if tx.claim(h, p, now) {
					mu.Lock()
					won++
					mu.Unlock()
				}
			})
		}
		wins.Wait()
		if won != 1 {
			t.Fatalf("round %d: %d claims of one id succeeded; want 1", round, won)
		}
	}
}

// withSource returns body with its source object replaced by one with tid
// and, when tidt is not 0, source.ext.tidt; floor, when not 0, replaces
// every imp's bidfloor.
func withSource(t *testing.T, body []byte, tid string, tidt int, floor float64) []byte {
	t.Helper()
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	src := map[string]any{"tid": tid}
	if tidt != 0 {
		src["ext"] = map[string]any{"tidt": tidt}
	}
	req["source"] = src
	if floor != 0 {
		for _, imp := range req["imp"].([]any) {
			imp.(map[string]any)["bidfloor"] = floor
		}
	}
	out, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTransactionDedupe sends the same opportunity by two exchanges'
// paths, as resold inventory arrives.
func TestTransactionDedupe(t *testing.T) {
	srv, c := testServer(t, func(c *config.Config) {
		c.Bidding.TransactionWindow = config.Duration(time.Hour)
		c.Exchanges = []config.Exchange{{Name: "tx-a", BidPath: "/tx-a"}, {Name: "tx-b", BidPath: "/tx-b"}}
	})
	a := NewAdmin(srv, srv.eng.Reload, nil)
	video := corpusFile(t, "iab__2.6-video.json")
	dupes := srv.exchangeAt([]byte("/tx-b")).reasons[decision.ReasonDuplicate]
	bid := func(path string, body []byte) bool {
		t.Helper()
		r := post(t, c, path, body)
		if r.status != 200 && r.status != 204 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		return r.status == 200
	}

	one := withSource(t, video, "break-1", 0, 0)
	before := dupes.Get()
	if !bid("/tx-a", one) {
		t.Fatal("no bid on the first path")
	}
	if bid("/tx-b", one) || dupes.Get() != before+1 {
		t.Fatalf("bid on the same transaction by a second path (duplicate no-bids %d)", dupes.Get()-before)
	}
	// The path that bid is no other path: an exchange may reuse ids.
	if !bid("/tx-a", one) {
		t.Fatal("no bid on a transaction id repeated by the exchange that got the bid")
	}
	if got := explainReason(t, a, one); got != "duplicate" {
		t.Fatalf("explain of a transaction already bid on: %q; want duplicate", got)
	}
	// tidt 2: the id is not unique across the supply chain.
	if !bid("/tx-b", withSource(t, video, "break-1", 2, 0)) {
		t.Fatal("no bid on a transaction whose tidt 2 says its id is not unique")
	}
	// A path that gets no bid (its floor is above every price) leaves the
	// opportunity to the next one.
	if bid("/tx-a", withSource(t, video, "break-2", 1, 1e4)) {
		t.Fatal("bid above a floor of 10,000")
	}
	two := withSource(t, video, "break-2", 1, 0)
	if !bid("/tx-b", two) {
		t.Fatal("no bid on the second path of a transaction the first got no bid on")
	}
	if bid("/tx-a", two) {
		t.Fatal("bid again on a transaction the second path got")
	}
	// Explain does not claim.
	three := withSource(t, video, "break-3", 0, 0)
	if got := explainReason(t, a, three); got != "bid" {
		t.Fatalf("explain of a new transaction: %q; want bid", got)
	}
	if !bid("/tx-b", three) {
		t.Fatal("no bid on a transaction only explained before")
	}
	// Explain reports the bid of any path, the default endpoint's too.
	four := withSource(t, video, "break-4", 0, 0)
	if !bid("/openrtb2/bid", four) || explainReason(t, a, four) != "duplicate" {
		t.Fatal("explain does not report a transaction bid on at the default endpoint")
	}
	// Without source.tid nothing is deduplicated.
	for i := range 3 {
		if !bid("/tx-a", video) {
			t.Fatalf("no bid on request %d without source.tid", i)
		}
	}
}

// Off, the default, repeats bid.
func TestTransactionDedupeOff(t *testing.T) {
	_, c := testServer(t, nil)
	one := withSource(t, corpusFile(t, "iab__2.6-video.json"), "break-1", 1, 0)
	for i := range 3 {
		if r := post(t, c, "/openrtb2/bid", one); r.status != 200 {
			t.Fatalf("request %d of one transaction with bidding.transactionWindow off: %d", i, r.status)
		}
	}
}
