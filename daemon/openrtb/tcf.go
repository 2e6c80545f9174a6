package openrtb

import (
	"errors"
	"math/bits"
)

// TCF is what rtbd reads from an IAB TCF v2 consent string (user.consent,
// or the tcfeuv2 section of a GPP string): the core segment's purpose
// bits and one vendor's consent and legitimate-interest bits.
type TCF struct {
	// Purposes has bit i-1 set when the user consented to purpose i
	// (1 to 24); PurposesLI likewise for legitimate interest.
	Purposes, PurposesLI uint32
	// PurposeOneTreatment is set when purpose 1 was not disclosed because
	// the publisher's country treats it differently.
	PurposeOneTreatment bool
	// Vendor and VendorLI are the consent and legitimate-interest bits of
	// the vendor id asked for; false when that id is 0.
	Vendor, VendorLI bool
	// The publisher's restrictions on the vendor asked for, a bit per
	// purpose as in Purposes: purposes it may not use at all, may use
	// only by consent, and only by legitimate interest.
	NotAllowed, ConsentOnly, LIOnly uint32
}

// Purpose reports whether the user consented to purpose n.
func (t *TCF) Purpose(n int) bool { return t.Purposes>>(n-1)&1 == 1 }

// PurposeLI reports whether purpose n is established by legitimate
// interest.
func (t *TCF) PurposeLI(n int) bool { return t.PurposesLI>>(n-1)&1 == 1 }

// Errors of [DecodeTCF]: static, so that decoding never allocates.
var (
	errTCFEmpty     = errors.New("tcf: empty consent string")
	errTCFChar      = errors.New("tcf: character outside base64url")
	errTCFVersion   = errors.New("tcf: not a version 2 consent string")
	errTCFTruncated = errors.New("tcf: consent string ends inside its core segment")
	errTCFVendors   = errors.New("tcf: vendor range with id 0 or ending before its start")
)

// Bit offsets of the TCF v2 core segment (IAB TCF v2.2, "TC String
// format", core string).
const (
	tcfVersionBits      = 6
	tcfOffSpecial       = 140 // SpecialFeatureOptIns, 12 bits
	tcfOffPurposes      = 152 // PurposesConsent, 24 bits
	tcfOffPurposesLI    = 176 // PurposesLITransparency, 24 bits
	tcfOffOneTreatment  = 200 // PurposeOneTreatment, 1 bit
	tcfOffVendorSection = 213 // after PublisherCC (12 bits at 201)
)

// DecodeTCF decodes the core segment of a TCF v2 consent string: the text
// up to the first '.', base64url without padding (trailing '=' and the
// standard alphabet's '+' and '/' are tolerated, as CMPs emit them). It
// reads the vendor sections for vendor (1 to 65535; 0 skips them). It does
// not allocate.
func DecodeTCF(s []byte, vendor int) (TCF, error) {
	var t TCF
	s = upTo(s, '.')
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	if len(s) == 0 {
		return t, errTCFEmpty
	}
	if !validB64(s) {
		return t, errTCFChar
	}
	r := bitReader{s: s}
	if r.read(tcfVersionBits) != 2 {
		return t, errTCFVersion
	}
	r.pos = tcfOffPurposes
	// On the wire purpose 1 is the field's first bit.
	t.Purposes = bits.Reverse32(uint32(r.read(24))) >> 8
	t.PurposesLI = bits.Reverse32(uint32(r.read(24))) >> 8
	t.PurposeOneTreatment = r.read(1) == 1
	r.pos = tcfOffVendorSection
	if vendor <= 0 {
		// The vendor sections are not read, but the string must reach
		// them for the purposes to be believed.
		if r.read(17); r.short {
			return TCF{}, errTCFTruncated
		}
		return t, nil
	}
	var err error
	if t.Vendor, err = r.vendorSection(vendor); err != nil {
		return TCF{}, err
	}
	if t.VendorLI, err = r.vendorSection(vendor); err != nil {
		return TCF{}, err
	}
	// Publisher restrictions: NumPubRestrictions (12 bits), then for each
	// a PurposeId (6 bits), a RestrictionType (2 bits: 0 not allowed,
	// 1 consent only, 2 legitimate interest only) and a range section of
	// the vendors it applies to.
	n := int(r.read(12))
	for range n {
		purpose, kind := int(r.read(6)), r.read(2)
		has, err := r.rangeHas(vendor)
		if err != nil {
			return TCF{}, err
		}
		if !has || purpose < 1 || purpose > 24 {
			continue
		}
		bit := uint32(1) << (purpose - 1)
		switch kind {
		case 0:
			t.NotAllowed |= bit
		case 1:
			t.ConsentOnly |= bit
		case 2:
			t.LIOnly |= bit
		}
	}
	if r.short {
		return TCF{}, errTCFTruncated
	}
	return t, nil
}

// vendorSection reads one vendor section (consent or legitimate interest)
// and reports whether it holds vendor: MaxVendorId (16 bits), then either
// a bit field of MaxVendorId bits or NumEntries (12 bits) entries of
// IsARange (1 bit), a start id and, for a range, an end id (16 bits each).
func (r *bitReader) vendorSection(vendor int) (bool, error) {
	maxID := int(r.read(16))
	isRange := r.read(1) == 1
	found := false
	if !isRange {
		field := r.pos
		if vendor <= maxID {
			r.pos = field + vendor - 1
			found = r.read(1) == 1
		}
		if r.pos = field + maxID; r.pos > len(r.s)*6 {
			r.short = true
		}
	} else {
		var err error
		if found, err = r.rangeHas(vendor); err != nil {
			return false, err
		}
	}
	if r.short {
		return false, errTCFTruncated
	}
	return found, nil
}

// rangeHas reads a range section, NumEntries (12 bits) entries of
// IsARange (1 bit), a start id and, for a range, an end id (16 bits
// each), and reports whether it holds vendor.
func (r *bitReader) rangeHas(vendor int) (bool, error) {
	n := int(r.read(12))
	found := false
	for range n {
		ranged := r.read(1) == 1
		start := int(r.read(16))
		end := start
		if ranged {
			end = int(r.read(16))
		}
		if r.short {
			return false, errTCFTruncated
		}
		if start == 0 || end < start {
			return false, errTCFVendors
		}
		found = found || start <= vendor && vendor <= end
	}
	return found, nil
}

// bitReader reads big-endian bit fields from base64url text whose
// characters were checked to be in the alphabet. Reading past the end
// returns zero bits and sets short.
type bitReader struct {
	s     []byte
	pos   int // bit offset
	short bool
}

func (r *bitReader) read(n int) uint64 {
	var v uint64
	for n > 0 {
		ci := r.pos / 6
		if ci >= len(r.s) {
			r.short = true
			return 0
		}
		off := r.pos % 6
		take := min(6-off, n)
		c := uint64(b64Bits[r.s[ci]])
		v = v<<take | c>>(6-off-take)&(1<<take-1)
		n -= take
		r.pos += take
	}
	return v
}

// b64Bits maps a base64url character, and the standard alphabet's '+' and
// '/', to its six bits; anything else to 0xff.
var b64Bits = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(url) {
		t[url[i]] = byte(i)
	}
	t['+'], t['/'] = 62, 63
	return t
}()
