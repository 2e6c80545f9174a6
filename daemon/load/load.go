// Package load is rtbload's engine: an open-loop OpenRTB load generator.
//
// Each request's intended send time comes from a rate schedule (constant,
// ramp or steps). The event loop (EngineLoop) sends it on a free
// keep-alive connection of its own epoll set; the goroutine engine hands
// it from a pacer to one worker goroutine per connection. Latency is measured from the intended time, so a
// stalled server or a saturated generator shows up in the percentiles
// instead of slowing the load down (no coordinated omission), and the
// generator reports its own saturation. Results carry percentiles from a
// log-linear histogram, counts per outcome and per target, a per-second
// series and the longest gap without a successful response. [Run] is used by
// cmd/rtbload, the bench script and the system tests alike.
package load

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Limits on a run: rtbload never runs unbounded.
const (
	MaxDuration    = time.Hour
	MaxRate        = 1_000_000
	MaxCount       = 1_000_000_000
	MaxConnections = 10_000
	// MaxCTV bounds the synthetic CTV requests of [DefaultBodies], which
	// are generated and held in memory.
	MaxCTV = 10_000
)

// Config describes one run. The zero value is not runnable: set Targets,
// Steps and at least one of Duration and Count.
type Config struct {
	// Targets are bid endpoint URLs, e.g. http://127.0.0.1:8080/openrtb2/bid.
	// Requests go round-robin over the targets whose breaker is closed.
	Targets []string
	// AllowRemote permits targets outside loopback.
	AllowRemote bool
	// RootCAs verify the certificates of https targets; nil: the
	// system's roots.
	RootCAs *x509.CertPool

	// Steps is the rate schedule; see [Constant], [Ramp] and [ParseSteps].
	Steps []Step
	// Duration bounds the schedule; 0 means the sum of the step durations,
	// or MaxDuration when only Count is set.
	Duration time.Duration
	// Count bounds the number of scheduled requests; 0 means no count bound.
	Count int64

	// Connections is the number of keep-alive connections per target and
	// of worker goroutines. Default 16.
	Connections int
	// Timeout is the client-side deadline, counted from each request's
	// intended send time. Default 100ms. A slot still queued at its
	// deadline is not sent; an answer after it counts as a timeout, and
	// rtbload waits for it, half to one more Timeout (see
	// connClient.setDeadline), before it closes the connection (see
	// worker.do).
	Timeout time.Duration
	// MaxBacklog is the capacity of the queue of slots waiting for a free
	// connection; beyond it slots are dropped and counted. Default 65536.
	MaxBacklog int

	// Bodies are the request bodies, sent in turn. Default: [DefaultBodies].
	Bodies [][]byte
	// Gzip sends the bodies gzip-compressed (compressed once, up front).
	Gzip bool

	// BreakerThreshold is the number of consecutive failures (transport
	// errors, timeouts, 5xx) that opens a target's circuit breaker. Default
	// 5; the breaker is off with a single target, which has no fallback.
	BreakerThreshold int
	// BreakerCooldown is how long an open breaker waits before it lets a
	// probe through. Default 1s.
	BreakerCooldown time.Duration

	// Dial opens connections; nil dials TCP. Tests pass in-memory
	// listeners. A Dial makes the run use EngineGoroutines.
	Dial func(addr string) (net.Conn, error)

	// Engine is how requests are sent; see [Engine].
	Engine Engine

	// newDoer replaces the HTTP client of every target (benchmarks).
	newDoer func() doer
}

// Engine is how rtbload drives its connections.
type Engine string

const (
	// EngineAuto is EngineLoop where it can run, else EngineGoroutines.
	EngineAuto Engine = ""
	// EngineLoop is one goroutine with its own epoll set driving every
	// connection (Linux, plain http targets): the cheapest per request.
	EngineLoop Engine = "loop"
	// EngineGoroutines is a goroutine per connection on the Go netpoller,
	// with fasthttp's HostClient for https targets.
	EngineGoroutines Engine = "goroutines"
)

