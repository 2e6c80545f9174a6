package decision

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/openrtb"
)

// TestAppendSeqMatchesStrconv compares bid sequence numbers around the
// 16-digit fast path with strconv.
func TestAppendSeqMatchesStrconv(t *testing.T) {
	t.Parallel()
	values := []uint64{0, 1, 1<<60 - 1, 1 << 60, 1<<60 + 1, math.MaxUint64, uint64(time.Now().UnixNano())}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 10000 {
		values = append(values, rng.Uint64()>>rng.IntN(64))
	}
	for _, v := range values {
		if got, want := string(appendSeq([]byte("h-1-"), v)), "h-1-"+strconv.FormatUint(v, 16); got != want {
			t.Fatalf("appendSeq(%#x) = %s; want %s", v, got, want)
		}
	}
}

// TestNoticeBasePlain checks that Decide marks the notice base plain only
// when JSON escapes none of its bytes, so that the encoder may copy it.
func TestNoticeBasePlain(t *testing.T) {
	for base, plain := range map[string]bool{"https://n.example/": true, `https://n.example/"x"/`: false, "https://n.example/\u2028/": false, "": true} {
		opt := testOptions
		opt.NoticeBase = base
		s, err := Compile(testFile(bannerCampaign("a", 5)), nil, NewState(16), opt)
		if err != nil {
			t.Fatal(err)
		}
		var resp openrtb.Response
		if r := s.Decide(&Ctx{}, bannerRequest(), testNow, &resp); r != ReasonBid {
			t.Fatalf("base %q: %s, want a bid", base, r)
		}
		if resp.NoticeBasePlain != plain || string(resp.NoticeBase) != base {
			t.Fatalf("base %q: NoticeBase %q, plain %v; want plain %v", base, resp.NoticeBase, resp.NoticeBasePlain, plain)
		}
		// Encoded as the unmarked base would be.
		b := resp
		b.NoticeBasePlain = false
		if got, want := string(openrtb.AppendResponse(nil, &resp)), string(openrtb.AppendResponse(nil, &b)); got != want {
			t.Fatalf("base %q: encoded %s, want %s", base, got, want)
		}
	}
}

// TestBidIDsPlain checks that Decide marks the bid ids plain only when
// the host id has no byte that JSON escapes, so that the encoder may copy
// them.
func TestBidIDsPlain(t *testing.T) {
	for host, plain := range map[string]bool{"h1": true, "rtbd-eu-1.example": true, `h"1`: false, "h\\1": false, "h\u00e91": true, "h\x011": false, "h\xff1": false} {
		opt := testOptions
		opt.HostID = host
		s, err := Compile(testFile(bannerCampaign("a", 5)), nil, NewState(16), opt)
		if err != nil {
			t.Fatal(err)
		}
		var resp openrtb.Response
		if r := s.Decide(&Ctx{}, bannerRequest(), testNow, &resp); r != ReasonBid {
			t.Fatalf("host %q: %s, want a bid", host, r)
		}
		if resp.BidIDsPlain != plain {
			t.Fatalf("host %q: BidIDsPlain %v, want %v", host, resp.BidIDsPlain, plain)
		}
		b := resp
		b.BidIDsPlain = false
		if got, want := string(openrtb.AppendResponse(nil, &resp)), string(openrtb.AppendResponse(nil, &b)); got != want {
			t.Fatalf("host %q: encoded %s, want %s", host, got, want)
		}
	}
}
