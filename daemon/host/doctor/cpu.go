package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/rtbd/rtbd/daemon/host/cpuset"
)

func (h *host) cmdline() []string {
	s, err := h.read("proc/cmdline")
	if err != nil {
		return nil
	}
	return strings.Fields(s)
}

// param returns the value of the last key=value on the command line, as
// the kernel honours the last one.
func param(cmdline []string, key string) (string, bool) {
	v, found := "", false
	for _, f := range cmdline {
		if s, ok := strings.CutPrefix(f, key+"="); ok {
			v, found = s, true
		}
	}
	return v, found
}

// isolatedByCmdline returns the CPUs the kernel command line isolates:
// those of nohz_full= and of isolcpus='s list. Either may be the one an
// operator set; taking both checks each against the other. A list that
// does not parse adds nothing (its check fails on it).
func isolatedByCmdline(cmdline []string) cpuset.CPUSet {
	var iso cpuset.CPUSet
	if v, ok := param(cmdline, "nohz_full"); ok {
		set, _ := cpuset.ParseCPUList(v)
		iso = iso.Union(set)
	}
	if v, ok := param(cmdline, "isolcpus"); ok {
		_, list := splitIsolcpus(v)
		set, _ := cpuset.ParseCPUList(list)
		iso = iso.Union(set)
	}
	return iso
}

// checkCmdlineList checks that a CPU-list parameter covers the isolated set.
func (h *host) checkCmdlineList(name string, cmdline []string, key string) Result {
	v, ok := param(cmdline, key)
	r := Result{Check: name, Got: v, Want: h.isoWant()}
	if !ok {
		r.Got = "absent"
	}
	if h.iso.IsEmpty() {
		if _, err := cpuset.ParseCPUList(v); err != nil {
			return fail(r, err.Error())
		}
		return h.noIsolation(r)
	}
	if !ok {
		return fail(r, key+"= is missing from /proc/cmdline")
	}
	set, err := cpuset.ParseCPUList(v)
	switch {
	case err != nil:
		return fail(r, err.Error())
	case !h.iso.IsSubsetOf(set):
		return fail(r, fmt.Sprintf("CPUs %s are not covered", h.iso.Difference(set)))
	case !set.Equal(h.iso):
		return warn(r, fmt.Sprintf("also covers CPUs %s", set.Difference(h.iso)))
	}
	return r
}

// checkIRQAffinityParam checks that irqaffinity= keeps the default IRQ
// affinity off the isolated CPUs.
func (h *host) checkIRQAffinityParam(cmdline []string) Result {
	v, ok := param(cmdline, "irqaffinity")
	r := Result{Check: "cmdline_irqaffinity", Got: v}
	if !ok {
		r.Got = "absent"
	}
	if h.iso.IsEmpty() {
		return h.noIsolation(r)
	}
	r.Want = "no CPU of " + h.isoWant()
	if !ok {
		return fail(r, "irqaffinity= is missing: new IRQs may land on isolated CPUs")
	}
	set, err := cpuset.ParseCPUList(v)
	switch {
	case err != nil:
		return fail(r, err.Error())
	case set.IsEmpty():
		return fail(r, "empty irqaffinity")
	case set.Intersects(h.iso):
		return fail(r, fmt.Sprintf("includes isolated CPUs %s", set.Intersect(h.iso)))
	}
	return r
}

// checkIsolcpus checks for isolcpus=managed_irq over the isolated set
// without domain isolation, which would stop the kernel from balancing the
// Go runtime's threads (reference/nixos.md, kernel semantics).
func (h *host) checkIsolcpus(cmdline []string) Result {
	v, ok := param(cmdline, "isolcpus")
	r := Result{Check: "cmdline_isolcpus", Got: v}
	if !ok {
		r.Got = "absent"
	}
	if h.iso.IsEmpty() {
		return h.noIsolation(r)
	}
	r.Want = "managed_irq," + h.isoWant()
	if !ok {
		return warn(r, "managed IRQs may land on isolated CPUs")
	}
	flags, list := splitIsolcpus(v)
	set, err := cpuset.ParseCPUList(list)
	switch {
	case err != nil:
		return fail(r, err.Error())
	case len(flags) == 0 || flags["domain"]:
		return warn(r, "domain isolation: the kernel does not balance Go threads across isolated CPUs")
	case !flags["managed_irq"]:
		return warn(r, "no managed_irq flag")
	case !h.iso.IsSubsetOf(set):
		return warn(r, fmt.Sprintf("CPUs %s are not covered", h.iso.Difference(set)))
	}
	return r
}

