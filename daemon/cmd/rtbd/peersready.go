package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/rtbd/rtbd/daemon/config"
	"github.com/rtbd/rtbd/daemon/peers"
)

const peersReadyUsage = `usage: rtbd peers-ready -config FILE [-timeout D] [-interval D]

Waits until every host of the configuration's state.peers answers that
it takes bid traffic (GET /state/ready, which needs no token; https://
peers are checked against state.peerTLS.caFile), all in the same round.
Run it before restarting a host on purpose: the hosts that share a VIP
then never restart together (the NixOS module's restart for changed
credentials runs it). A peer from before /state/ready counts as ready
when it answers.

Exit status: 0 when all are ready (or there are none), 1 when some were
not after -timeout (they are named), 2 on bad usage or configuration.

`

// peersReadyMain is `rtbd peers-ready`.
func peersReadyMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rtbd peers-ready", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, peersReadyUsage)
		fs.PrintDefaults()
	}
	file := fs.String("config", "", "rtbd's configuration file")
	timeout := fs.Duration("timeout", 10*time.Minute, "how long to wait for the peers")
	interval := fs.Duration("interval", 2*time.Second, "how often to ask them, and each request's timeout (at least 10ms)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *file == "" || fs.NArg() != 0 || *timeout <= 0 || *interval < 10*time.Millisecond {
		fs.Usage()
		return 2
	}
	cfg, err := config.Load(*file)
	if err != nil {
		fmt.Fprintln(stderr, "rtbd peers-ready:", err)
		return 2
	}
	if len(cfg.State.Peers) == 0 {
		fmt.Fprintln(stdout, "no state.peers: nothing to wait for")
		return 0
	}
	roots, err := readPeerRoots(&cfg)
	if err != nil {
		fmt.Fprintln(stderr, "rtbd peers-ready:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	// Each peer's state is printed when it changes, not every round.
	last := make([]string, len(cfg.State.Peers))
	err = peers.WaitReady(ctx, cfg.State.Peers, roots, *interval, func(found []peers.PeerReadiness) {
		for i, f := range found {
			state := "ready"
			switch {
			case f.Older:
				state = "ready (no /state/ready: an older rtbd, counted ready because it answers)"
			case !f.Ready:
				state = fmt.Sprintf("not ready: %v", f.Err)
			}
			if state != last[i] {
				fmt.Fprintf(stderr, "rtbd peers-ready: %s: %s\n", f.URL, state)
				last[i] = state
			}
		}
	})
	if err != nil {
		fmt.Fprintf(stderr, "rtbd peers-ready: after %v: %v\n", *timeout, err)
		return 1
	}
	fmt.Fprintf(stdout, "all %d peers ready\n", len(cfg.State.Peers))
	return 0
}
