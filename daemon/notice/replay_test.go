package notice

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// startServer serves h.Route over an in-memory listener and returns a client
// dialing it. The server stops when the test ends.
func startServer(t *testing.T, h *Handler) *fasthttp.Client {
	t.Helper()
	ln := fasthttputil.NewInmemoryListener()
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if hf := h.Route(ctx.Path()); hf != nil {
			hf(ctx)
			return
		}
		ctx.NotFound()
	}}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		if err := s.Shutdown(); err != nil {
			t.Errorf("cannot shut down server: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("server failed: %v", err)
		}
	})
	return &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}
}

// doHTTP sends one request and returns the status code.
func doHTTP(t *testing.T, c *fasthttp.Client, method, uri, form string) int {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://notice.test" + uri)
	if form != "" {
		req.Header.SetContentType("application/x-www-form-urlencoded")
		req.SetBodyString(form)
	}
	if err := c.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatalf("cannot %s %s: %v", method, uri, err)
	}
	return resp.StatusCode()
}

func TestReplayGetThenPostBillsOnce(t *testing.T) {
	sp := &fakeSpender{}
	c := startServer(t, New(Config{}, sp, nil))
	ok0, dup0 := noticesTotal[KindBill][resultOK].Get(), noticesTotal[KindBill][resultDuplicate].Get()

	if code := doHTTP(t, c, "GET", "/bill?bid=replay1&cid=c9&uk=0123456789abcdef&price=4", ""); code != 204 {
		t.Fatalf("unexpected GET status %d; want 204", code)
	}
	if code := doHTTP(t, c, "POST", "/bill", "bid=replay1&cid=c9&uk=0123456789abcdef&price=4"); code != 204 {
		t.Fatalf("unexpected POST replay status %d; want 204", code)
	}
	if code := doHTTP(t, c, "POST", "/bill?bid=replay1&cid=c9&price=4", ""); code != 204 {
		t.Fatalf("unexpected POST-with-query replay status %d; want 204", code)
	}
	if n := sp.count(); n != 1 {
		t.Fatalf("Spender.Bill called %d times for one bid id; want 1", n)
	}
	if sp.calls[0].uk != 0x0123456789abcdef || sp.calls[0].cid != "c9" {
		t.Fatalf("unexpected Bill call %+v", sp.calls[0])
	}
	if got := noticesTotal[KindBill][resultOK].Get() - ok0; got != 1 {
		t.Fatalf("unexpected ok count %d; want 1", got)
	}
	if got := noticesTotal[KindBill][resultDuplicate].Get() - dup0; got != 2 {
		t.Fatalf("unexpected duplicate count %d; want 2", got)
	}
}

func TestPostFormBody(t *testing.T) {
	sp := &fakeSpender{}
	c := startServer(t, New(Config{}, sp, nil))
	if code := doHTTP(t, c, "POST", "/bill", "bid=form1&cid=c1&price=7.5&cur=USD"); code != 204 {
		t.Fatalf("unexpected status %d; want 204", code)
	}
	if code := doHTTP(t, c, "POST", "/bill", "bid=form2&cid=c1&price=-7.5"); code != 400 {
		t.Fatalf("unexpected status %d for a negative price in a form; want 400", code)
	}
	if code := doHTTP(t, c, "PUT", "/bill?bid=form3&cid=c1&price=1", ""); code != 405 {
		t.Fatalf("unexpected status %d for PUT; want 405", code)
	}
	if sp.count() != 1 || sp.calls[0].price != 7.5 {
		t.Fatalf("unexpected Bill calls %+v", sp.calls)
	}
}

func TestConcurrentReplaysBillOnce(t *testing.T) {
	sp := &fakeSpender{}
	h := New(Config{}, sp, nil)
	const workers = 8
	start := make(chan struct{})
	codes := make(chan int, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var ctx fasthttp.RequestCtx
			ctx.Request.SetRequestURI("/bill?bid=race1&cid=c&price=1")
			h.ServeBill(&ctx)
			codes <- ctx.Response.StatusCode()
		}()
	}
	close(start)
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != 204 {
			t.Fatalf("unexpected status %d; want 204", code)
		}
	}
	if n := sp.count(); n != 1 {
		t.Fatalf("Spender.Bill called %d times by %d concurrent replays; want 1", n, workers)
	}
}

