package config

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default() is invalid: %v", err)
	}
}

func TestParseOverridesDefaults(t *testing.T) {
	c, err := Parse([]byte(`{"http":{"listenAddress":"127.0.0.1:18080","readTimeout":"750ms"},
		"bidding":{"currency":"EUR","rates":{"EUR":0.92}},"drain":{"delay":"0s"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.ListenAddress != "127.0.0.1:18080" || c.HTTP.ReadTimeout.D() != 750*time.Millisecond {
		t.Fatalf("overrides not applied: %+v", c.HTTP)
	}
	if c.HTTP.BidPath != "/openrtb2/bid" || c.HTTP.MaxBodyBytes != 256<<10 {
		t.Fatalf("defaults lost: %+v", c.HTTP)
	}
	if c.Drain.Delay != 0 || c.Drain.Timeout.D() != 5*time.Second {
		t.Fatalf("drain: %+v", c.Drain)
	}
	c, err = Parse([]byte(`{"state":{"peers":["http://10.0.0.2:9091","http://[fd00::2]:9091/"],"peerListenAddress":"10.0.0.1:9091"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.State.Peers) != 2 || c.State.PeerInterval.D() != time.Second || c.State.RetireAfterDays != 30 {
		t.Fatalf("state: %+v", c.State)
	}
	if c, err = Parse([]byte(`{"bidding":{"winReservation":"0s"}}`)); err != nil || c.Bidding.WinReservation != 0 {
		t.Fatalf("bidding.winReservation 0s: %v, %s; want reservations off", err, c.Bidding.WinReservation.D())
	}
	if !Default().Bidding.OpenBesideDeal {
		t.Fatal("bidding.openBesideDeal is off by default; want on")
	}
	if c, err = Parse([]byte(`{"bidding":{"openBesideDeal":false}}`)); err != nil || c.Bidding.OpenBesideDeal {
		t.Fatalf("bidding.openBesideDeal false: %v, %v; want off", err, c.Bidding.OpenBesideDeal)
	}
	// Price keys by exchange: a configured one, the default, a bill-on-win path.
	if _, err = Parse([]byte(`{"exchanges":[{"name":"adx","bidPath":"/adx"}],"http":{"billOnWinBidPaths":["/nb"]},"bidding":{"priceKeysFiles":{"adx":"/a","default":"/d","/nb":"/n"}}}`)); err != nil {
		t.Fatalf("bidding.priceKeysFiles of adx, default and /nb: %v", err)
	}
	if c, err = Parse([]byte(`{"bidding":{"blockUnknownCategories":true}}`)); err != nil || !c.Bidding.BlockUnknownCategories || Default().Bidding.BlockUnknownCategories {
		t.Fatalf("bidding.blockUnknownCategories true: %v, %v; want on, and off by default", err, c.Bidding.BlockUnknownCategories)
	}
	if c, err = Parse([]byte(`{"data":{"deadman":"10m"}}`)); err != nil || c.Data.Deadman.D() != 10*time.Minute || Default().Data.Deadman != 0 {
		t.Fatalf("data.deadman 10m: %v, %s; want 10m, and off by default", err, c.Data.Deadman.D())
	}
	if c, err = Parse([]byte(`{"bidding":{"hostID":"Bidder_eu-west.1-0001"}}`)); err != nil || c.Bidding.HostID != "Bidder_eu-west.1-0001" {
		t.Fatalf("a 21-byte bidding.hostID of every allowed kind of byte: %v, %q", err, c.Bidding.HostID)
	}
	if c, err = Parse([]byte(`{"bidding":{"transactionWindow":"2s","transactionSlots":1000}}`)); err != nil ||
		c.Bidding.TransactionWindow.D() != 2*time.Second || c.Bidding.TransactionSlots != 1000 || Default().Bidding.TransactionWindow != 0 {
		t.Fatalf("bidding.transactionWindow 2s: %v, %s, %d; want 2s and 1000 slots, and off by default", err, c.Bidding.TransactionWindow.D(), c.Bidding.TransactionSlots)
	}
	// An exchange's first-price shading: its own, else bidding's; and
	// autoShading over its defaults.
	c, err = Parse([]byte(`{"bidding":{"firstPriceShading":0.7},"http":{"billOnWinBidPaths":["/w"]},"exchanges":[` +
		`{"name":"a","bidPath":"/a","minToWin":true,"firstPriceShading":0.9,"autoShading":{}},` +
		`{"name":"b","bidPath":"/b","minToWin":true,"autoShading":{"min":0.6,"explore":0.1}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var shades []float64
	for _, e := range c.Endpoints() {
		shades = append(shades, e.FirstPriceShading)
	}
	if a, b := c.Exchanges[0].AutoShading, c.Exchanges[1].AutoShading; !slices.Equal(shades, []float64{0.7, 0.9, 0.7, 0.7}) ||
		a == nil || *a != (AutoShading{Min: 0.5, Explore: 0.05}) || b == nil || *b != (AutoShading{Min: 0.6, Explore: 0.1}) {
		t.Fatalf("shading of the endpoints %v, autoShading %+v and %+v; want 0.7, 0.9, 0.7, 0.7 and {0.5 0.05}, {0.6 0.1}", shades, a, b)
	}
	if c.Endpoints()[0].AutoShading != nil {
		t.Fatal("the default endpoint learns its shading")
	}
	if c, err = Parse([]byte(`{"state":{"retireAfterDays":0}}`)); err != nil || c.State.RetireAfterDays != 0 {
		t.Fatalf("state.retireAfterDays 0: %v, %d; want retiring off", err, c.State.RetireAfterDays)
	}
	c, err = Parse([]byte(`{"http":{"billOnWinBidPaths":["/w"]},"exchanges":[{"name":"ssp-1","bidPath":"/openrtb2/ssp-1","billOnWin":true,"noBidBody":false},{"name":"ssp_2","bidPath":"/o/2"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if x := c.Exchanges; len(x) != 2 || x[0].Name != "ssp-1" || x[0].BidPath != "/openrtb2/ssp-1" || !x[0].BillOnWin || x[0].NoBidBody == nil || *x[0].NoBidBody ||
		x[1].Name != "ssp_2" || x[1].BillOnWin || x[1].NoBidBody != nil {
		t.Fatalf("exchanges: %+v", x)
	}
	if n := c.ExchangeNames(); !slices.Equal(n, []string{"ssp-1", "ssp_2", "/w"}) {
		t.Fatalf("ExchangeNames() = %q", n)
	}
	var got []string
	for _, e := range c.Endpoints() {
		got = append(got, fmt.Sprintf("%s %s %v %v", e.Name, e.BidPath, e.BillOnWin, *e.NoBidBody))
	}
	if want := []string{"default /openrtb2/bid false false", "ssp-1 /openrtb2/ssp-1 true false", "ssp_2 /o/2 false false", "/w /w true false"}; !slices.Equal(got, want) {
		t.Fatalf("Endpoints() = %q; want %q", got, want)
	}
	// Peers over HTTPS.
	if c, err = Parse([]byte(`{"state":{"peers":["https://10.0.0.2:9092","http://10.0.0.3:9091"],"peerTLS":{"listenAddress":":9092","certFile":"/c","keyFile":"/k","caFile":"/ca"}}}`)); err != nil || c.State.PeerTLS.CAFile != "/ca" {
		t.Fatalf("a file with https peers and state.peerTLS: %v, %+v", err, c.State.PeerTLS)
	}
	// The admin listener over HTTPS, beside the plain one on loopback.
	if c, err = Parse([]byte(`{"admin":{"tls":{"listenAddress":"10.1.0.5:9443","certFile":"/c","keyFile":"/k"}}}`)); err != nil || c.Admin.TLS.CertFile != "/c" || c.Admin.ListenAddress != "127.0.0.1:9090" {
		t.Fatalf("a file with admin.tls: %v, %+v", err, c.Admin)
	}
	// shedding.maxInFlight is ignored now, but files that set it load.
	if c, err = Parse([]byte(`{"shedding":{"maxInFlight":100}}`)); err != nil || c.Shedding.MaxQueueAge.D() != 20*time.Millisecond {
		t.Fatalf("a file with shedding.maxInFlight: %v, %+v; want it loaded with the default queue age", err, c.Shedding)
	}
}

func TestParseErrors(t *testing.T) {
	f := func(in, wantSubstr string) {
		t.Helper()
		_, err := Parse([]byte(in))
		if err == nil {
			t.Fatalf("Parse(%s): want an error containing %q", in, wantSubstr)
		}
		if !strings.Contains(err.Error(), wantSubstr) {
			t.Fatalf("Parse(%s): error %q does not contain %q", in, err, wantSubstr)
		}
	}
	f(`{"http":{"listenAdress":":1"}}`, `1:10: unknown field "listenAdress"`)
	f(`{"exchanges":[{"name":"a","bidPath":"/a","firstPriceShading":1.5}]}`, `exchanges[0].firstPriceShading (a) 1.5 must be in (0, 1]`)
	f(`{"exchanges":[{"name":"a","bidPath":"/a","firstPriceShading":-0.1}]}`, `exchanges[0].firstPriceShading (a) -0.1 must be in (0, 1]`)
	f(`{"exchanges":[{"name":"a","bidPath":"/a","autoShading":{}}]}`, `exchanges[0].autoShading (a) needs minToWin`)
	f(`{"exchanges":[{"name":"a","bidPath":"/a","minToWin":true,"autoShading":{"min":0}}]}`, `exchanges[0].autoShading.min (a) 0 must be in (0, 1]`)
	f(`{"exchanges":[{"name":"a","bidPath":"/a","minToWin":true,"autoShading":{"min":1.2}}]}`, `exchanges[0].autoShading.min (a) 1.2 must be in (0, 1]`)
	f(`{"exchanges":[{"name":"a","bidPath":"/a","minToWin":true,"autoShading":{"explore":0.6}}]}`, `exchanges[0].autoShading.explore (a) 0.6 must be in [0.01, 0.5]`)
	f(`{"exchanges":[{"name":"a","bidPath":"/a","minToWin":true,"autoShading":{"explore":0.001}}]}`, `exchanges[0].autoShading.explore (a) 0.001 must be in [0.01, 0.5]`)
	f(`{"exchanges":[{"name":"a","bidPath":"/a","minToWin":true,"autoShading":{"mim":0.5}}]}`, `1:73: unknown field "mim"`)
	f(`{"exchanges":[{"name":"a","bidPath":"/a","minToWin":true,"autoShading":true}]}`, `autoShading`)
	f(`{"http":{"tls":{"listenAddress":":8443","certFile":"/c"}}}`, "http.tls.listenAddress, http.tls.certFile and http.tls.keyFile go together")
	f(`{"http":{"tls":{"certFile":"/c","keyFile":"/k"}}}`, "http.tls.listenAddress, http.tls.certFile and http.tls.keyFile go together")
	f(`{"http":{"tls":{"keyFile":"/k"}}}`, "go together")
	f(`{"http":{"tls":{"listenAddress":"8443","certFile":"/c","keyFile":"/k"}}}`, `http.tls.listenAddress "8443"`)
	f(`{"bidding":{"priceKeysFiles":{"adx":"/k"}}}`, `bidding.priceKeysFiles: "adx" is not an exchange (default)`)
	f(`{"exchanges":[{"name":"adx","bidPath":"/adx"}],"bidding":{"priceKeysFiles":{"adx":""}}}`, `bidding.priceKeysFiles: "adx" has no file`)
	f(`{"http":{"listenAddress":"nope"}}`, "http.listenAddress")
	f(`{"http":{"readTimeout":5}}`, `1:24: http.readTimeout: cannot use 5 as a duration string such as "250ms"`)
	f("{\n\"drain\":{\"delay\":\"1s\",\n\"timeout\":\"5 parsecs\"}}", `3:11: drain.timeout: cannot use "5 parsecs" as a duration`)
	f("\xef\xbb\xbf{\"drain\":{\"delay\":1}}", `1:19: drain.delay: cannot use 1 as a duration`)
	f(`{"http":{"bidPath":"bid"}}`, "http.bidPath")
	f(`{"http":{"maxBodyBytes":10}}`, "http.maxBodyBytes")
	f(`{"http":{"writeBufferBytes":100}}`, "http.writeBufferBytes")
	f(`{"bidding":{"currency":"EURO"}}`, "bidding.currency")
	f(`{"bidding":{"currency":"EUR"}}`, `"EUR" has no entry in bidding.rates`)
	f(`{"bidding":{"rates":{"EUR":-1}}}`, `bidding.rates["EUR"]`)
	f(`{"bidding":{"gdprVendorID":70000}}`, "bidding.gdprVendorID 70000")
	f(`{"bidding":{"firstPriceShading":0}}`, "bidding.firstPriceShading 0 must be in (0, 1]")
	f(`{"bidding":{"firstPriceShading":1.2}}`, "bidding.firstPriceShading 1.2")
	f(`{"bidding":{"firstPriceShading":-0.5}}`, "bidding.firstPriceShading -0.5")
	f(`{"state":{"saveInterval":"10ms"}}`, "state.saveInterval 10ms must be at least 100ms")
	f(`{"state":{"saveInterval":"0s"}}`, "state.saveInterval 0s must be at least 100ms")
	f(`{"state":{"tablesInterval":"500ms"}}`, "state.tablesInterval 500ms must be at least 1s")
	f(`{"state":{"peerInterval":"50ms"}}`, "state.peerInterval 50ms must be at least 100ms")
	f(`{"state":{"peerListenAddress":"9091"}}`, "state.peerListenAddress")
	f(`{"bidding":{"requireSignedNotices":true}}`, "bidding.requireSignedNotices needs bidding.noticeKeyFile")
	f(`{"state":{"acceptPeersWithoutToken":true}}`, "state.acceptPeersWithoutToken needs state.peerTokenFile")
	f(`{"admin":{"metricsNeedToken":true}}`, "admin.metricsNeedToken needs admin.tokenFile")
	f(`{"admin":{"tls":{"listenAddress":":9443","keyFile":"/k"}}}`, "admin.tls.listenAddress, admin.tls.certFile and admin.tls.keyFile go together")
	f(`{"admin":{"tls":{"listenAddress":"localhost","certFile":"/c","keyFile":"/k"}}}`, `admin.tls.listenAddress "localhost"`)
	f(`{"state":{"retireAfterDays":-1}}`, "state.retireAfterDays -1 must be from 0 (never) to 36500")
	f(`{"state":{"retireAfterDays":"30"}}`, "retireAfterDays")
	f(`{"data":{"deadman":"500ms"}}`, "data.deadman 500ms must be from 1s to 720h, or 0 (off)")
	f(`{"data":{"deadman":"721h"}}`, "data.deadman 721h0m0s must be from 1s to 720h")
	f(`{"data":{"deadman":"-1m"}}`, "data.deadman -1m0s")
	f(`{"bidding":{"transactionWindow":"5ms"}}`, "bidding.transactionWindow 5ms must be from 10ms to 1h, or 0 (off)")
	f(`{"bidding":{"transactionWindow":"61m"}}`, "bidding.transactionWindow 1h1m0s")
	f(`{"bidding":{"transactionSlots":0}}`, "bidding.transactionSlots 0 must be from 1 to 134217728")
	f(`{"bidding":{"hostID":"bidder-eu-west-1-00001"}}`, `bidding.hostID "bidder-eu-west-1-00001" has 22 bytes: at most 21`)
	for _, bad := range []string{"a b", "a&b", "a/b", "a%b", "h\u00e9", `a\nb`, "a:b", `-t\u0000`} {
		f(`{"bidding":{"hostID":"`+bad+`"}}`, "want letters, digits, '.', '_' and '-' only")
	}
	f(`{"state":{"peers":["10.0.0.2:9091"]}}`, "must be http://HOST:PORT")
	f(`{"state":{"peers":["ftp://10.0.0.2:9091"]}}`, "must be http://HOST:PORT")
	f(`{"state":{"peers":["https://10.0.0.2"]}}`, "or https://HOST:PORT")
	f(`{"state":{"peerTLS":{"listenAddress":":9092","certFile":"/c"}}}`, "state.peerTLS.listenAddress, state.peerTLS.certFile and state.peerTLS.keyFile go together")
	f(`{"state":{"peerTLS":{"certFile":"/c","keyFile":"/k"}}}`, "state.peerTLS.listenAddress, state.peerTLS.certFile and state.peerTLS.keyFile go together")
	f(`{"state":{"peerTLS":{"listenAddress":"9092","certFile":"/c","keyFile":"/k"}}}`, `state.peerTLS.listenAddress "9092"`)
	f(`{"state":{"peerTLS":{"caFle":"/ca"}}}`, `unknown field "caFle"`)
	f(`{"state":{"peers":["http://10.0.0.2"]}}`, "must be http://HOST:PORT")
	f(`{"state":{"peers":["http://10.0.0.2:9091/state/spend"]}}`, "must be http://HOST:PORT")
	f(`{"state":{"peers":["http://10.0.0.2:9091","http://10.0.0.2:9091/"]}}`, "10.0.0.2:9091 is listed twice")
	f(`{"state":{"peers":["http://peer-a:9091","http://Peer-A:9091"]}}`, "Peer-A:9091 is listed twice")
	f(`{"state":{"peers":[":%"]}}`, "state.peers")
	f(`{"bidding":{"noticeDedupeSlots":-1}}`, "bidding.noticeDedupeSlots -1")
	f(`{"bidding":{"billOn":"nurl"}}`, `bidding.billOn "nurl" must be "bill" or "win"`)
	f(`{"http":{"billOnWinBidPaths":["openrtb2/x"]}}`, `http.billOnWinBidPaths: "openrtb2/x" must start with /`)
	f(`{"http":{"billOnWinBidPaths":[""]}}`, `http.billOnWinBidPaths: "" must start with /`)
	f(`{"http":{"billOnWinBidPaths":["/openrtb2/bid"]}}`, `"/openrtb2/bid" is listed twice or is http.bidPath`)
	f(`{"http":{"billOnWinBidPaths":["/x","/y","/x"]}}`, `"/x" is listed twice`)
	f(`{"http":{"billOnWinBidPaths":"/x"}}`, "billOnWinBidPaths")
	f(`{"http":{"billOnWinBidPaths":[`+strings.Repeat(`"/p",`, 64)+`"/p"]}}`, "have 65 paths; at most 64")
	f(`{"http":{"bidPath":"/openrtb2/win"}}`, `http.bidPath "/openrtb2/win" ends in a notice endpoint`)
	f(`{"http":{"billOnWinBidPaths":["/loss"]}}`, `http.billOnWinBidPaths: "/loss" ends in a notice endpoint`)
	f(`{"exchanges":[{"name":"a","bidPath":"/x/bill"}]}`, `exchanges[0].bidPath (a): "/x/bill" ends in a notice endpoint`)
	f(`{"exchanges":[{"name":"a","bidPath":"/a?b"}]}`, `exchanges[0].bidPath (a): "/a?b" must be a plain URL path`)
	f(`{"http":{"billOnWinBidPaths":["/a\"b"]}}`, `http.billOnWinBidPaths: "/a\"b" must be a plain URL path`)
	f(`{"http":{"billOnWinBidPaths":["/a b"]}}`, `must be a plain URL path`)
	f(`{"exchanges":[{"name":"a","bidPath":"x"}]}`, `exchanges[0].bidPath (a): "x" must start with /`)
	f(`{"exchanges":[{"name":"a","bidPath":"/openrtb2/bid"}]}`, `exchanges[0].bidPath (a): "/openrtb2/bid" is listed twice or is http.bidPath`)
	f(`{"http":{"billOnWinBidPaths":["/x"]},"exchanges":[{"name":"a","bidPath":"/x"}]}`, `exchanges[0].bidPath (a): "/x" is listed twice`)
	f(`{"exchanges":[{"name":"a","bidPath":"/a"},{"name":"b","bidPath":"/a"}]}`, `exchanges[1].bidPath (b): "/a" is listed twice`)
	f(`{"exchanges":[{"name":"a","bidPath":"/a"},{"name":"a","bidPath":"/b"}]}`, `exchanges[1].name "a" is taken`)
	f(`{"exchanges":[{"name":"default","bidPath":"/a"}]}`, `exchanges[0].name "default" is taken`)
	f(`{"exchanges":[{"name":"unknown","bidPath":"/a"}]}`, `exchanges[0].name "unknown" is taken`)
	f(`{"http":{"billOnWinBidPaths":["/`+strings.Repeat("p", 128)+`"]}}`, "is longer than 128 bytes")
	f(`{"exchanges":[{"name":"","bidPath":"/a"}]}`, `exchanges[0].name "" must be 1 to 32`)
	f(`{"exchanges":[{"name":"Magnite","bidPath":"/a"}]}`, `exchanges[0].name "Magnite" must be 1 to 32`)
	f(`{"exchanges":[{"name":"a\"b","bidPath":"/a"}]}`, `exchanges[0].name "a\"b" must be 1 to 32`)
	f(`{"exchanges":[{"name":"`+strings.Repeat("x", 33)+`","bidPath":"/a"}]}`, `must be 1 to 32`)
	f(`{"exchanges":[{"name":"a","bidPath":"/a","noBidBody":"yes"}]}`, `noBidBody`)
	f(`{"exchanges":[{"name":"a","bidPath":"/a","billonwin":true,"nbr":1}]}`, `unknown field "nbr"`)
	f(`{"http":{"billOnWinBidPaths":["/w"]},"exchanges":[`+strings.Repeat(`{"name":"a","bidPath":"/a"},`, 63)+`{"name":"b","bidPath":"/b"}]}`, "have 65 paths; at most 64")
	f(`{"bidding":{"winReservation":"-1s"}}`, "bidding.winReservation -1s must be whole seconds")
	f(`{"bidding":{"winReservation":"1500ms"}}`, "bidding.winReservation 1.5s must be whole seconds")
	f(`{"bidding":{"winReservation":"49h"}}`, "to 48h")
	f(`{"bidding":{"winReservationSlots":0}}`, "bidding.winReservationSlots 0 must be from 1")
	f(`{"bidding":{"noticeDedupeSlots":2147483648}}`, "bidding.noticeDedupeSlots 2147483648")
	f(`{"shedding":{"status":500}}`, "shedding.status")
	f(`{"drain":{"timeout":"0s"}}`, "drain.timeout 0s must be positive")
	f(`{"drain":{"delay":"-1s"}}`, "drain.delay -1s must not be negative")
	f(`{"http":{"readTimeout":"0s"}}`, "http.readTimeout must be positive")
	f(`{"bidding":{"defaultTmax":"0s"}}`, "bidding.defaultTmax must be positive")
	f(`{"bidding":{"noticeDedupeSlots":1073741825}}`, "bidding.noticeDedupeSlots 1073741825 must be from 0 (the default) to 1073741824")
	f(`{"bidding":{"winReservationSlots":67108865}}`, "bidding.winReservationSlots 67108865 must be from 1 to 67108864")
	f(`{"bidding":{"freqCapSlots":1073741825}}`, "bidding.freqCapSlots 1073741825 must be at most 1073741824")
	f(`{"bidding":{"freqCapSlots":4611686018427387905}}`, "bidding.freqCapSlots 4611686018427387905")
	f(`{"eventLog":{"ringSize":8388609}}`, "eventLog.ringSize 8388609 must be at most 8388608")
	f(`{"bidding":{"noticeBaseURL":"https://bid.example.com"}}`, "bidding.noticeBaseURL \"https://bid.example.com\" must be")
	f(`{"bidding":{"noticeBaseURL":"http://x/?a=b"}}`, "bidding.noticeBaseURL")
	f(`{"bidding":{"noticeBaseURL":"bid.example.com/"}}`, "bidding.noticeBaseURL")
	f(`{"bidding":{"noticeBaseURL":"ftp://bid.example.com/"}}`, "bidding.noticeBaseURL")
	f(`{"shedding":{"maxQueueAge":"0s"}}`, "shedding.maxQueueAge 0s must be positive")
	f(`{"bidding":{"minTimeLeft":"-1ms"}}`, "bidding.minTimeLeft -1ms must be from 0")
	f(`{"bidding":{"minTimeLeft":"100ms"}}`, "less than bidding.defaultTmax 100ms")
	f(`{"http":{"maxConns":-1}}`, "http.maxConns -1 must not be negative")
	f(`{"runtime":{"gogc":-1}}`, "runtime.gogc -1 must not be negative")
	f(`{"runtime":{"cpus":"2-7, 10-15"}}`, `runtime.cpus: cannot parse CPU list "2-7, 10-15"`)
	f(`{"runtime":{"cpus":"2-"}}`, `runtime.cpus: cannot parse CPU list "2-"`)
	f(`{"bidding":{"currency":"USD","Currency":"EUR"}}`, `key "Currency" a second time in one object`)
	f(`{"log":{"level":"loud"}}`, "log.level")
	f(`{"log":{"format":"xml"}}`, "log.format")
	f(`{} {}`, "1:4: unexpected data after the top-level value")
	f(`{`, "cannot parse config")
}

// TestParseAcceptsLimits: every bounded setting is accepted at its
// bounds, so that a bound one off would fail here (the errors past them
// are in TestParseErrors).
func TestParseAcceptsLimits(t *testing.T) {
	for _, in := range []string{
		`{"bidding":{"noticeDedupeSlots":1073741824}}`,
		`{"bidding":{"freqCapSlots":1073741824}}`,
		`{"eventLog":{"ringSize":8388608}}`,
		`{"bidding":{"noticeBaseURL":"https://bid.example.com/rtb/"}}`,
		`{"bidding":{"noticeBaseURL":"http://127.0.0.1:8080/"}}`,
		`{"bidding":{"minTimeLeft":"0s"}}`,
		`{"bidding":{"minTimeLeft":"99ms"}}`,
		`{"shedding":{"maxQueueAge":"1ns"}}`,
		`{"runtime":{"gogc":0}}`,
		`{"runtime":{"cpus":"0,2-7,10-15"}}`,
		`{"bidding":{"noticeDedupeSlots":0}}`,
		`{"bidding":{"winReservationSlots":67108864}}`,
		`{"bidding":{"winReservationSlots":1}}`,
		`{"bidding":{"winReservation":"48h"}}`,
		`{"bidding":{"transactionWindow":"1h"}}`,
		`{"bidding":{"transactionWindow":"10ms"}}`,
		`{"bidding":{"firstPriceShading":1}}`,
		`{"state":{"retireAfterDays":36500}}`,
		`{"data":{"deadman":"720h"}}`,
		`{"data":{"deadman":"1s"}}`,
		`{"drain":{"delay":"0s","timeout":"1ms"}}`,
		`{"http":{"billOnWinBidPaths":["/` + strings.Repeat("p", 127) + `"]}}`,
		`{"exchanges":[{"name":"` + strings.Repeat("x", 32) + `","bidPath":"/a"}]}`,
		`{"exchanges":[{"name":"a0-9_z","bidPath":"/a"}]}`,
		`{"exchanges":[{"name":"a","bidPath":"/a","minToWin":true,"autoShading":{"min":1,"explore":0.5}}]}`,
		`{"exchanges":[{"name":"a","bidPath":"/a","minToWin":true,"autoShading":{"min":0.01,"explore":0.01}}]}`,
	} {
		if _, err := Parse([]byte(in)); err != nil {
			t.Errorf("Parse(%s): %v; want it accepted", in, err)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.json"))
	if err == nil || !strings.Contains(err.Error(), "cannot read config") {
		t.Fatalf("got %v", err)
	}
	if _, err := Load("/dev/zero"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("/dev/zero: %v", err)
	}
	p := filepath.Join(t.TempDir(), "c.json")
	if err := os.WriteFile(p, []byte(`{"admin":{"listenAddress":""}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil || c.Admin.ListenAddress != "" {
		t.Fatalf("Load: %v %+v", err, c.Admin)
	}
}

func TestDurationJSONRoundTrip(t *testing.T) {
	d := Duration(1500 * time.Millisecond)
	b, err := d.MarshalJSON()
	if err != nil || string(b) != `"1.5s"` {
		t.Fatalf("MarshalJSON = %s, %v", b, err)
	}
	var back Duration
	if err := back.UnmarshalJSON(b); err != nil || back != d {
		t.Fatalf("UnmarshalJSON = %v, %v", back, err)
	}
}
