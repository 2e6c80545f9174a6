package doctor

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/rtbd/rtbd/daemon/host/cpuset"
	"github.com/rtbd/rtbd/daemon/host/irq"
)

// managedNameRe matches the interrupts of blk-mq drivers that allocate
// kernel-managed vectors (nvme I/O queues, virtio-blk request queues):
// their affinity cannot be written, only kept off isolated CPUs by
// isolcpus=managed_irq. debugfs, when mounted, says so exactly.
var managedNameRe = regexp.MustCompile(`^(nvme\d+q[1-9]\d*|virtio\d+-req\.\d+)$`)

// irqKind tells whether user space can move an interrupt.
func (h *host) irqKind(it *irq.Interrupt) string {
	b, err := os.ReadFile(h.path(fmt.Sprintf("sys/kernel/debug/irq/irqs/%d", it.IRQ)))
	if err == nil {
		switch {
		case bytes.Contains(b, []byte("AFFINITY_MANAGED")):
			return "managed"
		case bytes.Contains(b, []byte("PER_CPU")):
			return "per-cpu"
		}
	}
	for _, a := range it.Actions {
		if managedNameRe.MatchString(a) {
			return "managed"
		}
	}
	return ""
}

// affinity returns the configured and the effective affinity of an IRQ;
// a missing effective_affinity_list (older kernels) is the configured one.
func (h *host) affinity(n int) (smp, eff cpuset.CPUSet, err error) {
	dir := filepath.Join("proc/irq", strconv.Itoa(n))
	smp, err = h.readList(filepath.Join(dir, "smp_affinity_list"))
	if err != nil {
		return smp, eff, err
	}
	eff, err = h.readList(filepath.Join(dir, "effective_affinity_list"))
	if err != nil {
		eff = smp
	}
	return smp, eff, nil
}

// unreadable collects the IRQs whose affinity cannot be read.
type unreadable struct {
	irqs []int
	err  error // the first one's
}

func (u *unreadable) add(n int, err error) {
	if u.err == nil {
		u.err = err
	}
	u.irqs = append(u.irqs, n)
}

// stillListed drops the IRQs that /proc/interrupts, read again, no longer
// lists with a handler: those were freed after the first read, and their
// /proc/irq/N went with them. The others are really unreadable (/proc/irq
// hidden or masked, as in containers and sandboxes), so the check cannot
// tell where they fire. When /proc/interrupts cannot be read again, every
// IRQ stays.
func (h *host) stillListed(u unreadable) unreadable {
	if len(u.irqs) == 0 {
		return u
	}
	ints, err := irq.ReadInterrupts(h.root)
	if err != nil {
		return u
	}
	live := make(map[int]bool, len(ints))
	for i := range ints {
		live[ints[i].IRQ] = len(ints[i].Actions) > 0
	}
	out := unreadable{err: u.err}
	for _, n := range u.irqs {
		if live[n] {
			out.irqs = append(out.irqs, n)
		}
	}
	return out
}

// String describes the first unreadable IRQ and counts the others, with
// the path as seen on the host (without -root).
func (u *unreadable) String() string {
	err := u.err
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	s := fmt.Sprintf("cannot read /proc/irq/%d/smp_affinity_list: %s", u.irqs[0], err)
	if n := len(u.irqs) - 1; n > 0 {
		s += fmt.Sprintf(" (nor %d more IRQs)", n)
	}
	return s + ": where they fire is unknown"
}

// suffix is "; " and String, or "" when no IRQ is unreadable.
func (u *unreadable) suffix() string {
	if len(u.irqs) == 0 {
		return ""
	}
	return "; " + u.String()
}

// checkIRQs fails when a movable IRQ may land on an isolated CPU (its
// configured or effective affinity intersects the set) and warns when a
// managed or per-CPU one does (its effective affinity, since isolcpus=
// managed_irq steers those within their fixed mask). It also fails when
// the affinity of an IRQ that /proc/interrupts lists cannot be read: a
// check that cannot look does not pass.
func (h *host) checkIRQs() Result {
	r := Result{Check: "irq_affinity"}
	ints, err := irq.ReadInterrupts(h.root)
	if err != nil {
		r.Got = "unreadable"
		return fail(r, err.Error())
	}
	if h.iso.IsEmpty() {
		r.Got = fmt.Sprintf("%d IRQs", len(ints))
		return h.noIsolation(r)
	}
	r.Want = "none on " + h.isoWant()
	var bad, managed []string
	var unread unreadable
	for i := range ints {
		it := &ints[i]
		if len(it.Actions) == 0 {
			continue // no handler: never fires
		}
		smp, eff, err := h.affinity(it.IRQ)
		if err != nil {
			unread.add(it.IRQ, err)
			continue
		}
		desc := fmt.Sprintf("%d %s on %s", it.IRQ, it.Name(), eff)
		if kind := h.irqKind(it); kind != "" {
			if eff.Intersects(h.iso) {
				managed = append(managed, desc+" ("+kind+")")
			}
			continue
		}
		if smp.Intersects(h.iso) || eff.Intersects(h.iso) {
			bad = append(bad, fmt.Sprintf("%d %s on %s", it.IRQ, it.Name(), smp))
		}
	}
	return irqVerdict(r, len(ints), bad, managed, h.stillListed(unread))
}

