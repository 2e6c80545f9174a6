// Package server is rtbd's bid listener: it admits, inflates, parses, decides
// and encodes OpenRTB bid requests on fasthttp, answers win, billing and loss
// notices, and implements readiness and drain. The admin listener (metrics,
// health, pprof, reload, explain) is in admin.go.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/rtbd/rtbd/daemon/config"
	"github.com/rtbd/rtbd/daemon/engine"
	"github.com/rtbd/rtbd/daemon/eventlog"
	"github.com/rtbd/rtbd/daemon/notice"
	"github.com/rtbd/rtbd/daemon/peers"
	"github.com/rtbd/rtbd/daemon/stats"
)

// Options are the parts a Server is built from. Config and Engine are
// required; Notices, Events and Queue may be nil.
type Options struct {
	Config  *config.Config
	Engine  *engine.Engine
	Notices *notice.Handler
	Events  *eventlog.Log
	Queue   *stats.QueueProbe
	// Peers, when set, is what the admin listener serves the peers
	// (state.peers): the same Source as the peer listener's, so that a
	// stopping host sees final reads on either. Nil serves the engine's
	// spend alone.
	Peers *peers.Source
	// Deals, when set, counts the bids made through each deal (see
	// [DealMetrics]); give the notice handler the same as its Sink.
	Deals *DealMetrics
}

// Server serves the bid listener. Create it with [New]; its methods are safe
// for concurrent use.
type Server struct {
	cfg     *config.Config
	eng     *engine.Engine
	notices *notice.Handler
	events  *eventlog.Log
	queue   *stats.QueueProbe
	peers   *peers.Source
	deals   *DealMetrics // nil: deals are not counted

	exchanges []*exchange   // the bid endpoints, http.bidPath's first
	tx        *transactions // bidding.transactionWindow; nil when off
	ready     atomic.Bool
	draining  atomic.Bool
	// conns bounds the connections of all the bid listeners together
	// (http.maxConns): each fasthttp Serve bounds only its own.
	conns connLimit

	http *fasthttp.Server

	// decideShift moves the clock the decision sees (pacing, day-parting,
	// the model's hour): 0 in service; NewBench pins that clock to
	// benchInstant, so that what a benchmark measures does not change
	// with the hour it runs at. Deadlines keep the real clock.
	decideShift time.Duration
}

// New returns a server that is not ready yet; call [Server.SetReady] once
// it listens and the first snapshot is loaded.
func New(o Options) *Server {
	s := &Server{
		cfg:       o.Config,
		eng:       o.Engine,
		notices:   o.Notices,
		events:    o.Events,
		queue:     o.Queue,
		peers:     o.Peers,
		deals:     o.Deals,
		exchanges: exchangesOf(o.Config, o.Engine.Shading()),
	}
	if b := o.Config.Bidding; b.TransactionWindow > 0 {
		s.tx = newTransactions(b.TransactionWindow.D(), b.TransactionSlots)
	}
	h := o.Config.HTTP
	s.conns.max = int64(h.MaxConns)
	concurrency := h.MaxConns
	if h.MaxConns > 0 {
		s.conns.spare = int64(spareConns(h.MaxConns))
		concurrency += int(s.conns.spare)
	}
	s.http = &fasthttp.Server{
		Handler:                       s.Handler,
		Name:                          "rtbd",
		ReadTimeout:                   h.ReadTimeout.D(),
		WriteTimeout:                  h.WriteTimeout.D(),
		IdleTimeout:                   h.IdleTimeout.D(),
		MaxConnsPerIP:                 0,
		Concurrency:                   concurrency,
		MaxRequestBodySize:            h.MaxBodyBytes,
		WriteBufferSize:               h.WriteBufferBytes,
		NoDefaultDate:                 true,
		NoDefaultContentType:          true,
		DisablePreParseMultipartForm:  true,
		DisableHeaderNamesNormalizing: false,
		CloseOnShutdown:               true,
		Logger:                        fasthttpLogger{},
		ErrorHandler:                  s.readError,
	}
	return s
}

