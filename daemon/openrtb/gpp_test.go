package openrtb

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// gppHeader encodes a GPP header listing ids (sorted), with runs of
// consecutive ids as ranges when ranges is set.
func gppHeader(ids []int, ranges bool) string {
	var w bitWriter
	w.put(3, 6) // Type
	w.put(1, 6) // Version
	runs := [][2]int{}
	for _, id := range ids {
		if n := len(runs); ranges && n > 0 && runs[n-1][1] == id-1 {
			runs[n-1][1] = id
			continue
		}
		runs = append(runs, [2]int{id, id})
	}
	w.put(uint64(len(runs)), 12)
	last := 0
	for _, r := range runs {
		w.put(b2u(r[0] != r[1]), 1)
		w.fib(r[0] - last)
		if r[0] != r[1] {
			w.fib(r[1] - r[0])
		}
		last = r[1]
	}
	return w.b64()
}

func gppIDs(g *GPP) []int {
	var ids []int
	for i := range g.Len() {
		ids = append(ids, g.ID(i))
	}
	return ids
}

func TestDecodeGPPRoundTrip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for n := range 500 {
		var ids []int
		for id := 1; id <= gppMaxSID && len(ids) < gppMaxSections; id++ {
			if rng.IntN(6) == 0 || n%7 == 0 && id > 20 && id < 30 {
				ids = append(ids, id)
			}
		}
		s := gppHeader(ids, n%2 == 1)
		var texts []string
		for _, id := range ids {
			text := strings.Repeat(string(rune('a'+id%26)), rng.IntN(5))
			texts = append(texts, text)
			s += "~" + text
		}
		var g GPP
		if err := DecodeGPP([]byte(s), &g); err != nil {
			t.Fatalf("%v -> %s: %v", ids, s, err)
		}
		if !slices.Equal(gppIDs(&g), ids) {
			t.Fatalf("%s: ids %v, want %v", s, gppIDs(&g), ids)
		}
		for i, id := range ids {
			if got, ok := g.Section(id); !ok || string(got) != texts[i] {
				t.Fatalf("%s: section %d = %q, want %q", s, id, got, texts[i])
			}
		}
		if _, ok := g.Section(gppMaxSID + 1); ok {
			t.Fatalf("%s: found an id above the largest", s)
		}
	}
}

func TestDecodeGPPErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		s    string
		want error
	}{
		{"", errGPPHeader},
		{"DBABMA", errGPPCount},     // section 2 listed, none sent
		{"DBABMA~a~b", errGPPCount}, // one listed, two sent
		{"DBACNYA~a", errGPPCount},  // two listed, one sent
		{"CBABMA~a", errGPPHeader},  // type 2
		{"DCABMA~a", errGPPHeader},  // version 2
		{"DBA", errGPPTruncated},    // count cut off
		{"DBABM*~a", errGPPChar},    // not base64url
		{"DBABMA~a~", errGPPCount},  // an empty trailing section
		{gppHeader([]int{64}, false) + "~a", errGPPSections},
	} {
		var g GPP
		if err := DecodeGPP([]byte(c.s), &g); err != c.want {
			t.Errorf("DecodeGPP(%q) error %v, want %v", c.s, err, c.want)
		}
	}
}

// usnatString encodes a usnat core segment of version ver with the given
// sale, sharing and targeted-advertising opt-outs and child consents.
func usnatString(ver, sale, sharing, targeted int, child []int) string {
	var w bitWriter
	w.put(uint64(ver), 6)
	for range 6 {
		w.put(1, 2) // the notices: provided
	}
	w.put(uint64(sale), 2)
	w.put(uint64(sharing), 2)
	w.put(uint64(targeted), 2)
	sensitive := 12
	if ver == 2 {
		sensitive = 16
	}
	for range sensitive {
		w.put(1, 2) // SensitiveDataProcessing: opted out
	}
	for _, c := range child {
		w.put(uint64(c), 2)
	}
	return w.usTail()
}

