package engine

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/rtbd/rtbd/daemon/config"
	"github.com/rtbd/rtbd/daemon/corpus"
	"github.com/rtbd/rtbd/daemon/decision"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

func TestEngineMetrics(t *testing.T) {
	cfg := config.Default()
	cfg.Bidding.FreqCapSlots = 4096
	e, err := New(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.State().CountImpression(12345, 3600, time.Now().Unix())
	if _, err := e.State().Bill([]byte("video-telco"), 42, 5000, []byte("USD"), time.Now()); err != nil {
		t.Fatalf("cannot bill a demo campaign: %v", err)
	}
	var buf bytes.Buffer
	writeCampaignMetrics(&buf)
	out := buf.String()
	if got := strings.Count(out, "rtbd_campaign_spend_today{"); got != e.Snapshot().Campaigns() {
		t.Fatalf("%d spend series for %d campaigns", got, e.Snapshot().Campaigns())
	}
	// 5000 CPM is 5 in money: billing moves spend by price/1000.
	if !strings.Contains(out, `rtbd_campaign_spend_today{campaign="video-telco"} 5`+"\n") {
		t.Fatalf("billed spend missing:\n%s", out)
	}
	if !strings.Contains(out, `rtbd_campaign_pacing{campaign="video-telco",state="`) {
		t.Fatalf("pacing state missing")
	}
	// A campaign the book no longer has (restored from the state file)
	// is counted by the State, not by the book; but not one last billed
	// more than state.retireAfterDays ago.
	today := time.Now().Unix() / 86400
	if _, err := e.State().RestoreSpend(decision.AppendSpendEntries(nil, []decision.CampaignSpend{
		{ID: "gone", Day: today, Today: 1, Total: 1}, {ID: "long-gone", Day: today - 31, Total: 1},
	})); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	metrics.WritePrometheus(&buf, false)
	book, counted := e.Snapshot().Campaigns(), e.State().NumCampaigns()
	for _, want := range []string{
		fmt.Sprintf("rtbd_book_campaigns %d\n", book), fmt.Sprintf("rtbd_state_campaigns %d\n", book+1),
		// Two cap entries: the bill's (video-telco has a frequency cap)
		// and the impression counted for another host.
		"rtbd_freqcap_slots 4096\n", "rtbd_freqcap_slots_used 2\n", "rtbd_win_reservations_late_bills_total 0\n",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Fatalf("/metrics lacks %q (book %d, counted %d):\n%s", want, book, counted, buf.String())
		}
	}
}

