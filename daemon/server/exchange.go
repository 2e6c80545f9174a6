package server

import (
	"github.com/VictoriaMetrics/metrics"
	"github.com/cespare/xxhash/v2"

	"github.com/rtbd/rtbd/daemon/config"
	"github.com/rtbd/rtbd/daemon/decision"
	"github.com/rtbd/rtbd/daemon/openrtb"
	"github.com/rtbd/rtbd/daemon/shading"
	"github.com/rtbd/rtbd/daemon/stats"
)

// exchange is one bid endpoint: http.bidPath (exchange "default"), one of
// the configured exchanges, or a path of http.billOnWinBidPaths (named
// after its path). What it answers is counted under its name, so an
// exchange whose requests time out or stop bidding shows apart from the
// others, as operators of a bidder watch them.
type exchange struct {
	name      string
	path      string
	billOnWin bool   // bids billed at their win notice (bo=w)
	minToWin  bool   // notice URLs ask for ${AUCTION_MIN_TO_WIN}
	query     []byte // the notice URLs' x: the name; nil for the default
	noBidBody bool   // no-bids answered 200 {"id","nbr"}, not 204
	// gdprConsent: under GDPR, no bid without a TCF string that decodes
	// (bidding.gdprRequireConsent).
	gdprConsent bool
	txPath      uint64             // its number as a path of transactions (see transactions)
	shade       float64            // first-price shading, fixed
	auto        *shading.Estimator // learns it instead; nil when fixed

	results  [numResults]*metrics.Counter // rtbd_bid_requests_total{exchange,result}
	reasons  []*metrics.Counter           // rtbd_nobid_total{exchange,reason}, by decision.Reason
	bids     *metrics.Counter             // rtbd_bids_total{exchange}
	late     *metrics.Counter             // rtbd_bid_requests_late_total{exchange}
	duration *stats.Histogram             // rtbd_request_duration_seconds{path="bid",exchange}
}

// result is how a bid request was answered: the result label.
type result uint8

const (
	resBid result = iota
	resNoBid
	resBad
	resTooLarge
	resBadEncoding
	resMethod
	resShed
	resTimeout
	resOverLimits
	numResults
)

var resultNames = [numResults]string{
	resBid:         "bid",
	resNoBid:       "nobid",
	resBad:         "bad_request",
	resTooLarge:    "too_large",
	resBadEncoding: "unsupported_encoding",
	resMethod:      "method_not_allowed",
	resShed:        "shed",
	resTimeout:     "timeout",
	resOverLimits:  "over_limits",
}

// newExchange returns the endpoint e (NoBidBody set; GDPRRequireConsent
// nil is false) with its metrics,
// registered once per name in the process (servers of one test binary
// share them).
func newExchange(e config.Exchange, auto *shading.Estimator) *exchange {
	name := e.Name
	l := `exchange="` + name + `"`
	x := &exchange{
		name: name, path: e.BidPath, billOnWin: e.BillOnWin, noBidBody: *e.NoBidBody, minToWin: e.MinToWin,
		gdprConsent: e.GDPRRequireConsent != nil && *e.GDPRRequireConsent,
		shade:       e.FirstPriceShading, auto: auto,
		reasons:  make([]*metrics.Counter, decision.NumReasons),
		bids:     metrics.GetOrCreateCounter(`rtbd_bids_total{` + l + `}`),
		late:     metrics.GetOrCreateCounter(`rtbd_bid_requests_late_total{` + l + `}`),
		duration: stats.GetOrCreateHistogram(`rtbd_request_duration_seconds{path="bid",` + l + `}`),
	}
	if name != config.DefaultExchange {
		x.query = []byte(name)
	}
	for r := range x.results {
		x.results[r] = metrics.GetOrCreateCounter(`rtbd_bid_requests_total{` + l + `,result="` + resultNames[r] + `"}`)
	}
	for r := range x.reasons {
		x.reasons[r] = metrics.GetOrCreateCounter(`rtbd_nobid_total{` + l + `,reason="` + decision.Reason(r).String() + `"}`)
	}
	return x
}

// exchangesOf returns the bid endpoints of c (see config.Config.Endpoints).
func exchangesOf(c *config.Config, auto map[string]*shading.Estimator) []*exchange {
	var xs []*exchange
	for i, e := range c.Endpoints() {
		x := newExchange(e, auto[e.Name])
		x.txPath = uint64(i) & txPathMask
		xs = append(xs, x)
	}
	return xs
}

// shading returns the first-price shading factor of req, a request to
// x, and whether req explores: with autoShading, a share of the
// first-price requests (by a hash of their id) bids its open auction
// unshaded, to learn x's factor (see package shading). Test requests
// never explore.
func (x *exchange) shading(req *openrtb.Request) (float64, bool) {
	if x.auto == nil {
		return x.shade, false
	}
	return x.auto.Shade(), req.AT == 1 && !req.Test && x.auto.Explores(xxhash.Sum64(req.ID))
}

// openBids returns how many of bids are in the open auction (no deal).
func openBids(bids []openrtb.Bid) int {
	n := 0
	for i := range bids {
		if len(bids[i].DealID) == 0 {
			n++
		}
	}
	return n
}

// count records one answer of x.
func (x *exchange) count(r result) { x.results[r].Inc() }

// exchangeNamed returns the endpoint named name, or nil.
func (s *Server) exchangeNamed(name string) *exchange {
	for _, x := range s.exchanges {
		if x.name == name {
			return x
		}
	}
	return nil
}

// exchangeAt returns the endpoint served at path, or nil.
func (s *Server) exchangeAt(path []byte) *exchange {
	for _, x := range s.exchanges {
		if string(path) == x.path {
			return x
		}
	}
	return nil
}
