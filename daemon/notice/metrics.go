package notice

import (
	"strconv"
	"sync/atomic"

	"github.com/VictoriaMetrics/metrics"

	"github.com/rtbd/rtbd/daemon/shading"
)

// result is the outcome of one notice, the `result` label of rtbd_notices_total.
type result uint8

const (
	resultOK            result = iota // processed for the first time
	resultDuplicate                   // (kind, bid id) already processed within the TTL
	resultUnknown                     // billing for a campaign the Spender does not know
	resultInvalid                     // malformed or out-of-range parameters
	resultUnsubstituted               // the exchange sent the literal ${AUCTION_PRICE} macro
	resultForged                      // a sig no key made, or none when one is required
	numResults
)

// noticesTotal is indexed by [Kind][result]. Every combination is created at
// init so the request path never calls GetOrCreateCounter.
var noticesTotal = [numKinds][numResults]*metrics.Counter{
	KindWin: {
		resultOK:            metrics.NewCounter(`rtbd_notices_total{kind="win",result="ok"}`),
		resultDuplicate:     metrics.NewCounter(`rtbd_notices_total{kind="win",result="duplicate"}`),
		resultUnknown:       metrics.NewCounter(`rtbd_notices_total{kind="win",result="unknown"}`),
		resultInvalid:       metrics.NewCounter(`rtbd_notices_total{kind="win",result="invalid"}`),
		resultUnsubstituted: metrics.NewCounter(`rtbd_notices_total{kind="win",result="unsubstituted"}`),
		resultForged:        metrics.NewCounter(`rtbd_notices_total{kind="win",result="forged"}`),
	},
	KindBill: {
		resultOK:            metrics.NewCounter(`rtbd_notices_total{kind="bill",result="ok"}`),
		resultDuplicate:     metrics.NewCounter(`rtbd_notices_total{kind="bill",result="duplicate"}`),
		resultUnknown:       metrics.NewCounter(`rtbd_notices_total{kind="bill",result="unknown"}`),
		resultInvalid:       metrics.NewCounter(`rtbd_notices_total{kind="bill",result="invalid"}`),
		resultUnsubstituted: metrics.NewCounter(`rtbd_notices_total{kind="bill",result="unsubstituted"}`),
		resultForged:        metrics.NewCounter(`rtbd_notices_total{kind="bill",result="forged"}`),
	},
	KindLoss: {
		resultOK:            metrics.NewCounter(`rtbd_notices_total{kind="loss",result="ok"}`),
		resultDuplicate:     metrics.NewCounter(`rtbd_notices_total{kind="loss",result="duplicate"}`),
		resultUnknown:       metrics.NewCounter(`rtbd_notices_total{kind="loss",result="unknown"}`),
		resultInvalid:       metrics.NewCounter(`rtbd_notices_total{kind="loss",result="invalid"}`),
		resultUnsubstituted: metrics.NewCounter(`rtbd_notices_total{kind="loss",result="unsubstituted"}`),
		resultForged:        metrics.NewCounter(`rtbd_notices_total{kind="loss",result="forged"}`),
	},
}

// noticesUnsigned counts the notices without sig accepted while notice
// keys are set and not required (see Config.RequireSigned), per kind.
var noticesUnsigned = [numKinds]*metrics.Counter{
	KindWin:  metrics.NewCounter(`rtbd_notices_unsigned_total{kind="win"}`),
	KindBill: metrics.NewCounter(`rtbd_notices_unsigned_total{kind="bill"}`),
	KindLoss: metrics.NewCounter(`rtbd_notices_unsigned_total{kind="loss"}`),
}

// noticesCapped counts the win and billing notices processed whose price
// was above their bid's, per kind: each was charged at the bid's price.
var noticesCapped = [numKinds]*metrics.Counter{
	KindWin:  metrics.NewCounter(`rtbd_notices_capped_total{kind="win"}`),
	KindBill: metrics.NewCounter(`rtbd_notices_capped_total{kind="bill"}`),
}

// noticesUnpriced counts the win and billing notices processed without a
// price they could be charged (see Event.Unpriced), per kind: each was
// charged at the bid's price.
var noticesUnpriced = [numKinds]*metrics.Counter{
	KindWin:  metrics.NewCounter(`rtbd_notices_unpriced_total{kind="win"}`),
	KindBill: metrics.NewCounter(`rtbd_notices_unpriced_total{kind="bill"}`),
}

var (
	// noticeSpendTotal is money billed: the sum of billing-notice CPM prices / 1000,
	// in Config.Currency. Unknown campaigns are not added.
	noticeSpendTotal = metrics.NewFloatCounter(`rtbd_notice_spend_total`)

	// dedupeEvictions counts live entries of the win and billing notices'
	// dedupe table overwritten because their probe window was full; each
	// one is a bid id that could be processed (billed) twice.
	dedupeEvictions = metrics.NewCounter(`rtbd_notice_dedupe_evictions_total`)
	// lossDedupeEvictions is dedupeEvictions for the loss notices' table:
	// a loss notice processed twice moves no money, but is counted twice.
	lossDedupeEvictions = metrics.NewCounter(`rtbd_notice_loss_dedupe_evictions_total`)

	// methodNotAllowed counts notices with a method other than GET or POST.
	methodNotAllowed = metrics.NewCounter(`rtbd_notice_method_not_allowed_total`)
)

