package irq

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseInterrupts(t *testing.T) {
	t.Parallel()
	const header = "           CPU0       CPU1       \n"
	f := func(line string, wantIRQ int, wantChip string, wantActions ...string) {
		t.Helper()
		got, err := ParseInterrupts(strings.NewReader(header + line + "\n"))
		if err != nil {
			t.Fatalf("unexpected error for %q: %s", line, err)
		}
		if len(got) != 1 {
			t.Fatalf("unexpected interrupts for %q; got %+v; want 1", line, got)
		}
		it := got[0]
		if it.IRQ != wantIRQ || it.Chip != wantChip || !reflect.DeepEqual(it.Actions, wantActions) {
			t.Fatalf("unexpected result for %q; got %d %q %q; want %d %q %q", line, it.IRQ, it.Chip, it.Actions, wantIRQ, wantChip, wantActions)
		}
	}
	// Lines as this machine's and real hosts' kernels print them.
	f(" 38:          0       3400 PCI-MSIX-0000:00:03.0   1-edge      virtio2-input.0", 38, "PCI-MSIX-0000:00:03.0", "virtio2-input.0")
	f(" 99:    1 2  IR-PCI-MSIX-0000:3b:00.0    1-edge      mlx5_comp0@pci:0000:3b:00.0", 99, "IR-PCI-MSIX-0000:3b:00.0", "mlx5_comp0@pci:0000:3b:00.0")
	f(" 16:  5 0   IR-IO-APIC   16-fasteoi   ehci_hcd:usb1, eth0", 16, "IR-IO-APIC", "ehci_hcd:usb1", "eth0")
	f(" 27:  5 0   IR-PCI-MSI 512000-edge      ahci[0000:00:1f.2]", 27, "IR-PCI-MSI", "ahci[0000:00:1f.2]")
	f("  7:  0 0   IO-APIC   7-edge", 7, "IO-APIC")
	f("  3:  0 0", 3, "")
	f("  1:  9 0   XT-PIC   i8042", 1, "XT-PIC", "i8042")
}

func TestParseInterruptsSkipsCounters(t *testing.T) {
	t.Parallel()
	in := "      CPU0 CPU1\n  0: 1 2 IO-APIC 2-edge timer\nNMI: 0 0 Non-maskable interrupts\nERR: 0\n\n 41: 0 0 PCI-MSI 3-edge eth0\n"
	got, err := ParseInterrupts(strings.NewReader(in))
	if err != nil {
		t.Fatalf("unexpected error: %s", err)
	}
	if len(got) != 2 || got[0].IRQ != 0 || got[1].IRQ != 41 || got[1].Name() != "eth0" {
		t.Fatalf("unexpected interrupts %+v; want IRQ 0 and 41", got)
	}
}

func TestParseInterruptsError(t *testing.T) {
	t.Parallel()
	f := func(in string) {
		t.Helper()
		if got, err := ParseInterrupts(strings.NewReader(in)); err == nil {
			t.Fatalf("expecting error for %q; got %+v", in, got)
		}
	}
	f("")
	f("   \n")
	f("  CPU0 CPU1 CPU2\n 5: 1 2\n")
}

func TestNameHasInterface(t *testing.T) {
	t.Parallel()
	f := func(name, ifname string, want bool) {
		t.Helper()
		if got := NameHasInterface(name, ifname); got != want {
			t.Fatalf("unexpected NameHasInterface(%q, %q); got %v; want %v", name, ifname, got, want)
		}
	}
	f("eth0-TxRx-0", "eth0", true)
	f("eth0", "eth0", true)
	f("i40e-eth0-TxRx-1", "eth0", true)
	f("ens5-Tx-Rx-0", "ens5", true)
	f("eth01-TxRx-0", "eth0", false)
	f("veth0", "eth0", false)
	f("eth1-TxRx-0", "eth0", false)
	f("xeth0 eth0-rx-1", "eth0", true)
	f("anything", "", false)
}

func TestQueueIndex(t *testing.T) {
	t.Parallel()
	f := func(name string, want int) {
		t.Helper()
		if got := QueueIndex(name); got != want {
			t.Fatalf("unexpected QueueIndex(%q); got %d; want %d", name, got, want)
		}
	}
	f("mlx5_comp3@pci:0000:3b:00.0", 3)
	f("mlx5_comp12@pci:0000:3b:00.0", 12)
	f("mlx5_async0@pci:0000:3b:00.0", -1)
	f("eth0-TxRx-7", 7)
	f("i40e-eth0-TxRx-10", 10)
	f("ens5-Tx-Rx-2", 2)
	f("ena-mgmnt@pci:0000:00:05.0", -1)
	f("virtio0-input.1", 1)
	f("virtio0-output.0", 0)
	f("virtio0-config", -1)
	f("eth0-rx-3", 3)
	f("eth0", -1)
	f("eth0-TxRx-", -1)
	f("", -1)
}
