package server

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/cespare/xxhash/v2"
	"github.com/valyala/fasthttp"

	"github.com/rtbd/rtbd/daemon/decision"
	"github.com/rtbd/rtbd/daemon/eventlog"
	"github.com/rtbd/rtbd/daemon/openrtb"
	"github.com/rtbd/rtbd/daemon/stats"
)

var (
	gzipRequests      = metrics.NewCounter(`rtbd_gzip_requests_total`)
	gzipResponses     = metrics.NewCounter(`rtbd_gzip_responses_total`)
	privacyNoPersonal = metrics.NewCounter(`rtbd_privacy_restricted_total{restriction="no_personal_data"}`)
	privacyNoDeviceID = metrics.NewCounter(`rtbd_privacy_restricted_total{restriction="no_device_id"}`)
	privacyNoBid      = metrics.NewCounter(`rtbd_privacy_restricted_total{restriction="no_bid"}`)
	privacyBadConsent = metrics.NewCounter(`rtbd_privacy_bad_consent_total`)

	decisionDuration = stats.NewHistogram(`rtbd_decision_duration_seconds`)

	badRequestLog = stats.NewThrottle(5 * time.Second)
)

var (
	contentTypeJSON = []byte("application/json")
	headerVersion   = []byte("X-Openrtb-Version")
	// headerAcceptEncoding is fasthttp.HeaderAcceptEncoding, canonical.
	headerAcceptEncoding = []byte(fasthttp.HeaderAcceptEncoding)
	version26            = []byte("2.6")
	strGzip              = []byte("gzip")
	strIdentity          = []byte("identity")
)

// bidCtx is the per-request working set, pooled so that steady-state
// requests do not allocate. Nothing in it may outlive one request.
type bidCtx struct {
	req  openrtb.Request
	resp openrtb.Response
	dctx *decision.Ctx
	inf  inflater
	def  deflater
	out  []byte // encoded response
}

func getBidCtx() *bidCtx {
	if v := bidCtxPool.Get(); v != nil {
		return v.(*bidCtx)
	}
	return &bidCtx{dctx: decision.AcquireCtx()}
}

func putBidCtx(c *bidCtx) {
	c.req.Reset()
	c.resp.Reset()
	c.out = c.out[:0]
	bidCtxPool.Put(c)
}

var bidCtxPool sync.Pool

// serveBid answers a bid request sent to exchange x's endpoint, and
// counts its duration and whether it ended after the request's tmax.
func (s *Server) serveBid(ctx *fasthttp.RequestCtx, x *exchange) {
	start := ctx.Time() // stamped by fasthttp just before the handler
	if start.IsZero() {
		start = time.Now() // a RequestCtx not served by fasthttp.Server
	}
	budget := s.answerBid(ctx, x, start)
	// Every answer speaks 2.6: a no-bid and an error too (ctx.Error
	// resets the headers, so this comes after).
	ctx.Response.Header.SetCanonical(headerVersion, version26)
	// Every answer counts, fast ones (shed, 400) included.
	d := time.Since(start)
	x.duration.Update(d)
	if d > budget {
		x.late.Inc()
	}
}

// answerBid answers the request and returns how long after start its
// answer was due: its tmax (bidding.defaultTmax when it has none or was
// not read) less the time it waited before start.
func (s *Server) answerBid(ctx *fasthttp.RequestCtx, x *exchange, start time.Time) time.Duration {
	if !ctx.IsPost() {
		x.count(resMethod)
		ctx.Error("bid requests must be POSTed", fasthttp.StatusMethodNotAllowed)
		ctx.Response.Header.Set("Allow", "POST")
		return s.cfg.Bidding.DefaultTmax.D()
	}
	// How long requests wait before their handler: the deadline counts
	// from arrival, before that wait.
	age := s.queue.Age(start)
	unread := s.cfg.Bidding.DefaultTmax.D() - age // due time of a request not parsed
	if age > s.cfg.Shedding.MaxQueueAge.D() {
		s.shed(ctx, x)
		return unread
	}
	// The server normalises header names as it reads them (server.go:
	// DisableHeaderNamesNormalizing false), and both names here are in
	// that canonical form: PeekCanonical finds what Peek would, without
	// copying and normalising the name first (some 500 instructions each).
	countVersion(ctx.Request.Header.PeekCanonical(headerVersion))
	c := getBidCtx()
	defer putBidCtx(c)
	body, ok := s.readBody(ctx, c, x)
	if !ok {
		return unread
	}
	if err := c.req.Parse(body); err != nil {
		if pe, ok := errors.AsType[*openrtb.ParseError](err); ok && pe.Limit {
			s.overLimits(ctx, x, err)
		} else {
			s.badRequest(ctx, x, err)
		}
		return unread
	}
	s.decide(ctx, c, x, start, age)
	return s.tmax(&c.req) - age
}

