//go:build !linux

package bench

import (
	"errors"
	"os/exec"
	"syscall"
	"time"
)

func pinProcess(int, int) error { return errors.New("CPU pinning needs Linux") }

func startPinned(cmd *exec.Cmd, cpu int) error {
	if cpu >= 0 {
		return errors.New("CPU pinning needs Linux")
	}
	return cmd.Start()
}

func affinityOf(int) string { return "unknown" }

func selfCPUTime() time.Duration { return 0 }

func childAttr() *syscall.SysProcAttr { return nil }
