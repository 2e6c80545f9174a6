package openrtb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/rtbd/rtbd/daemon/corpus"
)

// FuzzParse checks that Parse never panics, keeps its output bounded, only
// accepts valid JSON, upholds the documented guarantees on success, and
// parses into a reused Request what it parses into a fresh one.
func FuzzParse(f *testing.F) {
	for _, files := range [][]corpus.File{corpus.Requests(), corpus.Invalid()} {
		for _, file := range files {
			f.Add(file.Body)
			for _, n := range []int{1, len(file.Body) / 3, len(file.Body) / 2, len(file.Body) - 1} {
				if n > 0 && n < len(file.Body) {
					f.Add(file.Body[:n])
				}
			}
		}
	}
	f.Add([]byte(`{"id":"\ud83d\ude00","imp":[{"id":1,"banner":{"w":"1","h":1.5}}],"tmax":"1e2"}`))
	f.Add(bytes.Repeat([]byte("["), 1000))
	// The 2.6 fields kept in lists a reused Request keeps the capacity of.
	f.Add([]byte(`{"id":"a","acat":["IAB1"],"cattax":"6","wlangb":["en-US"],"imp":[{"id":"1",` +
		`"video":{"mimes":["v"],"podid":"p","rqddurs":[15],"durfloors":[{"maxdur":15,"bidfloor":5},{"mindur":16}]},` +
		`"audio":{"mimes":["a"],"poddur":60,"poddedupe":[1],"durfloors":[{"bidfloor":1}]},` +
		`"pmp":{"deals":[{"id":"d","mincpmpersec":0.5,"durfloors":[{"mindur":1,"maxdur":30,"bidfloor":2}]}]}}]}`))
	// Native requests in a string, with escapes a decoding reading would
	// copy past the scratch's size; as JSON, with wrong types.
	f.Add([]byte(`{"id":"a","imp":[{"id":"1","native":{"request":"{\"as\\u0073ets\":[{\"id\":\"1\\u0030\",\"img\":{\"wmin\":5}}],\"eventtrackers\":[{\"event\":1,\"methods\":[1]}]}"}}]}`))
	f.Add([]byte(`{"id":"a","imp":[{"id":"1","native":{"battr":[1],"request":{"native":{"assets":[{"id":"x","data":{"type":2,"len":9}}]}}}}]}`))
	// r is reused across inputs, as the handler reuses its Request: what
	// it parses must equal a fresh parse, or Reset left something behind.
	var r Request
	f.Fuzz(func(t *testing.T, body []byte) {
		err := r.Parse(body)
		var fresh Request
		freshErr := fresh.Parse(body)
		if fmt.Sprint(err) != fmt.Sprint(freshErr) {
			t.Fatalf("reused Request: %v; fresh: %v; body %q", err, freshErr, body)
		}
		if err == nil {
			if got, want := dumpRequest(&r), dumpRequest(&fresh); got != want {
				t.Fatalf("reused Request differs from a fresh parse of %q:\n%s\n%s", body, got, want)
			}
		}
		if len(r.scratch) > len(body) || len(r.Imps) > maxImps {
			t.Fatalf("unbounded output: scratch %d bytes for a %d-byte body, %d imps", len(r.scratch), len(body), len(r.Imps))
		}
		if err != nil {
			if len(err.Error()) > 120 {
				t.Fatalf("error message too long: %q", err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("Parse accepted invalid JSON %q", body)
		}
		if len(r.ID) == 0 || len(r.Imps) == 0 {
			t.Fatalf("Parse succeeded without id or imps: %q", body)
		}
		for i := range r.Imps {
			if len(r.Imps[i].ID) == 0 {
				t.Fatalf("Parse succeeded with an imp without id: %q", body)
			}
			im := &r.Imps[i]
			if len(im.Banner.Formats) > maxFormats || len(im.PMP.Deals) > maxDeals ||
				len(im.Video.DurFloors) > maxDurFloors || len(im.Audio.DurFloors) > maxDurFloors ||
				len(im.Native.Assets) > maxNativeAssets {
				t.Fatalf("unbounded lists in %q", body)
			}
		}
		_ = r.Validate()
		_ = r.Privacy(755)
	})
}

// FuzzConsent feeds arbitrary text to the TCF, GPP, usnat and usca decoders:
// they never panic, and what they accept is consistent.
func FuzzConsent(f *testing.F) {
	for _, s := range []string{
		"COwGVJOOwGVJOADACHENAOCAAO6as_-AAAhoAFNLAAoAAAA",
		"COyfVVoOyfVVoADACHENAwCAAAAAAAAAAAAAE5QBgALgAqgD8AQACSwEygJyAnSAMABgAFkAgQCDASeAmYBOgAA",
		"CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA.YAAAAAAAAAAA",
		"DBACNYA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN",
		"DBABjw~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN",
		"DBABrGA~DSJgmkoZJSA.YA~BlgWEYCY.QA~BSFgmiU~bSFgmJQ.YA~BWJYJllA~bSFgmSZQ.YA",
		"BaaVEiFKEJJo.YA", "BVVqAAEABCA.QA", "BVWSSZFg.YA", "BVWSSRklWA.YA", "", "~", "D", "C",
	} {
		f.Add([]byte(s), uint16(755))
	}
	f.Fuzz(func(t *testing.T, s []byte, vendor uint16) {
		t1, err1 := DecodeTCF(s, int(vendor))
		t0, err0 := DecodeTCF(s, 0)
		if err1 == nil && err0 != nil {
			t.Fatalf("%q decodes for vendor %d but not without one: %v", s, vendor, err0)
		}
		if err1 == nil && (t1.Purposes != t0.Purposes || t1.PurposesLI != t0.PurposesLI) {
			t.Fatalf("%q: purposes depend on the vendor asked: %+v %+v", s, t1, t0)
		}
		if err0 == nil && (t0.Vendor || t0.VendorLI || t0.Purposes >= 1<<24 || t0.PurposesLI >= 1<<24) {
			t.Fatalf("%q: impossible result %+v", s, t0)
		}
		var g GPP
		if err := DecodeGPP(s, &g); err == nil {
			prev := 0
			for i := range g.Len() {
				id := g.ID(i)
				text, ok := g.Section(id)
				if id <= prev || id > gppMaxSID || !ok || bytes.IndexByte(text, '~') >= 0 {
					t.Fatalf("%q: section %d (%d) after %d: %q", s, i, id, prev, text)
				}
				prev = id
				_, _ = DecodeUSNat(text)
				_, _ = DecodeUSCA(text)
				_, _ = DecodeUSState(id, text)
			}
		}
		_, _ = DecodeUSNat(s)
		_, _ = DecodeUSCA(s)
		for id := GPPUSVA; id <= GPPUSMN; id++ {
			_, _ = DecodeUSState(id, s)
		}
	})
}

// FuzzAppendResponse checks that any field content yields valid JSON whose
// strings decode to what encoding/json would produce for the same input.
func FuzzAppendResponse(f *testing.F) {
	f.Add([]byte("req"), []byte("<VAST>\n\"x\"</VAST>"), []byte("c 1"), 1.5)
	f.Add([]byte("\xff\x00"), []byte("\u2028"), []byte("&=?"), -0.0)
	var dst []byte
	f.Fuzz(func(t *testing.T, id, adm, cid []byte, price float64) {
		r := Response{
			ID: id, Cur: cid, BidID: adm, NoticeBase: id, NBR: -1,
			Bids: []Bid{{Seat: cid, ID: id, ImpID: cid, CampaignID: cid, Price: price, AdM: adm, ADomain: [][]byte{adm, id}}},
		}
		dst = AppendResponse(dst[:0], &r)
		d := decodeResponse(t, dst)
		wantString := func(got string, in []byte) {
			t.Helper()
			var want string
			ref, _ := json.Marshal(string(in))
			_ = json.Unmarshal(ref, &want)
			if got != want {
				t.Fatalf("field round trip: got %q; want %q", got, want)
			}
		}
		wantString(d.ID, id)
		wantString(d.SeatBid[0].Bid[0].AdM, adm)
		wantString(d.SeatBid[0].Bid[0].CID, cid)
	})
}
