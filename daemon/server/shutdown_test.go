package server

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// TestShutdownWaitsForInFlight holds a request in its handler while
// Shutdown runs: Shutdown must close the listener, keep waiting while the
// handler runs, and return only after the answer was written.
func TestShutdownWaitsForInFlight(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var finished atomic.Bool
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		close(entered)
		<-release
		ctx.SetBodyString("done")
		finished.Store(true)
	}}
	ln := fasthttputil.NewInmemoryListener()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	client := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}
	answered := make(chan string, 1)
	go func() {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI("http://rtbd/x")
		if err := client.Do(req, resp); err != nil {
			answered <- "error: " + err.Error()
			return
		}
		answered <- string(resp.Body())
	}()
	<-entered

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- Shutdown(ctx, srv) }()
	if err := <-served; err != nil { // the listener is closed
		t.Fatalf("Serve: %v", err)
	}
	// A window of fifty of Shutdown's 1 ms looks to observe that it keeps
	// waiting (nothing is ordered by it).
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned (%v) while a request was in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if !finished.Load() {
		t.Fatal("Shutdown returned before the handler finished")
	}
	if got := <-answered; got != "done" {
		t.Fatalf("the in-flight request got %q; want its answer", got)
	}
}
