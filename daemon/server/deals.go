package server

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/rtbd/rtbd/daemon/notice"
)

// DealMetrics counts, per deal that the campaigns list, the bids made
// through it and the win, billing and loss notices of those bids, with
// what the bills charged, as they happen:
//
//	rtbd_deal_bids_total{deal="ID"}
//	rtbd_deal_notices_total{deal="ID",kind="win|bill|loss"}
//	rtbd_deal_losses_total{deal="ID",reason="102"}  loss notices by reason, as rtbd_exchange_losses_total
//	rtbd_deal_spend_total{deal="ID"}   bills' prices / 1000, in bidding.currency
//
// so that a deal that does not deliver shows on a dashboard the minute it
// stops, not in tomorrow's `rtbd log stats`. A deal that no campaign of
// the current snapshot lists (a notice of a bid made before a reload
// dropped it) counts as deal="other": the series are bounded by the
// campaign book, whatever the notices say. A deal a reload drops keeps
// its series, no longer growing, for [DealSeriesRetention], so that
// scrapes read its last counts; then they are removed (see
// [DealMetrics.RetireDropped]), so a book whose deals change every week
// does not grow /metrics and the process without end. A deal listed
// again before then counts on from where it was; after, from zero (a
// counter reset to Prometheus).
// It is a notice.Sink that hands every notice on to the next one (the
// event log's). Its methods are safe for concurrent use; counting does
// not allocate, but for a deal's first loss notice of each reason.
//
// Like rtbd_exchange_spend_total, spend leaves out the bills of test
// requests' bids ("test": 1), which move no budget; their bids and
// notices are counted.
type DealMetrics struct {
	byID  atomic.Pointer[map[string]*dealCounters]
	other *dealCounters
	next  notice.Sink

	mu      sync.Mutex             // SetDeals
	dropped map[string]droppedDeal // by id: deals reloads dropped, not yet retired
	now     func() time.Time       // time.Now; tests set it
}

// otherDeal is the label of the deals the campaigns do not list.
const otherDeal = "other"

// DealSeriesRetention is how long a deal that a reload drops keeps its
// series: several scrape intervals, so the last counts are read.
const DealSeriesRetention = 15 * time.Minute

// droppedDeal is a deal that a reload dropped, at the time at.
type droppedDeal struct {
	c  *dealCounters
	at time.Time
}

type dealCounters struct {
	id      string
	label   string // deal="ID", escaped
	set     *metrics.Set
	users   int // under dealSeries.mu: the DealMetrics listing or keeping it
	bids    *metrics.Counter
	notices [3]*metrics.Counter // by notice.Kind
	spend   *metrics.FloatCounter
	// losses are made by the deal's first loss notice: most deals of a
	// large book never lose one on a host.
	losses atomic.Pointer[notice.LossCounters]
}

// lossesOf returns c's counters of losses by reason, making them at the
// first call.
func (c *dealCounters) lossesOf() *notice.LossCounters {
	if l := c.losses.Load(); l != nil {
		return l
	}
	// Two notices racing here make two, whose counters are the same
	// series' (metrics.GetOrCreateCounter).
	l := notice.NewLossCounters(c.set, "rtbd_deal_losses_total", c.label)
	c.losses.Store(l)
	return l
}

// NewDealMetrics returns a DealMetrics that knows no deal yet and hands
// notices on to next, which may be nil.
func NewDealMetrics(next notice.Sink) *DealMetrics {
	// "other" is in the default set, shared by every DealMetrics and
	// never removed.
	d := &DealMetrics{other: newDealCounters(otherDeal, metrics.GetDefaultSet()), next: next,
		dropped: map[string]droppedDeal{}, now: time.Now}
	d.byID.Store(&map[string]*dealCounters{})
	return d
}

func newDealCounters(id string, set *metrics.Set) *dealCounters {
	label := `deal="` + labelEscaper.Replace(id) + `"`
	l := `{` + label
	c := &dealCounters{
		id:    id,
		label: label,
		set:   set,
		bids:  set.GetOrCreateCounter(`rtbd_deal_bids_total` + l + `}`),
		spend: set.GetOrCreateFloatCounter(`rtbd_deal_spend_total` + l + `}`),
	}
	for k := range c.notices {
		c.notices[k] = set.GetOrCreateCounter(`rtbd_deal_notices_total` + l + `,kind="` + notice.Kind(k).String() + `"}`)
	}
	return c
}

