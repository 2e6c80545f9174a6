package server

import (
	"bytes"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"github.com/rtbd/rtbd/daemon/decision"
	"github.com/rtbd/rtbd/daemon/eventlog"
	"github.com/rtbd/rtbd/daemon/openrtb"
	"github.com/rtbd/rtbd/daemon/stats"
)

var (
	requestsBid         = metrics.NewCounter(`rtbd_bid_requests_total{result="bid"}`)
	requestsNoBid       = metrics.NewCounter(`rtbd_bid_requests_total{result="nobid"}`)
	requestsBad         = metrics.NewCounter(`rtbd_bid_requests_total{result="bad_request"}`)
	requestsTooLarge    = metrics.NewCounter(`rtbd_bid_requests_total{result="too_large"}`)
	requestsBadEncoding = metrics.NewCounter(`rtbd_bid_requests_total{result="unsupported_encoding"}`)
	requestsMethod      = metrics.NewCounter(`rtbd_bid_requests_total{result="method_not_allowed"}`)
	requestsShed        = metrics.NewCounter(`rtbd_bid_requests_total{result="shed"}`)
	requestsTimeout     = metrics.NewCounter(`rtbd_bid_requests_total{result="timeout"}`)
	bidsTotal           = metrics.NewCounter(`rtbd_bids_total`)
	gzipRequests        = metrics.NewCounter(`rtbd_gzip_requests_total`)
	gzipResponses       = metrics.NewCounter(`rtbd_gzip_responses_total`)
	privacyNoPersonal   = metrics.NewCounter(`rtbd_privacy_restricted_total{restriction="no_personal_data"}`)
	privacyNoDeviceID   = metrics.NewCounter(`rtbd_privacy_restricted_total{restriction="no_device_id"}`)
	privacyNoBid        = metrics.NewCounter(`rtbd_privacy_restricted_total{restriction="no_bid"}`)
	privacyBadConsent   = metrics.NewCounter(`rtbd_privacy_bad_consent_total`)

	requestDuration  = stats.NewHistogram(`rtbd_request_duration_seconds{path="bid"}`)
	decisionDuration = stats.NewHistogram(`rtbd_decision_duration_seconds`)

	// noBidReasons counts no-bids by reason; indexed by decision.Reason.
	noBidReasons = newReasonCounters()

	badRequestLog = stats.NewThrottle(5 * time.Second)
)

func newReasonCounters() []*metrics.Counter {
	cs := make([]*metrics.Counter, decision.NumReasons)
	for r := range cs {
		cs[r] = metrics.NewCounter(`rtbd_nobid_total{reason="` + decision.Reason(r).String() + `"}`)
	}
	return cs
}