// exchangeState is what the notice handler keeps of one exchange: its
// notices processed for the first time (with the bids per exchange,
// rtbd_bids_total{exchange}, its win rate), what it billed, and the keys
// of its encrypted prices.
type exchangeState struct {
	name    string
	notices [numKinds]*metrics.Counter // rtbd_exchange_notices_total{exchange,kind}
	spend   *metrics.FloatCounter      // rtbd_exchange_spend_total{exchange}
	// priceKeys decrypt its notices' prices; nil: they are decimals.
	priceKeys atomic.Pointer[PriceKeys]
	// losses are rtbd_exchange_losses_total{exchange,reason}.
	losses *LossCounters
	// minToWin is created by the first billing notice with a known
	// ${AUCTION_MIN_TO_WIN} (see feedback).
	minToWin atomic.Pointer[minToWinMetrics]
	// shading learns its first-price shading factor; nil when it is
	// not learned.
	shading *shading.Estimator
}

// minToWinMetrics are what an exchange's billing notices say of the
// price that would have won (config.Exchange.MinToWin).
type minToWinMetrics struct {
	overpaid *metrics.FloatCounter // rtbd_exchange_overpaid_total{exchange}
	ratio    *metrics.Histogram    // rtbd_exchange_min_to_win_ratio{exchange}
}

// feedback returns x's minToWinMetrics, creating them at the first call:
// only the exchanges that substitute ${AUCTION_MIN_TO_WIN} get the series.
func (x *exchangeState) feedback() *minToWinMetrics {
	if m := x.minToWin.Load(); m != nil {
		return m
	}
	l := `{exchange="` + x.name + `"}`
	// GetOrCreate returns the one metric of a name, so two notices racing
	// here count on the same ones.
	m := &minToWinMetrics{
		overpaid: metrics.GetOrCreateFloatCounter(`rtbd_exchange_overpaid_total` + l),
		ratio:    metrics.GetOrCreateHistogram(`rtbd_exchange_min_to_win_ratio` + l),
	}
	x.minToWin.Store(m)
	return m
}

// observe counts one billed price and its minimum to win, CPMs.
func (m *minToWinMetrics) observe(price, minToWin float64) {
	m.overpaid.Add(max(price-minToWin, 0) / 1000)
	if price > 0 {
		m.ratio.Update(minToWin / price)
	}
}

// Loss reasons as labels: OpenRTB's codes 0 to 215 each by their number,
// the exchange-specific ones (from 1000) as "other" and a loss notice
// without a reason as "unknown".
const (
	maxOpenRTBLoss = 215
	lossOther      = maxOpenRTBLoss + 1
	lossUnknown    = maxOpenRTBLoss + 2
	numLossLabels  = maxOpenRTBLoss + 3
)

// lossIndex returns the LossCounters index of loss reason code (-1: none).
func lossIndex(code int) int {
	switch {
	case code < 0:
		return lossUnknown
	case code > maxOpenRTBLoss:
		return lossOther
	}
	return code
}

// LossCounters counts loss notices by reason in the series of one name
// and labels: name{labels,reason="CODE"}, each created by its first loss
// notice, so that only the reasons an exchange sends become series. The
// zero value is not ready: see [NewLossCounters]. Safe for concurrent use.
type LossCounters struct {
	set    *metrics.Set
	prefix string // name{labels,reason="
	byCode [numLossLabels]atomic.Pointer[metrics.Counter]
}

// NewLossCounters returns the LossCounters of the series name{labels,
// reason=...} in set (nil: the default one); labels are escaped already,
// e.g. `exchange="x"`.
func NewLossCounters(set *metrics.Set, name, labels string) *LossCounters {
	if set == nil {
		set = metrics.GetDefaultSet()
	}
	return &LossCounters{set: set, prefix: name + "{" + labels + `,reason="`}
}

// Of returns the counter of loss reason code (-1 for none), creating it
// at the first call. The creation allocates once per reason.
func (l *LossCounters) Of(code int) *metrics.Counter {
	i := lossIndex(code)
	if c := l.byCode[i].Load(); c != nil {
		return c
	}
	label := strconv.Itoa(i)
	switch i {
	case lossOther:
		label = "other"
	case lossUnknown:
		label = "unknown"
	}
	// GetOrCreateCounter returns the one counter of a name, so two
	// notices racing here count on the same one.
	c := l.set.GetOrCreateCounter(l.prefix + label + `"}`)
	l.byCode[i].Store(c)
	return c
}

// newExchangeStates returns the states of "default", of names and of
// "unknown", in that order, registered once per name in the process.
func newExchangeStates(names []string, shaders map[string]*shading.Estimator) []exchangeState {
	all := append(append([]string{"default"}, names...), "unknown")
	xs := make([]exchangeState, len(all))
	for i, name := range all {
		l := `exchange="` + name + `"`
		xs[i].name = name
		for k, kind := range [numKinds]string{KindWin: "win", KindBill: "bill", KindLoss: "loss"} {
			xs[i].notices[k] = metrics.GetOrCreateCounter(`rtbd_exchange_notices_total{` + l + `,kind="` + kind + `"}`)
		}
		xs[i].spend = metrics.GetOrCreateFloatCounter(`rtbd_exchange_spend_total{` + l + `}`)
		xs[i].losses = NewLossCounters(nil, "rtbd_exchange_losses_total", l)
		xs[i].shading = shaders[name]
	}
	return xs
}

// exchange returns the stats of the exchange a notice's x names: the
// default's without x, "unknown"'s for a name not configured.
func (h *Handler) exchange(x []byte) *exchangeState {
	if len(x) == 0 {
		return &h.exchanges[0]
	}
	last := len(h.exchanges) - 1
	for i := 1; i < last; i++ {
		if string(x) == h.exchanges[i].name {
			return &h.exchanges[i]
		}
	}
	return &h.exchanges[last]
}
