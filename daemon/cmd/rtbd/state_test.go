package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/corpus"
	"github.com/rtbd/rtbd/daemon/decision"
	"github.com/rtbd/rtbd/daemon/statefile"
)

// spendTotal sums rtbd_campaign_spend_total over every campaign, in
// micro-units (the daemon's own).
func (d *daemon) spendTotal(t *testing.T) int64 {
	t.Helper()
	return d.campaignSum(t, "rtbd_campaign_spend_total")
}

// campaignSum sums the per-campaign series name over every campaign, in
// micro-units, so that the sum is exact in any order.
func (d *daemon) campaignSum(t *testing.T, name string) int64 {
	t.Helper()
	var sum int64
	for series, v := range d.metrics(t) {
		if strings.HasPrefix(series, name+"{") {
			sum += int64(math.Round(v * 1e6))
		}
	}
	return sum
}

// billCorpus bills at least n corpus bids at CPM 2 and returns them and
// the daemon's spend in micro-units, which must have moved.
func (d *daemon) billCorpus(t *testing.T, n int) ([]bid, int64) {
	t.Helper()
	bids := d.corpusBids(t, n)
	for _, b := range bids {
		d.notice(t, b.BURL, "2")
	}
	spent := d.spendTotal(t)
	if spent <= 0 {
		t.Fatalf("spend %v after %d billing notices; want > 0", spent, len(bids))
	}
	return bids, spent
}

// corpusBids returns at least n bids from the corpus.
func (d *daemon) corpusBids(t *testing.T, n int) []bid {
	t.Helper()
	return d.corpusBidsTo(t, "/openrtb2/bid", n)
}

// corpusBidsTo is corpusBids on the bid endpoint path.
func (d *daemon) corpusBidsTo(t *testing.T, path string, n int) []bid {
	t.Helper()
	var bids []bid
	for _, f := range corpus.Requests() {
		if _, b := d.postBidTo(t, path, f.Body); len(b) > 0 {
			bids = append(bids, b...)
		}
		if len(bids) >= n {
			return bids
		}
	}
	t.Fatalf("only %d bids from the corpus", len(bids))
	return nil
}

// TestStateSurvivesRestart bills, stops rtbd with SIGTERM and starts it
// again on the same state.dir: spend is what was billed, and billing
// notices fired again are duplicates that move nothing. Then it bills
// more, waits for a periodic save and kills rtbd with SIGKILL: the next
// start has the saved spend too.
func TestStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := func() map[string]any {
		return map[string]any{
			"state": map[string]any{"dir": dir, "saveInterval": "100ms"},
			"drain": map[string]any{"delay": "0s"},
		}
	}
	d := startDaemon(t, cfg())
	bids, spent := d.billCorpus(t, 10)
	d.stop(t)

	if got, _ := savedSpend(t, dir); got != spent {
		t.Fatalf("rtbd state after SIGTERM: %d micro-units in all; the daemon had %d", got, spent)
	}

	d2 := startDaemon(t, cfg())
	if got := d2.spendTotal(t); got != spent {
		t.Fatalf("spend after a restart %v; want %v", got, spent)
	}
	for _, b := range bids {
		d2.notice(t, b.BURL, "2")
	}
	if got := d2.metric(t, `rtbd_notices_total{kind="bill",result="duplicate"}`); got != float64(len(bids)) {
		t.Fatalf("billing notices fired again after a restart: %v duplicates; want %d", got, len(bids))
	}
	if got := d2.spendTotal(t); got != spent {
		t.Fatalf("spend after replayed notices %v; want %v", got, spent)
	}

	// A crash forgets at most state.saveInterval: wait for a save that
	// began after the new bills, then kill.
	more := d2.corpusBids(t, 5)
	for _, b := range more {
		d2.notice(t, b.BURL, "3")
	}
	want := d2.spendTotal(t)
	saves := d2.metric(t, `rtbd_state_saves_total{file="spend"}`)
	d2.waitMetric(t, `rtbd_state_saves_total{file="spend"}`, func(v float64) bool { return v >= saves+2 },
		"two periodic saves at a 100 ms interval")
	if err := d2.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	d2.wait()
	d3 := startDaemon(t, cfg())
	if got := d3.spendTotal(t); got != want || got <= spent {
		t.Fatalf("spend after kill -9 %v; want %v (more than %v)", got, want, spent)
	}
}

