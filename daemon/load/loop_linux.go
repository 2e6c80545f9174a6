package load

import (
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"
	"golang.org/x/sys/unix"
)

// evLoop is the event-loop engine (EngineLoop): one goroutine paces the
// schedule and drives every connection through its own epoll set, with
// non-blocking sockets. Per answered request it makes one writev and,
// for an answer that arrives in one piece, one read, plus its share of
// the epoll_wait calls that every ready connection of a wake-up shares.
//
// The goroutine engine (a worker goroutine per connection, blocking on
// the Go netpoller) costs more for the same work: its first read of each
// answer finds nothing and fails with EAGAIN before the goroutine parks,
// each answer wakes a goroutine through the runtime scheduler, and every
// slot passes through a channel. At 70k req/s that was two reads per
// request (syscall tracepoints) and a fifth of rtbload's CPU in the
// scheduler (perf).
//
// It keeps the goroutine engine's rules (see worker.do): Connections
// lanes, each a worker with a connection per target; a slot waits in a
// bounded queue when every lane is busy and expires there at its
// deadline; dial errors fail over to the next target or, with one
// target, connect once more; a request whose kept-alive connection was
// closed or reset before its whole answer is sent once more; an answer
// after the deadline is still read until twice the timeout after its
// slot, on the same connection.
type evLoop struct {
	rs *runState
	p  *pacer
	w  *worker // counters, histogram shard and body cursor of the loop

	epfd int
	// nudge is a timerfd that ticks every nudgePeriod while the loop
	// sleeps on answers alone (see waitFor); -1 without.
	nudge   int
	nudging bool
	// noPwait2: epoll_pwait2 is missing (Linux < 5.11); waits round up
	// to milliseconds.
	noPwait2 bool
	// timerSlack is the loop thread's timer slack in nanoseconds while
	// it ran (see preciseTimers).
	timerSlack int

	conns []*lconn // lane*len(targets) + target index
	lanes []*lconn // a lane's connection in use; nil when the lane is free
	free  []int32  // free lanes
	busy  int
	queue ring
	// draining: drain is running further up the stack.
	draining bool
	heads    [][2][]byte // per target: the request head around Content-Length
	addrs    []unix.Sockaddr
	rsize    int
	events   [256]unix.EpollEvent

	// nextCheck is when the earliest deadline of a busy lane may have
	// passed (see checkDeadlines).
	nextCheck int64
}

// lconn is one connection of the loop, and the request it carries.
type lconn struct {
	id   int32
	lane int32
	ti   int
	t    *target
	fd   int // -1: closed
	gen  int32
	st   connState
	out  bool // EPOLLOUT is registered

	// The request in flight.
	slot, deadline, dialDeadline int64
	sec                          *second
	body                         []byte
	head                         []byte
	woff                         int
	retried, redialed            bool

	buf []byte // allocated at the first connect
	n   int    // bytes held in buf
	ans answerReader
}

type connState uint8

const (
	stClosed connState = iota
	stConnecting
	stIdle
	stSending // writing the request; its answer may start arriving
	stWaiting // request written, answer expected
)

// ring is the queue of slots waiting for a free lane.
type ring struct {
	buf        []int64
	head, size int
}

func (q *ring) push(v int64) bool {
	if q.size == len(q.buf) {
		return false
	}
	q.buf[(q.head+q.size)%len(q.buf)] = v
	q.size++
	return true
}

func (q *ring) pop() int64 {
	v := q.buf[q.head]
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	return v
}

// Errors of the loop's requests, as the goroutine engine's would be
// classified (see classify and errKindOf).
var (
	errLoopDialTimeout = &dialError{err: fasthttp.ErrDialTimeout}
	errLoopTimeout     = os.ErrDeadlineExceeded
)

