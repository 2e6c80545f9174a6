// Package bench is `rtbload bench`: it compares rtbd with a fixed-response
// fasthttp server (the ceiling of any handler on this HTTP stack) in one
// run on one machine, with the servers pinned to one core and rtbload to
// another, and writes BENCHMARKS.md and a latency-versus-rate SVG plot.
//
// Each repetition searches each server's maximum open-loop throughput,
// then measures latency at fixed rates on both, interleaved, and reads the
// servers' CPU time per request from /proc. Ratios against the same-run
// ceiling are what the report trusts; absolute numbers on a shared VM vary
// up to 2x between runs.
package bench

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/rtbd/rtbd/daemon/load"
)

// Options configure a bench run; [Main] fills them from flags.
type Options struct {
	Quick       bool
	Repeat      int
	Out         string // Markdown report path
	SVG         string // plot path
	RTBD        string // rtbd binary; empty builds ./daemon/cmd/rtbd from Src
	Src         string // repository root
	CeilingOnly bool
	ServerCPU   int // core of both servers; -1 disables pinning
	LoadCPU     int // core of rtbload
	Connections int
	Timeout     time.Duration
	// CTV is the number of synthetic CTV requests in the default mix; Dir,
	// when set, replaces the mix with its *.json requests.
	CTV int
	Dir string
	// RTBDConfig is rtbd's -config (campaigns and model); empty serves
	// the embedded demo data.
	RTBDConfig string
	// Step is the length of a search step, Hold of a fixed-rate phase.
	Step, Hold time.Duration
	// Pause separates phases, so one phase's backlog does not leak into the next.
	Pause time.Duration
	// Nice is the nice value of rtbload and the servers; 0 leaves it.
	Nice int
	// Poll holds the bench's CPUs in polling idle for the run, as the
	// hosts' tuning holds rtbd's (see holdPolling).
	Poll bool
	// QuietWait bounds the total wait, before phases, for the other
	// processes on the machine to use at most QuietMax CPUs; 0 skips it.
	QuietWait time.Duration
	QuietMax  float64
	// Rates are the fixed latency rates; half of rtbd's max is added.
	Rates  []float64
	Search Search
}

// defaultOptions: a full run takes about 2.5 minutes on the 2-core VM.
func defaultOptions() Options {
	return Options{
		Repeat: 1, Out: "BENCHMARKS.md", SVG: "docs/bench-latency.svg", Src: ".",
		ServerCPU: 1, LoadCPU: 0, Connections: 32, QuietMax: 0.2, Timeout: 100 * time.Millisecond, CTV: 100,
		Step: 2 * time.Second, Hold: 3 * time.Second, Pause: 300 * time.Millisecond,
		Rates: []float64{2000, 5000, 10000, 20000},
		Search: Search{
			Start: 5000, Growth: 1.5, Limit: load.MaxRate, Bisect: 3, Retries: 1,
			Criteria: Criteria{MinRateFraction: 0.95, MaxErrorRate: 0.001, MaxP99: 10 * time.Millisecond},
		},
	}
}

// quicken turns o into the ~30 s smoke-test mode.
func (o *Options) quicken() {
	o.Step, o.Hold, o.Pause = time.Second, time.Second, 200*time.Millisecond
	o.Rates = []float64{5000, 20000}
	o.Search.Start, o.Search.Growth, o.Search.Bisect, o.Search.Retries = 10000, 2, 1, 0
}

