package server

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/config"
	"github.com/rtbd/rtbd/daemon/corpus"
	"github.com/rtbd/rtbd/daemon/decision"
	"github.com/rtbd/rtbd/daemon/engine"
	"github.com/rtbd/rtbd/daemon/eventlog"
	"github.com/rtbd/rtbd/daemon/stats"
)

// testServer starts a Server on an in-memory listener with the embedded demo
// data and returns a client bound to it.
func testServer(t testing.TB, edit func(*config.Config)) (*Server, *fasthttp.Client) {
	t.Helper()
	srv := newTestServer(t, edit)
	ln := fasthttputil.NewInmemoryListener()
	go srv.Serve(ln) //nolint:errcheck // ends when the listener closes
	t.Cleanup(func() { ln.Close() })
	c := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}
	return srv, c
}

// newTestServer returns a ready Server with the embedded demo data and the
// tests' settings, edited by edit when non-nil.
func newTestServer(t testing.TB, edit func(*config.Config)) *Server {
	t.Helper()
	cfg := config.Default()
	cfg.Bidding.NoticeBaseURL = "http://rtbd.test/"
	cfg.Bidding.HostID = "t1"
	cfg.Bidding.MinTimeLeft = 0
	cfg.Bidding.DefaultTmax = config.Duration(time.Hour) // deadlines are tested on their own
	if edit != nil {
		edit(&cfg)
	}
	eng, err := engine.New(&cfg)
	if err != nil {
		t.Fatalf("cannot start engine: %v", err)
	}
	srv := New(Options{Config: &cfg, Engine: eng})
	srv.SetReady(true)
	return srv
}

type reply struct {
	status int
	body   []byte
	header *fasthttp.ResponseHeader
}

