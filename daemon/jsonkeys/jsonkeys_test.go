package jsonkeys

import (
	"encoding/json"
	"testing"
)

func TestDuplicate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in  string
		off int64
		key string
	}{
		{`{"a":1,"b":2}`, -1, ""},
		{`{"a":1,"a":2}`, 7, "a"},
		{`{"daily":5,"Daily":50000}`, 11, "Daily"},
		{`{"a":{"b":1},"c":{"b":2}}`, -1, ""}, // one key in two objects
		{`[{"a":1},{"a":1}]`, -1, ""},
		{`{"a":[1,{"x":"a\"b","y":"a"}],"b":"a:","a ":1}`, -1, ""},
		{`{"s":"{\"a\":1,\"a\":2}"}`, -1, ""}, // keys inside a string are not keys
		{`{"o":{"k":{"z":1},"k":2}}`, 18, "k"},
		{`{"a\u0062":1,"ab":2}`, -1, ""}, // escapes as written
		{`{}`, -1, ""},
		{`"x"`, -1, ""},
	} {
		if !json.Valid([]byte(tc.in)) {
			t.Fatalf("%s is not JSON", tc.in)
		}
		if off, key := Duplicate([]byte(tc.in)); off != tc.off || key != tc.key {
			t.Errorf("Duplicate(%s) = %d, %q; want %d, %q", tc.in, off, key, tc.off, tc.key)
		}
	}
}