// labelEscaper escapes a Prometheus label value.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// dealSeries holds the series of every listed or kept deal of the
// process, each deal's in a metrics.Set of its own, so that removing a
// deal's costs the same however many there are (removing a series from
// the default set scans all of them, under the lock /metrics takes).
// The daemon has one DealMetrics; tests make several, which share a
// deal's counters as they would share series of the default set.
var dealSeries = struct {
	mu sync.Mutex
	m  map[string]*dealCounters
}{m: map[string]*dealCounters{}}

// acquireDeal returns the counters of deal id, registering them when no
// DealMetrics uses them yet; releaseDeal removes them after its last user.
func acquireDeal(id string) *dealCounters {
	dealSeries.mu.Lock()
	defer dealSeries.mu.Unlock()
	c := dealSeries.m[id]
	if c == nil {
		c = newDealCounters(id, metrics.NewSet())
		metrics.RegisterSet(c.set)
		dealSeries.m[id] = c
	}
	c.users++
	return c
}

func releaseDeal(c *dealCounters) {
	dealSeries.mu.Lock()
	defer dealSeries.mu.Unlock()
	if c.users--; c.users == 0 {
		delete(dealSeries.m, c.id)
		metrics.UnregisterSet(c.set, true)
	}
}

// SetDeals makes ids the deals counted under their own id (see
// [decision.Snapshot.DealIDs]); a deal counted before keeps its counts.
// The deals it drops keep their series for DealSeriesRetention; it
// removes those of deals dropped that long ago.
func (d *DealMetrics) SetDeals(ids []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	old := *d.byID.Load()
	m := make(map[string]*dealCounters, len(ids))
	for _, id := range ids {
		if m[id] != nil {
			continue
		}
		if id == otherDeal {
			// A deal named "other" is counted with the unlisted ones: its
			// own set would repeat their series, and a scrape with a
			// series twice fails.
			m[id] = d.other
			continue
		}
		c := old[id]
		if c == nil {
			if k, ok := d.dropped[id]; ok {
				c = k.c // listed again before it was retired
				delete(d.dropped, id)
			} else {
				c = acquireDeal(id)
			}
		}
		m[id] = c
	}
	for id, c := range old {
		if m[id] == nil && c != d.other {
			d.dropped[id] = droppedDeal{c: c, at: now}
		}
	}
	d.byID.Store(&m)
	d.retire(now)
}

// RetireDropped removes the series of the deals dropped
// DealSeriesRetention ago or longer. SetDeals does it too; the daemon
// also calls it every minute, so that the series leave /metrics when the
// retention ends and not at a later reload, which may be days away.
func (d *DealMetrics) RetireDropped() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.retire(d.now())
}

// retire is RetireDropped with d.mu held.
func (d *DealMetrics) retire(now time.Time) {
	for id, k := range d.dropped {
		if now.Sub(k.at) >= DealSeriesRetention {
			delete(d.dropped, id)
			releaseDeal(k.c)
		}
	}
}

// of returns the counters of deal id, not empty.
func (d *DealMetrics) of(id []byte) *dealCounters {
	if c := (*d.byID.Load())[string(id)]; c != nil {
		return c
	}
	return d.other
}

// countBid counts a bid made through deal id; a bid in the open auction
// (id empty) is not counted.
func (d *DealMetrics) countBid(id []byte) {
	if d != nil && len(id) > 0 {
		d.of(id).bids.Inc()
	}
}

// Notice counts e under its deal, when it names one, and hands it on.
func (d *DealMetrics) Notice(e notice.Event) {
	if len(e.DealID) > 0 && int(e.Kind) < len(d.other.notices) {
		c := d.of(e.DealID)
		c.notices[e.Kind].Inc()
		if e.Kind == notice.KindLoss {
			c.lossesOf().Of(e.Loss).Inc()
		}
		if e.Kind == notice.KindBill && e.Price > 0 && !e.Test && !e.Uncharged {
			c.spend.Add(e.Price / 1000)
		}
	}
	if d.next != nil {
		d.next.Notice(e)
	}
}
