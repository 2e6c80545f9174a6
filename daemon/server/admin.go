package server

import (
	"fmt"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	// Registers rtbd_build_info on /metrics.
	_ "github.com/rtbd/rtbd/daemon/buildinfo"
	"github.com/rtbd/rtbd/daemon/decision"
	"github.com/rtbd/rtbd/daemon/openrtb"
	"github.com/rtbd/rtbd/daemon/peers"
	"github.com/rtbd/rtbd/daemon/secret"
)

// Reloader reloads the daemon's data; main passes a function that also tells
// systemd (RELOADING=1, READY=1).
type Reloader func() error

// Admin serves the admin listener: /metrics, /healthz, /readyz,
// /debug/pprof/, POST /admin/reload, GET|POST /admin/heartbeat, GET|POST
// /admin/explain, GET
// /state/spend (this host's own spend, for state.peers) and GET
// /state/bills (the billing notices it processed, for the same).
// Keep it on loopback or a management network. With tokens
// (admin.tokenFile), what changes or costs something asks for one: the
// reload, the heartbeat's POST, explain and pprof, and /metrics with
// admin.metricsNeedToken. The state asks for
// state.peerTokenFile's (see [peers.Source]).
type Admin struct {
	srv     *Server
	reload  Reloader
	tokens  *secret.Tokens
	http    *fasthttp.Server
	peerSrc *peers.Source
}

// NewAdmin returns the admin listener's server for srv, asking for one
// of tokens (none, or nil: nothing is asked for).
func NewAdmin(srv *Server, reload Reloader, tokens *secret.Tokens) *Admin {
	a := &Admin{srv: srv, reload: reload, tokens: tokens, peerSrc: srv.peers}
	if a.peerSrc == nil {
		a.peerSrc = &peers.Source{State: srv.eng.State(), HostID: srv.cfg.Bidding.HostID}
	}
	a.http = &fasthttp.Server{
		Handler:      a.Handler,
		Name:         "rtbd-admin",
		ReadTimeout:  10 * time.Second,
		WriteTimeout: 60 * time.Second, // pprof profiles take 30 s by default
		Logger:       fasthttpLogger{},
	}
	return a
}

// HTTP returns the underlying fasthttp server (for Serve and Shutdown).
func (a *Admin) HTTP() *fasthttp.Server { return a.http }

// Handler routes one admin request.
func (a *Admin) Handler(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	switch {
	case path == "/metrics":
		if a.srv.cfg.Admin.MetricsNeedToken && !a.authorized(ctx) {
			return
		}
		ctx.SetContentType("text/plain; version=0.0.4")
		metrics.WritePrometheus(ctx, true)
	case path == "/healthz":
		ctx.SetBodyString("ok\n")
	case path == "/readyz":
		a.readyz(ctx)
	case strings.HasPrefix(path, "/debug/pprof"):
		if a.authorized(ctx) {
			pprofHandler(ctx)
		}
	case path == "/admin/reload":
		if a.authorized(ctx) {
			a.handleReload(ctx)
		}
	case path == "/admin/explain":
		if a.authorized(ctx) {
			a.explain(ctx)
		}
	case path == "/admin/heartbeat":
		// GET is keepalived's check, which sends no header.
		if ctx.IsGet() || ctx.IsHead() || a.authorized(ctx) {
			a.heartbeat(ctx)
		}
	case a.peerSrc.Serve(ctx):
	default:
		ctx.Error("not found; try /metrics, /healthz, /readyz, /debug/pprof/, /admin/reload, /admin/heartbeat, /admin/explain, "+peers.Path+", "+peers.BillsPath+", "+peers.ReadyPath, fasthttp.StatusNotFound)
	}
}

var unauthorized = metrics.NewCounter(`rtbd_unauthorized_requests_total{token="admin"}`)

// authorized reports whether the request carries one of the tokens, and
// answers 401 when it does not.
func (a *Admin) authorized(ctx *fasthttp.RequestCtx) bool {
	if a.tokens.Check(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)) == secret.Allowed {
		return true
	}
	unauthorized.Inc()
	ctx.Error("send a token of admin.tokenFile: Authorization: Bearer TOKEN\n", fasthttp.StatusUnauthorized)
	ctx.Response.Header.Set(fasthttp.HeaderWWWAuthenticate, `Bearer realm="rtbd admin"`) // after Error, which resets the headers
	return false
}

// pprofHandler serves net/http/pprof as registered on DefaultServeMux, so
// the index at /debug/pprof/ and its relative links work as with net/http.
var pprofHandler = fasthttpadaptor.NewFastHTTPHandler(http.DefaultServeMux)

