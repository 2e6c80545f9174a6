package load

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// connClient is one worker's keep-alive connection to one plain-HTTP
// target. It sends the bytes fasthttp's Request.Write would (see
// writeRequest) and reads answers for what rtbload counts (see
// readResponse), without fasthttp.HostClient's connection pool, which a
// worker that owns its connection does not need. At 65-80k req/s on one
// core the pool cost rtbload about a tenth of its CPU: a lock to take and
// return the connection, six clock reads, and a read and a write deadline
// set separately for every request. Here the connection is the worker's
// alone (no lock), the deadline is set once for both directions and only
// when the one in force would end too soon, and the clock is read by the
// worker.
//
// It follows HostClient's rules where they matter to a measurement: a
// dial failure is tagged (see dialError) so that the worker may fail
// over; a request whose connection the server closed or reset before the
// whole answer arrived is sent once more (see retryClosed), counted in
// retries; an answer with "Connection: close" closes it.
type connClient struct {
	addr    string
	dial    func(addr string) (net.Conn, error) // tags its errors as dialError
	retries *atomic.Int64
	// slack is how much earlier than asked a deadline may end, so that
	// it need not be set again for every request (see setDeadline).
	slack time.Duration
	// rsize is the read buffer's size (see readBufferSize).
	rsize int

	conn     net.Conn
	br       *bufio.Reader
	deadline time.Time // in force on conn

	// The request line and headers of headOf, rendered once, before and
	// after the Content-Length value (see writeRequest); head and out are
	// per-request buffers kept between requests.
	headOf        *fasthttp.RequestHeader
	before, after []byte
	head          []byte
	outArr        [2][]byte
	out           net.Buffers
}

// readBufferSize returns the read buffer size of each of conns
// connections: a CTV pod's answer (about 7 KB) comes in one read with
// 16 KiB; beyond 1,024 connections in all, fasthttp's 4 KiB, as
// HostClient's, so that 10,000 connections cannot take gigabytes. Larger
// answers take more system calls, nothing else. Requests need no buffer:
// they leave in one writev from where they lie (see writeRequest).
func readBufferSize(conns int) int {
	if conns > 1024 {
		return 4 << 10
	}
	return 16 << 10
}

// errIdleClosed: the server answered 408 and closed the connection. A
// server closes a connection that stayed idle too long with a 408
// (fasthttp after its ReadTimeout, on a connection opened before the
// schedule and not used yet); a request written meanwhile was never
// read. RFC 9110 lets a client repeat it: both engines send it once
// more, on a new connection, as after a reset.
var errIdleClosed = fmt.Errorf("%w: the server answered 408 Request Timeout and closed it", fasthttp.ErrConnectionClosed)

// DoDeadline sends req and reads its answer into resp, giving up at
// deadline (give or take slack: see setDeadline).
func (c *connClient) DoDeadline(req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time) error {
	for attempt := 1; ; attempt++ {
		if c.conn == nil {
			if err := c.connect(); err != nil {
				return err
			}
		}
		err := c.roundTrip(req, resp, deadline)
		if err == nil && resp.StatusCode() == fasthttp.StatusRequestTimeout && resp.ConnectionClose() {
			err = errIdleClosed
		}
		if err == nil {
			if resp.ConnectionClose() {
				c.Close()
			}
			return nil
		}
		c.Close()
		if attempt > 1 || !isConnClosed(err) {
			return err
		}
		// Closed or reset before the whole answer arrived. Once more,
		// as retryClosed does for HostClient.
		c.retries.Add(1)
	}
}

func (c *connClient) connect() error {
	conn, err := c.dial(c.addr)
	if err != nil {
		return err
	}
	c.conn = conn
	if c.br == nil {
		c.br = bufio.NewReaderSize(conn, c.rsize)
	} else {
		c.br.Reset(conn)
	}
	c.deadline = time.Time{}
	return nil
}

