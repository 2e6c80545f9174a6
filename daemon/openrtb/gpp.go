package openrtb

import "errors"

// GPP section ids (IAB Global Privacy Platform, "Section Information").
const (
	GPPTCFEU  = 2 // tcfeuv2: a TCF v2 core string
	GPPTCFCA  = 5 // tcfcav1
	GPPUSP    = 6 // uspv1: the four-character US Privacy string
	GPPUSNat  = 7 // usnat: US national
	gppMaxSID = 63
)

// Errors of [DecodeGPP].
var (
	errGPPHeader    = errors.New("gpp: header is not type 3 version 1")
	errGPPTruncated = errors.New("gpp: header ends inside its section list")
	errGPPSections  = errors.New("gpp: section ids out of order or too large")
	errGPPCount     = errors.New("gpp: section count differs from the sections sent")
	errGPPChar      = errors.New("gpp: character outside base64url in the header")
)

// GPP is a decoded GPP string: the section ids of its header and the text
// of each section, in the same order. It holds no copies.
type GPP struct {
	n     int
	ids   [gppMaxSections]uint8
	texts [gppMaxSections][]byte
}

// gppMaxSections bounds the sections read from one string; the header
// lists each id at most once and ids above gppMaxSID are refused.
const gppMaxSections = 24

// Section returns the text of section id and whether the string has it.
func (g *GPP) Section(id int) ([]byte, bool) {
	for i := range g.n {
		if int(g.ids[i]) == id {
			return g.texts[i], true
		}
	}
	return nil, false
}

// Len returns the number of sections; ID returns the i-th section's id.
func (g *GPP) Len() int     { return g.n }
func (g *GPP) ID(i int) int { return int(g.ids[i]) }

// DecodeGPP splits a GPP string: a base64url header (type 3, version 1,
// then the section ids as a Fibonacci-coded range list) and one '~'
// separated section per id. It does not allocate.
func DecodeGPP(s []byte, g *GPP) error {
	g.n = 0
	end := len(s)
	for i, c := range s {
		if c == '~' {
			end = i
			break
		}
	}
	head := s[:end]
	for _, c := range head {
		if b64Bits[c] > 63 {
			return errGPPChar
		}
	}
	r := bitReader{s: head}
	if r.read(6) != 3 || r.read(6) != 1 {
		return errGPPHeader
	}
	entries := int(r.read(12))
	if r.short {
		return errGPPTruncated
	}
	last := 0
	for range entries {
		ranged := r.read(1) == 1
		start := last + r.fibonacci()
		stop := start
		if ranged {
			stop = start + r.fibonacci()
		}
		if r.short {
			return errGPPTruncated
		}
		if start <= last || stop > gppMaxSID {
			return errGPPSections
		}
		for id := start; id <= stop; id++ {
			if g.n == gppMaxSections {
				return errGPPSections
			}
			g.ids[g.n] = uint8(id)
			g.n++
		}
		last = stop
	}
	rest := s[end:]
	for i := range g.n {
		if len(rest) == 0 || rest[0] != '~' {
			g.n = 0
			return errGPPCount
		}
		rest = rest[1:]
		j := 0
		for j < len(rest) && rest[j] != '~' {
			j++
		}
		g.texts[i] = rest[:j:j]
		rest = rest[j:]
	}
	if len(rest) != 0 {
		g.n = 0
		return errGPPCount
	}
	return nil
}

// fibonacci reads a Fibonacci-coded positive integer: bit k adds the
// (k+2)-th Fibonacci number (1, 2, 3, 5, ...), and two consecutive ones
// end it. It gives up at 16 bits, past any valid section id.
func (r *bitReader) fibonacci() int {
	v, a, b := 0, 1, 2
	prev := uint64(0)
	for range 16 {
		bit := r.read(1)
		if r.short {
			return 0
		}
		if bit == 1 && prev == 1 {
			return v
		}
		if bit == 1 {
			v += a
		}
		prev = bit
		a, b = b, a+b
	}
	r.short = true
	return 0
}

// USNat is what rtbd reads from a usnat section (versions 1 and 2).
type USNat struct {
	// Opted out of the sale or sharing of personal data, or of targeted
	// advertising (fields equal to 1).
	OptedOut bool
	// ChildNoConsent is set when a known child's sensitive data
	// consent field is 1 (no consent).
	ChildNoConsent bool
}

// usnatV2Bits is the length of a version 2 usnat core segment; version 1
// has 60 bits.
const usnatV2Bits = 70

var (
	errUSNatVersion   = errors.New("gpp: usnat section is not version 1 or 2")
	errUSNatTruncated = errors.New("gpp: usnat section too short")
	errUSNatChar      = errors.New("gpp: character outside base64url in the usnat section")
)

// DecodeUSNat decodes the core segment of a usnat section: version (6
// bits), six notice fields and the SaleOptOut, SharingOptOut and
// TargetedAdvertisingOptOut fields (2 bits each: 0 not applicable,
// 1 opted out, 2 did not opt out), then 12 (version 1) or 16 (version 2,
// or a version 1 label on a segment of version 2's length)
// sensitive-data fields and 2 or 3 known-child consent fields (1 is no
// consent), then PersonalDataConsents and three MSPA fields (2 bits
// each). Sub-sections after a '.' (the GPC segment) are not read.
func DecodeUSNat(s []byte) (USNat, error) {
	var u USNat
	for i, c := range s {
		if c == '.' {
			s = s[:i]
			break
		}
	}
	for _, c := range s {
		if b64Bits[c] > 63 {
			return u, errUSNatChar
		}
	}
	r := bitReader{s: s}
	ver := r.read(6)
	if ver != 1 && ver != 2 {
		return u, errUSNatVersion
	}
	r.pos = 6 + 6*2
	for range 3 {
		if r.read(2) == 1 {
			u.OptedOut = true
		}
	}
	sensitive, children := 12, 2
	if ver == 2 || len(s)*6 >= usnatV2Bits {
		// Some encoders send the version 2 layout labelled 1; its
		// length tells it apart (iabgpp-java does the same).
		sensitive, children = 16, 3
	}
	r.pos += 2 * sensitive
	for range children {
		if r.read(2) == 1 {
			u.ChildNoConsent = true
		}
	}
	// PersonalDataConsents and the three MSPA fields end the segment.
	if r.read(8); r.short {
		return USNat{}, errUSNatTruncated
	}
	return u, nil
}