func (a *Admin) readyz(ctx *fasthttp.RequestCtx) {
	if a.srv.Ready() {
		ctx.SetBodyString("ready\n")
		return
	}
	ctx.Error("not ready\n", fasthttp.StatusServiceUnavailable)
}

func (a *Admin) handleReload(ctx *fasthttp.RequestCtx) {
	if !ctx.IsPost() {
		ctx.Error("use POST", fasthttp.StatusMethodNotAllowed)
		return
	}
	if err := a.reload(); err != nil {
		slog.Error("reload failed; still serving the previous snapshot", "err", err)
		ctx.Error("reload failed; still serving the previous snapshot: "+err.Error()+"\n", fasthttp.StatusUnprocessableEntity)
		return
	}
	ctx.SetBodyString("reloaded\n")
}

// heartbeat serves the deadman switch (data.deadman): POST is a sign of
// life from the control plane, and GET answers 503 while the switch has
// tripped (a keepalived check can lower the host's priority with it).
// Both answer 200 when the switch is off.
func (a *Admin) heartbeat(ctx *fasthttp.RequestCtx) {
	now := time.Now()
	switch {
	case ctx.IsPost():
		a.srv.eng.Beat(now)
	case !ctx.IsGet() && !ctx.IsHead():
		ctx.Error("use POST (a sign of life) or GET (the switch's state)", fasthttp.StatusMethodNotAllowed)
		return
	}
	timeout, last := a.srv.eng.Deadman()
	switch {
	case timeout == 0:
		ctx.SetBodyString("bidding; data.deadman is off\n")
	case a.srv.eng.Halted(now):
		ctx.Error(fmt.Sprintf("not bidding: no reload or heartbeat for %s (data.deadman %s)\n",
			now.Sub(last).Round(time.Millisecond), timeout), fasthttp.StatusServiceUnavailable)
	default:
		ctx.SetBodyString(fmt.Sprintf("bidding until %s unless a reload or heartbeat comes first (data.deadman %s)\n",
			last.Add(timeout).UTC().Format(time.RFC3339Nano), timeout))
	}
}

// explain decides a request with tracing on and returns the trace as JSON:
// which campaigns were candidates, the filter that removed each, the score
// and price, and the response that would have been sent. The request is the
// POST body or the "request" query argument of a GET. It is decided as
// the exchange the "exchange" query argument names would have it
// (first-price shading; "default", http.bidPath's, when absent), never
// exploring. Nothing is spent, and no transaction
// (bidding.transactionWindow) is claimed.
func (a *Admin) explain(ctx *fasthttp.RequestCtx) {
	body := ctx.PostBody()
	if ctx.IsGet() {
		body = ctx.QueryArgs().Peek("request")
	}
	if len(body) == 0 {
		ctx.Error("send a bid request as the POST body or the request= query argument\n", fasthttp.StatusBadRequest)
		return
	}
	x := a.srv.exchanges[0]
	if name := ctx.QueryArgs().Peek("exchange"); len(name) > 0 {
		if x = a.srv.exchangeNamed(string(name)); x == nil {
			ctx.Error(fmt.Sprintf("unknown exchange %q: want default or an exchanges[].name\n", name), fasthttp.StatusBadRequest)
			return
		}
	}
	var req openrtb.Request
	if err := req.Parse(body); err != nil {
		ctx.Error(err.Error()+"\n", fasthttp.StatusBadRequest)
		return
	}
	dctx := decision.AcquireCtx()
	defer decision.ReleaseCtx(dctx)
	dctx.Trace = &decision.Trace{}
	dctx.Deadline = time.Now().Add(time.Second)
	dctx.Shade, _ = x.shading(&req) // the exchange's factor, never exploring
	var resp openrtb.Response
	resp.Reset()
	reason := decision.ReasonInvalid
	if err := req.Validate(); err == nil {
		reason = decision.ReasonNoConsent
		if applyPrivacy(&req, a.srv.cfg.Bidding.GDPRVendorID, x.gdprConsent) {
			reason = decision.ReasonDeadman
			now := time.Now()
			if !a.srv.eng.Halted(now) {
				reason = decision.ReasonDuplicate
				if tid, dedupe := a.srv.transaction(&req); !dedupe || !a.srv.tx.seen(tid, txAnyPath, now) {
					reason = a.srv.eng.Snapshot().Decide(dctx, &req, now, &resp)
				}
			}
		}
	}
	out := append([]byte(`{"reason":"`), reason.String()...)
	out = append(out, `","response":`...)
	if reason == decision.ReasonBid {
		out = openrtb.AppendResponse(out, &resp)
	} else {
		out = append(out, "null"...)
	}
	out = append(out, `,"trace":`...)
	out = dctx.Trace.AppendJSON(out)
	out = append(out, "}\n"...)
	ctx.SetContentType("application/json")
	ctx.SetBody(out)
}
