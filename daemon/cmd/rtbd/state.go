package main

import (
	"context"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"
	"golang.org/x/sys/unix"

	"github.com/rtbd/rtbd/daemon/config"
	"github.com/rtbd/rtbd/daemon/decision"
	"github.com/rtbd/rtbd/daemon/notice"
	"github.com/rtbd/rtbd/daemon/peers"
	"github.com/rtbd/rtbd/daemon/secret"
	"github.com/rtbd/rtbd/daemon/server"
	"github.com/rtbd/rtbd/daemon/shading"
	"github.com/rtbd/rtbd/daemon/statefile"
)

// stateFiles are the daemon's two state files: spend, small and saved
// often, and the frequency-cap and notice tables, large and saved less
// often (see config.State).
type stateFiles struct {
	spend, tables *statefile.Store
	lock          *os.File // state.dir's lock, held until close (see lockDir)
	tablesSaved   func()   // called after each save of the tables that succeeded
	stop          chan struct{}
	done          chan struct{}
}

// openState restores spend, caps and notice history from cfg.State.Dir,
// then saves both files once, so that a directory rtbd cannot write stops
// the start instead of the first periodic save. It returns nil when
// cfg.State.Dir is empty. more are further parts of the spend file.
func openState(cfg *config.Config, st *decision.State, notices *notice.Handler, sync *peers.Syncer, more ...statefile.Part) (*stateFiles, error) {
	dir := cfg.State.Dir
	if dir == "" {
		slog.Warn("state.dir is empty: spend, frequency caps and notice history start from zero at every restart")
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create state.dir: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	// The bills charged since the tables were saved, before the spend
	// they moved: after a crash, a replay of a bill that the restored
	// spend counts is a duplicate (see notice.Handler.KeepRecentBills).
	// A bill charged between the two reads is counted twice if replayed,
	// never lost.
	notices.KeepRecentBills()
	spendParts := []statefile.Part{
		hostPart(cfg.Bidding.HostID),
		{Name: "recentbills", Append: notices.AppendRecentBills, Restore: notices.RestoreRecentBills},
		// Before spend: its restore reads them (see State.AppendSeen), and
		// a spend of another currency than the book's is refused.
		{Name: "currency", Append: st.AppendCurrency, Restore: st.RestoreCurrency},
		{Name: "seen", Append: st.AppendSeen, Restore: st.RestoreSeen},
		{Name: "spend", Append: st.AppendSpend, Restore: st.RestoreSpend},
	}
	if sync != nil {
		// The peers' last readings, so that a restart while a peer is
		// down still counts what it had spent.
		spendParts = append(spendParts, statefile.Part{Name: "peers", Append: sync.Append, Restore: sync.Restore},
			statefile.Part{Name: "peerids", Append: sync.AppendIDs, Restore: sync.RestoreIDs})
	}
	spendParts = append(spendParts, more...)
	var tableParts []statefile.Part
	if sync != nil {
		// The cursors in the peers' journals, first: see AppendCursors.
		tableParts = append(tableParts, statefile.Part{Name: "peerbills", Append: sync.AppendCursors, Restore: sync.RestoreCursors})
	}
	s := &stateFiles{
		lock:        lock,
		tablesSaved: notices.DedupeSaved,
		spend:       statefile.New(dir, "spend", spendParts...),
		tables: statefile.New(dir, "tables", append(tableParts,
			// "freq2": slots hold window ends; the "freq" of older files,
			// window starts, is skipped (caps start from zero once).
			statefile.Part{Name: "freq2", Append: st.AppendFreq, Restore: func(b []byte) (int, error) {
				n, err := st.RestoreFreq(b)
				if errors.Is(err, decision.ErrFreqSize) {
					// bidding.freqCapSlots changed: caps restart, spend
					// and notices do not.
					slog.Warn("frequency caps start from zero", "err", err)
					return 0, nil
				}
				return n, err
			}},
			statefile.Part{Name: "notices", Append: notices.AppendDedupe, Restore: notices.RestoreDedupe},
			statefile.Part{Name: "reservations", Append: st.AppendReservations, Restore: st.RestoreReservations},
			statefile.Part{Name: "ended", Append: st.AppendEnded, Restore: st.RestoreEnded})...),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	for _, f := range []*statefile.Store{s.spend, s.tables} {
		if err := f.Load(); err != nil {
			return nil, err
		}
	}
	if err := s.save(); err != nil {
		return nil, err
	}
	go s.run(cfg.State.SaveInterval.D(), cfg.State.TablesInterval.D())
	return s, nil
}

// lockDir takes an exclusive lock on dir's "lock" file for the life of
// the process, so that a second rtbd on the same state.dir (a copied
// configuration, a manual start beside the service) stops at start
// instead of overwriting the first one's spend with its own. The kernel
// drops the lock when the process ends, however it ends.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, "lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("state.dir %s is in use by another rtbd", dir)
		}
		return nil, fmt.Errorf("cannot lock %s: %w", path, err)
	}
	return f, nil
}

