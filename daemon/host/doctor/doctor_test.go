package doctor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rtbd/rtbd/daemon/host/cpuset"
	"github.com/rtbd/rtbd/daemon/host/internal/hosttest"
)

// tuned is what the mlx5 fixture host was tuned for.
var tuned = Expect{
	IsolatedCPUs:  cpuset.MustParseCPUList("2-15"),
	Hugepages2M:   1024,
	Hugepages1G:   4,
	THP:           "never",
	Governor:      "performance",
	ResumeLatency: "n/a",
	NICs:          []string{"ens1f0np0"},
	NoSwap:        true,
	ClockSource:   "tsc",
}

var tunedArgs = []string{"-isolated", "2-15", "-hugepages-2m", "1024", "-hugepages-1g", "4", "-thp", "never",
	"-governor", "performance", "-resume-latency", "n/a", "-nic", "ens1f0np0", "-no-swap", "-clocksource", "tsc"}

var checkNames = []string{"cmdline_nohz_full", "cmdline_rcu_nocbs", "cmdline_irqaffinity", "cmdline_isolcpus",
	"nohz_full", "isolated", "smt_siblings", "hugepages_2M", "hugepages_1G", "thp", "governor", "resume_latency", "irq_affinity", "irqbalance",
	"swap", "clocksource"}

func statuses(rs []Result) map[string]Status {
	m := make(map[string]Status, len(rs))
	for _, r := range rs {
		m[r.Check] = r.Status
	}
	return m
}

func TestCheckTunedHostPasses(t *testing.T) {
	t.Parallel()
	rs := Check("../testdata/mlx5", tuned)
	want := append(append([]string(nil), checkNames...), "nic:ens1f0np0")
	if len(rs) != len(want) {
		t.Fatalf("unexpected number of results; got %d; want %d: %+v", len(rs), len(want), rs)
	}
	for i, r := range rs {
		if r.Check != want[i] {
			t.Fatalf("result %d is %q; want %q", i, r.Check, want[i])
		}
		if r.Status != Pass {
			t.Errorf("%s: %s %q (want %q): %s", r.Check, r.Status, r.Got, r.Want, r.Detail)
		}
	}
}

func TestCheckDriftedHost(t *testing.T) {
	t.Parallel()
	rs := Check("../testdata/mlx5-drifted", tuned)
	want := map[string]Status{
		"cmdline_nohz_full":   Fail, // nohz_full=2-7 only
		"cmdline_rcu_nocbs":   Fail, // missing
		"cmdline_irqaffinity": Fail, // missing
		"cmdline_isolcpus":    Warn, // domain isolation
		"nohz_full":           Fail,
		"isolated":            Pass,
		"smt_siblings":        Pass,
		"hugepages_2M":        Fail, // 0 of 1024
		"hugepages_1G":        Pass,
		"thp":                 Fail, // madvise
		"governor":            Fail, // cpus 5-6 powersave
		"resume_latency":      Fail, // 8-15 may halt
		"irq_affinity":        Fail, // comp queues on 2-7
		"irqbalance":          Warn, // auto-bans only 2-7
		"swap":                Fail, // NoSwap and a partition
		"clocksource":         Fail, // hpet
		"nic:ens1f0np0":       Fail,
	}
	got := statuses(rs)
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: got %s; want %s", name, got[name], w)
		}
	}
	details := map[string]string{
		"cmdline_nohz_full": "CPUs 8-15 are not covered",
		"governor":          "powersave 5-6",
		"resume_latency":    "CPUs 8-15 may enter idle states slower to leave than polling (n/a)",
		"irqbalance":        "onto CPUs 8-15",
		"nic:ens1f0np0":     "101 mlx5_comp2@pci:0000:3b:00.0 on 2",
		"hugepages_2M":      "1024 pages missing",
	}
	for _, r := range rs {
		if d, ok := details[r.Check]; ok && !strings.Contains(r.Got+" "+r.Detail, d) {
			t.Errorf("%s: got %q, detail %q; want it to mention %q", r.Check, r.Got, r.Detail, d)
		}
	}
}

