package peers

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/rtbd/rtbd/daemon/secret"
)

// TestWaitReady: WaitReady returns once every peer answers ready in the
// same round: a peer that loads (503) is waited for, one from before
// ReadyPath (404) counts as ready, and a round's findings say which is
// not and why. A peer answers without a token (one whose tokens were
// rotated apart from this host's is still waited for as it loads); one
// that refuses (a proxy), or that nothing listens for, is not ready, and
// ending the wait names it.
func TestWaitReady(t *testing.T) {
	a, old := newHost(t), newHost(t)
	var ready atomic.Bool
	a.serve(t, (&Source{State: a.st, HostID: a.id, Ready: ready.Load, Tokens: secret.NewTokens([]string{tokOld})}).Handler)
	old.serve(t, func(ctx *fasthttp.RequestCtx) { ctx.Error("not found", fasthttp.StatusNotFound) })

	var rounds [][]PeerReadiness
	bounded, stop := context.WithTimeout(context.Background(), 10*time.Second) // a failure does not hang
	defer stop()
	err := WaitReady(bounded, []string{a.url, old.url + "/"}, nil, 10*time.Millisecond, func(f []PeerReadiness) {
		rounds = append(rounds, append([]PeerReadiness(nil), f...))
		if len(rounds) == 2 {
			ready.Store(true) // a has loaded its data
		}
	})
	if err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	if len(rounds) != 3 {
		t.Fatalf("%d rounds: %+v; want 2 with a loading, then 1 with both ready", len(rounds), rounds)
	}
	for i, r := range rounds {
		if r[0].Ready != (i == 2) || r[1].Ready != true || !r[1].Older || r[0].Older {
			t.Fatalf("round %d: %+v; want a ready in the last only, the older peer ready and marked in all", i, r)
		}
	}
	if err := rounds[0][0].Err; err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "not ready") {
		t.Fatalf("a loading: %v; want its 503 and answer", err)
	}

	// A proxy that asks for a token, and nothing listening: never ready.
	proxy := newHost(t)
	proxy.serve(t, func(ctx *fasthttp.RequestCtx) { ctx.Error("token please", fasthttp.StatusUnauthorized) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err = WaitReady(ctx, []string{proxy.url, closed, a.url}, nil, 10*time.Millisecond, func(f []PeerReadiness) {
		if n++; n == 2 {
			cancel()
		}
		if f[0].Ready || f[1].Ready || !f[2].Ready {
			t.Errorf("round %d: %+v; want the proxy and the closed port not ready", n, f)
		}
	})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), proxy.url+" (401") ||
		!strings.Contains(err.Error(), "asks for a token") || !strings.Contains(err.Error(), closed) || strings.Contains(err.Error(), a.url) {
		t.Fatalf("ended wait: %v; want it canceled, naming the proxy's 401 and the closed port only", err)
	}
}

// TestServeReady: ReadyPath answers as the Source's Ready says, always
// ready without one, with the host's id, to GET only.
func TestServeReady(t *testing.T) {
	for _, tc := range []struct {
		ready  func() bool
		status int
		body   string
	}{
		{nil, 200, "ready\n"},
		{func() bool { return true }, 200, "ready\n"},
		{func() bool { return false }, 503, "not ready\n"},
	} {
		src := &Source{HostID: "h-ready", Ready: tc.ready}
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(ReadyPath)
		src.Handler(&ctx)
		if got := ctx.Response.StatusCode(); got != tc.status || string(ctx.Response.Body()) != tc.body || string(ctx.Response.Header.Peek(HostHeader)) != "h-ready" {
			t.Fatalf("ready %v: %d %q host %q; want %d %q host h-ready", tc.ready != nil, got, ctx.Response.Body(), ctx.Response.Header.Peek(HostHeader), tc.status, tc.body)
		}
		ctx.Request.Header.SetMethod(fasthttp.MethodPost)
		src.Handler(&ctx)
		if got := ctx.Response.StatusCode(); got != fasthttp.StatusMethodNotAllowed {
			t.Fatalf("POST %s: %d; want 405", ReadyPath, got)
		}
	}
}
