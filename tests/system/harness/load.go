package harness

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/load"
)

// LoadSpec is one rtbload run.
type LoadSpec struct {
	Target      string // host address: the VIP or a host's address
	Rate        int
	Duration    time.Duration
	Connections int
	Timeout     time.Duration
	CPUs        string // taskset list; empty for none
}

// LoadRun is an rtbload process running in the client namespace.
type LoadRun struct {
	*Proc
	out *bytes.Buffer
}

// StartLoad starts rtbload in ns with JSON output.
func StartLoad(tb testing.TB, bin Binaries, ns *Netns, s LoadSpec) *LoadRun {
	tb.Helper()
	if s.Connections == 0 {
		s.Connections = 16
	}
	if s.Timeout == 0 {
		s.Timeout = 500 * time.Millisecond
	}
	argv := []string{bin.Rtbload,
		"-target", fmt.Sprintf("http://%s:%d/openrtb2/bid", s.Target, BidPort),
		"-rate", strconv.Itoa(s.Rate), "-duration", s.Duration.String(),
		"-connections", strconv.Itoa(s.Connections), "-timeout", s.Timeout.String(),
		"-allow-remote", "-json"}
	if s.CPUs != "" {
		argv = append([]string{"taskset", "-c", s.CPUs}, argv...)
	}
	out := new(bytes.Buffer)
	p := Start(tb, ProcSpec{Name: "rtbload", NS: ns, Argv: argv, Stdout: out})
	return &LoadRun{Proc: p, out: out}
}

// Result waits for the run to end (its duration plus a margin) and
// decodes its JSON result.
func (l *LoadRun) Result(margin time.Duration) (*load.Result, error) {
	code, err := l.Wait(margin)
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, fmt.Errorf("rtbload exited %d: %s", code, tail(l.Log, 2000))
	}
	var r load.Result
	if err := json.Unmarshal(l.out.Bytes(), &r); err != nil {
		return nil, fmt.Errorf("cannot decode rtbload output: %w: %.500s", err, l.out.String())
	}
	return &r, nil
}

// Failed is the number of requests that did not get a 200 or 204.
func Failed(r *load.Result) int64 { return r.Errors + r.Timeouts + r.Saturation.Dropped }

// Ms formats d in milliseconds for FIGURE lines.
func Ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 3, 64) }