func TestCheckPartlyMissingCPUFiles(t *testing.T) {
	t.Parallel()
	// CPU 15 has no cpufreq and no PM QoS file (a warning each); CPU 2
	// runs powersave and may halt, which the warning must not hide.
	root := hosttest.Copy(t, "../testdata/mlx5")
	hosttest.Write(t, root, "sys/devices/system/cpu/cpu2/cpufreq/scaling_governor", "powersave\n")
	hosttest.Write(t, root, "sys/devices/system/cpu/cpu2/power/pm_qos_resume_latency_us", "0\n")
	for _, dir := range []string{"cpufreq", "power"} {
		if err := os.RemoveAll(filepath.Join(root, "sys/devices/system/cpu/cpu15", dir)); err != nil {
			t.Fatal(err)
		}
	}
	want := Expect{IsolatedCPUs: cpuset.MustParseCPUList("2-15"), Governor: "performance", ResumeLatency: "n/a"}
	got := make(map[string]Result)
	for _, r := range Check(root, want) {
		got[r.Check] = r
	}
	f := func(name, wantDetail string) {
		t.Helper()
		if r := got[name]; r.Status != Fail || !strings.Contains(r.Detail, wantDetail) {
			t.Fatalf("%s: got %s %q, detail %q; want FAIL with %q", name, r.Status, r.Got, r.Detail, wantDetail)
		}
	}
	f("governor", "governor differs on CPUs 2; no cpufreq on CPUs 15")
	f("resume_latency", "CPUs 2 may enter idle states slower to leave than polling (n/a); no PM QoS resume latency on CPUs 15")
	// Without the wrong CPU, the missing files only warn.
	hosttest.Write(t, root, "sys/devices/system/cpu/cpu2/cpufreq/scaling_governor", "performance\n")
	hosttest.Write(t, root, "sys/devices/system/cpu/cpu2/power/pm_qos_resume_latency_us", "n/a\n")
	for _, r := range Check(root, want) {
		if (r.Check == "governor" || r.Check == "resume_latency") && r.Status != Warn {
			t.Fatalf("%s with only CPU 15's file missing: got %s %q; want WARN", r.Check, r.Status, r.Detail)
		}
	}
}

func TestCheckSMTSiblings(t *testing.T) {
	t.Parallel()
	want := Expect{IsolatedCPUs: cpuset.MustParseCPUList("2-15")}
	f := func(root string, wantStatus Status, wantText string) {
		t.Helper()
		for _, r := range Check(root, want) {
			if r.Check != "smt_siblings" {
				continue
			}
			if r.Status != wantStatus || !strings.Contains(r.Got+" "+r.Detail, wantText) {
				t.Fatalf("smt_siblings: got %s %q, detail %q; want %s with %q", r.Status, r.Got, r.Detail, wantStatus, wantText)
			}
			return
		}
		t.Fatalf("no smt_siblings result")
	}
	// Two threads per core, thread c beside c+8: housekeeping 0-1 share
	// their cores with isolated 8-9.
	root := hosttest.Copy(t, "../testdata/mlx5")
	for c := 0; c < 16; c++ {
		hosttest.Write(t, root, fmt.Sprintf("sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", c), fmt.Sprintf("%d,%d\n", c%8, c%8+8))
	}
	f(root, Warn, "isolated CPUs 8-9 share cores with CPUs 0-1")
	f(root, Warn, "isolate whole cores: 2-7,10-15, or 0-15 with the siblings")
	// Siblings side by side, housekeeping on core 0: whole cores.
	for c := 0; c < 16; c++ {
		hosttest.Write(t, root, fmt.Sprintf("sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", c), fmt.Sprintf("%d-%d\n", c&^1, c|1))
	}
	f(root, Pass, "no core shared")
	// Topology hidden: not a pass.
	if err := os.Remove(filepath.Join(root, "sys/devices/system/cpu/cpu15/topology/thread_siblings_list")); err != nil {
		t.Fatal(err)
	}
	f(root, Warn, "cannot read topology/thread_siblings_list of CPUs 15")
}

