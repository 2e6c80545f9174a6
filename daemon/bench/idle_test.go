package bench

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fakeCPUs makes root/cpuN/power/pm_qos_resume_latency_us for each value
// of latency, as sysfs shows them (with a newline).
func fakeCPUs(t *testing.T, latency ...string) string {
	t.Helper()
	root := t.TempDir()
	for cpu, v := range latency {
		dir := filepath.Join(root, "cpu"+strconv.Itoa(cpu), "power")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "pm_qos_resume_latency_us"), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func latencyOf(t *testing.T, root string, cpu int) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "cpu"+strconv.Itoa(cpu), "power", "pm_qos_resume_latency_us"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestHoldPolling(t *testing.T) {
	t.Parallel()
	root := fakeCPUs(t, "0", "25", "0")
	restore, err := holdPolling(root, []int{1, 0})
	if err != nil {
		t.Fatalf("unexpected error: %s", err)
	}
	for cpu, want := range []string{"n/a", "n/a", "0"} {
		if got := latencyOf(t, root, cpu); got != want {
			t.Fatalf("unexpected resume latency of CPU %d while held; got %q; want %q", cpu, got, want)
		}
	}
	if err := restore(); err != nil {
		t.Fatalf("unexpected restore error: %s", err)
	}
	for cpu, want := range []string{"0", "25", "0"} {
		if got := latencyOf(t, root, cpu); got != want {
			t.Fatalf("unexpected resume latency of CPU %d after restore; got %q; want %q", cpu, got, want)
		}
	}
}

// A CPU that cannot be held fails the whole hold, and the CPUs held
// before it are put back: the machine is left as it was.
func TestHoldPollingFailsWhole(t *testing.T) {
	t.Parallel()
	root := fakeCPUs(t, "0", "25")
	_, err := holdPolling(root, []int{1, 0, 7})
	if err == nil || !strings.Contains(err.Error(), "cannot hold CPU 7 in polling idle") {
		t.Fatalf("unexpected error for a missing CPU; got %v", err)
	}
	for cpu, want := range []string{"0", "25"} {
		if got := latencyOf(t, root, cpu); got != want {
			t.Fatalf("unexpected resume latency of CPU %d after a failed hold; got %q; want %q", cpu, got, want)
		}
	}
}

func TestPollCPUs(t *testing.T) {
	t.Parallel()
	f := func(server, load, ncpu int, want string) {
		t.Helper()
		o := defaultOptions()
		o.ServerCPU, o.LoadCPU = server, load
		if got := pollCPUs(&o, ncpu).String(); got != want {
			t.Fatalf("unexpected CPUs for -cpu.server %d -cpu.load %d on %d CPUs; got %q; want %q", server, load, ncpu, got, want)
		}
	}
	f(1, 0, 2, "0-1")
	f(2, 2, 4, "2")
	f(-1, 0, 3, "0-2")
}
