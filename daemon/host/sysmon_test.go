package host

import "testing"

func TestWithQuietSysmon(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		exec     bool
	}{
		{"", QuietSysmon, true},
		{"  ", QuietSysmon, true},
		{"gctrace=1", "gctrace=1," + QuietSysmon, true},
		{"schedtracer=1", "schedtracer=1," + QuietSysmon, true},
		// An operator's own schedtrace, even 0, is kept as it is.
		{"schedtrace=0", "schedtrace=0", false},
		{"gctrace=1, schedtrace=1000", "gctrace=1, schedtrace=1000", false},
		{QuietSysmon, QuietSysmon, false},
	} {
		got, exec := withQuietSysmon(tc.in)
		if got != tc.want || exec != tc.exec {
			t.Errorf("withQuietSysmon(%q) = %q, %v; want %q, %v", tc.in, got, exec, tc.want, tc.exec)
		}
	}
}
