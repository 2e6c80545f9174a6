// Package irq places NIC queue interrupts on chosen CPUs: it implements
// `rtbd irq` after Mellanox's set_irq_affinity_cpulist.sh (mlnx-tools): find
// each interface's IRQs in /sys/class/net/IF/device/msi_irqs and
// /proc/interrupts, round-robin them over a CPU list (the housekeeping CPUs
// by default) through /proc/irq/N/smp_affinity_list, and optionally set the
// RPS and XPS masks of its queues. It also parses /proc/interrupts for
// `rtbd doctor`.
package irq

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Interrupt is one numbered line of /proc/interrupts.
type Interrupt struct {
	// IRQ is the interrupt number, the N of /proc/irq/N.
	IRQ int
	// Chip is the interrupt controller ("IR-PCI-MSI", "PCI-MSIX-0000:00:03.0").
	Chip string
	// Actions are the names of the handlers ("eth0-TxRx-0"); usually one,
	// several for a shared legacy interrupt, none when unused.
	Actions []string
}

// Name returns the action names joined with ", " as /proc/interrupts shows
// them, or "" when the interrupt has no handler.
func (it *Interrupt) Name() string { return strings.Join(it.Actions, ", ") }

// hwirqRe matches the hwirq-and-flow column ("1048576-edge", "9-fasteoi")
// after which the kernel prints the action names.
var hwirqRe = regexp.MustCompile(`^\d+-[a-z]+$`)

// ParseInterrupts parses /proc/interrupts. Lines of architecture counters
// (NMI, LOC, ...) are skipped; a numbered line it cannot read is an error.
func ParseInterrupts(r io.Reader) ([]Interrupt, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20) // 1000+ CPU columns make long lines
	if !sc.Scan() {
		return nil, fmt.Errorf("cannot parse /proc/interrupts: missing CPU header")
	}
	ncpu := len(strings.Fields(sc.Text()))
	if ncpu == 0 {
		return nil, fmt.Errorf("cannot parse /proc/interrupts: empty CPU header")
	}
	var out []Interrupt
	for sc.Scan() {
		it, ok, err := parseInterruptLine(sc.Text(), ncpu)
		if err != nil {
			return nil, fmt.Errorf("cannot parse /proc/interrupts: %w", err)
		}
		if ok {
			out = append(out, it)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot read /proc/interrupts: %w", err)
	}
	return out, nil
}

func parseInterruptLine(line string, ncpu int) (Interrupt, bool, error) {
	label, rest, ok := strings.Cut(line, ":")
	if !ok {
		return Interrupt{}, false, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(label))
	if err != nil {
		return Interrupt{}, false, nil // NMI, LOC, ERR, ...
	}
	fields := strings.Fields(rest)
	if len(fields) < ncpu {
		return Interrupt{}, false, fmt.Errorf("IRQ %d: %d counters for %d CPUs", n, len(fields), ncpu)
	}
	tail := fields[ncpu:]
	it := Interrupt{IRQ: n}
	if len(tail) == 0 {
		return it, true, nil
	}
	it.Chip = tail[0]
	names := tail[1:]
	for i, f := range tail {
		if i > 0 && hwirqRe.MatchString(f) {
			names = tail[i+1:]
			break
		}
	}
	for _, a := range strings.Split(strings.Join(names, " "), ", ") {
		if a = strings.TrimSpace(a); a != "" {
			it.Actions = append(it.Actions, a)
		}
	}
	return it, true, nil
}

// ReadInterrupts reads and parses root/proc/interrupts.
func ReadInterrupts(root string) ([]Interrupt, error) {
	f, err := os.Open(filepath.Join(root, "proc/interrupts"))
	if err != nil {
		return nil, fmt.Errorf("cannot read interrupts: %w", err)
	}
	defer f.Close()
	return ParseInterrupts(f)
}
