package server

import (
	"errors"
	"io"
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

// TestMaxConnsOverListeners: http.maxConns bounds the connections of all
// the bid listeners together: each Serve bounded only its own, so with a
// socket per core the daemon took that many times the bound. One past it
// is answered 503 and closed; a closed one gives its place back.
func TestMaxConnsOverListeners(t *testing.T) {
	srv := newTestServer(t, func(c *config.Config) { c.HTTP.MaxConns = 2 })
	var addrs []string
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		addrs = append(addrs, ln.Addr().String())
		go srv.Serve(ln) //nolint:errcheck // ends with the test
	}
	// answer sends a request on c and returns the status line.
	answer := func(c net.Conn) string {
		t.Helper()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte("POST /openrtb2/bid HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")); err != nil {
			return err.Error()
		}
		buf := make([]byte, 12)
		if _, err := io.ReadFull(c, buf); err != nil {
			return err.Error()
		}
		return string(buf)
	}
	dial := func(addr string) net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	a, b := dial(addrs[0]), dial(addrs[1])
	if s := answer(a); s != "HTTP/1.1 400" {
		t.Fatalf("first connection: %q", s)
	}
	if s := answer(b); s != "HTTP/1.1 400" {
		t.Fatalf("second connection, on the other listener: %q", s)
	}
	refused := connsRefused.Get()
	if s := answer(dial(addrs[0])); s != "HTTP/1.1 503" || connsRefused.Get() != refused+1 {
		t.Fatalf("third connection: %q, %d refused; want 503, 1", s, connsRefused.Get()-refused)
	}
	// b asks the server to close: once b reads the end, the server's
	// Close gave the place back (release comes before the close).
	b.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := b.Write([]byte("POST /openrtb2/bid HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(b); err != nil {
		t.Fatal(err)
	}
	if s := answer(dial(addrs[1])); s != "HTTP/1.1 400" {
		t.Fatalf("after one closed: %q; want its place taken", s)
	}
}

// TestProbationBounded: connections past http.maxConns are taken on
// probation only up to spareConns; one past those is refused at accept,
// with nothing read, and a probation connection's close frees its room.
func TestProbationBounded(t *testing.T) {
	srv := newTestServer(t, func(c *config.Config) { c.HTTP.MaxConns = 1 })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go srv.Serve(ln) //nolint:errcheck // ends with the test
	var conns []net.Conn
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// A request answered on each proves the server accepted it.
	ask := func(c net.Conn) string {
		t.Helper()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte("GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")) //nolint:errcheck // the answer tells
		buf := make([]byte, 12)
		if _, err := io.ReadFull(c, buf); err != nil {
			return err.Error()
		}
		return string(buf)
	}
	first := dial()
	if s := ask(first); s != "HTTP/1.1 404" {
		t.Fatalf("the connection within the bound: %q", s)
	}
	spare := spareConns(1)
	for range spare {
		conns = append(conns, dial())
	}
	// Unasked, the probation connections hold their room; the next is
	// refused before it sends anything.
	last := dial()
	last.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 12)
	if _, err := io.ReadFull(last, buf); err != nil || string(buf) != "HTTP/1.1 503" {
		t.Fatalf("connection %d past the bound (spare %d): %q, %v; want 503 at once", spare+1, spare, buf, err)
	}
	// A probation connection gets its one answer and is closed.
	if s := ask(conns[0]); s != "HTTP/1.1 503" {
		t.Fatalf("a request that is no notice on probation: %q", s)
	}
	if _, err := io.ReadAll(conns[0]); err != nil {
		t.Fatalf("the probation connection was not closed: %v", err)
	}
	if s := ask(dial()); s != "HTTP/1.1 503" {
		t.Fatalf("a connection taking the freed room: %q; want it on probation (503 to a request that is no notice)", s)
	}
}