// readError answers requests that fasthttp could not read: an oversized
// body gets 413 like an oversized inflated body, a slow client 408, and
// anything else a short 400. They count as the exchange's whose path they
// name, and as the default's when their path was not read or is no bid
// endpoint's.
func (s *Server) readError(ctx *fasthttp.RequestCtx, err error) {
	x := s.exchangeAt(ctx.Path())
	if x == nil {
		x = s.exchanges[0]
	}
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		x.count(resTooLarge)
		ctx.Error("request body too large", fasthttp.StatusRequestEntityTooLarge)
	case errors.As(err, &small):
		x.count(resBad)
		ctx.Error("request headers too large", fasthttp.StatusRequestHeaderFieldsTooLarge)
	case isTimeout(err):
		x.count(resBad)
		ctx.Error("request read timeout", fasthttp.StatusRequestTimeout)
	default:
		x.count(resBad)
		ctx.Error("cannot read HTTP request", fasthttp.StatusBadRequest)
	}
	// As every answer of the bid listener (ctx.Error resets the headers).
	ctx.Response.Header.SetCanonical(headerVersion, version26)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Handler routes one request of the bid listener. It is exported for tests
// that drive the server through fasthttputil.NewInmemoryListener.
func (s *Server) Handler(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	if s.conns.over.Load() > 0 && onProbation(ctx.Conn()) {
		s.serveProbation(ctx, path)
		return
	}
	if x := s.exchangeAt(path); x != nil {
		s.serveBid(ctx, x)
	} else if h := s.noticeHandler(path); h != nil {
		h(ctx)
	} else {
		ctx.Error("not found", fasthttp.StatusNotFound)
	}
	if s.draining.Load() {
		// Ask keep-alive clients to reconnect, so they move to whichever
		// host holds the address after this one stops. See DESIGN.md 2.
		ctx.SetConnectionClose()
	}
}

// serveProbation answers the one request of a connection taken past
// http.maxConns (see connLimit): a notice is served, anything else gets
// the 503 it would have had at accept; the connection closes after.
func (s *Server) serveProbation(ctx *fasthttp.RequestCtx, path []byte) {
	if h := s.noticeHandler(path); h != nil {
		h(ctx)
	} else {
		connsRefused.Inc()
		ctx.Error("too many connections", fasthttp.StatusServiceUnavailable)
	}
	ctx.SetConnectionClose() // after: ctx.Error resets the headers
}

// Serve accepts connections on ln until [Server.Shutdown].
func (s *Server) Serve(ln net.Listener) error { return s.http.Serve(s.conns.limit(ln)) }

// SetReady marks the server ready (or not) for /readyz.
func (s *Server) SetReady(v bool) { s.ready.Store(v) }

// Ready reports whether the server takes traffic: data loaded, not draining.
func (s *Server) Ready() bool { return s.ready.Load() && !s.draining.Load() }

// Drain makes /readyz fail at once and asks every client to close its
// connection after the current response, while requests keep being served.
func (s *Server) Drain() { s.draining.Store(true) }

// OpenConnections returns the number of connections the bid listener
// serves: each has at most one request in flight.
func (s *Server) OpenConnections() int32 { return s.http.GetOpenConnectionsCount() }

// Shutdown stops accepting, waits for in-flight requests until ctx ends,
// and closes every connection (see [Shutdown]).
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	return Shutdown(ctx, s.http)
}

// Shutdown is srv.ShutdownWithContext that returns within a millisecond
// of the last connection closing. fasthttp looks every 100 ms, and with
// socket activation the next process starts only when this one has
// exited: connections wait in the accept queue meanwhile. fasthttp counts
// each running Serve loop as an open connection, so zero open means every
// listener is closed, every accepted connection is done and no handler
// runs; fasthttp's own call then returns at its next tick, unobserved.
func Shutdown(ctx context.Context, srv *fasthttp.Server) error {
	done := make(chan error, 1)
	go func() { done <- srv.ShutdownWithContext(ctx) }()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			if srv.GetOpenConnectionsCount() == 0 {
				return nil
			}
		}
	}
}

func (s *Server) noticeHandler(path []byte) fasthttp.RequestHandler {
	if s.notices == nil {
		return nil
	}
	return s.notices.Route(path)
}

// fasthttpLogger routes fasthttp's own messages (connection errors, mostly
// caused by clients) to slog at debug level, throttled.
type fasthttpLogger struct{}

var fasthttpThrottle = stats.NewThrottle(time.Second)

func (fasthttpLogger) Printf(format string, args ...any) {
	if n, ok := fasthttpThrottle.Allow(); ok {
		slog.Debug("fasthttp", "msg", format, "args", args, "suppressed", n)
	}
}
