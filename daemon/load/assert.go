package load

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Assertion is one condition on a [Result], such as p99<2ms.
type Assertion struct {
	Metric string  // see [ParseAssert] for the names
	Op     string  // <, <=, >, >=, ==
	Value  float64 // nanoseconds for durations, a fraction for error_rate
	Text   string  // as written
}

type metricKind uint8

const (
	kindDuration metricKind = iota
	kindCount
	kindFraction
	kindRate
)

// assertMetrics lists the assertable figures and how to read them from a Result.
var assertMetrics = map[string]struct {
	kind metricKind
	get  func(r *Result) float64
}{
	"p50":        {kindDuration, func(r *Result) float64 { return float64(r.Latency.P50) }},
	"p90":        {kindDuration, func(r *Result) float64 { return float64(r.Latency.P90) }},
	"p99":        {kindDuration, func(r *Result) float64 { return float64(r.Latency.P99) }},
	"p999":       {kindDuration, func(r *Result) float64 { return float64(r.Latency.P999) }},
	"max":        {kindDuration, func(r *Result) float64 { return float64(r.Latency.Max) }},
	"gap":        {kindDuration, func(r *Result) float64 { return float64(r.LongestGap) }},
	"errors":     {kindCount, func(r *Result) float64 { return float64(r.Errors) }},
	"timeouts":   {kindCount, func(r *Result) float64 { return float64(r.Timeouts) }},
	"bids":       {kindCount, func(r *Result) float64 { return float64(r.Bids) }},
	"nobids":     {kindCount, func(r *Result) float64 { return float64(r.NoBids) }},
	"sent":       {kindCount, func(r *Result) float64 { return float64(r.Sent) }},
	"dropped":    {kindCount, func(r *Result) float64 { return float64(r.Saturation.Dropped) }},
	"late":       {kindCount, func(r *Result) float64 { return float64(r.Saturation.Late) }},
	"error_rate": {kindFraction, errorRate},
	"rate":       {kindRate, func(r *Result) float64 { return r.Rate }},
}

// errorRate is (errors + timeouts + dropped) / scheduled.
func errorRate(r *Result) float64 {
	if r.Scheduled == 0 {
		return 0
	}
	return float64(r.Errors+r.Timeouts+r.Saturation.Dropped) / float64(r.Scheduled)
}

// ParseAssert parses comma-separated conditions, the -assert flag, e.g.
// "p99<2ms,errors<=0,timeouts<=0,rate>=19000". Metrics: p50, p90, p99,
// p999, max and gap (durations such as 2ms); errors, timeouts, bids,
// nobids, sent, dropped and late (counts); error_rate (a fraction such as
// 0.001, or 0.1%: errors, timeouts and drops over scheduled requests); rate
// (achieved requests per second). Operators: <, <=, >, >=, ==. A run
// whose generator dropped requests fails its assertions unless one is on
// dropped.
func ParseAssert(s string) ([]Assertion, error) {
	var out []Assertion
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		a, err := parseAssertion(part)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("cannot parse assertions %q: no condition", s)
	}
	return out, nil
}

func parseAssertion(s string) (Assertion, error) {
	i := strings.IndexAny(s, "<>=")
	if i <= 0 {
		return Assertion{}, fmt.Errorf("cannot parse assertion %q: want METRIC OP VALUE, e.g. p99<2ms", s)
	}
	a := Assertion{Metric: strings.TrimSpace(s[:i]), Text: s}
	rest := s[i:]
	for _, op := range []string{"<=", ">=", "==", "<", ">"} {
		if strings.HasPrefix(rest, op) {
			a.Op = op
			break
		}
	}
	if a.Op == "" {
		return Assertion{}, fmt.Errorf("cannot parse assertion %q: unknown operator; want <, <=, >, >= or ==", s)
	}
	m, ok := assertMetrics[a.Metric]
	if !ok {
		return Assertion{}, fmt.Errorf("cannot parse assertion %q: unknown metric %q; want one of %s", s, a.Metric, strings.Join(slices.Sorted(maps.Keys(assertMetrics)), ", "))
	}
	v, err := parseValue(m.kind, strings.TrimSpace(rest[len(a.Op):]))
	if err != nil {
		return Assertion{}, fmt.Errorf("cannot parse assertion %q: %w", s, err)
	}
	a.Value = v
	return a, nil
}

func parseValue(kind metricKind, s string) (float64, error) {
	switch kind {
	case kindDuration:
		if s == "0" {
			return 0, nil
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("want a duration such as 2ms; got %q", s)
		}
		return float64(d), nil
	case kindFraction:
		v, err := parseNumber(s)
		if p, ok := strings.CutSuffix(s, "%"); ok {
			if v, err = parseNumber(p); err == nil {
				v /= 100
			}
		}
		if err == nil && v > 1 {
			// error_rate<=5 would always hold: 5 is not 5 %.
			return 0, fmt.Errorf("want a fraction from 0 to 1, or a percentage such as 0.1%%; got %q", s)
		}
		return v, err
	}
	return parseNumber(s)
}

func parseNumber(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v >= 0) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("want a finite number >= 0; got %q", s)
	}
	return v, nil
}

// Check returns one line per failed assertion, naming the measured value;
// none when all hold.
func (r *Result) Check(as []Assertion) []string {
	var failed []string
	if r.Interrupted && len(as) > 0 {
		// A gate stopped by a signal after a second of a ten-minute run
		// must not pass on that second.
		failed = append(failed, fmt.Sprintf("the run was interrupted after %s of its schedule: the conditions hold for the whole run only", FormatLatency(r.Window)))
	}
	if d := r.Saturation.Dropped; d > 0 && len(as) > 0 && !slices.ContainsFunc(as, func(a Assertion) bool { return a.Metric == "dropped" }) {
		// Dropped slots have no outcome and no latency: the figures the
		// other conditions read are not those of the schedule asked for.
		failed = append(failed, fmt.Sprintf("the generator dropped %d of %d scheduled requests (its queue was full): the run did not keep its schedule; add dropped<=%d to accept that", d, r.Scheduled, d))
	}
	for _, a := range as {
		m, ok := assertMetrics[a.Metric]
		if !ok {
			failed = append(failed, fmt.Sprintf("%s: unknown metric %q", a.Text, a.Metric))
			continue
		}
		if m.kind == kindDuration && a.Metric != "gap" && r.Latency.Count == 0 {
			// An empty histogram reads 0: p99<2ms would hold for a run
			// whose every request failed to connect.
			failed = append(failed, fmt.Sprintf("%s failed: no latency was measured (%d sent, %d errors)", a.Text, r.Sent, r.Errors))
			continue
		}
		got := m.get(r)
		if !compare(got, a.Op, a.Value) {
			failed = append(failed, fmt.Sprintf("%s failed: %s is %s", a.Text, a.Metric, formatValue(m.kind, got)))
		}
	}
	return failed
}

func compare(got float64, op string, want float64) bool {
	switch op {
	case "<":
		return got < want
	case "<=":
		return got <= want
	case ">":
		return got > want
	case ">=":
		return got >= want
	case "==":
		return got == want
	}
	panic("BUG: unknown assertion operator " + op)
}

func formatValue(kind metricKind, v float64) string {
	switch kind {
	case kindDuration:
		return time.Duration(v).String()
	case kindFraction:
		return strconv.FormatFloat(v, 'g', 4, 64)
	case kindRate:
		return strconv.FormatFloat(v, 'f', 1, 64) + "/s"
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}
