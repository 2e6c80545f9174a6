package load

import (
	"bytes"
	"strings"
	"testing"
)

// feedAll feeds b to a fresh answerReader in pieces of at most step bytes,
// keeping unused bytes as the event loop does, and returns the reader,
// the bytes left after the answer, whether it completed, and the error.
func feedAll(b []byte, step int) (answerReader, []byte, bool, error) {
	var a answerReader
	var held []byte
	for len(b) > 0 {
		n := min(step, len(b))
		held, b = append(held, b[:n]...), b[n:]
		used, done, err := a.feed(held)
		if err != nil || done {
			return a, append(held[used:], b...), done, err
		}
		held = append(held[:0], held[used:]...)
	}
	return a, nil, false, nil
}

func TestAnswerReaderFraming(t *testing.T) {
	const next = "HTTP/1.1 204 No Content\r\n\r\n"
	cases := []struct {
		name, in  string
		status    int
		closeConn bool
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, false},
		{"empty body", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 200, false},
		{"no content", "HTTP/1.1 204 No Content\r\nContent-Length: 99\r\n\r\n", 204, false},
		{"close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}", 200, true},
		{"http/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}", 200, true},
		{"http/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\n{}", 200, false},
		{"interim first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 200, false},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\n", 200, false},
		{"chunked hex digits", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nf\r\n" + strings.Repeat("x", 15) + "\r\n1F\r\n" + strings.Repeat("y", 31) + "\r\n0\r\n\r\n", 200, false},
		{"chunk line at its bound", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + strings.Repeat("e", maxChunkLine-2) + "\r\nx\r\n0\r\n\r\n", 200, false},
		{"chunked trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-T: 1\r\n\r\n", 200, false},
	}
	for _, tc := range cases {
		for _, step := range []int{1, 3, 1 << 20} {
			a, rest, done, err := feedAll([]byte(tc.in+next), step)
			if err != nil || !done {
				t.Fatalf("%s, step %d: done %v, err %v; want a complete answer", tc.name, step, done, err)
			}
			if a.head.status != tc.status || a.head.closeConn != tc.closeConn {
				t.Fatalf("%s, step %d: status %d close %v; want %d %v", tc.name, step, a.head.status, a.head.closeConn, tc.status, tc.closeConn)
			}
			if string(rest) != next {
				t.Fatalf("%s, step %d: left %q after the answer; want the next answer %q", tc.name, step, rest, next)
			}
		}
	}
}

func TestAnswerReaderUntilClose(t *testing.T) {
	a, _, done, err := feedAll([]byte("HTTP/1.1 200 OK\r\n\r\nbody until the end"), 4)
	if err != nil || done || !a.eof() || !a.head.closeConn {
		t.Fatalf("done %v err %v eof %v close %v; want an answer that ends with the stream", done, err, a.eof(), a.head.closeConn)
	}
	for _, in := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", // truncated
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
	} {
		a, _, done, err := feedAll([]byte(in), 2)
		if err != nil || done || a.eof() {
			t.Fatalf("%q: done %v err %v eof %v; want an incomplete answer that the end of stream does not complete", in, done, err, a.eof())
		}
	}
}

func TestAnswerReaderRefusesMalformed(t *testing.T) {
	for _, in := range []string{
		"HTTP/2 200\r\n\r\n",
		"HTTP/1.1 2x0 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxYY",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\rY",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxY\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + strings.Repeat("e", maxChunkLine-1) + "\r\nx\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + strings.Repeat("0", maxChunkLine+2),
		"\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", // an empty head
	} {
		for _, step := range []int{1, 1 << 20} {
			if _, _, done, err := feedAll([]byte(in), step); err == nil || done {
				t.Fatalf("%q, step %d: done %v, err %v; want an error", in, step, done, err)
			}
		}
	}
}

// FuzzAnswerReader: any bytes, in any pieces, give a result without a
// panic, never use more than they were given, and the same result in one
// piece as byte by byte.
func FuzzAnswerReader(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var a answerReader
		used, _, _ := a.feed(b)
		if used < 0 || used > len(b) {
			t.Fatalf("used %d of %d bytes", used, len(b))
		}
		a1, rest1, done1, err1 := feedAll(b, 1<<30)
		a2, rest2, done2, err2 := feedAll(b, 1)
		if done1 != done2 || (err1 == nil) != (err2 == nil) || a1.head != a2.head || done1 && !bytes.Equal(rest1, rest2) {
			t.Fatalf("whole: %v %v %+v %q; byte by byte: %v %v %+v %q", done1, err1, a1.head, rest1, done2, err2, a2.head, rest2)
		}
	})
}
