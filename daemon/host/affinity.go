// Package host places the daemon on the host's CPUs and wires the host
// tuning sub-commands: [Pin] and [Current] for the process CPU affinity,
// [IRQMain] for `rtbd irq` (NIC IRQ affinity, package irq), [DoctorMain]
// for `rtbd doctor` (tuning drift report, package doctor), and
// [ExecQuietSysmon], the runtime setting a server on pinned cores starts
// with. CPU lists are
// package cpuset. See DESIGN.md section 3 for the host model: housekeeping
// CPUs run the kernel and IRQs, isolated CPUs run only rtbd.
package host

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/rtbd/rtbd/daemon/host/cpuset"
)

// maxAffinityCPUs is the size of unix.CPUSet: sched_setaffinity through
// x/sys handles CPUs 0-1023.
const maxAffinityCPUs = len(unix.CPUSet{}) * 64

// Current returns the CPU affinity of the calling thread, which is the
// process affinity unless something pinned threads one by one.
func Current() (cpuset.CPUSet, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return cpuset.CPUSet{}, fmt.Errorf("cannot get CPU affinity: %w", err)
	}
	var cpus []int
	for c := 0; c < maxAffinityCPUs; c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpuset.Of(cpus...), nil
}

// Pin restricts every thread of the process to cpus and returns the
// GOMAXPROCS to use with it, the number of CPUs in cpus. The caller sets
// runtime.GOMAXPROCS: an explicit value also stops the runtime from
// revising it later (Go 1.25+ does that when the affinity changes).
//
// sched_setaffinity applies to one thread, so Pin sets pid 0 (the calling
// thread) and then every thread listed in /proc/self/task, repeating until
// a pass finds no thread it has not set: threads started meanwhile inherit
// the affinity of their creator, which may have been set just before.
//
// The kernel ANDs the mask with the online CPUs and the cgroup's cpuset
// and refuses only an empty result, so Pin reads the calling thread's
// affinity back: when the kernel kept fewer CPUs than cpus, Pin puts the
// thread's previous affinity back and returns an error naming the CPUs it
// could not use, since a daemon pinned to part of its configured set (and
// sized for all of it) is a misconfiguration to fix, not to run with.
// Once the calling thread is pinned, an error from another thread leaves
// the threads already moved where they are.
func Pin(cpus cpuset.CPUSet) (int, error) {
	if cpus.IsEmpty() {
		return 0, errors.New("cannot pin to CPUs: empty CPU list")
	}
	if cpus.Max() >= maxAffinityCPUs {
		return 0, fmt.Errorf("cannot pin to CPUs %s: CPU %d is above the supported %d", cpus, cpus.Max(), maxAffinityCPUs-1)
	}
	// Set and read back the same thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := pinSelf(cpus); err != nil {
		return 0, fmt.Errorf("cannot pin to CPUs %s: %w", cpus, err)
	}
	set := toUnix(cpus)
	if err := pinAllThreads(&set); err != nil {
		return 0, fmt.Errorf("cannot pin to CPUs %s: %w", cpus, err)
	}
	return cpus.Len(), nil
}

// pinSelf sets the affinity of the calling thread, which must be locked to
// its goroutine, to exactly cpus, or leaves it as it was and fails.
func pinSelf(cpus cpuset.CPUSet) error {
	before, err := Current()
	if err != nil {
		return err
	}
	set := toUnix(cpus)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return err
	}
	got, err := Current()
	if err != nil {
		return err
	}
	if got.Equal(cpus) {
		return nil
	}
	restore := toUnix(before)
	if err := unix.SchedSetaffinity(0, &restore); err != nil {
		return fmt.Errorf("cannot restore the affinity %s after the kernel kept only %s: %w", before, got, err)
	}
	return fmt.Errorf("CPUs %s are offline or outside this process's allowed CPUs (cgroup cpuset); the kernel would keep only %s",
		cpus.Difference(got), listOrNone(got))
}

func toUnix(cpus cpuset.CPUSet) unix.CPUSet {
	var set unix.CPUSet
	for _, c := range cpus.CPUs() {
		set.Set(c)
	}
	return set
}

func listOrNone(s cpuset.CPUSet) string {
	if s.IsEmpty() {
		return "none"
	}
	return s.String()
}

func pinAllThreads(set *unix.CPUSet) error {
	done := make(map[int]bool)
	for pass := 0; pass < 100; pass++ {
		tids, err := threadIDs()
		if err != nil {
			return err
		}
		fresh := 0
		for _, tid := range tids {
			if done[tid] {
				continue
			}
			fresh++
			done[tid] = true
			// ESRCH: the thread exited after the directory was read.
			if err := unix.SchedSetaffinity(tid, set); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("cannot set affinity of thread %d: %w", tid, err)
			}
		}
		if fresh == 0 {
			return nil
		}
	}
	return errors.New("threads keep appearing in /proc/self/task")
}

func threadIDs() ([]int, error) {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, fmt.Errorf("cannot list threads: %w", err)
	}
	tids := make([]int, 0, len(ents))
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}