func TestDecodeUSNat(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		s    string
		want USSection
	}{
		{usnatString(1, 2, 2, 2, []int{0, 0}), USSection{}},
		{usnatString(1, 0, 0, 0, []int{2, 2}), USSection{}},
		{usnatString(1, 1, 2, 2, []int{0, 0}), USSection{OptedOut: true}},
		{usnatString(1, 2, 1, 2, []int{0, 0}), USSection{OptedOut: true}},
		{usnatString(1, 2, 2, 1, []int{0, 0}), USSection{OptedOut: true}},
		{usnatString(1, 2, 2, 2, []int{0, 1}), USSection{ChildNoConsent: true}},
		{usnatString(2, 2, 2, 2, []int{0, 0, 0}), USSection{}},
		{usnatString(2, 2, 2, 2, []int{0, 0, 1}), USSection{ChildNoConsent: true}},
		{usnatString(2, 2, 2, 1, []int{2, 2, 2}) + ".YA", USSection{OptedOut: true, GPC: true}},
		// The GPC sub-section: type 1 then the signal; other types and
		// undecodable sub-sections are ignored.
		{usnatString(1, 2, 2, 2, []int{0, 0}) + ".QA", USSection{}},
		{usnatString(1, 2, 2, 2, []int{0, 0}) + ".gA.YA", USSection{GPC: true}},
		{usnatString(1, 2, 2, 2, []int{0, 0}) + ".Y!", USSection{}},
		{usnatString(1, 2, 2, 2, []int{0, 0}) + ".", USSection{}},
	} {
		got, err := DecodeUSNat([]byte(c.s))
		if err != nil || got != c.want {
			t.Errorf("DecodeUSNat(%q) = %+v, %v; want %+v", c.s, got, err, c.want)
		}
	}
	valid := usnatString(1, 2, 2, 2, []int{0, 0})
	for _, c := range []struct {
		s    string
		want error
	}{
		{valid[:5], errUSTruncated},
		{"", errUSVersion},
		{"D" + valid[1:], errUSVersion}, // version 3
		{valid[:3] + "!" + valid[4:], errUSChar},
	} {
		if _, err := DecodeUSNat([]byte(c.s)); err != c.want {
			t.Errorf("DecodeUSNat(%q) error %v, want %v", c.s, err, c.want)
		}
	}
}

// usTail ends a US section's core segment: PersonalDataConsents and the
// three MSPA fields.
func (w *bitWriter) usTail() string {
	w.put(2, 2) // PersonalDataConsents
	w.put(1, 2) // MspaCoveredTransaction
	w.put(2, 2) // MspaOptOutOptionMode
	w.put(1, 2) // MspaServiceProviderMode
	return w.b64()
}

// uscaString encodes a usca core segment with the given sale and sharing
// opt-outs and child consents.
func uscaString(sale, sharing int, child [2]int) string {
	var w bitWriter
	w.put(1, 6) // Version
	for range 3 {
		w.put(1, 2) // the notices: provided
	}
	w.put(uint64(sale), 2)
	w.put(uint64(sharing), 2)
	for range 9 {
		w.put(2, 2) // SensitiveDataProcessing: did not opt out
	}
	w.put(uint64(child[0]), 2)
	w.put(uint64(child[1]), 2)
	return w.usTail()
}

func TestDecodeUSCA(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		s    string
		want USSection
	}{
		{uscaString(2, 2, [2]int{0, 0}), USSection{}},
		{uscaString(0, 0, [2]int{2, 2}), USSection{}},
		{uscaString(1, 2, [2]int{0, 0}), USSection{OptedOut: true}},
		{uscaString(2, 1, [2]int{0, 0}), USSection{OptedOut: true}},
		{uscaString(2, 2, [2]int{1, 0}) + ".YA", USSection{ChildNoConsent: true, GPC: true}},
		{uscaString(2, 2, [2]int{0, 0}) + ".YA", USSection{GPC: true}},
		// LiveRamp/iabconsent: opt-outs 2/2, known-child consents [1, 2],
		// GPC set by its .YA sub-section.
		{"BVoYYZoI.YA", USSection{ChildNoConsent: true, GPC: true}},
		{"BVoYYZoI", USSection{ChildNoConsent: true}},
	} {
		got, err := DecodeUSCA([]byte(c.s))
		if err != nil || got != c.want {
			t.Errorf("DecodeUSCA(%q) = %+v, %v; want %+v", c.s, got, err, c.want)
		}
	}
	valid := uscaString(2, 2, [2]int{0, 0})
	for _, c := range []struct {
		s    string
		want error
	}{
		{valid[:7], errUSTruncated},
		{"C" + valid[1:], errUSVersion},
		{"xlgWEYCZAA", errUSVersion}, // prebid/go-gpp's test value: version 49
		{valid[:2] + "~" + valid[3:], errUSChar},
	} {
		if _, err := DecodeUSCA([]byte(c.s)); err != c.want {
			t.Errorf("DecodeUSCA(%q) error %v, want %v", c.s, err, c.want)
		}
	}
}

