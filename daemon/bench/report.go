package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Report is everything one `rtbload bench` invocation measured, the input
// of [WriteMarkdown] and of the plot.
type Report struct {
	Command  string
	Date     time.Time
	Machine  Machine
	Options  Options
	Bodies   int      // requests in the mix
	Affinity []string // observed CPU affinity per process, e.g. "rtbd [1]"
	// LoadAvg and LoadAvgEnd are /proc/loadavg before and after the runs.
	LoadAvg, LoadAvgEnd string
	// Quiet is the outcome of -quiet.wait; empty when it was not used.
	Quiet string
	// Polled lists the CPUs -cpu.poll held in polling idle ("0-1");
	// empty without it.
	Polled string
	Runs   []Run
}

// Machine describes where the bench ran.
type Machine struct {
	NProc     int
	CPUModel  string
	Kernel    string
	GoVersion string
	Commit    string
}

// Run is one repetition. RTBD is nil when only the ceiling ran.
type Run struct {
	Ceiling *ServerRun
	RTBD    *ServerRun
}

// ServerRun is one server's share of a repetition.
type ServerRun struct {
	// Max is the achieved rate of the best passing search step; 0 when
	// no step passed.
	Max     float64
	Search  []Point
	Latency []Point
}

// best returns the passing search step with the highest achieved rate.
func (s *ServerRun) best() (Point, bool) {
	var out Point
	found := false
	for _, p := range s.Search {
		if p.Pass && (!found || p.Rate > out.Rate) {
			out, found = p, true
		}
	}
	return out, found
}

// at returns the latency phase with the given label.
func (s *ServerRun) at(label string) (Point, bool) {
	if s == nil {
		return Point{}, false
	}
	for _, p := range s.Latency {
		if p.Label == label {
			return p, true
		}
	}
	return Point{}, false
}

