package host

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rtbd/rtbd/daemon/host/cpuset"
)

func TestCurrentAndPin(t *testing.T) {
	cur, err := Current()
	if err != nil {
		t.Fatalf("cannot get current affinity: %s", err)
	}
	if cur.IsEmpty() {
		t.Fatalf("current affinity is empty")
	}
	t.Logf("current affinity: %s", cur)
	// Pin to a part of the set, so that a thread Pin missed shows: it
	// keeps the whole set. The test puts the whole set back.
	want := cur
	if cpus := cur.CPUs(); len(cpus) > 1 {
		want = cpuset.Of(cpus[len(cpus)-1])
		t.Cleanup(func() {
			if _, err := Pin(cur); err != nil {
				t.Errorf("cannot restore the affinity %s: %s", cur, err)
			}
		})
	} else {
		t.Logf("one CPU: Pin is checked on the set it has already")
	}
	n, err := Pin(want)
	if err != nil {
		t.Fatalf("cannot pin to %s of the current set %s: %s", want, cur, err)
	}
	if n != want.Len() {
		t.Fatalf("unexpected GOMAXPROCS from Pin(%s); got %d; want %d", want, n, want.Len())
	}
	if got, err := Current(); err != nil || !got.Equal(want) {
		t.Fatalf("Current after Pin(%s) = %s, %v", want, got, err)
	}
	// Every thread, not only the caller's, must now carry the set.
	tids, err := threadIDs()
	if err != nil {
		t.Fatalf("cannot list threads: %s", err)
	}
	if len(tids) < 2 {
		t.Fatalf("a Go test binary has several threads; found %d", len(tids))
	}
	for _, tid := range tids {
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(tid, &set); err != nil {
			continue // the thread exited
		}
		for c := 0; c < maxAffinityCPUs; c++ {
			if set.IsSet(c) != want.Has(c) {
				t.Fatalf("thread %d: cpu %d set=%v; want the set %s", tid, c, set.IsSet(c), want)
			}
		}
	}
}

func TestPinErrors(t *testing.T) {
	f := func(cpus cpuset.CPUSet) {
		t.Helper()
		if _, err := Pin(cpus); err == nil {
			t.Fatalf("expecting error for Pin(%q)", cpus)
		}
	}
	f(cpuset.CPUSet{})
	f(cpuset.Of(maxAffinityCPUs))
	if _, err := Pin(cpuset.Of(0, maxAffinityCPUs)); err == nil || !strings.Contains(err.Error(), "above the supported 1023") {
		t.Fatalf("Pin of CPU %d: %v; want it refused as above the supported 1023", maxAffinityCPUs, err)
	}
	// A CPU far above the online ones: the kernel answers EINVAL, and the
	// process keeps its affinity.
	before, _ := Current()
	f(cpuset.Of(maxAffinityCPUs - 1))
	after, _ := Current()
	if !after.Equal(before) {
		t.Fatalf("a failed Pin changed the affinity from %s to %s", before, after)
	}
}

func TestPinRefusesPartOfTheSet(t *testing.T) {
	// The kernel ANDs the mask with the online CPUs and refuses only an
	// empty result: a set with one usable CPU and one that does not exist
	// would leave the process on the one, with GOMAXPROCS sized for two.
	before, err := Current()
	if err != nil {
		t.Fatalf("cannot get current affinity: %s", err)
	}
	want := cpuset.Of(before.CPUs()[0], 1000)
	n, err := Pin(want)
	if err == nil {
		if _, err := Pin(before); err != nil {
			t.Errorf("cannot restore the affinity %s: %s", before, err)
		}
		t.Fatalf("Pin(%s) = %d, nil; want an error naming CPU 1000", want, n)
	}
	if !strings.Contains(err.Error(), "CPUs 1000 are offline") {
		t.Fatalf("Pin(%s): %s; want it to name CPU 1000", want, err)
	}
	if after, _ := Current(); !after.Equal(before) {
		t.Fatalf("a refused Pin(%s) changed the affinity from %s to %s", want, before, after)
	}
}

func TestThreadIDsIncludesSelf(t *testing.T) {
	tids, err := threadIDs()
	if err != nil {
		t.Fatalf("cannot list threads: %s", err)
	}
	pid := os.Getpid()
	for _, tid := range tids {
		if tid == pid {
			return
		}
	}
	t.Fatalf("main thread %d not in /proc/self/task (%v); pid dir %s", pid, tids, strconv.Itoa(pid))
}

func TestCommandsExitCodes(t *testing.T) {
	var out, errb strings.Builder
	if code := IRQMain([]string{"-bogus"}, &out, &errb); code != 2 {
		t.Fatalf("IRQMain with a bad flag: exit %d; want 2", code)
	}
	if code := DoctorMain([]string{"-root", "testdata/mlx5", "-isolated", "2-15"}, &out, &errb); code != 0 {
		t.Fatalf("DoctorMain on the tuned fixture: exit %d; want 0\n%s%s", code, out.String(), errb.String())
	}
	if code := DoctorMain([]string{"-root", "testdata/mlx5-drifted", "-isolated", "2-15"}, &out, &errb); code != 1 {
		t.Fatalf("DoctorMain on the drifted fixture: exit %d; want 1", code)
	}
}
