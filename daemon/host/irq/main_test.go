package irq

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rtbd/rtbd/daemon/host/internal/hosttest"
)

func TestFindIRQs(t *testing.T) {
	t.Parallel()
	f := func(host, ifname string, want string) {
		t.Helper()
		irqs, err := FindIRQs(filepath.Join("../testdata", host), ifname)
		if err != nil {
			t.Fatalf("cannot find IRQs of %s on %s: %s", ifname, host, err)
		}
		var b strings.Builder
		for _, q := range irqs {
			fmt.Fprintf(&b, "%d:%s:%d ", q.IRQ, q.Name, q.Queue)
		}
		if got := strings.TrimSpace(b.String()); got != want {
			t.Fatalf("unexpected IRQs of %s on %s\ngot  %s\nwant %s", ifname, host, got, want)
		}
	}
	f("mlx5", "ens1f0np0", "98:mlx5_async0@pci:0000:3b:00.0:-1 99:mlx5_comp0@pci:0000:3b:00.0:0 100:mlx5_comp1@pci:0000:3b:00.0:1 "+
		"101:mlx5_comp2@pci:0000:3b:00.0:2 102:mlx5_comp3@pci:0000:3b:00.0:3 103:mlx5_comp4@pci:0000:3b:00.0:4 "+
		"104:mlx5_comp5@pci:0000:3b:00.0:5 105:mlx5_comp6@pci:0000:3b:00.0:6 106:mlx5_comp7@pci:0000:3b:00.0:7")
	f("ixgbe", "eth0", "33:eth0-TxRx-0:0 34:eth0-TxRx-1:1 35:eth0-TxRx-2:2 36:eth0-TxRx-3:3 37:eth0-TxRx-4:4 38:eth0-TxRx-5:5 39:eth0-TxRx-6:6 40:eth0-TxRx-7:7 41:eth0:-1")
	f("ixgbe", "eth1", "43:eth1-TxRx-0:0 44:eth1-TxRx-1:1 45:eth1-TxRx-2:2 46:eth1-TxRx-3:3 47:eth1:-1")
	f("ena", "ens5", "24:ena-mgmnt@pci:0000:00:05.0:-1 25:ens5-Tx-Rx-0:0 26:ens5-Tx-Rx-1:1 27:ens5-Tx-Rx-2:2 28:ens5-Tx-Rx-3:3")
	// virtio1 only: not virtio0 (the disk) nor virtio10.
	f("virtio", "eth0", "26:virtio1-config:-1 27:virtio1-input.0:0 28:virtio1-output.0:0 29:virtio1-input.1:1 30:virtio1-output.1:1")
}

func TestFindIRQsError(t *testing.T) {
	t.Parallel()
	f := func(ifname string) {
		t.Helper()
		if got, err := FindIRQs("../testdata/mlx5", ifname); err == nil {
			t.Fatalf("expecting error for interface %q; got %+v", ifname, got)
		}
	}
	f("eth9")
	f("")
	f("../..")
	f("a/b")
}

// irqRun runs the tool against a copy of fixture host and returns the
// copy's root, the exit code and the output.
func irqRun(t *testing.T, host string, write WriteFunc, args ...string) (string, int, string, string) {
	t.Helper()
	root := hosttest.Copy(t, filepath.Join("../testdata", host))
	if write == nil {
		write = WriteFile
	}
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"-root", root}, args...), &stdout, &stderr, write)
	return root, code, stdout.String(), stderr.String()
}

func wantFiles(t *testing.T, root string, want map[string]string) {
	t.Helper()
	for rel, w := range want {
		if got := hosttest.Read(t, root, rel); got != w+"\n" {
			t.Errorf("unexpected %s; got %q; want %q", rel, got, w+"\n")
		}
	}
}

func TestApplyMLX5(t *testing.T) {
	t.Parallel()
	root, code, _, stderr := irqRun(t, "mlx5", nil, "-interface", "ens1f0np0", "-cpus", "0-1,8", "-xps", "on", "-rps", "0-1")
	if code != 0 {
		t.Fatalf("unexpected exit code %d; stderr: %s", code, stderr)
	}
	want := map[string]string{"proc/irq/98/smp_affinity_list": "0"} // async: first of the round-robin
	for i := 0; i < 8; i++ {
		cpu := []string{"0", "1", "8"}[i%3]
		want[fmt.Sprintf("proc/irq/%d/smp_affinity_list", 99+i)] = cpu
		want[fmt.Sprintf("sys/class/net/ens1f0np0/queues/tx-%d/xps_cpus", i)] = map[string]string{"0": "0001", "1": "0002", "8": "0100"}[cpu]
		want[fmt.Sprintf("sys/class/net/ens1f0np0/queues/rx-%d/rps_cpus", i)] = "0003"
	}
	// Not the NIC's: untouched.
	want["proc/irq/41/smp_affinity_list"] = "0-15"
	want["proc/irq/0/smp_affinity_list"] = "0-1"
	wantFiles(t, root, want)
}

