// Package systemd speaks the systemd service protocol for rtbd: readiness,
// reload and stop notifications, the watchdog, and socket activation, using
// github.com/coreos/go-systemd/v22 (the library systemd's own Go users use).
// Every function is a no-op when the daemon does not run under systemd.
package systemd

import (
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"
)

func notify(state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		slog.Warn("cannot notify systemd", "state", state, "err", err)
	}
}

// Ready tells systemd the service is up (Type=notify).
func Ready() { notify(daemon.SdNotifyReady) }

// Reloading tells systemd a reload started; call [Ready] when it ends.
// MONOTONIC_USEC lets Type=notify-reload units match the reload too.
func Reloading() {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	notify(fmt.Sprintf("%s\nMONOTONIC_USEC=%d", daemon.SdNotifyReloading, ts.Nano()/1000))
}

// Stopping tells systemd the service is shutting down and needs up to
// budget to finish (EXTEND_TIMEOUT_USEC): the unit's TimeoutStopSec is
// fixed, while the drain's length comes from the daemon's configuration,
// and systemd kills a service that outlasts it before its final state
// save. budget <= 0 leaves the unit's timeout as it is.
func Stopping(budget time.Duration) {
	msg := daemon.SdNotifyStopping
	if budget > 0 {
		msg += fmt.Sprintf("\nEXTEND_TIMEOUT_USEC=%d", budget.Microseconds())
	}
	notify(msg)
}

// Status sets the one-line status shown by systemctl status.
func Status(s string) { notify("STATUS=" + s) }

// StartWatchdog pings the systemd watchdog at half of WatchdogSec while
// healthy() is true, until stop is closed. It returns at once when the unit
// has no watchdog.
func StartWatchdog(stop <-chan struct{}, healthy func() bool) {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		return
	}
	go func() {
		t := time.NewTicker(interval / 2)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if healthy() {
					notify(daemon.SdNotifyWatchdog)
				}
			}
		}
	}()
}

// Listeners returns the sockets passed by systemd socket activation
// (LISTEN_FDS), split by FileDescriptorName: sockets named "admin" are for
// the admin listener, all others for the bid listener. Both are empty when
// the daemon was not socket-activated.
func Listeners() (bid, admin []net.Listener, err error) {
	named, err := activation.ListenersWithNames()
	if err != nil {
		return nil, nil, fmt.Errorf("cannot use systemd sockets: %w", err)
	}
	for name, lns := range named {
		if name == "admin" {
			admin = append(admin, lns...)
		} else {
			bid = append(bid, lns...)
		}
	}
	return bid, admin, nil
}
