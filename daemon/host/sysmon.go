package host

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// QuietSysmon is the GODEBUG setting [ExecQuietSysmon] adds. A schedtrace
// period makes the runtime's sysmon thread skip its deep sleep (the
// runtime keeps it awake to print the trace); 2^31-1 ms, about 24.8 days,
// means the trace line itself comes out at most once every 24.8 days of
// host uptime, one line on stderr.
const QuietSysmon = "schedtrace=2147483647"

// ExecQuietSysmon re-executes the running program, same arguments and
// environment, with QuietSysmon added to GODEBUG. It returns nil at once
// when GODEBUG already sets schedtrace (so the re-executed program, or
// an operator's own choice, goes on), and an error when it cannot
// execute; on success it does not return. Call it before opening files or
// sockets: exec keeps the process id and the descriptors systemd passed,
// and closes those Go opened.
//
// Why: sysmon, the runtime's monitor thread, sleeps deeply whenever every
// P is idle, and the first system call after that wakes it and resets its
// polling to every 20 us, for at least 1 ms. A server between requests
// goes idle and busy thousands of times a second, so sysmon polls at
// 20 us most of the time, and on a pinned core each poll preempts the
// request being served. Measured here on one pinned core at 30k req/s
// (perf), sysmon took 7 % of rtbd's CPU and 28 % of the fixed-response
// server's; with QuietSysmon, CPU per request fell 7 % for rtbd (30.4 and
// 31.1 us to 27.5 and 29.2) and 22 % for the fixed-response server (19.3
// to 15.1 us), and rtbd's median latency from 66-69 to 50-53 us.
//
// What it costs: sysmon then backs off to polling every 10 ms once it has
// had nothing to do for 1 ms, as it already does under steady load. It
// takes a P from a goroutine blocked in a system call only after that
// long, so a blocking call on the serving path (rtbd makes none; the
// event log writes from its own goroutine) would hold its P that long.
func ExecQuietSysmon() error {
	godebug, ok := withQuietSysmon(os.Getenv("GODEBUG"))
	if !ok {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cannot re-execute with GODEBUG=%s: %w", godebug, err)
	}
	env := []string{"GODEBUG=" + godebug}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GODEBUG=") {
			env = append(env, kv)
		}
	}
	if err := syscall.Exec(exe, os.Args, env); err != nil {
		return fmt.Errorf("cannot re-execute %s with GODEBUG=%s: %w", exe, godebug, err)
	}
	return nil
}

// withQuietSysmon returns godebug with QuietSysmon added, and false when
// godebug sets schedtrace already.
func withQuietSysmon(godebug string) (string, bool) {
	for _, kv := range strings.Split(godebug, ",") {
		if k, _, _ := strings.Cut(strings.TrimSpace(kv), "="); k == "schedtrace" {
			return godebug, false
		}
	}
	if strings.TrimSpace(godebug) == "" {
		return QuietSysmon, true
	}
	return godebug + "," + QuietSysmon, true
}
