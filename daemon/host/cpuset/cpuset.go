// Package cpuset is a set of CPU numbers with the kernel's two text forms:
// the CPU list ("0-3,8,10-11", as in /proc/irq/N/smp_affinity_list and
// /sys/devices/system/cpu/online) and the hex mask ("ff,ffffffff", as in
// /proc/irq/N/smp_affinity and /sys/class/net/IF/queues/rx-N/rps_cpus).
package cpuset

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// MaxCPUs bounds the CPU numbers a [CPUSet] accepts. It is the kernel's
// largest NR_CPUS (CONFIG_MAXSMP), so every real host fits and a typo such
// as "0-40000000" is an error instead of a huge allocation.
const MaxCPUs = 8192

// CPUSet is an immutable set of CPU numbers in [0, MaxCPUs). The zero value
// is the empty set. Methods never modify the receiver, so a CPUSet may be
// shared between goroutines.
type CPUSet struct {
	w []uint64 // bit i of w[i/64] is CPU i; no trailing zero words
}

// Of returns the set of the given CPUs. It panics on a CPU outside
// [0, MaxCPUs): callers pass constants.
func Of(cpus ...int) CPUSet {
	var s CPUSet
	for _, c := range cpus {
		if c < 0 || c >= MaxCPUs {
			panic(fmt.Sprintf("BUG: cpu %d out of range [0, %d)", c, MaxCPUs))
		}
		s.w = setBit(s.w, c)
	}
	return s
}

// Range returns the set of CPUs lo..hi inclusive, or the empty set when
// hi < lo. It panics on a CPU outside [0, MaxCPUs).
func Range(lo, hi int) CPUSet {
	if hi < lo {
		return CPUSet{}
	}
	if lo < 0 || hi >= MaxCPUs {
		panic(fmt.Sprintf("BUG: cpu range %d-%d out of range [0, %d)", lo, hi, MaxCPUs))
	}
	var w []uint64
	for c := lo; c <= hi; c++ {
		w = setBit(w, c)
	}
	return CPUSet{w: w}
}

func setBit(w []uint64, c int) []uint64 {
	for len(w) <= c/64 {
		w = append(w, 0)
	}
	w[c/64] |= 1 << (c % 64)
	return w
}

// trim drops trailing zero words so that equal sets have equal words.
func trim(w []uint64) CPUSet {
	for len(w) > 0 && w[len(w)-1] == 0 {
		w = w[:len(w)-1]
	}
	if len(w) == 0 {
		return CPUSet{}
	}
	return CPUSet{w: w}
}

// ParseCPUList parses the kernel's CPU list form: comma-separated CPU
// numbers and inclusive ranges ("0-3,8,10-11"). Surrounding white space
// (the trailing newline of a sysfs file) is ignored and an empty list is
// the empty set. Anything else, including descending ranges, empty
// elements and CPUs at or above [MaxCPUs], is an error naming the element.
func ParseCPUList(s string) (CPUSet, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return CPUSet{}, nil
	}
	var w []uint64
	for _, elem := range strings.Split(s, ",") {
		lo, hi, err := parseRange(elem)
		if err != nil {
			return CPUSet{}, fmt.Errorf("cannot parse CPU list %q: %w", s, err)
		}
		for c := lo; c <= hi; c++ {
			w = setBit(w, c)
		}
	}
	return trim(w), nil
}

func parseRange(elem string) (lo, hi int, err error) {
	if elem == "" {
		return 0, 0, fmt.Errorf("empty element")
	}
	a, b, isRange := strings.Cut(elem, "-")
	if lo, err = parseCPU(a); err != nil {
		return 0, 0, err
	}
	if !isRange {
		return lo, lo, nil
	}
	if hi, err = parseCPU(b); err != nil {
		return 0, 0, err
	}
	if hi < lo {
		return 0, 0, fmt.Errorf("descending range %q", elem)
	}
	return lo, hi, nil
}

func parseCPU(s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("missing CPU number")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("invalid CPU number %q", s)
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n >= MaxCPUs {
		return 0, fmt.Errorf("CPU %q out of range [0, %d)", s, MaxCPUs)
	}
	return n, nil
}

// MustParseCPUList is [ParseCPUList] for constants: it panics on error.
func MustParseCPUList(s string) CPUSet {
	c, err := ParseCPUList(s)
	if err != nil {
		panic("BUG: " + err.Error())
	}
	return c
}

// String returns the canonical CPU list: ascending, ranges of two or more
// adjacent CPUs joined with "-" ("0-3,8,10-11"); the empty set is "".
func (s CPUSet) String() string {
	var b strings.Builder
	cpus := s.CPUs()
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(cpus[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(cpus[j]))
		}
		i = j + 1
	}
	return b.String()
}

// CPUs returns the CPUs in ascending order.
func (s CPUSet) CPUs() []int {
	cpus := make([]int, 0, s.Len())
	for i, w := range s.w {
		for w != 0 {
			b := bits.TrailingZeros64(w)
			cpus = append(cpus, i*64+b)
			w &^= 1 << b
		}
	}
	return cpus
}

// Len returns the number of CPUs in s.
func (s CPUSet) Len() int {
	n := 0
	for _, w := range s.w {
		n += bits.OnesCount64(w)
	}
	return n
}

// IsEmpty reports whether s has no CPU.
func (s CPUSet) IsEmpty() bool { return len(s.w) == 0 }

// Has reports whether cpu is in s.
func (s CPUSet) Has(cpu int) bool {
	return cpu >= 0 && cpu/64 < len(s.w) && s.w[cpu/64]&(1<<(cpu%64)) != 0
}

// Max returns the highest CPU in s, or -1 for the empty set.
func (s CPUSet) Max() int {
	if len(s.w) == 0 {
		return -1
	}
	last := len(s.w) - 1
	return last*64 + 63 - bits.LeadingZeros64(s.w[last])
}

// Equal reports whether s and o hold the same CPUs.
func (s CPUSet) Equal(o CPUSet) bool {
	if len(s.w) != len(o.w) {
		return false
	}
	for i := range s.w {
		if s.w[i] != o.w[i] {
			return false
		}
	}
	return true
}

// Union returns the CPUs in s or o.
func (s CPUSet) Union(o CPUSet) CPUSet {
	a, b := s.w, o.w
	if len(a) < len(b) {
		a, b = b, a
	}
	w := append([]uint64(nil), a...)
	for i := range b {
		w[i] |= b[i]
	}
	return trim(w)
}

// Intersect returns the CPUs in both s and o.
func (s CPUSet) Intersect(o CPUSet) CPUSet {
	w := make([]uint64, min(len(s.w), len(o.w)))
	for i := range w {
		w[i] = s.w[i] & o.w[i]
	}
	return trim(w)
}

// Difference returns the CPUs in s that are not in o.
func (s CPUSet) Difference(o CPUSet) CPUSet {
	w := append([]uint64(nil), s.w...)
	for i := 0; i < len(w) && i < len(o.w); i++ {
		w[i] &^= o.w[i]
	}
	return trim(w)
}

// Complement returns the CPUs of within that are not in s: the housekeeping
// CPUs are isolated.Complement(online).
func (s CPUSet) Complement(within CPUSet) CPUSet { return within.Difference(s) }

// IsSubsetOf reports whether every CPU of s is in o.
func (s CPUSet) IsSubsetOf(o CPUSet) bool { return s.Difference(o).IsEmpty() }

// Intersects reports whether s and o share a CPU.
func (s CPUSet) Intersects(o CPUSet) bool { return !s.Intersect(o).IsEmpty() }
