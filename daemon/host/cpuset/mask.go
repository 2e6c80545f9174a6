package cpuset

import (
	"fmt"
	"strconv"
	"strings"
)

// Mask returns s as the kernel's hex mask: 32-bit groups, most significant
// first, separated by commas, the first group without leading zeros and the
// others zero-padded to 8 digits ("ff,ffffffff" is CPUs 0-39). The empty set
// is "0", which is what disables RPS in rps_cpus. See [CPUSet.MaskWidth] for
// the fixed-width form the kernel prints.
func (s CPUSet) Mask() string { return s.MaskWidth(0) }

// MaskWidth is [CPUSet.Mask] padded to at least nbits bits, the way the
// kernel prints a mask of nr_cpu_ids bits: with nbits 40, CPUs 0-3 are
// "00,0000000f".
func (s CPUSet) MaskWidth(nbits int) string {
	n := max(s.Max()+1, nbits, 1)
	groups := (n + 31) / 32
	var b strings.Builder
	for g := groups - 1; g >= 0; g-- {
		v := s.group(g)
		if g == groups-1 {
			digits := ((n-1)%32)/4 + 1
			fmt.Fprintf(&b, "%0*x", digits, v)
			continue
		}
		fmt.Fprintf(&b, ",%08x", v)
	}
	return b.String()
}

func (s CPUSet) group(g int) uint32 {
	if g/2 >= len(s.w) {
		return 0
	}
	return uint32(s.w[g/2] >> (32 * (g % 2)))
}

// ParseMask parses the kernel's hex mask form ("ff,ffffffff"; "0x" prefix
// and surrounding white space allowed). Groups other than the first must be
// 1 to 8 hex digits; the kernel writes them as 8.
func ParseMask(s string) (CPUSet, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if s == "" {
		return CPUSet{}, fmt.Errorf("cannot parse CPU mask: empty mask")
	}
	groups := strings.Split(s, ",")
	if len(groups)*32 > MaxCPUs {
		return CPUSet{}, fmt.Errorf("cannot parse CPU mask %q: more than %d CPUs", s, MaxCPUs)
	}
	w := make([]uint64, (len(groups)+1)/2)
	for i, g := range groups {
		idx := len(groups) - 1 - i // group 0 is the least significant
		if g == "" || len(g) > 8 {
			return CPUSet{}, fmt.Errorf("cannot parse CPU mask %q: group %q must have 1 to 8 hex digits", s, g)
		}
		v, err := strconv.ParseUint(g, 16, 32)
		if err != nil {
			return CPUSet{}, fmt.Errorf("cannot parse CPU mask %q: invalid hex group %q", s, g)
		}
		w[idx/2] |= v << (32 * (idx % 2))
	}
	return trim(w), nil
}
