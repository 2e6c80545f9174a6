package harness

import (
	"fmt"
	"net"
	"os"
	"testing"
	"time"
)

// Sockets are listening sockets the test owns and passes to each rtbd it
// starts, the way systemd socket activation does: the kernel queues
// connections on them while no rtbd is accepting.
type Sockets struct {
	Bid, Admin *net.TCPListener
	bidF       *os.File
	adminF     *os.File
}

// OpenSockets listens on the bid port (all addresses) and the admin port
// (the host's address) inside h's namespace.
func OpenSockets(tb testing.TB, h *Host) *Sockets {
	tb.Helper()
	bid, err := h.NS.Listen(fmt.Sprintf("0.0.0.0:%d", BidPort))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { bid.Close() })
	admin, err := h.NS.Listen(fmt.Sprintf("%s:%d", h.Addr, AdminPort))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { admin.Close() })
	s := &Sockets{Bid: bid, Admin: admin}
	if s.bidF, err = bid.File(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.bidF.Close() })
	if s.adminF, err = admin.File(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.adminF.Close() })
	return s
}

// StartActivated starts rtbd on h with the sockets as fd 3 (bid) and 4
// (admin). LISTEN_PID must be rtbd's own pid, which only a shell that
// execs rtbd knows.
func StartActivated(tb testing.TB, bin Binaries, h *Host, name string, cfg RtbdConfig, s *Sockets) *Rtbd {
	tb.Helper()
	path := WriteJSON(tb, tb.TempDir(), "rtbd.json", cfg)
	p := Start(tb, ProcSpec{
		Name:  name,
		NS:    h.NS,
		Argv:  []string{"sh", "-c", `LISTEN_PID=$$ exec "$0" -config "$1"`, bin.Rtbd, path},
		Env:   []string{"LISTEN_FDS=2", "LISTEN_FDNAMES=bid:admin"},
		Files: []*os.File{s.bidF, s.adminF},
	})
	return &Rtbd{Proc: p, Host: h, client: h.NS.HTTPClient(2 * time.Second)}
}