// Main runs `rtbload bench ARGS` and returns the exit code: 0 done, 1 a
// failed run, 2 bad flags. `rtbload bench ceiling -listen ADDR` is the
// hidden mode that serves the fixed response; the bench starts it as a
// child.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "ceiling" {
		return ceilingMain(args[1:], stderr)
	}
	o, err := parseFlags(args, stderr)
	if err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, &o, commandLine(args), stderr)
	if err != nil {
		fmt.Fprintln(stderr, "rtbload bench:", err)
		return 1
	}
	if err := writeOutputs(&o, rep); err != nil {
		fmt.Fprintln(stderr, "rtbload bench:", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s and %s\n", o.Out, o.SVG)
	_ = writeSummary(stdout, rep)
	return 0
}

func parseFlags(args []string, stderr io.Writer) (Options, error) {
	o := defaultOptions()
	fs := flag.NewFlagSet("rtbload bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.Quick, "quick", false, "Smoke-test mode: about 30 s instead of about 3 minutes.")
	fs.IntVar(&o.Repeat, "repeat", o.Repeat, "Run the whole comparison N times and report median [min-max] of the ratios (1..20).")
	fs.StringVar(&o.Out, "out", o.Out, "Path of the Markdown report.")
	fs.StringVar(&o.SVG, "svg", o.SVG, "Path of the latency-versus-rate plot.")
	fs.StringVar(&o.RTBD, "rtbd", "", "rtbd binary to bench; default: go build ./daemon/cmd/rtbd from -src into a temporary directory.")
	fs.StringVar(&o.Src, "src", o.Src, "Repository root to build rtbd from.")
	fs.BoolVar(&o.CeilingOnly, "ceiling-only", false, "Bench only the fixed-response ceiling (when rtbd does not build).")
	fs.IntVar(&o.ServerCPU, "cpu.server", o.ServerCPU, "CPU for both servers; -1 disables pinning.")
	fs.IntVar(&o.LoadCPU, "cpu.load", o.LoadCPU, "CPU for rtbload itself.")
	fs.IntVar(&o.Connections, "connections", o.Connections, "Keep-alive connections rtbload opens per phase.")
	fs.IntVar(&o.Nice, "nice", 0, "Nice value for rtbload and the servers (-20..19), e.g. -10 to rank them above the neighbours' work on a shared machine; 0 leaves it.")
	fs.BoolVar(&o.Poll, "cpu.poll", false, "Hold the servers' and rtbload's CPUs in polling idle during the run (pm_qos_resume_latency_us = n/a, as modules/tuning/power.nix does for a host's isolated CPUs), then restore them; needs root.")
	fs.DurationVar(&o.QuietWait, "quiet.wait", 0, "Before each phase, wait for the machine's other processes and the hypervisor's steal to take at most -quiet.max CPUs, for at most this long over the whole run; 0 does not wait.")
	fs.Float64Var(&o.QuietMax, "quiet.max", o.QuietMax, "CPUs the other processes and the hypervisor's steal may take for the machine to count as quiet; see -quiet.wait.")
	fs.DurationVar(&o.Search.MaxP99, "max.p99", o.Search.MaxP99, "p99 above which a search step fails: the server is queueing.")
	fs.IntVar(&o.CTV, "ctv", o.CTV, "Synthetic CTV requests added to the default mix of the shared corpus (0..10000; ignored with -dir).")
	fs.StringVar(&o.Dir, "dir", "", "Directory of *.json bid requests to bench with instead of the default mix, e.g. requests captured from your exchanges.")
	fs.StringVar(&o.RTBDConfig, "rtbd.config", "", "rtbd configuration file (its -config: your campaigns and model); default: the embedded demo data.")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "rtbload bench: unexpected argument %q\n", fs.Arg(0))
		return o, flag.ErrHelp
	}
	if o.Repeat < 1 || o.Repeat > 20 || o.Connections < 1 || o.Connections > load.MaxConnections || o.Nice < -20 || o.Nice > 19 || o.QuietWait < 0 || o.QuietWait > time.Hour || o.CTV < 0 || o.CTV > load.MaxCTV {
		fmt.Fprintf(stderr, "rtbload bench: want -repeat in 1..20, -connections in 1..%d, -nice in -20..19, -quiet.wait in 0..1h and -ctv in 0..%d\n", load.MaxConnections, load.MaxCTV)
		return o, flag.ErrHelp
	}
	if o.Quick {
		o.quicken()
	}
	return o, nil
}

