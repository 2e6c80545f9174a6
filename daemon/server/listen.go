package server

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// Listen opens the bid listener at addr: one socket, or with reusePort one
// SO_REUSEPORT socket per GOMAXPROCS so the kernel spreads connections over
// accept queues without a shared lock (DESIGN.md section 1).
func Listen(addr string, reusePort bool) ([]net.Listener, error) {
	n := 1
	lc := net.ListenConfig{}
	if reusePort {
		n = runtime.GOMAXPROCS(0)
		lc.Control = setReusePort
	}
	lns := make([]net.Listener, 0, n)
	for i := 0; i < n; i++ {
		ln, err := lc.Listen(context.Background(), "tcp", addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

func setReusePort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
