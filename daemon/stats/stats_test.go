package stats

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

func TestHistogramBuckets(t *testing.T) {
	f := func(d time.Duration, wantBucket int) {
		t.Helper()
		var h Histogram
		h.Update(d)
		for i := range h.buckets {
			got := h.buckets[i].Load()
			want := uint64(0)
			if i == wantBucket {
				want = 1
			}
			if got != want {
				t.Fatalf("Update(%v): bucket %d has %d; want %d", d, i, got, want)
			}
		}
	}
	f(-time.Second, 0)
	f(0, 0)
	f(10*time.Microsecond, 0)
	f(10*time.Microsecond+1, 1)
	f(999*time.Microsecond, 6)
	f(time.Millisecond, 6)
	f(time.Second, len(bounds)-1)
	f(time.Hour, len(bounds))
}

func TestHistogramPrometheus(t *testing.T) {
	h := &Histogram{name: "rtbd_x_seconds", labels: `path="bid"`}
	h.Update(20 * time.Microsecond)
	h.Update(3 * time.Millisecond)
	h.Update(2 * time.Second)
	var buf bytes.Buffer
	h.writePrometheus(&buf)
	out := buf.String()
	for _, want := range []string{
		`rtbd_x_seconds_bucket{path="bid",le="1e-05"} 0`,
		`rtbd_x_seconds_bucket{path="bid",le="2.5e-05"} 1`,
		`rtbd_x_seconds_bucket{path="bid",le="0.005"} 2`,
		`rtbd_x_seconds_bucket{path="bid",le="1"} 2`,
		`rtbd_x_seconds_bucket{path="bid",le="+Inf"} 3`,
		`rtbd_x_seconds_sum{path="bid"} 2.00302`,
		`rtbd_x_seconds_count{path="bid"} 3`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Fatalf("missing line %q in\n%s", want, out)
		}
	}
	if h.Count() != 3 {
		t.Fatalf("Count() = %d; want 3", h.Count())
	}
}

func TestNewHistogramSplitsLabels(t *testing.T) {
	h := NewHistogram(`rtbd_test_split_seconds{a="b"}`)
	if h.name != "rtbd_test_split_seconds" || h.labels != `a="b"` {
		t.Fatalf("got name %q labels %q", h.name, h.labels)
	}
}

// TestGetOrCreateHistogram: a second call with a name returns the first
// histogram, and /metrics shows it once.
func TestGetOrCreateHistogram(t *testing.T) {
	a := GetOrCreateHistogram(`rtbd_test_once_seconds{x="1"}`)
	b := GetOrCreateHistogram(`rtbd_test_once_seconds{x="1"}`)
	c := GetOrCreateHistogram(`rtbd_test_once_seconds{x="2"}`)
	if a != b || a == c {
		t.Fatalf("same name gave %p and %p, other name %p; want the same and another", a, b, c)
	}
	var w bytes.Buffer
	metrics.WritePrometheus(&w, false)
	if n := strings.Count(w.String(), `rtbd_test_once_seconds_count{x="1"}`); n != 1 {
		t.Fatalf("/metrics shows the histogram %d times; want once", n)
	}
}

func TestThrottle(t *testing.T) {
	th := NewThrottle(time.Hour)
	if n, ok := th.Allow(); !ok || n != 0 {
		t.Fatalf("first Allow() = %d, %v; want 0, true", n, ok)
	}
	for i := 0; i < 5; i++ {
		if _, ok := th.Allow(); ok {
			t.Fatalf("Allow() passed within the interval")
		}
	}
	th.last.Store(time.Now().Add(-2 * time.Hour).UnixNano())
	if n, ok := th.Allow(); !ok || n != 5 {
		t.Fatalf("Allow() after the interval = %d, %v; want 5 suppressed, true", n, ok)
	}
}
