//go:build !linux

package load

import "time"

// sleeper is time.Sleep elsewhere than Linux.
type sleeper struct{}

func newSleeper() *sleeper { return &sleeper{} }

func (s *sleeper) sleep(d time.Duration) { time.Sleep(d) }

func (s *sleeper) tick(period time.Duration) { time.Sleep(period) }

func (s *sleeper) close() {}