// loopAddrs resolves the run's targets for the loop, or says why it
// cannot serve them.
func loopAddrs(targets []*target) ([]unix.Sockaddr, error) {
	var out []unix.Sockaddr
	for _, t := range targets {
		if t.scheme != "http" {
			return nil, fmt.Errorf("target %q: the loop engine speaks plain http only", t.url)
		}
		a, err := net.ResolveTCPAddr("tcp", t.host)
		if err != nil {
			return nil, fmt.Errorf("target %q: %w", t.url, err)
		}
		if ip4 := a.IP.To4(); ip4 != nil {
			sa := &unix.SockaddrInet4{Port: a.Port}
			copy(sa.Addr[:], ip4)
			out = append(out, sa)
			continue
		}
		sa := &unix.SockaddrInet6{Port: a.Port}
		copy(sa.Addr[:], a.IP.To16())
		if a.Zone != "" {
			ifi, err := net.InterfaceByName(a.Zone)
			if err != nil {
				return nil, fmt.Errorf("target %q: %w", t.url, err)
			}
			sa.ZoneId = uint32(ifi.Index)
		}
		out = append(out, sa)
	}
	return out, nil
}

func newLoop(cfg *Config, rs *runState, p *pacer, addrs []unix.Sockaddr) (*evLoop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	l := &evLoop{
		rs: rs, p: p, w: newCounters(rs, 0), epfd: epfd, addrs: addrs,
		rsize: readBufferSize(cfg.Connections * len(cfg.Targets)),
		queue: ring{buf: make([]int64, cfg.MaxBacklog)},
	}
	l.nudge = -1
	if fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC); err == nil {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: -1}
		if unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &ev) == nil {
			l.nudge = fd
		} else {
			unix.Close(fd)
		}
	}
	for _, t := range rs.targets {
		before, after := renderHead(rs.newRequest(t))
		l.heads = append(l.heads, [2][]byte{before, after})
	}
	n := cfg.Connections
	l.lanes = make([]*lconn, n)
	for lane := range n {
		for ti, t := range rs.targets {
			l.conns = append(l.conns, &lconn{id: int32(len(l.conns)), lane: int32(lane), ti: ti, t: t, fd: -1})
		}
	}
	for lane := n - 1; lane >= 0; lane-- {
		l.free = append(l.free, int32(lane))
	}
	l.preconnect(cfg.Timeout)
	return l, nil
}

// run sends the schedule's slots at their times and serves the
// connections until every request has its outcome, then closes them.
func (l *evLoop) run() {
	defer l.close()
	var restore func()
	l.timerSlack, restore = preciseTimers()
	defer restore()
	p, clock := l.p, l.rs.clock
	slot, more := p.sched.nextSlot()
	prev := int64(0)
	// spunAt is when the last round decided to spin (-1: it did not);
	// spun sums the rounds since, handed to p.spin when the spin ends.
	spunAt, spun := int64(-1), int64(0)
	defer func() { p.spin.Add(spun) }()
	for {
		now := clock.now()
		if spunAt >= 0 {
			spun += now - spunAt
			spunAt = -1
		}
		for more && slot <= now {
			l.push(slot, now)
			prev = slot
			slot, more = p.sched.nextSlot()
			now = clock.now()
		}
		if more && p.stop.Load() {
			more = false
		}
		if now >= l.nextCheck {
			l.checkDeadlines(now)
		}
		if !more && l.busy == 0 && l.queue.size == 0 {
			return
		}
		if l.wait(now, slot, slot-prev, more) {
			spunAt = now
		} else if spun > 0 {
			p.spin.Add(spun)
			spun = 0
		}
	}
}

// push hands slot to a free lane, or queues it when every lane is busy
// (counted as backlog), or drops it when the queue is full (counted), as
// pacer.push does for the goroutine engine.
func (l *evLoop) push(slot, now int64) {
	p := l.p
	p.scheduled.Add(1)
	if late := now - slot; late > p.maxLate.Load() {
		p.maxLate.Store(late)
	}
	if len(l.free) > 0 && l.queue.size == 0 {
		l.dispatch(slot, now)
		return
	}
	if !l.queue.push(slot) {
		p.dropped.Add(1)
		p.onDrop(slot)
		return
	}
	p.backlog.Add(1)
	q := int64(l.queue.size)
	p.queued.Store(q)
	if q > p.maxQueue.Load() {
		p.maxQueue.Store(q)
	}
}

