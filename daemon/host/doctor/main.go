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

// Main runs `rtbd doctor` with args (without the sub-command name), prints
// one line per check (or JSON with -json) and returns the exit code: 0 when
// nothing failed (and, with -strict, nothing warned), 1 otherwise, 2 for
// bad flags.
func Main(args []string, stdout, stderr io.Writer) int {
	want, opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "rtbd doctor: %s\n", err)
		return 2
	}
	results := Check(opts.root, want)
	if opts.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			fmt.Fprintf(stderr, "rtbd doctor: cannot write JSON: %s\n", err)
			return 1
		}
	} else {
		Print(stdout, results)
	}
	return exitCode(results, opts.strict)
}

func exitCode(results []Result, strict bool) int {
	for i := range results {
		if s := results[i].Status; s == Fail || (strict && s == Warn) {
			return 1
		}
	}
	return 0
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