func TestApplyIxgbeDefaultsToHousekeeping(t *testing.T) {
	t.Parallel()
	// No -cpus: online 0-7 minus nohz_full 2-7. RPS and XPS untouched.
	root, code, _, stderr := irqRun(t, "ixgbe", nil, "-interface", "eth0")
	if code != 0 {
		t.Fatalf("unexpected exit code %d; stderr: %s", code, stderr)
	}
	want := map[string]string{"proc/irq/41/smp_affinity_list": "0"}
	for i := 0; i < 8; i++ {
		want[fmt.Sprintf("proc/irq/%d/smp_affinity_list", 33+i)] = fmt.Sprint(i % 2)
		want[fmt.Sprintf("sys/class/net/eth0/queues/rx-%d/rps_cpus", i)] = "00"
		want[fmt.Sprintf("sys/class/net/eth0/queues/tx-%d/xps_cpus", i)] = "00"
	}
	for n := 43; n <= 47; n++ { // eth1
		want[fmt.Sprintf("proc/irq/%d/smp_affinity_list", n)] = "0-7"
	}
	wantFiles(t, root, want)
}

func TestApplyENAAndRPSOff(t *testing.T) {
	t.Parallel()
	// No nohz_full ("(null)"): every online CPU is housekeeping.
	root, code, _, stderr := irqRun(t, "ena", nil, "-interface", "ens5", "-rps", "off", "-xps", "off")
	if code != 0 {
		t.Fatalf("unexpected exit code %d; stderr: %s", code, stderr)
	}
	wantFiles(t, root, map[string]string{
		"proc/irq/24/smp_affinity_list":           "0",
		"proc/irq/25/smp_affinity_list":           "0",
		"proc/irq/26/smp_affinity_list":           "1",
		"proc/irq/27/smp_affinity_list":           "2",
		"proc/irq/28/smp_affinity_list":           "3",
		"proc/irq/31/smp_affinity_list":           "2-3",
		"sys/class/net/ens5/queues/rx-3/rps_cpus": "0",
		"sys/class/net/ens5/queues/tx-3/xps_cpus": "0",
	})
}

func TestApplyVirtio(t *testing.T) {
	t.Parallel()
	root, code, _, stderr := irqRun(t, "virtio", nil, "-interface", "eth0", "-cpus", "1", "-xps", "on")
	if code != 0 {
		t.Fatalf("unexpected exit code %d; stderr: %s", code, stderr)
	}
	want := map[string]string{
		"sys/class/net/eth0/queues/tx-0/xps_cpus": "2",
		"sys/class/net/eth0/queues/tx-1/xps_cpus": "2",
		"proc/irq/25/smp_affinity_list":           "0-3", // virtio0, the disk
		"proc/irq/32/smp_affinity_list":           "2",   // virtio10
	}
	for n := 26; n <= 30; n++ {
		want[fmt.Sprintf("proc/irq/%d/smp_affinity_list", n)] = "1"
	}
	wantFiles(t, root, want)
}

func TestDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	for _, host := range []string{"mlx5", "ixgbe", "ena", "virtio"} {
		ifname := map[string]string{"mlx5": "ens1f0np0", "ixgbe": "eth0", "ena": "ens5", "virtio": "eth0"}[host]
		root := hosttest.Copy(t, filepath.Join("../testdata", host))
		before := hosttest.Snapshot(t, root)
		var stdout, stderr bytes.Buffer
		failWrite := func(path string, _ []byte) error {
			t.Errorf("dry run wrote %s", path)
			return nil
		}
		code := run([]string{"-root", root, "-interface", ifname, "-cpus", "0-1", "-rps", "1", "-xps", "on", "-dry-run"}, &stdout, &stderr, failWrite)
		if code != 0 {
			t.Fatalf("%s: unexpected exit code %d; stderr: %s", host, code, stderr.String())
		}
		after := hosttest.Snapshot(t, root)
		if len(before) != len(after) {
			t.Fatalf("%s: dry run changed the file count from %d to %d", host, len(before), len(after))
		}
		for k, v := range before {
			if after[k] != v {
				t.Fatalf("%s: dry run changed %s from %q to %q", host, k, v, after[k])
			}
		}
		out := stdout.String()
		if !strings.Contains(out, "IRQ  NAME") || !strings.Contains(out, "XPS") || !strings.Contains(out, "RPS") {
			t.Fatalf("%s: dry run plan misses its table:\n%s", host, out)
		}
	}
	// The plan line for one IRQ: number, name, current, new.
	_, _, out, _ := irqRun(t, "ixgbe", nil, "-interface", "eth0", "-dry-run")
	if !strings.Contains(out, "\n36   eth0-TxRx-3  0-7      1\n") {
		t.Fatalf("dry run plan lacks the line of IRQ 36:\n%s", out)
	}
}