// drain dispatches queued slots while lanes are free.
// A slot that fails at once frees its lane inside dispatch; the outer
// drain takes the next one, so that the stack does not grow with the
// queue.
func (l *evLoop) drain(now int64) {
	if l.draining {
		return
	}
	l.draining = true
	for len(l.free) > 0 && l.queue.size > 0 {
		l.dispatch(l.queue.pop(), now)
		l.p.queued.Store(int64(l.queue.size))
	}
	l.draining = false
}

// dispatch starts slot on a free lane (see worker.begin).
func (l *evLoop) dispatch(slot, now int64) {
	sec, body, ok := l.w.begin(slot, now)
	if !ok {
		return
	}
	lane := l.free[len(l.free)-1]
	l.free = l.free[:len(l.free)-1]
	l.busy++
	l.attempt(lane, slot, sec, body, nil, now)
}

// attempt sends the slot's request on lane to the next target whose
// breaker allows it, skipping skip.
func (l *evLoop) attempt(lane int32, slot int64, sec *second, body []byte, skip *target, now int64) {
	rs := l.rs
	t := rs.pick(now, skip)
	if t == nil {
		rs.noTarget.Add(1)
		l.release(lane, now)
		l.w.notSent(sec)
		l.w.count(sec, nil, outError)
		return
	}
	ti := l.w.targetIndex(t)
	c := l.conns[int(lane)*len(rs.targets)+ti]
	l.lanes[lane] = c
	t.sent.Add(1)
	c.slot, c.sec, c.body = slot, sec, body
	c.deadline = slot + 2*rs.timeout
	c.retried, c.redialed = false, false
	l.nextCheck = min(l.nextCheck, c.deadline)
	l.start(c, now)
}

// start sends c's request from its first byte, connecting first when c
// is closed.
func (l *evLoop) start(c *lconn, now int64) {
	c.woff, c.n, c.ans = 0, 0, answerReader{}
	h := &l.heads[c.ti]
	c.head = appendHead(c.head[:0], h[0], h[1], len(c.body))
	if c.fd < 0 {
		if err := l.connect(c, now); err != nil {
			l.dialFailed(c, &dialError{err: err}, now)
			return
		}
		if c.st == stConnecting {
			return
		}
	}
	c.st = stSending
	l.send(c, now)
}

// connect opens c's socket and starts a non-blocking connect.
func (l *evLoop) connect(c *lconn, now int64) error {
	sa := l.addrs[c.ti]
	family := unix.AF_INET
	if _, ok := sa.(*unix.SockaddrInet6); ok {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	// As Go's net package: no Nagle delay for a request written in one go.
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1) //nolint:errcheck // an optimisation only
	err = unix.Connect(fd, sa)
	if err != nil && err != unix.EINPROGRESS {
		unix.Close(fd)
		return os.NewSyscallError("connect", err)
	}
	c.fd, c.gen = fd, c.gen+1
	c.st, c.out = stIdle, false
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: c.id, Pad: c.gen}
	if err == unix.EINPROGRESS {
		c.st, c.out = stConnecting, true
		ev.Events |= unix.EPOLLOUT
		c.dialDeadline = min(now+l.rs.timeout, c.deadline)
		l.nextCheck = min(l.nextCheck, c.dialDeadline)
	}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.closeConn(c)
		return os.NewSyscallError("epoll_ctl", err)
	}
	if c.buf == nil {
		c.buf = make([]byte, l.rsize)
	}
	return nil
}

