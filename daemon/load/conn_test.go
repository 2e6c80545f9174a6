package load

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestParseHead(t *testing.T) {
	for _, c := range []struct {
		head             string
		status, bodyLen  int
		closeConn, plain bool
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 200, 5, false, true},
		{"HTTP/1.1 200\r\ncontent-length:7\r\nServer: x\r\n\r\n", 200, 7, false, true},
		{"HTTP/1.1 204 No Content\r\nConnection: keep-alive, Close\r\n\r\n", 204, 0, true, true},
		{"HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n", 204, 0, false, true},
		{"HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\nConnection: close\r\n\r\n", 400, 3, true, true},
		// Left to fasthttp.
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 0, false, false},
		{"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n", 0, 0, false, false},
		{"HTTP/1.1 100 Continue\r\n\r\n", 0, 0, false, false},
		{"HTTP/1.1 200 OK\r\n\r\n", 0, 0, false, false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 0, 0, false, false},
		{"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, 0, false, false},
		{"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", 0, 0, false, false},
		{"HTTP/1.1 2x0 OK\r\nContent-Length: 5\r\n\r\n", 0, 0, false, false},
		{"HTTP/1.1 2000 OK\r\nContent-Length: 5\r\n\r\n", 0, 0, false, false},
		{"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", 0, 0, false, false},
	} {
		status, n, closeConn, ok := parseHead([]byte(c.head))
		if ok != c.plain || ok && (status != c.status || n != c.bodyLen || closeConn != c.closeConn) {
			t.Errorf("parseHead(%q) = %d, %d, %v, %v; want %d, %d, %v, %v", c.head, status, n, closeConn, ok, c.status, c.bodyLen, c.closeConn, c.plain)
		}
	}
}

// TestReadResponseConsumesExactly reads answers sent back to back on one
// connection, plain ones and ones left to fasthttp: each must take its
// own bytes, no more, no less.
func TestReadResponseConsumesExactly(t *testing.T) {
	stream := "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc" +
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n" +
		"HTTP/1.1 204 No Content\r\n\r\n" +
		"HTTP/1.1 503 Service Unavailable\r\nContent-Length: " + "2000" + "\r\n\r\n" + strings.Repeat("b", 2000) +
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
	c := &connClient{br: bufio.NewReaderSize(strings.NewReader(stream), 64)}
	var resp fasthttp.Response
	for i, want := range []struct {
		status    int
		closeConn bool
	}{{200, false}, {200, false}, {204, false}, {503, false}, {200, true}} {
		if err := c.readResponse(&resp); err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		if resp.StatusCode() != want.status || resp.ConnectionClose() != want.closeConn {
			t.Fatalf("answer %d: status %d, close %v; want %d, %v", i, resp.StatusCode(), resp.ConnectionClose(), want.status, want.closeConn)
		}
	}
	if err := c.readResponse(&resp); err != io.EOF {
		t.Fatalf("after the last answer: %v; want io.EOF", err)
	}
	// Cut inside a body: an error, which the caller treats as a closed
	// connection and sends once more.
	c = &connClient{br: bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc"))}
	if err := c.readResponse(&resp); !isConnClosed(err) {
		t.Fatalf("answer cut in its body: %v; want a closed-connection error", err)
	}
}

// recordConn is a net.Conn that keeps what is written to it.
type recordConn struct {
	net.Conn
	sent bytes.Buffer
}

func (c *recordConn) Write(p []byte) (int, error) { return c.sent.Write(p) }

// TestWriteRequestMatchesRequestWrite: what writeRequest sends is byte
// for byte what fasthttp's Request.Write sends, for each body of a
// worker's request and after the worker's request object changes.
func TestWriteRequestMatchesRequestWrite(t *testing.T) {
	newReq := func(uri string, gzip bool) *fasthttp.Request {
		req := new(fasthttp.Request)
		req.SetRequestURI(uri)
		req.Header.SetMethod(fasthttp.MethodPost)
		req.Header.SetContentType("application/json")
		req.Header.Set("X-Openrtb-Version", "2.6")
		if gzip {
			req.Header.Set(fasthttp.HeaderContentEncoding, "gzip")
		}
		return req
	}
	conn := &recordConn{}
	c := &connClient{conn: conn}
	for _, req := range []*fasthttp.Request{
		newReq("http://127.0.0.1:8080/openrtb2/bid", false),
		newReq("http://10.0.0.1:9000/bid?src=x", true),
	} {
		for _, body := range [][]byte{benchBody, nil, bytes.Repeat([]byte("x"), 70000)} {
			req.SetBodyRaw(body)
			conn.sent.Reset()
			if err := c.writeRequest(req); err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			bw := bufio.NewWriter(&want)
			if err := req.Write(bw); err != nil || bw.Flush() != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(conn.sent.Bytes(), want.Bytes()) {
				t.Fatalf("%s, %d-byte body: sent\n%q\nRequest.Write sends\n%q", req.URI(), len(body), conn.sent.Bytes(), want.Bytes())
			}
		}
	}
}
