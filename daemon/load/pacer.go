package load

import (
	"runtime"
	"sync/atomic"
	"time"
)

const (
	// maxSpin is the most the pacer spins before a slot instead of
	// parking: a timerfd wakes the pacer tens of microseconds late, and
	// noisy neighbours make that worse.
	maxSpin = 200 * time.Microsecond
	// maxSleep bounds one sleep so that a stop is noticed quickly even at
	// very low rates.
	maxSleep = 50 * time.Millisecond
	// Below tickBelow between slots the pacer waits on a periodic timer
	// that ticks every tickPeriod instead of arming a timer for each wait
	// (see sleeper.tick).
	tickBelow  = 20 * time.Microsecond
	tickPeriod = 40 * time.Microsecond
)

// clock measures run-relative monotonic time in nanoseconds.
type clock struct{ start time.Time }

func (c clock) now() int64 { return int64(time.Since(c.start)) }

// at converts a run-relative offset to a wall-clock deadline.
func (c clock) at(offset int64) time.Time { return c.start.Add(time.Duration(offset)) }

// pacer hands the slots of a schedule to the workers through a bounded
// queue at their intended times. It never waits for a worker: when no
// worker is free the slot waits in the queue (counted as backlog), and
// when the queue is full the slot is dropped (counted). Workers measure
// latency from the slot's intended time, so a late send or a queued slot
// still counts its full delay: no coordinated omission.
type pacer struct {
	sched *schedule
	clock clock
	out   chan int64
	stop  *atomic.Bool
	sleep *sleeper
	// onDrop accounts a dropped slot in the per-second series.
	onDrop func(slot int64)

	scheduled atomic.Int64 // slots produced
	backlog   atomic.Int64 // slots queued because every worker was busy
	dropped   atomic.Int64 // slots dropped because the queue was full
	maxQueue  atomic.Int64 // deepest queue seen
	maxLate   atomic.Int64 // largest delay of a push after its slot
	// spin is the time the event loop spun on the clock before its slots,
	// in nanoseconds (see Saturation.Spin).
	spin atomic.Int64
	// queued is the event loop's queue length (the goroutine engine's is
	// len(out)).
	queued atomic.Int64
}

// queueLen is the number of slots waiting for a free connection.
func (p *pacer) queueLen() int64 { return int64(len(p.out)) + p.queued.Load() }

// run produces every slot of the schedule, then closes out. It returns
// early when stop is set.
func (p *pacer) run() {
	defer close(p.out)
	p.sleep = newSleeper()
	defer p.sleep.close()
	prev := int64(0)
	for !p.stop.Load() {
		slot, ok := p.sched.nextSlot()
		if !ok {
			return
		}
		p.waitUntil(slot, slot-prev)
		p.push(slot)
		prev = slot
	}
}

// spinFor returns how long to spin before a slot that follows the previous
// one by interval: a quarter of the interval, at most maxSpin. A goroutine
// that spins without pause starves the netpoller (the scheduler polls the
// network only when it runs out of runnable goroutines, or from sysmon
// every 10 ms), which stalls the workers' responses; measured here, a
// 200 us spin at 20k req/s left workers 100 ms behind, while parking alone
// kept p99 under 0.3 ms. So the pacer spins only for a bounded share of
// its time and parks otherwise.
func spinFor(interval int64) time.Duration {
	return min(time.Duration(interval/4), maxSpin)
}

// waitUntil waits for slot, which follows the previous one by interval:
// it parks until spinFor(interval) before the slot, then spins. When the
// pacer is behind it returns at once, so overdue slots go out back to
// back.
//
// Above 50k slots a second it parks on the periodic tick instead: arming
// a timer for each wait cost rtbload 5 % of its CPU at 90k req/s (a
// timerfd_settime, which in a VM reprograms the local APIC timer, for
// each of 27k waits a second). A wait then ends up to tickPeriod after
// its slot, well within how late a wake-up comes anyway at such rates,
// and latency still counts from the slot's time.
func (p *pacer) waitUntil(slot, interval int64) {
	spin := spinFor(interval)
	for !p.stop.Load() {
		ahead := time.Duration(slot - p.clock.now())
		switch {
		case ahead <= 0:
			return
		case ahead > spin && interval < int64(tickBelow):
			p.sleep.tick(tickPeriod)
		case ahead > spin:
			p.sleep.sleep(min(ahead-spin, maxSleep))
		default:
			runtime.Gosched()
		}
	}
}

func (p *pacer) push(slot int64) {
	p.scheduled.Add(1)
	if late := p.clock.now() - slot; late > p.maxLate.Load() {
		p.maxLate.Store(late)
	}
	select {
	case p.out <- slot:
		// A slot handed straight to a waiting worker leaves the queue
		// empty; anything queued means every worker was busy.
		if q := int64(len(p.out)); q > 0 {
			p.backlog.Add(1)
			if q > p.maxQueue.Load() {
				p.maxQueue.Store(q)
			}
		}
	default:
		p.dropped.Add(1)
		p.onDrop(slot)
	}
}
