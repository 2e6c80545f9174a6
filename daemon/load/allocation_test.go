//go:build !race

package load

import (
	"testing"
	"time"
)

func TestHistogramRecordAllocs(t *testing.T) {
	var h Histogram
	n := testing.AllocsPerRun(1000, func() { h.Record(123 * time.Microsecond) })
	if n != 0 {
		t.Fatalf("Histogram.Record allocates %.1f times per call; want 0", n)
	}
}

// TestWorkerDoAllocs covers a worker's whole per-request path: target
// choice, breaker, request reuse, classification and all the counters.
func TestWorkerDoAllocs(t *testing.T) {
	cfg := Config{
		Targets: []string{"http://127.0.0.1:1/a", "http://127.0.0.1:2/b"}, Steps: Constant(10), Count: 1,
		Bodies: [][]byte{benchBody}, newDoer: func() doer { return nopDoer{} },
	}.withDefaults()
	rs, err := newRunState(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	rs.clock = clock{start: time.Now()}
	w := newWorker(rs, 0)
	w.do(0) // allocates the first second of the series
	n := testing.AllocsPerRun(1000, func() { w.do(0) })
	if n != 0 {
		t.Fatalf("worker.do allocates %.1f times per request; want 0", n)
	}
	if w.c.bids.Load() != 1002 { // AllocsPerRun warms up once
		t.Fatalf("got %d bids; want 1002", w.c.bids.Load())
	}
}
