package openrtb

import (
	"encoding/base64"
	"math/rand/v2"
	"slices"
	"testing"
)

// bitWriter is the tests' own encoder of TCF and GPP bit fields, written
// from the specifications independently of bitReader.
type bitWriter struct{ bits []byte }

func (w *bitWriter) put(v uint64, n int) {
	for i := n - 1; i >= 0; i-- {
		w.bits = append(w.bits, byte(v>>i&1))
	}
}

// fib appends v in Fibonacci coding, terminated by an extra 1.
func (w *bitWriter) fib(v int) {
	fibs := []int{1, 2}
	for fibs[len(fibs)-1] <= v {
		fibs = append(fibs, fibs[len(fibs)-1]+fibs[len(fibs)-2])
	}
	code := make([]byte, len(fibs))
	top := 0
	for i := len(fibs) - 1; i >= 0; i-- {
		if fibs[i] <= v {
			v -= fibs[i]
			code[i] = 1
			top = max(top, i)
		}
	}
	w.bits = append(w.bits, code[:top+1]...)
	w.bits = append(w.bits, 1)
}

// b64 packs the bits into bytes (zero padded) and encodes them as
// base64url without padding, trimmed to the characters the bits need.
func (w *bitWriter) b64() string {
	raw := make([]byte, (len(w.bits)+7)/8)
	for i, b := range w.bits {
		raw[i/8] |= b << (7 - i%8)
	}
	s := base64.RawURLEncoding.EncodeToString(raw)
	return s[:(len(w.bits)+5)/6]
}

// tcfFields describes a TCF v2 core string for tcfString.
type tcfFields struct {
	purposes, purposesLI uint32 // bit i-1 is purpose i
	oneTreatment         bool
	vendors, vendorsLI   []int // sorted vendor ids
	rangeVendors         bool  // range encoding instead of bit fields
	restrictions         []tcfRestriction
}

// tcfRestriction is a publisher restriction: kind 0 not allowed, 1
// consent only, 2 legitimate interest only, on purpose for vendors.
type tcfRestriction struct {
	purpose, kind int
	vendors       []int // sorted
}

func tcfString(f tcfFields) string {
	var w bitWriter
	w.put(2, 6)            // Version
	w.put(16000000000, 36) // Created, deciseconds
	w.put(16000000001, 36) // LastUpdated
	w.put(7, 12)           // CmpId
	w.put(1, 12)           // CmpVersion
	w.put(1, 6)            // ConsentScreen
	w.put(4<<6|13, 12)     // ConsentLanguage "EN"
	w.put(150, 12)         // VendorListVersion
	w.put(4, 6)            // TcfPolicyVersion
	w.put(0, 1)            // IsServiceSpecific
	w.put(0, 1)            // UseNonStandardTexts
	w.put(0, 12)           // SpecialFeatureOptIns
	w.put(uint64(revBits(f.purposes)), 24)
	w.put(uint64(revBits(f.purposesLI)), 24)
	w.put(b2u(f.oneTreatment), 1)
	w.put(3<<6|4, 12) // PublisherCC "DE"
	for _, vs := range [][]int{f.vendors, f.vendorsLI} {
		maxID := 0
		if len(vs) > 0 {
			maxID = vs[len(vs)-1]
		}
		w.put(uint64(maxID), 16)
		w.put(b2u(f.rangeVendors), 1)
		if !f.rangeVendors {
			for id := 1; id <= maxID; id++ {
				w.put(b2u(slices.Contains(vs, id)), 1)
			}
			continue
		}
		w.ranges(vs)
	}
	w.put(uint64(len(f.restrictions)), 12) // NumPubRestrictions
	for _, r := range f.restrictions {
		w.put(uint64(r.purpose), 6)
		w.put(uint64(r.kind), 2)
		w.ranges(r.vendors)
	}
	return w.b64()
}

