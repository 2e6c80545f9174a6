package load

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseAssert(t *testing.T) {
	t.Parallel()
	f := func(s string, want string) {
		t.Helper()
		as, err := ParseAssert(s)
		var got []string
		for _, a := range as {
			got = append(got, a.Metric+a.Op+strconv.FormatFloat(a.Value, 'f', -1, 64))
		}
		if err != nil {
			got = []string{"error"}
		}
		if g := strings.Join(got, ","); g != want {
			t.Fatalf("unexpected result for ParseAssert(%q); got %q; want %q (err %v)", s, g, want, err)
		}
	}
	f("p99<2ms", "p99<2000000")
	f("p99<2ms,errors<=0,timeouts<=0,rate>=19000", "p99<2000000,errors<=0,timeouts<=0,rate>=19000")
	f(" p50 < 1ms , max<=1s ", "p50<1000000,max<=1000000000")
	f("p999>0,gap<1.5s,bids==10,nobids>3", "p999>0,gap<1500000000,bids==10,nobids>3")
	f("error_rate<0.01", "error_rate<0.01")
	f("error_rate<=1%", "error_rate<=0.01")
	f("p99<2", "error")      // a duration needs a unit
	f("p98<2ms", "error")    // unknown metric
	f("p99!2ms", "error")    // unknown operator
	f("p99=>2ms", "error")   // unknown operator
	f("errors<=-1", "error") // negative
	f("errors<=inf", "error")
	f("errors<=NaN", "error")
	f("error_rate<=5", "error") // not a fraction: always true
	f("error_rate<=101%", "error")
	f("error_rate<=1", "error_rate<=1")
	f("<2ms", "error")
	f("", "error")
	f(",", "error")
}

func TestCheck(t *testing.T) {
	t.Parallel()
	r := &Result{Scheduled: 1000, Sent: 1000, Bids: 900, NoBids: 90, Errors: 6, Timeouts: 4, Rate: 19500}
	r.Latency.Count = 994
	r.Latency.P99 = 3 * time.Millisecond
	r.Latency.Max = 10 * time.Millisecond
	f := func(s string, wantFailed int) {
		t.Helper()
		as, err := ParseAssert(s)
		if err != nil {
			t.Fatalf("cannot parse %q: %v", s, err)
		}
		failed := r.Check(as)
		if len(failed) != wantFailed {
			t.Fatalf("unexpected failures for %q; got %q; want %d", s, failed, wantFailed)
		}
	}
	f("p99<4ms,max<=10ms,rate>=19000,bids==900", 0)
	f("p99<2ms", 1)
	f("p99<2ms,errors<=0,timeouts<=0,rate>=19000", 3)
	f("error_rate<=1%", 0) // (6+4)/1000
	f("error_rate<1%", 1)
	f("rate>20000,nobids<90", 2)
	failed := r.Check([]Assertion{{Metric: "p99", Op: "<", Value: 1e6, Text: "p99<1ms"}})
	if len(failed) != 1 || !strings.Contains(failed[0], "p99<1ms") || !strings.Contains(failed[0], "3ms") {
		t.Fatalf("a failure must name the condition and the measured value; got %q", failed)
	}
}

// TestCheckNoLatency: a run whose every request failed to connect has an
// empty latency histogram, which reads 0; a latency bound must fail on it
// instead of holding.
func TestCheckNoLatency(t *testing.T) {
	t.Parallel()
	r := &Result{Scheduled: 1000, Sent: 1000, Errors: 1000, LongestGap: 3 * time.Second}
	as, err := ParseAssert("p99<2ms,max<1s,errors<=1000,gap>1s")
	if err != nil {
		t.Fatal(err)
	}
	failed := r.Check(as)
	if len(failed) != 2 || !strings.Contains(failed[0], "no latency") || !strings.Contains(failed[1], "max<1s") {
		t.Fatalf("got %q; want p99 and max to fail for want of any latency, the counts and gap to hold", failed)
	}
}

// TestCheckDropped: a run whose generator dropped requests fails any
// assertions, unless one is on dropped.
func TestCheckDropped(t *testing.T) {
	t.Parallel()
	r := &Result{Scheduled: 200, Sent: 21, NoBids: 21, Saturation: Saturation{Dropped: 179}}
	r.Latency.Count, r.Latency.P99 = 21, time.Millisecond
	for s, want := range map[string]int{"errors<=0,timeouts<=0,p99<200ms": 1, "errors<=0,dropped<=179": 0, "dropped<=10": 1} {
		as, err := ParseAssert(s)
		if err != nil {
			t.Fatal(err)
		}
		if failed := r.Check(as); len(failed) != want {
			t.Errorf("%s with 179 of 200 dropped: failures %q; want %d", s, failed, want)
		}
	}
	if _, err := ParseAssert("p99.9<1ms"); err == nil || !strings.Contains(err.Error(), "p999") {
		t.Errorf("an unknown metric: %v; want the names listed", err)
	}
}
