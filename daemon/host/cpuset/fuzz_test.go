package cpuset

import "testing"

// FuzzParseCPUList checks that any input either fails cleanly or parses to
// a set whose canonical list and mask both round-trip.
func FuzzParseCPUList(f *testing.F) {
	for _, s := range []string{"", "0", "0-3,8,10-11", "3-1", "1,,2", "8191", "0-8191", "a", "1-2-3", " 7 \n", "63-64"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := ParseCPUList(s)
		if err != nil {
			return
		}
		again, err := ParseCPUList(set.String())
		if err != nil || !again.Equal(set) {
			t.Fatalf("%q -> %q does not round-trip: %v", s, set, err)
		}
		fromMask, err := ParseMask(set.Mask())
		if err != nil || !fromMask.Equal(set) {
			t.Fatalf("%q -> mask %q does not round-trip: %v", s, set.Mask(), err)
		}
	})
}

// FuzzParseMask checks that any mask input fails cleanly or round-trips.
func FuzzParseMask(f *testing.F) {
	for _, s := range []string{"0", "ff,ffffffff", "1,00000000", "0xF", ",", "g", "123456789", "00000000,00000001\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := ParseMask(s)
		if err != nil {
			return
		}
		again, err := ParseMask(set.Mask())
		if err != nil || !again.Equal(set) {
			t.Fatalf("%q -> %q does not round-trip: %v", s, set, err)
		}
	})
}
