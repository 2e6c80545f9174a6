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
	its := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	if err := unix.TimerfdSettime(s.fd, 0, &its, nil); err != nil {
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
