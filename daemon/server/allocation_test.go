//go:build !race

package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/rtbd/rtbd/daemon/config"
	"github.com/rtbd/rtbd/daemon/engine"
	"github.com/rtbd/rtbd/daemon/eventlog"
	"github.com/rtbd/rtbd/daemon/notice"
)

// TestHandlerNoAlloc proves that the whole bid path allocates nothing in
// steady state: fasthttp reading the request, gunzip, parse, decision,
// encoding, gzip, metrics, the event-log record and writing the response. The client side writes raw bytes
// and reads into a reused fasthttp.Response so it adds no allocation either.
func TestHandlerNoAlloc(t *testing.T) {
	cfg := config.Default()
	cfg.Bidding.NoticeBaseURL = "http://rtbd.test/"
	cfg.Bidding.DefaultTmax = config.Duration(1 << 40)
	cfg.HTTP.GzipMinBytes = 1
	cfg.Bidding.TransactionWindow = config.Duration(time.Hour)
	cfg.Exchanges = []config.Exchange{{Name: "alloc-b", BidPath: "/alloc-b"},
		{Name: "alloc-fp", BidPath: "/alloc-fp", MinToWin: true, FirstPriceShading: 0.8, AutoShading: &config.AutoShading{Min: 0.5, Explore: 0.5}}}
	eng, err := engine.New(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A real event log: bids and no-bids push records through its ring.
	evCfg := cfg.EventLog
	evCfg.Dir = t.TempDir()
	events, err := eventlog.Open(evCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	srv := New(Options{Config: &cfg, Engine: eng, Events: events})
	ln := fasthttputil.NewInmemoryListener()
	defer ln.Close()
	go srv.Serve(ln) //nolint:errcheck
	conn, err := ln.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	var resp fasthttp.Response

	send := func(name string, raw []byte, wantStatus int) {
		if _, err := conn.Write(raw); err != nil {
			t.Fatal(err)
		}
		if err := resp.Read(br); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode() != wantStatus {
			t.Fatalf("%s: status %d; want %d", name, resp.StatusCode(), wantStatus)
		}
	}
	f := func(name string, body []byte, gz bool, wantStatus int) {
		t.Helper()
		raw := rawRequest(body, gz)
		do := func() { send(name, raw, wantStatus) }
		for i := 0; i < 50; i++ { // warm pools and grow buffers
			do()
		}
		if n := testing.AllocsPerRun(200, do); n != 0 {
			t.Fatalf("%s: %v allocations per request; want 0", name, n)
		}
	}
	video := corpusFile(t, "iab__2.6-video.json")
	f("video bid", video, false, 200)
	f("gzip video bid", gzipBytes(t, video), true, 200)
	f("pod bid", corpusFile(t, "pbs__adapter-out-freewheel-ssp-dynamic-pod.json"), false, 200)
	f("structured pod bid", corpusFile(t, "iab__impl-pod-structured.json"), false, 200)
	f("hybrid pod bid", corpusFile(t, "iab__impl-pod-hybrid.json"), false, 200)
	f("no bid", []byte(`{"id":"x","imp":[{"id":"1","banner":{"w":1,"h":1}}]}`), false, 204)

	// Transactions (bidding.transactionWindow): each request a new
	// source.tid that its bid claims, then one already bid on, by another
	// path.
	var raws [][]byte
	for i := range 300 {
		raws = append(raws, rawRequest(withSource(t, video, fmt.Sprintf("break-%d", i), 0, 0), false))
	}
	next := 0
	claim := func() { send("new transaction", raws[next], 200); next++ }
	for range 50 {
		claim()
	}
	if n := testing.AllocsPerRun(200, claim); n != 0 {
		t.Fatalf("bids claiming their transaction: %v allocations per request; want 0", n)
	}
	// By another path (exchange): the one that bid may bid again.
	dup := bytes.Replace(raws[0], []byte("/openrtb2/bid"), []byte("/alloc-b"), 1)
	if n := testing.AllocsPerRun(200, func() { send("duplicate transaction", dup, 204) }); n != 0 {
		t.Fatalf("duplicate transaction: %v allocations per request; want 0", n)
	}

	// First-price requests to an exchange with autoShading: about half
	// of them explore (unshaded, marked), by their ids.
	raws, next = raws[:0], 0
	for i := range 300 {
		raws = append(raws, bytes.Replace(rawRequest(firstPrice(t, video, fmt.Sprintf("fp-%d", i)), false), []byte("/openrtb2/bid"), []byte("/alloc-fp"), 1))
	}
	fp := func() { send("first-price request", raws[next], 200); next++ }
	for range 50 {
		fp()
	}
	est := eng.Shading()["alloc-fp"]
	est.Update(time.Now())
	before := est.State()
	if n := testing.AllocsPerRun(200, fp); n != 0 {
		t.Fatalf("first-price requests with autoShading: %v allocations per request; want 0", n)
	}
	est.Update(time.Now())
	if got := est.State().Bids - before.Bids; got < 70 || got > 130 {
		t.Fatalf("%v of 201 first-price requests explored; want about half", got)
	}
}

// firstPrice returns body with "at" 1 and the id id.
func firstPrice(t *testing.T, body []byte, id string) []byte {
	t.Helper()
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	req["at"], req["id"] = 1, id
	out, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEventSinkNoAlloc: the event log's record of a notice, exchange,
// stated price and mtw included, allocates nothing.
func TestEventSinkNoAlloc(t *testing.T) {
	evCfg := config.Default().EventLog
	evCfg.Dir = t.TempDir()
	evCfg.FlushInterval = config.Duration(time.Hour) // no flush while counting
	events, err := eventlog.Open(evCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	sink := EventSink(events)
	e := notice.Event{Kind: notice.KindBill, Exchange: []byte("ssp-a"), BidID: []byte("b1"), CampaignID: []byte("c1"),
		ImpID: []byte("1"), Cur: []byte("USD"), Price: 2, StatedPrice: 25, MinToWin: 1.5, Loss: -1}
	if n := testing.AllocsPerRun(500, func() { sink.Notice(e) }); n != 0 {
		t.Fatalf("EventSink.Notice allocates %v times", n)
	}
}
