package server

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/rtbd/rtbd/daemon/config"
)

// failingListener fails its first n Accepts with err.
type failingListener struct {
	net.Listener
	n   atomic.Int32
	err error
}

func (l *failingListener) Accept() (net.Conn, error) {
	if l.n.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: os.NewSyscallError("accept4", l.err)}
	}
	return l.Listener.Accept()
}

// TestKeepAccepting: accept errors that pass (out of file descriptors, an
// aborted connection) are waited out, and the listener then serves;
// fasthttp alone ended its Serve at the first, leaving a socket open that
// nobody accepted on (the HTTP audit). Other errors end Serve.
func TestKeepAccepting(t *testing.T) {
	srv := newTestServer(t, nil)
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED} {
		tcp, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln := &failingListener{Listener: tcp, err: e}
		ln.n.Store(3)
		before := acceptErrors.Get()
		go srv.Serve(KeepAccepting(ln)) //nolint:errcheck // ends with the test
		var resp fasthttp.Response
		req := fasthttp.AcquireRequest()
		req.SetRequestURI("http://" + tcp.Addr().String() + "/openrtb2/bid")
		req.Header.SetMethod("POST")
		req.SetBodyString("{}")
		if err := fasthttp.DoTimeout(req, &resp, 5*time.Second); err != nil {
			t.Fatalf("after %d %v accept errors: %v", 3, e, err)
		}
		if resp.StatusCode() != 400 || acceptErrors.Get()-before != 3 {
			t.Fatalf("after 3 %v accept errors: status %d, %d counted; want 400 and 3", e, resp.StatusCode(), acceptErrors.Get()-before)
		}
		tcp.Close()
	}

	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	bad := &failingListener{Listener: tcp, err: syscall.EINVAL}
	bad.n.Store(1)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(KeepAccepting(bad)) }()
	select {
	case err := <-done:
		if !errors.Is(err, syscall.EINVAL) {
			t.Fatalf("Serve after EINVAL: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve went on after an error that does not pass")
	}
}

// TestShareMaxConns: http.maxConns bounds the connections of all the bid
// listeners together: each Serve bounds its own, so each gets a share.
func TestShareMaxConns(t *testing.T) {
	srv := newTestServer(t, func(c *config.Config) { c.HTTP.MaxConns = 10 })
	srv.ShareMaxConns(1)
	if got := srv.http.Concurrency; got != 10 {
		t.Fatalf("one listener: concurrency %d; want 10", got)
	}
	srv.ShareMaxConns(4)
	if got := srv.http.Concurrency; got != 3 {
		t.Fatalf("four listeners: concurrency %d each; want 3 (10 shared, rounded up)", got)
	}
	srv.ShareMaxConns(20)
	if got := srv.http.Concurrency; got != 1 {
		t.Fatalf("twenty listeners: concurrency %d each; want 1", got)
	}
}
