package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/rtbd/rtbd/daemon/corpus"
)

var execCommand = exec.CommandContext

// readyTimeout bounds the wait for a server to answer after its start.
const readyTimeout = 30 * time.Second

// startServers starts the ceiling and, unless o.CeilingOnly, rtbd with its
// embedded demo data or o.RTBDConfig, both on o.ServerCPU, and waits until they answer.
// The returned servers must be stopped by the caller, also on error.
func startServers(ctx context.Context, o *Options, rep *Report) ([]*server, error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find the rtbload binary: %w", err)
	}
	var out []*server
	ceil := &server{name: "ceiling", url: fmt.Sprintf("http://127.0.0.1:%d/openrtb2/bid", ports[0])}
	if ceil.proc, err = startChild("ceiling", self, []string{"bench", "ceiling", "-listen", addr(ports[0])}, o.ServerCPU); err != nil {
		return out, err
	}
	out = append(out, ceil)
	if err := ceil.proc.waitReady(ctx, ceil.url, corpus.Requests()[0].Body, readyTimeout); err != nil {
		return out, err
	}
	rep.Affinity = append(rep.Affinity, "ceiling "+affinityOf(ceil.proc.cmd.Process.Pid), "rtbload "+affinityOf(os.Getpid()))
	if o.CeilingOnly {
		return out, nil
	}
	rtbd := &server{
		name:    "rtbd",
		url:     fmt.Sprintf("http://127.0.0.1:%d/openrtb2/bid", ports[1]),
		metrics: fmt.Sprintf("http://127.0.0.1:%d/metrics", ports[2]),
	}
	args := []string{"-listen", addr(ports[1]), "-admin.listen", addr(ports[2]), "-log.level", "warn"}
	if o.RTBDConfig != "" {
		args = append(args, "-config", o.RTBDConfig)
	}
	if rtbd.proc, err = startChild("rtbd", o.RTBD, args, o.ServerCPU); err != nil {
		return out, err
	}
	out = append(out, rtbd)
	if err := rtbd.proc.waitReady(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", ports[2]), nil, readyTimeout); err != nil {
		return out, err
	}
	rep.Affinity = append(rep.Affinity, "rtbd "+affinityOf(rtbd.proc.cmd.Process.Pid))
	return out, nil
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// warmupRate and warmupTime warm each server's pools, caches and
// connections before a repetition's first measured phase.
const (
	warmupRate = 2000
	warmupTime = time.Second
)

// runOnce is one repetition: warm up, search each server's maximum, then
// hold the latency rates on every server, interleaved rate by rate. The
// server order alternates between repetitions so that drift in the
// machine's noise does not always favour the same one.
func runOnce(ph *phaser, servers []*server, rep int) (Run, error) {
	order := append([]*server(nil), servers...)
	if rep%2 == 1 {
		slices.Reverse(order)
	}
	runs := map[string]*ServerRun{}
	for _, s := range order {
		sr, err := ph.search(s)
		if err != nil {
			return Run{}, err
		}
		runs[s.name] = sr
	}
	ref := runs["ceiling"].Max
	if r, ok := runs["rtbd"]; ok {
		ref = r.Max
	}
	for _, lr := range latencyRates(ph.opts.Rates, ref) {
		for _, s := range order {
			p, err := ph.measure(s, lr.rate, ph.opts.Hold, lr.label)
			if err != nil {
				return Run{}, err
			}
			runs[s.name].Latency = append(runs[s.name].Latency, p)
		}
	}
	return Run{Ceiling: runs["ceiling"], RTBD: runs["rtbd"]}, nil
}

// search warms s up and searches its maximum throughput.
func (ph *phaser) search(s *server) (*ServerRun, error) {
	if _, err := ph.measure(s, warmupRate, warmupTime, "warmup"); err != nil {
		return nil, err
	}
	sr := &ServerRun{}
	var err error
	sr.Max, sr.Search, err = FindMax(ph.opts.Search, func(rate float64) (Point, error) {
		return ph.measure(s, rate, ph.opts.Step, "search")
	})
	return sr, err
}

type labeledRate struct {
	label string
	rate  float64
}

// halfMaxLabel names the phase at half of rtbd's maximum.
const halfMaxLabel = "50% max"

// latencyRates returns the fixed rates plus half of max (when max > 0),
// sorted by rate.
func latencyRates(fixed []float64, max float64) []labeledRate {
	var out []labeledRate
	for _, r := range fixed {
		out = append(out, labeledRate{rateLabel(r), r})
	}
	if h := max / 2; h >= 100 {
		out = append(out, labeledRate{halfMaxLabel, float64(int64(h/100)) * 100})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].rate < out[j].rate })
	return out
}

// rateLabel writes a rate the short way: 5000 is "5k".
func rateLabel(r float64) string {
	if r >= 1000 && int64(r)%1000 == 0 {
		return strconv.FormatInt(int64(r)/1000, 10) + "k"
	}
	return strconv.FormatFloat(r, 'f', 0, 64)
}