var (
	contentTypeJSON = []byte("application/json")
	headerVersion   = []byte("X-Openrtb-Version")
	version26       = []byte("2.6")
	strGzip         = []byte("gzip")
	strIdentity     = []byte("identity")
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

// serveBid answers a bid request; with billOnWin (an endpoint of
// http.billOnWinBidPaths) its bids are billed at their win notice.
func (s *Server) serveBid(ctx *fasthttp.RequestCtx, billOnWin bool) {
	start := ctx.Time() // stamped by fasthttp just before the handler
	if start.IsZero() {
		start = time.Now() // a RequestCtx not served by fasthttp.Server
	}
	// Every answer counts, fast ones (shed, 400) included.
	defer requestDuration.UpdateSince(start)
	if !ctx.IsPost() {
		requestsMethod.Inc()
		ctx.Error("bid requests must be POSTed", fasthttp.StatusMethodNotAllowed)
		ctx.Response.Header.Set("Allow", "POST")
		return
	}
	// How long requests wait before their handler: the deadline counts
	// from arrival, before that wait.
	age := s.queue.Age(start)
	if age > s.cfg.Shedding.MaxQueueAge.D() {
		s.shed(ctx)
		return
	}
	c := getBidCtx()
	defer putBidCtx(c)
	body, ok := s.readBody(ctx, c)
	if !ok {
		return
	}
	if err := c.req.Parse(body); err != nil {
		s.badRequest(ctx, err)
		return
	}
	s.decide(ctx, c, start, age, billOnWin)
}

// readBody returns the request body, inflated when it is gzip-encoded, or
// answers the request with 413/415/400 and returns false.
func (s *Server) readBody(ctx *fasthttp.RequestCtx, c *bidCtx) ([]byte, bool) {
	body := ctx.Request.Body()
	enc := ctx.Request.Header.ContentEncoding()
	switch {
	case len(enc) == 0 || bytes.EqualFold(enc, strIdentity):
		return body, true
	case bytes.EqualFold(enc, strGzip):
		gzipRequests.Inc()
		out, err := c.inf.inflate(body, s.cfg.HTTP.MaxBodyBytes)
		if errors.Is(err, errTooLarge) {
			requestsTooLarge.Inc()
			ctx.Error("request body too large after gzip inflation", fasthttp.StatusRequestEntityTooLarge)
			return nil, false
		}
		if err != nil {
			requestsBad.Inc()
			ctx.Error("cannot inflate gzip request body", fasthttp.StatusBadRequest)
			return nil, false
		}
		return out, true
	default:
		requestsBadEncoding.Inc()
		ctx.Error("unsupported Content-Encoding: use gzip or none", fasthttp.StatusUnsupportedMediaType)
		return nil, false
	}
}

// decide runs the decision for a parsed request and writes the answer.
func (s *Server) decide(ctx *fasthttp.RequestCtx, c *bidCtx, start time.Time, age time.Duration, billOnWin bool) {
	reason := decision.ReasonInvalid
	if err := c.req.Validate(); err == nil {
		if applyPrivacy(&c.req, s.cfg.Bidding.GDPRVendorID) {
			reason = s.runDecision(c, start, age)
		} else {
			reason = decision.ReasonNoConsent
		}
	}
	if reason != decision.ReasonBid {
		s.noBid(ctx, c, reason, start)
		return
	}
	requestsBid.Inc()
	bidsTotal.Add(len(c.resp.Bids))
	c.resp.BillOnWin = billOnWin
	c.out = openrtb.AppendResponse(c.out[:0], &c.resp)
	s.writeJSON(ctx, c)
	s.logBids(c, start)
}

// applyPrivacy removes from the request view the personal data its
// regulatory signals (coppa, gdpr and its TCF consent, us_privacy, gpp,
// lmt) forbid, so that targeting, frequency caps and the event log never
// see it. It returns false when they forbid bidding at all.
func applyPrivacy(req *openrtb.Request, vendor int) bool {
	p := req.Privacy(vendor)
	if p == 0 {
		return true
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

// runDecision applies the tmax deadline and calls the decision engine.
// tmax counts from the request's arrival: start, fasthttp's stamp, less
// the queue age the probe estimates for it.
func (s *Server) runDecision(c *bidCtx, start time.Time, age time.Duration) decision.Reason {
	tmax := s.cfg.Bidding.DefaultTmax.D()
	if c.req.TMax > 0 {
		tmax = time.Duration(c.req.TMax) * time.Millisecond
	}
	deadline := start.Add(tmax - s.cfg.Bidding.MinTimeLeft.D() - age)
	now := time.Now()
	if !now.Before(deadline) {
		requestsTimeout.Inc()
		return decision.ReasonDeadline
	}
	c.dctx.Deadline = deadline
	snap := s.eng.Snapshot()
	reason := snap.Decide(c.dctx, &c.req, now.Add(s.decideShift), &c.resp)
	decisionDuration.UpdateSince(now)
	return reason
}

func (s *Server) noBid(ctx *fasthttp.RequestCtx, c *bidCtx, reason decision.Reason, start time.Time) {
	requestsNoBid.Inc()
	noBidReasons[reason].Inc()
	s.logNoBid(c, reason, start)
	if !s.cfg.Bidding.NoBidBody {
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
	ctx.Response.Header.SetCanonical(headerVersion, version26)
	if min := s.cfg.HTTP.GzipMinBytes; min > 0 && len(c.out) >= min && ctx.Request.Header.HasAcceptEncodingBytes(strGzip) {
		ctx.SetBody(c.def.deflate(c.out))
		ctx.Response.Header.SetContentEncodingBytes(strGzip)
		gzipResponses.Inc()
		return
	}
	// fasthttp takes the answer as it is and c.out takes the buffer it
	// held, which it no longer uses: the answer is not copied once more.
	c.out = ctx.Response.SwapBody(c.out)[:0]
}

func (s *Server) shed(ctx *fasthttp.RequestCtx) {
	requestsShed.Inc()
	if s.cfg.Shedding.Status == fasthttp.StatusServiceUnavailable {
		ctx.Error("overloaded", fasthttp.StatusServiceUnavailable)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

func (s *Server) badRequest(ctx *fasthttp.RequestCtx, err error) {
	requestsBad.Inc()
	msg := err.Error()
	if n, ok := badRequestLog.Allow(); ok {
		slog.Info("bad bid request", "remote", ctx.RemoteAddr().String(), "err", msg, "suppressed", n)
	}
	ctx.Error(msg, fasthttp.StatusBadRequest)
}

// logBids pushes one event record per bid. The ring never blocks.
func (s *Server) logBids(c *bidCtx, start time.Time) {
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
		s.events.Append(&r) // copied; the record stays on the stack
	}
}

func (s *Server) logNoBid(c *bidCtx, reason decision.Reason, start time.Time) {
	if s.events == nil {
		return
	}
	r := eventlog.Record{TimeUnixNano: start.UnixNano(), Kind: eventlog.KindNoBid, Reason: uint8(reason)}
	r.SetRequestID(c.req.ID)
	s.events.Append(&r)
}