// ranges writes a range section of the sorted vendor ids.
func (w *bitWriter) ranges(vs []int) {
	runs := vendorRuns(vs)
	w.put(uint64(len(runs)), 12)
	for _, r := range runs {
		w.put(b2u(r[0] != r[1]), 1)
		w.put(uint64(r[0]), 16)
		if r[0] != r[1] {
			w.put(uint64(r[1]), 16)
		}
	}
}

// revBits turns "bit i-1 is purpose i" into the wire order, where purpose
// 1 is the field's first (most significant) bit.
func revBits(v uint32) uint32 {
	var out uint32
	for i := range 24 {
		if v>>i&1 == 1 {
			out |= 1 << (23 - i)
		}
	}
	return out
}

func vendorRuns(vs []int) [][2]int {
	var runs [][2]int
	for _, v := range vs {
		if n := len(runs); n > 0 && runs[n-1][1] == v-1 {
			runs[n-1][1] = v
			continue
		}
		runs = append(runs, [2]int{v, v})
	}
	return runs
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func purposeSet(ps ...int) uint32 {
	var v uint32
	for _, p := range ps {
		v |= 1 << (p - 1)
	}
	return v
}

func TestDecodeTCFRoundTrip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 400 {
		f := tcfFields{
			purposes:     rng.Uint32() & (1<<24 - 1),
			purposesLI:   rng.Uint32() & (1<<24 - 1),
			oneTreatment: rng.IntN(2) == 1,
			rangeVendors: n%2 == 1,
		}
		for _, dst := range []*[]int{&f.vendors, &f.vendorsLI} {
			id := 0
			for range rng.IntN(40) {
				id += 1 + rng.IntN(1+rng.IntN(300))
				*dst = append(*dst, id)
			}
		}
		for range rng.IntN(4) {
			r := tcfRestriction{purpose: 1 + rng.IntN(24), kind: rng.IntN(3)}
			id := 0
			for range 1 + rng.IntN(5) {
				id += 1 + rng.IntN(800)
				r.vendors = append(r.vendors, id)
			}
			f.restrictions = append(f.restrictions, r)
		}
		s := tcfString(f)
		for _, vendor := range []int{0, 1, 2, 17, 755, 65535, pick(rng, f.vendors), pick(rng, f.vendorsLI), pickRestricted(rng, f)} {
			got, err := DecodeTCF([]byte(s), vendor)
			if err != nil {
				t.Fatalf("%+v (%s): %v", f, s, err)
			}
			want := TCF{Purposes: f.purposes, PurposesLI: f.purposesLI, PurposeOneTreatment: f.oneTreatment}
			if vendor > 0 {
				want.Vendor = slices.Contains(f.vendors, vendor)
				want.VendorLI = slices.Contains(f.vendorsLI, vendor)
				for _, r := range f.restrictions {
					if !slices.Contains(r.vendors, vendor) {
						continue
					}
					switch r.kind {
					case 0:
						want.NotAllowed |= purposeSet(r.purpose)
					case 1:
						want.ConsentOnly |= purposeSet(r.purpose)
					case 2:
						want.LIOnly |= purposeSet(r.purpose)
					}
				}
			}
			if got != want {
				t.Fatalf("vendor %d of %+v (%s): got %+v, want %+v", vendor, f, s, got, want)
			}
			// Segments after the core and base64 padding change nothing.
			if again, err := DecodeTCF([]byte(s+"==.YAAAAAAAAAAA"), vendor); err != nil || again != got {
				t.Fatalf("with padding and a segment: %+v, %v; want %+v", again, err, got)
			}
		}
	}
}

// pickRestricted returns a vendor named by one of f's restrictions.
func pickRestricted(rng *rand.Rand, f tcfFields) int {
	if len(f.restrictions) == 0 {
		return 4
	}
	return pick(rng, f.restrictions[rng.IntN(len(f.restrictions))].vendors)
}