func TestDecodeGPPAllocs(t *testing.T) {
	s := []byte(gppHeader([]int{2, 6, 7}, false) + "~" + tcfString(tcfFields{purposes: 3}) + "~1YNN~" + usnatString(1, 2, 2, 2, []int{0, 0}))
	usct := []byte("BVWSSZFg.YA")
	var g GPP
	if n := testing.AllocsPerRun(100, func() {
		_ = DecodeGPP(s, &g)
		text, _ := g.Section(GPPUSNat)
		_, _ = DecodeUSNat(text)
		_, _ = DecodeUSState(12, usct)
	}); n != 0 {
		t.Fatalf("decoding a GPP string allocates %v times", n)
	}
}

// TestDecodeGPPPublicVectors decodes GPP strings from the shared corpus
// (Prebid Server's tests), the tests of prebid/go-gpp, streamrail/go-gpp,
// iabgpp-es and LiveRamp/iabconsent and the specification's header
// examples.
func TestDecodeGPPPublicVectors(t *testing.T) {
	t.Parallel()
	const tcf = "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"
	for _, c := range []struct {
		s   string
		ids []int
	}{
		{"DBABMA~" + tcf, []int{2}},
		{"DBABM~" + tcf, []int{2}},
		{"DBACNYA~" + tcf + "~1YNN", []int{2, 6}},
		{"DBACNYA~" + tcf + "~1NYN", []int{2, 6}},
		{"DBABjw~" + tcf + "~1YNN", []int{5, 6}}, // a range
		{"DBABBgA~xlgWEYCZAA", []int{8}},
		{"DBABRgA~bSFgmiU", []int{9}},
		{"DBAA", nil},
		{"DBABTA~1YNN", []int{6}},
		{"DBABLA~BVQqAAAAAgA.QA", []int{7}},
		{"DBABzw~1YNN~BVVqAAEABCA.QA", []int{6, 7}},
		{"DBABrGA~DSJgmkoZJSA.YA~BlgWEYCY.QA~BSFgmiU~bSFgmJQ.YA~BWJYJllA~bSFgmSZQ.YA", []int{7, 8, 9, 10, 11, 12}},
	} {
		var g GPP
		if err := DecodeGPP([]byte(c.s), &g); err != nil {
			t.Fatalf("%s: %v", c.s, err)
		}
		if !slices.Equal(gppIDs(&g), c.ids) {
			t.Errorf("%s: section ids %v, want %v", c.s, gppIDs(&g), c.ids)
		}
		if text, ok := g.Section(GPPTCFEU); ok != slices.Contains(c.ids, GPPTCFEU) || ok && string(text) != tcf {
			t.Errorf("%s: tcfeuv2 section %q, %v", c.s, text, ok)
		}
	}
	// prebid/go-gpp: a header whose Fibonacci integer runs off its end.
	var g GPP
	if err := DecodeGPP([]byte("DBGBMA~"+tcf), &g); err != errGPPTruncated {
		t.Errorf("DBGBMA: error %v, want %v", err, errGPPTruncated)
	}
}

func TestDecodeUSNatPublicVectors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		s    string
		want USSection
	}{
		// LiveRamp/iabconsent: opt-outs 2 (did not opt out), children 0.
		{"BVVqAAEABCA.QA", USSection{}},
		{"BVVqAAEABCA.YA", USSection{GPC: true}},
		// iabconsent: opt-outs 0, children 2 (consent).
		{"BqqAqqqqqqA", USSection{}},
		// streamrail/go-gpp: labelled 1 in the version 2 layout, opt-outs
		// 1/1/1, children [2, 1, 0], GPC set.
		{"BaaVEiFKEJJo.YA", USSection{OptedOut: true, ChildNoConsent: true, GPC: true}},
	} {
		got, err := DecodeUSNat([]byte(c.s))
		if err != nil || got != c.want {
			t.Errorf("DecodeUSNat(%q) = %+v, %v; want %+v", c.s, got, err, c.want)
		}
	}
}

