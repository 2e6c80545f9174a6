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
	var g GPP
	if n := testing.AllocsPerRun(100, func() {
		_ = DecodeGPP(s, &g)
		text, _ := g.Section(GPPUSNat)
		_, _ = DecodeUSNat(text)
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
