package load

import (
	"strings"
	"testing"
)

// TestWriteTableShares: outcome shares are of the slots that had one (the
// scheduled less the dropped), and a run without any shows no share.
func TestWriteTableShares(t *testing.T) {
	cases := []struct {
		r    Result
		want string
	}{
		{Result{Scheduled: 200, Bids: 50, NoBids: 100, Timeouts: 50},
			"bid 50 (25.00%), nobid 100 (50.00%), error 0 (0.00%), timeout 50 (25.00%)"},
		// Dropped slots are shares of the schedule too.
		{Result{Scheduled: 200, Bids: 50, Errors: 50, Saturation: Saturation{Dropped: 100}},
			"bid 50 (25.00%), nobid 0 (0.00%), error 50 (25.00%), timeout 0 (0.00%), dropped 100 (50.00%)"},
		{Result{}, "bid 0 (-), nobid 0 (-), error 0 (-), timeout 0 (-), dropped 0 (-)"},
		{Result{Scheduled: 10, Saturation: Saturation{Dropped: 10}}, "bid 0 (0.00%), nobid 0 (0.00%), error 0 (0.00%), timeout 0 (0.00%), dropped 10 (100.00%)"},
	}
	for _, tc := range cases {
		var b strings.Builder
		if err := tc.r.WriteTable(&b); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), tc.want) {
			t.Fatalf("scheduled %d, dropped %d: table\n%s\nlacks %q", tc.r.Scheduled, tc.r.Saturation.Dropped, b.String(), tc.want)
		}
	}
}