func (s *stateFiles) save() error { return s.saveTables() }

// saveTables reads the tables, saves the spend file, and only then writes
// the tables file and, when it is written, says so: the notices the
// tables hold as processed are then never newer than the spend they
// moved. Written first (as until the drain audit), the tables of a host
// that died before the spend file followed held bills whose spend the
// restored file lacked: their replays were duplicates, and their charges
// lost. A crash between the two writes now leaves the older tables
// beside the newer spend, whose recent bills cover the gap (see
// notice.Handler.KeepRecentBills). A failed spend save leaves the tables
// file as it was.
func (s *stateFiles) saveTables() error {
	if err := s.tables.SaveAfter(s.spend.Save); err != nil {
		return err
	}
	s.tablesSaved()
	return nil
}

// run saves each file at its interval until close.
func (s *stateFiles) run(spendEvery, tablesEvery time.Duration) {
	defer close(s.done)
	spend, tables := time.NewTicker(spendEvery), time.NewTicker(tablesEvery)
	defer spend.Stop()
	defer tables.Stop()
	for {
		var err error
		select {
		case <-s.stop:
			return
		case <-spend.C:
			err = s.spend.Save()
		case <-tables.C:
			err = s.saveTables()
		}
		if err != nil {
			slog.Error("periodic state save failed; the next one tries again", "err", err)
		}
	}
}

// close stops the periodic saves and saves both files a last time. Call it
// after the listeners stopped, so that no bill or notice comes after.
func (s *stateFiles) close() error {
	if s == nil {
		return nil
	}
	close(s.stop)
	<-s.done
	err := s.save()
	// Released only now: while the files are written, the lock is
	// referenced, so its finaliser cannot close it early.
	return errors.Join(err, s.lock.Close())
}

const stateUsage = `usage: rtbd state -dir DIR

Prints what the state files in DIR (state.dir) hold: one JSON line per
campaign that has spent, from DIR/spend, with its spend of the UTC day it
last spent on and in total, in the campaign file currency; then the same
for each peer's last reading (state.peers), with its URL as "peer"; then
the control plane's last sign of life (data.deadman) as
"controlPlaneLastSeen"; then one line per section of DIR/tables with its
size. Works on a stopped daemon's
files too, and on a running one's last save.
`

// stateMain runs `rtbd state`: 0 done, 1 unreadable files, 2 bad flags.
func stateMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rtbd state", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, stateUsage) }
	dir := fs.String("dir", "", "state directory (state.dir)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *dir == "" || fs.NArg() != 0 {
		fmt.Fprint(stderr, stateUsage)
		return 2
	}
	if err := printState(stdout, *dir); err != nil {
		fmt.Fprintln(stderr, "rtbd state:", err)
		return 1
	}
	return 0
}