// readMachine collects the machine description; unknown parts stay empty.
func readMachine() Machine {
	m := Machine{NProc: runtime.NumCPU(), GoVersion: runtime.Version(), CPUModel: cpuModel()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("git", "describe", "--always", "--dirty").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
	}
	return m
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Spread summarises one figure over the repetitions.
type Spread struct {
	Med, Min, Max float64
	N             int
}

// spreadOf returns the median, minimum and maximum of vs; the median of an
// even count is the mean of the middle two.
func spreadOf(vs []float64) Spread {
	if len(vs) == 0 {
		return Spread{}
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Spread{Med: med, Min: s[0], Max: s[len(s)-1], N: len(s)}
}

// format writes "med" for one value and "med [min-max]" for more.
func (s Spread) format(f func(float64) string) string {
	if s.N == 0 {
		return "n/a"
	}
	if s.N == 1 {
		return f(s.Med)
	}
	return fmt.Sprintf("%s [%s-%s]", f(s.Med), f(s.Min), f(s.Max))
}

// collect returns f over the runs where it is defined.
func (r *Report) collect(f func(*Run) (float64, bool)) []float64 {
	var out []float64
	for i := range r.Runs {
		if v, ok := f(&r.Runs[i]); ok {
			out = append(out, v)
		}
	}
	return out
}

// throughputRatio is rtbd's maximum over the ceiling's.
func throughputRatio(run *Run) (float64, bool) {
	if run.RTBD == nil || run.Ceiling.Max == 0 {
		return 0, false
	}
	return run.RTBD.Max / run.Ceiling.Max, true
}

// saturatedBusy is the server CPU share at its maximum above which the
// maximum counts as the server's own; below it, rtbload or the machine's
// noise stopped the search first.
const saturatedBusy = 0.85

// serverBound reports whether both servers' maxima of run were reached
// with their core saturated.
func serverBound(run *Run) bool {
	for _, s := range []*ServerRun{run.Ceiling, run.RTBD} {
		if s == nil {
			continue
		}
		if p, ok := s.best(); !ok || p.ServerBusy < saturatedBusy {
			return false
		}
	}
	return true
}

// capacity is a server's one-core throughput from its CPU per request at
// its fastest passing step: independent of whether rtbload kept up.
func capacity(s *ServerRun) (float64, bool) {
	if s == nil {
		return 0, false
	}
	p, ok := s.best()
	if !ok || p.ServerCPU <= 0 {
		return 0, false
	}
	return float64(time.Second) / float64(p.ServerCPU), true
}

// capacityRatio is the ceiling's server CPU per request over rtbd's at
// the same rate, half of rtbd's maximum, where both held: the throughput
// ratio their CPU costs predict, independent of whether rtbload or the
// noise capped a search. CPU per request falls as the rate rises, so
// comparing each server at its own maximum would favour the faster one.
func capacityRatio(run *Run) (float64, bool) {
	a, ok1 := run.RTBD.at(halfMaxLabel)
	b, ok2 := run.Ceiling.at(halfMaxLabel)
	if !ok1 || !ok2 || a.ServerCPU <= 0 {
		return 0, false
	}
	return float64(b.ServerCPU) / float64(a.ServerCPU), true
}

// keptSchedule is how late rtbload may send, at most, in a phase that
// counts towards its capacity: the search's p99 bound.
const keptSchedule = 10 * time.Millisecond

// genCapacity is rtbload's send capacity on its core, from its CPU time
// per request less the time it spun on the clock waiting for a slot's
// time (idle time it spends for precision, and never spends when
// saturated: at the ceiling's 85k req/s a fifth of its CPU): the best
// over the run's phases that held no more errors than the search allows
// (timed-out sends cost less and would flatter it) and in which rtbload
// kept its schedule, no send more than keptSchedule late. A phase in
// which it sent at the offered rate but fell tens of milliseconds behind
// shows what it can push, not what it can pace. At low rates each wait
// costs a wake-up for fewer requests, so the fastest phases give the
// truest figure.
func genCapacity(run *Run) (float64, bool) {
	best := 0.0
	for _, s := range []*ServerRun{run.Ceiling, run.RTBD} {
		if s == nil {
			continue
		}
		for _, ps := range [][]Point{s.Search, s.Latency} {
			for _, p := range ps {
				if w := p.LoadCPU - p.LoadSpin; w > 0 && p.ErrorRate <= 0.001 && p.MaxBehind <= keptSchedule {
					best = max(best, float64(time.Second)/float64(w))
				}
			}
		}
	}
	return best, best > 0
}

// labels returns the latency phase labels of the first run, in order.
func (r *Report) labels() []string {
	if len(r.Runs) == 0 {
		return nil
	}
	var out []string
	for _, p := range r.Runs[0].Ceiling.Latency {
		out = append(out, p.Label)
	}
	return out
}

// pointFigure returns a figure of one server's phase at label over the runs.
func (r *Report) pointFigure(server, label string, f func(*Point) float64) Spread {
	return spreadOf(r.collect(func(run *Run) (float64, bool) {
		p, ok := serverOf(run, server).at(label)
		if !ok {
			return 0, false
		}
		return f(&p), true
	}))
}

// ratioFigure returns rtbd's figure over the ceiling's at label.
func (r *Report) ratioFigure(label string, f func(*Point) float64) Spread {
	return spreadOf(r.collect(func(run *Run) (float64, bool) {
		a, ok1 := run.RTBD.at(label)
		b, ok2 := run.Ceiling.at(label)
		if !ok1 || !ok2 || f(&b) == 0 {
			return 0, false
		}
		return f(&a) / f(&b), true
	}))
}

func serverOf(run *Run, name string) *ServerRun {
	if name == "rtbd" {
		return run.RTBD
	}
	return run.Ceiling
}

// writeOutputs writes the Markdown report and the plot, creating their
// directories.
func writeOutputs(o *Options, rep *Report) error {
	svgRel, err := filepath.Rel(filepath.Dir(o.Out), o.SVG)
	if err != nil {
		svgRel = o.SVG
	}
	if err := writeFile(o.SVG, func(w io.Writer) error { return WriteSVG(w, rep.plotTitle(), rep.plotSeries()) }); err != nil {
		return err
	}
	return writeFile(o.Out, func(w io.Writer) error { return WriteMarkdown(w, rep, filepath.ToSlash(svgRel)) })
}

func writeFile(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("cannot create directory for %s: %w", path, err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", path, err)
	}
	bw := bufio.NewWriter(f)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}

// phaseSpread returns f over every measured phase of every run and server.
func (r *Report) phaseSpread(f func(*Point) float64) Spread {
	var vs []float64
	for i := range r.Runs {
		for _, s := range []*ServerRun{r.Runs[i].Ceiling, r.Runs[i].RTBD} {
			if s == nil {
				continue
			}
			for j := range s.Search {
				vs = append(vs, f(&s.Search[j]))
			}
			for j := range s.Latency {
				vs = append(vs, f(&s.Latency[j]))
			}
		}
	}
	return spreadOf(vs)
}
