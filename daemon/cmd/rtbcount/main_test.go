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
func TestRunAnswersEachRequest(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-set", "corpus", "-rounds", "3"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var reqs, bids int
	if _, err := fmt.Sscanf(out.String(), "requests %d bids %d", &reqs, &bids); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	if want := 3 * len(corpus.Requests()); reqs != want || bids <= 0 || bids > reqs || bids%3 != 0 {
		t.Fatalf("%d requests, %d bids; want %d requests and the same bids each round", reqs, bids, want)
	}
}

func TestRunRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-set", "video"},
		{"-campaigns", "0"},
		{"-rounds", "0"},
		{"-requests", "5000"},
		{"extra"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 || !strings.Contains(errb.String(), "rtbcount") {
			t.Errorf("%v: exit %d, %q; want 2 and a message", args, code, errb.String())
		}
	}
}
