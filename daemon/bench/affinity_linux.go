package bench

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// pinProcess pins every thread of this process to cpu (unless cpu < 0)
// and, when nice is not 0, sets their nice value. Affinity and nice are per thread on Linux
// and new threads (and children) inherit their creator's, so setting them
// on each task in /proc/self/task (twice, for threads born during the
// first pass) covers the whole process, as `taskset -a -p` does.
func pinProcess(cpu, nice int) error {
	var set unix.CPUSet
	if cpu >= 0 {
		set.Set(cpu)
	}
	for range 2 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return fmt.Errorf("cannot list threads: %w", err)
		}
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			if err := setThread(tid, cpu, &set, nice); err != nil {
				return err
			}
		}
	}
	return nil
}

func setThread(tid, cpu int, set *unix.CPUSet, nice int) error {
	if cpu >= 0 {
		if err := unix.SchedSetaffinity(tid, set); err != nil && err != unix.ESRCH {
			return fmt.Errorf("cannot pin thread %d to CPU %d: %w", tid, cpu, err)
		}
	}
	if nice != 0 {
		if err := unix.Setpriority(unix.PRIO_PROCESS, tid, nice); err != nil && err != unix.ESRCH {
			return fmt.Errorf("cannot set nice %d on thread %d: %w", nice, tid, err)
		}
	}
	return nil
}

// startPinned starts cmd with its CPU affinity set to cpu from its first
// instruction: the fork happens on a thread locked to this goroutine whose
// affinity is cpu for the duration, and the child inherits it. cpu < 0
// starts cmd unpinned.
func startPinned(cmd *exec.Cmd, cpu int) error {
	if cpu < 0 {
		return cmd.Start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return fmt.Errorf("cannot read CPU affinity: %w", err)
	}
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("cannot pin to CPU %d: %w", cpu, err)
	}
	err := cmd.Start()
	if rerr := unix.SchedSetaffinity(0, &old); rerr != nil && err == nil {
		err = fmt.Errorf("cannot restore CPU affinity: %w", rerr)
	}
	return err
}

// affinityOf returns the CPUs process pid may run on, e.g. "[1]".
func affinityOf(pid int) string {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(pid, &set); err != nil {
		return "unknown"
	}
	var cpus []int
	for i := range runtime.NumCPU() * 2 {
		if set.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	return fmt.Sprint(cpus)
}

// selfCPUTime returns this process's user + system CPU time, with
// microsecond resolution (getrusage).
func selfCPUTime() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// childAttr puts a child in its own process group (a terminal's Ctrl-C
// reaches only the bench, which stops the children in order) and has the
// kernel kill it when the bench dies, even by SIGKILL.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
