package load

import (
	"math"
	"reflect"
	"testing"
	"time"
)

func TestParseSteps(t *testing.T) {
	t.Parallel()
	f := func(s string, want []Step, wantErr bool) {
		t.Helper()
		got, err := ParseSteps(s)
		if (err != nil) != wantErr {
			t.Fatalf("unexpected error for ParseSteps(%q): %v; want error %v", s, err, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("unexpected result for ParseSteps(%q); got %+v; want %+v", s, got, want)
		}
	}
	f("1000:5s", []Step{{Rate: 1000, Duration: 5 * time.Second}}, false)
	f("1000:5s, 2500.5:100ms", []Step{{Rate: 1000, Duration: 5 * time.Second}, {Rate: 2500.5, Duration: 100 * time.Millisecond}}, false)
	f("1000", nil, true)
	f("0:5s", nil, true)
	f("-3:5s", nil, true)
	f("2000000:5s", nil, true)
	f("1000:0s", nil, true)
	f("1000:soon", nil, true)
	f("NaN:1s", nil, true)
}

func TestParseRamp(t *testing.T) {
	t.Parallel()
	f := func(s string, want []Step, wantErr bool) {
		t.Helper()
		got, err := ParseRamp(s, time.Second)
		if (err != nil) != wantErr || !reflect.DeepEqual(got, want) {
			t.Fatalf("unexpected result for ParseRamp(%q); got %+v, %v; want %+v, error %v", s, got, err, want, wantErr)
		}
	}
	f("100:200", []Step{{Rate: 100, RateTo: 200, Duration: time.Second}}, false)
	f("100-200", nil, true)
	f("100:", nil, true)
	f("x:200", nil, true)
}

// slots runs a schedule to its end and returns the slot offsets.
func slots(steps []Step, d time.Duration, count int64) []int64 {
	s := newSchedule(steps, d, count)
	var out []int64
	for {
		slot, ok := s.nextSlot()
		if !ok {
			return out
		}
		out = append(out, slot)
	}
}

func TestScheduleConstant(t *testing.T) {
	t.Parallel()
	got := slots(Constant(1000), time.Second, 0)
	if len(got) != 0 {
		t.Fatalf("a zero count must produce no slot; got %d", len(got))
	}
	got = slots(Constant(1000), time.Second, MaxCount)
	if len(got) != 1000 {
		t.Fatalf("1000/s for 1s: got %d slots; want 1000", len(got))
	}
	for i, s := range got {
		if want := int64(i) * int64(time.Millisecond); s < want-1 || s > want+1 {
			t.Fatalf("slot %d at %d ns; want %d", i, s, want)
		}
	}
	if got := slots(Constant(1000), time.Hour, 77); len(got) != 77 {
		t.Fatalf("count bound: got %d slots; want 77", len(got))
	}
}

func TestScheduleRampAndSteps(t *testing.T) {
	t.Parallel()
	// A ramp from 1000/s to 3000/s over 1s averages 2000/s.
	got := slots(Ramp(1000, 3000, time.Second), time.Second, MaxCount)
	if math.Abs(float64(len(got))-2000) > 2 {
		t.Fatalf("ramp 1000..3000 over 1s: got %d slots; want 2000±2", len(got))
	}
	// In the second half the mean rate is 2500/s: 1250 slots.
	late := 0
	for _, s := range got {
		if s >= int64(500*time.Millisecond) {
			late++
		}
	}
	if math.Abs(float64(late)-1250) > 2 {
		t.Fatalf("ramp second half: got %d slots; want 1250±2", late)
	}
	steps := []Step{{Rate: 100, Duration: time.Second}, {Rate: 1000, Duration: time.Second}}
	got = slots(steps, 2*time.Second, MaxCount)
	if math.Abs(float64(len(got))-1100) > 1 {
		t.Fatalf("steps 100/s then 1000/s: got %d slots; want 1100±1", len(got))
	}
	// The last step's rate holds beyond its end.
	got = slots(steps, 3*time.Second, MaxCount)
	if math.Abs(float64(len(got))-2100) > 1 {
		t.Fatalf("steps then hold for 1s more: got %d slots; want 2100±1", len(got))
	}
	// A step slower than its length: its gap ends where the next step
	// starts, which starts on time.
	slow := []Step{{Rate: 0.1, Duration: 5 * time.Second}, {Rate: 1000, Duration: 5 * time.Second}}
	got = slots(slow, 10*time.Second, MaxCount)
	if len(got) < 2 || got[1] != int64(5*time.Second) || math.Abs(float64(len(got))-5001) > 1 {
		t.Fatalf("steps 0.1/s for 5s then 1000/s for 5s: %d slots, the second at %v; want 5001±1, at 5s", len(got), time.Duration(got[min(1, len(got)-1)]))
	}
}