// roundTrip writes req and reads the answer.
func (c *connClient) roundTrip(req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time) error {
	if err := c.setDeadline(deadline); err != nil {
		return err
	}
	if err := c.writeRequest(req); err != nil {
		return err
	}
	return c.readResponse(resp)
}

// writeRequest sends req in one writev: its headers, rendered once per
// request object (a worker's never change, only their bodies), with the
// body's Content-Length, then the body where it lies. Request.Write
// rendered every header again and copied the body into a write buffer.
func (c *connClient) writeRequest(req *fasthttp.Request) error {
	if c.headOf != &req.Header {
		c.before, c.after = renderHead(req)
		c.headOf = &req.Header
	}
	body := req.Body()
	c.head = appendHead(c.head[:0], c.before, c.after, len(body))
	// WriteTo consumes the slice it is given, so it gets a new one over
	// the same array each time.
	c.outArr = [2][]byte{c.head, body}
	c.out = c.outArr[:]
	_, err := c.out.WriteTo(c.conn)
	return err
}

// renderHead returns req's request line and headers as Request.Write
// sends them, split around the Content-Length value.
func renderHead(req *fasthttp.Request) (before, after []byte) {
	var h fasthttp.RequestHeader
	req.Header.CopyTo(&h)
	uri := req.URI()
	if len(h.Host()) == 0 {
		h.SetHostBytes(uri.Host())
	}
	h.SetRequestURIBytes(uri.RequestURI())
	h.SetContentLength(lengthMark)
	full := h.Header()
	mark := []byte("Content-Length: " + strconv.Itoa(lengthMark) + "\r\n")
	i := bytes.Index(full, mark)
	if i < 0 {
		panic("BUG: fasthttp rendered no Content-Length")
	}
	n := i + len(mark) - len("\r\n") - len(strconv.Itoa(lengthMark))
	return bytes.Clone(full[:n]), bytes.Clone(full[n+len(strconv.Itoa(lengthMark)):])
}

// appendHead appends the request head that renderHead split, with the
// Content-Length of a body of n bytes.
func appendHead(dst, before, after []byte, n int) []byte {
	dst = append(dst, before...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, after...)
}

// lengthMark stands for the body's length while the headers are rendered.
const lengthMark = 1234567890

// readResponse reads one answer, keeping only what rtbload counts: the
// status and whether the server closes the connection. A plain answer
// (HTTP/1.1, a Content-Length or a status without a body, no
// Transfer-Encoding) is parsed here and its body skipped; fasthttp's
// Response.Read, which parses and keeps everything, took 4 % of
// rtbload's CPU at 60k req/s. Anything else goes to Response.Read, which
// starts from the same unread bytes.
func (c *connClient) readResponse(resp *fasthttp.Response) error {
	head, err := c.peekHead()
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return resp.Read(c.br)
		}
		return err
	}
	status, bodyLen, closeConn, ok := parseHead(head)
	if !ok {
		return resp.Read(c.br)
	}
	if _, err := c.br.Discard(len(head) + bodyLen); err != nil {
		return err
	}
	resp.Header.SetStatusCode(status)
	if closeConn {
		resp.Header.SetConnectionClose()
	} else {
		resp.Header.ResetConnectionClose()
	}
	return nil
}

// peekHead returns the status line and headers, through the blank line,
// without consuming them; bufio.ErrBufferFull when they do not fit the
// read buffer.
func (c *connClient) peekHead() ([]byte, error) {
	for n := 1; ; {
		if _, err := c.br.Peek(n); err != nil {
			return nil, err
		}
		b, _ := c.br.Peek(c.br.Buffered())
		if i := bytes.Index(b, crlfCRLF); i >= 0 {
			return b[:i+4], nil
		}
		n = len(b) + 1
	}
}

var crlfCRLF = []byte("\r\n\r\n")