// splitIsolcpus splits "managed_irq,domain,2-15" into its flags and list.
func splitIsolcpus(v string) (map[string]bool, string) {
	flags := make(map[string]bool)
	parts := strings.Split(v, ",")
	i := 0
	for ; i < len(parts); i++ {
		p := parts[i]
		if p == "" || (p[0] >= '0' && p[0] <= '9') {
			break
		}
		flags[p] = true
	}
	return flags, strings.Join(parts[i:], ",")
}

func (h *host) checkNohzFull() Result {
	r := Result{Check: "nohz_full", Want: h.isoWant()}
	set, err := h.readList("sys/devices/system/cpu/nohz_full")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		r.Got = "absent"
		if h.iso.IsEmpty() {
			return h.noIsolation(r)
		}
		return fail(r, "the kernel has no NO_HZ_FULL")
	case err != nil:
		r.Got = "unreadable"
		return fail(r, err.Error())
	}
	r.Got = listOrNone(set)
	if h.iso.IsEmpty() {
		return h.noIsolation(r)
	}
	if !set.Equal(h.iso) {
		return fail(r, "nohz_full differs from the isolated set")
	}
	return r
}

// checkIsolated compares /sys/devices/system/cpu/isolated. It lists only
// domain-isolated CPUs, so the designed isolcpus=managed_irq leaves it
// empty (pass); another list is only a warning.
func (h *host) checkIsolated() Result {
	r := Result{Check: "isolated", Want: h.isoWant()}
	set, err := h.readList("sys/devices/system/cpu/isolated")
	if err != nil {
		r.Got = "unreadable"
		return warn(r, err.Error())
	}
	r.Got = listOrNone(set)
	switch {
	case h.iso.IsEmpty():
		return h.noIsolation(r)
	case set.IsEmpty():
		r.Want += " or none"
		r.Detail = "no domain isolation: isolcpus=managed_irq lists nothing here"
		return r
	case !set.Equal(h.iso):
		return warn(r, "domain-isolated CPUs differ from the isolated set")
	}
	return r
}

// checkSMTSiblings warns when an isolated CPU shares its core with a CPU
// outside the set: SMT threads share the core's execution units and
// caches, so a busy housekeeping thread slows rtbd on its sibling. It
// suggests the sibling-aligned sets: the isolated set without the shared
// cores, and with their other threads.
func (h *host) checkSMTSiblings() Result {
	r := Result{Check: "smt_siblings"}
	if h.iso.IsEmpty() {
		r.Got = "not checked"
		return h.noIsolation(r)
	}
	r.Want = "whole cores isolated"
	var shared, others cpuset.CPUSet
	var unread []int
	for _, c := range h.iso.CPUs() {
		sib, err := h.readList(fmt.Sprintf("sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", c))
		if err != nil {
			unread = append(unread, c)
			continue
		}
		if out := sib.Difference(h.iso); !out.IsEmpty() {
			shared = shared.Union(cpuset.Of(c))
			others = others.Union(out)
		}
	}
	switch {
	case !shared.IsEmpty():
		r.Got = fmt.Sprintf("isolated CPUs %s share cores with CPUs %s", shared, others)
		return warn(r, fmt.Sprintf("a busy sibling slows the isolated thread; isolate whole cores: %s, or %s with the siblings",
			listOrNone(h.iso.Difference(shared)), h.iso.Union(others)))
	case len(unread) > 0:
		r.Got = "unknown"
		return warn(r, fmt.Sprintf("cannot read topology/thread_siblings_list of CPUs %s", cpuset.Of(unread...)))
	}
	r.Got = "no core shared"
	return r
}