// bodies returns the request mix of o: Dir's requests, or the default mix.
func bodies(o *Options) ([][]byte, error) {
	if o.Dir != "" {
		return load.LoadBodies(o.Dir)
	}
	return load.DefaultBodies(o.CTV, 1), nil
}

// commandLine is the command reported in BENCHMARKS.md: bench/run.sh
// passes its own invocation in RTBLOAD_BENCH_COMMAND.
func commandLine(args []string) string {
	if c := strings.TrimSpace(os.Getenv("RTBLOAD_BENCH_COMMAND")); c != "" {
		return c
	}
	return strings.TrimSpace("rtbload bench " + strings.Join(args, " "))
}

// run builds and starts the servers, runs the repetitions and returns the
// report. Children are stopped before it returns, also on error or Ctrl-C.
func run(ctx context.Context, o *Options, cmdline string, progress io.Writer) (*Report, error) {
	if o.QuietWait > 0 {
		// Each noisy retry waits at the quiet gate first, within its budget.
		o.Search.NoisyCPUs, o.Search.NoisyRetries = o.QuietMax, 3
	}
	rep := &Report{Command: cmdline, Date: time.Now().UTC(), Machine: readMachine(), Options: *o}
	mix, err := bodies(o)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "rtbload-bench-")
	if err != nil {
		return nil, fmt.Errorf("cannot create a temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	if !o.CeilingOnly && o.RTBD == "" {
		if o.RTBD, err = buildRTBD(ctx, o.Src, tmp, progress); err != nil {
			return nil, err
		}
	}
	loadCPU := o.LoadCPU
	if o.ServerCPU < 0 {
		loadCPU = -1
	}
	if loadCPU >= 0 || o.Nice != 0 {
		if err := pinProcess(loadCPU, o.Nice); err != nil {
			return nil, err
		}
	}
	if o.Poll {
		cpus := pollCPUs(o, runtime.NumCPU())
		restore, err := holdPolling(cpuSysfs, cpus.CPUs())
		if err != nil {
			return nil, err
		}
		defer func() {
			if err := restore(); err != nil {
				fmt.Fprintln(progress, "bench:", err)
			}
		}()
		rep.Polled = cpus.String()
	}
	// rtbload runs on one core: one P is what that core can serve.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	servers, err := startServers(ctx, o, rep)
	defer func() {
		for _, s := range servers {
			s.proc.stop()
		}
	}()
	if err != nil {
		return nil, err
	}
	ph := &phaser{ctx: ctx, opts: o, servers: servers, bodies: mix, progress: progress}
	if o.QuietWait > 0 {
		ph.gate = &quietGate{maxCPUs: o.QuietMax, budget: o.QuietWait, progress: progress}
	}
	rep.LoadAvg = loadAvg()
	rep.Bodies = len(ph.bodies)
	for i := range o.Repeat {
		fmt.Fprintf(progress, "bench: repetition %d of %d\n", i+1, o.Repeat)
		r, err := runOnce(ph, servers, i)
		if err != nil {
			return nil, err
		}
		rep.Runs = append(rep.Runs, r)
	}
	rep.LoadAvgEnd = loadAvg()
	if ph.gate != nil {
		rep.Quiet = ph.gate.summary()
	}
	return rep, nil
}

// buildRTBD runs `go build` of ./daemon/cmd/rtbd into dir.
func buildRTBD(ctx context.Context, src, dir string, progress io.Writer) (string, error) {
	bin := filepath.Join(dir, "rtbd")
	fmt.Fprintln(progress, "bench: go build -o", bin, "./daemon/cmd/rtbd")
	cmd := execCommand(ctx, "go", "build", "-o", bin, "./daemon/cmd/rtbd")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("cannot build rtbd (pass -ceiling-only to bench the ceiling alone): %w\n%s", err, out)
	}
	return bin, nil
}
