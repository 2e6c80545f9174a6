package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/corpus"
	"github.com/rtbd/rtbd/daemon/decision"
)

// These tests run the real rtbd binary on loopback: real sockets, real
// signals, real files. They cover the lifecycle promises of DESIGN.md
// section 2 that unit tests cannot: notices replayed across the wire count
// once, SIGTERM flushes the event log, kill -9 loses at most the unflushed
// tail, and -dryRun validates data at build time.

var rtbdBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rtbd-bin-")
	if err != nil {
		panic(err)
	}
	rtbdBin = filepath.Join(dir, "rtbd")
	out, err := exec.Command("go", "build", "-o", rtbdBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot build rtbd: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon is one running rtbd process.
type daemon struct {
	cmd       *exec.Cmd
	bid       string // http://127.0.0.1:port
	admin     string
	token     string // admin.tokenFile's, which reload sends; "": none
	stderr    *bytes.Buffer
	waitOnce  sync.Once
	waitErr   error
	eventsDir string
}

// freePorts returns two loopback addresses free a moment ago. Both
// listeners stay open until both are chosen: closing the first before
// opening the second could get the same port twice.
//
// rtbd binds them only once it has started, so something else may take a
// port in between. The ports come from below the kernel's ephemeral range,
// where neither bind(0) nor an outgoing connection's source port lands:
// TestPeersShareCaps failed when one daemon's peer port, drawn from that
// range, was taken before the daemon bound it. Below it only an explicit
// bind can collide, and ports are handed out in turn from a random start.
func freePorts(t *testing.T) (string, string) {
	t.Helper()
	var addrs [2]string
	for i := range addrs {
		for try := 0; ; try++ {
			if try == 1000 {
				t.Fatal("no free loopback port below the ephemeral range in 1000 tries")
			}
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(nextPort()))
			if err != nil {
				continue // in use
			}
			defer ln.Close()
			addrs[i] = ln.Addr().String()
			break
		}
	}
	return addrs[0], addrs[1]
}

// portLow is the first port freePorts uses; its ports end where the
// kernel's ephemeral range (net.ipv4.ip_local_port_range) starts. Where that
// cannot be read, or starts below portLow+1000, they end at 32768, Linux's
// default start, and may then overlap the range.
const portLow = 10000

var (
	portSeq  atomic.Uint32
	portHigh = sync.OnceValue(func() int {
		b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
		if f := strings.Fields(string(b)); err == nil && len(f) == 2 {
			if lo, err := strconv.Atoi(f[0]); err == nil && lo > portLow+1000 {
				return lo
			}
		}
		return 32768
	})
)

func init() { portSeq.Store(rand.Uint32()) }

// nextPort returns the next port of freePorts' sequence.
func nextPort() int {
	span := uint32(portHigh() - portLow)
	return portLow + int(portSeq.Add(1)%span)
}

// startDaemon writes cfg (with listen addresses filled in) and starts rtbd,
// returning once /readyz answers 200.
func startDaemon(t *testing.T, cfg map[string]any) *daemon {
	t.Helper()
	d := launchDaemon(t, cfg)
	d.waitReadyz(t, http.StatusOK)
	return d
}

// launchDaemon is startDaemon without the wait until it is ready.
func launchDaemon(t *testing.T, cfg map[string]any) *daemon {
	t.Helper()
	bidAddr, adminAddr := freePorts(t)
	httpCfg, _ := cfg["http"].(map[string]any)
	if httpCfg == nil {
		httpCfg = map[string]any{}
	}
	httpCfg["listenAddress"] = bidAddr
	cfg["http"] = httpCfg
	adminCfg, _ := cfg["admin"].(map[string]any)
	if adminCfg == nil {
		adminCfg = map[string]any{}
	}
	adminCfg["listenAddress"] = adminAddr
	cfg["admin"] = adminCfg
	path := filepath.Join(t.TempDir(), "rtbd.json")
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	d := &daemon{bid: "http://" + bidAddr, admin: "http://" + adminAddr, stderr: &bytes.Buffer{}}
	d.cmd = exec.Command(rtbdBin, "-config", path)
	d.cmd.Stderr = &lockedWriter{w: d.stderr}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		d.wait()
		if t.Failed() {
			t.Logf("rtbd stderr:\n%s", d.stderr)
		}
	})
	return d
}

