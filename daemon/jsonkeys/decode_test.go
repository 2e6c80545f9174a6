package jsonkeys

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLineCol(t *testing.T) {
	t.Parallel()
	f := func(in string, off int64, wantLine, wantCol int) {
		t.Helper()
		line, col := LineCol([]byte(in), off)
		if line != wantLine || col != wantCol {
			t.Fatalf("unexpected LineCol(%q, %d); got %d:%d; want %d:%d", in, off, line, col, wantLine, wantCol)
		}
	}
	f("", 0, 1, 1)
	f("abc", 1, 1, 1)
	f("abc", 3, 1, 3)
	f("ab\ncd", 4, 2, 1)
	f("ab\ncd", 5, 2, 2)
	f("ab", 100, 1, 2)
	f("ab", -4, 1, 1)
}

func TestFind(t *testing.T) {
	t.Parallel()
	doc := `{"a":{"b":1,"c":[{"d":2},{"e":"x,y:{"}],"F":{"g":3}},"b":[4]}`
	if !json.Valid([]byte(doc)) {
		t.Fatal("not JSON")
	}
	for path, want := range map[string]string{
		"a.b":   "1",
		"a.c.d": "2",
		"a.c.e": `"x,y:{"`,
		"a.f.G": "3", // case folded, as encoding/json matches
		"b":     "[4]",
		"a":     `{"b"`,
		"a.g":   "",
		"c":     "",
		"a.b.x": "",
	} {
		off := Find([]byte(doc), path)
		if want == "" {
			if off != -1 {
				t.Errorf("Find(%q) = %d; want -1", path, off)
			}
			continue
		}
		if off < 0 || !strings.HasPrefix(doc[off:], want) {
			t.Errorf("Find(%q) = %d; want the offset of %s", path, off, want)
		}
	}
}

type dur time.Duration

var typeOfDur = reflect.TypeFor[dur]()

func (d *dur) UnmarshalJSON(b []byte) error {
	return &json.UnmarshalTypeError{Value: string(b), Type: typeOfDur}
}

func (dur) JSONType() string { return "a duration" }

func TestDecode(t *testing.T) {
	t.Parallel()
	type inner struct {
		N int `json:"n"`
		D dur `json:"wait"`
	}
	type doc struct {
		A     inner   `json:"a"`
		List  []inner `json:"list"`
		Other string  `json:"other"`
	}
	f := func(in, want string) {
		t.Helper()
		var v doc
		err := Decode([]byte(in), &v)
		if want == "" {
			if err != nil {
				t.Fatalf("Decode(%q): %v", in, err)
			}
			return
		}
		if err == nil || err.Error() != want {
			t.Fatalf("Decode(%q) = %v; want %s", in, err, want)
		}
	}
	f(`{"a":{"n":1}}`, "")
	f("\xef\xbb\xbf{\"a\":{\"n\":1}}", "") // a byte order mark is skipped
	f("\xef\xbb\xbf{\"a\":{\"n\":\"1\"}}", `1:13: a.n: cannot use string as int`)
	f("{\n \"a\": {\"wait\": 5}\n}", `2:16: a.wait: cannot use 5 as a duration`)
	f("{\"list\": [{},\n{\"wait\": \"x\"}]}", `2:10: list.wait: cannot use "x" as a duration`)
	f("{\"a\": {\"n\": 1, \"nn\": 2}}", `1:16: unknown field "nn"`)
	f("{\"a\": {\"n\": 1,}}", `1:15: invalid character '}' looking for beginning of object key string`)
	f("{\"a\": {\"n\": 1, \"N\": 2}}", `1:16: key "N" a second time in one object (keys match without case): the first would be lost`)
	f(`{} {}`, `1:4: unexpected data after the top-level value`)
	f("{\n\"a\":", `2:4: unexpected end of file`)
	f("", "empty file")
	f("\xef\xbb\xbf", "empty file")
	f("[]", `1:1: cannot use array as jsonkeys.doc`)
}
