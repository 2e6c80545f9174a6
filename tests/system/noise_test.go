package system

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/bench"
)

// A timing scenario that fails while the hypervisor steals at least
// stealRetry CPUs (averaged over the attempt) is measured again, up to
// maxAttempts in all. On this shared VM steal comes in spells: in one CI
// run TestLatency saw two seconds with a p99 over 20 ms and TestDrain 77
// timeouts, and the same commit passed both minutes later.
const (
	stealRetry  = 0.1
	maxAttempts = 3
)

// failures collects what one attempt of a scenario got wrong.
type failures []string

func (f *failures) add(format string, args ...any) { *f = append(*f, fmt.Sprintf(format, args...)) }

// measure runs scenario as subtests attempt-1, attempt-2, ... (so that
// each attempt's namespaces and processes are gone before the next), and
// fails t with what retryStolen returns. A subtest that fails on its own
// (t.Error, t.Fatal: a bug on any machine) ends the test at once.
func measure(t *testing.T, scenario func(t *testing.T) failures) {
	t.Helper()
	final := retryStolen(func(attempt int) (failures, float64) {
		before, err := bench.StolenCPU()
		must(t, err)
		start := time.Now()
		var got failures
		if !t.Run(fmt.Sprintf("attempt-%d", attempt), func(t *testing.T) { got = scenario(t) }) {
			t.FailNow()
		}
		after, err := bench.StolenCPU()
		must(t, err)
		steal := float64(after-before) / float64(time.Since(start))
		t.Logf("FIGURE attempt=%d steal_cpus=%.2f failures=%d", attempt, steal, len(got))
		return got, steal
	}, t.Logf)
	for _, f := range final {
		t.Error(f)
	}
}

// retryStolen calls attempt(1), attempt(2), ... until one returns no
// failures, one fails while the hypervisor stole less than stealRetry
// CPUs (a quiet machine gets no second chance), or maxAttempts have
// failed; it returns the failures to report, none when an attempt passed.
func retryStolen(attempt func(n int) (failures, float64), logf func(format string, args ...any)) failures {
	for n := 1; ; n++ {
		got, steal := attempt(n)
		if len(got) == 0 || steal < stealRetry || n == maxAttempts {
			return got
		}
		logf("attempt %d failed while the hypervisor stole %.2f CPUs; measuring again: %s", n, steal, strings.Join(got, "; "))
	}
}

func TestRetryStolen(t *testing.T) {
	t.Parallel()
	f := func(name string, steals []float64, passAt int, wantCalls, wantFailures int) {
		t.Helper()
		calls := 0
		got := retryStolen(func(n int) (failures, float64) {
			calls++
			if n == passAt {
				return nil, steals[n-1]
			}
			return failures{fmt.Sprintf("attempt %d failed", n)}, steals[n-1]
		}, func(string, ...any) {})
		if calls != wantCalls || len(got) != wantFailures {
			t.Errorf("%s: %d attempts, failures %q; want %d attempts, %d failures", name, calls, got, wantCalls, wantFailures)
		}
	}
	f("passes at once", []float64{0.9}, 1, 1, 0)
	f("fails on a quiet machine", []float64{0.05, 0.9, 0.9}, 0, 1, 1)
	f("stolen, then passes", []float64{0.5, 0.5}, 2, 2, 0)
	f("stolen, then fails quietly", []float64{0.5, 0.0, 0.9}, 0, 2, 1)
	f("stolen every time", []float64{0.5, 0.5, 0.5}, 0, 3, 1)
}
