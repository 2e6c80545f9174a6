//go:build !linux

package load

// loopSupported: the event loop (EngineLoop) needs epoll.
const loopSupported = false

// startLoop: without the event loop every run uses the goroutine engine.
func startLoop(*Config, *runState, *pacer) (func(), *worker, error) { return nil, nil, nil }