// waitReadyz polls d's /readyz until it answers status, for 10 s at most.
func (d *daemon) waitReadyz(t *testing.T, status int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(d.admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == status {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("rtbd's /readyz did not answer %d in 10 s: %v", status, err)
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline, not synchronisation
	}
}

// stop sends SIGTERM and fails the test unless rtbd drains and exits 0.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := d.wait(); err != nil {
		t.Fatalf("rtbd did not exit 0 after SIGTERM: %v", err)
	}
}

func (d *daemon) wait() error {
	d.waitOnce.Do(func() { d.waitErr = d.cmd.Wait() })
	return d.waitErr
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// String returns what was written so far, while writes go on.
func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

// metrics scrapes /metrics and returns every series with its value.
func (d *daemon) metrics(t *testing.T) map[string]float64 {
	t.Helper()
	resp, err := http.Get(d.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("bad metric line %q", line)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (d *daemon) metric(t *testing.T, series string) float64 {
	t.Helper()
	v, ok := d.metrics(t)[series]
	if !ok {
		t.Fatalf("no series %s on /metrics", series)
	}
	return v
}

// waitMetric polls d's series until ok(value), for at most 10 s; what
// says what was awaited, for the failure.
func (d *daemon) waitMetric(t *testing.T, series string, ok func(v float64) bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for v := d.metric(t, series); !ok(v); v = d.metric(t, series) {
		if time.Now().After(deadline) {
			t.Fatalf("%s within 10 s: %s is %v", what, series, v)
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline, not synchronisation
	}
}

type bid struct {
	ID, NURL, BURL, LURL string
	DealID               string
	Price                float64
}

// postBid sends a corpus request and returns the bids of the answer.
func (d *daemon) postBid(t *testing.T, body []byte) (int, []bid) {
	t.Helper()
	return d.postBidTo(t, "/openrtb2/bid", body)
}

// postBidTo is postBid on the bid endpoint path.
func (d *daemon) postBidTo(t *testing.T, path string, body []byte) (int, []bid) {
	t.Helper()
	resp, err := http.Post(d.bid+path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		SeatBid []struct{ Bid []bid } `json:"seatbid"`
	}
	if resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	var out []bid
	for _, sb := range v.SeatBid {
		out = append(out, sb.Bid...)
	}
	return resp.StatusCode, out
}

// reload asks the daemon to reload (POST /admin/reload) and returns the
// status: 200, or 422 when the reload failed and changed nothing.
func (d *daemon) reload(t *testing.T) int {
	t.Helper()
	return d.adminPost(t, "/admin/reload", d.token)
}

// notice fires a notice URL after substituting the clearing price, as an
// exchange does, and rewriting its host to the daemon's listener.
func (d *daemon) notice(t *testing.T, raw string, price string) {
	t.Helper()
	if code := d.fire(t, raw, price); code != 204 {
		t.Fatalf("notice %s: status %d", raw, code)
	}
}

// fire sends a notice URL as notice does and returns its status.
func (d *daemon) fire(t *testing.T, raw, price string) int {
	t.Helper()
	u, err := url.Parse(strings.Replace(raw, "${AUCTION_PRICE}", price, 1))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(d.bid + u.Path + "?" + u.RawQuery)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func logCat(t *testing.T, dir string) []map[string]any {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(rtbdBin, "log", "cat", "-dir", dir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("rtbd log cat: %v\n%s", err, stderr.String())
	}
	var recs []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(stdout.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("rtbd log cat printed a line that is not JSON: %q", line)
		}
		recs = append(recs, r)
	}
	return recs
}

func countKinds(recs []map[string]any) map[string]int {
	n := map[string]int{}
	for _, r := range recs {
		n[r["kind"].(string)]++
	}
	return n
}

// TestNoticesReplayedAndSIGTERMFlush bids, fires every win and billing
// notice twice, then stops the daemon with SIGTERM: replays count once,
// spend moves once, and the event log holds every bid and notice, the
// notices with their bid's price.
func TestNoticesReplayedAndSIGTERMFlush(t *testing.T) {
	events := t.TempDir()
	d := startDaemon(t, map[string]any{
		"eventLog": map[string]any{"dir": events},
		"drain":    map[string]any{"delay": "0s"},
	})
	bids := d.corpusBids(t, 20)
	for _, b := range bids {
		for i := 0; i < 2; i++ {
			d.notice(t, b.NURL, "1.5")
			d.notice(t, b.BURL, "1.5")
		}
	}
	if got := d.metric(t, `rtbd_notices_total{kind="bill",result="ok"}`); got != float64(len(bids)) {
		t.Fatalf("bill ok = %v; want %d", got, len(bids))
	}
	if got := d.metric(t, `rtbd_notices_total{kind="bill",result="duplicate"}`); got != float64(len(bids)) {
		t.Fatalf("bill duplicate = %v; want %d", got, len(bids))
	}
	d.stop(t)
	recs := logCat(t, events)
	kinds := countKinds(recs)
	if kinds["bid"] != len(bids) || kinds["win"] != len(bids) || kinds["bill"] != len(bids) {
		t.Fatalf("event log kinds %v; want %d bids, wins and bills", kinds, len(bids))
	}
	// Each notice record carries its bid's price, from the URL's bp.
	prices := map[string]float64{}
	for _, b := range bids {
		prices[b.ID] = b.Price
	}
	for _, r := range recs {
		if k := r["kind"]; (k == "win" || k == "bill") && r["bid_price"] != prices[r["bid_id"].(string)] {
			t.Fatalf("%s record of bid %v: bid_price %v; want the bid's %v", k, r["bid_id"], r["bid_price"], prices[r["bid_id"].(string)])
		}
	}
}

// TestLogStatsByExchangeAndDeal bids on two exchanges, through deals
// too, bills every bid and stops rtbd: `rtbd log cat` gives each record
// its exchange and each deal bid its deal, and `rtbd log stats` sums the
// records and the spend by exchange and by deal. The first bill on ssp-a
// states a price above its bid's: it is charged the bid's, and stats
// shows what it asked above it. The others are charged below their bids:
// stats sums the bids' prices and what the bills saved on them.
func TestLogStatsByExchangeAndDeal(t *testing.T) {
	events := t.TempDir()
	d := startDaemon(t, map[string]any{
		"exchanges": []map[string]any{{"name": "ssp-a", "bidPath": "/ssp-a/bid"}},
		"eventLog":  map[string]any{"dir": events},
		"drain":     map[string]any{"delay": "0s"},
	})
	want := map[string]*statLine{} // by "exchange NAME" and "deal ID EXCHANGE"
	const price = 0.01             // below every bid: the bills are not capped
	const above = 999              // above every bid: capped
	n := 0                         // bids; every fourth one is lost
	testBills, testCPM := 0, 0.0   // bills of test requests' bids: no spend
	dealTestBills := 0
	for i, f := range corpus.Requests() {
		body := f.Body
		if i%3 == 1 { // a test request; last, so that it replaces a "test":0
			body = append(bytes.TrimSuffix(bytes.TrimSpace(body), []byte("}")), `,"test":1}`...)
		}
		for _, x := range []struct{ name, path string }{{"default", "/openrtb2/bid"}, {"ssp-a", "/ssp-a/bid"}} {
			code, bids := d.postBidTo(t, x.path, body)
			if code == 204 {
				lineOf(want, "exchange "+x.name).nobids++
			}
			for _, b := range bids {
				keys := []string{"exchange " + x.name, "deal " + b.DealID + " " + x.name}
				if b.DealID == "" {
					keys = keys[:1]
				}
				for _, key := range keys {
					lineOf(want, key).bids++
				}
				if n++; n%4 == 0 { // lost: its loss notice, with a code or none (logged as unknown)
					code := [...]string{"102", "101", "${AUCTION_LOSS}"}[n/4%3]
					d.notice(t, strings.Replace(b.LURL, "${AUCTION_LOSS}", code, 1), "1")
					if code[0] == '$' {
						code = "unknown"
					}
					for _, key := range keys {
						l := lineOf(want, key)
						l.losses++
						l.lossReasons[code]++
					}
					continue
				}
				test := decision.IsTestBidID([]byte(b.ID))
				fired, charged := price, price
				if l := lineOf(want, "exchange "+x.name); x.name == "ssp-a" && l.capped == 0 && !test {
					fired, charged = above, b.Price
					l.capped, l.excess = 1, above-b.Price
				}
				d.notice(t, b.NURL, strconv.FormatFloat(fired, 'f', -1, 64))
				d.notice(t, b.BURL, strconv.FormatFloat(fired, 'f', -1, 64))
				if test { // a record of its kind, no spend
					testBills, testCPM = testBills+1, testCPM+charged
					lineOf(want, keys[0]).wins++
					lineOf(want, keys[0]).bills++
					if len(keys) > 1 {
						dealTestBills++
						lineOf(want, keys[1]).wins++
						lineOf(want, keys[1]).testBills++
					}
					continue
				}
				for _, key := range keys {
					l := lineOf(want, key)
					l.wins++
					l.bills++
					l.cpm += charged
				}
				l := lineOf(want, "exchange "+x.name)
				l.bidBills++
				l.bidCPM += b.Price
				l.discount += b.Price - charged
			}
		}
	}
	dealWins, dealLosses := 0, 0
	codes := map[string]bool{}
	for k, w := range want {
		if strings.HasPrefix(k, "deal ") {
			dealWins, dealLosses = dealWins+w.wins, dealLosses+w.losses
		}
		for code := range w.lossReasons {
			codes[code] = true
		}
	}
	if want["deal deal-id-1 ssp-a"] == nil || want["exchange default"] == nil || dealWins == 0 || dealLosses == 0 || len(codes) != 3 {
		t.Fatalf("no deal bid on ssp-a, no bid on default, no deal bid won or lost (%d, %d), or not 3 loss codes (%v): %v", dealWins, dealLosses, codes, want)
	}
	if dealTestBills == 0 || testBills == dealTestBills {
		t.Fatalf("%d test requests' bids billed, %d through deals: test both kinds", testBills, dealTestBills)
	}
	// rtbd_deal_* count the same, per deal over both exchanges, as they happen.
	m := d.metrics(t)
	byDeal := map[string]*statLine{}
	for k, w := range want {
		if f := strings.Fields(k); f[0] == "deal" {
			l := lineOf(byDeal, f[1])
			l.bids, l.wins, l.losses, l.bills, l.cpm = l.bids+w.bids, l.wins+w.wins, l.losses+w.losses, l.bills+w.bills+w.testBills, l.cpm+w.cpm
			for code, n := range w.lossReasons {
				l.lossReasons[code] += n
			}
		}
	}
	for id, w := range byDeal {
		l := `{deal="` + id + `"`
		if m["rtbd_deal_bids_total"+l+"}"] != float64(w.bids) || m["rtbd_deal_notices_total"+l+`,kind="win"}`] != float64(w.wins) ||
			m["rtbd_deal_notices_total"+l+`,kind="loss"}`] != float64(w.losses) || m["rtbd_deal_notices_total"+l+`,kind="bill"}`] != float64(w.bills) ||
			math.Abs(m["rtbd_deal_spend_total"+l+"}"]-w.cpm/1000) > 1e-12 {
			t.Fatalf("deal %s: metrics %v; want %+v", id, m, w)
		}
		for code, n := range w.lossReasons {
			if code == "0" { // the log's code of a notice without one
				code = "unknown"
			}
			if got := m["rtbd_deal_losses_total"+l+`,reason="`+code+`"}`]; got != float64(n) {
				t.Fatalf("deal %s: %v losses of reason %s; want %d (metrics %v)", id, got, code, n, m)
			}
		}
	}
	d.stop(t)
	// Each notice names its bid's deal, or its lack of one, from its URL.
	records := logCat(t, events)
	deals := map[any]any{} // by bid id
	for _, r := range records {
		if r["kind"] == "bid" && (r["exchange"] == "" || r["deal_id"] == nil) {
			t.Fatalf("bid record without an exchange: %v", r)
		}
		if r["kind"] == "bid" {
			deals[r["bid_id"]] = r["deal_id"]
		}
	}
	dealNotices := 0
	for _, r := range records {
		if k := r["kind"]; k == "win" || k == "bill" || k == "loss" {
			if r["deal_id"] != deals[r["bid_id"]] || r["deal_known"] != true {
				t.Fatalf("%s record with deal_id %v, deal_known %v; its bid's is %v: %v", k, r["deal_id"], r["deal_known"], deals[r["bid_id"]], r)
			}
			if r["deal_id"] != "" {
				dealNotices++
			}
		}
	}
	if dealNotices == 0 {
		t.Fatal("no notice record names a deal")
	}
	out, err := exec.Command(rtbdBin, "log", "stats", "-dir", events).Output()
	if err != nil {
		t.Fatalf("rtbd log stats: %v", err)
	}
	got := map[string]*statLine{}
	nobids := 0 // by reason
	gotTestBills, gotTestCPM := 0, 0.0
	for _, s := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var v struct {
			Type, Exchange, DealID string
			Reason                 int
			ReasonName             string `json:"reason_name"`
			Records                int
			Bid, NoBid, Win, Bill  int
			Loss                   int
			Bids, Wins, Losses     int
			Bills                  int
			CPMSum                 float64        `json:"cpm_sum"`
			CappedBills            int            `json:"capped_bills"`
			CappedCPMExcess        float64        `json:"capped_cpm_excess"`
			BidBills               int            `json:"bid_bills"`
			BidCPMSum              float64        `json:"bid_cpm_sum"`
			DiscountCPMSum         float64        `json:"discount_cpm_sum"`
			LossReasons            map[string]int `json:"loss_reasons"`
		}
		if err := json.Unmarshal([]byte(strings.Replace(s, `"deal_id"`, `"DealID"`, 1)), &v); err != nil {
			t.Fatalf("rtbd log stats line %q: %v", s, err)
		}
		switch v.Type {
		case "exchange":
			l := lineOf(got, "exchange "+v.Exchange)
			l.bids, l.nobids, l.wins, l.losses, l.bills, l.lossReasons = v.Bid, v.NoBid, v.Win, v.Loss, v.Bill, v.LossReasons
		case "exchange_spend":
			l := lineOf(got, "exchange "+v.Exchange)
			l.cpm, l.capped, l.excess = v.CPMSum, v.CappedBills, v.CappedCPMExcess
			l.bidBills, l.bidCPM, l.discount = v.BidBills, v.BidCPMSum, v.DiscountCPMSum
		case "deal":
			l := lineOf(got, "deal "+v.DealID+" "+v.Exchange)
			l.bids, l.wins, l.losses, l.bills, l.cpm, l.lossReasons = v.Bids, v.Wins, v.Losses, v.Bills, v.CPMSum, v.LossReasons
		case "test_bills":
			gotTestBills, gotTestCPM = gotTestBills+v.Bills, gotTestCPM+v.CPMSum
		case "nobid_reason": // named as the decision package names them
			if v.ReasonName != decision.Reason(v.Reason).String() || v.Reason == 0 {
				t.Fatalf("rtbd log stats line %q: want a no-bid reason named %q", s, decision.Reason(v.Reason))
			}
			nobids += v.Records
		}
	}
	if w := lineOf(want, "exchange default").nobids + lineOf(want, "exchange ssp-a").nobids; nobids != w || w == 0 {
		t.Fatalf("rtbd log stats counts %d no-bids by reason; want the %d of the exchange lines, some\n%s", nobids, w, out)
	}
	if gotTestBills != testBills || math.Abs(gotTestCPM-testCPM) > 1e-9 {
		t.Fatalf("rtbd log stats counts %d test bills of CPM %v; want %d of %v\n%s", gotTestBills, gotTestCPM, testBills, testCPM, out)
	}
	if len(got) != len(want) {
		t.Fatalf("rtbd log stats:\n%s\nwant %d exchange and deal lines", out, len(want))
	}
	for k, w := range want {
		g := got[k]
		if g == nil || g.bids != w.bids || g.nobids != w.nobids || g.wins != w.wins || g.losses != w.losses || g.bills != w.bills || math.Abs(g.cpm-w.cpm) > 1e-9 ||
			g.capped != w.capped || math.Abs(g.excess-w.excess) > 1e-9 ||
			g.bidBills != w.bidBills || math.Abs(g.bidCPM-w.bidCPM) > 1e-9 || math.Abs(g.discount-w.discount) > 1e-9 ||
			!maps.Equal(g.lossReasons, w.lossReasons) {
			t.Fatalf("%s: got %+v; want %+v\n%s", k, g, w, out)
		}
	}
}

// statLine is what `rtbd log stats` says of an exchange or a deal.
type statLine struct {
	bids, nobids, wins, losses, bills, capped, bidBills int
	testBills                                           int            // a deal's bills of test requests' bids
	lossReasons                                         map[string]int // losses by code
	// excess: capped bills' price above their bids'; bidCPM: the billed
	// bids' prices; discount: the bills' prices below them.
	cpm, excess, bidCPM, discount float64
}

// lineOf returns m's line for key, adding it.
func lineOf(m map[string]*statLine, key string) *statLine {
	if m[key] == nil {
		m[key] = &statLine{lossReasons: map[string]int{}}
	}
	return m[key]
}

// TestKillNineKeepsFlushedRecords kills rtbd with SIGKILL while it writes
// the event log: every record it had counted as written is readable, and a
// torn tail is skipped without an error.
func TestKillNineKeepsFlushedRecords(t *testing.T) {
	events := t.TempDir()
	d := startDaemon(t, map[string]any{
		"eventLog": map[string]any{"dir": events, "flushInterval": "20ms"},
	})
	body := corpusBody(t, "iab__2.6-video.json")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ { // keep the writer busy while we kill it
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-ctx.Done():
					return
				default:
				}
				resp, err := http.Post(d.bid+"/openrtb2/bid", "application/json", bytes.NewReader(body))
				if err != nil {
					return // the daemon is gone
				}
				resp.Body.Close()
			}
		}()
	}
	var written float64
	for written < 2000 && ctx.Err() == nil {
		written = d.metric(t, "rtbd_eventlog_records_total")
	}
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	d.wait()
	close(stop)
	wg.Wait()
	recs := logCat(t, events)
	if float64(len(recs)) < written {
		t.Fatalf("read %d records after kill -9; %v had been written", len(recs), written)
	}
	t.Logf("kill -9: %v records counted as written before the kill, %d read back", written, len(recs))
}

