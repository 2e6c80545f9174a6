package load

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// sleeper waits on a timerfd registered with the Go netpoller: the pacer
// goroutine parks without holding a thread or a P, and wakes within tens
// of microseconds. time.Sleep, by contrast, wakes up to 1 ms late for
// sub-millisecond sleeps here (/work/shared/reference/this-machine.md),
// and a blocking nanosleep holds the P until sysmon takes it back.
type sleeper struct {
	fd  int
	f   *os.File
	buf [8]byte
	// period is the interval of the periodic timer in force (see tick),
	// 0 when the timer is one-shot or disarmed.
	period time.Duration
}

func newSleeper() *sleeper {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return &sleeper{fd: -1}
	}
	return &sleeper{fd: fd, f: os.NewFile(uintptr(fd), "timerfd")}
}

// sleep waits about d.
func (s *sleeper) sleep(d time.Duration) {
	if s.f == nil {
		time.Sleep(d)
		return
	}
	s.period = 0
	s.arm(d, 0)
}

// tick waits for the next tick of a timer that expires every period: the
// timer is armed once and left running, so a wait costs a read of the
// timerfd and no system call to arm it. Ticks missed while the caller was
// busy are consumed at once by the next read.
func (s *sleeper) tick(period time.Duration) {
	if s.f == nil {
		time.Sleep(period)
		return
	}
	if s.period == period {
		if _, err := s.f.Read(s.buf[:]); err != nil {
			time.Sleep(period)
		}
		return
	}
	s.period = period
	s.arm(period, period)
}

// arm sets the timer to expire after d, then every interval (0: once), and
// waits for the first expiry.
func (s *sleeper) arm(d, interval time.Duration) {
	its := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d)), Interval: unix.NsecToTimespec(int64(interval))}
	if err := unix.TimerfdSettime(s.fd, 0, &its, nil); err != nil {
		s.period = 0
		time.Sleep(d)
		return
	}
	if _, err := s.f.Read(s.buf[:]); err != nil {
		time.Sleep(d)
	}
}

func (s *sleeper) close() {
	if s.f != nil {
		s.f.Close()
	}
}