// TestCrashKeepsBillsDeduped: spend is saved every 100 ms and the notice
// dedupe table hourly. A crash after a spend save restores the bills'
// spend; the same billing notices fired again are duplicates, not a
// second charge.
func TestCrashKeepsBillsDeduped(t *testing.T) {
	dir := t.TempDir()
	cfg := func() map[string]any {
		return map[string]any{
			"state": map[string]any{"dir": dir, "saveInterval": "100ms", "tablesInterval": "1h"},
			"drain": map[string]any{"delay": "0s"},
		}
	}
	d := startDaemon(t, cfg())
	bids, spent := d.billCorpus(t, 10)
	saves := d.metric(t, `rtbd_state_saves_total{file="spend"}`)
	d.waitMetric(t, `rtbd_state_saves_total{file="spend"}`, func(v float64) bool { return v >= saves+2 },
		"two periodic saves at a 100 ms interval")
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	d.wait()

	d2 := startDaemon(t, cfg())
	if got := d2.spendTotal(t); got != spent {
		t.Fatalf("spend after kill -9 %v; want %v", got, spent)
	}
	for _, b := range bids {
		d2.notice(t, b.BURL, "2")
	}
	if got := d2.metric(t, `rtbd_notices_total{kind="bill",result="duplicate"}`); got != float64(len(bids)) {
		t.Fatalf("billing notices fired again after kill -9: %v duplicates; want %d", got, len(bids))
	}
	if got := d2.spendTotal(t); got != spent {
		t.Fatalf("spend after replayed notices %v; want %v", got, spent)
	}
}

// TestTablesNeverNewerThanSpend: the tables are saved every second and
// the spend hourly; a crash after a save of the tables restores the
// spend of the bills they hold as processed.
func TestTablesNeverNewerThanSpend(t *testing.T) {
	dir := t.TempDir()
	cfg := map[string]any{"state": map[string]any{"dir": dir, "saveInterval": "1h", "tablesInterval": "1s"}}
	d := startDaemon(t, cfg)
	bids, spent := d.billCorpus(t, 10)
	tables := d.metric(t, `rtbd_state_saves_total{file="tables"}`)
	d.waitMetric(t, `rtbd_state_saves_total{file="tables"}`, func(v float64) bool { return v >= tables+2 },
		"two periodic saves of the tables at a 1 s interval")
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	d.wait()
	d2 := startDaemon(t, cfg)
	for _, b := range bids {
		d2.notice(t, b.BURL, "2")
	}
	if got := d2.spendTotal(t); got != spent {
		t.Fatalf("spend after kill -9 and replayed notices %v; want %v", got, spent)
	}
}

