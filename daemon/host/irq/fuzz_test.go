package irq

import (
	"strings"
	"testing"
)

// FuzzParseInterrupts checks that no /proc/interrupts text panics the
// parser, and that every parsed action name is non-empty.
func FuzzParseInterrupts(f *testing.F) {
	f.Add("   CPU0 CPU1\n 38: 0 3400 PCI-MSIX-0000:00:03.0 1-edge virtio2-input.0\nNMI: 0 0 x\n")
	f.Add("   CPU0\n 16: 5 IR-IO-APIC 16-fasteoi ehci_hcd:usb1, eth0\n")
	f.Add("   CPU0 CPU1 CPU2\n 5: 1 2\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		ints, err := ParseInterrupts(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, it := range ints {
			for _, a := range it.Actions {
				if a == "" {
					t.Fatalf("empty action name in %+v", it)
				}
				QueueIndex(a)
				NameHasInterface(a, "eth0")
			}
		}
	})
}