func TestCheckIRQKinds(t *testing.T) {
	t.Parallel()
	want := Expect{IsolatedCPUs: cpuset.MustParseCPUList("2-15")}
	irqStatus := func(root string) Result {
		t.Helper()
		for _, r := range Check(root, want) {
			if r.Check == "irq_affinity" {
				return r
			}
		}
		t.Fatalf("no irq_affinity result")
		return Result{}
	}
	// A managed nvme queue whose effective CPU is isolated: only a warning.
	root := hosttest.Copy(t, "../testdata/mlx5")
	hosttest.Write(t, root, "proc/irq/41/effective_affinity_list", "5\n")
	if r := irqStatus(root); r.Status != Warn || !strings.Contains(r.Detail, "nvme0q1 on 5 (managed)") {
		t.Fatalf("managed nvme IRQ: got %s %q", r.Status, r.Detail)
	}
	// debugfs marks an IRQ managed whatever its name.
	hosttest.Write(t, root, "proc/irq/98/smp_affinity_list", "3\n")
	hosttest.Write(t, root, "proc/irq/98/effective_affinity_list", "3\n")
	hosttest.Write(t, root, "sys/kernel/debug/irq/irqs/98", "handler:  handle_edge_irq\nflags:    0x4000\n  IRQD_AFFINITY_MANAGED\n")
	if r := irqStatus(root); r.Status != Warn || !strings.Contains(r.Detail, "mlx5_async0") {
		t.Fatalf("debugfs-managed IRQ: got %s %q", r.Status, r.Detail)
	}
	// A movable IRQ whose configured (not effective) affinity reaches an
	// isolated CPU fails.
	hosttest.Write(t, root, "proc/irq/8/smp_affinity_list", "0-2\n")
	if r := irqStatus(root); r.Status != Fail || !strings.Contains(r.Detail, "8 rtc0 on 0-2") {
		t.Fatalf("movable IRQ: got %s %q", r.Status, r.Detail)
	}
}

func TestCheckIRQsUnreadable(t *testing.T) {
	t.Parallel()
	want := Expect{IsolatedCPUs: cpuset.MustParseCPUList("2-15"), NICs: []string{"ens1f0np0"}}
	f := func(root, wantDetail string) {
		t.Helper()
		got := make(map[string]Result)
		for _, r := range Check(root, want) {
			got[r.Check] = r
		}
		for _, name := range []string{"irq_affinity", "nic:ens1f0np0"} {
			if r := got[name]; r.Status != Fail || !strings.Contains(r.Detail, wantDetail) {
				t.Fatalf("%s: got %s %q, detail %q; want FAIL with %q", name, r.Status, r.Got, r.Detail, wantDetail)
			}
		}
	}
	// /proc/irq hidden, as in containers: /proc/interrupts still lists
	// every IRQ, so nothing is known about where they fire.
	root := hosttest.Copy(t, "../testdata/mlx5")
	if err := os.RemoveAll(filepath.Join(root, "proc/irq")); err != nil {
		t.Fatal(err)
	}
	f(root, "cannot read /proc/irq/")
	// One queue's affinity unreadable while it stays listed.
	root = hosttest.Copy(t, "../testdata/mlx5")
	if err := os.RemoveAll(filepath.Join(root, "proc/irq/101")); err != nil {
		t.Fatal(err)
	}
	f(root, "cannot read /proc/irq/101/smp_affinity_list")
}

func TestCheckIrqbalanceBannedList(t *testing.T) {
	t.Parallel()
	want := Expect{IsolatedCPUs: cpuset.MustParseCPUList("2-15")}
	f := func(environ string, wantStatus Status) {
		t.Helper()
		root := hosttest.Copy(t, "../testdata/mlx5")
		hosttest.Write(t, root, "proc/1402/environ", environ)
		for _, r := range Check(root, want) {
			if r.Check == "irqbalance" && r.Status != wantStatus {
				t.Fatalf("environ %q: got %s %q; want %s", environ, r.Status, r.Got, wantStatus)
			}
		}
	}
	f("PATH=/bin\x00", Pass)                                   // auto-ban of nohz_full 2-15
	f("PATH=/bin\x00IRQBALANCE_BANNED_CPULIST=2-15\x00", Pass) // explicit
	f("IRQBALANCE_BANNED_CPULIST=2-7\x00", Warn)               // overrides the auto-ban
}

// isolationChecks compare the host with the isolated set.
var isolationChecks = []string{"cmdline_nohz_full", "cmdline_rcu_nocbs", "cmdline_irqaffinity", "cmdline_isolcpus",
	"nohz_full", "isolated", "smt_siblings", "irq_affinity", "irqbalance"}