// checkGovernor checks the cpufreq governor of the isolated CPUs (every
// online CPU when none is isolated). CPUs without cpufreq only warn, and
// never hide another CPU's wrong governor.
func (h *host) checkGovernor() Result {
	r := Result{Check: "governor", Want: h.want.Governor}
	byGov := h.perCPU("cpufreq/scaling_governor")
	r.Got = summarize(byGov)
	var off []int
	for g, on := range byGov {
		if h.want.Governor != "" && g != "none" && g != h.want.Governor {
			off = append(off, on...)
		}
	}
	switch {
	case len(off) > 0:
		return fail(r, fmt.Sprintf("governor differs on CPUs %s", cpuset.Of(off...))+noneOn(byGov, "cpufreq"))
	case len(byGov["none"]) > 0:
		return warn(r, "no cpufreq (VM?)")
	case h.want.Governor != "" && len(byGov) == 0:
		return fail(r, "no CPU to check: cannot read the online CPUs")
	}
	return r
}

// noneOn is "; no FILE on CPUs N" for the CPUs of by["none"], or "".
func noneOn(by map[string][]int, file string) string {
	if len(by["none"]) == 0 {
		return ""
	}
	return fmt.Sprintf("; no %s on CPUs %s", file, cpuset.Of(by["none"]...))
}

// checkResumeLatency checks the PM QoS resume latency of the isolated CPUs
// (every online CPU when none is isolated): how deep an idle state they
// may enter. A core that halts between requests runs the next one cold:
// on the bench VM, rtbd's handler took 22.8 us a request at 2k req/s
// with its CPU halting and 15.7 us with it polling (README, Performance).
func (h *host) checkResumeLatency() Result {
	r := Result{Check: "resume_latency", Want: h.want.ResumeLatency}
	byValue := h.perCPU("power/pm_qos_resume_latency_us")
	r.Got = summarize(byValue)
	var loose []int
	for v, on := range byValue {
		if h.want.ResumeLatency != "" && v != "none" && !withinLatency(v, h.want.ResumeLatency) {
			loose = append(loose, on...)
		}
	}
	switch {
	case len(loose) > 0:
		return fail(r, fmt.Sprintf("CPUs %s may enter idle states slower to leave than %s", cpuset.Of(loose...), describeLatency(h.want.ResumeLatency))+
			noneOn(byValue, "PM QoS resume latency"))
	case len(byValue["none"]) > 0:
		return warn(r, "no PM QoS resume latency (kernel without CONFIG_PM?)")
	}
	return r
}

// perCPU groups the isolated CPUs (every online CPU when none is isolated)
// by the content of their sys/devices/system/cpu/cpuN/file; "none" holds
// the CPUs without it.
func (h *host) perCPU(file string) map[string][]int {
	cpus := h.iso
	if cpus.IsEmpty() {
		cpus = h.online()
	}
	by := make(map[string][]int)
	for _, c := range cpus.CPUs() {
		v, err := h.read(fmt.Sprintf("sys/devices/system/cpu/cpu%d/%s", c, file))
		if err != nil {
			v = "none"
		}
		by[v] = append(by[v], c)
	}
	return by
}

// withinLatency reports whether resume latency got (sysfs: "n/a" for
// polling only, 0 for no limit, else microseconds) is at least as strict
// as want.
func withinLatency(got, want string) bool {
	if got == "n/a" || got == want {
		return true
	}
	g, err1 := strconv.Atoi(got)
	w, err2 := strconv.Atoi(want)
	return err1 == nil && err2 == nil && g > 0 && (w == 0 || g <= w)
}

func describeLatency(v string) string {
	if v == "n/a" {
		return "polling (n/a)"
	}
	return v + " us"
}

// summarize renders {"performance": [2 3], "powersave": [5]} as
// "performance 2-3; powersave 5", or just the name when there is one.
func summarize(m map[string][]int) string {
	if len(m) == 1 {
		for k := range m {
			return k
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " " + cpuset.Of(m[k]...).String()
	}
	return strings.Join(parts, "; ")
}

func fail(r Result, detail string) Result {
	r.Status, r.Detail = Fail, detail
	return r
}

func warn(r Result, detail string) Result {
	r.Status, r.Detail = Warn, detail
	return r
}
