package server

import (
	"bufio"
	"net"
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/rtbd/rtbd/daemon/corpus"
)

// countingConn counts the writes the server makes on a connection.
type countingConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

type countingListener struct {
	net.Listener
	conns chan *countingConn
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &countingConn{Conn: c}
	l.conns <- cc
	return cc, nil
}

// TestAnswerInOneWrite sends every corpus request on one kept-alive
// connection and checks that each answer, up to the largest CTV pod with
// inline VAST, leaves in a single write: one syscall and, on loopback, one
// TCP segment. fasthttp's default 4 KiB buffer splits the larger ones.
func TestAnswerInOneWrite(t *testing.T) {
	srv := newTestServer(t, nil)
	mem := fasthttputil.NewInmemoryListener()
	ln := &countingListener{Listener: mem, conns: make(chan *countingConn, 1)}
	go srv.Serve(ln) //nolint:errcheck // ends when the listener closes
	t.Cleanup(func() { mem.Close() })

	c, err := mem.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br, bw := bufio.NewReader(c), bufio.NewWriter(c)
	var req fasthttp.Request
	var resp fasthttp.Response
	largest := 0
	var sc *countingConn
	for _, f := range corpus.Requests() {
		req.Reset()
		req.Header.SetMethod("POST")
		req.SetRequestURI("http://rtbd/openrtb2/bid")
		req.SetBody(f.Body)
		if err := req.Write(bw); err != nil || bw.Flush() != nil {
			t.Fatalf("%s: cannot send: %v", f.Name, err)
		}
		if err := resp.Read(br); err != nil {
			t.Fatalf("%s: cannot read the answer: %v", f.Name, err)
		}
		if sc == nil {
			sc = <-ln.conns
		}
		if n := sc.writes.Swap(0); n != 1 {
			t.Errorf("%s: a %d-byte answer took %d writes; want 1", f.Name, len(resp.Body()), n)
		}
		largest = max(largest, len(resp.Body()))
	}
	if largest < 8<<10 {
		t.Fatalf("largest answer %d bytes; the corpus must yield one over 8 KiB for this test to mean anything", largest)
	}
}