// versionCounts counts bid requests by the OpenRTB version their
// x-openrtb-version header declares: which exchanges still send 2.5, or
// an older one, and whose adapters send none. The header is never
// required, and the body is read the same whatever it says (2.5 and 2.6
// shapes alike). Versions 2.0 to 2.6 are 0-6; then none and other.
var versionCounts = func() (c [9]*metrics.Counter) {
	for i := range 7 {
		c[i] = metrics.NewCounter(`rtbd_bid_request_versions_total{version="2.` + string(rune('0'+i)) + `"}`)
	}
	c[7] = metrics.NewCounter(`rtbd_bid_request_versions_total{version="none"}`)
	c[8] = metrics.NewCounter(`rtbd_bid_request_versions_total{version="other"}`)
	return c
}()

// countVersion counts a request whose x-openrtb-version is v.
func countVersion(v []byte) {
	switch {
	case len(v) == 0:
		versionCounts[7].Inc()
	case len(v) == 3 && v[0] == '2' && v[1] == '.' && v[2] >= '0' && v[2] <= '6':
		versionCounts[v[2]-'0'].Inc()
	default:
		versionCounts[8].Inc()
	}
}

// maxTmax bounds a request's tmax: no exchange waits a minute, and a
// larger value, multiplied into a Duration, could wrap negative (a tmax
// of 10^13 answered at once with a timeout no-bid).
const maxTmax = time.Minute

// tmax is the time the exchange gives req from its arrival.
func (s *Server) tmax(req *openrtb.Request) time.Duration {
	if req.TMax > 0 {
		return time.Duration(min(int64(req.TMax), int64(maxTmax/time.Millisecond))) * time.Millisecond
	}
	return s.cfg.Bidding.DefaultTmax.D()
}

// readBody returns the request body, inflated when it is gzip-encoded, or
// answers the request with 413/415/400 and returns false.
func (s *Server) readBody(ctx *fasthttp.RequestCtx, c *bidCtx, x *exchange) ([]byte, bool) {
	body := ctx.Request.Body()
	gzip, ok := requestCoding(ctx.Request.Header.ContentEncoding())
	switch {
	case ok && !gzip:
		return body, true
	case ok:
		gzipRequests.Inc()
		out, err := c.inf.inflate(body, s.cfg.HTTP.MaxBodyBytes)
		if errors.Is(err, errTooLarge) {
			x.count(resTooLarge)
			ctx.Error("request body too large after gzip inflation", fasthttp.StatusRequestEntityTooLarge)
			return nil, false
		}
		if err != nil {
			x.count(resBad)
			ctx.Error("cannot inflate gzip request body", fasthttp.StatusBadRequest)
			return nil, false
		}
		return out, true
	default:
		x.count(resBadEncoding)
		ctx.Error("unsupported Content-Encoding: use gzip or none", fasthttp.StatusUnsupportedMediaType)
		return nil, false
	}
}

