package stats

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"golang.org/x/sys/unix"
)

// QueueProbe estimates a request's queue age: how long a request that
// arrives now waits before its handler starts.
//
// A request waits twice: in the kernel until the Go runtime's network
// poller reports its connection readable, and in the run queue until its
// goroutine gets a CPU. fasthttp stamps the request after both, just
// before calling the handler, so a handler cannot see its own wait.
//
// The probe sends a canary through the same two queues: a timerfd in the
// same poller, which the kernel makes readable every probeInterval as a
// packet makes a connection readable. The poller reports it behind the
// connections that are ready already, and the probe's goroutine is queued
// behind theirs, so the time from the timer's expiry to the probe's read
// is the wait of a request that arrived with it.
//
// A Go timer cannot measure this: the goroutine it wakes runs next, ahead
// of every runnable one. The timer-lateness probe this replaced stayed
// under a microsecond while hundreds of connections overloaded rtbd:
// over 1,000 it never shed, and 99.0-99.7 % of the requests timed out at
// the client.
//
// The handler reads [QueueProbe.Age] with three atomic loads. The probe
// costs a wake-up and two reads per interval (the second finds the timer
// not expired yet and waits in the poller). After parkAfter intervals
// without a request the timer stops; the next request starts it again.
type QueueProbe struct {
	age   atomic.Int64 // smoothed age of the canaries read, ns
	due   atomic.Int64 // when the next canary arrives (see now); 0: none
	state atomic.Int32
	read  atomic.Uint64 // canaries read

	base     time.Time // the origin of now
	baseMono int64     // CLOCK_MONOTONIC at base, ns: the timer's clock
	tfd      *os.File  // the timer, non-blocking: read through the poller
	wake     chan struct{}
	stop     chan struct{}
	done     chan struct{}
}

const (
	// probeInterval trades the probe's cost against how soon a growing
	// queue is seen.
	probeInterval = 2 * time.Millisecond
	// parkAfter is how many intervals without a request stop the probe.
	parkAfter = 25
)

// The probe's state, as the handler leaves it and the probe finds it.
const (
	stateBusy   int32 = iota // a request came since the last canary
	stateQuiet               // none came yet
	stateParked              // the timer is stopped until a request comes
)

var queueAge = metrics.NewGauge(`rtbd_queue_age_seconds`, nil)

// StartQueueProbe starts the probe; stop it with [QueueProbe.Stop].
func StartQueueProbe() (*QueueProbe, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("queue probe: timerfd_create: %w", err)
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("queue probe: clock_gettime: %w", err)
	}
	p := &QueueProbe{
		base: time.Now(), baseMono: ts.Nano(),
		tfd:  os.NewFile(uintptr(fd), "queue-probe-timerfd"),
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	p.state.Store(stateQuiet)
	if err := p.arm(); err != nil {
		p.tfd.Close()
		return nil, err
	}
	go p.run()
	return p, nil
}

// now is t as nanoseconds since p.base, monotonic and above 0.
func (p *QueueProbe) now(t time.Time) int64 {
	return int64(t.Sub(p.base)) + 1
}

// arm starts the timer: the next canary arrives one interval from now.
func (p *QueueProbe) arm() error {
	due := p.now(time.Now()) + int64(probeInterval)
	p.due.Store(due)
	err := p.settime(unix.TFD_TIMER_ABSTIME, &unix.ItimerSpec{
		Value:    unix.NsecToTimespec(p.baseMono + due - 1),
		Interval: unix.NsecToTimespec(int64(probeInterval)),
	})
	if err != nil {
		p.due.Store(0)
	}
	return err
}

// disarm stops the timer; no canary is due. A settime also clears the
// expirations not read yet.
func (p *QueueProbe) disarm() error {
	p.due.Store(0)
	return p.settime(0, &unix.ItimerSpec{})
}

// settime sets the timer through the file, so that it cannot hit a
// descriptor that Stop closed and something else reused.
func (p *QueueProbe) settime(flags int, spec *unix.ItimerSpec) error {
	rc, err := p.tfd.SyscallConn()
	if err != nil {
		return fmt.Errorf("queue probe: %w", err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.TimerfdSettime(int(fd), flags, spec, nil) }); err != nil {
		return fmt.Errorf("queue probe: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("queue probe: timerfd_settime: %w", serr)
	}
	return nil
}

func (p *QueueProbe) run() {
	defer close(p.done)
	// A probe that stopped reading must not leave a canary overdue: Age
	// would grow without end and shed every request.
	defer p.due.Store(0)
	var buf [8]byte
	quiet := 0
	for {
		// Blocks in the poller until the timer expires (os.File reads a
		// non-blocking file there); Stop's Close ends it.
		if k, err := p.tfd.Read(buf[:]); err != nil {
			return
		} else if k != 8 {
			continue
		}
		n := int64(binary.NativeEndian.Uint64(buf[:])) // expirations since the last read
		if due := p.due.Load(); due != 0 && n > 0 {
			// The first of the n expirations made the canary readable.
			p.Observe(time.Duration(max(p.now(time.Now())-due, 0)))
			p.due.Store(due + n*int64(probeInterval))
		}
		p.read.Add(1)
		if p.state.Swap(stateQuiet) == stateQuiet {
			quiet++
		} else {
			quiet = 0
		}
		if quiet < parkAfter || !p.state.CompareAndSwap(stateQuiet, stateParked) {
			continue
		}
		if p.disarm() != nil {
			return
		}
		select {
		case <-p.stop:
			return
		case <-p.wake:
		}
		quiet = 0
		if p.arm() != nil {
			return
		}
	}
}

// Observe folds one canary's queue age into the smoothed age. Exponential
// smoothing with weight 1/4 reacts within a few intervals yet ignores one
// stall of a noisy host; tests call it to simulate load.
func (p *QueueProbe) Observe(age time.Duration) {
	old := p.age.Load()
	v := old + (int64(age)-old)/4
	p.age.Store(v)
	queueAge.Set(time.Duration(v).Seconds())
}

// Age returns the queue age of a request stamped now (fasthttp's
// ctx.Time()): the smoothed age of the canaries read or, when the next
// canary is overdue and that is longer, the time since it was due. Every
// request handled meanwhile was ready before the canary, so it waited at
// least as long. A nil probe reports 0.
func (p *QueueProbe) Age(now time.Time) time.Duration {
	if p == nil {
		return 0
	}
	if p.state.Load() != stateBusy {
		p.touch()
	}
	age := p.age.Load()
	if due := p.due.Load(); due != 0 {
		if late := p.now(now) - due; late > age {
			age = late
		}
	}
	return time.Duration(age)
}

// touch tells the probe a request came, and restarts it if it was parked.
func (p *QueueProbe) touch() {
	if p.state.Swap(stateBusy) == stateParked {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// Stop ends the probe and waits for its goroutine. A nil probe is a no-op.
func (p *QueueProbe) Stop() {
	if p == nil {
		return
	}
	close(p.stop)
	p.tfd.Close() // ends a read that waits
	<-p.done
}
