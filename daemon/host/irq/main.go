package irq

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/rtbd/rtbd/daemon/host/cpuset"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// Main runs `rtbd irq` with args (without the sub-command name) and returns
// the exit code: 0 when every write succeeded or was a warning, 1 when a
// write or an interface failed, 2 for bad flags.
func Main(args []string, stdout, stderr io.Writer) int {
	return run(args, stdout, stderr, WriteFile)
}

func run(args []string, stdout, stderr io.Writer, write WriteFunc) int {
	o, dryRun, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "rtbd irq: %s\n", err)
		return 2
	}
	plan, planErr := BuildPlan(o)
	printPlan(stdout, plan, dryRun)
	code := 0
	if planErr != nil {
		fmt.Fprintf(stderr, "rtbd irq: %s\n", planErr)
		code = 1
	}
	if dryRun {
		return code
	}
	out := Apply(plan, write)
	for _, w := range out.Warnings {
		fmt.Fprintf(stderr, "rtbd irq: warning: %s\n", w)
	}
	for _, f := range out.Failures {
		fmt.Fprintf(stderr, "rtbd irq: %s\n", f)
		code = 1
	}
	return code
}

func parseFlags(args []string, stderr io.Writer) (Options, bool, error) {
	fs := flag.NewFlagSet("rtbd irq", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var ifaces stringList
	fs.Var(&ifaces, "interface", "Network interface whose queue IRQs are placed; repeatable.")
	cpus := fs.String("cpus", "", "CPU list that receives the IRQs round-robin. Default: the housekeeping CPUs, online minus nohz_full and isolated.")
	rps := fs.String("rps", "", "CPU list written to every rx queue's rps_cpus, or \"off\" to clear it. Default: leave RPS alone.")
	xps := fs.String("xps", "", "\"on\" maps tx queue i to the i-th CPU of -cpus (modulo), \"off\" clears xps_cpus. Default: leave XPS alone.")
	dryRun := fs.Bool("dry-run", false, "Print the plan (IRQ, name, current and new affinity) and write nothing.")
	root := fs.String("root", "/", "Directory prefixed to /proc and /sys, for tests and chroots.")
	if err := fs.Parse(args); err != nil {
		return Options{}, false, err
	}
	if fs.NArg() > 0 {
		return Options{}, false, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if len(ifaces) == 0 {
		return Options{}, false, errors.New("missing -interface")
	}
	o := Options{Root: *root, Interfaces: ifaces, XPS: *xps}
	if *xps != "" && *xps != "on" && *xps != "off" {
		return Options{}, false, fmt.Errorf("invalid -xps %q: want on or off", *xps)
	}
	if err := parseRPS(&o, *rps); err != nil {
		return Options{}, false, err
	}
	set, err := chooseCPUs(*root, *cpus)
	if err != nil {
		return Options{}, false, err
	}
	o.CPUs = set
	return o, *dryRun, nil
}

func parseRPS(o *Options, v string) error {
	switch v {
	case "":
		return nil
	case "off":
		o.RPS = &cpuset.CPUSet{}
		return nil
	}
	set, err := cpuset.ParseCPUList(v)
	if err != nil || set.IsEmpty() {
		return fmt.Errorf("invalid -rps %q: want a CPU list or off", v)
	}
	o.RPS = &set
	return nil
}

// chooseCPUs returns -cpus, checked against the online CPUs, or the
// housekeeping CPUs when -cpus is empty.
func chooseCPUs(root, list string) (cpuset.CPUSet, error) {
	online, onlineErr := readCPUList(filepath.Join(root, "sys/devices/system/cpu/online"))
	if list == "" {
		if onlineErr != nil {
			return cpuset.CPUSet{}, fmt.Errorf("cannot find the housekeeping CPUs (pass -cpus): %w", onlineErr)
		}
		hk := Housekeeping(root, online)
		if hk.IsEmpty() {
			return cpuset.CPUSet{}, fmt.Errorf("no housekeeping CPUs: all online CPUs (%s) are isolated; pass -cpus", online)
		}
		return hk, nil
	}
	set, err := cpuset.ParseCPUList(list)
	if err != nil {
		return cpuset.CPUSet{}, fmt.Errorf("invalid -cpus: %w", err)
	}
	if set.IsEmpty() {
		return cpuset.CPUSet{}, errors.New("invalid -cpus: empty CPU list")
	}
	if onlineErr == nil && !set.IsSubsetOf(online) {
		return cpuset.CPUSet{}, fmt.Errorf("invalid -cpus %s: CPUs %s are not online (online: %s)", set, set.Difference(online), online)
	}
	return set, nil
}

// Housekeeping returns the CPUs of online that are neither nohz_full nor
// isolated according to root/sys/devices/system/cpu: the CPUs that may run
// the kernel's and the NICs' work.
func Housekeeping(root string, online cpuset.CPUSet) cpuset.CPUSet {
	dir := filepath.Join(root, "sys/devices/system/cpu")
	nohz, _ := readCPUList(filepath.Join(dir, "nohz_full"))
	iso, _ := readCPUList(filepath.Join(dir, "isolated"))
	return online.Difference(nohz.Union(iso))
}

// readCPUList reads a sysfs CPU list; "(null)" (nohz_full when unset) is
// the empty set.
func readCPUList(path string) (cpuset.CPUSet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return cpuset.CPUSet{}, err
	}
	s := strings.TrimSpace(string(b))
	if s == "(null)" {
		return cpuset.CPUSet{}, nil
	}
	return cpuset.ParseCPUList(s)
}

func printPlan(w io.Writer, plan []Change, dryRun bool) {
	if dryRun {
		fmt.Fprintln(w, "# dry run: nothing is written")
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "IRQ\tNAME\tCURRENT\tNEW")
	for i := range plan {
		c := &plan[i]
		id := strings.ToUpper(c.Kind)
		if c.Kind == "irq" {
			id = strconv.Itoa(c.IRQ)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", id, c.What, c.Current, c.New)
	}
	tw.Flush()
}