// TestTablesSaveEndsRecentBills: the spend file keeps the bills only
// until the tables file holds them, so that it stays small.
func TestTablesSaveEndsRecentBills(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, map[string]any{
		"state": map[string]any{"dir": dir, "saveInterval": "100ms", "tablesInterval": "1s"},
	})
	d.billCorpus(t, 10)
	tables := d.metric(t, `rtbd_state_saves_total{file="tables"}`)
	d.waitMetric(t, `rtbd_state_saves_total{file="tables"}`, func(v float64) bool { return v >= tables+2 },
		"two periodic saves of the tables at a 1 s interval")
	spend := d.metric(t, `rtbd_state_saves_total{file="spend"}`)
	d.waitMetric(t, `rtbd_state_saves_total{file="spend"}`, func(v float64) bool { return v >= spend+2 },
		"two periodic saves at a 100 ms interval")
	sections, err := statefile.ReadFile(filepath.Join(dir, "spend"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(sections["recentbills"]); n != 8 {
		t.Fatalf("spend file's recentbills after a tables save: %d bytes; want 8 (no entry)", n)
	}
}

// savedSpend runs `rtbd state -dir dir` and sums its campaigns' total
// spend in micro-units: this host's own, and its peers' last readings.
func savedSpend(t *testing.T, dir string) (own, peers int64) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(rtbdBin, "state", "-dir", dir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("rtbd state: %v\n%s", err, stderr.String())
	}
	sections := map[string]bool{}
	dec := json.NewDecoder(&stdout)
	for dec.More() {
		var line struct {
			Campaign   string
			SpendTotal float64
			Section    string
			Peer       string
		}
		if err := dec.Decode(&line); err != nil {
			t.Fatalf("rtbd state printed a line that is not JSON: %v", err)
		}
		switch {
		case line.Campaign != "" && line.Peer != "":
			peers += int64(math.Round(line.SpendTotal * 1e6))
		case line.Campaign != "":
			own += int64(math.Round(line.SpendTotal * 1e6))
		case line.Section != "":
			sections[line.Section] = true
		}
	}
	if !sections["freq2"] || !sections["notices"] || !sections["reservations"] || !sections["ended"] || len(sections) > 5 || len(sections) == 5 && !sections["peerbills"] {
		t.Fatalf("rtbd state printed the tables file's sections %v; want freq, notices, reservations, ended and, with state.peers, peerbills", sections)
	}
	return own, peers
}

// TestStateDirInUseStopsStart: a second rtbd on a state.dir that a
// running one uses stops at start, naming the directory; the running one
// keeps serving.
func TestStateDirInUseStopsStart(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, map[string]any{"state": map[string]any{"dir": dir}})
	code, out := runToExit(t, map[string]any{"state": map[string]any{"dir": dir}})
	if code != 1 || !strings.Contains(out, dir+" is in use by another rtbd") {
		t.Fatalf("second rtbd on one state.dir: exit %d, output %q; want 1 naming the directory", code, out)
	}
	if got := d.metric(t, `rtbd_state_save_errors_total{file="spend"}`); got != 0 {
		t.Fatalf("the first rtbd counted %v failed saves", got)
	}
}

// runToExit runs rtbd with cfg (no admin listener, any bid port) and
// returns its exit code and output; it fails the test after 20 s.
func runToExit(t *testing.T, cfg map[string]any) (int, string) {
	t.Helper()
	cfg["http"] = map[string]any{"listenAddress": "127.0.0.1:0"}
	cfg["admin"] = map[string]any{"listenAddress": ""}
	path := filepath.Join(t.TempDir(), "rtbd.json")
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, rtbdBin, "-config", path).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("rtbd still running after 20 s:\n%s", out)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, string(out)
}

// TestDamagedStateStopsStart: a state file rtbd cannot read whole stops
// the start with exit code 1 and a message naming the file, instead of
// serving with every budget reset.
func TestDamagedStateStopsStart(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "spend"), []byte("RTBDSTAT not really"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := runToExit(t, map[string]any{"state": map[string]any{"dir": dir}})
	if code != 1 || !strings.Contains(out, filepath.Join(dir, "spend")) {
		t.Fatalf("damaged state file: exit %d, output %q; want 1 naming the file", code, out)
	}
}

// TestStateRetiresOldCampaigns starts rtbd on a spend file that holds two
// campaigns its book lacks: one billed 5 days ago, kept for a reload that
// brings it back, and one billed 31 days ago, past state.retireAfterDays
// (30 by default), which is retired: not counted, and gone from the file
// at the next save. With state.retireAfterDays 0 both are kept.
func TestStateRetiresOldCampaigns(t *testing.T) {
	today := time.Now().Unix() / 86400
	for _, days := range []int{30, 0} {
		dir := t.TempDir()
		spend := decision.AppendSpendEntries(nil, []decision.CampaignSpend{
			{ID: "paused", Day: today - 5, Total: 2e6}, {ID: "ended", Day: today - 31, Total: 3e6},
		})
		part := statefile.Part{Name: "spend", Append: func(dst []byte) []byte { return append(dst, spend...) }}
		if err := statefile.New(dir, "spend", part).Save(); err != nil {
			t.Fatal(err)
		}
		d := startDaemon(t, map[string]any{
			"state": map[string]any{"dir": dir, "retireAfterDays": days},
			"drain": map[string]any{"delay": "0s"},
		})
		book, counted := d.metric(t, "rtbd_book_campaigns"), d.metric(t, "rtbd_state_campaigns")
		want, wantSpend := book+1, int64(2e6)
		if days == 0 {
			want, wantSpend = book+2, 5e6
		}
		if counted != want {
			t.Fatalf("retireAfterDays %d: counting %v campaigns, the book %v; want %v", days, counted, book, want)
		}
		d.stop(t)
		if own, _ := savedSpend(t, dir); own != wantSpend {
			t.Fatalf("retireAfterDays %d: %d micro-units saved; want %d", days, own, wantSpend)
		}
	}
}