func printState(w io.Writer, dir string) error {
	spend, err := statefile.ReadFile(filepath.Join(dir, "spend"))
	if err != nil {
		return err
	}
	camps, err := decision.DecodeSpend(spend["spend"])
	if err != nil {
		return fmt.Errorf("%s: section spend: %w", filepath.Join(dir, "spend"), err)
	}
	enc := json.NewEncoder(w)
	if err := printSpend(enc, "", camps); err != nil {
		return err
	}
	if b, ok := spend["peers"]; ok {
		saved, err := peers.Decode(b)
		if err != nil {
			return fmt.Errorf("%s: section peers: %w", filepath.Join(dir, "spend"), err)
		}
		for _, url := range slices.Sorted(maps.Keys(saved)) {
			if err := printSpend(enc, url, saved[url]); err != nil {
				return err
			}
		}
	}
	if b, ok := spend["controlplane"]; ok && len(b) == 8 {
		last := time.Unix(0, int64(binary.LittleEndian.Uint64(b))).UTC()
		if err := enc.Encode(map[string]any{"controlPlaneLastSeen": last.Format(time.RFC3339Nano)}); err != nil {
			return err
		}
	}
	tables, err := statefile.ReadFile(filepath.Join(dir, "tables"))
	if err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(tables)) {
		if err := enc.Encode(map[string]any{"file": "tables", "section": name, "bytes": len(tables[name])}); err != nil {
			return err
		}
	}
	return nil
}

// printSpend prints one JSON line per campaign, with the peer's URL when
// the spend is a peer's (state.peers) rather than this host's own.
func printSpend(enc *json.Encoder, peer string, camps []decision.CampaignSpend) error {
	for _, c := range camps {
		line := map[string]any{
			"campaign": c.ID, "day": time.Unix(c.Day*86400, 0).UTC().Format(time.DateOnly),
			"spendOfDay": float64(c.Today) / 1e6, "spendTotal": float64(c.Total) / 1e6,
		}
		if peer != "" {
			line["peer"] = peer
		}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	return nil
}

// startPeers reads the peers' spend in the background (state.peers) and
// returns the function that stops it and the peer listener, if any.
func startPeers(cfg *config.Config, sync *peers.Syncer) func(*fasthttp.Server) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	if sync != nil {
		go func() {
			defer close(done)
			sync.Run(ctx)
		}()
		slog.Info("sharing budgets with peers", "peers", cfg.State.Peers, "interval", cfg.State.PeerInterval.D())
	} else {
		close(done)
	}
	return func(srv *fasthttp.Server) {
		cancel()
		<-done
		if srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = server.Shutdown(ctx, srv)
		}
	}
}

// recoverFromPeers raises this host's own spend to what its peers last
// read of it (see peers.Syncer.Recover), before it bills: the bills of
// the last state.saveInterval before a crash, and all of them on a
// machine that starts without its state.dir, are in the peers' readings
// only. It waits at most 3 s; a peer that does not answer (the whole
// group is starting, say) has nothing to add.
func recoverFromPeers(sync *peers.Syncer) {
	if sync == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	n, err := sync.Recover(ctx)
	if err != nil {
		slog.Warn("cannot ask every peer what it read of this host's spend", "err", err, "raised", n)
	}
	if n > 0 {
		slog.Info("raised this host's own spend to what its peers read of it: the state file was older", "campaigns", n)
	}
}

var campaignsRetired = metrics.NewCounter(`rtbd_campaigns_retired_total`)

// startRetiring retires the campaigns that no book has had and nobody
// has spent on for state.retireAfterDays (see [decision.State.Retire]),
// and the peers' spend of them, at once and then every interval, and
// returns the function that stops it.
func startRetiring(st *decision.State, sync *peers.Syncer, every time.Duration) func() {
	retire := func() {
		n, known := st.Retire(), 0
		if sync != nil {
			known = sync.Retire()
		}
		if n > 0 || known > 0 {
			campaignsRetired.Add(n)
			slog.Info("retired the campaigns no book has had and nobody has spent on for state.retireAfterDays",
				"campaigns", n, "peerEntries", known, "counted", st.NumCampaigns())
		}
	}
	retire()
	return repeat(every, retire)
}

// startExpiring releases the win reservations that outlived
// bidding.winReservation every second (see
// [decision.State.ExpireReservations]), and returns the function that
// stops it. Without it, a reservation would wait for the next notice.
func startExpiring(st *decision.State) func() {
	return repeat(time.Second, func() { st.ExpireReservations(time.Now()) })
}

// repeat calls f every interval on a goroutine of its own until the
// function it returns is called, which waits for a call in progress.
func repeat(every time.Duration, f func()) func() {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				f()
			}
		}
	}()
	return func() {
		close(stop)
		<-done
	}
}

// finalReadsWait is the longest awaitFinalReads waits: two readings of
// the peers and a second.
func finalReadsWait(cfg *config.Config) time.Duration {
	return 2*cfg.State.PeerInterval.D() + time.Second
}