// preconnect opens every lane's connection to the first target before
// the schedule starts, as a bidder's pool of keep-alive connections is
// open before its traffic. Dialing on demand, a burst of slots (the start
// at a high rate, or a stall) opens that many connections at once. At
// 45k req/s over 4,000 connections the dials put rtbload behind its
// schedule, the late requests timed out and closed their connections,
// the next slots dialed again, and it never recovered: every request
// timed out, against the ceiling too. A connection that does not open
// within timeout is closed, and dialed on demand as before.
func (l *evLoop) preconnect(timeout time.Duration) {
	pending := 0
	for lane := range l.lanes {
		c := l.conns[lane*len(l.rs.targets)]
		if l.connect(c, 0) == nil && c.st == stConnecting {
			pending++
		}
	}
	deadline := time.Now().Add(timeout)
	for pending > 0 {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		n, err := l.epollWait(int64(left))
		if err != nil {
			continue // EINTR
		}
		for i := range n {
			ev := &l.events[i]
			if ev.Fd < 0 {
				continue // the nudge: not armed yet
			}
			c := l.conns[ev.Fd]
			if c.fd < 0 || c.gen != ev.Pad || c.st != stConnecting {
				continue
			}
			pending--
			if connectErr(c.fd) != nil {
				l.closeConn(c)
				continue
			}
			c.st = stIdle
			l.want(c, false)
		}
	}
	for _, c := range l.conns {
		if c.st == stConnecting {
			l.closeConn(c)
		}
	}
}

// connectErr is the outcome of fd's non-blocking connect, once the
// socket reported writable: nil when it connected.
func connectErr(fd int) error {
	errno, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err == nil && errno != 0 {
		err = os.NewSyscallError("connect", unix.Errno(errno))
	}
	return err
}

// connected finishes a non-blocking connect.
func (l *evLoop) connected(c *lconn, now int64) {
	if err := connectErr(c.fd); err != nil {
		l.closeConn(c)
		l.dialFailed(c, &dialError{err: err}, now)
		return
	}
	c.st = stSending
	l.send(c, now)
}

// dialFailed handles a connection that could not be opened: the request
// never left, so it moves to the next target, or with one target connects
// once more, within its deadline (as worker.do).
func (l *evLoop) dialFailed(c *lconn, err *dialError, now int64) {
	t := c.t
	if c.redialed {
		l.finish(c, now, err) // counted as the first one was not
		return
	}
	t.dialErrs.Add(1)
	t.br.failure(now)
	if now < c.slot+l.rs.timeout {
		if len(l.rs.targets) > 1 {
			l.attempt(c.lane, c.slot, c.sec, c.body, t, now)
			return
		}
		c.redialed = true
		t.retries.Add(1)
		l.start(c, now)
		return
	}
	l.finish(c, now, err)
}

// writev writes head and body with one writev, from offset woff.
func (c *lconn) writev() (int, error) {
	var iov [2]unix.Iovec
	n := 0
	if c.woff < len(c.head) {
		rest := c.head[c.woff:]
		iov[n].Base, iov[n].Len = &rest[0], uint64(len(rest))
		n++
	}
	if off := max(c.woff-len(c.head), 0); off < len(c.body) {
		rest := c.body[off:]
		iov[n].Base, iov[n].Len = &rest[0], uint64(len(rest))
		n++
	}
	if n == 0 {
		return 0, nil
	}
	w, _, e := unix.RawSyscall(unix.SYS_WRITEV, uintptr(c.fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(n))
	return rawResult(w, e)
}

// send writes what is left of c's request, then waits for room or for
// the answer.
func (l *evLoop) send(c *lconn, now int64) {
	total := len(c.head) + len(c.body)
	for c.woff < total {
		n, err := c.writev()
		if err == unix.EAGAIN {
			if !c.out {
				l.want(c, true)
			}
			return
		}
		if err != nil {
			l.failed(c, now, err)
			return
		}
		c.woff += n
	}
	c.st = stWaiting
	if c.out {
		l.want(c, false)
	}
}

// want registers or drops EPOLLOUT for c.
func (l *evLoop) want(c *lconn, out bool) {
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: c.id, Pad: c.gen}
	if out {
		ev.Events |= unix.EPOLLOUT
	}
	if unix.EpollCtl(l.epfd, unix.EPOLL_CTL_MOD, c.fd, &ev) == nil {
		c.out = out
	}
}

