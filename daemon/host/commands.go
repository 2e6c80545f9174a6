package host

import (
	"io"

	"github.com/rtbd/rtbd/daemon/host/doctor"
	"github.com/rtbd/rtbd/daemon/host/irq"
)

// IRQMain runs `rtbd irq` with args (without the sub-command name) and
// returns the exit code: 0 ok, 1 failures, 2 bad flags. See package irq.
func IRQMain(args []string, stdout, stderr io.Writer) int { return irq.Main(args, stdout, stderr) }

// DoctorMain runs `rtbd doctor` with args (without the sub-command name)
// and returns the exit code: 0 nothing failed, 1 a check failed (or warned,
// with -strict), 2 bad flags, 3 the isolation checks had nothing to
// compare against (see doctor.ExitNothingToCompare). See package doctor.
func DoctorMain(args []string, stdout, stderr io.Writer) int {
	return doctor.Main(args, stdout, stderr)
}
