// Package engine owns the decision snapshot: it loads campaigns and the model,
// compiles them into an immutable [decision.Snapshot] and swaps it in with one
// atomic store, so the request path never takes a lock and a failed reload
// never interrupts serving.
package engine

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/config"
	"github.com/rtbd/rtbd/daemon/decision"
	"github.com/rtbd/rtbd/daemon/notice"
	"github.com/rtbd/rtbd/daemon/openrtb"
	"github.com/rtbd/rtbd/daemon/secret"
	"github.com/rtbd/rtbd/daemon/shading"
)

var (
	reloadsOK     = metrics.NewCounter(`rtbd_reloads_total{result="ok"}`)
	reloadsFailed = metrics.NewCounter(`rtbd_reloads_total{result="error"}`)
	reloadSeconds = metrics.NewFloatCounter(`rtbd_reload_duration_seconds_total`)
	lastReloadOK  atomic.Int64 // unix seconds
	campaignCount atomic.Int64
)

func init() {
	metrics.NewGauge(`rtbd_last_successful_reload_timestamp_seconds`, func() float64 {
		return float64(lastReloadOK.Load())
	})
	metrics.NewGauge(`rtbd_campaigns`, func() float64 { return float64(campaignCount.Load()) })
}

// Engine holds the current snapshot and the mutable state (spend, frequency
// counts) that survives reloads. Its methods are safe for concurrent use.
type Engine struct {
	snap  atomic.Pointer[decision.Snapshot]
	state *decision.State
	data  config.Data
	opts  decision.Options
	// keyFile is bidding.noticeKeyFile, read again by every reload; keys
	// its keys and onKeys what hands them to the notice handler (guarded
	// by mu).
	keyFile string
	keys    []openrtb.NoticeKey
	onKeys  func([]openrtb.NoticeKey)
	// onSnap is what each reload hands its snapshot to (guarded by mu).
	onSnap func(*decision.Snapshot)
	// dead is the deadman switch (data.deadman; see Halted).
	dead deadman
	// shading learns the first-price shading of the exchanges with
	// autoShading, by name.
	shading map[string]*shading.Estimator
	// log is where reloads are logged (slog's default but in tests).
	log *slog.Logger

	mu sync.Mutex // serialises reloads; never taken on the request path
}

// New loads the data named by cfg and compiles the first snapshot.
// An error here is fatal for the daemon: there is nothing to serve yet.
func New(cfg *config.Config) (*Engine, error) {
	e := &Engine{state: decision.NewState(cfg.Bidding.FreqCapSlots), data: cfg.Data, opts: options(cfg), keyFile: cfg.Bidding.NoticeKeyFile, log: slog.Default()}
	e.state.SetRetireAfter(cfg.State.RetireAfterDays)
	e.state.SetReservations(cfg.Bidding.WinReservation.D(), cfg.Bidding.WinReservationSlots)
	e.armDeadman(cfg.Data.Deadman.D())
	e.shading = newShading(cfg, time.Now())
	if err := e.Reload(); err != nil {
		e.dead.stop()
		return nil, err
	}
	current.Store(e)
	return e, nil
}

// newShading returns an estimator for each exchange of cfg with
// autoShading, starting from its firstPriceShading.
func newShading(cfg *config.Config, now time.Time) map[string]*shading.Estimator {
	m := map[string]*shading.Estimator{}
	for _, x := range cfg.Endpoints() {
		if a := x.AutoShading; a != nil {
			m[x.Name] = shading.New(shading.Config{Name: x.Name, Start: x.FirstPriceShading, Min: a.Min, Explore: a.Explore}, now)
		}
	}
	return m
}

// Shading returns the estimators of the exchanges whose first-price
// shading is learned (config.Exchange.AutoShading), by name.
func (e *Engine) Shading() map[string]*shading.Estimator { return e.shading }

// Snapshot returns the snapshot to decide with. It is immutable; hold it for
// the duration of one request only.
func (e *Engine) Snapshot() *decision.Snapshot { return e.snap.Load() }

// State returns the mutable bidding state shared by every snapshot.
func (e *Engine) State() *decision.State { return e.state }

// ReloadFailed counts in rtbd_reloads_total{result="error"} a reload
// that failed before Reload ran: one of the daemon's own files (tokens,
// certificates, price keys) that a reload reads first.
func ReloadFailed() { reloadsFailed.Inc() }