// usStateSpec is one state section's core segment as its IAB
// specification lists it, field by field (every field after the version
// is two bits): written out here independently of the decoder's offsets.
type usStateSpec struct {
	id        int
	name      string
	notices   int  // notice fields before SaleOptOut
	sensitive int  // SensitiveDataProcessing fields
	children  int  // KnownChildSensitiveDataConsents fields
	adpc      bool // an AdditionalDataProcessingConsent field
	gpc       bool // a GPC sub-section is defined
}

var usStateSpecs = []usStateSpec{
	{9, "usva", 3, 8, 1, false, false},
	{10, "usco", 3, 7, 1, false, true},
	{11, "usut", 4, 8, 1, false, false},
	{12, "usct", 3, 8, 3, false, true},
	{13, "usfl", 3, 8, 3, true, false},
	{14, "usmt", 3, 8, 3, true, true},
	{15, "usor", 3, 11, 3, true, true},
	{16, "ustx", 3, 8, 1, true, true},
	{17, "usde", 3, 9, 5, true, true},
	{18, "usia", 4, 8, 1, false, true},
	{19, "usne", 3, 8, 1, true, true},
	{20, "usnh", 3, 8, 3, true, true},
	{21, "usnj", 3, 10, 5, true, true},
	{22, "ustn", 3, 8, 1, true, true},
	{23, "usmn", 3, 8, 1, true, true},
}

// encode writes the core segment with the given opt-outs and child
// consents; every other field holds a value that restricts nothing.
func (sp usStateSpec) encode(sale, targeted int, child []int) string {
	var w bitWriter
	w.put(1, 6) // Version
	for range sp.notices {
		w.put(1, 2) // provided
	}
	w.put(uint64(sale), 2)
	w.put(uint64(targeted), 2)
	for range sp.sensitive {
		w.put(1, 2) // opted out of sensitive-data processing: not our concern
	}
	for _, c := range child {
		w.put(uint64(c), 2)
	}
	if sp.adpc {
		w.put(2, 2)
	}
	w.put(1, 2) // MspaCoveredTransaction
	w.put(2, 2) // MspaOptOutOptionMode
	w.put(1, 2) // MspaServiceProviderMode
	return w.b64()
}

func TestDecodeUSState(t *testing.T) {
	t.Parallel()
	for _, sp := range usStateSpecs {
		consent := make([]int, sp.children)
		for i := range consent {
			consent[i] = 2
		}
		type tc struct {
			s    string
			want USSection
		}
		cases := []tc{
			{sp.encode(2, 2, consent), USSection{}},
			{sp.encode(0, 0, make([]int, sp.children)), USSection{}},
			{sp.encode(1, 2, consent), USSection{OptedOut: true}},
			{sp.encode(2, 1, consent), USSection{OptedOut: true}},
		}
		for i := range sp.children {
			refused := slices.Clone(consent)
			refused[i] = 1
			cases = append(cases, tc{sp.encode(2, 2, refused), USSection{ChildNoConsent: true}})
		}
		// GPC only where the state defines the sub-section.
		cases = append(cases, tc{sp.encode(2, 2, consent) + ".YA", USSection{GPC: sp.gpc}})
		cases = append(cases, tc{sp.encode(2, 2, consent) + ".QA", USSection{}})
		for _, c := range cases {
			got, err := DecodeUSState(sp.id, []byte(c.s))
			if err != nil || got != c.want {
				t.Errorf("%s: DecodeUSState(%d, %q) = %+v, %v; want %+v", sp.name, sp.id, c.s, got, err, c.want)
			}
		}
		valid := sp.encode(2, 2, consent)
		for _, c := range []struct {
			s    string
			want error
		}{
			{valid[:len(valid)-2], errUSTruncated},
			{"C" + valid[1:], errUSVersion},
			{valid[:2] + "~" + valid[3:], errUSChar},
		} {
			if _, err := DecodeUSState(sp.id, []byte(c.s)); err != c.want {
				t.Errorf("%s: DecodeUSState(%q) error %v, want %v", sp.name, c.s, err, c.want)
			}
		}
	}
	for _, id := range []int{GPPUSNat, GPPUSCA, 24, 27} {
		if _, err := DecodeUSState(id, []byte("BAAAAAQA")); err != errUSSection {
			t.Errorf("DecodeUSState(%d) error %v; want %v", id, err, errUSSection)
		}
	}
}