func TestDryRun(t *testing.T) {
	dir := t.TempDir()
	f := func(campaigns string, wantCode int, wantSubstr string) {
		t.Helper()
		cp := filepath.Join(dir, "campaigns.json")
		if err := os.WriteFile(cp, []byte(campaigns), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := filepath.Join(dir, "rtbd.json")
		b, _ := json.Marshal(map[string]any{"data": map[string]any{"campaignsFile": cp}})
		if err := os.WriteFile(cfg, b, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(rtbdBin, "-config", cfg, "-dryRun").CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != wantCode || !strings.Contains(string(out), wantSubstr) {
			t.Fatalf("-dryRun: exit %d, output %q; want %d containing %q", code, out, wantCode, wantSubstr)
		}
	}
	good := `{"version":1,"campaigns":[{"id":"c1","adomain":["a.com"],"value":2,"maxCpm":3,
		"creatives":[{"id":"cr1","type":"banner","w":300,"h":250,"markup":"<div></div>"}]}]}`
	f(good, 0, "valid")
	f(strings.Replace(good, `"maxCpm":3`, `"maxCpm":-3`, 1), 1, `campaign "c1": maxCpm`)
	f(`{"version":1,"campaigns":[}`, 1, "campaigns.json:1:")
	out, err := exec.Command(rtbdBin, "-config", filepath.Join(dir, "missing.json")).CombinedOutput()
	if err == nil || !regexp.MustCompile(`cannot read config`).Match(out) {
		t.Fatalf("missing config: %v %q", err, out)
	}
}

// TestUnknownCommand: a mistyped command or a stray argument exits 2 with
// the list of commands instead of serving the demo data (on a host, beside
// the service), and "help" prints the usage.
func TestUnknownCommand(t *testing.T) {
	bid, admin := freePorts(t)
	for word, args := range map[string][]string{
		"stats":  {"stats"},
		"docter": {"docter", "-config", "x"},
		"extra":  {"-listen", bid, "-admin.listen", admin, "extra"},
	} {
		cmd := exec.Command(rtbdBin, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		done := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), fmt.Sprintf("unknown command %q", word)) ||
				!strings.Contains(stderr.String(), "doctor, gen, irq, log, peers-ready, state") {
				t.Fatalf("rtbd %v: %v, stderr %q; want exit 2 naming the command and listing the commands", args, err, stderr.String())
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("rtbd %v still runs after 10 s (serving?); want exit 2", args)
		}
	}
	out, err := exec.Command(rtbdBin, "help").Output()
	if err != nil || !strings.Contains(string(out), "Commands:") || !strings.Contains(string(out), "-config") {
		t.Fatalf("rtbd help: %v, %q; want the usage with commands and flags", err, out)
	}
}

func corpusBody(t *testing.T, name string) []byte {
	t.Helper()
	b, ok := corpus.Request(name)
	if !ok {
		t.Fatalf("no corpus file %s", name)
	}
	return b
}

// TestQuietSysmon checks that rtbd serves with GODEBUG's schedtrace set
// (runtime.quietSysmon, on by default), re-executed in place: the process
// the test started, same pid, has it in its environment. Turned off, the
// environment is left as it was.
func TestQuietSysmon(t *testing.T) {
	godebug := func(d *daemon) string {
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", d.cmd.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		for kv := range strings.SplitSeq(string(env), "\x00") {
			if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
				return v
			}
		}
		return ""
	}
	if got := godebug(startDaemon(t, map[string]any{})); got != "schedtrace=2147483647" {
		t.Errorf("by default rtbd serves with GODEBUG=%q; want schedtrace=2147483647", got)
	}
	off := startDaemon(t, map[string]any{"runtime": map[string]any{"quietSysmon": false}})
	if got := godebug(off); got != "" {
		t.Errorf("with runtime.quietSysmon false rtbd serves with GODEBUG=%q; want none", got)
	}
}
