package irq

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// NICIRQ is one interrupt of a network interface.
type NICIRQ struct {
	// IRQ is the interrupt number.
	IRQ int
	// Name is the action name from /proc/interrupts, "" when the vector is
	// in msi_irqs but has no handler line.
	Name string
	// Queue is the queue index parsed from Name ("eth0-TxRx-3" is 3), or -1
	// for interrupts that serve no queue (mlx5_async0, virtio0-config, the
	// ixgbe link interrupt).
	Queue int
}

// device identifies the hardware behind an interface, the ways drivers
// name their interrupts: by interface ("eth0-TxRx-0"), by PCI function
// ("mlx5_comp0@pci:0000:3b:00.0") or by virtio device ("virtio0-input.0").
type device struct {
	ifname string
	pci    string // "0000:3b:00.0", from device/uevent PCI_SLOT_NAME
	virtio string // "virtio0" when device is a virtio device
	msiDir string // the msi_irqs directory, "" if none
}

func lookupDevice(root, ifname string) (device, error) {
	if ifname == "" || strings.ContainsAny(ifname, "/\x00") || ifname == "." || ifname == ".." {
		return device{}, fmt.Errorf("invalid interface name %q", ifname)
	}
	netDir := filepath.Join(root, "sys/class/net", ifname)
	if _, err := os.Stat(netDir); err != nil {
		return device{}, fmt.Errorf("cannot find interface %s: %w", ifname, err)
	}
	d := device{ifname: ifname}
	devDir := filepath.Join(netDir, "device")
	d.pci = readUeventKey(filepath.Join(devDir, "uevent"), "PCI_SLOT_NAME")
	d.msiDir = filepath.Join(devDir, "msi_irqs")
	if real, err := filepath.EvalSymlinks(devDir); err == nil {
		if base := filepath.Base(real); strings.HasPrefix(base, "virtio") {
			// The MSI-X vectors belong to the virtio device's PCI parent.
			d.virtio = base
			d.msiDir = filepath.Join(filepath.Dir(real), "msi_irqs")
		}
	}
	return d, nil
}

func readUeventKey(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+"="); ok {
			return v
		}
	}
	return ""
}

// FindIRQs returns the interrupts of interface ifname under root ("/" on a
// live host), ordered by IRQ number: the vectors in its device's msi_irqs
// that have a /proc/irq entry, and the /proc/interrupts lines that name the
// interface, its PCI function or its virtio device.
func FindIRQs(root, ifname string) ([]NICIRQ, error) {
	d, err := lookupDevice(root, ifname)
	if err != nil {
		return nil, err
	}
	ints, err := ReadInterrupts(root)
	if err != nil {
		return nil, err
	}
	found := make(map[int]NICIRQ)
	names := make(map[int]string, len(ints))
	for i := range ints {
		it := &ints[i]
		names[it.IRQ] = it.Name()
		if d.matches(it.Actions) {
			found[it.IRQ] = NICIRQ{IRQ: it.IRQ, Name: it.Name(), Queue: QueueIndex(it.Name())}
		}
	}
	for _, n := range readMSI(d.msiDir) {
		if _, ok := found[n]; ok {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, "proc/irq", strconv.Itoa(n))); err == nil {
			found[n] = NICIRQ{IRQ: n, Name: names[n], Queue: QueueIndex(names[n])}
		}
	}
	out := make([]NICIRQ, 0, len(found))
	for _, v := range found {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].IRQ < out[j].IRQ })
	return out, nil
}

func readMSI(dir string) []int {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func (d *device) matches(actions []string) bool {
	for _, a := range actions {
		if d.virtio != "" && strings.HasPrefix(a, d.virtio+"-") {
			return true
		}
		if d.pci != "" && strings.HasSuffix(a, "@pci:"+d.pci) {
			return true
		}
		if NameHasInterface(a, d.ifname) {
			return true
		}
	}
	return false
}

// NameHasInterface reports whether the interrupt action name mentions
// interface ifname as a whole word: "eth0-TxRx-1" and "i40e-eth0-TxRx-1"
// mention eth0, "eth01-TxRx-1" and "veth0" do not.
func NameHasInterface(name, ifname string) bool {
	if ifname == "" {
		return false
	}
	for from := 0; ; {
		i := strings.Index(name[from:], ifname)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(ifname)
		if (i == 0 || isSep(name[i-1])) && (end == len(name) || isSep(name[end])) {
			return true
		}
		from = i + 1
	}
}

func isSep(c byte) bool { return strings.IndexByte("-_@:.[] ", c) >= 0 }

// queueMarkers are the name parts that mark a per-queue interrupt; the
// queue index is the number the name ends with.
var queueMarkers = []string{"txrx", "tx-rx", "comp", "input.", "output.", "rx-", "tx-", "-fp-", "queue"}

// QueueIndex returns the queue index of an interrupt action name, or -1
// when the name is not a queue's: "mlx5_comp3@pci:0000:3b:00.0" is 3,
// "ens5-Tx-Rx-2" is 2, "virtio0-input.1" is 1, "mlx5_async0@..." is -1.
func QueueIndex(name string) int {
	base, _, _ := strings.Cut(strings.ToLower(name), "@")
	marked := false
	for _, m := range queueMarkers {
		if strings.Contains(base, m) {
			marked = true
			break
		}
	}
	if !marked {
		return -1
	}
	i := len(base)
	for i > 0 && base[i-1] >= '0' && base[i-1] <= '9' {
		i--
	}
	n, err := strconv.Atoi(base[i:])
	if err != nil {
		return -1
	}
	return n
}
