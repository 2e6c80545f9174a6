//go:build !race

package stats

import (
	"testing"
	"time"
)

func TestHistogramUpdateNoAlloc(t *testing.T) {
	h := &Histogram{name: "x"}
	if n := testing.AllocsPerRun(100, func() { h.Update(123 * time.Microsecond) }); n != 0 {
		t.Fatalf("Update allocates %v times; want 0", n)
	}
	th := NewThrottle(time.Hour)
	th.Allow()
	if n := testing.AllocsPerRun(100, func() { th.Allow() }); n != 0 {
		t.Fatalf("Throttle.Allow allocates %v times; want 0", n)
	}
}
