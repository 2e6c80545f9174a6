package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rtbd/rtbd/daemon/host/cpuset"
)

// cpuSysfs is where Linux exposes each CPU's PM QoS resume latency.
const cpuSysfs = "/sys/devices/system/cpu"

// pollLatency is the resume latency that allows no idle state but
// polling: an idle CPU spins on its run queue instead of halting.
// modules/tuning/power.nix writes the same value for a host's isolated
// CPUs (rtbd.tuning.power.resumeLatency).
const pollLatency = "n/a"

// holdPolling holds cpus in polling idle, as the hosts' tuning holds the
// CPUs rtbd runs on, and returns the function that puts back each CPU's
// previous resume latency. On an error it has changed nothing.
//
// On this VM an idle vCPU halts, and the halt is a VM exit. Measured with
// rtbd's own request-duration histogram, the bid handler then took 22.8
// us on average at 2k req/s, 13.7 us at 15k and 8.5 us at 30k, against
// 15.7, 9.0 and 8.9 us with its CPU polling: a request that finds the
// core halted runs cold. rtbload's CPU per request at 60k req/s against
// the ceiling fell from 12.0 to 10.9 us (3 interleaved pairs of 4 s
// runs). Whole bench runs do not show it: one with -cpu.poll and one
// without, 20 minutes apart, moved further apart with the machine's
// noise (the ceiling's max 78k against 52k) than any target did with the
// policy, so the flag is off unless given.
func holdPolling(root string, cpus []int) (restore func() error, err error) {
	type saved struct{ path, value string }
	var done []saved
	undo := func() error {
		var errs []error
		for i := len(done) - 1; i >= 0; i-- {
			if err := os.WriteFile(done[i].path, []byte(done[i].value), 0); err != nil {
				errs = append(errs, fmt.Errorf("cannot restore %s to %q: %w", done[i].path, done[i].value, err))
			}
		}
		return errors.Join(errs...)
	}
	for _, cpu := range cpus {
		path := filepath.Join(root, "cpu"+strconv.Itoa(cpu), "power", "pm_qos_resume_latency_us")
		old, err := os.ReadFile(path)
		if err == nil {
			err = os.WriteFile(path, []byte(pollLatency), 0)
		}
		if err != nil {
			return nil, errors.Join(fmt.Errorf("cannot hold CPU %d in polling idle (-cpu.poll needs root and Linux): %w", cpu, err), undo())
		}
		done = append(done, saved{path, strings.TrimSpace(string(old))})
	}
	return undo, nil
}

// pollCPUs returns the CPUs -cpu.poll holds: the servers' and rtbload's
// when they are pinned, else every CPU of the machine.
func pollCPUs(o *Options, ncpu int) cpuset.CPUSet {
	if o.ServerCPU >= 0 {
		return cpuset.Of(o.ServerCPU, o.LoadCPU)
	}
	return cpuset.Range(0, ncpu-1)
}
