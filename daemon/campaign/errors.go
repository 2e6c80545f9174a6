package campaign

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxProblems is how many problems a [ValidationError] lists; the rest are
// counted. A file with a systematic mistake would otherwise produce a log
// line per campaign.
const maxProblems = 10

// ValidationError lists the problems found in a data file. Each problem names
// the campaign (when there is one) and the field, for example
//
//	campaign "ctv-1": targeting.deviceTypes[2]: unknown device type 12
type ValidationError struct {
	// File prefixes every problem in Error, e.g. "campaigns.json"; may be empty.
	File string
	// Problems holds at most 10 problems, in file order.
	Problems []string
	// More counts the problems found beyond those in Problems.
	More int
}

// Error returns one line per problem, each prefixed with File.
func (e *ValidationError) Error() string {
	var sb strings.Builder
	prefix := ""
	if e.File != "" {
		prefix = e.File + ": "
	}
	for i, p := range e.Problems {
		if i > 0 {
			sb.WriteByte('\n')
		}
		sb.WriteString(prefix)
		sb.WriteString(p)
	}
	if e.More > 0 {
		fmt.Fprintf(&sb, "\n%sand %d more problems", prefix, e.More)
	}
	return sb.String()
}

// problems collects validation problems under a path prefix.
type problems struct {
	list []string
	more int
}

func (p *problems) addf(format string, args ...any) {
	if len(p.list) >= maxProblems {
		p.more++
		return
	}
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{Problems: p.list, More: p.more}
}

// withFile sets the file name of a *ValidationError (or wraps any other error).
func withFile(name string, err error) error {
	if err == nil {
		return nil
	}
	if ve, ok := errors.AsType[*ValidationError](err); ok {
		ve.File = name
		return ve
	}
	return fmt.Errorf("%s: %w", name, err)
}

// syntaxError turns an encoding/json decoding error into
// "name:line:col: cannot parse: msg", locating the error in b.
func syntaxError(name string, b []byte, err error) error {
	off := int64(-1)
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	default:
		off = unknownFieldOffset(b, err)
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if off < 0 {
		return fmt.Errorf("%s: cannot parse: %s", name, msg)
	}
	line, col := lineCol(b, off)
	return fmt.Errorf("%s:%d:%d: cannot parse: %s", name, line, col, msg)
}

// unknownFieldOffset finds the first occurrence of the key named by a
// DisallowUnknownFields error (`json: unknown field "x"`); encoding/json does
// not report an offset for it. It returns -1 when err is another error.
func unknownFieldOffset(b []byte, err error) int64 {
	name, ok := strings.CutPrefix(err.Error(), "json: unknown field ")
	if !ok {
		return -1
	}
	key, uerr := strconv.Unquote(name)
	if uerr != nil {
		return -1
	}
	quoted, _ := json.Marshal(key)
	for from := 0; ; {
		i := strings.Index(string(b[from:]), string(quoted))
		if i < 0 {
			return -1
		}
		end := from + i + len(quoted)
		if rest := strings.TrimLeft(string(b[end:]), " \t\r\n"); strings.HasPrefix(rest, ":") {
			return int64(from + i + 1)
		}
		from = end
	}
}

// lineCol converts a byte offset into a 1-based line and column. The json
// package reports the offset just past the offending byte, so the column
// points at it.
func lineCol(b []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(b)))
	line, col = 1, 1
	for _, c := range b[:off] {
		if c == '\n' {
			line++
			col = 1
			continue
		}
		col++
	}
	if col > 1 {
		col--
	}
	return line, col
}