func pick(rng *rand.Rand, vs []int) int {
	if len(vs) == 0 {
		return 3
	}
	return vs[rng.IntN(len(vs))]
}

// TestDecodeTCFPrefixes cuts valid strings at every length: a prefix
// decodes to what the whole string does, or fails as truncated, never
// anything else.
func TestDecodeTCFPrefixes(t *testing.T) {
	t.Parallel()
	for _, f := range []tcfFields{
		{purposes: purposeSet(1, 2, 3, 4), vendors: []int{5, 9, 755}, vendorsLI: []int{755}},
		{purposes: purposeSet(2), vendors: []int{5, 6, 7, 755, 900}, vendorsLI: []int{1}, rangeVendors: true,
			restrictions: []tcfRestriction{{purpose: 2, kind: 1, vendors: []int{3, 755}}, {purpose: 4, kind: 0, vendors: []int{9}}}},
	} {
		s := tcfString(f)
		for _, vendor := range []int{0, 755} {
			full, err := DecodeTCF([]byte(s), vendor)
			if err != nil {
				t.Fatal(err)
			}
			shortest := len(s)
			for n := len(s) - 1; n >= 0; n-- {
				got, err := DecodeTCF([]byte(s[:n]), vendor)
				switch {
				case err == nil && got != full:
					t.Fatalf("prefix %q with vendor %d decoded to %+v; the whole string to %+v", s[:n], vendor, got, full)
				case err == nil:
					shortest = n
				case n > 0 && err != errTCFTruncated:
					t.Fatalf("prefix %q: %v; want %v", s[:n], err, errTCFTruncated)
				}
			}
			// Without a vendor the purposes need the first 230 bits
			// (39 characters); with one, all of both vendor sections.
			if want := 39; vendor == 0 && shortest != want {
				t.Fatalf("shortest decodable prefix without a vendor: %d characters, want %d", shortest, want)
			}
			if vendor != 0 && shortest < 39 {
				t.Fatalf("a %d-character prefix decoded with vendor sections", shortest)
			}
		}
	}
}

func TestDecodeTCFErrors(t *testing.T) {
	t.Parallel()
	valid := tcfString(tcfFields{purposes: purposeSet(1, 2)})
	for _, c := range []struct {
		s    string
		want error
	}{
		{"", errTCFEmpty},
		{"===", errTCFEmpty},
		{".abc", errTCFEmpty},
		{"CPx", errTCFTruncated},
		{"gdpr-consent-string", errTCFVersion}, // version 32
		{"there-is-a-real-cs-in-it", errTCFVersion},
		{"BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA", errTCFVersion}, // TCF v1
		{"CO12345abcdefghijklmnopqrstuvwxyz", errTCFTruncated},
		{valid[:10] + "*" + valid[11:], errTCFChar},
		{valid[:10] + "é" + valid[11:], errTCFChar},
		{"Y29uc2VudCBkYXRh", errTCFVersion},
	} {
		if _, err := DecodeTCF([]byte(c.s), 1); err != c.want {
			t.Errorf("DecodeTCF(%q) error %v, want %v", c.s, err, c.want)
		}
	}
	// A range entry that ends before it starts, or starts at 0.
	var w bitWriter
	w.bits = append(w.bits, make([]byte, 213)...)
	copy(w.bits, []byte{0, 0, 0, 0, 1, 0}) // version 2
	w.put(100, 16)
	w.put(1, 1)
	w.put(1, 12)
	w.put(1, 1)
	w.put(50, 16)
	w.put(40, 16)
	w.put(0, 17)
	if _, err := DecodeTCF([]byte(w.b64()), 45); err != errTCFVendors {
		t.Errorf("backward vendor range: error %v, want %v", err, errTCFVendors)
	}
}

func TestDecodeTCFAllocs(t *testing.T) {
	s := []byte(tcfString(tcfFields{purposes: purposeSet(1, 2, 3, 4), vendors: []int{3, 755}, rangeVendors: true}))
	if n := testing.AllocsPerRun(100, func() { _, _ = DecodeTCF(s, 755) }); n != 0 {
		t.Fatalf("DecodeTCF allocates %v times", n)
	}
}

