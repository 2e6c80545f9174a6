//go:build !race

package openrtb

import (
	"errors"
	"testing"

	"github.com/rtbd/rtbd/daemon/corpus"
)

func TestParseAllocs(t *testing.T) {
	files := corpus.Requests()
	var r Request
	// Warm up: let every slice grow to the largest request of the corpus.
	for _, f := range files {
		if err := r.Parse(f.Body); err != nil {
			t.Fatalf("cannot parse %s: %s", f.Name, err)
		}
	}
	for _, f := range files {
		n := testing.AllocsPerRun(20, func() {
			if err := r.Parse(f.Body); err != nil {
				t.Fatalf("cannot parse %s: %s", f.Name, err)
			}
			_ = r.Validate()
		})
		if n != 0 {
			t.Errorf("%s: Parse+Validate allocates %.1f times per run; want 0", f.Name, n)
		}
	}
}

func TestParseErrorSentinelAllocs(t *testing.T) {
	var r Request
	body := []byte(`{"imp":[{"id":"1"}]}`)
	n := testing.AllocsPerRun(20, func() {
		if err := r.Parse(body); !errors.Is(err, ErrMissingID) {
			t.Fatalf("unexpected error %v", err)
		}
	})
	if n != 0 {
		t.Fatalf("Parse allocates %.1f times per run returning ErrMissingID; want 0", n)
	}
}

func TestAppendResponseAllocs(t *testing.T) {
	r := testResponse()
	dst := AppendResponse(nil, r)
	n := testing.AllocsPerRun(50, func() {
		dst = AppendResponse(dst[:0], r)
		dst = AppendNoBid(dst[:0], r.ID, 2)
	})
	if n != 0 {
		t.Fatalf("AppendResponse allocates %.1f times per run; want 0", n)
	}
}