// decide runs the decision for a parsed request and writes the answer.
func (s *Server) decide(ctx *fasthttp.RequestCtx, c *bidCtx, x *exchange, start time.Time, age time.Duration) {
	reason := decision.ReasonInvalid
	if err := c.req.Validate(); err == nil {
		if applyPrivacy(&c.req, s.cfg.Bidding.GDPRVendorID, x.gdprConsent) {
			reason = s.runDecision(c, x, start, age)
		} else {
			reason = decision.ReasonNoConsent
		}
	}
	if reason != decision.ReasonBid {
		s.noBid(ctx, c, x, reason, start)
		return
	}
	x.count(resBid)
	x.bids.Add(len(c.resp.Bids))
	c.resp.BillOnWin = x.billOnWin
	c.resp.Exchange = x.query
	c.resp.MinToWin = x.minToWin
	if c.dctx.Explore { // the open-auction bids went out unshaded
		c.resp.Explore = true
		x.auto.Explored(openBids(c.resp.Bids))
	}
	c.out = openrtb.AppendResponse(c.out[:0], &c.resp)
	s.writeJSON(ctx, c)
	s.logBids(c, x, start)
	for i := range c.resp.Bids {
		s.deals.countBid(c.resp.Bids[i].DealID)
	}
}

// applyPrivacy removes from the request view the personal data its
// regulatory signals (coppa, gdpr and its TCF consent, us_privacy, gpp,
// lmt) forbid, so that targeting, frequency caps and the event log never
// see it. It returns false when they forbid bidding at all: with
// requireTCF (bidding.gdprRequireConsent), also under GDPR without a TCF
// string that decodes.
func applyPrivacy(req *openrtb.Request, vendor int, requireTCF bool) bool {
	p := req.Privacy(vendor)
	if p == 0 {
		return true
	}
	if requireTCF && p&openrtb.NoTCF != 0 {
		p |= openrtb.NoBid
	}
	if p&openrtb.BadConsent != 0 {
		privacyBadConsent.Inc()
	}
	switch {
	case p&openrtb.NoBid != 0:
		privacyNoBid.Inc()
	case p&openrtb.NoPersonalData != 0:
		privacyNoPersonal.Inc()
	default:
		privacyNoDeviceID.Inc()
	}
	req.Scrub(p)
	return p&openrtb.NoBid == 0
}

// runDecision applies the tmax deadline, the deadman switch
// (data.deadman) and the deduplication of transactions
// (bidding.transactionWindow), and calls the decision engine.
// tmax counts from the request's arrival: start, fasthttp's stamp, less
// the queue age the probe estimates for it.
func (s *Server) runDecision(c *bidCtx, x *exchange, start time.Time, age time.Duration) decision.Reason {
	deadline := start.Add(s.tmax(&c.req) - s.cfg.Bidding.MinTimeLeft.D() - age)
	now := time.Now()
	if !now.Before(deadline) {
		x.count(resTimeout)
		return decision.ReasonDeadline
	}
	if s.eng.Halted(now) {
		return decision.ReasonDeadman
	}
	var tid uint64
	dedupe := false
	if s.tx != nil { // off by default: keep the check inline
		if tid, dedupe = s.transaction(&c.req); dedupe && s.tx.seen(tid, x.txPath, now) {
			return decision.ReasonDuplicate
		}
	}
	c.dctx.Deadline = deadline
	c.dctx.Shade, c.dctx.Explore = x.shading(&c.req)
	snap := s.eng.Snapshot()
	reason := snap.Decide(c.dctx, &c.req, now.Add(s.decideShift), &c.resp)
	decisionDuration.UpdateSince(now)
	// Only a bid claims the transaction: a path that got none leaves the
	// opportunity to the others. Another path may have claimed it while
	// this one decided; then this bid is not sent.
	if reason == decision.ReasonBid && dedupe && !s.tx.claim(tid, x.txPath, now) {
		return decision.ReasonDuplicate
	}
	return reason
}

// transaction returns the hash of req's transaction id and whether req is
// deduplicated by it: bidding.transactionWindow is on, and req has a
// source.tid that its source.ext.tidt does not call non-unique.
func (s *Server) transaction(req *openrtb.Request) (uint64, bool) {
	if s.tx == nil || len(req.Source.TID) == 0 || req.Source.TIDType == 2 {
		return 0, false
	}
	return xxhash.Sum64(req.Source.TID), true
}

