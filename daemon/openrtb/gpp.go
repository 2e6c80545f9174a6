package openrtb

import (
	"bytes"
	"errors"
)

// GPP section ids (IAB Global Privacy Platform, "Section Information").
const (
	GPPTCFEU = 2 // tcfeuv2: a TCF v2 core string
	GPPTCFCA = 5 // tcfcav1
	GPPUSP   = 6 // uspv1: the four-character US Privacy string
	GPPUSNat = 7 // usnat: US national
	GPPUSCA  = 8 // usca: California
	// US state sections with the common layout, decoded by
	// [DecodeUSState]: usva 9 (Virginia) to usmn 23 (Minnesota).
	GPPUSVA   = 9
	GPPUSMN   = 23
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
	head := upTo(s, '~')
	if !validB64(head) {
		return errGPPChar
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
	rest := s[len(head):]
	for i := range g.n {
		if len(rest) == 0 || rest[0] != '~' {
			g.n = 0
			return errGPPCount
		}
		text := upTo(rest[1:], '~')
		g.texts[i] = text[:len(text):len(text)]
		rest = rest[1+len(text):]
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

// USSection is what rtbd reads from a US privacy section of a GPP string
// (usnat or usca).
type USSection struct {
	// OptedOut is set when the user opted out of the sale or sharing of
	// personal data, or of targeted advertising (a field equal to 1).
	OptedOut bool
	// ChildNoConsent is set when a known child's sensitive data consent
	// field is 1 (no consent).
	ChildNoConsent bool
	// GPC is the Global Privacy Control signal of the section's GPC
	// sub-section (type 1): the browser asks to opt out of sale and
	// sharing.
	GPC bool
}

// usLayout places the fields rtbd reads in a US section's core segment.
// Every field is 2 bits: opt-outs are 0 not applicable, 1 opted out,
// 2 did not opt out; consents are 0 not applicable, 1 no consent,
// 2 consent.
type usLayout struct {
	optOuts  []int // bit offsets of the opt-out fields
	childAt  int   // bit offset of the known-child consent fields
	children int   // how many of them
	bits     int   // length of the core segment
	noGPC    bool  // the section defines no GPC sub-section
}

var (
	// usnat version 1 (IAB US National Privacy technical specification):
	// version (6 bits), six notices, SaleOptOut, SharingOptOut,
	// TargetedAdvertisingOptOut, 12 sensitive-data fields, 2 known-child
	// fields, PersonalDataConsents and three MSPA fields.
	usnatV1 = usLayout{optOuts: []int{18, 20, 22}, childAt: 48, children: 2, bits: 60}
	// usnat version 2: 16 sensitive-data fields and 3 known-child fields.
	usnatV2 = usLayout{optOuts: []int{18, 20, 22}, childAt: 56, children: 3, bits: 70}
	// usca version 1 (IAB US California): version, SaleOptOutNotice,
	// SharingOptOutNotice, SensitiveDataLimitUseNotice, SaleOptOut,
	// SharingOptOut, 9 sensitive-data fields, 2 known-child fields,
	// PersonalDataConsents and three MSPA fields.
	uscaV1 = usLayout{optOuts: []int{12, 14}, childAt: 34, children: 2, bits: 46}
)

// usStates are the version 1 layouts of the state sections usva (9) to
// usmn (23), as the IAB state specifications and both reference libraries
// (iabgpp-es, iabgpp-java) define them. Each starts with the version (6
// bits) and two-bit notices, then SaleOptOut and
// TargetedAdvertisingOptOut (none has a SharingOptOut), sensitive-data
// fields, the known-child consent field(s), and MSPA fields. Utah and Iowa
// carry one more notice before the opt-outs. Virginia, Utah and Florida
// define no GPC sub-section. Sections 24 to 27 (Maryland, Indiana,
// Kentucky, Rhode Island) are left out: the two libraries encode them
// differently (iabgpp-java puts a header segment first), so a string of
// theirs cannot be read with confidence.
var usStates = [GPPUSMN - GPPUSVA + 1]usLayout{
	{optOuts: []int{12, 14}, childAt: 32, children: 1, bits: 40, noGPC: true}, // 9 usva
	{optOuts: []int{12, 14}, childAt: 30, children: 1, bits: 38},              // 10 usco: 7 sensitive fields
	{optOuts: []int{14, 16}, childAt: 34, children: 1, bits: 42, noGPC: true}, // 11 usut
	{optOuts: []int{12, 14}, childAt: 32, children: 3, bits: 44},              // 12 usct
	{optOuts: []int{12, 14}, childAt: 32, children: 3, bits: 46, noGPC: true}, // 13 usfl
	{optOuts: []int{12, 14}, childAt: 32, children: 3, bits: 46},              // 14 usmt
	{optOuts: []int{12, 14}, childAt: 38, children: 3, bits: 52},              // 15 usor: 11 sensitive fields
	{optOuts: []int{12, 14}, childAt: 32, children: 1, bits: 42},              // 16 ustx
	{optOuts: []int{12, 14}, childAt: 34, children: 5, bits: 52},              // 17 usde: 9 sensitive fields
	{optOuts: []int{14, 16}, childAt: 34, children: 1, bits: 42},              // 18 usia
	{optOuts: []int{12, 14}, childAt: 32, children: 1, bits: 42},              // 19 usne
	{optOuts: []int{12, 14}, childAt: 32, children: 3, bits: 46},              // 20 usnh
	{optOuts: []int{12, 14}, childAt: 36, children: 5, bits: 54},              // 21 usnj: 10 sensitive fields
	{optOuts: []int{12, 14}, childAt: 32, children: 1, bits: 42},              // 22 ustn
	{optOuts: []int{12, 14}, childAt: 32, children: 1, bits: 42},              // 23 usmn
}

var (
	errUSVersion   = errors.New("gpp: US section of an unknown version")
	errUSTruncated = errors.New("gpp: US section too short")
	errUSChar      = errors.New("gpp: character outside base64url in a US section")
	errUSSection   = errors.New("gpp: not a US state section rtbd decodes")
)

// DecodeUSNat decodes a usnat section, version 1 or 2: its core segment
// and its GPC sub-section. Some encoders label the version 2 layout 1; its
// length tells it apart (iabgpp-java does the same).
func DecodeUSNat(s []byte) (USSection, error) {
	core, ver, err := usCore(s)
	switch {
	case err != nil:
		return USSection{}, err
	case ver == 2 || ver == 1 && len(core)*6 >= usnatV2.bits:
		return decodeUS(s, core, &usnatV2)
	case ver == 1:
		return decodeUS(s, core, &usnatV1)
	}
	return USSection{}, errUSVersion
}

// DecodeUSCA decodes a usca section, version 1, and its GPC sub-section.
func DecodeUSCA(s []byte) (USSection, error) { return decodeUSv1(s, &uscaV1) }

// DecodeUSState decodes the state section id, usva (9) to usmn (23),
// version 1, and its GPC sub-section where the state defines one.
func DecodeUSState(id int, s []byte) (USSection, error) {
	if id < GPPUSVA || id > GPPUSMN {
		return USSection{}, errUSSection
	}
	return decodeUSv1(s, &usStates[id-GPPUSVA])
}

// decodeUSv1 decodes a section with one layout, l, for version 1.
func decodeUSv1(s []byte, l *usLayout) (USSection, error) {
	core, ver, err := usCore(s)
	switch {
	case err != nil:
		return USSection{}, err
	case ver == 1:
		return decodeUS(s, core, l)
	}
	return USSection{}, errUSVersion
}

// usCore returns a section's core segment (up to the first '.'), checked
// to be base64url, and its version field.
func usCore(s []byte) ([]byte, uint64, error) {
	s = upTo(s, '.')
	if !validB64(s) {
		return nil, 0, errUSChar
	}
	r := bitReader{s: s}
	return s, r.read(6), nil
}

// upTo returns s up to its first sep, or all of s.
func upTo(s []byte, sep byte) []byte {
	if i := bytes.IndexByte(s, sep); i >= 0 {
		return s[:i]
	}
	return s
}

// validB64 reports whether every character of s is base64url.
func validB64(s []byte) bool {
	for _, c := range s {
		if b64Bits[c] > 63 {
			return false
		}
	}
	return true
}

// decodeUS reads section s, whose core segment is core, by layout l. A
// sub-section after a '.' starts with its type (2 bits); type 1 is GPC,
// one bit. Sub-sections of other types, or not in base64url, are ignored.
func decodeUS(s, core []byte, l *usLayout) (USSection, error) {
	if len(core)*6 < l.bits {
		return USSection{}, errUSTruncated
	}
	var u USSection
	for rest := s[len(core):]; len(rest) > 1 && !l.noGPC; {
		seg := upTo(rest[1:], '.') // after the '.'
		sub := bitReader{s: seg}
		if validB64(seg) && sub.read(2) == 1 && sub.read(1) == 1 && !sub.short {
			u.GPC = true
		}
		rest = rest[1+len(seg):]
	}
	r := bitReader{s: core}
	for _, at := range l.optOuts {
		r.pos = at
		u.OptedOut = u.OptedOut || r.read(2) == 1
	}
	r.pos = l.childAt
	for range l.children {
		u.ChildNoConsent = u.ChildNoConsent || r.read(2) == 1
	}
	return u, nil
}
