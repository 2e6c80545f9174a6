package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"time"
)

// Series is one line of the plot: latency (Y, nanoseconds) against rate
// (X, requests per second).
type Series struct {
	Name   string
	Color  string // SVG colour
	Dashed bool
	Points []XY
}

// XY is one point of a Series.
type XY struct{ X, Y float64 }

// The plot's geometry, in SVG user units.
const (
	plotW, plotH                       = 760, 440
	marginL, marginR, marginT, marginB = 70, 190, 40, 50
)

// WriteSVG writes a latency-versus-rate plot by hand: a linear rate axis
// from 0, a log-scale latency axis in whole decades that always includes
// the 1 ms target (drawn dotted), one polyline with markers per series and
// a legend. Points with Y <= 0 are skipped.
func WriteSVG(w io.Writer, title string, series []Series) error {
	ax := newAxes(series)
	ew := &errWriter{w: w}
	ew.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", plotW, plotH, plotW, plotH)
	ew.printf(`<rect width="%d" height="%d" fill="white"/>`+"\n", plotW, plotH)
	ew.printf(`<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", marginL, html.EscapeString(title))
	ax.writeGrid(ew)
	for i := range series {
		ax.writeSeries(ew, &series[i])
	}
	writeLegend(ew, series)
	ew.printf("</svg>\n")
	return ew.err
}

// axes maps data to the plot area.
type axes struct {
	xMax, xStep float64
	yLo, yHi    int // decades: 10^yLo .. 10^yHi nanoseconds
	left, right float64
	top, bottom float64
}

func newAxes(series []Series) *axes {
	xMax, yMin, yMax := 0.0, float64(p99Target), float64(p99Target)
	for _, s := range series {
		for _, p := range s.Points {
			if p.Y <= 0 {
				continue
			}
			xMax, yMin, yMax = math.Max(xMax, p.X), math.Min(yMin, p.Y), math.Max(yMax, p.Y)
		}
	}
	step := niceStep(xMax / 5)
	return &axes{
		xMax: step * math.Ceil(math.Max(xMax, 1)/step), xStep: step,
		yLo: int(math.Floor(math.Log10(yMin))), yHi: int(math.Ceil(math.Log10(yMax * 1.0001))),
		left: marginL, right: plotW - marginR, top: marginT, bottom: plotH - marginB,
	}
}

// niceStep rounds v up to 1, 2 or 5 times a power of ten.
func niceStep(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func (a *axes) x(v float64) float64 { return a.left + (a.right-a.left)*v/a.xMax }

func (a *axes) y(ns float64) float64 {
	f := (math.Log10(ns) - float64(a.yLo)) / float64(a.yHi-a.yLo)
	return a.bottom - (a.bottom-a.top)*f
}

func (a *axes) writeGrid(w *errWriter) {
	w.printf(`<g stroke="#ddd">` + "\n")
	for d := a.yLo; d < a.yHi; d++ {
		for _, m := range []float64{1, 2, 5} {
			y := a.y(m * math.Pow(10, float64(d)))
			w.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`+"\n", a.left, y, a.right, y)
		}
	}
	for v := a.xStep; v <= a.xMax; v += a.xStep {
		w.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`+"\n", a.x(v), a.top, a.x(v), a.bottom)
	}
	w.printf("</g>\n")
	w.printf(`<g class="axes" stroke="black"><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/></g>`+"\n",
		a.left, a.bottom, a.right, a.bottom, a.left, a.top, a.left, a.bottom)
	a.writeLabels(w)
	ty := a.y(float64(p99Target))
	w.printf(`<line class="target" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#c00" stroke-dasharray="2,3"/>`+"\n", a.left, ty, a.right, ty)
	w.printf(`<text x="%.1f" y="%.1f" fill="#c00" text-anchor="end">1 ms p99 target</text>`+"\n", a.right-4, ty-4)
}

func (a *axes) writeLabels(w *errWriter) {
	for d := a.yLo; d <= a.yHi; d++ {
		w.printf(`<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", a.left-6, a.y(math.Pow(10, float64(d)))+4,
			decadeLabel(d))
	}
	for v := 0.0; v <= a.xMax; v += a.xStep {
		w.printf(`<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", a.x(v), a.bottom+16, rateTick(v))
	}
	w.printf(`<text x="%.1f" y="%d" text-anchor="middle">rate (requests/s)</text>`+"\n", (a.left+a.right)/2, plotH-12)
	w.printf(`<text transform="translate(16 %.1f) rotate(-90)" text-anchor="middle">latency (log scale)</text>`+"\n", (a.top+a.bottom)/2)
}

// decadeLabel names 10^d nanoseconds: "100 us", "1 ms", "10 s".
func decadeLabel(d int) string {
	units := []string{"ns", "us", "ms", "s"}
	i := min(max(d/3, 0), len(units)-1)
	return fmt.Sprintf("%g %s", math.Pow(10, float64(d-3*i)), units[i])
}

func rateTick(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%gk", v/1000)
	}
	return fmt.Sprintf("%g", v)
}

func (a *axes) writeSeries(w *errWriter, s *Series) {
	dash := ""
	if s.Dashed {
		dash = ` stroke-dasharray="6,4"`
	}
	w.printf(`<g class="series"><polyline fill="none" stroke="%s" stroke-width="2"%s points="`, html.EscapeString(s.Color), dash)
	for _, p := range s.Points {
		if p.Y > 0 {
			w.printf("%.1f,%.1f ", a.x(p.X), a.y(p.Y))
		}
	}
	w.printf(`"/>` + "\n")
	for _, p := range s.Points {
		if p.Y > 0 {
			w.printf(`<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", a.x(p.X), a.y(p.Y), html.EscapeString(s.Color))
		}
	}
	w.printf("</g>\n")
}

func writeLegend(w *errWriter, series []Series) {
	x := float64(plotW - marginR + 16)
	w.printf(`<g class="legend">` + "\n")
	for i, s := range series {
		y := float64(marginT + 10 + 22*i)
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="6,4"`
		}
		w.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"%s/>`, x, y, x+28, y, html.EscapeString(s.Color), dash)
		w.printf(`<text x="%.1f" y="%.1f">%s</text>`+"\n", x+34, y+4, html.EscapeString(s.Name))
	}
	w.printf("</g>\n")
}

// plotTitle names the plot and its machine.
func (rep *Report) plotTitle() string {
	return fmt.Sprintf("Latency vs rate, open loop, %d CPUs (%s), %s", rep.Machine.NProc, orUnknown(rep.Machine.CPUModel), rep.Date.Format("2006-01-02"))
}

// plotSeries returns p50 (dashed) and p99 lines per server: the median
// over repetitions of each latency phase, at the median target rate.
func (rep *Report) plotSeries() []Series {
	colors := map[string]string{"ceiling": "#1f77b4", "rtbd": "#ff7f0e"}
	var out []Series
	for _, name := range rep.servers() {
		for _, q := range []struct {
			label  string
			dashed bool
			get    func(*Point) time.Duration
		}{{"p50", true, func(p *Point) time.Duration { return p.P50 }}, {"p99", false, func(p *Point) time.Duration { return p.P99 }}} {
			s := Series{Name: name + " " + q.label, Color: colors[name], Dashed: q.dashed}
			for _, label := range rep.labels() {
				x := rep.pointFigure(name, label, func(p *Point) float64 { return p.Target })
				y := rep.pointFigure(name, label, durOf(q.get))
				if x.N > 0 {
					s.Points = append(s.Points, XY{x.Med, y.Med})
				}
			}
			out = append(out, s)
		}
	}
	return out
}
