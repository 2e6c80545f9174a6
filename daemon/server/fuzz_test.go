package server

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fasthttp"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/corpus"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

// Fuzz modes: how the body is sent and the answer asked for.
const (
	fuzzGzipBody   = 1 << iota // gzip the body, Content-Encoding: gzip
	fuzzRawGzip                // Content-Encoding: gzip on the body as it is
	fuzzAcceptGzip             // Accept-Encoding: gzip
)

// FuzzHandler sends arbitrary bodies through the whole bid handler on the
// embedded demo data: parse, privacy, decision, pods, encoding, and the
// gzip paths both ways (a valid gzip of the body, the body itself declared
// as gzip, a gzipped answer). The handler never panics, answers only 200,
// 204, 400 or 413, gives a reason with each 400 and 413, and a 200 is a
// valid bid response to that request: its id, bids on its imps at a
// positive price.
func FuzzHandler(f *testing.F) {
	seeds := [][]byte{[]byte(`{"id":"1","imp":[{"id":"1","banner":{"w":300,"h":250}}]}`)}
	for _, files := range [][]corpus.File{corpus.Requests(), corpus.Invalid()} {
		for _, file := range files {
			seeds = append(seeds, file.Body)
		}
	}
	seeds = append(seeds, campaign.GenerateCTVRequests(8, 1)...)
	for i, s := range seeds {
		f.Add(s, uint8(i%8))
	}
	for _, s := range seeds[:8] {
		f.Add(gzipBytes(f, s), uint8(fuzzRawGzip|fuzzAcceptGzip))
	}
	f.Add(gzipBytes(f, bytes.Repeat([]byte(" "), 10<<20)), uint8(fuzzRawGzip)) // a gzip bomb: 10 KB to 10 MiB
	srv := newTestServer(f, nil)
	var ctx fasthttp.RequestCtx
	f.Fuzz(func(t *testing.T, body []byte, mode uint8) {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod(fasthttp.MethodPost)
		ctx.Request.SetRequestURI("/openrtb2/bid")
		sent := body
		if mode&fuzzGzipBody != 0 {
			sent = gzipBytes(t, body)
		}
		if mode&(fuzzGzipBody|fuzzRawGzip) != 0 {
			ctx.Request.Header.Set(fasthttp.HeaderContentEncoding, "gzip")
		}
		if mode&fuzzAcceptGzip != 0 {
			ctx.Request.Header.Set(fasthttp.HeaderAcceptEncoding, "gzip")
		}
		ctx.Request.SetBody(sent)
		srv.Handler(&ctx)

		status, answer := ctx.Response.StatusCode(), ctx.Response.Body()
		switch status {
		case fasthttp.StatusNoContent:
			return
		case fasthttp.StatusBadRequest, fasthttp.StatusRequestEntityTooLarge:
			if len(answer) == 0 || len(answer) > 200 {
				t.Fatalf("status %d with reason %q; want a short reason", status, answer)
			}
			return
		case fasthttp.StatusOK:
		default:
			t.Fatalf("status %d (%q); want 200, 204, 400 or 413", status, answer)
		}
		if string(ctx.Response.Header.ContentEncoding()) == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(answer))
			if err != nil {
				t.Fatalf("gzipped answer does not inflate: %v", err)
			}
			if answer, err = io.ReadAll(zr); err != nil {
				t.Fatalf("gzipped answer does not inflate: %v", err)
			}
		}
		req := body
		if mode&fuzzRawGzip != 0 && mode&fuzzGzipBody == 0 {
			// The body itself was declared gzip: a bid needs it to be.
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("bid on a body declared gzip that is not: %q", body)
			}
			if req, err = io.ReadAll(zr); err != nil {
				t.Fatalf("bid on a body declared gzip that does not inflate: %q", body)
			}
		}
		checkFuzzBid(t, req, answer)
	})
}

// checkFuzzBid checks that answer is a bid response to the request body.
func checkFuzzBid(t *testing.T, body, answer []byte) {
	var req openrtb.Request
	if err := req.Parse(body); err != nil {
		t.Fatalf("bid on a request that does not parse (%v): %q", err, body)
	}
	var resp struct {
		ID      string `json:"id"`
		SeatBid []struct {
			Bid []struct {
				ID    string  `json:"id"`
				ImpID string  `json:"impid"`
				Price float64 `json:"price"`
				CrID  string  `json:"crid"`
			} `json:"bid"`
		} `json:"seatbid"`
	}
	if err := json.Unmarshal(answer, &resp); err != nil {
		t.Fatalf("200 answer is not JSON (%v): %q", err, answer)
	}
	if resp.ID != string(req.ID) || len(resp.SeatBid) == 0 {
		t.Fatalf("answer id %q with %d seatbids to request id %q", resp.ID, len(resp.SeatBid), req.ID)
	}
	for _, sb := range resp.SeatBid {
		if len(sb.Bid) == 0 {
			t.Fatalf("empty seatbid in %q", answer)
		}
		for _, b := range sb.Bid {
			found := false
			for i := range req.Imps {
				found = found || string(req.Imps[i].ID) == b.ImpID
			}
			if !found || b.ID == "" || b.CrID == "" || !(b.Price > 0) {
				t.Fatalf("bid %+v: want an id, a crid, a positive price and the impid of a request imp", b)
			}
		}
	}
}