func TestReplayAfterTTLBillsAgain(t *testing.T) {
	sp := &fakeSpender{}
	h := New(Config{DedupeTTL: time.Hour}, sp, nil)
	t0 := time.Unix(1700000000, 0)
	f := func(at time.Time, wantCalls int) {
		t.Helper()
		h.now = func() time.Time { return at }
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/bill?bid=ttl1&cid=c&price=1")
		h.ServeBill(&ctx)
		if n := sp.count(); n != wantCalls {
			t.Fatalf("at %v: Spender.Bill called %d times; want %d", at.Sub(t0), n, wantCalls)
		}
	}
	f(t0, 1)
	f(t0.Add(time.Hour-time.Nanosecond), 1)
	f(t0.Add(time.Hour), 2)
	f(t0.Add(time.Hour+time.Minute), 2)
}

func TestMetricsExported(t *testing.T) {
	var buf bytes.Buffer
	metrics.WritePrometheus(&buf, false)
	for _, name := range []string{
		`rtbd_notices_total{kind="bill",result="duplicate"}`,
		`rtbd_notices_total{kind="win",result="unsubstituted"}`,
		`rtbd_notices_total{kind="loss",result="invalid"}`,
		`rtbd_notice_dedupe_evictions_total`,
		`rtbd_notice_spend_total`,
	} {
		if !bytes.Contains(buf.Bytes(), []byte("\n"+name+" ")) && !bytes.HasPrefix(buf.Bytes(), []byte(name+" ")) {
			t.Fatalf("metric %s is not exported", name)
		}
	}
}

// TestDedupeSurvivesRestart: a handler restored from another's saved
// dedupe table answers the notices that one processed as duplicates and
// bills only new ones; entries past their time are not restored, and a
// damaged table is refused whole.
func TestDedupeSurvivesRestart(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	first := New(Config{DedupeSlots: 1024, DedupeTTL: time.Hour}, &fakeSpender{}, nil)
	first.now = func() time.Time { return now }
	c := startServer(t, first)
	for _, bid := range []string{"r1", "r2", "r3"} {
		if code := doHTTP(t, c, "GET", "/bill?bid="+bid+"&cid=c9&price=4", ""); code != 204 {
			t.Fatalf("bill %s: status %d", bid, code)
		}
	}
	saved := first.AppendDedupe(nil)

	// Another size: entries are placed by fingerprint, so it takes them.
	sp := &fakeSpender{}
	second := New(Config{DedupeSlots: 4096, DedupeTTL: time.Hour}, sp, nil)
	second.now = func() time.Time { return now.Add(time.Minute) }
	if n, err := second.RestoreDedupe(saved); err != nil || n != 3 {
		t.Fatalf("restored %d entries, err %v; want 3", n, err)
	}
	c2 := startServer(t, second)
	for _, bid := range []string{"r1", "r2", "r3", "r4"} {
		if code := doHTTP(t, c2, "GET", "/bill?bid="+bid+"&cid=c9&price=4", ""); code != 204 {
			t.Fatalf("bill %s: status %d", bid, code)
		}
	}
	if n := sp.count(); n != 1 || sp.calls[0].cid != "c9" {
		t.Fatalf("after restart %d bills (%+v); want only r4's", n, sp.calls)
	}

	late := New(Config{DedupeSlots: 1024, DedupeTTL: time.Hour}, &fakeSpender{}, nil)
	late.now = func() time.Time { return now.Add(2 * time.Hour) }
	if n, err := late.RestoreDedupe(saved); err != nil || n != 0 {
		t.Fatalf("restored %d entries two hours later, err %v; want 0 (expired)", n, err)
	}
	for cut := 0; cut < len(saved); cut++ {
		if _, err := late.RestoreDedupe(saved[:cut]); err == nil {
			t.Fatalf("table cut to %d of %d bytes: no error", cut, len(saved))
		}
	}
}