// readable reads what c's socket holds and follows the answer.
func (l *evLoop) readable(c *lconn, now int64) {
	if c.st == stIdle {
		// Bytes or the end of the stream on a connection with nothing in
		// flight: the server closed it between requests. The next
		// request connects afresh.
		l.closeConn(c)
		return
	}
	if c.n == len(c.buf) {
		l.failed(c, now, fmt.Errorf("%w: a head or line longer than the %d-byte read buffer", errAnswer, len(c.buf)))
		return
	}
	n, err := rawRead(c.fd, c.buf[c.n:])
	switch {
	case err == unix.EAGAIN || err == unix.EINTR:
		return
	case err != nil:
		l.failed(c, now, os.NewSyscallError("read", err))
		return
	case n == 0:
		if c.ans.eof() {
			l.answered(c, now, true)
			return
		}
		l.failed(c, now, io.EOF)
		return
	}
	c.n += n
	used, done, perr := c.ans.feed(c.buf[:c.n])
	if perr != nil {
		l.failed(c, now, perr)
		return
	}
	if done {
		// Bytes past the answer were never asked for: the connection
		// is out of step, so it is not kept.
		l.answered(c, now, used < c.n || c.st == stSending)
		return
	}
	c.n = copy(c.buf, c.buf[used:c.n])
}

// answered finishes c's request with its answer.
func (l *evLoop) answered(c *lconn, now int64, closeConn bool) {
	if c.ans.head.status == fasthttp.StatusRequestTimeout && (closeConn || c.ans.head.closeConn) {
		// See errIdleClosed: failed sends it once more.
		l.failed(c, now, errIdleClosed)
		return
	}
	l.w.resp.Header.SetStatusCode(c.ans.head.status)
	if closeConn || c.ans.head.closeConn {
		l.closeConn(c)
	} else {
		c.st = stIdle
	}
	l.finish(c, now, nil)
}

// failed handles a transport error on c's request: the connection is
// closed, and a request whose connection was closed or reset before its
// whole answer is sent once more, as connClient.DoDeadline does.
func (l *evLoop) failed(c *lconn, now int64, err error) {
	l.closeConn(c)
	if !c.retried && isConnClosed(err) {
		c.retried = true
		c.t.retries.Add(1)
		l.start(c, now)
		return
	}
	l.finish(c, now, err)
}

// finish counts c's request and frees its lane, which takes the next
// queued slot.
func (l *evLoop) finish(c *lconn, now int64, err error) {
	l.w.finish(c.slot, now, c.sec, c.t, err)
	c.body = nil
	l.release(c.lane, now)
}

func (l *evLoop) release(lane int32, now int64) {
	l.lanes[lane] = nil
	l.free = append(l.free, lane)
	l.busy--
	l.drain(now)
}

// checkDeadlines ends the requests whose deadline passed: a connect at
// the timeout is a dial error, an answer at twice the timeout after its
// slot a timeout. It sets nextCheck to the earliest deadline left.
func (l *evLoop) checkDeadlines(now int64) {
	next := now + int64(maxSleep)
	for _, c := range l.lanes {
		if c == nil {
			continue
		}
		switch {
		case c.st == stConnecting && now >= c.dialDeadline:
			l.closeConn(c)
			l.dialFailed(c, errLoopDialTimeout, now)
		case c.st != stConnecting && now >= c.deadline:
			l.closeConn(c)
			l.finish(c, now, errLoopTimeout)
		}
	}
	for _, c := range l.lanes {
		switch {
		case c == nil:
		case c.st == stConnecting:
			next = min(next, c.dialDeadline)
		default:
			next = min(next, c.deadline)
		}
	}
	l.nextCheck = next
}

