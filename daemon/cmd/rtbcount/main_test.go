package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/rtbd/rtbd/daemon/corpus"
)

// TestRunAnswersEachRequest: the counted loop answers every request of the
// set once a round, and bids on some of the corpus with the demo book.
// With -evict, the loop that evicts the caches between requests answers the
// same.
func TestRunAnswersEachRequest(t *testing.T) {
	var first int
	for _, evict := range []string{"0", "4096"} {
		var out, errb bytes.Buffer
		if code := run([]string{"-set", "corpus", "-rounds", "3", "-evict", evict}, &out, &errb); code != 0 {
			t.Fatalf("-evict %s: exit %d: %s", evict, code, errb.String())
		}
		var reqs, bids int
		if _, err := fmt.Sscanf(out.String(), "requests %d bids %d", &reqs, &bids); err != nil {
			t.Fatalf("-evict %s: output %q: %v", evict, out.String(), err)
		}
		if want := 3 * len(corpus.Requests()); reqs != want || bids <= 0 || bids > reqs || bids%3 != 0 {
			t.Fatalf("-evict %s: %d requests, %d bids; want %d requests and the same bids each round", evict, reqs, bids, want)
		}
		if first == 0 {
			first = bids
		} else if bids != first {
			t.Fatalf("-evict %s: %d bids, %d without eviction", evict, bids, first)
		}
	}
}

func TestRunRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-set", "video"},
		{"-campaigns", "0"},
		{"-rounds", "0"},
		{"-requests", "5000"},
		{"-evict", "-1"},
		{"extra"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 || !strings.Contains(errb.String(), "rtbcount") {
			t.Errorf("%v: exit %d, %q; want 2 and a message", args, code, errb.String())
		}
	}
}
