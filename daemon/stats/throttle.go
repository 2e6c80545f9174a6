package stats

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// Throttle lets at most one log line through per interval and counts the
// suppressed ones, reporting them with the next line that passes. Use one
// Throttle per call site on the request path.
//
// The zero value is not usable; create it with [NewThrottle].
type Throttle struct {
	interval   int64 // nanoseconds
	last       atomic.Int64
	suppressed atomic.Int64
}

// NewThrottle returns a throttle passing one line per interval.
func NewThrottle(interval time.Duration) *Throttle {
	return &Throttle{interval: int64(interval)}
}

// Allow reports whether a line may be written now. When it may, it also
// returns how many lines were suppressed since the last one. Check Allow
// before building log attributes, so suppressed lines cost no allocation.
func (t *Throttle) Allow() (suppressed int64, ok bool) {
	now := time.Now().UnixNano()
	last := t.last.Load()
	if now-last < t.interval || !t.last.CompareAndSwap(last, now) {
		t.suppressed.Add(1)
		return 0, false
	}
	return t.suppressed.Swap(0), true
}

// Log writes msg through l at level when the interval has passed since the
// last line, adding a "suppressed" attribute; otherwise it only counts.
func (t *Throttle) Log(l *slog.Logger, level slog.Level, msg string, args ...any) {
	n, ok := t.Allow()
	if !ok {
		return
	}
	l.Log(context.Background(), level, msg, append(args, "suppressed", n)...)
}