// wait waits for the next slot, an event or the next deadline, and serves
// the ready connections. Within spinFor(interval) of the slot it spins,
// as the pacer does: on the clock alone when the slot is due within
// spinQuiet (an answer that arrives meanwhile waits that long at most),
// else polling the connections. Above 50k slots a second, with answers
// due, it sleeps until one comes (see nudgePeriod). It reports whether
// it spun: returned at once to read the clock again.
func (l *evLoop) wait(now, slot, interval int64, more bool) (spun bool) {
	timeout, spin := l.waitFor(now, slot, interval, more)
	if spin {
		return true
	}
	l.setNudge(timeout < 0)
	n, err := l.epollWait(timeout)
	if err != nil {
		return false // EINTR
	}
	// The batch's answers arrived by now: one clock read serves them all.
	now = l.rs.clock.now()
	for i := range n {
		ev := &l.events[i]
		if ev.Fd < 0 {
			// The nudge: the loop goes round. A periodic timerfd re-arms
			// only when read.
			var b [8]byte
			rawRead(l.nudge, b[:]) //nolint:errcheck // EAGAIN: read already
			continue
		}
		c := l.conns[ev.Fd]
		if c.fd < 0 || c.gen != ev.Pad {
			continue // closed, or reopened, since the event
		}
		switch c.st {
		case stConnecting:
			l.connected(c, now)
			continue
		case stSending:
			if ev.Events&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) != 0 {
				l.send(c, now)
			}
		}
		// A failed send may have started a new connect on c: not readable yet.
		if c.fd >= 0 && ev.Events&(unix.EPOLLIN|unix.EPOLLERR|unix.EPOLLHUP) != 0 && c.st != stConnecting {
			l.readable(c, now)
		}
	}
	return false
}

// waitFor returns how long wait may block in epoll (0: poll, -1: until
// an answer or the nudge), or spin when it should not block at all.
func (l *evLoop) waitFor(now, slot, interval int64, more bool) (timeout int64, spin bool) {
	limit := max(min(l.nextCheck-now, int64(maxSleep)), 0)
	if !more {
		return limit, false
	}
	ahead := slot - now
	switch {
	case ahead <= int64(spinQuiet):
		return 0, true
	case ahead <= loopSpin(interval):
		return 0, false
	case interval < int64(tickBelow) && l.busy > 0 && l.nudge >= 0:
		return -1, false
	}
	return min(ahead-loopSpin(interval), limit), false
}

// loopSpin is how long before a slot the loop stops sleeping: the
// pacer's spin (see spinFor), which absorbs a wake-up's delay, but at
// most maxLoopSpin, because the loop's timers have no slack.
func loopSpin(interval int64) int64 {
	return min(int64(spinFor(interval)), int64(maxLoopSpin))
}

// maxLoopSpin bounds the loop's spin before a slot. With no timer slack
// (preciseTimers) its waits end within a few microseconds here. Against
// rtbd at 5k and 20k req/s, a 5 or 10 us spin kept the slack-free
// latencies (20k: p50 31-33 us, p90 44-49 us) at the CPU that rtbload
// spent with the default slack and no cap (1.30-1.39 s against
// 1.34-1.36 s per 4 s run); the uncapped spin (up to 200 us) cost
// 1.83-2.00 s.
const maxLoopSpin = 10 * time.Microsecond

// preciseTimers sets the timer slack of the calling goroutine's thread,
// which it locks, to 1 ns, and returns the slack the kernel then reports
// and a function that restores the thread's slack and unlocks it.
//
// Linux lets a sleep with a timeout (epoll_pwait2 here) end up to the
// thread's timer slack late, 50 us by default, so that it can batch
// wake-ups. A slot sent late counts in its latency, which is measured
// from the slot: against rtbd at 20k req/s, the default slack put p50
// at 43-60 us and p90 at 76-92 us, and 1 ns at 30-42 us and 42-57 us
// (4 interleaved pairs of 4 s runs).
func preciseTimers() (slack int, restore func()) {
	runtime.LockOSThread()
	old, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		return 0, runtime.UnlockOSThread
	}
	unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0) //nolint:errcheck // read back below
	slack, _ = unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	return slack, func() {
		unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(old), 0, 0, 0) //nolint:errcheck // as it was
		runtime.UnlockOSThread()
	}
}

// Above 50k slots a second, with answers due, the loop sleeps until one
// of them wakes it, and sends the slots due by then with it, instead of
// arming a timer for each slot as well. Measured against the ceiling at
// 64k req/s (3 interleaved runs each), a timer per wait cost rtbload
// 12.3-13.0 us of CPU per request (13.4-14.4 us with a 40 us periodic
// timer) against 10.9-11.4 us waking on answers alone: in a VM, arming
// and firing the timer that ends a sleep is a VM exit each. While the
// loop sleeps on answers alone the nudge ticks every nudgePeriod, which
// bounds how late a slot goes out when the server stops answering.
const nudgePeriod = time.Millisecond