// TestDecodeUSStatePublicVectors decodes the default and "all fields set"
// strings of the reference libraries' unit tests (IABTechLab iabgpp-es
// modules/cmpapi/test/encoder/section/Us*.test.ts and iabgpp-java
// Us*Test.java), some in the older padding to 6 bits. In the all-set
// strings both opt-outs are 1 and a child consent is 1 (no consent).
func TestDecodeUSStatePublicVectors(t *testing.T) {
	t.Parallel()
	all := USSection{OptedOut: true, ChildNoConsent: true}
	allGPC := USSection{OptedOut: true, ChildNoConsent: true, GPC: true}
	for _, c := range []struct {
		id   int
		s    string
		want USSection
	}{
		{9, "BAAAABA", USSection{}}, {9, "BVWSSVY", all},
		{10, "BAAAAEA.QA", USSection{}}, {10, "BAAAAEA.Q", USSection{}}, {10, "BVWSSVg.YA", allGPC}, {10, "BVWSSVg.Y", allGPC}, {10, "BVWSSVg", all},
		{11, "BAAAAAQA", USSection{}}, {11, "BAAAAAQ", USSection{}}, {11, "BVVkklWA", all}, {11, "BVVkklW", all},
		{12, "BAAAAAEA.QA", USSection{}}, {12, "BVWSSZFg.YA", allGPC}, {12, "BVWSSZFg", all},
		// iabgpp-es: SaleOptOut 1, TargetedAdvertisingOptOut 2, KnownChild [1, 2, 3].
		{12, "BbYbG22w", all},
		{13, "BAAAAABA", USSection{}}, {13, "BVWSSZlY", all},
		{14, "BAAAAABA.QA", USSection{}}, {14, "BVWSSZFY.YA", allGPC}, {14, "BVWSSZFY", all},
		{15, "BAAAAAABAA.QA", USSection{}}, {15, "BVWSSRpFYA.YA", allGPC}, {15, "BVWSSRpFYA", all},
		{16, "BAAAAAQA.QA", USSection{}}, {16, "BAAAAAQ.Q", USSection{}}, {16, "BVWSSVWA.YA", allGPC}, {16, "BVWSSVW.Y", allGPC},
		{17, "BAAAAAABAA.QA", USSection{}}, {17, "BAAAAAABA.Q", USSection{}}, {17, "BVWSSSSVYA.YA", allGPC}, {17, "BVWSSSSVY.Y", allGPC},
		{18, "BAAAAAQA.QA", USSection{}}, {18, "BVVkklWA.YA", allGPC}, {18, "BVVkklW.Y", allGPC}, {18, "BVVkklWA", all},
		{19, "BAAAAAQA.QA", USSection{}}, {19, "BVWSSVWA.YA", allGPC}, {19, "BVWSSVW.Y", allGPC},
		{20, "BAAAAABA.QA", USSection{}}, {20, "BAAAAABA.Q", USSection{}}, {20, "BVWSSZFY.YA", allGPC}, {20, "BVWSSZFY.Y", allGPC},
		{21, "BAAAAAAAQA.QA", USSection{}}, {21, "BVWSSRklWA.YA", allGPC}, {21, "BVWSSRklWA", all},
		{22, "BAAAAAQA.QA", USSection{}}, {22, "BVWSSVWA.YA", allGPC}, {22, "BVWSSVWA", all},
		{23, "BAAAAAQA.QA", USSection{}}, {23, "BAAAAAQ.Q", USSection{}}, {23, "BVWSSVWA.YA", allGPC}, {23, "BVWSSVW.Y", allGPC},
	} {
		got, err := DecodeUSState(c.id, []byte(c.s))
		if err != nil || got != c.want {
			t.Errorf("DecodeUSState(%d, %q) = %+v, %v; want %+v", c.id, c.s, got, err, c.want)
		}
	}
}