// awaitFinalReads waits, when the daemon stops, until every peer that
// read it within the last three state.peerInterval, and that it could
// read itself the last time, has read its spend and billing notices once
// more, for at most two state.peerInterval and a second: the bid listener
// has stopped, so that reading has every bill, which the peers keep after
// this host is gone.
func awaitFinalReads(cfg *config.Config, src *peers.Source, sync *peers.Syncer) {
	interval := cfg.State.PeerInterval.D()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), finalReadsWait(cfg))
	defer cancel()
	var skip func(string) bool
	if sync != nil {
		skip = sync.Unreachable
	}
	read, expected := src.FinalReads(3*interval, skip).Wait(ctx)
	switch {
	case expected == 0:
	case read < expected:
		slog.Warn("not every peer read this host's last spend and bills before it stopped", "read", read, "expected", expected,
			"seconds", time.Since(start).Seconds())
	default:
		slog.Info("the peers read this host's last spend and bills", "peers", read, "seconds", time.Since(start).Seconds())
	}
}

// peerListener serves src (this host's own spend and billing notices) on
// state.peerListenAddress, and on tlsLn (state.peerTLS's, nil: none);
// nil when it serves neither.
func peerListener(cfg *config.Config, src *peers.Source, tlsLn net.Listener) (*fasthttp.Server, error) {
	var lns []net.Listener
	if addr := cfg.State.PeerListenAddress; addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("cannot listen on state.peerListenAddress %s: %w", addr, err)
		}
		lns = append(lns, ln)
	}
	if tlsLn != nil {
		lns = append(lns, tlsLn)
	}
	if len(lns) == 0 {
		return nil, nil
	}
	srv := &fasthttp.Server{
		Handler: src.Handler, Name: "rtbd-peer",
		ReadTimeout: 5 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: time.Minute,
	}
	for _, ln := range lns {
		go serveOn(ln, srv.Serve, "peer")
	}
	if src.Tokens.Header() == "" && beyondLoopback(lns) {
		slog.Warn("the peer listener serves the spend and billing notices to anyone who reaches it: set state.peerTokenFile", "addr", addrs(lns))
	}
	slog.Info("serving own spend and billing notices to peers", "addr", addrs(lns), "paths", []string{peers.Path, peers.BillsPath})
	return srv, nil
}

// readPeerRoots reads state.peerTLS.caFile, nil without one (the
// system's roots).
func readPeerRoots(cfg *config.Config) (*x509.CertPool, error) {
	if cfg.State.PeerTLS.CAFile == "" {
		return nil, nil
	}
	return secret.ReadRoots("state.peerTLS.caFile", cfg.State.PeerTLS.CAFile)
}

// shadingPart saves what the exchanges' automatic shading has learned
// (see shading.Append), so that a restart bids with the learned factors
// rather than firstPriceShading. Saved state it cannot read only costs
// the learning again: it is logged, not fatal.
func shadingPart(es map[string]*shading.Estimator) statefile.Part {
	return statefile.Part{
		Name:   "shading",
		Append: func(dst []byte) []byte { return shading.Append(dst, es, time.Now()) },
		Restore: func(b []byte) (int, error) {
			n, err := shading.Restore(b, es, time.Now())
			if err != nil {
				slog.Warn("automatic shading starts from firstPriceShading", "err", err)
				return 0, nil
			}
			return n, nil
		},
	}
}

// hostPart is the spend file's section that names the host that wrote it
// (bidding.hostID). The spend is this host's own, which peers count in
// theirs: a state directory copied to another host counts that spend twice
// in the group, for good (the money audit). Restoring a file another host
// id wrote is told in a warning, not refused: a host id may be renamed.
func hostPart(id string) statefile.Part {
	return statefile.Part{
		Name:   "host",
		Append: func(dst []byte) []byte { return append(dst, id...) },
		Restore: func(b []byte) (int, error) {
			if len(b) > 0 && string(b) != id {
				slog.Warn("the state file was written by another host id: if it was copied from another host, the group counts that host's spend twice; move it away unless this host was renamed",
					"written", string(b), "hostID", id)
			}
			return 1, nil
		},
	}
}