func post(t testing.TB, c *fasthttp.Client, path string, body []byte, headers ...string) reply {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://rtbd" + path)
	req.Header.SetMethod("POST")
	req.Header.SetContentType("application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	req.SetBody(body)
	if err := c.Do(req, resp); err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	r := reply{status: resp.StatusCode(), body: append([]byte(nil), resp.Body()...), header: new(fasthttp.ResponseHeader)}
	resp.Header.CopyTo(r.header)
	return r
}

// bidResponse is the subset of a BidResponse the tests check, decoded with
// encoding/json as an independent oracle.
type bidResponse struct {
	ID      string `json:"id"`
	Cur     string `json:"cur"`
	SeatBid []struct {
		Seat string    `json:"seat"`
		Bid  []respBid `json:"bid"`
	} `json:"seatbid"`
}

type respBid struct {
	ID      string   `json:"id"`
	ImpID   string   `json:"impid"`
	Price   float64  `json:"price"`
	CrID    string   `json:"crid"`
	ADomain []string `json:"adomain"`
	MType   int      `json:"mtype"`
	AdM     string   `json:"adm"`
	NURL    string   `json:"nurl"`
	BURL    string   `json:"burl"`
	LURL    string   `json:"lurl"`
}

type corpusRequest struct {
	ID  string `json:"id"`
	Cur []string
	Imp []struct {
		ID       string  `json:"id"`
		BidFloor float64 `json:"bidfloor"`
		Native   *struct {
			Request json.RawMessage `json:"request"`
			Assets  []nativeAsset   `json:"assets"`
		} `json:"native"`
	} `json:"imp"`
}

// nativeAsset is an asset of a native request or response, as the
// oracle reads it.
type nativeAsset struct {
	ID       *int `json:"id"`
	Required int  `json:"required"`
}

// nativeAssets returns the assets of a native request, from its request
// string or object, or from imp.native itself, with the index for an id
// where an asset has none.
func nativeAssets(t *testing.T, name string, request json.RawMessage, inline []nativeAsset) []nativeAsset {
	t.Helper()
	var doc struct {
		Native *struct {
			Assets []nativeAsset `json:"assets"`
		} `json:"native"`
		Assets []nativeAsset `json:"assets"`
	}
	if len(request) > 0 && request[0] == '"' {
		var s string
		if err := json.Unmarshal(request, &s); err != nil {
			t.Fatalf("%s: oracle cannot decode native request: %v", name, err)
		}
		request = json.RawMessage(s)
	}
	assets := inline
	if len(request) > 0 && json.Unmarshal(request, &doc) == nil {
		assets = doc.Assets
		if doc.Native != nil {
			assets = doc.Native.Assets
		}
	}
	for i := range assets {
		if assets[i].ID == nil {
			assets[i].ID = &i
		}
	}
	return assets
}

// checkNativeAdm checks a native bid's markup against the request's
// assets: each of its assets is one of the request's, once, and each
// required one is there.
func checkNativeAdm(t *testing.T, name, adm string, assets []nativeAsset) {
	t.Helper()
	var resp struct {
		Native *struct {
			Assets []nativeAsset `json:"assets"`
		} `json:"native"`
		Assets []nativeAsset `json:"assets"`
	}
	if err := json.Unmarshal([]byte(adm), &resp); err != nil {
		t.Fatalf("%s: native adm is not JSON: %v\n%s", name, err, adm)
	}
	got := resp.Assets
	if resp.Native != nil {
		got = resp.Native.Assets
	}
	seen := map[int]bool{}
	for _, a := range got {
		known := false
		for _, r := range assets {
			known = known || a.ID != nil && *r.ID == *a.ID
		}
		if !known || seen[*a.ID] {
			t.Fatalf("%s: native adm asset %v is none of the request's or twice: %s", name, a.ID, adm)
		}
		seen[*a.ID] = true
	}
	for _, r := range assets {
		if r.Required == 1 && !seen[*r.ID] {
			t.Fatalf("%s: native adm lacks required asset %d: %s", name, *r.ID, adm)
		}
	}
	if len(got) == 0 {
		t.Fatalf("%s: native adm without assets: %s", name, adm)
	}
}

func TestBidOnCorpus(t *testing.T) {
	_, c := testServer(t, nil)
	bids, natives := 0, 0
	for _, f := range corpus.Requests() {
		r := post(t, c, "/openrtb2/bid", f.Body)
		switch r.status {
		case fasthttp.StatusNoContent:
			if len(r.body) != 0 {
				t.Fatalf("%s: 204 with a body", f.Name)
			}
			continue
		case fasthttp.StatusOK:
		default:
			t.Fatalf("%s: status %d: %s", f.Name, r.status, r.body)
		}
		bids++
		natives += checkBidResponse(t, f.Name, f.Body, r)
	}
	// The demo data set is built to bid on the realistic part of the corpus.
	if want := len(corpus.Requests()) * 2 / 3; bids < want {
		t.Fatalf("demo data bid on %d of %d corpus requests; want at least %d", bids, len(corpus.Requests()), want)
	}
	// And on the native requests that name assets it has.
	if natives < 5 {
		t.Fatalf("demo data made %d native bids on the corpus; want at least 5", natives)
	}
	t.Logf("demo data bid on %d of %d corpus requests, %d native bids", bids, len(corpus.Requests()), natives)
}

// checkBidResponse checks an answer to a corpus request and returns how
// many native bids it has.
func checkBidResponse(t *testing.T, name string, reqBody []byte, r reply) (natives int) {
	t.Helper()
	var req corpusRequest
	if err := json.Unmarshal(reqBody, &req); err != nil {
		t.Fatalf("%s: oracle cannot decode request: %v", name, err)
	}
	var resp bidResponse
	if err := json.Unmarshal(r.body, &resp); err != nil {
		t.Fatalf("%s: response is not JSON: %v\n%s", name, err, r.body)
	}
	if string(r.header.Peek("X-Openrtb-Version")) != "2.6" || !bytes.HasPrefix(r.header.ContentType(), []byte("application/json")) {
		t.Fatalf("%s: missing headers: %s", name, r.header.String())
	}
	if resp.ID != req.ID || len(resp.SeatBid) == 0 || len(resp.SeatBid[0].Bid) == 0 {
		t.Fatalf("%s: bad response envelope: %s", name, r.body)
	}
	floors := map[string]float64{}
	assets := map[string][]nativeAsset{}
	for _, imp := range req.Imp {
		floors[imp.ID] = imp.BidFloor
		if imp.Native != nil {
			assets[imp.ID] = nativeAssets(t, name, imp.Native.Request, imp.Native.Assets)
		}
	}
	var bids []respBid
	for _, sb := range resp.SeatBid {
		if len(sb.Bid) == 0 {
			t.Fatalf("%s: a seatbid without bids: %s", name, r.body)
		}
		bids = append(bids, sb.Bid...)
	}
	for _, b := range bids {
		floor, ok := floors[b.ImpID]
		if !ok {
			t.Fatalf("%s: bid for unknown impid %q", name, b.ImpID)
		}
		if b.ID == "" || b.CrID == "" || len(b.ADomain) == 0 || b.MType < 1 || b.MType > 4 || b.AdM == "" {
			t.Fatalf("%s: bid misses required fields: %+v", name, b)
		}
		// Floors in the corpus are USD or converted; a USD response must meet
		// the raw floor when the request's floor currency is USD too.
		if !(b.Price > 0) || (resp.Cur == "USD" && !bytes.Contains(reqBody, []byte("bidfloorcur")) && b.Price < floor) {
			t.Fatalf("%s: price %v for floor %v (%s)", name, b.Price, floor, resp.Cur)
		}
		for _, u := range []string{b.NURL, b.BURL, b.LURL} {
			if !strings.HasPrefix(u, "http://rtbd.test/") || !strings.Contains(u, "${AUCTION_PRICE}") {
				t.Fatalf("%s: notice URL %q", name, u)
			}
		}
		if b.MType == 4 {
			checkNativeAdm(t, name, b.AdM, assets[b.ImpID])
			natives++
		}
	}
	return natives
}

// TestOverLimits: a valid request with more imps or badv entries than the
// parser keeps gets a no-bid, counted as over_limits, not a 400: exchanges
// count a 400 as the bidder's error (the HTTP audit).
func TestOverLimits(t *testing.T) {
	srv, c := testServer(t, nil)
	imps := strings.Repeat(`{"id":"i","banner":{"w":300,"h":250}},`, 64) + `{"id":"i","banner":{"w":300,"h":250}}`
	badv := strings.Repeat(`"a.com",`, 4096) + `"b.com"`
	counter := srv.exchanges[0].results[resOverLimits]
	for name, body := range map[string]string{
		"65 imps":   `{"id":"x","imp":[` + imps + `]}`,
		"4097 badv": `{"id":"x","badv":[` + badv + `],"imp":[{"id":"1","banner":{"w":300,"h":250}}]}`,
	} {
		before := counter.Get()
		if r := post(t, c, "/openrtb2/bid", []byte(body)); r.status != 204 || counter.Get() != before+1 {
			t.Fatalf("%s: %d %s, over_limits moved %d; want 204 and 1", name, r.status, r.body, counter.Get()-before)
		}
	}
	if r := post(t, c, "/openrtb2/bid", []byte(`{"id":"x","imp":[{"id":"1","banner":{"w":"wide"}}`)); r.status != 400 {
		t.Fatalf("malformed: %d; want 400", r.status)
	}
}

func TestBadInput(t *testing.T) {
	_, c := testServer(t, func(c *config.Config) { c.HTTP.MaxBodyBytes = 64 << 10 })
	f := func(name string, body []byte, wantStatus int, wantSubstr string, headers ...string) {
		t.Helper()
		r := post(t, c, "/openrtb2/bid", body, headers...)
		if r.status != wantStatus || !strings.Contains(string(r.body), wantSubstr) {
			t.Fatalf("%s: got %d %q; want %d containing %q", name, r.status, r.body, wantStatus, wantSubstr)
		}
	}
	f("malformed", []byte(`{"id":"x","imp":[{"id":"1"`), 400, "cannot parse")
	f("not an object", []byte(`"malformed"`), 400, "")
	f("null", []byte(`null`), 400, "")
	f("missing id", []byte(`{"imp":[{"id":"1","banner":{"w":300,"h":250}}]}`), 400, "id")
	f("empty imp", []byte(`{"id":"x","imp":[]}`), 400, "imp")
	f("wrong type", []byte(`{"id":"x","imp":"nope"}`), 400, "")
	f("deep nesting", append([]byte(`{"id":"x","ext":`), bytes.Repeat([]byte("["), 50000)...), 400, "")
	f("huge number", []byte(`{"id":"x","tmax":1e999,"imp":[{"id":"1","banner":{"w":300,"h":250}}]}`), 400, "")
	f("invalid utf-8", []byte("{\"id\":\"x\xff\",\"imp\":[{\"id\":\"1\",\"banner\":{\"w\":300,\"h\":250}}]}"), 400, "")
	// One in a field rtbd does not read (a user agent cut mid-character)
	// refuses nothing.
	f("invalid utf-8 in device.ua", []byte("{\"id\":\"x\",\"device\":{\"ua\":\"caf\xc3\"},\"imp\":[{\"id\":\"1\",\"banner\":{\"w\":300,\"h\":250}}]}"), 200, "seatbid")
	tooLarge(t, c, bytes.Repeat([]byte(" "), 65<<10))
	f("bad gzip", []byte("not gzip"), 400, "gzip", "Content-Encoding", "gzip")
	f("brotli", []byte("x"), 415, "Content-Encoding", "Content-Encoding", "br")
	f("gzip bomb", gzipBytes(t, bytes.Repeat([]byte(" "), 10<<20)), 413, "after gzip inflation", "Content-Encoding", "gzip")
	// Semantically invalid but well-formed: a clean no-bid, not an error.
	f("site and app", []byte(`{"id":"x","site":{},"app":{},"imp":[{"id":"1","banner":{"w":300,"h":250}}]}`), 204, "")
}

// tooLarge sends an oversized body over a raw connection while reading the
// answer: fasthttp answers 413 after the headers and closes without reading
// the body, so a client that first writes everything may see the
// connection closed instead of the answer.
func tooLarge(t *testing.T, c *fasthttp.Client, body []byte) {
	t.Helper()
	// fasthttp answers it before the handler: the header is readError's.
	if r := rawPost(t, c, "/openrtb2/bid", body); r.status != fasthttp.StatusRequestEntityTooLarge || string(r.header.Peek("X-Openrtb-Version")) != "2.6" {
		t.Fatalf("too large: status %d, x-openrtb-version %q; want 413 with 2.6", r.status, r.header.Peek("X-Openrtb-Version"))
	}
}

// rawPost sends a POST of body to path over a raw connection while
// reading the answer, which fasthttp may send, and close the connection,
// before it read the body (see tooLarge).
func rawPost(t testing.TB, c *fasthttp.Client, path string, body []byte) reply {
	t.Helper()
	return rawDo(t, c, fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: rtbd\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", path, len(body), body))
}

// rawDo sends req, a request as bytes on the wire, over a new connection
// while reading the answer, and returns the answer.
func rawDo(t testing.TB, c *fasthttp.Client, req []byte) reply {
	t.Helper()
	conn, err := c.Dial("rtbd")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go conn.Write(req) //nolint:errcheck // the server may close first
	var resp fasthttp.Response
	if err := resp.Read(bufio.NewReader(conn)); err != nil {
		t.Fatalf("%.40q: cannot read the answer: %v", req, err)
	}
	r := reply{status: resp.StatusCode(), body: append([]byte(nil), resp.Body()...), header: new(fasthttp.ResponseHeader)}
	resp.Header.CopyTo(r.header)
	return r
}

func TestMethodAndPath(t *testing.T) {
	_, c := testServer(t, nil)
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	req.SetRequestURI("http://rtbd/openrtb2/bid")
	if err := c.Do(req, resp); err != nil || resp.StatusCode() != 405 || string(resp.Header.Peek("Allow")) != "POST" {
		t.Fatalf("GET bid: %v %d %q", err, resp.StatusCode(), resp.Header.Peek("Allow"))
	}
	if r := post(t, c, "/nope", []byte("{}")); r.status != 404 {
		t.Fatalf("unknown path: %d", r.status)
	}
}

func TestGzipRequestAndResponse(t *testing.T) {
	_, c := testServer(t, func(c *config.Config) { c.HTTP.GzipMinBytes = 1 })
	body := corpusFile(t, "iab__2.6-video.json")
	plain := post(t, c, "/openrtb2/bid", body)
	if plain.status != 200 || len(plain.header.Peek("Content-Encoding")) != 0 {
		t.Fatalf("plain request: %d %q", plain.status, plain.header.Peek("Content-Encoding"))
	}
	r := post(t, c, "/openrtb2/bid", gzipBytes(t, body), "Content-Encoding", "gzip", "Accept-Encoding", "gzip")
	if r.status != 200 || string(r.header.Peek("Content-Encoding")) != "gzip" {
		t.Fatalf("gzip request: %d %q", r.status, r.header.Peek("Content-Encoding"))
	}
	gunzipBids(t, r.body)
}

// gunzipBids decodes a gzipped bid response with bids.
func gunzipBids(t *testing.T, body []byte) bidResponse {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("response is not gzip: %v", err)
	}
	var resp bidResponse
	if err := json.NewDecoder(zr).Decode(&resp); err != nil || len(resp.SeatBid) == 0 {
		t.Fatalf("cannot decode gzipped response with bids: %v", err)
	}
	return resp
}

// TestLowercaseHeaderNames sends the header names in lower case, as
// HTTP/2 front ends and several HTTP/1.1 clients do: header names are
// case-insensitive, so the gzip body is still inflated and the answer
// still gzipped.
func TestLowercaseHeaderNames(t *testing.T) {
	_, c := testServer(t, func(c *config.Config) { c.HTTP.GzipMinBytes = 1 })
	body := gzipBytes(t, corpusFile(t, "iab__2.6-video.json"))
	req := fmt.Appendf(nil, "POST /openrtb2/bid HTTP/1.1\r\nhost: rtbd\r\ncontent-type: application/json\r\n"+
		"content-encoding: gzip\r\naccept-encoding: gzip\r\nx-openrtb-version: 2.6\r\ncontent-length: %d\r\n\r\n%s", len(body), body)
	r := rawDo(t, c, req)
	if r.status != 200 || string(r.header.Peek("Content-Encoding")) != "gzip" {
		t.Fatalf("lower-case header names: %d, Content-Encoding %q: %s", r.status, r.header.Peek("Content-Encoding"), r.body)
	}
	gunzipBids(t, r.body)
}

// TestOpenRTBVersionHeader: every answer, a bid, a no-bid or an error,
// carries x-openrtb-version 2.6, and requests are counted by the version
// they declare, none when they declare none.
func TestOpenRTBVersionHeader(t *testing.T) {
	_, c := testServer(t, func(c *config.Config) { c.Bidding.MinTimeLeft = config.Duration(50 * time.Millisecond) })
	bid := corpusFile(t, "iab__2.6-video.json")
	noBid := bytes.Replace(bid, []byte(`"tmax": 120`), []byte(`"tmax": 20`), 1)
	if bytes.Equal(noBid, bid) {
		t.Fatalf("fixture changed: no tmax 120 in iab__2.6-video.json")
	}
	for _, tc := range []struct {
		name, version string
		body          []byte
		status        int
		counter       int // in versionCounts
	}{
		{"bid", "2.5", bid, 200, 5},
		{"no bid", "2.6", noBid, 204, 6},
		{"bad request", "2.0", []byte(`{"id":`), 400, 0},
		{"no header", "", bid, 200, 7},
		{"unknown version", "3.0", bid, 200, 8},
		{"unknown minor", "2.7", bid, 200, 8},
		{"longer", "2.5.1", bid, 200, 8},
	} {
		counter := versionCounts[tc.counter]
		before := counter.Get()
		var headers []string
		if tc.version != "" {
			headers = []string{"x-openrtb-version", tc.version}
		}
		r := post(t, c, "/openrtb2/bid", tc.body, headers...)
		if r.status != tc.status || string(r.header.Peek("X-Openrtb-Version")) != "2.6" {
			t.Fatalf("%s: %d with x-openrtb-version %q; want %d with 2.6", tc.name, r.status, r.header.Peek("X-Openrtb-Version"), tc.status)
		}
		if got := counter.Get() - before; got != 1 {
			t.Fatalf("%s: version counter %d moved by %d; want 1", tc.name, tc.counter, got)
		}
	}
	var out bytes.Buffer
	metrics.WritePrometheus(&out, false)
	for _, v := range []string{"2.0", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "none", "other"} {
		if !strings.Contains(out.String(), `rtbd_bid_request_versions_total{version="`+v+`"}`) {
			t.Fatalf("/metrics lacks the %s series of rtbd_bid_request_versions_total", v)
		}
	}
}

// TestHugeTmax: a tmax past any real one is held to a minute: multiplied
// into a Duration as it came, 10^13 ms wrapped negative and the request
// got a timeout no-bid at once (the HTTP audit).
func TestHugeTmax(t *testing.T) {
	_, c := testServer(t, func(c *config.Config) { c.Bidding.MinTimeLeft = config.Duration(50 * time.Millisecond) })
	bid := corpusFile(t, "iab__2.6-video.json")
	for _, tmax := range []string{"10000000000000", "9223372036855", "60001"} {
		body := bytes.Replace(bid, []byte(`"tmax": 120`), []byte(`"tmax": `+tmax), 1)
		if r := post(t, c, "/openrtb2/bid", body); r.status != 200 {
			t.Fatalf("tmax %s: %d %s; want a bid", tmax, r.status, r.body)
		}
	}
}

// TestBodySizeLimit checks http.maxBodyBytes at its edge: a body of
// exactly the limit is answered, plain or inflated from gzip, and one
// byte more gets 413 either way.
func TestBodySizeLimit(t *testing.T) {
	const limit = 64 << 10
	_, c := testServer(t, func(c *config.Config) { c.HTTP.MaxBodyBytes = limit })
	body := corpusFile(t, "iab__2.6-video.json")
	// Trailing white space keeps the request valid JSON.
	atLimit := append(bytes.Clone(body), bytes.Repeat([]byte(" "), limit-len(body))...)
	over := append(bytes.Clone(atLimit), ' ')
	if r := post(t, c, "/openrtb2/bid", atLimit); r.status != 200 {
		t.Fatalf("plain body of %d bytes, the limit: %d %s", len(atLimit), r.status, r.body)
	}
	if r := post(t, c, "/openrtb2/bid", gzipBytes(t, atLimit), "Content-Encoding", "gzip"); r.status != 200 {
		t.Fatalf("gzip body inflating to %d bytes, the limit: %d %s", len(atLimit), r.status, r.body)
	}
	tooLarge(t, c, over)
	if r := post(t, c, "/openrtb2/bid", gzipBytes(t, over), "Content-Encoding", "gzip"); r.status != 413 {
		t.Fatalf("gzip body inflating to %d bytes, one over the limit: %d %s", len(over), r.status, r.body)
	}
}

func TestNoBidBody(t *testing.T) {
	_, c := testServer(t, func(c *config.Config) { c.Bidding.NoBidBody = true })
	r := post(t, c, "/openrtb2/bid", []byte(`{"id":"nb-1","imp":[{"id":"1","banner":{"w":1,"h":1}}]}`))
	var v struct {
		ID  string `json:"id"`
		NBR *int   `json:"nbr"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &v) != nil || v.ID != "nb-1" || v.NBR == nil {
		t.Fatalf("no-bid body: %d %s", r.status, r.body)
	}
}

func TestDeadlineTooShort(t *testing.T) {
	srv, c := testServer(t, func(c *config.Config) { c.Bidding.MinTimeLeft = config.Duration(50 * time.Millisecond) })
	body := bytes.Replace(corpusFile(t, "iab__2.6-video.json"), []byte(`"tmax": 120`), []byte(`"tmax": 20`), 1)
	if !bytes.Contains(body, []byte(`"tmax": 20`)) {
		t.Fatalf("fixture changed: no tmax 120 in iab__2.6-video.json")
	}
	before := srv.exchanges[0].results[resTimeout].Get()
	if r := post(t, c, "/openrtb2/bid", body); r.status != 204 {
		t.Fatalf("tmax 20ms with 50ms needed: status %d; want 204", r.status)
	}
	if srv.exchanges[0].results[resTimeout].Get() != before+1 {
		t.Fatalf("timeout counter did not move")
	}
}

// TestDeadlineCountsQueueAge: tmax counts from arrival, so a request
// that waited (the probe's estimate) too long for its tmax gets the fast
// no-bid although its handler has the time.
func TestDeadlineCountsQueueAge(t *testing.T) {
	srv, c := testServer(t, func(c *config.Config) { c.Shedding.MaxQueueAge = config.Duration(time.Second) })
	srv.queue = &stats.QueueProbe{}
	body := bytes.Replace(corpusFile(t, "iab__2.6-video.json"), []byte(`"tmax": 120`), []byte(`"tmax": 40`), 1)
	if r := post(t, c, "/openrtb2/bid", body); r.status != 200 {
		t.Fatalf("tmax 40ms, no queue: status %d; want 200", r.status)
	}
	for i := 0; i < 40; i++ {
		srv.queue.Observe(50 * time.Millisecond)
	}
	before := srv.exchanges[0].results[resTimeout].Get()
	if r := post(t, c, "/openrtb2/bid", body); r.status != 204 || srv.exchanges[0].results[resTimeout].Get() != before+1 {
		t.Fatalf("tmax 40ms after a 50ms wait: status %d, timeouts %d; want 204 and one timeout", r.status, srv.exchanges[0].results[resTimeout].Get()-before)
	}
}

// TestShedding: a shed request gets shedding.status, and requests bid
// again once the queue is gone.
func TestShedding(t *testing.T) {
	for _, status := range []int{204, 503} {
		srv, c := testServer(t, func(c *config.Config) {
			c.Shedding.MaxQueueAge = config.Duration(5 * time.Millisecond)
			c.Shedding.Status = status
		})
		probe := &stats.QueueProbe{}
		srv.queue = probe
		for range 40 {
			probe.Observe(20 * time.Millisecond)
		}
		before := srv.exchanges[0].results[resShed].Get()
		if r := post(t, c, "/openrtb2/bid", corpusFile(t, "iab__2.6-video.json")); r.status != status {
			t.Fatalf("shed status %d; want %d", r.status, status)
		}
		if srv.exchanges[0].results[resShed].Get() != before+1 {
			t.Fatalf("shed counter did not move")
		}
		for range 40 {
			probe.Observe(0)
		}
		if r := post(t, c, "/openrtb2/bid", corpusFile(t, "iab__2.6-video.json")); r.status != 200 {
			t.Fatalf("after the load went away: status %d; want 200", r.status)
		}
	}
}

// TestShedOnQueueAge shows that requests answer at once, instead of
// queueing further, while the probe's canaries come back late.
func TestShedOnQueueAge(t *testing.T) {
	srv, c := testServer(t, func(c *config.Config) { c.Shedding.MaxQueueAge = config.Duration(5 * time.Millisecond) })
	srv.queue = &stats.QueueProbe{}
	before := srv.exchanges[0].results[resShed].Get()
	if r := post(t, c, "/openrtb2/bid", corpusFile(t, "iab__2.6-video.json")); r.status != 200 {
		t.Fatalf("no queue: status %d; want 200", r.status)
	}
	for i := 0; i < 40; i++ {
		srv.queue.Observe(20 * time.Millisecond)
	}
	if r := post(t, c, "/openrtb2/bid", corpusFile(t, "iab__2.6-video.json")); r.status != 204 || srv.exchanges[0].results[resShed].Get() != before+1 {
		t.Fatalf("20ms queue age over a 5ms limit: status %d, shed %d; want 204 and one shed", r.status, srv.exchanges[0].results[resShed].Get()-before)
	}
}

func TestDrainClosesConnections(t *testing.T) {
	srv, c := testServer(t, nil)
	if !srv.Ready() {
		t.Fatalf("not ready after SetReady(true)")
	}
	r := post(t, c, "/openrtb2/bid", corpusFile(t, "iab__2.6-video.json"))
	if r.header.ConnectionClose() {
		t.Fatalf("Connection: close before drain")
	}
	srv.Drain()
	if srv.Ready() {
		t.Fatalf("still ready while draining")
	}
	r = post(t, c, "/openrtb2/bid", corpusFile(t, "iab__2.6-video.json"))
	if r.status != 200 || !r.header.ConnectionClose() {
		t.Fatalf("while draining: status %d, Connection: close %v; want 200 and true", r.status, r.header.ConnectionClose())
	}
}

func corpusFile(t testing.TB, name string) []byte {
	t.Helper()
	b, ok := corpus.Request(name)
	if !ok {
		t.Fatalf("no corpus request %s", name)
	}
	return b
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestPrivacyScrubsUserIDs sends a COPPA request with user and device ids:
// it is counted as restricted, and a bid's notice URLs carry no user key.
func TestPrivacyScrubsUserIDs(t *testing.T) {
	_, c := testServer(t, nil)
	body := []byte(`{"id":"p1","regs":{"coppa":1},"user":{"id":"kid-1"},"device":{"ifa":"ifa-1"},"site":{"domain":"news.example"},
		"imp":[{"id":"1","video":{"mimes":["video/mp4"],"minduration":5,"maxduration":30,"protocols":[2,3,5,6],"w":640,"h":480}}]}`)
	before := privacyNoPersonal.Get()
	r := post(t, c, "/openrtb2/bid", body)
	if r.status != 200 {
		t.Fatalf("status %d; want a contextual bid", r.status)
	}
	if privacyNoPersonal.Get() != before+1 {
		t.Fatalf("COPPA request not counted as restricted")
	}
	if !bytes.Contains(r.body, []byte("uk=0000000000000000")) {
		t.Fatalf("a COPPA bid carries a user key: %s", r.body)
	}
}

// TestPrivacyTCFConsent sends one video request under GDPR with three
// TCF strings: all purposes granted (a personalised bid, with the user
// key), all refused (no bid, counted) and a grant that leaves out the
// operator's vendor id (no bid when the id is configured).
func TestPrivacyTCFConsent(t *testing.T) {
	const (
		// Prebid Server's AMP tests: all 24 purposes, vendors 1-32.
		granted = "CPdiPIJPdiPIJACABBENAzCv_____3___wAAAQNd_X9cAAAAAAAA"
		// The GPP specification's example: no purpose, no vendor.
		refused = "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"
	)
	body := func(consent string) []byte {
		return []byte(`{"id":"g1","regs":{"gdpr":1},"user":{"id":"eu-user-1","consent":"` + consent + `"},"site":{"domain":"news.example"},
		"imp":[{"id":"1","video":{"mimes":["video/mp4"],"minduration":5,"maxduration":30,"protocols":[2,3,5,6],"w":640,"h":480}}]}`)
	}
	srv, c := testServer(t, nil)
	r := post(t, c, "/openrtb2/bid", body(granted))
	if r.status != 200 || bytes.Contains(r.body, []byte("uk=0000000000000000")) {
		t.Fatalf("granted consent: status %d, body %s; want a bid with the user's key", r.status, r.body)
	}
	noBids, reasons := privacyNoBid.Get(), srv.exchanges[0].reasons[decision.ReasonNoConsent].Get()
	if r = post(t, c, "/openrtb2/bid", body(refused)); r.status != 204 {
		t.Fatalf("refused consent: status %d, body %s; want 204", r.status, r.body)
	}
	if privacyNoBid.Get() != noBids+1 || srv.exchanges[0].reasons[decision.ReasonNoConsent].Get() != reasons+1 {
		t.Fatalf("the refused consent's no-bid was not counted")
	}
	_, c = testServer(t, func(cfg *config.Config) { cfg.Bidding.GDPRVendorID = 755 })
	if r = post(t, c, "/openrtb2/bid", body(granted)); r.status != 204 {
		t.Fatalf("consent without vendor 755: status %d, body %s; want 204", r.status, r.body)
	}
	bad := privacyBadConsent.Get()
	if r = post(t, c, "/openrtb2/bid", body("not-a-tcf-string")); r.status != 200 || !bytes.Contains(r.body, []byte("uk=0000000000000000")) {
		t.Fatalf("undecodable consent: status %d, body %s; want a contextual bid", r.status, r.body)
	}
	if privacyBadConsent.Get() != bad+1 {
		t.Fatalf("the undecodable consent string was not counted")
	}
}

// TestGDPRRequireConsent: under GDPR without a TCF string, the default
// bids contextually; with bidding.gdprRequireConsent it does not bid,
// counted as no_consent, unless the exchange's own setting says
// otherwise; a granted consent bids either way.
func TestGDPRRequireConsent(t *testing.T) {
	const granted = "CPdiPIJPdiPIJACABBENAzCv_____3___wAAAQNd_X9cAAAAAAAA"
	body := func(user string) []byte {
		return []byte(`{"id":"g2","regs":{"gdpr":1},"user":{` + user + `},"site":{"domain":"news.example"},
		"imp":[{"id":"1","video":{"mimes":["video/mp4"],"minduration":5,"maxduration":30,"protocols":[2,3,5,6],"w":640,"h":480}}]}`)
	}
	no, bad, ok := body(`"id":"eu-user-2"`), body(`"id":"eu-user-2","consent":"not-a-tcf-string"`), body(`"id":"eu-user-2","consent":"`+granted+`"`)
	_, c := testServer(t, nil)
	for _, b := range [][]byte{no, bad} {
		if r := post(t, c, "/openrtb2/bid", b); r.status != 200 {
			t.Fatalf("no usable TCF string, default: status %d; want a contextual bid", r.status)
		}
	}
	off := false
	srv, c := testServer(t, func(cfg *config.Config) {
		cfg.Bidding.GDPRRequireConsent = true
		cfg.Exchanges = []config.Exchange{{Name: "lax", BidPath: "/lax", GDPRRequireConsent: &off}, {Name: "strict", BidPath: "/strict"}}
	})
	for _, path := range []string{"/openrtb2/bid", "/strict"} {
		x := srv.exchangeAt([]byte(path))
		for _, b := range [][]byte{no, bad} {
			reasons := x.reasons[decision.ReasonNoConsent].Get()
			if r := post(t, c, path, b); r.status != 204 || x.reasons[decision.ReasonNoConsent].Get() != reasons+1 {
				t.Fatalf("%s, gdprRequireConsent, no usable TCF string: status %d; want 204 counted as no_consent", path, r.status)
			}
		}
		if r := post(t, c, path, ok); r.status != 200 {
			t.Fatalf("%s, gdprRequireConsent, granted consent: status %d; want a bid", path, r.status)
		}
	}
	if r := post(t, c, "/lax", no); r.status != 200 {
		t.Fatalf("exchange with gdprRequireConsent false: status %d; want a contextual bid", r.status)
	}
	// /admin/explain decides as the exchange it names would.
	a := NewAdmin(srv, srv.eng.Reload, nil)
	for x, want := range map[string]string{"strict": `"reason":"no_consent"`, "lax": `"reason":"bid"`} {
		if _, out := adminDo(t, a, "POST", "/admin/explain?exchange="+x, no); !strings.Contains(out, want) {
			t.Fatalf("explain as %s without a TCF string: %s; want %s", x, out, want)
		}
	}
}

// rawRequest is a bid request as bytes on the wire.
func rawRequest(body []byte, gz bool) []byte {
	b := []byte("POST /openrtb2/bid HTTP/1.1\r\nHost: rtbd\r\nContent-Type: application/json\r\n")
	if gz {
		b = append(b, "Content-Encoding: gzip\r\nAccept-Encoding: gzip\r\n"...)
	}
	b = fasthttp.AppendUint(append(b, "Content-Length: "...), len(body))
	b = append(b, "\r\n\r\n"...)
	return append(b, body...)
}

func TestRequestDurationCountsEveryAnswer(t *testing.T) {
	srv, c := testServer(t, nil)
	before := srv.exchanges[0].duration.Count()
	post(t, c, "/openrtb2/bid", []byte(`{`))                                                    // 400
	post(t, c, "/openrtb2/bid", corpusFile(t, "iab__2.6-video.json"))                           // 200
	post(t, c, "/openrtb2/bid", []byte(`{"id":"x","imp":[{"id":"1","banner":{"w":1,"h":1}}]}`)) // 204
	if got := srv.exchanges[0].duration.Count() - before; got != 3 {
		t.Fatalf("request duration histogram counted %d of 3 answers", got)
	}
}

// TestConcurrentAnswersStayIntact has many connections ask at once, so
// that pooled bid contexts pass from one request to the next while
// fasthttp still writes the previous answers: each answer must still be
// its own request's (id and imp ids), whole and valid JSON. The answer's
// buffer changes hands with fasthttp (Response.SwapBody); a context that
// kept writing into the buffer it gave away would garble answers here,
// and -race reports the overlap.
//
// Every request must bid, so none may be shed or time out: CI runs this
// under -race beside other packages, where a request once waited past
// the 20 ms of shedding.maxQueueAge (or its own tmax of 250 ms) and got
// a 204. Both are tested on their own.
func TestConcurrentAnswersStayIntact(t *testing.T) {
	_, c := testServer(t, func(c *config.Config) { c.Shedding.MaxQueueAge = config.Duration(time.Minute) })
	bodies := campaign.GenerateCTVRequests(64, 7)
	tmax := regexp.MustCompile(`"tmax":[0-9]+`)
	for i, b := range bodies {
		bodies[i] = tmax.ReplaceAll(b, []byte(`"tmax":600000`))
	}
	const workers, rounds = 8, 8
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- askAll(c, bodies, w, rounds)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// askAll sends bodies rounds times from offset w and checks each answer
// against its request.
func askAll(c *fasthttp.Client, bodies [][]byte, w, rounds int) error {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://rtbd/openrtb2/bid")
	req.Header.SetMethod("POST")
	for i := range rounds * len(bodies) {
		body := bodies[(w*7+i)%len(bodies)]
		req.SetBody(body)
		if err := c.Do(req, resp); err != nil {
			return err
		}
		var in corpusRequest
		if err := json.Unmarshal(body, &in); err != nil {
			return err
		}
		if resp.StatusCode() != fasthttp.StatusOK {
			return fmt.Errorf("request %s: status %d, want a bid", in.ID, resp.StatusCode())
		}
		var out bidResponse
		if err := json.Unmarshal(resp.Body(), &out); err != nil {
			return fmt.Errorf("request %s: answer is not JSON (%v): %q", in.ID, err, resp.Body())
		}
		if out.ID != in.ID {
			return fmt.Errorf("request %s answered with id %q", in.ID, out.ID)
		}
		var imps []string
		for _, imp := range in.Imp {
			imps = append(imps, imp.ID)
		}
		for _, sb := range out.SeatBid {
			for _, b := range sb.Bid {
				if !slices.Contains(imps, b.ImpID) {
					return fmt.Errorf("request %s answered for imp %q it does not have", in.ID, b.ImpID)
				}
			}
		}
	}
	return nil
}

// TestLongestHostIDFitsTheEventLog: the bid ids of a host with the longest
// bidding.hostID that config accepts, for a test request (the longest
// ids), are kept whole by the event log, which joins notices to their
// bids and tells test bids by them.
func TestLongestHostIDFitsTheEventLog(t *testing.T) {
	host := strings.Repeat("h", config.MaxHostID)
	_, c := testServer(t, func(cfg *config.Config) {
		cfg.Bidding.HostID = host
		if err := cfg.Validate(); err != nil {
			t.Fatalf("a %d-byte hostID is refused: %v", len(host), err)
		}
	})
	ids := 0
	for _, f := range corpus.Requests() {
		// Last, so that it replaces a "test":0 of the request.
		body := append(bytes.TrimSuffix(bytes.TrimSpace(f.Body), []byte("}")), `,"test":1}`...)
		r := post(t, c, "/openrtb2/bid", body)
		if r.status != fasthttp.StatusOK {
			continue
		}
		var resp bidResponse
		if err := json.Unmarshal(r.body, &resp); err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		for _, sb := range resp.SeatBid {
			for _, b := range sb.Bid {
				var rec eventlog.Record
				rec.SetBidID([]byte(b.ID))
				if got := string(rec.BidID()); got != b.ID || !strings.HasPrefix(b.ID, host+"-") || !decision.IsTestBidID(rec.BidID()) {
					t.Fatalf("%s: bid id %q (%d bytes) is %q in the event log; want it whole, from host %q, a test bid's", f.Name, b.ID, len(b.ID), got, host)
				}
				ids++
			}
		}
	}
	if ids == 0 {
		t.Fatal("no corpus request got a bid")
	}
}
