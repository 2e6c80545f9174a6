package irq

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/rtbd/rtbd/daemon/host/cpuset"
)

// Options says what [BuildPlan] places where.
type Options struct {
	// Root prefixes /proc and /sys; "/" on a live host.
	Root string
	// Interfaces are the network interfaces whose IRQs move.
	Interfaces []string
	// CPUs receive the IRQs, round-robin; must not be empty.
	CPUs cpuset.CPUSet
	// RPS, when non-nil, is written to every rx-N/rps_cpus of the
	// interfaces; an empty set turns RPS off. Nil leaves RPS alone.
	RPS *cpuset.CPUSet
	// XPS is "on" (tx-N/xps_cpus = the N-th CPU of CPUs, modulo their
	// count), "off" (mask 0) or "" (leave XPS alone).
	XPS string
}

// Change is one file write of a plan.
type Change struct {
	// Kind is "irq", "rps" or "xps".
	Kind string
	// Path is the file written, under Options.Root.
	Path string
	// What names the target: the IRQ's action name, or "IF rx-N"/"IF tx-N".
	What string
	// IRQ is the interrupt number for Kind "irq", else -1.
	IRQ int
	// Current is the file's content before the write.
	Current string
	// New is the content written: a CPU list for IRQs, a hex mask for
	// RPS and XPS.
	New string
}

// BuildPlan reads the interfaces' IRQs and queues under o.Root and returns
// the writes that place them. Queue interrupts go to the CPU of their queue
// index (queue i to the i-th CPU modulo the count, so an IRQ and its XPS
// queue share a CPU); the other interrupts of the interface take the CPUs
// round-robin in IRQ order. Problems with one interface (not found, no
// IRQs) are returned joined, after planning the others.
func BuildPlan(o Options) ([]Change, error) {
	if o.CPUs.IsEmpty() {
		return nil, errors.New("cannot plan IRQ affinity: empty CPU list")
	}
	var plan []Change
	var errs []error
	for _, ifname := range o.Interfaces {
		p, err := planInterface(o, ifname)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		plan = append(plan, p...)
	}
	return plan, errors.Join(errs...)
}

func planInterface(o Options, ifname string) ([]Change, error) {
	irqs, err := FindIRQs(o.Root, ifname)
	if err != nil {
		return nil, err
	}
	if len(irqs) == 0 {
		return nil, fmt.Errorf("cannot find IRQs of interface %s in msi_irqs or /proc/interrupts", ifname)
	}
	cpus := o.CPUs.CPUs()
	var plan []Change
	next := 0
	for _, q := range irqs {
		cpu := 0
		if q.Queue >= 0 {
			cpu = cpus[q.Queue%len(cpus)]
		} else {
			cpu = cpus[next%len(cpus)]
			next++
		}
		path := filepath.Join(o.Root, "proc/irq", strconv.Itoa(q.IRQ), "smp_affinity_list")
		name := q.Name
		if name == "" {
			name = ifname + " (unnamed)"
		}
		plan = append(plan, Change{Kind: "irq", Path: path, What: name, IRQ: q.IRQ,
			Current: readTrim(path), New: strconv.Itoa(cpu)})
	}
	queues, err := planQueues(o, ifname, cpus)
	if err != nil {
		return nil, err
	}
	return append(plan, queues...), nil
}

func planQueues(o Options, ifname string, cpus []int) ([]Change, error) {
	var plan []Change
	if o.RPS != nil {
		rx, err := queueDirs(o.Root, ifname, "rx-")
		if err != nil {
			return nil, err
		}
		for i, dir := range rx {
			plan = append(plan, maskChange("rps", filepath.Join(dir, "rps_cpus"), fmt.Sprintf("%s rx-%d", ifname, i), *o.RPS))
		}
	}
	if o.XPS == "on" || o.XPS == "off" {
		tx, err := queueDirs(o.Root, ifname, "tx-")
		if err != nil {
			return nil, err
		}
		for i, dir := range tx {
			var set cpuset.CPUSet
			if o.XPS == "on" {
				set = cpuset.Of(cpus[i%len(cpus)])
			}
			plan = append(plan, maskChange("xps", filepath.Join(dir, "xps_cpus"), fmt.Sprintf("%s tx-%d", ifname, i), set))
		}
	}
	return plan, nil
}

// maskChange renders set as wide as the file's current mask: the kernel
// prints nr_cpu_ids bits, and writing the same width keeps diffs readable.
func maskChange(kind, path, what string, set cpuset.CPUSet) Change {
	cur := readTrim(path)
	width := 4 * len(strings.ReplaceAll(cur, ",", ""))
	return Change{Kind: kind, Path: path, What: what, IRQ: -1, Current: cur, New: set.MaskWidth(width)}
}

// queueDirs returns IF/queues/<prefix>N directories ordered by N.
func queueDirs(root, ifname, prefix string) ([]string, error) {
	dir := filepath.Join(root, "sys/class/net", ifname, "queues")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot list queues of %s: %w", ifname, err)
	}
	type q struct {
		n    int
		path string
	}
	var qs []q
	for _, e := range ents {
		if s, ok := strings.CutPrefix(e.Name(), prefix); ok {
			if n, err := strconv.Atoi(s); err == nil {
				qs = append(qs, q{n, filepath.Join(dir, e.Name())})
			}
		}
	}
	sort.Slice(qs, func(i, j int) bool { return qs[i].n < qs[j].n })
	out := make([]string, len(qs))
	for i := range qs {
		out[i] = qs[i].path
	}
	return out, nil
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

// WriteFunc writes data to an existing file; [WriteFile] in production.
type WriteFunc func(path string, data []byte) error

// WriteFile writes data to an existing file with one write(2), as procfs
// and sysfs need; it never creates the file.
func WriteFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Outcome is the result of [Apply].
type Outcome struct {
	// Warnings are writes the kernel refused for a reason that is not a
	// fault: managed IRQs (EIO) cannot be moved from user space.
	Warnings []string
	// Failures are writes that failed otherwise.
	Failures []string
}

// Apply performs the plan with write, continuing after a failed write.
func Apply(plan []Change, write WriteFunc) Outcome {
	var out Outcome
	for i := range plan {
		c := &plan[i]
		err := write(c.Path, []byte(c.New+"\n"))
		switch {
		case err == nil:
		case c.Kind == "irq" && errors.Is(err, syscall.EIO):
			out.Warnings = append(out.Warnings, fmt.Sprintf("IRQ %d (%s) is kernel-managed; its affinity cannot be moved: %s", c.IRQ, c.What, err))
		default:
			out.Failures = append(out.Failures, fmt.Sprintf("cannot set %s of %s to %s: %s", c.Kind, c.What, c.New, err))
		}
	}
	return out
}
