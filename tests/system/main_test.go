package system

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/rtbd/rtbd/tests/system/harness"
)

var (
	bins       harness.Binaries
	buildErr   error
	skipReason string
)

// TestMain builds rtbd and rtbload once, when the machine can run the
// scenarios at all.
func TestMain(m *testing.M) {
	flag.Parse()
	skipReason = checkEnv()
	if skipReason != "" {
		os.Exit(m.Run())
	}
	harness.RemoveStale()
	if dir := os.Getenv("RTBD_SYSTEM_BINDIR"); dir != "" {
		// Test a build made elsewhere (a Nix package, a release).
		bins = harness.Binaries{Rtbd: filepath.Join(dir, "rtbd"), Rtbload: filepath.Join(dir, "rtbload")}
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "rtbd-system-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot create temp dir:", err)
		os.Exit(1)
	}
	bins, buildErr = harness.Build("../..", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func checkEnv() string {
	if testing.Short() {
		return "system tests are skipped in -short mode (they run real processes under load for seconds)"
	}
	if runtime.GOOS != "linux" {
		return "system tests need Linux network namespaces"
	}
	if os.Geteuid() != 0 {
		return "system tests need root (network namespaces, veth, keepalived); run as root: go test ./tests/system/"
	}
	for _, tool := range []string{"ip", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Sprintf("system tests need %s in PATH (apt-get install iproute2 curl)", tool)
		}
	}
	if _, err := os.Stat("/run/netns"); err != nil {
		// ip creates it on first use; make sure that works here.
		if err := os.MkdirAll("/run/netns", 0o755); err != nil {
			return "cannot create /run/netns: " + err.Error()
		}
	}
	return ""
}

// setup skips the test when the environment cannot run it and fails it
// when the binaries did not build.
func setup(t *testing.T, needKeepalived bool) harness.Binaries {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	if needKeepalived {
		if _, err := exec.LookPath("keepalived"); err != nil {
			t.Skip("keepalived not in PATH (apt-get install keepalived); VRRP scenarios skipped")
		}
	}
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bins
}

// pinning returns taskset CPU lists for rtbd and rtbload so that the two
// do not share a core, or none on a single-CPU machine or when
// RTBD_SYSTEM_NOPIN is set.
func pinning() (rtbd, load string) {
	if runtime.NumCPU() < 2 || os.Getenv("RTBD_SYSTEM_NOPIN") != "" {
		return "", ""
	}
	return "1", "0"
}

// bidderAndClient starts rtbd with its demo data on bidder1 of a new
// topology, pinned as pinning says, and waits until it is ready. It
// returns rtbd, the client host and the CPUs for rtbload there.
func bidderAndClient(t *testing.T, bin harness.Binaries) (r *harness.Rtbd, client *harness.Host, loadCPU string) {
	t.Helper()
	topo := harness.NewTopology(t, "bidder1", "client")
	b1 := topo.Hosts["bidder1"]
	rtbdCPU, loadCPU := pinning()
	r = harness.StartRtbd(t, bin, b1, "rtbd-b1", harness.NewRtbdConfig(b1, 0), rtbdCPU)
	must(t, r.WaitReady(10*time.Second))
	return r, topo.Hosts["client"], loadCPU
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// waitBidRequests polls r until it has counted at least n bid requests.
func waitBidRequests(t *testing.T, r *harness.Rtbd, n float64, d time.Duration) {
	t.Helper()
	err := harness.Poll(d, 20*time.Millisecond, func() (bool, error) {
		v, err := r.BidRequests()
		return v >= n, err
	})
	if err != nil {
		t.Fatalf("%s did not count %.0f bid requests: %v", r.Name, n, err)
	}
}
