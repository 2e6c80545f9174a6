package load

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestPacerKeepsSlotTimes runs the pacer at a rate that waits on
// one-shot timers (10k/s) and at one that waits on the periodic tick
// (200k/s): every slot of the schedule comes out once, in order, never
// before its intended time, and the run lasts at least the schedule.
// That the tick itself waits is TestSleeperTickWaits's to check: the
// pacer re-reads the clock after every wait.
func TestPacerKeepsSlotTimes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rate float64
		d    time.Duration
	}{{10_000, 50 * time.Millisecond}, {200_000, 30 * time.Millisecond}} {
		want := int64(tc.rate * tc.d.Seconds())
		var stop atomic.Bool
		p := &pacer{
			sched:  newSchedule(Constant(tc.rate), tc.d, MaxCount),
			out:    make(chan int64, want+1),
			stop:   &stop,
			onDrop: func(int64) { t.Error("a slot was dropped from a queue with room for all") },
		}
		p.clock = clock{start: time.Now()}
		type got struct{ slot, at int64 }
		recv := make(chan []got)
		go func() {
			var out []got
			for slot := range p.out {
				out = append(out, got{slot, p.clock.now()})
			}
			recv <- out
		}()
		p.run()
		out := <-recv
		if int64(len(out)) != want || p.scheduled.Load() != want {
			t.Fatalf("rate %v for %v: %d slots out, %d scheduled; want %d", tc.rate, tc.d, len(out), p.scheduled.Load(), want)
		}
		for i, g := range out {
			if i > 0 && g.slot <= out[i-1].slot {
				t.Fatalf("rate %v: slot %d at %d ns follows %d ns", tc.rate, i, g.slot, out[i-1].slot)
			}
			if g.at < g.slot {
				t.Fatalf("rate %v: slot %d (%d ns) handed out %d ns early", tc.rate, i, g.slot, g.slot-g.at)
			}
		}
		if last := out[len(out)-1]; last.at < int64(tc.d)-int64(time.Second)/int64(tc.rate) {
			t.Fatalf("rate %v for %v: the last slot went out at %v", tc.rate, tc.d, time.Duration(last.at))
		}
	}
}

// TestSleeperTickWaits checks that ticks wait for the timer: n ticks of a
// period take at least n-1 periods (the first tick arms the timer and
// waits one period, each later one waits for the next expiry), and a
// one-shot sleep after the ticks still waits its own time.
func TestSleeperTickWaits(t *testing.T) {
	t.Parallel()
	s := newSleeper()
	defer s.close()
	const period, n = time.Millisecond, 20
	start := time.Now()
	for range n {
		s.tick(period)
	}
	if took := time.Since(start); took < (n-1)*period {
		t.Fatalf("%d ticks of %v took %v; want at least %v", n, period, took, (n-1)*period)
	}
	start = time.Now()
	s.sleep(5 * time.Millisecond)
	if took := time.Since(start); took < 5*time.Millisecond {
		t.Fatalf("a 5ms sleep after ticks took %v", took)
	}
}
