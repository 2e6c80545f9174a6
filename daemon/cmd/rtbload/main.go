// Command rtbload is an open-loop OpenRTB load generator: it sends bid
// requests at a scheduled rate, measures latency from each request's
// intended send time and reports percentiles, outcomes, per-target counts
// and a per-second series. See package daemon/load.
//
//	rtbload -target http://127.0.0.1:8080/openrtb2/bid -rate 20000 -duration 30s \
//	        -assert 'p99<2ms,errors<=0,timeouts<=0,rate>=19000'
//
// `rtbload bench` compares rtbd with a fixed-response server and writes
// BENCHMARKS.md; see package daemon/bench.
//
// Exit codes: 0 success, 1 a failed assertion or run error, 2 bad flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rtbd/rtbd/daemon/bench"
	"github.com/rtbd/rtbd/daemon/host"
	"github.com/rtbd/rtbd/daemon/load"
	"github.com/rtbd/rtbd/daemon/secret"
)

var (
	targets     stringList
	rate        = flag.Float64("rate", 0, "Constant request rate per second. See also -ramp and -steps.")
	ramp        = flag.String("ramp", "", "Ramp the rate FROM:TO requests per second over -duration, e.g. 1000:20000.")
	steps       = flag.String("steps", "", "Rate steps RATE:DURATION,..., e.g. 1000:5s,5000:10s. The run lasts their sum, unless -count ends it first or -duration sets another length (the last rate holds past the steps).")
	duration    = flag.Duration("duration", 0, "Length of the schedule, at most 1h. rtbload needs -duration or -count.")
	count       = flag.Int64("count", 0, "Number of requests to schedule; 0 means no count bound.")
	connections = flag.Int("connections", 16, "Keep-alive connections per target, also the most requests in flight (1..10000).")
	engine      = flag.String("engine", "", "How to drive the connections: 'loop' (one goroutine with its own epoll set; Linux, http targets), 'goroutines' (one per connection; also https). Default: loop where it can run.")
	timeout     = flag.Duration("timeout", 100*time.Millisecond, "Client-side deadline per request, counted from its intended send time (at most 1m). A later answer counts as a timeout; rtbload waits half to one more -timeout for it on the same connection.")
	dir         = flag.String("dir", "", "Directory of *.json bid requests to send in turn, as they are. Default: the embedded corpus, compacted as exchanges send it, plus -ctv synthetic CTV requests.")
	ctv         = flag.Int("ctv", 100, "Number of synthetic CTV requests added to the default mix (ignored with -dir).")
	gzipBodies  = flag.Bool("gzip", false, "Send gzip-compressed bodies (compressed once, before the run).")
	allowRemote = flag.Bool("allow-remote", false, "Allow targets outside loopback (127.0.0.0/8, ::1, localhost).")
	caCert      = flag.String("cacert", "", "PEM file of the certificates that https targets must chain to, instead of the system's roots (a test or staging certificate).")
	threshold   = flag.Int("breaker.threshold", 5, "Consecutive failures that open a target's circuit breaker (with several targets).")
	cooldown    = flag.Duration("breaker.cooldown", 0, "How long an open breaker waits before a probe; 0 means 1s.")
	jsonOut     = flag.Bool("json", false, "Print the result as one JSON object instead of a table.")
	assert      = flag.String("assert", "", "Comma-separated conditions, e.g. 'p99<2ms,errors<=0,rate>=19000'; exit 1 when one fails.")
	progress    = flag.Bool("progress", true, "Print a status line to stderr each second.")
)

