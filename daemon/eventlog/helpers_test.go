package eventlog

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/config"
)

// testConfig returns a config whose writer flushes only on demand (sync,
// full blocks, Close), so tests control block boundaries.
func testConfig(t testing.TB) config.EventLog {
	return config.EventLog{
		Dir:           t.TempDir(),
		SegmentBytes:  1 << 30,
		SegmentAge:    config.Duration(time.Hour),
		RetainBytes:   1 << 40,
		RingSize:      1 << 14,
		FlushInterval: config.Duration(time.Hour),
	}
}

// testWriter returns a writer alone (no Log around it) in cfg.Dir, and
// the count of the records it has flushed.
func testWriter(tb testing.TB, cfg config.EventLog) (*writer, *atomic.Uint64) {
	tb.Helper()
	w, err := newWriter(withDefaults(cfg), time.Now)
	if err != nil {
		tb.Fatal(err)
	}
	w.flushed, w.lost = new(atomic.Uint64), new(atomic.Uint64)
	return w, w.flushed
}

// fakeClock is a settable clock for rotation tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var testKinds = [...]Kind{KindBid, KindNoBid, KindWin, KindBill, KindLoss}

// testIsTestBid tells the bids of test requests among testRecord's, as
// rtbd does (decision.IsTestBidID).
func testIsTestBid(id []byte) bool { return bytes.HasSuffix(id, []byte("t")) }

// testRecord returns the i-th record of a deterministic sequence covering
// every kind, escaping-worthy ids and over-long ids.
func testRecord(i int) Record {
	var r Record
	r.Kind = testKinds[i%len(testKinds)]
	r.TimeUnixNano = 1_763_000_000_000_000_000 + int64(i)*1_001
	r.Price = float64(i) * 0.013
	r.SetCur([...]string{"USD", "EUR", ""}[i%3])
	switch r.Kind {
	case KindNoBid:
		r.Reason = uint8(i % 17)
	case KindLoss: // none, a code the no-bid reasons have a name for, OpenRTB's, an exchange's
		r.LossCode = [...]int32{-1, 3, 102, 1001}[i/len(testKinds)%4]
		r.Reason = uint8(min(max(r.LossCode, 0), 255))
	}
	r.SetRequestIDString(fmt.Sprintf("req-%d", i))
	switch i % 7 {
	case 3:
		r.SetBidIDString(fmt.Sprintf("b\"\\\n\x01é-%d", i))
	case 5:
		r.SetBidIDString(fmt.Sprintf("%0100d", i)) // truncated to 48
	case 1, 2, 4: // some of a test request's bid, as testIsTestBid tells
		r.SetBidIDString(fmt.Sprintf("bid-%d", i) + [...]string{"", "t"}[i/7%2])
	default:
		r.SetBidIDString(fmt.Sprintf("bid-%d", i))
	}
	r.SetCampaignIDString(fmt.Sprintf("camp-%d", i%4))
	r.SetImpIDString(fmt.Sprintf("imp-%d", i%3))
	r.SetExchangeString([...]string{"default", "x-1", ""}[i%3])
	if r.Kind == KindBid && i%2 == 0 {
		r.SetDealID(fmt.Appendf(nil, "deal-%d", i%5))
	}
	if (r.Kind == KindWin || r.Kind == KindBill || r.Kind == KindLoss) && i%3 != 0 {
		// A notice that names its bid's deal, or its lack of one; the
		// others are of bids made before rtbd named deals in notice URLs.
		r.DealKnown = true
		if i%2 == 1 {
			r.SetDealID(fmt.Appendf(nil, "deal-%d", i%5))
		}
	}
	if r.Kind == KindBill && i%4 == 3 { // capped, with an mtw
		r.StatedPrice, r.MinToWin = r.Price*10, r.Price*0.5
	}
	if r.Kind == KindWin || r.Kind == KindBill { // the bid's price, from bp
		r.BidPrice = r.Price * 1.5
		r.Unpriced = i%11 == 3
	}
	if r.Kind == KindBill && i%12 == 1 && !testIsTestBid(r.BidID()) { // of a campaign the host did not know
		r.Uncharged = true
	}
	return r
}

func appendAll(t testing.TB, l *Log, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		r := testRecord(i)
		if !l.Append(&r) {
			t.Fatalf("Append(%d) dropped a record; ring too small for the test", i)
		}
	}
}

// readAll returns the records of paths and the bytes skipped.
func readAll(t testing.TB, paths ...string) ([]Record, int64) {
	t.Helper()
	var recs []Record
	rd := Reader{}
	skipped, err := rd.Each(func(r *Record) error { recs = append(recs, *r); return nil }, paths...)
	if err != nil {
		t.Fatalf("cannot read %v: %s", paths, err)
	}
	return recs, skipped
}

// segmentFiles returns the segment names in dir, oldest first.
func segmentFiles(t testing.TB, dir string) []string {
	t.Helper()
	segs, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(segs))
	for i, s := range segs {
		names[i] = s.name
	}
	return names
}

func readFile(t testing.TB, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testConfigNoDir() config.EventLog { return config.EventLog{} }