func (s *Server) noBid(ctx *fasthttp.RequestCtx, c *bidCtx, x *exchange, reason decision.Reason, start time.Time) {
	x.count(resNoBid)
	x.reasons[reason].Inc()
	s.logNoBid(c, x, reason, start)
	if !x.noBidBody {
		ctx.SetStatusCode(fasthttp.StatusNoContent)
		return
	}
	c.out = openrtb.AppendNoBid(c.out[:0], c.req.ID, reason.NBR())
	s.writeJSON(ctx, c)
}

// writeJSON sends c.out as the 200 response body, gzipped when the client
// accepts it and the body is long enough to be worth it.
func (s *Server) writeJSON(ctx *fasthttp.RequestCtx, c *bidCtx) {
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.Response.Header.SetContentTypeBytes(contentTypeJSON)
	if min := s.cfg.HTTP.GzipMinBytes; min > 0 && len(c.out) >= min && acceptsGzip(ctx.Request.Header.PeekCanonical(headerAcceptEncoding)) {
		ctx.SetBody(c.def.deflate(c.out))
		ctx.Response.Header.SetContentEncodingBytes(strGzip)
		gzipResponses.Inc()
		return
	}
	// fasthttp takes the answer as it is and c.out takes the buffer it
	// held, which it no longer uses: the answer is not copied once more.
	c.out = ctx.Response.SwapBody(c.out)[:0]
}

func (s *Server) shed(ctx *fasthttp.RequestCtx, x *exchange) {
	x.count(resShed)
	if s.cfg.Shedding.Status == fasthttp.StatusServiceUnavailable {
		ctx.Error("overloaded", fasthttp.StatusServiceUnavailable)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// overLimits answers a request with more of something than the parser
// keeps (imps, badv entries: openrtb.ParseError.Limit) with a no-bid: it
// is valid OpenRTB, and exchanges count a 400 as the bidder's error.
func (s *Server) overLimits(ctx *fasthttp.RequestCtx, x *exchange, err error) {
	x.count(resOverLimits)
	if n, ok := badRequestLog.Allow(); ok {
		slog.Info("bid request over the parser's limits; no bid", "remote", ctx.RemoteAddr().String(), "err", err.Error(), "suppressed", n)
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

func (s *Server) badRequest(ctx *fasthttp.RequestCtx, x *exchange, err error) {
	x.count(resBad)
	msg := err.Error()
	if n, ok := badRequestLog.Allow(); ok {
		slog.Info("bad bid request", "remote", ctx.RemoteAddr().String(), "err", msg, "suppressed", n)
	}
	ctx.Error(msg, fasthttp.StatusBadRequest)
}

// logBids pushes one event record per bid, made on exchange x. The ring
// never blocks.
func (s *Server) logBids(c *bidCtx, x *exchange, start time.Time) {
	if s.events == nil {
		return
	}
	for i := range c.resp.Bids {
		b := &c.resp.Bids[i]
		r := eventlog.Record{TimeUnixNano: start.UnixNano(), Kind: eventlog.KindBid, Price: b.Price}
		copy(r.Cur[:], c.resp.Cur)
		r.SetRequestID(c.req.ID)
		r.SetBidID(b.ID)
		r.SetCampaignID(b.CampaignID)
		r.SetImpID(b.ImpID)
		r.SetExchangeString(x.name)
		r.SetDealID(b.DealID)
		s.events.Append(&r) // copied; the record stays on the stack
	}
}

func (s *Server) logNoBid(c *bidCtx, x *exchange, reason decision.Reason, start time.Time) {
	if s.events == nil {
		return
	}
	r := eventlog.Record{TimeUnixNano: start.UnixNano(), Kind: eventlog.KindNoBid, Reason: uint8(reason)}
	r.SetRequestID(c.req.ID)
	r.SetExchangeString(x.name)
	s.events.Append(&r)
}
