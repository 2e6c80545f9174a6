// Package doctor compares the running host with the tuning rtbd expects
// (DESIGN.md section 3: nohz_full, rcu_nocbs and irqaffinity on the kernel
// command line, isolated CPUs on whole cores (no SMT sibling outside the
// set), hugepages, THP, the cpufreq governor, the idle states the
// isolated CPUs may enter, IRQs kept off the isolated CPUs, irqbalance,
// swap, the clock source) and reports each check
// as pass, warn, fail or skip. Without an expected isolated set it takes
// the one the kernel command line isolates (nohz_full= and isolcpus=) and
// checks the host against it; when that isolates nothing, the isolation
// checks are skipped, not passed. It implements `rtbd doctor` and exports
// the same facts as the rtbd_host_check gauges.
package doctor

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/rtbd/rtbd/daemon/host/cpuset"
)

// Status is the outcome of one check.
type Status int

// The outcomes: pass, warn and fail, best first, and skip for a check
// that had nothing to compare against.
const (
	Pass Status = iota
	Warn
	Fail
	Skip
)

// String returns "PASS", "WARN", "FAIL" or "SKIP".
func (s Status) String() string {
	switch s {
	case Pass:
		return "PASS"
	case Warn:
		return "WARN"
	case Fail:
		return "FAIL"
	case Skip:
		return "SKIP"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Value returns the gauge value of s: 1 for pass, 0.5 for warn, 0 for
// fail, and NaN for skip, which is neither good nor bad: comparisons with
// it are false, so alerts on `< 1` stay quiet and dashboards show a gap.
func (s Status) Value() float64 {
	switch s {
	case Pass:
		return 1
	case Warn:
		return 0.5
	case Skip:
		return math.NaN()
	}
	return 0
}

// MarshalJSON writes s as its String.
func (s Status) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Result is the outcome of one check.
type Result struct {
	// Check names the check ("nohz_full", "nic:eth0"); the set of names
	// depends only on [Expect], never on the host.
	Check string `json:"check"`
	// Status is pass, warn or fail.
	Status Status `json:"status"`
	// Got is what the host has.
	Got string `json:"got"`
	// Want is what the expectation asks, "" when it asks nothing.
	Want string `json:"want,omitempty"`
	// Detail explains a warning, failure or skip.
	Detail string `json:"detail,omitempty"`
}

// Expect is the tuning the host should have. The zero value expects no
// value in particular: the isolated set is then the one the kernel command
// line isolates, and the other checks report what they find and pass,
// except the ones that are wrong whatever is expected.
type Expect struct {
	// IsolatedCPUs run only rtbd: nohz_full, rcu_nocbs, no IRQs. Empty
	// takes the CPUs that nohz_full= and isolcpus= list on the kernel
	// command line, so that they are checked against each other; when
	// those list none, the isolation checks report [Skip] (see Untuned).
	IsolatedCPUs cpuset.CPUSet
	// Untuned says the host is meant to isolate no CPU: with IsolatedCPUs
	// empty and nothing isolated on the command line, the isolation checks
	// pass instead of reporting Skip.
	Untuned bool
	// Hugepages2M and Hugepages1G are the reserved hugepage counts; 0 asks
	// for nothing.
	Hugepages2M, Hugepages1G int
	// THP is the transparent hugepage mode, "never" or "madvise"; "" asks
	// for nothing.
	THP string
	// Governor is the cpufreq governor of the isolated CPUs
	// ("performance"); "" asks for nothing.
	Governor string
	// ResumeLatency is the PM QoS resume latency the isolated CPUs must
	// keep to: "n/a" (polling idle only, rtbd.tuning.power's default), a
	// number of microseconds, or "0" (no limit); "" asks for nothing.
	ResumeLatency string
	// NICs are interfaces whose IRQs must stay off the isolated CPUs.
	NICs []string
	// NoSwap turns active swap from a warning into a failure.
	NoSwap bool
	// ClockSource is the expected clock source ("tsc"); "" asks for nothing.
	ClockSource string
}

// Check runs every check against the host whose /proc and /sys are under
// root ("/" for the running host) and returns one [Result] per check, in a
// fixed order. It never fails as a whole: an unreadable file makes its
// check warn or fail.
func Check(root string, want Expect) []Result {
	h := &host{root: root, want: want, iso: want.IsolatedCPUs}
	cmdline := h.cmdline()
	if h.iso.IsEmpty() {
		h.iso = isolatedByCmdline(cmdline)
		h.fromCmdline = !h.iso.IsEmpty()
	}
	out := []Result{
		h.checkCmdlineList("cmdline_nohz_full", cmdline, "nohz_full"),
		h.checkCmdlineList("cmdline_rcu_nocbs", cmdline, "rcu_nocbs"),
		h.checkIRQAffinityParam(cmdline),
		h.checkIsolcpus(cmdline),
		h.checkNohzFull(),
		h.checkIsolated(),
		h.checkSMTSiblings(),
		h.checkHugepages("hugepages_2M", "hugepages-2048kB", want.Hugepages2M),
		h.checkHugepages("hugepages_1G", "hugepages-1048576kB", want.Hugepages1G),
		h.checkTHP(),
		h.checkGovernor(),
		h.checkResumeLatency(),
		h.checkIRQs(),
		h.checkIrqbalance(),
		h.checkSwap(),
		h.checkClockSource(),
	}
	for _, nic := range want.NICs {
		out = append(out, h.checkNIC(nic))
	}
	return out
}

// host reads one host tree.
type host struct {
	root string
	want Expect
	// iso is the isolated set checked against: want.IsolatedCPUs, else
	// the command line's (fromCmdline).
	iso         cpuset.CPUSet
	fromCmdline bool
}

// isoWant renders iso for a Result's Want, saying where it came from when
// nobody expected it.
func (h *host) isoWant() string {
	if h.fromCmdline {
		return h.iso.String() + " (from cmdline)"
	}
	return h.iso.String()
}

// noIsolation finishes r, an isolation check that found nothing wrong with
// no isolated set to compare against: a pass when the host is meant to be
// untuned, else a skip that says how to give the expectation.
func (h *host) noIsolation(r Result) Result {
	r.Want = ""
	if h.want.Untuned {
		return r
	}
	r.Status = Skip
	r.Detail = "nothing to compare against: no nohz_full= or isolcpus= on the kernel command line; " +
		"pass -isolated LIST or -config FILE (or -untuned if the host is meant to be untuned)"
	return r
}

func (h *host) path(rel string) string { return filepath.Join(h.root, rel) }

// read returns the trimmed content of root/rel.
func (h *host) read(rel string) (string, error) {
	b, err := os.ReadFile(h.path(rel))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// readList reads a sysfs CPU list; "(null)" (nohz_full when unset) is the
// empty set.
func (h *host) readList(rel string) (cpuset.CPUSet, error) {
	s, err := h.read(rel)
	if err != nil {
		return cpuset.CPUSet{}, err
	}
	if s == "(null)" {
		return cpuset.CPUSet{}, nil
	}
	return cpuset.ParseCPUList(s)
}

func (h *host) online() cpuset.CPUSet {
	s, err := h.readList("sys/devices/system/cpu/online")
	if err != nil {
		return cpuset.CPUSet{}
	}
	return s
}

func listOrNone(s cpuset.CPUSet) string {
	if s.IsEmpty() {
		return "none"
	}
	return s.String()
}
