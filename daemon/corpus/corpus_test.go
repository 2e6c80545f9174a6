package corpus

import (
	"encoding/json"
	"testing"
)

func TestRequestsAreBidRequests(t *testing.T) {
	t.Parallel()
	reqs := Requests()
	if len(reqs) < 90 {
		t.Fatalf("unexpected number of corpus requests; got %d; want at least 90", len(reqs))
	}
	for _, f := range reqs {
		var v struct {
			ID  string            `json:"id"`
			Imp []json.RawMessage `json:"imp"`
		}
		if err := json.Unmarshal(f.Body, &v); err != nil {
			t.Fatalf("%s: cannot decode: %v", f.Name, err)
		}
		if v.ID == "" || len(v.Imp) == 0 {
			t.Fatalf("%s: want a string id and a non-empty imp array", f.Name)
		}
	}
	if len(Invalid()) == 0 || len(Responses()) == 0 {
		t.Fatalf("invalid and responses sets must not be empty")
	}
}

func TestRequestByName(t *testing.T) {
	all := Requests()
	for _, f := range []File{all[0], all[len(all)-1]} {
		if b, ok := Request(f.Name); !ok || string(b) != string(f.Body) {
			t.Fatalf("Request(%q) = %d bytes, %v; want the %d bytes of Requests()", f.Name, len(b), ok, len(f.Body))
		}
	}
	for _, name := range []string{"no-such.json", ""} {
		if _, ok := Request(name); ok {
			t.Fatalf("Request(%q) found something", name)
		}
	}
	// Only requests: a path does not reach the responses.
	resp := Responses()[0]
	if b, ok := Request("../responses/" + resp.Name); ok && string(b) == string(resp.Body) {
		t.Fatalf("Request reached responses/%s", resp.Name)
	}
}
