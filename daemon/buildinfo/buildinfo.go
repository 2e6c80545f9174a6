// Package buildinfo holds the version stamped into the binary at link time
// (-ldflags "-X github.com/rtbd/rtbd/daemon/buildinfo.Version=1.2.3") and
// exports it as the rtbd_build_info metric.
package buildinfo

import (
	"fmt"
	"io"
	"runtime"

	"github.com/VictoriaMetrics/metrics"
)

// Version is the release version; "dev" for untagged builds.
var Version = "dev"

func init() {
	metrics.RegisterMetricsWriter(func(w io.Writer) {
		fmt.Fprintf(w, "rtbd_build_info{version=%q,goversion=%q} 1\n", Version, runtime.Version())
	})
}
