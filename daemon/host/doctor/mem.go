package doctor

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

func (h *host) checkHugepages(name, dir string, want int) Result {
	r := Result{Check: name}
	if want > 0 {
		r.Want = strconv.Itoa(want)
	}
	base := "sys/kernel/mm/hugepages/" + dir + "/"
	nrS, err := h.read(base + "nr_hugepages")
	if err != nil {
		r.Got = "absent"
		if want > 0 {
			return fail(r, "no "+dir+" hugepages on this kernel")
		}
		return r
	}
	freeS, _ := h.read(base + "free_hugepages")
	nr, err := strconv.Atoi(nrS)
	if err != nil {
		r.Got = nrS
		return fail(r, "cannot parse nr_hugepages")
	}
	r.Got = fmt.Sprintf("%d (free %s)", nr, freeS)
	switch {
	case want == 0:
		return r
	case nr < want:
		return fail(r, fmt.Sprintf("%d pages missing", want-nr))
	case nr > want:
		return warn(r, fmt.Sprintf("%d pages more than wanted", nr-want))
	}
	return r
}

// bracketed returns the [selected] word of a sysfs choice file such as
// "always madvise [never]".
func bracketed(s string) string {
	_, after, ok := strings.Cut(s, "[")
	if !ok {
		return s
	}
	v, _, _ := strings.Cut(after, "]")
	return v
}

func (h *host) checkTHP() Result {
	r := Result{Check: "thp", Want: h.want.THP}
	s, err := h.read("sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		r.Got = "absent"
		if h.want.THP != "" {
			return warn(r, "no transparent hugepage support")
		}
		return r
	}
	r.Got = bracketed(s)
	if h.want.THP != "" && r.Got != h.want.THP {
		return fail(r, "transparent hugepage mode differs")
	}
	return r
}

func (h *host) checkSwap() Result {
	r := Result{Check: "swap"}
	if h.want.NoSwap {
		r.Want = "none"
	}
	f, err := os.Open(h.path("proc/swaps"))
	if err != nil {
		r.Got = "unreadable"
		return warn(r, err.Error())
	}
	defer f.Close()
	var devs []string
	sc := bufio.NewScanner(f)
	for first := true; sc.Scan(); first = false {
		if fields := strings.Fields(sc.Text()); !first && len(fields) > 0 {
			devs = append(devs, fields[0])
		}
	}
	if len(devs) == 0 {
		r.Got = "none"
		return r
	}
	r.Got = strings.Join(devs, ",")
	if h.want.NoSwap {
		return fail(r, "swap is active")
	}
	return warn(r, "swap is active: paging stalls the daemon")
}

func (h *host) checkClockSource() Result {
	r := Result{Check: "clocksource", Want: h.want.ClockSource}
	s, err := h.read("sys/devices/system/clocksource/clocksource0/current_clocksource")
	if err != nil {
		r.Got = "absent"
		return warn(r, err.Error())
	}
	r.Got = s
	if h.want.ClockSource != "" && s != h.want.ClockSource {
		return fail(r, "clock source differs")
	}
	return r
}