// setNudge starts or stops the nudge.
func (l *evLoop) setNudge(on bool) {
	if l.nudging == on || l.nudge < 0 {
		return
	}
	var its unix.ItimerSpec
	if on {
		its.Value = unix.NsecToTimespec(int64(nudgePeriod))
		its.Interval = its.Value
	}
	if unix.TimerfdSettime(l.nudge, 0, &its, nil) == nil {
		l.nudging = on
	}
}

// spinQuiet is how close to its slot the loop spins on the clock alone:
// a poll costs a system call, and at 40k req/s polling through the spin
// made 2.4 of them per request.
const spinQuiet = 5 * time.Microsecond

// The loop's system calls go without the runtime's syscall bookkeeping
// (RawSyscall), its waits included. Through syscall.Syscall, every wait
// put the loop's P in a system call, and on a core of its own (one P, none
// idle) sysmon then takes the P back after 20 us and goes on polling every
// 20 us instead of backing off to 10 ms: perf put a tenth of rtbload's CPU
// at 50k req/s in sysmon and the context switches to it. Raw, the loop's
// goroutine is always running to the runtime, which preempts it with a
// signal after 10 ms of that, as it preempts any long-running goroutine;
// a wait then ends early with EINTR, as it does for the garbage
// collector's stops. The loop's waits last at most maxSleep (50 ms), so
// another goroutine on its P waits that long at most.

func rawRead(fd int, b []byte) (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return rawResult(n, e)
}

// epollWait waits up to timeout nanoseconds (0: not at all, -1: until an
// event) with epoll_pwait2, or with epoll_wait in milliseconds, rounded
// up, where that is missing.
func (l *evLoop) epollWait(timeout int64) (int, error) {
	events, max := uintptr(unsafe.Pointer(&l.events[0])), uintptr(len(l.events))
	if timeout > 0 && !l.noPwait2 {
		ts := unix.NsecToTimespec(timeout)
		n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT2, uintptr(l.epfd), events, max, uintptr(unsafe.Pointer(&ts)), 0, 0)
		if e != unix.ENOSYS {
			return rawResult(n, e)
		}
		l.noPwait2 = true
	}
	ms := int(timeout)
	if timeout > 0 {
		ms = int((timeout + int64(time.Millisecond) - 1) / int64(time.Millisecond))
	}
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(l.epfd), events, max, uintptr(ms), 0, 0)
	return rawResult(n, e)
}

func rawResult(n uintptr, e unix.Errno) (int, error) {
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func (l *evLoop) closeConn(c *lconn) {
	if c.fd < 0 {
		return
	}
	unix.Close(c.fd) // also leaves the epoll set
	c.fd, c.st, c.out = -1, stClosed, false
}

func (l *evLoop) close() {
	for _, c := range l.conns {
		l.closeConn(c)
	}
	if l.nudge >= 0 {
		unix.Close(l.nudge)
		l.nudge = -1
	}
	if l.epfd >= 0 {
		unix.Close(l.epfd)
		l.epfd = -1
	}
}

// startLoop returns the event loop's run function for cfg and the worker
// that holds its counters, or nil when the goroutine engine is to send:
// asked for, or needed for https, a custom dialer or a target that does
// not resolve (the latter only when not asked for the loop).
func startLoop(cfg *Config, rs *runState, p *pacer) (func(), *worker, error) {
	if cfg.Engine == EngineGoroutines || cfg.Dial != nil || cfg.newDoer != nil {
		return nil, nil, nil
	}
	addrs, err := loopAddrs(rs.targets)
	if err == nil {
		var l *evLoop
		if l, err = newLoop(cfg, rs, p, addrs); err == nil {
			return l.run, l.w, nil
		}
	}
	if cfg.Engine == EngineLoop {
		return nil, nil, err
	}
	return nil, nil, nil
}

// loopSupported: the event loop (EngineLoop) runs here.
const loopSupported = true
