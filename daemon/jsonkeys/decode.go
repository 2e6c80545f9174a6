package jsonkeys

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// Error is a decoding error of an operator file, located where the
// decoder or [Decode] could tell: Line and Col are 1-based, 0 when the
// place is unknown.
type Error struct {
	Line, Col int
	Msg       string
}

// Error returns "line:col: msg", or msg alone when the place is unknown.
func (e *Error) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg)
}

// bom is the UTF-8 byte order mark some editors write first.
var bom = []byte("\xef\xbb\xbf")

// Decode decodes exactly one JSON value from b into v as the operator
// files (config, campaigns, model) are read: a leading UTF-8 byte order
// mark is skipped (RFC 8259 allows it); unknown fields, trailing data,
// an empty document and a key twice in one object (see [Duplicate]) are
// errors. Errors are an *[Error] located in b, and a type error names the
// field by its path ("http.readTimeout: ...").
func Decode(b []byte, v any) error {
	b = bytes.TrimPrefix(b, bom)
	at := func(off int64, msg string) error {
		if off < 0 {
			return &Error{Msg: msg}
		}
		line, col := LineCol(b, off)
		return &Error{Line: line, Col: col, Msg: msg}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return &Error{Msg: "empty file"}
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return at(int64(len(b)), "unexpected end of file")
		}
		return locate(b, err, at)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return at(dec.InputOffset(), "unexpected data after the top-level value")
	}
	if off, key := Duplicate(b); off >= 0 {
		return at(off+1, fmt.Sprintf("key %q a second time in one object (keys match without case): the first would be lost", key))
	}
	return nil
}

// locate turns an encoding/json error into an *Error at its place in b.
func locate(b []byte, err error, at func(int64, string) error) error {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return at(se.Offset, se.Error())
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		off := te.Offset
		if off == 0 && te.Field != "" {
			// A type's own UnmarshalJSON returned it: encoding/json
			// knows the field but not the offset.
			if off = Find(b, te.Field); off >= 0 {
				off++ // LineCol points at the byte before off
			}
		}
		msg := fmt.Sprintf("cannot use %s as %s", te.Value, typeName(te.Type))
		if te.Field != "" {
			msg = te.Field + ": " + msg
		}
		return at(off, msg)
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	return at(unknownFieldOffset(b, msg), msg)
}

// Typed is a type that says how a decoding error should name it, e.g.
// `a duration string such as "250ms"` rather than config.Duration.
type Typed interface{ JSONType() string }

// typeName names t in a type error.
func typeName(t reflect.Type) string {
	if t == nil {
		return "this field"
	}
	if d, ok := reflect.New(t).Elem().Interface().(Typed); ok {
		return d.JSONType()
	}
	return t.String()
}

// unknownFieldOffset finds the first occurrence, as a key, of the key
// named by a DisallowUnknownFields error (`unknown field "x"`);
// encoding/json reports no offset for it. It returns -1 for another error.
func unknownFieldOffset(b []byte, msg string) int64 {
	name, ok := strings.CutPrefix(msg, "unknown field ")
	if !ok {
		return -1
	}
	key, err := strconv.Unquote(name)
	if err != nil {
		return -1
	}
	quoted, _ := json.Marshal(key)
	for from := 0; ; {
		i := bytes.Index(b[from:], quoted)
		if i < 0 {
			return -1
		}
		end := from + i + len(quoted)
		if rest := bytes.TrimLeft(b[end:], " \t\r\n"); len(rest) > 0 && rest[0] == ':' {
			return int64(from + i + 1)
		}
		from = end
	}
}

// Find returns the offset of the first value in b at path, keys joined
// by "." and compared as encoding/json matches them (ASCII case folded),
// array elements not counted: the form of [json.UnmarshalTypeError]'s
// Field. It returns -1 when there is none. b must be valid JSON.
func Find(b []byte, path string) int64 {
	want := strings.Split(path, ".")
	off := int64(-1)
	walkKeys(b, func(stack []frame, end int) bool {
		n := 0
		for _, f := range stack {
			if !f.object {
				continue
			}
			if n >= len(want) || !bytes.EqualFold(f.keys[len(f.keys)-1], []byte(want[n])) {
				return true
			}
			n++
		}
		if n < len(want) {
			return true
		}
		// The value follows the key's quote, blanks, ':' and blanks.
		j := end + 1
		for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\r' || b[j] == '\n' || b[j] == ':') {
			j++
		}
		off = int64(j)
		return false
	})
	return off
}

// LineCol converts a byte offset in b into a 1-based line and column.
// encoding/json reports the offset just past the offending byte, so the
// column points at it.
func LineCol(b []byte, off int64) (line, col int) {
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
