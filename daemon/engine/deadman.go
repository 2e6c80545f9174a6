package engine

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// The deadman switch (data.deadman). rtbd bids on the book its control
// plane last gave it: campaigns, budgets, pauses and targeting come only
// from there. When the control plane is gone (crashed, cut off from this
// host, its sync job dead), a campaign the traders paused or cut since
// would keep spending on the stale book until someone noticed. So every
// successful reload and every heartbeat (POST /admin/heartbeat) is a sign
// of life, and after data.deadman without one the bid handler answers
// every request with a no-bid (decision.ReasonDeadman) until the next.
// Notices are served throughout: the bids made before still count.
//
// The request path reads one atomic word (the time bidding stops) and
// compares it with the clock reading it already has.
type deadman struct {
	timeout time.Duration
	// until is when bidding stops, in unix nanoseconds: the last sign
	// of life plus timeout. 0 when the switch is off.
	until atomic.Int64
	last  atomic.Int64 // the last sign of life, unix nanoseconds
	// tripped is set by the timer that logs the trip, and cleared (and
	// the release logged) by the next sign of life.
	tripped atomic.Bool
	timer   *time.Timer
	log     *slog.Logger // where the trip and the return go: slog's default
}

func init() {
	metrics.NewGauge(`rtbd_deadman_tripped`, func() float64 {
		if e := current.Load(); e != nil && e.Halted(time.Now()) {
			return 1
		}
		return 0
	})
	// The last successful reload or heartbeat, whether or not
	// data.deadman is set: alert on its age.
	metrics.NewGauge(`rtbd_control_plane_last_seen_timestamp_seconds`, func() float64 {
		if e := current.Load(); e != nil {
			return float64(e.dead.last.Load()) / 1e9
		}
		return 0
	})
}

// armDeadman sets data.deadman (0 leaves the switch off) and counts the
// first sign of life from now.
func (e *Engine) armDeadman(timeout time.Duration) {
	e.dead.timeout, e.dead.log = timeout, slog.Default()
	if timeout > 0 {
		e.dead.timer = time.AfterFunc(timeout, e.logTrip)
	}
	e.Beat(time.Now())
}

func (d *deadman) stop() {
	if d.timer != nil {
		d.timer.Stop()
	}
}

// Beat records a sign of life from the control plane at now: bidding
// goes on until now plus data.deadman. Reload calls it when it succeeds,
// POST /admin/heartbeat otherwise. Tests pass an earlier time to trip
// the switch without waiting.
func (e *Engine) Beat(now time.Time) {
	d := &e.dead
	d.last.Store(now.UnixNano())
	if d.timeout <= 0 {
		return
	}
	until := now.Add(d.timeout)
	d.until.Store(until.UnixNano())
	d.timer.Reset(time.Until(until))
	if d.tripped.Swap(false) {
		d.log.Warn("deadman: the control plane is back; bidding again", "until", until.UTC().Format(time.RFC3339))
	}
}

// Halted reports whether the deadman switch has tripped at now: data.deadman
// is set and the last sign of life is older. The bid handler asks it for
// every request; it neither allocates nor reads the clock.
func (e *Engine) Halted(now time.Time) bool {
	u := e.dead.until.Load()
	return u != 0 && now.UnixNano() > u
}

// Deadman returns data.deadman (0 when off) and the last sign of life.
func (e *Engine) Deadman() (timeout time.Duration, last time.Time) {
	return e.dead.timeout, time.Unix(0, e.dead.last.Load())
}

// logTrip runs when data.deadman has passed since the last sign of life,
// unless one came since.
func (e *Engine) logTrip() {
	now := time.Now()
	if !e.Halted(now) || e.dead.tripped.Swap(true) {
		return
	}
	_, last := e.Deadman()
	e.dead.log.Error("deadman: no reload or heartbeat from the control plane; answering every bid request with a no-bid until the next",
		"silentFor", now.Sub(last).Round(time.Second).String(), "deadman", e.dead.timeout.String())
}

// AppendLastSeen appends the last sign of life (unix nanoseconds, 8 bytes
// little endian), for the state file: a restart must not renew the
// deadman switch's credit.
func (e *Engine) AppendLastSeen(dst []byte) []byte {
	return binary.LittleEndian.AppendUint64(dst, uint64(e.dead.last.Load()))
}

// RestoreLastSeen restores what AppendLastSeen wrote, before the daemon
// serves. The start's own load of the data files is no sign of life when
// an earlier one is known: those files are as stale as the control plane
// left them, and a daemon that restarts (a deploy, a crash loop) would
// otherwise bid on them for data.deadman after every start. The saved
// time counts instead, when it is older; a later one (the clock went
// back) is ignored.
func (e *Engine) RestoreLastSeen(b []byte) (int, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("last sign of life: %d bytes; want 8", len(b))
	}
	t := int64(binary.LittleEndian.Uint64(b))
	if t <= 0 || t >= e.dead.last.Load() {
		return 0, nil
	}
	e.Beat(time.Unix(0, t))
	return 1, nil
}