func TestCheckZeroExpectOnFixtures(t *testing.T) {
	t.Parallel()
	// Expecting nothing, the isolated set is what nohz_full= and isolcpus=
	// list: each fixture fails where its own tuning disagrees with it.
	f := func(host string, wantFail ...string) {
		t.Helper()
		rs := Check(filepath.Join("../testdata", host), Expect{})
		if len(rs) != len(checkNames) {
			t.Fatalf("%s: got %d results; want %d", host, len(rs), len(checkNames))
		}
		var failed []string
		for _, r := range rs {
			if r.Status == Fail {
				failed = append(failed, r.Check)
			}
			if r.Status == Skip {
				t.Errorf("%s: %s skipped with isolated CPUs on the command line: %q %s", host, r.Check, r.Got, r.Detail)
			}
		}
		if got, want := strings.Join(failed, " "), strings.Join(wantFail, " "); got != want {
			t.Fatalf("%s: failed checks [%s]; want [%s]", host, got, want)
		}
	}
	f("mlx5")
	// nohz_full=2-7 but isolcpus=managed_irq,domain,2-15: 8-15 are half
	// isolated, with no rcu_nocbs or irqaffinity and IRQs on 2-15.
	f("mlx5-drifted", "cmdline_nohz_full", "cmdline_rcu_nocbs", "cmdline_irqaffinity", "nohz_full", "irq_affinity")
	f("ixgbe", "cmdline_irqaffinity", "irq_affinity")
	f("virtio", "irq_affinity")
}

func TestCheckDerivedWant(t *testing.T) {
	t.Parallel()
	for _, r := range Check("../testdata/mlx5-drifted", Expect{}) {
		if r.Check == "cmdline_nohz_full" {
			if r.Want != "2-15 (from cmdline)" || !strings.Contains(r.Detail, "CPUs 8-15 are not covered") {
				t.Fatalf("cmdline_nohz_full: want %q, detail %q; want 2-15 from the command line, 8-15 not covered", r.Want, r.Detail)
			}
			return
		}
	}
	t.Fatalf("no cmdline_nohz_full result")
}

func TestCheckUntunedHost(t *testing.T) {
	t.Parallel()
	// The ena VM isolates nothing: with nothing to compare against, the
	// isolation checks are skipped, never passed, unless it is meant.
	f := func(want Expect, wantStatus Status) {
		t.Helper()
		got := make(map[string]Result)
		for _, r := range Check("../testdata/ena", want) {
			got[r.Check] = r
		}
		for _, name := range isolationChecks {
			if r := got[name]; r.Status != wantStatus {
				t.Fatalf("%s (untuned %v): got %s %q %s; want %s", name, want.Untuned, r.Status, r.Got, r.Detail, wantStatus)
			}
		}
		d := got["nohz_full"].Detail
		if wantStatus == Skip && (!strings.Contains(d, "nothing to compare against") || !strings.Contains(d, "-isolated")) {
			t.Fatalf("skip detail %q; want it to say there is nothing to compare against and name -isolated", d)
		}
	}
	f(Expect{}, Skip)
	f(Expect{Untuned: true}, Pass)
	// A list that does not parse fails, whatever is expected.
	root := hosttest.Copy(t, "../testdata/ena")
	hosttest.Write(t, root, "proc/cmdline", "ro nohz_full=2-x\n")
	for _, r := range Check(root, Expect{Untuned: true}) {
		if r.Check == "cmdline_nohz_full" && r.Status != Fail {
			t.Fatalf("nohz_full=2-x: got %s %q; want FAIL", r.Status, r.Detail)
		}
	}
}

func TestCheckMissingTree(t *testing.T) {
	t.Parallel()
	rs := Check(t.TempDir(), tuned)
	got := statuses(rs)
	for _, name := range []string{"cmdline_nohz_full", "nohz_full", "hugepages_2M", "irq_affinity", "nic:ens1f0np0"} {
		if got[name] != Fail {
			t.Errorf("%s on an empty tree: got %s; want FAIL", name, got[name])
		}
	}
}

func TestCheckRealHost(t *testing.T) {
	t.Parallel()
	rs := Check("/", Expect{})
	if len(rs) != len(checkNames) {
		t.Fatalf("got %d results on this host; want %d", len(rs), len(checkNames))
	}
	var b bytes.Buffer
	Print(&b, rs)
	t.Logf("doctor on this machine:\n%s", b.String())
}

func doctorRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestMainOutputAndExitCodes(t *testing.T) {
	t.Parallel()
	code, out, _ := doctorRun(t, append([]string{"-root", "../testdata/mlx5"}, tunedArgs...)...)
	if code != 0 {
		t.Fatalf("tuned host: exit %d; want 0\n%s", code, out)
	}
	if !strings.Contains(out, "PASS  nohz_full            2-15") || !strings.Contains(out, "(want 2-15)") {
		t.Fatalf("unexpected output:\n%s", out)
	}
	code, out, _ = doctorRun(t, append([]string{"-root", "../testdata/mlx5-drifted"}, tunedArgs...)...)
	if code != 1 || !strings.Contains(out, "FAIL  clocksource") {
		t.Fatalf("drifted host: exit %d; want 1\n%s", code, out)
	}
	// Warnings (no cpufreq on the ena VM) pass unless -strict.
	if code, out, _ = doctorRun(t, "-root", "../testdata/ena", "-untuned"); code != 0 || !strings.Contains(out, "WARN  governor") {
		t.Fatalf("ena without -strict: exit %d; want 0\n%s", code, out)
	}
	if code, _, _ = doctorRun(t, "-root", "../testdata/ena", "-untuned", "-strict"); code != 1 {
		t.Fatalf("ena with -strict: exit %d; want 1", code)
	}
}

func TestMainWithoutExpectation(t *testing.T) {
	t.Parallel()
	// The drifted host's command line disagrees with itself.
	code, out, _ := doctorRun(t, "-root", "../testdata/mlx5-drifted")
	if code != ExitFailed || !strings.Contains(out, "FAIL  cmdline_rcu_nocbs") {
		t.Fatalf("drifted host without flags: exit %d; want %d\n%s", code, ExitFailed, out)
	}
	// An untuned host: nothing to compare against is its own exit code,
	// and no isolation check passes.
	code, out, _ = doctorRun(t, "-root", "../testdata/ena")
	if code != ExitNothingToCompare {
		t.Fatalf("untuned host without flags: exit %d; want %d\n%s", code, ExitNothingToCompare, out)
	}
	for _, name := range isolationChecks {
		if !regexp.MustCompile(`(?m)^SKIP  ` + name + ` `).MatchString(out) {
			t.Fatalf("untuned host: %s is not skipped:\n%s", name, out)
		}
	}
	// Told the host is meant to be untuned: those checks pass.
	if code, out, _ = doctorRun(t, "-root", "../testdata/ena", "-untuned"); code != 0 || strings.Contains(out, "SKIP") {
		t.Fatalf("untuned host with -untuned: exit %d; want 0\n%s", code, out)
	}
	// The usage documents the exit codes.
	if code, _, stderr := doctorRun(t, "-h"); code != 0 || !strings.Contains(stderr, "3 nothing failed, but the isolation checks were skipped") ||
		!strings.Contains(stderr, "-untuned") {
		t.Fatalf("-h: exit %d, usage %q; want the exit codes", code, stderr)
	}
}

func TestMainJSON(t *testing.T) {
	t.Parallel()
	code, out, _ := doctorRun(t, append([]string{"-root", "../testdata/mlx5-drifted", "-json"}, tunedArgs...)...)
	if code != 1 {
		t.Fatalf("exit %d; want 1", code)
	}
	var rs []struct {
		Check, Status, Got, Want, Detail string
	}
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatalf("cannot parse -json output: %s\n%s", err, out)
	}
	if len(rs) != len(checkNames)+1 || rs[0].Check != "cmdline_nohz_full" || rs[0].Status != "FAIL" || rs[0].Want != "2-15" {
		t.Fatalf("unexpected JSON results: %+v", rs)
	}
}

func TestMainConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(good, []byte(`{"runtime":{"cpus":"2-15"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(`{"runtime":{"cpus":"2-"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// runtime.cpus 2-15 is the isolated set: the drifted host fails nohz_full.
	code, out, _ := doctorRun(t, "-root", "../testdata/mlx5-drifted", "-config", good)
	if code != 1 || !strings.Contains(out, "FAIL  nohz_full            2-7") {
		t.Fatalf("-config: exit %d\n%s", code, out)
	}
	if code, _, _ = doctorRun(t, "-root", "../testdata/mlx5", "-config", good); code != 0 {
		t.Fatalf("-config on the tuned host: exit %d; want 0", code)
	}
	if code, _, stderr := doctorRun(t, "-config", bad); code != 2 || !strings.Contains(stderr, "runtime.cpus") {
		t.Fatalf("bad runtime.cpus: exit %d, stderr %q; want 2", code, stderr)
	}
}

func TestMainBadFlags(t *testing.T) {
	t.Parallel()
	f := func(wantErr string, args ...string) {
		t.Helper()
		code, _, stderr := doctorRun(t, args...)
		if code != 2 || !strings.Contains(stderr, wantErr) {
			t.Fatalf("args %q: exit %d, stderr %q; want 2 with %q", args, code, stderr, wantErr)
		}
	}
	f("invalid -isolated", "-isolated", "x")
	f("invalid -thp", "-thp", "sometimes")
	f("invalid -resume-latency", "-resume-latency", "fast")
	f("invalid -resume-latency", "-resume-latency", "-2")
	f("must not be negative", "-hugepages-2m", "-1")
	f("flag provided but not defined", "-nope")
	f("unexpected arguments", "extra")
	f("-untuned contradicts the isolated set 2-3", "-untuned", "-isolated", "2-3")
	f("cannot read config", "-config", "/nonexistent/rtbd.json")
}

func TestParam(t *testing.T) {
	t.Parallel()
	f := func(cmdline, key, want string, wantOK bool) {
		t.Helper()
		got, ok := param(strings.Fields(cmdline), key)
		if got != want || ok != wantOK {
			t.Fatalf("param(%q, %q) = %q, %v; want %q, %v", cmdline, key, got, ok, want, wantOK)
		}
	}
	f("ro nohz_full=2-3 quiet", "nohz_full", "2-3", true)
	f("nohz_full=1 nohz_full=2-3", "nohz_full", "2-3", true)
	f("nohz=on", "nohz_full", "", false)
	f("nohz_full=", "nohz_full", "", true)
	f("", "rcu_nocbs", "", false)
}

func TestSplitIsolcpus(t *testing.T) {
	t.Parallel()
	f := func(v, wantFlags, wantList string) {
		t.Helper()
		flags, list := splitIsolcpus(v)
		var names []string
		for _, k := range []string{"nohz", "domain", "managed_irq"} {
			if flags[k] {
				names = append(names, k)
			}
		}
		if got := strings.Join(names, ","); got != wantFlags || list != wantList {
			t.Fatalf("splitIsolcpus(%q) = %q, %q; want %q, %q", v, got, list, wantFlags, wantList)
		}
	}
	f("managed_irq,2-15", "managed_irq", "2-15")
	f("managed_irq,domain,2-3,6", "domain,managed_irq", "2-3,6")
	f("2-15", "", "2-15")
	f("nohz,managed_irq,1", "nohz,managed_irq", "1")
}

func TestBracketed(t *testing.T) {
	t.Parallel()
	f := func(in, want string) {
		t.Helper()
		if got := bracketed(in); got != want {
			t.Fatalf("bracketed(%q) = %q; want %q", in, got, want)
		}
	}
	f("always madvise [never]", "never")
	f("always [madvise] never", "madvise")
	f("[always] madvise never", "always")
	f("madvise", "madvise")
}

func TestStatus(t *testing.T) {
	t.Parallel()
	f := func(s Status, str string, v float64) {
		t.Helper()
		if s.String() != str || s.Value() != v {
			t.Fatalf("status %d: got %s %v; want %s %v", int(s), s, s.Value(), str, v)
		}
	}
	f(Pass, "PASS", 1)
	f(Warn, "WARN", 0.5)
	f(Fail, "FAIL", 0)
	if Skip.String() != "SKIP" || !math.IsNaN(Skip.Value()) {
		t.Fatalf("skip: got %s %v; want SKIP NaN", Skip, Skip.Value())
	}
}

func TestWithinLatency(t *testing.T) {
	t.Parallel()
	f := func(got, want string, ok bool) {
		t.Helper()
		if withinLatency(got, want) != ok {
			t.Fatalf("unexpected withinLatency(%q, %q); want %v", got, want, ok)
		}
	}
	f("n/a", "n/a", true)
	f("0", "n/a", false) // no limit: the CPU may halt
	f("2", "n/a", false)
	f("n/a", "2", true)
	f("1", "2", true)
	f("2", "2", true)
	f("3", "2", false)
	f("0", "2", false)
	f("0", "0", true)
	f("100", "0", true)
	f("none", "2", false)
}
