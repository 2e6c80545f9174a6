package doctor

import (
	"fmt"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// cacheTTL bounds how often a scrape re-reads /proc and /sys: every gauge
// of one scrape reads the same results.
const cacheTTL = time.Second

// exported is the set registered by the last [ExportMetrics] call.
var exported struct {
	mu  sync.Mutex
	set *metrics.Set
}

// ExportMetrics registers one gauge per check with the default metrics
// registry, rtbd_host_check{check="nohz_full"}, valued 1 for pass, 0.5 for
// warn, 0 for fail and NaN for skip (see [Status.Value]). Call it once at start-up: the
// gauges run the checks against root when scraped, at most once per
// second. A second call replaces the gauges of the first.
func ExportMetrics(root string, want Expect) {
	c := &collector{root: root, want: want, ttl: cacheTTL}
	set := metrics.NewSet()
	for _, r := range c.results() {
		name := r.Check
		set.NewGauge(fmt.Sprintf(`rtbd_host_check{check=%q}`, name), func() float64 { return c.value(name) })
	}
	exported.mu.Lock()
	defer exported.mu.Unlock()
	if exported.set != nil {
		metrics.UnregisterSet(exported.set, true)
	}
	metrics.RegisterSet(set)
	exported.set = set
}

// collector caches the results of [Check] for the gauges. It is safe for
// concurrent use; scrapes are rare, so a mutex is fine.
type collector struct {
	root string
	want Expect
	ttl  time.Duration

	mu     sync.Mutex
	at     time.Time
	values map[string]float64
}

func (c *collector) results() []Result {
	rs := Check(c.root, c.want)
	values := make(map[string]float64, len(rs))
	for i := range rs {
		values[rs[i].Check] = rs[i].Status.Value()
	}
	c.mu.Lock()
	c.values, c.at = values, time.Now()
	c.mu.Unlock()
	return rs
}

// value returns the gauge value of check name, refreshing stale results.
func (c *collector) value(name string) float64 {
	c.mu.Lock()
	stale := c.values == nil || time.Since(c.at) >= c.ttl
	c.mu.Unlock()
	if stale {
		c.results()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.values[name]
}
