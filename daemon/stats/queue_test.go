package stats

import (
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestQueueProbeObserve(t *testing.T) {
	var p QueueProbe
	for i := 0; i < 40; i++ {
		p.Observe(8 * time.Millisecond)
	}
	if got := p.Age(time.Now()); got < 7*time.Millisecond || got > 8*time.Millisecond {
		t.Fatalf("age after a sustained 8ms = %v; want about 8ms", got)
	}
	p.Observe(0)
	if got := p.Age(time.Now()); got < 5*time.Millisecond {
		t.Fatalf("one canary back at once dropped the age to %v; smoothing should keep it high", got)
	}
}

func TestQueueProbeNil(t *testing.T) {
	var p *QueueProbe
	if p.Age(time.Now()) != 0 {
		t.Fatalf("nil probe must report 0")
	}
	p.Stop()
}

// TestQueueProbeCanaryOverdue: while a canary is overdue, a request
// stamped later waited at least since it was due.
func TestQueueProbeCanaryOverdue(t *testing.T) {
	base := time.Now()
	p := &QueueProbe{base: base}
	p.Observe(time.Millisecond)
	due := base.Add(time.Second)
	p.due.Store(p.now(due))
	if got := p.Age(due.Add(30 * time.Millisecond)); got != 30*time.Millisecond {
		t.Fatalf("30ms after the canary went out: age %v; want 30ms", got)
	}
	if got := p.Age(due.Add(100 * time.Microsecond)); got != time.Millisecond/4 {
		t.Fatalf("canary overdue for less than the smoothed age: age %v; want the smoothed 250us", got)
	}
	p.due.Store(0)
	if got := p.Age(due.Add(30 * time.Millisecond)); got != time.Millisecond/4 {
		t.Fatalf("no canary due: age %v; want the smoothed 250us", got)
	}
}

// TestQueueProbeSeesQueuedConnections runs the probe on one P beside 16
// connections (pipes in the same poller) whose handler burns 2 ms of CPU
// each. A request that arrives waits behind the ready ones, about 30 ms;
// the probe must see more than 10 ms. A Go timer's lateness (the probe
// this one replaced) stayed near 1 ms here: the goroutine a timer wakes
// runs next.
func TestQueueProbeSeesQueuedConnections(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	p, err := StartQueueProbe()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var files []*os.File
	defer func() {
		close(stop)
		for _, f := range files {
			f.Close() // unblocks the reads
		}
		wg.Wait()
	}()
	for range 16 {
		reqR, reqW, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		respR, respW, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, reqR, reqW, respR, respW)
		wg.Add(2)
		go func() { // the server's connection: read, handle, answer
			defer wg.Done()
			b := make([]byte, 1)
			for {
				if _, err := reqR.Read(b); err != nil {
					return
				}
				for end := time.Now().Add(2 * time.Millisecond); time.Now().Before(end); {
				}
				if _, err := respW.Write(b); err != nil {
					return
				}
			}
		}()
		go func() { // the client: the next request as soon as the answer is in
			defer wg.Done()
			b := make([]byte, 1)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := reqW.Write(b); err != nil {
					return
				}
				if _, err := respR.Read(b); err != nil {
					return
				}
			}
		}()
	}

	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(10 * time.Second)
	var most time.Duration
	for time.Now().Before(deadline) {
		<-tick.C
		if age := p.Age(time.Now()); age > most {
			most = age
		}
		if most >= 10*time.Millisecond {
			return
		}
	}
	t.Fatalf("16 connections of 2ms each: the probe saw at most %v of queue age in 10s; want >= 10ms", most)
}

// TestQueueProbeParksAndWakes: with no request the probe stops its timer,
// and the next request starts it again.
func TestQueueProbeParksAndWakes(t *testing.T) {
	p, err := StartQueueProbe()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for p.state.Load() != stateParked {
		if time.Now().After(deadline) {
			t.Fatalf("the probe did not park in 10s without requests")
		}
		<-tick.C
	}
	read := p.read.Load()
	p.Age(time.Now()) // a request
	for p.read.Load() == read {
		if time.Now().After(deadline) {
			t.Fatalf("a request did not restart the parked probe")
		}
		<-tick.C
	}
}

// TestQueueProbeStopClearsDue: a stopped probe leaves no canary overdue,
// or Age would grow without end and shed every request.
func TestQueueProbeStopClearsDue(t *testing.T) {
	p, err := StartQueueProbe()
	if err != nil {
		t.Fatal(err)
	}
	p.Age(time.Now()) // a request: the timer runs
	p.Stop()
	if got := p.Age(time.Now().Add(time.Hour)); got > time.Second {
		t.Fatalf("an hour after Stop: age %v; want the smoothed age, under a second", got)
	}
}
