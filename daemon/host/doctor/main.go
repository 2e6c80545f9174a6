package doctor

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/rtbd/rtbd/daemon/config"
	"github.com/rtbd/rtbd/daemon/host/cpuset"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// Exit codes of [Main] other than 0 (nothing failed).
const (
	// ExitFailed: a check failed, or warned with -strict.
	ExitFailed = 1
	// ExitUsage: bad flags or arguments.
	ExitUsage = 2
	// ExitNothingToCompare: nothing failed, but the isolation checks were
	// skipped: no isolated set was given (-isolated, or -config with
	// runtime.cpus) and the kernel command line isolates no CPU. -untuned
	// says that is meant.
	ExitNothingToCompare = 3
)

const usageHeader = `Usage: rtbd doctor [flags]

Compares the host with the tuning rtbd expects and prints one line per
check: PASS, WARN, FAIL, or SKIP when a check has nothing to compare
against. The isolated set is -isolated, else -config's runtime.cpus, else
the CPUs that nohz_full= and isolcpus= list on the kernel command line
(checked against each other, and irqaffinity= against them).

Exit status: 0 nothing failed; 1 a check failed (or warned, with -strict);
2 bad flags; 3 nothing failed, but the isolation checks were skipped: no
isolated set was given (-isolated, or -config with runtime.cpus), the
kernel command line isolates no CPU, and -untuned was not given.

Flags:
`

// Main runs `rtbd doctor` with args (without the sub-command name), prints
// one line per check (or JSON with -json) and returns the exit code: 0 when
// nothing failed (and, with -strict, nothing warned), [ExitFailed]
// otherwise, [ExitUsage] for bad flags, and [ExitNothingToCompare] when
// nothing failed but the isolation checks were skipped.
func Main(args []string, stdout, stderr io.Writer) int {
	want, opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "rtbd doctor: %s\n", err)
		return ExitUsage
	}
	results := Check(opts.root, want)
	if opts.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			fmt.Fprintf(stderr, "rtbd doctor: cannot write JSON: %s\n", err)
			return ExitFailed
		}
	} else {
		Print(stdout, results)
	}
	return exitCode(results, opts.strict)
}

func exitCode(results []Result, strict bool) int {
	code := 0
	for i := range results {
		switch s := results[i].Status; {
		case s == Fail || (strict && s == Warn):
			return ExitFailed
		case s == Skip:
			code = ExitNothingToCompare
		}
	}
	return code
}

// Print writes results as aligned lines: "PASS  nohz_full  2-3  (want 2-3)",
// followed by the detail of warnings and failures.
func Print(w io.Writer, results []Result) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for i := range results {
		r := &results[i]
		want := ""
		if r.Want != "" {
			want = "(want " + r.Want + ")"
		}
		if r.Detail != "" {
			want = strings.TrimSpace(want + "  " + r.Detail)
		}
		// The last cell is not padded, so long details do not widen the table.
		fmt.Fprintln(tw, strings.TrimRight(fmt.Sprintf("%s\t%s\t%s\t%s", r.Status, r.Check, r.Got, want), "\t"))
	}
	tw.Flush()
}

type options struct {
	root   string
	json   bool
	strict bool
}

func parseFlags(args []string, stderr io.Writer) (Expect, options, error) {
	fs := flag.NewFlagSet("rtbd doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageHeader)
		fs.PrintDefaults()
	}
	var want Expect
	var opts options
	var nics stringList
	isolated := fs.String("isolated", "", "CPU list expected isolated (nohz_full, rcu_nocbs, no IRQs). Overrides -config.")
	cfgPath := fs.String("config", "", "rtbd JSON config file; its runtime.cpus is the isolated set.")
	fs.IntVar(&want.Hugepages2M, "hugepages-2m", 0, "Expected number of reserved 2 MiB hugepages; 0 checks nothing.")
	fs.IntVar(&want.Hugepages1G, "hugepages-1g", 0, "Expected number of reserved 1 GiB hugepages; 0 checks nothing.")
	fs.StringVar(&want.THP, "thp", "", "Expected transparent hugepage mode: never or madvise.")
	fs.StringVar(&want.Governor, "governor", "", "Expected cpufreq governor of the isolated CPUs, e.g. performance.")
	fs.StringVar(&want.ResumeLatency, "resume-latency", "", "Expected PM QoS resume latency of the isolated CPUs (pm_qos_resume_latency_us): n/a for polling idle only, as rtbd.tuning.power sets, or microseconds.")
	fs.Var(&nics, "nic", "Interface whose IRQs must stay off the isolated CPUs; repeatable.")
	fs.BoolVar(&want.Untuned, "untuned", false, "The host is meant to isolate no CPU: when the kernel command line isolates none, pass the isolation checks (exit 0) instead of skipping them (exit 3).")
	fs.BoolVar(&want.NoSwap, "no-swap", false, "Fail, not warn, when swap is active.")
	fs.StringVar(&want.ClockSource, "clocksource", "", "Expected clock source, e.g. tsc.")
	fs.StringVar(&opts.root, "root", "/", "Directory prefixed to /proc and /sys, for tests and chroots.")
	fs.BoolVar(&opts.json, "json", false, "Print the results as a JSON array.")
	fs.BoolVar(&opts.strict, "strict", false, "Exit 1 on warnings too.")
	if err := fs.Parse(args); err != nil {
		return want, opts, err
	}
	if fs.NArg() > 0 {
		return want, opts, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	want.NICs = nics
	if err := validate(&want); err != nil {
		return want, opts, err
	}
	iso, err := isolatedSet(*isolated, *cfgPath)
	if err == nil && want.Untuned && !iso.IsEmpty() {
		err = fmt.Errorf("-untuned contradicts the isolated set %s of -isolated or -config", iso)
	}
	want.IsolatedCPUs = iso
	return want, opts, err
}

func validate(want *Expect) error {
	if want.THP != "" && want.THP != "never" && want.THP != "madvise" && want.THP != "always" {
		return fmt.Errorf("invalid -thp %q: want never or madvise", want.THP)
	}
	if v := want.ResumeLatency; v != "" && v != "n/a" {
		if n, err := strconv.Atoi(v); err != nil || n < 0 {
			return fmt.Errorf("invalid -resume-latency %q: want n/a or a number of microseconds", v)
		}
	}
	if want.Hugepages2M < 0 || want.Hugepages1G < 0 {
		return errors.New("invalid hugepage count: must not be negative")
	}
	return nil
}

func isolatedSet(list, cfgPath string) (cpuset.CPUSet, error) {
	if list != "" {
		set, err := cpuset.ParseCPUList(list)
		if err != nil {
			return set, fmt.Errorf("invalid -isolated: %w", err)
		}
		return set, nil
	}
	if cfgPath == "" {
		return cpuset.CPUSet{}, nil
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return cpuset.CPUSet{}, err
	}
	set, err := cpuset.ParseCPUList(cfg.Runtime.CPUs)
	if err != nil {
		return set, fmt.Errorf("invalid runtime.cpus in %s: %w", cfgPath, err)
	}
	return set, nil
}