func TestReloadFailureKeepsSnapshot(t *testing.T) {
	cfg := config.Default()
	e, err := New(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	old := e.Snapshot()
	e.data.CampaignsFile = "/nonexistent/campaigns.json"
	before := reloadsFailed.Get()
	if err := e.Reload(); err == nil || !strings.Contains(err.Error(), "/nonexistent/campaigns.json") {
		t.Fatalf("Reload of a missing file: %v", err)
	}
	if e.Snapshot() != old || reloadsFailed.Get() != before+1 {
		t.Fatalf("failed reload replaced the snapshot or was not counted")
	}
}

// TestEmptyBookWarns: a book without campaigns loads (every campaign
// may be paused) with a warning, the form a broken export takes.
func TestEmptyBookWarns(t *testing.T) {
	cfg := config.Default()
	e, err := New(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	e.log = slog.New(slog.NewTextHandler(&logs, nil))
	if err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "WARN") || !strings.Contains(logs.String(), "loaded snapshot") {
		t.Fatalf("demo book: %s", logs.String())
	}
	empty := filepath.Join(t.TempDir(), "campaigns.json")
	if err := os.WriteFile(empty, []byte(`{"version":1,"campaigns":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	e.data.CampaignsFile = empty
	logs.Reset()
	if err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	if e.Snapshot().Campaigns() != 0 || !strings.Contains(logs.String(), "level=WARN msg=\"loaded snapshot with no campaigns") {
		t.Fatalf("empty book: %d campaigns, log %s", e.Snapshot().Campaigns(), logs.String())
	}
}

// TestOnSnapshot: OnSnapshot hands f the current snapshot, then every
// reload's, and nothing for a reload that fails. The demo book's deals
// come sorted, once each.
func TestOnSnapshot(t *testing.T) {
	cfg := config.Default()
	e, err := New(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	var got []*decision.Snapshot
	e.OnSnapshot(func(s *decision.Snapshot) { got = append(got, s) })
	if err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	e.data.CampaignsFile = "/nonexistent/campaigns.json"
	if err := e.Reload(); err == nil {
		t.Fatal("Reload of a missing file succeeded")
	}
	if len(got) != 2 || got[0] == got[1] || got[1] != e.Snapshot() {
		t.Fatalf("f got %d snapshots %p; want the first and the reload's %p", len(got), got, e.Snapshot())
	}
	deals := e.Snapshot().DealIDs()
	if !slices.Contains(deals, "deal-id-1") || !slices.IsSorted(deals) || len(slices.Compact(slices.Clone(deals))) != len(deals) {
		t.Fatalf("demo deals %q: want deal-id-1 among them, sorted, once each", deals)
	}
}

// TestOptions: the decision's options follow bidding's settings.
func TestOptions(t *testing.T) {
	cfg := config.Default()
	cfg.Bidding.FirstPriceShading, cfg.Bidding.OpenBesideDeal = 0.8, false
	if o := options(&cfg); o.FirstPriceShading != 0.8 || o.OpenBesideDeal {
		t.Fatalf("options %+v; want shading 0.8, no open bid beside a deal's", o)
	}
	cfg.Bidding.OpenBesideDeal = true
	if o := options(&cfg); !o.OpenBesideDeal || o.BlockUnknownCategories {
		t.Fatalf("options %+v; want an open bid beside a deal's, campaigns without the request's categories bidding", o)
	}
	cfg.Bidding.BlockUnknownCategories = true
	if o := options(&cfg); !o.BlockUnknownCategories {
		t.Fatalf("options %+v; want campaigns without the request's categories blocked", o)
	}
}

// TestReadPriceKeys: the files of bidding.priceKeysFiles, by exchange,
// and errors that name the option and the file.
func TestReadPriceKeys(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := write("good", "skU7Ax_NL5pPAFyKdkfZjZz2-VhIN8bjj1rVFOaJ_5o=\narO23ykdNqUQ5LEoQ0FVmPkBd7xB5CO89PDZlSjpFxo=\n")
	cfg := config.Default()
	cfg.Bidding.PriceKeysFiles = map[string]string{"adx": good, "default": good}
	keys, err := ReadPriceKeys(&cfg)
	if err != nil || len(keys) != 2 || keys["adx"] == nil || keys["default"] == nil {
		t.Fatalf("keys %v, %v; want adx's and default's", keys, err)
	}
	if _, ok := keys["adx"].Decrypt([]byte("YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCce_6msaw")); !ok {
		t.Fatal("adx's keys do not decrypt the example price")
	}
	for path, want := range map[string]string{
		filepath.Join(dir, "missing"):                                  `cannot read bidding.priceKeysFiles["adx"]`,
		write("one", "skU7Ax_NL5pPAFyKdkfZjZz2-VhIN8bjj1rVFOaJ_5o=\n"): `bidding.priceKeysFiles["adx"] ` + filepath.Join(dir, "one") + ": want two price keys",
	} {
		cfg.Bidding.PriceKeysFiles = map[string]string{"adx": path}
		if _, err := ReadPriceKeys(&cfg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want an error with %q", path, err, want)
		}
	}
}

// TestReloadNoticeKeys: a reload reads bidding.noticeKeyFile again, hands
// the keys to OnNoticeKeys' function before its snapshot signs with the
// first, and a key file it cannot use changes nothing.
func TestReloadNoticeKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notice-keys")
	a, b := strings.Repeat("0a", 16), strings.Repeat("0b", 16)
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(a + "\n")
	cfg := config.Default()
	cfg.Bidding.NoticeKeyFile = path
	e, err := New(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	parse := func(text string) []openrtb.NoticeKey {
		k, err := openrtb.ParseNoticeKeys(text)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	// signer is the key the current snapshot signs with.
	signer := func() openrtb.NoticeKey {
		t.Helper()
		var req openrtb.Request
		if err := req.Parse(corpus.Requests()[0].Body); err != nil {
			t.Fatal(err)
		}
		resp := &openrtb.Response{}
		e.Snapshot().Decide(&decision.Ctx{}, &req, time.Now(), resp)
		if resp.NoticeKey == nil {
			t.Fatal("the snapshot signs nothing")
		}
		return *resp.NoticeKey
	}
	if got := e.NoticeKeys(); len(got) != 1 || got[0] != parse(a)[0] || signer() != parse(a)[0] {
		t.Fatalf("keys at start %v; want a's, signing", got)
	}
	var handed [][]openrtb.NoticeKey
	e.OnNoticeKeys(func(k []openrtb.NoticeKey) {
		handed = append(handed, k)
		if signer() != parse(a)[0] {
			t.Error("the snapshot signed with the new keys before they were handed over")
		}
	})
	write(b + "\n" + a + "\n")
	if err := e.Reload(); err != nil {
		t.Fatal(err)
	}
	want := parse(b + "\n" + a)
	if len(handed) != 1 || !slices.Equal(handed[0], want) || !slices.Equal(e.NoticeKeys(), want) || signer() != want[0] {
		t.Fatalf("after the reload: handed %v, keys %v; want %v, b signing", handed, e.NoticeKeys(), want)
	}
	snap := e.Snapshot()
	write("not a key\n")
	if err := e.Reload(); err == nil || !strings.Contains(err.Error(), "bidding.noticeKeyFile") {
		t.Fatalf("reload with a bad key file: %v; want an error naming it", err)
	}
	if len(handed) != 1 || !slices.Equal(e.NoticeKeys(), want) || e.Snapshot() != snap {
		t.Fatalf("a failed reload changed the keys (%d handed, %v) or the snapshot", len(handed), e.NoticeKeys())
	}
}

// TestDeadmanSignsOfLife: data.deadman counts from the last successful
// reload or Beat; a failed reload is no sign of life; off, it never
// trips; /metrics reports the trip and the last sign of life.
func TestDeadmanSignsOfLife(t *testing.T) {
	const timeout = time.Minute
	e := deadmanEngine(t, timeout)
	now := time.Now()
	if e.Halted(now) || !e.Halted(now.Add(timeout+time.Second)) {
		t.Fatalf("halted now %v, a deadman later %v; want false, true", e.Halted(now), e.Halted(now.Add(timeout+time.Second)))
	}
	metric := func(name string) string {
		t.Helper()
		var buf bytes.Buffer
		metrics.WritePrometheus(&buf, false)
		for line := range strings.Lines(buf.String()) {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				return strings.TrimSpace(v)
			}
		}
		t.Fatalf("/metrics lacks %s", name)
		return ""
	}
	if got := metric("rtbd_deadman_tripped"); got != "0" {
		t.Fatalf("rtbd_deadman_tripped %s right after start", got)
	}

	past := now.Add(-timeout - time.Second)
	e.Beat(past)
	if !e.Halted(now) || metric("rtbd_deadman_tripped") != "1" {
		t.Fatalf("not tripped (gauge %s) a deadman after the last sign of life", metric("rtbd_deadman_tripped"))
	}
	got, err := strconv.ParseFloat(metric("rtbd_control_plane_last_seen_timestamp_seconds"), 64)
	if want := float64(past.UnixNano()) / 1e9; err != nil || math.Abs(got-want) > 0.001 {
		t.Fatalf("rtbd_control_plane_last_seen_timestamp_seconds %v (%v); want %.3f", got, err, want)
	}
	e.data.CampaignsFile = "/nonexistent/campaigns.json"
	if e.Reload() == nil || !e.Halted(time.Now()) {
		t.Fatalf("a failed reload counted as a sign of life")
	}
	e.data.CampaignsFile = ""
	if err := e.Reload(); err != nil || e.Halted(time.Now()) {
		t.Fatalf("a reload (%v) did not count as a sign of life", err)
	}

	off := config.Default()
	e, err = New(&off)
	if err != nil {
		t.Fatal(err)
	}
	e.Beat(past)
	if e.Halted(now.Add(100 * 365 * 24 * time.Hour)) {
		t.Fatal("halted with data.deadman off")
	}
}

// TestDeadmanRestoresLastSeen: the saved sign of life replaces the start's
// own load when it is older, and only then.
func TestDeadmanRestoresLastSeen(t *testing.T) {
	const timeout = time.Minute
	e := deadmanEngine(t, timeout)
	past := time.Now().Add(-timeout - time.Second)
	e.Beat(past)
	saved := e.AppendLastSeen(nil)

	restarted := deadmanEngine(t, timeout)
	if restarted.Halted(time.Now()) {
		t.Fatal("halted right after the start, before the restore")
	}
	if n, err := restarted.RestoreLastSeen(saved); n != 1 || err != nil || !restarted.Halted(time.Now()) {
		t.Fatalf("RestoreLastSeen = %d, %v; halted %v; want the saved sign of life %s old to trip the switch", n, err, restarted.Halted(time.Now()), time.Since(past))
	}
	if _, last := restarted.Deadman(); !last.Equal(time.Unix(0, past.UnixNano())) {
		t.Fatalf("last sign of life %v; want %v", last, past)
	}
	// A saved time later than the start's (a clock that went back) is
	// not taken.
	later := time.Now().Add(time.Hour)
	restarted.Beat(time.Now())
	if n, err := restarted.RestoreLastSeen(binary.LittleEndian.AppendUint64(nil, uint64(later.UnixNano()))); n != 0 || err != nil {
		t.Fatalf("RestoreLastSeen of a later time = %d, %v; want 0, nil", n, err)
	}
	if _, last := restarted.Deadman(); !last.Before(later) {
		t.Fatal("a saved time later than the start's was taken")
	}
	// A state file written before any sign of life holds 0: not a time.
	if n, err := restarted.RestoreLastSeen(make([]byte, 8)); n != 0 || err != nil || restarted.Halted(time.Now()) {
		t.Fatalf("RestoreLastSeen of 0 = %d, %v; halted %v; want 0, nil, false", n, err, restarted.Halted(time.Now()))
	}
	if _, err := restarted.RestoreLastSeen(saved[:7]); err == nil {
		t.Fatal("RestoreLastSeen of 7 bytes: no error")
	}
}

// TestDeadmanLogsOnce: the trip is logged once however often the timer
// fires, and the return once, by the next sign of life.
func TestDeadmanLogsOnce(t *testing.T) {
	var logs bytes.Buffer
	count := func() (trips, returns int) {
		return strings.Count(logs.String(), "deadman: no reload"), strings.Count(logs.String(), "the control plane is back")
	}

	const timeout = time.Minute
	e := deadmanEngine(t, timeout)
	// This engine's lines only (other tests' timers may still fire), and
	// only the test's calls of logTrip: Beat re-arms a timer that does
	// nothing.
	e.dead.log = slog.New(slog.NewTextHandler(&logs, nil))
	e.dead.timer.Stop()
	e.dead.timer = time.AfterFunc(time.Hour, func() {})
	e.logTrip() // not halted: a timer that fired late
	if trips, returns := count(); trips+returns != 0 {
		t.Fatalf("logged %d trips and %d returns before any trip:\n%s", trips, returns, logs.String())
	}
	e.Beat(time.Now().Add(-timeout - time.Second))
	e.logTrip()
	e.logTrip()
	if trips, returns := count(); trips != 1 || returns != 0 {
		t.Fatalf("logged %d trips and %d returns; want 1 and 0:\n%s", trips, returns, logs.String())
	}
	e.Beat(time.Now())
	e.Beat(time.Now())
	if trips, returns := count(); trips != 1 || returns != 1 {
		t.Fatalf("logged %d trips and %d returns after two beats; want 1 and 1:\n%s", trips, returns, logs.String())
	}
}

// deadmanEngine returns an engine on the demo data with data.deadman
// timeout.
func deadmanEngine(t *testing.T, timeout time.Duration) *Engine {
	t.Helper()
	cfg := config.Default()
	cfg.Data.Deadman = config.Duration(timeout)
	e, err := New(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.dead.stop)
	return e
}
