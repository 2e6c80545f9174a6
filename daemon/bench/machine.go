package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// machineCPU is the whole machine's CPU time from the first line of
// /proc/stat: busy (user, nice, system, irq, softirq; guest time is
// already in user) and steal, the time the hypervisor gave our vCPUs to
// someone else.
type machineCPU struct {
	busy, steal time.Duration
}

// StolenCPU returns the CPU time the hypervisor has given this machine's
// vCPUs to someone else since boot (steal in /proc/stat). The system tests
// use it to tell a failed timing measurement the machine spoiled.
func StolenCPU() (time.Duration, error) {
	m, err := readMachineCPU()
	return m.steal, err
}

func readMachineCPU() (machineCPU, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineCPU{}, fmt.Errorf("cannot read machine CPU time: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return parseMachineCPU(line)
}

// parseMachineCPU parses the aggregate "cpu" line of /proc/stat: user nice
// system idle iowait irq softirq steal ... in USER_HZ ticks (proc(5)).
func parseMachineCPU(line string) (machineCPU, error) {
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return machineCPU{}, fmt.Errorf("cannot parse /proc/stat line %q", line)
	}
	var v [8]int64
	for i := range v {
		n, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil || n < 0 {
			return machineCPU{}, fmt.Errorf("cannot parse /proc/stat field %q", f[i+1])
		}
		v[i] = n
	}
	tick := func(n int64) time.Duration { return time.Duration(n) * time.Second / clockTicks }
	return machineCPU{busy: tick(v[0] + v[1] + v[2] + v[5] + v[6]), steal: tick(v[7])}, nil
}

// loadAvg returns the 1-, 5- and 15-minute load averages, e.g. "0.52 0.61 0.70".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// quietSample is how long the quiet gate measures the other processes' CPU.
const quietSample = 500 * time.Millisecond

// quietGate holds phases back while the machine's other processes are
// busy: the neighbours of a shared VM otherwise decide the numbers. It
// waits at most its remaining budget over the whole run.
type quietGate struct {
	maxCPUs  float64
	budget   time.Duration
	waited   time.Duration
	repeats  int // phases measured again because they were noisy
	progress io.Writer
}

// othersCPUs is how many CPUs were taken from the bench between samples a
// and b, over d: busy on the machine (the idle bench and servers barely
// count) or stolen by the hypervisor for other guests. A phase run while
// the hypervisor steals measures the neighbours as surely as one run
// beside a busy process: in one run here, 0.5-1.1 CPUs of steal took
// rtbd's p99 at 5k req/s from 0.1-0.7 ms (the other repetitions) to 27 ms
// and its measured maximum from 30-33k to 2.2k req/s.
func othersCPUs(a, b machineCPU, d time.Duration) float64 {
	return float64(b.busy-a.busy+b.steal-a.steal) / float64(d)
}

// wait returns once a quietSample shows at most maxCPUs taken by others
// (othersCPUs), or when the budget is spent.
func (g *quietGate) wait(ctx context.Context) error {
	for {
		start := time.Now()
		a, err := readMachineCPU()
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(quietSample):
		}
		b, err := readMachineCPU()
		if err != nil {
			return err
		}
		busy := othersCPUs(a, b, quietSample)
		if busy <= g.maxCPUs {
			return nil
		}
		// Only samples that found the machine busy count against the budget.
		if g.waited += time.Since(start); g.waited >= g.budget {
			return nil
		}
		fmt.Fprintf(g.progress, "bench: waiting for a quiet machine: %.2f CPUs busy or stolen, want <= %.2f (waited %s of %s)\n",
			busy, g.maxCPUs, g.waited.Round(time.Second), g.budget)
	}
}

// summary describes the gate's work for the report.
func (g *quietGate) summary() string {
	s := fmt.Sprintf("waited %s in all (budget %s) for other processes and the hypervisor's steal to take <= %.2f CPUs before each phase", g.waited.Round(time.Second), g.budget, g.maxCPUs)
	s += fmt.Sprintf("; %d phases were measured again because others took more during them (the quietest of up to %d measurements counts)", g.repeats, 1+noisyRepeats)
	if g.waited >= g.budget {
		s += "; **the budget ran out, so later phases ran on a busy machine**"
	}
	return s
}
