package server

import (
	"strings"
	"sync/atomic"

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
// its series, no longer growing, until a restart. It is a notice.Sink
// that hands every notice on to the next one (the event log's). Its
// methods are safe for concurrent use; counting does not allocate, but
// for a deal's first loss notice of each reason.
//
// Like rtbd_exchange_spend_total, spend leaves out the bills of test
// requests' bids ("test": 1), which move no budget; their bids and
// notices are counted.
type DealMetrics struct {
	byID  atomic.Pointer[map[string]*dealCounters]
	other *dealCounters
	next  notice.Sink
}

type dealCounters struct {
	label   string // deal="ID", escaped
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
	l := notice.NewLossCounters("rtbd_deal_losses_total", c.label)
	c.losses.Store(l)
	return l
}

// NewDealMetrics returns a DealMetrics that knows no deal yet and hands
// notices on to next, which may be nil.
func NewDealMetrics(next notice.Sink) *DealMetrics {
	d := &DealMetrics{other: newDealCounters("other"), next: next}
	d.byID.Store(&map[string]*dealCounters{})
	return d
}

func newDealCounters(id string) *dealCounters {
	label := `deal="` + labelEscaper.Replace(id) + `"`
	l := `{` + label
	c := &dealCounters{
		label: label,
		bids:  metrics.GetOrCreateCounter(`rtbd_deal_bids_total` + l + `}`),
		spend: metrics.GetOrCreateFloatCounter(`rtbd_deal_spend_total` + l + `}`),
	}
	for k := range c.notices {
		c.notices[k] = metrics.GetOrCreateCounter(`rtbd_deal_notices_total` + l + `,kind="` + notice.Kind(k).String() + `"}`)
	}
	return c
}

// labelEscaper escapes a Prometheus label value.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// SetDeals makes ids the deals counted under their own id (see
// [decision.Snapshot.DealIDs]); a deal counted before keeps its counts.
func (d *DealMetrics) SetDeals(ids []string) {
	old := *d.byID.Load()
	m := make(map[string]*dealCounters, len(ids))
	for _, id := range ids {
		if m[id] = old[id]; m[id] == nil {
			m[id] = newDealCounters(id) // the same counters as a dropped deal's, if it was
		}
	}
	d.byID.Store(&m)
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
		if e.Kind == notice.KindBill && e.Price > 0 && !e.Test {
			c.spend.Add(e.Price / 1000)
		}
	}
	if d.next != nil {
		d.next.Notice(e)
	}
}