// Reload reads and compiles the data files, and reads bidding.noticeKeyFile
// again, and swaps the result in: bids are signed with the file's first
// key from then on, and the notice handler (see OnNoticeKeys) verifies
// with its keys before the first of them goes out. A successful reload is
// a sign of life for the deadman switch (see Beat). On any error the
// current snapshot and keys keep serving; the error names the file,
// campaign and field that failed and is counted in rtbd_reloads_total.
func (e *Engine) Reload() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	start := time.Now()
	keys, snap, err := e.load()
	reloadSeconds.Add(time.Since(start).Seconds())
	if err != nil {
		reloadsFailed.Inc()
		return err
	}
	if e.keys = keys; keys != nil && e.onKeys != nil {
		e.onKeys(keys)
	}
	e.snap.Store(snap)
	if e.onSnap != nil {
		e.onSnap(snap)
	}
	e.Beat(time.Now())
	reloadsOK.Inc()
	lastReloadOK.Store(time.Now().Unix())
	campaignCount.Store(int64(snap.Campaigns()))
	level, msg := slog.LevelInfo, "loaded snapshot"
	if snap.Campaigns() == 0 {
		// Legal (every campaign paused), and what a broken export
		// looks like: say so where the SRE looks first.
		level, msg = slog.LevelWarn, "loaded snapshot with no campaigns: every bid request gets a no-bid"
	}
	e.log.Log(context.Background(), level, msg, "campaigns", snap.Campaigns(),
		"campaignsFile", nameOr(e.data.CampaignsFile), "modelFile", nameOr(e.data.ModelFile),
		"seconds", time.Since(start).Seconds())
	return nil
}

// load reads the notice keys, if any, and compiles a snapshot that signs
// with the first.
func (e *Engine) load() ([]openrtb.NoticeKey, *decision.Snapshot, error) {
	var keys []openrtb.NoticeKey
	opts := e.opts
	if e.keyFile != "" {
		var err error
		if keys, err = readNoticeKeys(e.keyFile); err != nil {
			return nil, nil, err
		}
		opts.NoticeKey = &keys[0]
	}
	snap, err := e.compile(opts)
	return keys, snap, err
}

func (e *Engine) compile(opts decision.Options) (*decision.Snapshot, error) {
	f, m, err := campaign.Load(e.data.CampaignsFile, e.data.ModelFile)
	if err != nil {
		return nil, fmt.Errorf("cannot load data: %w", err)
	}
	snap, err := decision.Compile(f, m, e.state, opts)
	if err != nil {
		return nil, fmt.Errorf("cannot compile snapshot: %w", err)
	}
	return snap, nil
}

// NoticeKeys returns the keys of bidding.noticeKeyFile as last read, the
// first of which signs the bids' notice URLs; none when it is empty.
func (e *Engine) NoticeKeys() []openrtb.NoticeKey {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.keys
}

// OnNoticeKeys has every later reload hand the keys it read to f (the
// notice handler's SetKeys) before its snapshot signs with them.
func (e *Engine) OnNoticeKeys(f func([]openrtb.NoticeKey)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.onKeys = f
}

// OnSnapshot calls f with the current snapshot, and has every later
// reload hand f the snapshot it swaps in, right after.
func (e *Engine) OnSnapshot(f func(*decision.Snapshot)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.onSnap = f
	f(e.snap.Load())
}

// readNoticeKeys reads bidding.noticeKeyFile. A dry run does not: at
// build time the file, a secret, is not there.
func readNoticeKeys(path string) ([]openrtb.NoticeKey, error) {
	b, err := secret.Read("bidding.noticeKeyFile", path, "anyone who reads it can make notices")
	if err != nil {
		return nil, err
	}
	keys, err := openrtb.ParseNoticeKeys(string(b))
	if err != nil {
		return nil, fmt.Errorf("bidding.noticeKeyFile %s: %w", path, err)
	}
	return keys, nil
}

// ReadPriceKeys reads the files of bidding.priceKeysFiles, by exchange
// (see notice.Config.PriceKeys). rtbd reads them at start and on every
// reload; a dry run does not, as it does not read bidding.noticeKeyFile.
func ReadPriceKeys(cfg *config.Config) (map[string]*notice.PriceKeys, error) {
	keys := map[string]*notice.PriceKeys{}
	for name, path := range cfg.Bidding.PriceKeysFiles {
		option := fmt.Sprintf("bidding.priceKeysFiles[%q]", name)
		b, err := secret.Read(option, path, "anyone who reads it can read the exchange's prices")
		if err != nil {
			return nil, err
		}
		if keys[name], err = notice.ParsePriceKeys(string(b)); err != nil {
			return nil, fmt.Errorf("%s %s: %w", option, path, err)
		}
	}
	return keys, nil
}

// DryRun loads and compiles the data named by cfg without serving it; the
// daemon's -dryRun flag uses it to validate a configuration at build time.
func DryRun(cfg *config.Config) error {
	e := &Engine{state: decision.NewState(1), data: cfg.Data, opts: options(cfg)}
	_, err := e.compile(e.opts)
	return err
}

func options(cfg *config.Config) decision.Options {
	return decision.Options{
		Currency:   cfg.Bidding.Currency,
		Rates:      cfg.Bidding.Rates,
		HostID:     cfg.Bidding.HostID,
		NoticeBase: cfg.Bidding.NoticeBaseURL,

		FirstPriceShading: cfg.Bidding.FirstPriceShading,
		OpenBesideDeal:    cfg.Bidding.OpenBesideDeal,

		BlockUnknownCategories: cfg.Bidding.BlockUnknownCategories,
	}
}

func nameOr(path string) string {
	if path == "" {
		return "(embedded demo)"
	}
	return path
}