func main() {
	// As rtbd does (runtime.quietSysmon): at 20k req/s this cut rtbload's
	// CPU per request from 35-37 to 29 us, less for the pacer to lose to
	// sysmon on its core.
	if err := host.ExecQuietSysmon(); err != nil {
		fmt.Fprintln(os.Stderr, "rtbload: going on with the runtime's default sysmon:", err)
	}
	if len(os.Args) > 1 && os.Args[1] == "bench" {
		os.Exit(bench.Main(os.Args[2:], os.Stdout, os.Stderr))
	}
	flag.Var(&targets, "target", "Target URL; repeat or comma-separate for client-side failover. Default http://127.0.0.1:8080/openrtb2/bid.")
	flag.Parse()
	cfg, asserts, err := buildConfig()
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rtbload:", err)
		os.Exit(2)
	}
	// SIGINT/SIGTERM end the schedule early; the partial result is printed.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var pw io.Writer // nil: no progress lines
	if *progress {
		pw = os.Stderr
	}
	res, err := load.Run(ctx, cfg, pw)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rtbload:", err)
		os.Exit(1)
	}
	if *jsonOut {
		os.Stdout.Write(append(res.JSON(), '\n'))
	} else if err := res.WriteTable(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "rtbload: cannot write result:", err)
		os.Exit(1)
	}
	if failed := res.Check(asserts); len(failed) > 0 {
		for _, f := range failed {
			fmt.Fprintln(os.Stderr, "rtbload: assertion", f)
		}
		os.Exit(1)
	}
}

func buildConfig() (load.Config, []load.Assertion, error) {
	if flag.NArg() > 0 {
		// flag stops at the first word that is no flag: the flags after
		// it (an -assert split by a space) would be left out silently.
		return load.Config{}, nil, fmt.Errorf("unexpected argument %q: every setting is a flag, and the ones after it were not read (quote an -assert with spaces)", flag.Arg(0))
	}
	cfg := load.Config{
		Targets: targets, AllowRemote: *allowRemote, Duration: *duration, Count: *count,
		Connections: *connections, Timeout: *timeout, Gzip: *gzipBodies,
		BreakerThreshold: *threshold, BreakerCooldown: *cooldown, Engine: load.Engine(*engine),
	}
	if len(cfg.Targets) == 0 {
		cfg.Targets = []string{"http://127.0.0.1:8080/openrtb2/bid"}
	}
	// The library reads 0 as "default"; on the command line 0 is a mistake.
	if *connections < 1 || *connections > load.MaxConnections {
		return cfg, nil, fmt.Errorf("-connections must be in 1..%d; got %d", load.MaxConnections, *connections)
	}
	if *ctv < 0 || *ctv > load.MaxCTV {
		return cfg, nil, fmt.Errorf("-ctv must be in 0..%d; got %d", load.MaxCTV, *ctv)
	}
	if *timeout <= 0 {
		return cfg, nil, fmt.Errorf("-timeout must be > 0; got %s", *timeout)
	}
	if *threshold < 1 {
		return cfg, nil, fmt.Errorf("-breaker.threshold must be >= 1; got %d", *threshold)
	}
	var err error
	if *caCert != "" {
		if cfg.RootCAs, err = secret.ReadRoots("-cacert", *caCert); err != nil {
			return cfg, nil, err
		}
	}
	if cfg.Steps, err = rateSteps(); err != nil {
		return cfg, nil, err
	}
	if *dir != "" {
		if cfg.Bodies, err = load.LoadBodies(*dir); err != nil {
			return cfg, nil, err
		}
	} else {
		cfg.Bodies = load.DefaultBodies(*ctv, 1)
	}
	var asserts []load.Assertion
	if *assert != "" {
		if asserts, err = load.ParseAssert(*assert); err != nil {
			return cfg, nil, err
		}
	}
	return cfg, asserts, nil
}

// rateSteps turns exactly one of -rate, -ramp and -steps into a schedule.
func rateSteps() ([]load.Step, error) {
	n := 0
	for _, set := range []bool{*rate != 0, *ramp != "", *steps != ""} {
		if set {
			n++
		}
	}
	switch {
	case n != 1:
		return nil, fmt.Errorf("pass exactly one of -rate, -ramp and -steps")
	case *rate != 0:
		if !(*rate > 0) || *rate > load.MaxRate {
			return nil, fmt.Errorf("-rate must be > 0 and <= %d; got %g", load.MaxRate, *rate)
		}
		return load.Constant(*rate), nil
	case *ramp != "":
		if *duration <= 0 {
			return nil, fmt.Errorf("-ramp needs -duration, the length of the ramp")
		}
		return load.ParseRamp(*ramp, *duration)
	default:
		return load.ParseSteps(*steps)
	}
}

// stringList is a repeatable, comma-splitting flag.
type stringList []string

func (l *stringList) String() string { return fmt.Sprint(*l) }

func (l *stringList) Set(s string) error {
	*l = load.ParseTargets(*l, s)
	return nil
}
