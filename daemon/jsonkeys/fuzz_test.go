package jsonkeys

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// FuzzDecode: no document makes Decode panic, and an error it returns
// has a place within the document or none.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"a":{"n":1,"wait":"2x"}}`, "\xef\xbb\xbf{}", `{"list":[{"wait":5}]}`, `{"a":{"N":1,"n":2}}`, `[`, `{"a":"\u00e9\"x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v struct {
			A struct {
				N    int      `json:"n"`
				Wait fuzzDur  `json:"wait"`
				More []string `json:"more"`
			} `json:"a"`
			List []struct {
				Wait fuzzDur `json:"wait"`
			} `json:"list"`
		}
		err := Decode(b, &v)
		if e, ok := err.(*Error); ok && (e.Line < 0 || e.Col < 0 || e.Line > len(b)+1) {
			t.Fatalf("error at %d:%d in a %d-byte document", e.Line, e.Col, len(b))
		}
	})
}

type fuzzDur time.Duration

func (d *fuzzDur) UnmarshalJSON(b []byte) error {
	v, err := time.ParseDuration(string(b[min(1, len(b)):max(len(b)-1, min(1, len(b)))]))
	if err != nil {
		return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[fuzzDur]()}
	}
	*d = fuzzDur(v)
	return nil
}