func irqVerdict(r Result, total int, bad, managed []string, unread unreadable) Result {
	switch {
	case len(bad) > 0:
		r.Got = fmt.Sprintf("%d of %d IRQs on isolated CPUs", len(bad), total)
		return fail(r, first(bad, 5)+unread.suffix())
	case len(unread.irqs) > 0:
		r.Got = fmt.Sprintf("%d of %d IRQs unreadable", len(unread.irqs), total)
		return fail(r, unread.String())
	case len(managed) > 0:
		r.Got = fmt.Sprintf("%d managed IRQs on isolated CPUs", len(managed))
		return warn(r, "managed IRQs cannot be moved: "+first(managed, 5))
	}
	r.Got = fmt.Sprintf("none of %d IRQs", total)
	return r
}

func first(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, "; ")
	}
	return strings.Join(items[:n], "; ") + fmt.Sprintf("; and %d more", len(items)-n)
}

// checkIrqbalance warns when irqbalance runs and may move IRQs onto the
// isolated CPUs. It bans IRQBALANCE_BANNED_CPULIST when set, else the
// kernel's isolated and nohz_full CPUs (irqbalance cputree.c,
// setup_banned_cpus).
func (h *host) checkIrqbalance() Result {
	r := Result{Check: "irqbalance"}
	pid := h.findProcess("irqbalance")
	var banned cpuset.CPUSet
	if pid == "" {
		r.Got = "not running"
	} else {
		var source string
		banned, source = h.irqbalanceBanned(pid)
		r.Got = fmt.Sprintf("running (pid %s), bans %s from %s", pid, listOrNone(banned), source)
	}
	if h.iso.IsEmpty() {
		return h.noIsolation(r)
	}
	r.Want = "off, or banned from " + h.isoWant()
	if pid != "" && !h.iso.IsSubsetOf(banned) {
		return warn(r, fmt.Sprintf("irqbalance may move IRQs onto CPUs %s", h.iso.Difference(banned)))
	}
	return r
}

func (h *host) irqbalanceBanned(pid string) (cpuset.CPUSet, string) {
	env, _ := os.ReadFile(h.path(filepath.Join("proc", pid, "environ")))
	for _, kv := range bytes.Split(env, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("IRQBALANCE_BANNED_CPULIST=")); ok {
			set, err := cpuset.ParseCPUList(string(v))
			if err == nil {
				return set, "IRQBALANCE_BANNED_CPULIST"
			}
		}
	}
	iso, _ := h.readList("sys/devices/system/cpu/isolated")
	nohz, _ := h.readList("sys/devices/system/cpu/nohz_full")
	return iso.Union(nohz), "isolated+nohz_full"
}

// findProcess returns the pid of a process whose comm is name, or "".
func (h *host) findProcess(name string) string {
	ents, err := os.ReadDir(h.path("proc"))
	if err != nil {
		return ""
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if comm, err := h.read(filepath.Join("proc", e.Name(), "comm")); err == nil && comm == name {
			return e.Name()
		}
	}
	return ""
}

// checkNIC checks that the interface's IRQs exist and stay off the
// isolated CPUs.
func (h *host) checkNIC(nic string) Result {
	r := Result{Check: "nic:" + nic, Want: "IRQs off none"}
	if !h.iso.IsEmpty() {
		r.Want = "IRQs off " + h.isoWant()
	}
	irqs, err := irq.FindIRQs(h.root, nic)
	if err != nil {
		r.Got = "not found"
		return fail(r, err.Error())
	}
	if len(irqs) == 0 {
		r.Got = "no IRQs"
		return warn(r, "no IRQs found for the interface")
	}
	var on cpuset.CPUSet
	var bad []string
	var unread unreadable
	for _, q := range irqs {
		smp, eff, err := h.affinity(q.IRQ)
		if err != nil {
			unread.add(q.IRQ, err)
			continue
		}
		on = on.Union(eff)
		if smp.Intersects(h.iso) || eff.Intersects(h.iso) {
			bad = append(bad, fmt.Sprintf("%d %s on %s", q.IRQ, q.Name, smp))
		}
	}
	r.Got = fmt.Sprintf("%d IRQs on CPUs %s", len(irqs), listOrNone(on))
	if unread = h.stillListed(unread); len(unread.irqs) > 0 {
		r.Got += fmt.Sprintf(", %d unreadable", len(unread.irqs))
	}
	switch {
	case len(bad) > 0:
		return fail(r, first(bad, 5)+unread.suffix())
	case len(unread.irqs) > 0:
		return fail(r, unread.String())
	}
	return r
}