func TestManagedIRQIsAWarning(t *testing.T) {
	t.Parallel()
	eio := func(path string, data []byte) error {
		if strings.HasSuffix(path, "/proc/irq/100/smp_affinity_list") {
			return &pathError{path, syscall.EIO}
		}
		return WriteFile(path, data)
	}
	root, code, _, stderr := irqRun(t, "mlx5", eio, "-interface", "ens1f0np0")
	if code != 0 {
		t.Fatalf("EIO must be a warning; got exit code %d; stderr: %s", code, stderr)
	}
	if !strings.Contains(stderr, "warning: IRQ 100 (mlx5_comp1@pci:0000:3b:00.0) is kernel-managed") {
		t.Fatalf("missing managed-IRQ warning; stderr: %s", stderr)
	}
	wantFiles(t, root, map[string]string{"proc/irq/100/smp_affinity_list": "0-1", "proc/irq/101/smp_affinity_list": "0"})

	eacces := func(path string, data []byte) error {
		if strings.HasSuffix(path, "/proc/irq/101/smp_affinity_list") {
			return &pathError{path, syscall.EACCES}
		}
		return WriteFile(path, data)
	}
	root, code, _, stderr = irqRun(t, "mlx5", eacces, "-interface", "ens1f0np0")
	if code != 1 || !strings.Contains(stderr, "cannot set irq of mlx5_comp2@pci:0000:3b:00.0 to 0") {
		t.Fatalf("EACCES must fail; got exit code %d; stderr: %s", code, stderr)
	}
	// The writes after the failed one still happened.
	wantFiles(t, root, map[string]string{"proc/irq/106/smp_affinity_list": "1"})
}

type pathError struct {
	path string
	err  error
}

func (e *pathError) Error() string { return "write " + e.path + ": " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

func TestExitCodes(t *testing.T) {
	t.Parallel()
	f := func(want int, wantErr string, args ...string) {
		t.Helper()
		_, code, _, stderr := irqRun(t, "ixgbe", nil, args...)
		if code != want || !strings.Contains(stderr, wantErr) {
			t.Fatalf("unexpected result for %q; got exit %d, stderr %q; want exit %d with %q", args, code, stderr, want, wantErr)
		}
	}
	f(2, "missing -interface")
	f(2, "flag provided but not defined", "-bogus")
	f(2, "unexpected arguments", "-interface", "eth0", "extra")
	f(2, "invalid -cpus", "-interface", "eth0", "-cpus", "0-")
	f(2, "empty CPU list", "-interface", "eth0", "-cpus", " ")
	f(2, "CPUs 8-9 are not online", "-interface", "eth0", "-cpus", "1,8-9")
	f(2, "invalid -xps", "-interface", "eth0", "-xps", "yes")
	f(2, "invalid -rps", "-interface", "eth0", "-rps", "a")
	f(1, "cannot find interface eth7", "-interface", "eth0", "-interface", "eth7")
	f(0, "", "-interface", "eth0", "-interface", "eth1")
}

func TestNoHousekeepingCPUs(t *testing.T) {
	t.Parallel()
	root := hosttest.Copy(t, "../testdata/ixgbe")
	hosttest.Write(t, root, "sys/devices/system/cpu/nohz_full", "0-7\n")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-root", root, "-interface", "eth0"}, &stdout, &stderr, WriteFile); code != 2 {
		t.Fatalf("unexpected exit code %d; want 2; stderr: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "no housekeeping CPUs") {
		t.Fatalf("unexpected stderr: %s", stderr.String())
	}
}

func TestWriteFileNeverCreates(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "smp_affinity_list")
	if err := WriteFile(p, []byte("1\n")); err == nil {
		t.Fatalf("WriteFile created %s", p)
	}
}