// TestStateFileOfAnotherHost: a state directory written under another
// bidding.hostID (copied from another host, or this one renamed) is read,
// with a warning; one of the same id gives none.
func TestStateFileOfAnotherHost(t *testing.T) {
	dir := t.TempDir()
	start := func(id string) string {
		d := startDaemon(t, map[string]any{"bidding": map[string]any{"hostID": id}, "state": map[string]any{"dir": dir}, "drain": map[string]any{"delay": "10ms"}})
		d.stop(t)
		return d.stderr.String()
	}
	start("host-a")
	if out := start("host-a"); strings.Contains(out, "another host id") {
		t.Fatalf("the same host warned:\n%s", out)
	}
	if out := start("host-b"); !strings.Contains(out, "another host id") || !strings.Contains(out, "written=host-a") {
		t.Fatalf("host-b read host-a's state without a warning:\n%s", out)
	}
}

// TestSaveTablesOrder: saveTables reads the tables, saves the spend file,
// and writes the tables file last, so that the tables never hold a bill
// as processed that the spend file lacks (the drain audit: a crash
// between the two writes lost the charges of the bills in that gap). A
// spend file that cannot be saved leaves the tables file as it was.
func TestSaveTablesOrder(t *testing.T) {
	dir := t.TempDir()
	read := 0 // the tables' state: how many times they were read
	var atSpend map[string][]byte
	restore := func([]byte) (int, error) { return 0, nil }
	spend := statefile.New(dir, "spend", statefile.Part{Name: "n", Restore: restore, Append: func(dst []byte) []byte {
		atSpend, _ = statefile.ReadFile(filepath.Join(dir, "tables"))
		return dst
	}})
	tables := statefile.New(dir, "tables", statefile.Part{Name: "n", Restore: restore, Append: func(dst []byte) []byte {
		read++
		return strconv.AppendInt(dst, int64(read), 10)
	}})
	saved := 0
	s := &stateFiles{spend: spend, tables: tables, tablesSaved: func() { saved++ }}
	tablesHold := func() string {
		t.Helper()
		sections, err := statefile.ReadFile(filepath.Join(dir, "tables"))
		if err != nil {
			t.Fatal(err)
		}
		return string(sections["n"])
	}
	for i := 1; i <= 2; i++ {
		if err := s.saveTables(); err != nil {
			t.Fatal(err)
		}
		if want := strconv.Itoa(i - 1); i > 1 && string(atSpend["n"]) != want || i == 1 && atSpend != nil {
			t.Fatalf("save %d: the tables file held %q when the spend was saved; want the previous save's (%q)", i, atSpend["n"], want)
		}
		if got := tablesHold(); got != strconv.Itoa(i) || saved != i {
			t.Fatalf("save %d: tables file holds %q, %d saves told; want %d, %d", i, got, saved, i, i)
		}
	}
	// The spend file's path taken by a directory: its save fails.
	if err := os.Remove(filepath.Join(dir, "spend")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "spend"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := s.saveTables(); err == nil {
		t.Fatal("saveTables with an unwritable spend file: no error")
	}
	if got := tablesHold(); got != "2" || saved != 2 {
		t.Fatalf("after a failed spend save the tables file holds %q, %d saves told; want 2, 2", got, saved)
	}
}