// parseHead reads an HTTP/1.1 status line and headers ending in a blank
// line. ok is false for what it leaves to fasthttp: another version, a
// 1xx status, Transfer-Encoding, a missing, repeated or malformed
// Content-Length on a status that has a body.
func parseHead(head []byte) (status, bodyLen int, closeConn, ok bool) {
	h, ok := parseRespHead(head)
	if !ok || !h.http11 || h.status < 200 || h.chunked {
		return 0, 0, false, false
	}
	if h.status == fasthttp.StatusNoContent || h.status == fasthttp.StatusNotModified {
		return h.status, 0, h.closeConn, true
	}
	return h.status, h.bodyLen, h.closeConn, h.bodyLen >= 0
}

// respHead is what the framing of an answer depends on.
type respHead struct {
	status  int
	bodyLen int // Content-Length; -1 when absent
	chunked bool
	// closeConn: the server closes the connection after this answer
	// (Connection: close, or HTTP/1.0 without keep-alive).
	closeConn bool
	http11    bool
}

// parseRespHead reads an HTTP/1.0 or 1.1 status line and headers ending in
// a blank line. ok is false for another version, a malformed status line
// or header, a repeated or malformed Content-Length, and a
// Transfer-Encoding other than chunked.
func parseRespHead(head []byte) (h respHead, ok bool) {
	line, rest, _ := bytes.Cut(head, crlf)
	if len(line) < 12 || (string(line[:9]) != "HTTP/1.1 " && string(line[:9]) != "HTTP/1.0 ") || (len(line) > 12 && line[12] != ' ') {
		return h, false
	}
	h.http11 = line[7] == '1'
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return h, false
		}
		h.status = 10*h.status + int(d-'0')
	}
	h.bodyLen = -1
	keepAlive := false
	for len(rest) > 2 {
		line, rest, _ = bytes.Cut(rest, crlf)
		name, value, found := bytes.Cut(line, colon)
		if !found {
			return h, false
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, contentLength):
			n, err := strconv.Atoi(string(value))
			if err != nil || n < 0 || h.bodyLen >= 0 {
				return h, false
			}
			h.bodyLen = n
		case bytes.EqualFold(name, transferEncoding):
			if !bytes.EqualFold(value, chunkedToken) {
				return h, false
			}
			h.chunked = true
		case bytes.EqualFold(name, connection):
			h.closeConn = h.closeConn || hasToken(value, closeToken)
			keepAlive = keepAlive || hasToken(value, keepAliveToken)
		}
	}
	if !h.http11 && !keepAlive {
		h.closeConn = true
	}
	return h, true
}

// hasToken reports whether the comma-separated list holds tok, in any case.
func hasToken(list, tok []byte) bool {
	for t := range bytes.SplitSeq(list, comma) {
		if bytes.EqualFold(bytes.TrimSpace(t), tok) {
			return true
		}
	}
	return false
}

var (
	comma            = []byte(",")
	crlf             = []byte("\r\n")
	colon            = []byte(":")
	contentLength    = []byte("Content-Length")
	transferEncoding = []byte("Transfer-Encoding")
	connection       = []byte("Connection")
	closeToken       = []byte("close")
	keepAliveToken   = []byte("keep-alive")
	chunkedToken     = []byte("chunked")
)

// setDeadline keeps the connection's deadline within [deadline-slack,
// deadline]. Setting a deadline takes a runtime timer lock and two clock
// reads; a worker's deadlines only move forward (its slots come in
// order), so the one in force usually still fits.
func (c *connClient) setDeadline(deadline time.Time) error {
	if !c.deadline.IsZero() && !c.deadline.After(deadline) && !c.deadline.Before(deadline.Add(-c.slack)) {
		return nil
	}
	if err := c.conn.SetDeadline(deadline); err != nil {
		return err
	}
	c.deadline = deadline
	return nil
}

// Close closes the connection, if any; the next request dials again.
func (c *connClient) Close() error {
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	return err
}
