package doctor

import (
	"bytes"
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metrics"

	"github.com/rtbd/rtbd/daemon/host/internal/hosttest"
)

func scrape(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	metrics.WritePrometheus(&b, false)
	return b.String()
}

// TestExportMetrics is the only test that touches the default registry.
func TestExportMetrics(t *testing.T) {
	ExportMetrics("../testdata/mlx5-drifted", tuned)
	out := scrape(t)
	for _, line := range []string{
		`rtbd_host_check{check="nohz_full"} 0`,
		`rtbd_host_check{check="irqbalance"} 0.5`,
		`rtbd_host_check{check="isolated"} 1`,
		`rtbd_host_check{check="nic:ens1f0np0"} 0`,
	} {
		if !strings.Contains(out, line+"\n") {
			t.Fatalf("missing %q in:\n%s", line, out)
		}
	}
	// A second call replaces the gauges instead of panicking on duplicates.
	ExportMetrics("../testdata/mlx5", tuned)
	out = scrape(t)
	if strings.Count(out, `rtbd_host_check{check="nohz_full"}`) != 1 || !strings.Contains(out, `rtbd_host_check{check="nohz_full"} 1`+"\n") {
		t.Fatalf("unexpected gauges after re-export:\n%s", out)
	}
	// A skipped check (nothing isolated on the ena VM) is neither 1 nor 0.
	ExportMetrics("../testdata/ena", Expect{})
	if out = scrape(t); !strings.Contains(out, `rtbd_host_check{check="nohz_full"} NaN`+"\n") {
		t.Fatalf("want a NaN gauge for a skipped check:\n%s", out)
	}
}

func TestCollectorRefreshes(t *testing.T) {
	t.Parallel()
	root := hosttest.Copy(t, "../testdata/mlx5")
	c := &collector{root: root, want: tuned, ttl: 0}
	if v := c.value("clocksource"); v != 1 {
		t.Fatalf("clocksource on the tuned host: %v; want 1", v)
	}
	hosttest.Write(t, root, "sys/devices/system/clocksource/clocksource0/current_clocksource", "hpet\n")
	if v := c.value("clocksource"); v != 0 {
		t.Fatalf("clocksource after drifting to hpet: %v; want 0", v)
	}
	// A long TTL keeps serving the cached value.
	c.ttl = 1 << 62
	hosttest.Write(t, root, "sys/devices/system/clocksource/clocksource0/current_clocksource", "tsc\n")
	if v := c.value("clocksource"); v != 0 {
		t.Fatalf("cached clocksource: %v; want 0", v)
	}
}