// TestDecodeTCFPublicVectors decodes consent strings from the tests of
// prebid/go-gdpr (vendorconsent/tcf2), which state their purposes and
// vendors.
func TestDecodeTCFPublicVectors(t *testing.T) {
	t.Parallel()
	type vector struct {
		s                  string
		purposes, li       []int // nil: not stated, not checked
		vendors, vendorsLI []int
		notVendors         []int
		oneTreatment       bool
	}
	for _, v := range []vector{
		{ // bitfield_test.go TestBitField
			s:          "COwGVJOOwGVJOADACHENAOCAAO6as_-AAAhoAFNLAAoAAAA",
			purposes:   []int{1, 2, 3, 5, 6, 7, 9, 12, 13, 15, 17, 19, 20, 23, 24},
			vendors:    []int{1, 2, 4, 7, 9, 10},
			notVendors: []int{3, 5, 6, 8, 11, 600},
		},
		{ // rangesection_test.go TestRangeSectionConsent
			s:          "COyfVVoOyfVVoADACHENAwCAAAAAAAAAAAAAE5QBgALgAqgD8AQACSwEygJyAnSAMABgAFkAgQCDASeAmYBOgAA",
			vendors:    []int{23, 42, 126, 127, 128, 587, 613, 626},
			vendorsLI:  []int{24, 44, 129, 130, 131, 591, 614, 628},
			notVendors: []int{1, 22, 43, 125, 129, 586, 588, 625, 627, 628},
		},
		{ // consent20_test.go TestParseValidString20
			s:          "COyiILmOyiILmADACHENAPCAAAAAAAAAAAAAE5QBgALgAqgD8AQACSwEygJyAAAAAA",
			vendors:    []int{23, 42, 126, 127, 128, 587, 613, 626},
			notVendors: []int{24, 129, 627},
		},
		{ // consent20_test.go TestParseValidString20MaxVendorID0
			s:          "COwJz-rOwJz-rMLAEAFRAPCgAAAAAAAAAAqIAAAAAAAA",
			notVendors: []int{1, 2, 755},
		},
		{ // metadata_test.go: purpose one treatment, LI for 2-5
			s:            "COx3XOeOx3XOeLkAAAENAfCIAAAAAHgAAIAAAAAAAAAA",
			li:           []int{2, 3, 4, 5},
			oneTreatment: true,
		},
	} {
		for _, vendor := range append(append(append([]int{0}, v.vendors...), v.vendorsLI...), v.notVendors...) {
			got, err := DecodeTCF([]byte(v.s), vendor)
			if err != nil {
				t.Fatalf("%s: %v", v.s, err)
			}
			if v.purposes != nil && got.Purposes != purposeSet(v.purposes...) {
				t.Errorf("%s: purposes %024b, want %v", v.s, got.Purposes, v.purposes)
			}
			if v.li != nil && got.PurposesLI&(1<<7-1) != purposeSet(v.li...) {
				t.Errorf("%s: purposes by legitimate interest %024b, want %v among 1-7", v.s, got.PurposesLI, v.li)
			}
			if got.PurposeOneTreatment != v.oneTreatment {
				t.Errorf("%s: purpose one treatment %v", v.s, got.PurposeOneTreatment)
			}
			if vendor == 0 {
				continue
			}
			if want := slices.Contains(v.vendors, vendor); got.Vendor != want {
				t.Errorf("%s: vendor %d consent %v, want %v", v.s, vendor, got.Vendor, want)
			}
			if want := slices.Contains(v.vendorsLI, vendor); v.vendorsLI != nil && got.VendorLI != want {
				t.Errorf("%s: vendor %d legitimate interest %v, want %v", v.s, vendor, got.VendorLI, want)
			}
		}
	}
}
