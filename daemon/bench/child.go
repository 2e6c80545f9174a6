package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a server process started by the bench: pinned to the server
// core, GOMAXPROCS=1, killed with the bench.
type child struct {
	name   string
	cmd    *exec.Cmd
	stderr *tailBuffer
	exited chan struct{}
}

// startChild starts bin with args on cpu (-1: no pinning) and GOMAXPROCS=1.
// The child gets SIGKILL when the bench dies, so a crash or Ctrl-C never
// leaves a server behind.
func startChild(name, bin string, args []string, cpu int) (*child, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	cmd.SysProcAttr = childAttr()
	c := &child{name: name, cmd: cmd, stderr: &tailBuffer{max: 16 << 10}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = c.stderr, c.stderr
	if err := startPinned(cmd, cpu); err != nil {
		return nil, fmt.Errorf("cannot start %s: %w", name, err)
	}
	go func() { _ = cmd.Wait(); close(c.exited) }()
	return c, nil
}

// stop ends the child: SIGTERM, then SIGKILL after a second.
func (c *child) stop() {
	if c == nil || c.cmd.Process == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}

// cpuTime returns the child's user + system CPU time so far.
func (c *child) cpuTime() (time.Duration, error) {
	return procCPUTime(c.cmd.Process.Pid)
}

// waitReady polls url until it answers 200, the child exits or timeout
// passes. With post set it sends a bid request body.
func (c *child) waitReady(ctx context.Context, url string, post []byte, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for {
		err := probe(ctx, client, url, post)
		if err == nil {
			return nil
		}
		select {
		case <-c.exited:
			return fmt.Errorf("%s exited before it was ready: %s", c.name, c.stderr.String())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready at %s after %s: %w; its log: %s", c.name, url, timeout, err, c.stderr.String())
		}
	}
}

func probe(ctx context.Context, client *http.Client, url string, post []byte) error {
	method, body := http.MethodGet, io.Reader(nil)
	if post != nil {
		method, body = http.MethodPost, bytes.NewReader(post)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// freePorts returns n distinct free loopback ports. They are free when
// checked; a process that grabs one before the child binds it makes the
// child fail to start, which the bench reports.
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("cannot find a free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat;
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// procCPUTime reads utime + stime of process pid from /proc/PID/stat.
func procCPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("cannot read CPU time of process %d: %w", pid, err)
	}
	return parseProcStatCPU(string(b))
}

// parseProcStatCPU returns utime + stime from the text of /proc/PID/stat.
// The command name in parentheses may contain spaces, so the fields are
// counted after its closing parenthesis: state is field 3, utime 14 and
// stime 15 (proc(5)).
func parseProcStatCPU(s string) (time.Duration, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("cannot parse /proc/PID/stat: no command name")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("cannot parse /proc/PID/stat: %d fields after the name", len(f))
	}
	var ticks int64
	for _, field := range f[11:13] { // fields 14 and 15
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("cannot parse /proc/PID/stat CPU field %q", field)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// tailBuffer keeps the last max bytes written to it; safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}
