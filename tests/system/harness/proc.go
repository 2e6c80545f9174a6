package harness

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Proc is a process started in a namespace, with its output in a log
// file. It is killed (with its process group) at the end of the test.
type Proc struct {
	Name string
	Log  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// ProcSpec describes a process to start.
type ProcSpec struct {
	Name  string // for logs: "rtbd-b1"
	NS    *Netns
	Argv  []string
	Env   []string   // added to the test's environment
	Files []*os.File // passed as fd 3, 4, ...
	// Stdout, when set, receives the standard output instead of the log.
	Stdout *bytes.Buffer
}

// Start starts spec under `ip netns exec`, which enters the namespace and
// execs the program, so the process id is the program's own.
func Start(tb testing.TB, spec ProcSpec) *Proc {
	tb.Helper()
	logPath := filepath.Join(tb.TempDir(), spec.Name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		tb.Fatalf("cannot create log: %v", err)
	}
	args := append([]string{"netns", "exec", spec.NS.Name}, spec.Argv...)
	cmd := exec.Command("ip", args...)
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.ExtraFiles = spec.Files
	cmd.Stdout, cmd.Stderr = f, f
	if spec.Stdout != nil {
		cmd.Stdout = spec.Stdout
	}
	// Pdeathsig: if the test binary dies before its cleanups run (a go
	// test timeout), the process dies with it instead of holding the
	// namespace; RemoveStale deletes the namespace on the next run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		tb.Fatalf("cannot start %s: %v", spec.Name, err)
	}
	p := &Proc{Name: spec.Name, Log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	tb.Cleanup(func() {
		p.KillGroup()
		if tb.Failed() || os.Getenv("RTBD_SYSTEM_LOGS") != "" {
			tb.Logf("--- %s log (tail) ---\n%s", p.Name, tail(p.Log, 3000))
		}
	})
	return p
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the process alone.
func (p *Proc) Signal(sig syscall.Signal) error {
	return syscall.Kill(p.Pid(), sig)
}

// KillGroup sends SIGKILL to the process and every child in its group
// (keepalived's VRRP child and check scripts) and waits for the exit.
func (p *Proc) KillGroup() {
	select {
	case <-p.done:
	default:
		_ = syscall.Kill(-p.Pid(), syscall.SIGKILL)
		<-p.done
	}
	// Children that outlive a killed parent are in the group too.
	_ = syscall.Kill(-p.Pid(), syscall.SIGKILL)
}

// Wait waits at most d for the process to exit and returns its exit code.
func (p *Proc) Wait(d time.Duration) (int, error) {
	select {
	case <-p.done:
	case <-time.After(d):
		return -1, fmt.Errorf("%s did not exit within %s", p.Name, d)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode(), nil
	}
	if p.err != nil {
		return -1, p.err
	}
	return 0, nil
}

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// LogText returns the process's log so far.
func (p *Proc) LogText() string {
	b, _ := os.ReadFile(p.Log)
	return string(b)
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimRight(string(b), "\n")
}

// Poll calls cond every interval until it returns true or d passes, and
// returns the last error with a timeout message.
func Poll(d, interval time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(d)
	var last error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		last = err
		if time.Now().After(deadline) {
			if last != nil {
				return fmt.Errorf("condition not met within %s: %w", d, last)
			}
			return fmt.Errorf("condition not met within %s", d)
		}
		time.Sleep(interval)
	}
}
