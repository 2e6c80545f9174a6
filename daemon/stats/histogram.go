// Package stats has the request path's measuring tools: a lock-free latency
// histogram exported in Prometheus format, a queue-age probe used for load
// shedding, and a log throttle so a flood of bad requests never becomes a
// flood of log lines.
package stats

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// bounds are the upper bounds of the histogram buckets. They are dense
// between 10us and 10ms, where rtbd's latency objectives live.
var bounds = [...]time.Duration{
	10 * time.Microsecond, 25 * time.Microsecond, 50 * time.Microsecond,
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, time.Second,
}

// Histogram is a Prometheus histogram of durations updated with atomic adds
// only, so it is safe and cheap on the request path: unlike
// metrics.Histogram, Update takes no lock and never allocates.
//
// Create it once with [NewHistogram]; the zero value is not registered.
type Histogram struct {
	name    string // metric name without labels
	labels  string // `{a="b"}` or ""
	buckets [len(bounds) + 1]atomic.Uint64
	sumNS   atomic.Uint64
}

// NewHistogram registers a histogram under name, which may carry labels:
// `rtbd_request_duration_seconds{path="bid"}`. Call it at package init;
// registering the same name twice writes it twice.
func NewHistogram(name string) *Histogram {
	h := &Histogram{name: name}
	for i := 0; i < len(name); i++ {
		if name[i] == '{' {
			h.name, h.labels = name[:i], name[i+1:len(name)-1]
			break
		}
	}
	metrics.RegisterMetricsWriter(h.writePrometheus)
	return h
}

var (
	registryMu sync.Mutex
	registry   = map[string]*Histogram{}
)

// GetOrCreateHistogram returns the histogram registered under name by an
// earlier call, or registers a new one as [NewHistogram] does: for
// histograms made at run time (one per configured exchange), which a
// second server in the same process must share rather than write twice.
func GetOrCreateHistogram(name string) *Histogram {
	registryMu.Lock()
	defer registryMu.Unlock()
	h := registry[name]
	if h == nil {
		h = NewHistogram(name)
		registry[name] = h
	}
	return h
}

// Update records one duration.
func (h *Histogram) Update(d time.Duration) {
	if d < 0 {
		d = 0
	}
	i := 0
	for i < len(bounds) && d > bounds[i] {
		i++
	}
	h.buckets[i].Add(1)
	h.sumNS.Add(uint64(d))
}

// UpdateSince records the time elapsed since start.
func (h *Histogram) UpdateSince(start time.Time) { h.Update(time.Since(start)) }

// Count returns the number of recorded durations.
func (h *Histogram) Count() uint64 {
	var n uint64
	for i := range h.buckets {
		n += h.buckets[i].Load()
	}
	return n
}

func (h *Histogram) writePrometheus(w io.Writer) {
	sep := ""
	if h.labels != "" {
		sep = ","
	}
	var cum uint64
	for i := range h.buckets {
		cum += h.buckets[i].Load()
		le := "+Inf"
		if i < len(bounds) {
			le = fmt.Sprintf("%g", bounds[i].Seconds())
		}
		fmt.Fprintf(w, "%s_bucket{%s%sle=%q} %d\n", h.name, h.labels, sep, le, cum)
	}
	lbl := ""
	if h.labels != "" {
		lbl = "{" + h.labels + "}"
	}
	fmt.Fprintf(w, "%s_sum%s %g\n", h.name, lbl, time.Duration(h.sumNS.Load()).Seconds())
	fmt.Fprintf(w, "%s_count%s %d\n", h.name, lbl, cum)
}