// withDefaults returns a copy of c with the defaults filled in.
func (c Config) withDefaults() Config {
	if c.Connections == 0 {
		c.Connections = 16
	}
	if c.Timeout == 0 {
		c.Timeout = 100 * time.Millisecond
	}
	if c.MaxBacklog == 0 {
		c.MaxBacklog = 1 << 16
	}
	if c.BreakerThreshold == 0 {
		c.BreakerThreshold = 5
	}
	if c.BreakerCooldown == 0 {
		c.BreakerCooldown = time.Second
	}
	if c.Duration == 0 {
		c.Duration = stepsDuration(c.Steps)
		if c.Duration == 0 && c.Count > 0 {
			c.Duration = MaxDuration
		}
	}
	return c
}

// stepsDuration returns the sum of the step durations, or 0 when the last
// step is open-ended.
func stepsDuration(steps []Step) time.Duration {
	var d time.Duration
	for _, s := range steps {
		if s.Duration <= 0 {
			return 0
		}
		d += s.Duration
	}
	return d
}

// Validate reports the first problem of c after defaults are applied, in
// words meant for the command line.
func (c Config) Validate() error {
	c = c.withDefaults()
	if len(c.Targets) == 0 {
		return errors.New("no target: pass -target URL")
	}
	for _, t := range c.Targets {
		if _, err := checkTarget(t, c.AllowRemote); err != nil {
			return err
		}
	}
	if err := validateSteps(c.Steps); err != nil {
		return err
	}
	if c.Duration == 0 && c.Count == 0 {
		return errors.New("refusing to run unbounded: pass -duration or -count")
	}
	if err := c.validateEngine(); err != nil {
		return err
	}
	return c.validateLimits()
}

func (c Config) validateEngine() error {
	switch c.Engine {
	case EngineAuto, EngineGoroutines:
		return nil
	case EngineLoop:
	default:
		return fmt.Errorf("unknown engine %q: want %q or %q", c.Engine, EngineLoop, EngineGoroutines)
	}
	if !loopSupported {
		return fmt.Errorf("engine %q runs on Linux only", EngineLoop)
	}
	if c.Dial != nil {
		return fmt.Errorf("engine %q dials TCP itself: no custom Dial", EngineLoop)
	}
	for _, t := range c.Targets {
		if !strings.HasPrefix(t, "http://") {
			return fmt.Errorf("engine %q speaks plain http only; target %q", EngineLoop, t)
		}
	}
	return nil
}

func validateSteps(steps []Step) error {
	if len(steps) == 0 {
		return errors.New("no rate: pass -rate, -ramp or -steps")
	}
	for i, s := range steps {
		if !(s.Rate > 0) || !(s.to() > 0) || s.Rate > MaxRate || s.to() > MaxRate {
			return fmt.Errorf("rate must be > 0 and <= %d; step %d has %g to %g", MaxRate, i+1, s.Rate, s.to())
		}
		if s.Duration < 0 || (s.Duration == 0 && i < len(steps)-1) {
			return fmt.Errorf("step %d needs a duration > 0 (only the last step may be open-ended)", i+1)
		}
	}
	return nil
}

func (c Config) validateLimits() error {
	switch {
	case c.Duration <= 0 || c.Duration > MaxDuration:
		return fmt.Errorf("duration must be > 0 and <= %s; got %s", MaxDuration, c.Duration)
	case c.Count < 0 || c.Count > MaxCount:
		return fmt.Errorf("count must be >= 0 and <= %d; got %d", MaxCount, c.Count)
	case c.Connections < 1 || c.Connections > MaxConnections:
		return fmt.Errorf("connections must be in 1..%d; got %d", MaxConnections, c.Connections)
	case c.Timeout <= 0 || c.Timeout > time.Minute:
		return fmt.Errorf("timeout must be > 0 and <= 1m; got %s", c.Timeout)
	case c.MaxBacklog < 1 || c.MaxBacklog > 1<<24:
		return fmt.Errorf("max backlog must be in 1..%d; got %d", 1<<24, c.MaxBacklog)
	case c.BreakerThreshold < 0 || c.BreakerCooldown < 0:
		return errors.New("breaker threshold and cooldown must not be negative")
	}
	for i, b := range c.Bodies {
		if err := checkBody(b); err != nil {
			return fmt.Errorf("body %d: %w", i+1, err)
		}
	}
	return nil
}
