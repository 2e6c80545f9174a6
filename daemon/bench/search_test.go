package bench

import (
	"errors"
	"testing"
	"time"
)

// fakeServer sustains rates up to capacity: above it the achieved rate
// stays at capacity and p99 explodes, as an overloaded server's does.
func fakeServer(capacity float64) func(rate float64) (Point, error) {
	return func(rate float64) (Point, error) {
		p := Point{Target: rate, Rate: rate, P99: 200 * time.Microsecond}
		if rate > capacity {
			p.Rate, p.P99 = capacity, 50*time.Millisecond
		}
		return p, nil
	}
}

func testSearch() Search {
	return Search{
		Start: 5000, Growth: 1.5, Limit: 1e6, Bisect: 3,
		Criteria: Criteria{MinRateFraction: 0.95, MaxErrorRate: 0.001, MaxP99: 10 * time.Millisecond},
	}
}

func TestFindMax(t *testing.T) {
	t.Parallel()
	f := func(capacity, wantMin, wantMax float64, wantSteps int) {
		t.Helper()
		got, steps, err := FindMax(testSearch(), fakeServer(capacity))
		if err != nil {
			t.Fatalf("unexpected error for capacity %g: %s", capacity, err)
		}
		if got < wantMin || got > wantMax {
			t.Fatalf("unexpected max for capacity %g; got %g; want in [%g, %g]", capacity, got, wantMin, wantMax)
		}
		if len(steps) != wantSteps {
			t.Fatalf("unexpected step count for capacity %g; got %d; want %d", capacity, len(steps), wantSteps)
		}
	}
	// 5000, 7500, 11250, 16875, 25312.5 pass; 37968.75 fails; bisection
	// passes 31640.6, 34804.7 and 36386.7.
	f(37000, 36386, 36387, 9)
	// The whole bracket [25312.5, 37968.75] bisected three times is
	// within 1/8 of its width below the capacity.
	f(30000, 30000-(37968.75-25312.5)/8, 30000, 9)
	// Rates between capacity and capacity/0.95 still count as held:
	// achieved >= 95 % of the target.
	f(5000, 5000, 5000, 5)
	// The start fails: 3333 fails, 2222 passes; bisection stays below 3333.
	f(3000, 2777, 3000, 6)
	// Nothing passes: the search gives up after maxShrink lower rates.
	f(100, 0, 0, 1+maxShrink)
}

func TestFindMaxLimit(t *testing.T) {
	t.Parallel()
	s := testSearch()
	s.Limit = 20000
	got, steps, err := FindMax(s, fakeServer(1e9))
	if err != nil {
		t.Fatalf("unexpected error: %s", err)
	}
	if got != 16875 || len(steps) != 4 {
		t.Fatalf("unexpected result under a 20000 limit; got max %g in %d steps; want 16875 in 4", got, len(steps))
	}
}

func TestFindMaxRetries(t *testing.T) {
	t.Parallel()
	// Every rate fails its first attempt (a stall), then holds if below
	// capacity: with a retry the search must find the same maximum.
	attempts := map[float64]int{}
	inner := fakeServer(37000)
	noisy := func(rate float64) (Point, error) {
		attempts[rate]++
		p, err := inner(rate)
		if attempts[rate] == 1 {
			p.P99 = time.Second
		}
		return p, err
	}
	s := testSearch()
	s.Retries = 1
	got, steps, err := FindMax(s, noisy)
	if err != nil {
		t.Fatalf("unexpected error: %s", err)
	}
	if got < 36386 || got > 37000 {
		t.Fatalf("unexpected max with retries; got %g; want in [36386, 37000]", got)
	}
	if len(steps) != 18 {
		t.Fatalf("unexpected step count with retries; got %d; want 18 (9 rates, 2 attempts each)", len(steps))
	}
	if steps[0].Pass || steps[0].Why == "" || !steps[1].Pass {
		t.Fatalf("unexpected verdicts of the first rate: %+v, %+v", steps[0], steps[1])
	}
}

// TestFindMaxNoisyRetries: a spell of steal fails the first three
// attempts of the start rate while the server idles. Those failures say
// nothing of the server, so the search measures again and finds its
// maximum; a noisy failure at a busy server, and a fourth noisy one,
// count as failures.
func TestFindMaxNoisyRetries(t *testing.T) {
	t.Parallel()
	calls := 0
	inner := fakeServer(37000)
	spell := func(rate float64) (Point, error) {
		calls++
		p, err := inner(rate)
		p.ServerBusy = rate / 40000
		if calls <= 3 {
			p.P99, p.Steal = time.Second, 0.7
		}
		return p, err
	}
	s := testSearch()
	s.Retries = 1
	s.NoisyCPUs, s.NoisyRetries = 0.2, 3
	got, steps, err := FindMax(s, spell)
	if err != nil {
		t.Fatalf("unexpected error: %s", err)
	}
	if got < 36386 || got > 37000 || steps[0].Pass || !steps[3].Pass || steps[3].Target != s.Start {
		t.Fatalf("max %g, steps %+v; want the start rate to pass on its fourth attempt and a max in [36386, 37000]", got, steps[:4])
	}

	if p := (Point{ServerBusy: 0.9, Steal: 0.7}); s.noisy(&p) {
		t.Fatal("a failure with the server's core busy counted as noise")
	}
	if p := (Point{ServerBusy: 0.1, Steal: 0.1}); s.noisy(&p) {
		t.Fatal("a failure on a quiet machine counted as noise")
	}
	calls = -10 // every attempt noisy: 2 failures and 3 noisy retries, then a lower rate
	if _, steps, _ = FindMax(s, spell); len(steps) < 5 || steps[4].Target != s.Start || steps[5].Target >= s.Start {
		t.Fatalf("steps %+v; want 5 attempts of the start rate, then a lower one", steps)
	}
}

func TestFindMaxErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	calls := 0
	_, steps, err := FindMax(testSearch(), func(rate float64) (Point, error) {
		if calls++; calls == 3 {
			return Point{}, boom
		}
		return fakeServer(1e9)(rate)
	})
	if !errors.Is(err, boom) || len(steps) != 2 {
		t.Fatalf("unexpected result of a failing measurement; got %v after %d steps; want boom after 2", err, len(steps))
	}
	bad := testSearch()
	bad.Growth = 1
	if _, _, err := FindMax(bad, fakeServer(1e9)); err == nil {
		t.Fatalf("expected an error for growth 1")
	}
}

func TestCriteriaCheck(t *testing.T) {
	t.Parallel()
	c := Criteria{MinRateFraction: 0.95, MaxErrorRate: 0.001, MaxP99: 10 * time.Millisecond}
	f := func(p Point, want bool) {
		t.Helper()
		got, why := c.Check(&p)
		if got != want || (got == (why != "")) {
			t.Fatalf("unexpected verdict for %+v; got %v (%q); want %v", p, got, why, want)
		}
	}
	f(Point{Target: 1000, Rate: 1000, P99: time.Millisecond}, true)
	f(Point{Target: 1000, Rate: 950, P99: time.Millisecond}, true)
	f(Point{Target: 1000, Rate: 949, P99: time.Millisecond}, false)
	f(Point{Target: 1000, Rate: 1000, P99: 10 * time.Millisecond}, true)
	f(Point{Target: 1000, Rate: 1000, P99: 10*time.Millisecond + 1}, false)
	f(Point{Target: 1000, Rate: 1000, ErrorRate: 0.001}, true)
	f(Point{Target: 1000, Rate: 1000, ErrorRate: 0.0011}, false)
}
