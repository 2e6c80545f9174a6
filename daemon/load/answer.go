package load

import (
	"bytes"
	"errors"
	"fmt"
)

// answerReader follows the framing of one HTTP answer as its bytes arrive,
// for the event loop (see evLoop), which reads whatever the socket holds
// and must know when the answer ends without blocking for more. It keeps
// only what rtbload counts: the status and whether the server closes the
// connection. Bodies are skipped as they come; only a head, a chunk-size
// line or a trailer line must fit the read buffer.
type answerReader struct {
	phase  answerPhase
	remain int64 // body or chunk bytes still to skip
	head   respHead
}

type answerPhase uint8

const (
	phHead       answerPhase = iota // status line and headers
	phBody                          // remain bytes of a Content-Length body
	phChunkSize                     // a chunk-size line
	phChunkData                     // remain bytes of a chunk
	phChunkEnd                      // the CRLF after a chunk
	phTrailer                       // trailer lines up to a blank one
	phUntilClose                    // a body that ends with the connection
	phDone
)

// errAnswer wraps what the loop cannot read as an HTTP/1.x answer.
var errAnswer = errors.New("malformed answer")

// maxChunkLine bounds a chunk-size or trailer line.
const maxChunkLine = 1024

// feed consumes the answer's bytes at the start of b and returns how many
// it used. The answer is complete when done; b may then hold more bytes,
// which are not its own. Otherwise the bytes of b past used are an
// incomplete head or line: call again with them and more appended. A body
// without a length completes only at the end of the stream (see eof).
func (a *answerReader) feed(b []byte) (used int, done bool, err error) {
	for used < len(b) || a.phase == phBody && a.remain == 0 {
		rest := b[used:]
		switch a.phase {
		case phHead:
			i := bytes.Index(rest, crlfCRLF)
			if i < 0 {
				return used, false, nil
			}
			h, ok := parseRespHead(rest[:i+4])
			if !ok {
				return used, false, fmt.Errorf("%w: cannot parse the head %.100q", errAnswer, rest[:i])
			}
			used += i + 4
			if h.status < 200 {
				continue // an interim answer: the real one follows
			}
			a.head = h
			switch {
			case h.status == 204 || h.status == 304:
				a.phase = phDone
			case h.chunked:
				a.phase = phChunkSize
			case h.bodyLen >= 0:
				a.phase, a.remain = phBody, int64(h.bodyLen)
			default:
				a.phase, a.head.closeConn = phUntilClose, true
			}
		case phBody, phChunkData:
			n := min(a.remain, int64(len(rest)))
			used += int(n)
			if a.remain -= n; a.remain > 0 {
				return used, false, nil
			}
			if a.phase == phBody {
				a.phase = phDone
			} else {
				a.phase = phChunkEnd
			}
		case phChunkSize, phTrailer:
			// The bound is on the line without its CRLF, whether or
			// not the CRLF has arrived yet (a CR may end rest).
			i := bytes.Index(rest, crlf)
			if i > maxChunkLine || i < 0 && len(rest) > maxChunkLine+1 {
				return used, false, fmt.Errorf("%w: chunk line longer than %d bytes", errAnswer, maxChunkLine)
			}
			if i < 0 {
				return used, false, nil
			}
			line := rest[:i]
			used += i + 2
			if a.phase == phTrailer {
				if len(line) == 0 {
					a.phase = phDone
				}
				continue
			}
			size, ok := parseChunkSize(line)
			if !ok {
				return used, false, fmt.Errorf("%w: bad chunk size %.40q", errAnswer, line)
			}
			if size == 0 {
				a.phase = phTrailer
			} else {
				a.phase, a.remain = phChunkData, size
			}
		case phChunkEnd:
			if len(rest) < 2 {
				return used, false, nil
			}
			if rest[0] != '\r' || rest[1] != '\n' {
				return used, false, fmt.Errorf("%w: no CRLF after a chunk", errAnswer)
			}
			used += 2
			a.phase = phChunkSize
		case phUntilClose:
			return len(b), false, nil
		}
		if a.phase == phDone {
			return used, true, nil
		}
	}
	return used, a.phase == phDone, nil
}

// eof reports whether the end of the stream completes the answer: a body
// without a length ends there.
func (a *answerReader) eof() bool { return a.phase == phUntilClose }

// parseChunkSize reads a chunk-size line's hexadecimal size, ignoring
// chunk extensions.
func parseChunkSize(line []byte) (int64, bool) {
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimRight(line, " \t")
	if len(line) == 0 || len(line) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range line {
		switch {
		case c >= '0' && c <= '9':
			n = n<<4 | int64(c-'0')
		case c >= 'a' && c <= 'f':
			n = n<<4 | int64(c-'a'+10)
		case c >= 'A' && c <= 'F':
			n = n<<4 | int64(c-'A'+10)
		default:
			return 0, false
		}
	}
	return n, true
}
