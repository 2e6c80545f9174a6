package openrtb

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestParseNative reads the native requests of the corpus, in each of the
// forms exchanges send them: a JSON string (1.1, 1.2, the 1.0 "native"
// wrapper), an object, or the assets in imp.native itself.
func TestParseNative(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file     string
		imp      int
		ver      string
		eventImp bool
		assets   []NativeAsset
	}{
		{"pbs__adapter-out-smartadserver-native-app-eur-floor.json", 0, "1.2", true, []NativeAsset{
			{ID: 1, Required: true, Kind: NativeTitle, Len: 25},
			{ID: 2, Required: true, Kind: NativeData, Type: 2, Len: 90},
			{ID: 3, Kind: NativeData, Type: 12, Len: 15},
			{ID: 4, Required: true, Kind: NativeImg, Type: 3, WMin: 1200, HMin: 627},
			{ID: 5, Required: true, Kind: NativeImg, Type: 1, WMin: 100, HMin: 100},
			{ID: 6, Kind: NativeData, Type: 3, Len: 5},
			{ID: 7, Kind: NativeData, Type: 6},
		}},
		// No ids: each asset's index stands for it.
		{"pbs__auction-valid-native-with-video-asset.json", 0, "", false, []NativeAsset{
			{ID: 0, Kind: NativeTitle, Len: 90},
			{ID: 1, Kind: NativeImg, WMin: 20, HMin: 30},
			{ID: 2, Kind: NativeVideo, MinDur: 5, MaxDur: 10, MimeHi: 1, ProtoHi: 1},
			{ID: 3, Kind: NativeData, Type: 2, MimeLo: 1, MimeHi: 1, ProtoLo: 1, ProtoHi: 1},
		}},
		// The assets in imp.native, w and h for the image's size.
		{"rtb4free__nexageNativeAppWall.json", 0, "", false, []NativeAsset{
			{ID: 1, Required: true, Kind: NativeTitle, Len: 30},
			{ID: 2, Kind: NativeData, Type: 3, Len: 5},
			{ID: 3, Required: true, Kind: NativeImg, Type: 1, W: 64, H: 64},
			{ID: 4, Kind: NativeData, Type: 2, Len: 10},
		}},
		// The request as an object, without assets; its ver over imp.native.ver.
		{"google__full-all-fields-2016.json", 2, "1", false, nil},
		// Placeholder text where the request should be: no assets.
		{"bsm__breq-native.json", 0, "1.0", false, nil},
	} {
		r := mustParse(t, string(corpusFile(t, tc.file)))
		im := &r.Imps[tc.imp]
		n := &im.Native
		if im.Media&MediaNative == 0 || string(n.Ver) != tc.ver || n.EventImp != tc.eventImp || !slices.Equal(n.Assets, tc.assets) {
			t.Errorf("%s: media %b, native %+v (ver %q); want native, ver %q, eventImp %v, assets %+v",
				tc.file, im.Media, *n, n.Ver, tc.ver, tc.eventImp, tc.assets)
		}
		for i := range n.Assets {
			if a := &n.Assets[i]; a.Kind == NativeVideo {
				if m, p := n.AssetMimes(a), n.AssetProtocols(a); len(m) != 1 || string(m[0]) != "video/mp4" || !slices.Equal(p, []int{1}) {
					t.Errorf("%s: video asset mimes %q, protocols %v", tc.file, m, p)
				}
			}
		}
	}
}

// TestParseNativeVideo: each video asset's mimes and protocols, from one
// request's pool; past maxNativeList of them the request is not read.
func TestParseNativeVideo(t *testing.T) {
	t.Parallel()
	body := `{"id":"a","imp":[{"id":"1","native":{"request":"{\"assets\":[` +
		`{\"id\":4,\"video\":{\"mimes\":[\"video/mp4\",\"video/webm\"],\"protocols\":[2,3],\"maxduration\":30}},` +
		`{\"id\":5,\"title\":{\"len\":9}},` +
		`{\"id\":6,\"required\":1,\"video\":{\"mimes\":[\"video/ogg\",\"video\\\\/x\"],\"minduration\":6}}]}"}}]}`
	r := mustParse(t, body)
	n := &r.Imps[0].Native
	if len(n.Assets) != 3 {
		t.Fatalf("assets %+v", n.Assets)
	}
	for i, want := range []struct {
		mimes          []string
		protocols      []int
		minDur, maxDur int
	}{
		{[]string{"video/mp4", "video/webm"}, []int{2, 3}, 0, 30},
		{nil, nil, 0, 0},
		{[]string{"video/ogg", ""}, nil, 6, 0}, // a mime with an escape is kept empty
	} {
		a := &n.Assets[i]
		var got []string
		for _, m := range n.AssetMimes(a) {
			got = append(got, string(m))
		}
		if !slices.Equal(got, want.mimes) || !slices.Equal(n.AssetProtocols(a), want.protocols) || a.MinDur != want.minDur || a.MaxDur != want.maxDur {
			t.Errorf("asset %d: mimes %q, protocols %v, durations %d-%d; want %+v", i, got, n.AssetProtocols(a), a.MinDur, a.MaxDur, want)
		}
	}
	many := strings.Repeat(`\"video/mp4\",`, maxNativeList) + `\"video/mp4\"`
	r = mustParse(t, `{"id":"a","imp":[{"id":"1","native":{"request":"{\"assets\":[{\"title\":{}},{\"video\":{\"mimes\":[`+many+`]}}]}"}}]}`)
	if len(r.Imps[0].Native.Assets) != 0 {
		t.Fatalf("%d mimes: assets %+v; want none", maxNativeList+1, r.Imps[0].Native.Assets)
	}
}

// TestParseNativeForms: the request string's forms and faults. What a
// native request string holds that cannot be read leaves the imp with no
// assets, never fails the bid request.
func TestParseNativeForms(t *testing.T) {
	t.Parallel()
	f := func(native string, ver string, eventImp bool, assets ...NativeAsset) {
		t.Helper()
		r := mustParse(t, `{"id":"a","imp":[{"id":"1","native":`+native+`}]}`)
		n := &r.Imps[0].Native
		if strings.Contains(native, "battr") && !slices.Equal(n.BAttr, []int{13, 14}) {
			t.Errorf("native %s: battr %v", native, n.BAttr)
		}
		if r.Imps[0].Media != MediaNative || string(n.Ver) != ver || n.EventImp != eventImp || !slices.Equal(n.Assets, assets) {
			t.Errorf("native %s: media %b, %+v (ver %q); want ver %q, eventImp %v, assets %+v", native, r.Imps[0].Media, *n, n.Ver, ver, eventImp, assets)
		}
	}
	title := NativeAsset{ID: 1, Required: true, Kind: NativeTitle, Len: 20}
	f(`{"request":"{\"ver\":\"1.2\",\"assets\":[{\"id\":1,\"required\":1,\"title\":{\"len\":20}}]}"}`, "1.2", false, title)
	f(`{"ver":"1.1","request":"{\"native\":{\"ver\":\"1.0\",\"assets\":[{\"id\":1,\"required\":1,\"title\":{\"len\":20}}]}}"}`, "1.0", false, title)
	f(`{"request":{"assets":[{"id":1,"required":1,"title":{"len":20}}]},"ver":"1.1"}`, "1.1", false, title)
	// Sizes; an unknown kind.
	f(`{"request":"{\"assets\":[{\"id\":7,\"img\":{\"w\":10,\"wmin\":5,\"hmin\":6,\"h\":12}},{\"id\":8,\"required\":1,\"link\":{}}]}"}`, "", false,
		NativeAsset{ID: 7, Kind: NativeImg, W: 10, H: 12, WMin: 5, HMin: 6}, NativeAsset{ID: 8, Required: true})
	// Impression trackers as images: event 1 with method 1.
	f(`{"request":"{\"assets\":[],\"eventtrackers\":[{\"event\":2,\"methods\":[1]},{\"event\":1,\"methods\":[2]}]}"}`, "", false)
	f(`{"request":"{\"assets\":[],\"eventtrackers\":[{\"event\":1,\"methods\":[2,1]}]}"}`, "", true)
	// Faults: not JSON, trailing data, an escaped ver, too many assets.
	f(`{"request":"...Native Spec request as an encoded string..."}`, "", false)
	f(`{"request":"{\"assets\":[{\"id\":1,\"title\":{\"len\":20}}]} x"}`, "", false)
	f(`{"request":"{\"ver\":\"1\\u002e2\",\"assets\":[{\"id\":1,\"required\":1,\"title\":{\"len\":20}}]}"}`, "", false, title)
	// The 1.0 wrapper without ver is 1.0; battr beside the request.
	f(`{"battr":[13,14],"request":"{\"native\":{\"assets\":[{\"id\":1,\"required\":1,\"title\":{\"len\":20}}]}}"}`, "1.0", false, title)
	// The request as JSON in the bid request: what it means is read as
	// from a string, so a wrong type there only leaves it without assets.
	f(`{"request":{"assets":5}}`, "", false)
	f(`{"request":{"assets":[{"id":"abc","title":{}}]}}`, "", false)
	f(`{"assets":[{"id":1,"required":1,"title":{"len":20}}],"ver":"1.0"}`, "1.0", false, title)
	f(`{"assets":[{"id":1,"title":{"len":[]}}]}`, "", false)
	// Escapes in a request string are not decoded: an escaped key or
	// number is no field's, or an error.
	f(`{"request":"{\"assets\":[{\"\\u0069d\":1,\"title\":{\"len\":20}}]}"}`, "", false, NativeAsset{ID: 0, Kind: NativeTitle, Len: 20})
	f(`{"request":"{\"assets\":[{\"id\":\"1\\u0030\",\"title\":{}}]}"}`, "", false)
	f(`{"request":"{\"assets\":[{\"id\":1e999,\"title\":{}}]}"}`, "", false)
	// maxNativeAssets assets are read, one more is too many.
	var full []NativeAsset
	fullReq := `{"request":"{\"assets\":[`
	for i := 1; i <= maxNativeAssets; i++ {
		full = append(full, NativeAsset{ID: i, Kind: NativeTitle, Len: 20})
		fullReq += fmt.Sprintf(`{\"id\":%d,\"title\":{\"len\":20}},`, i)
	}
	f(fullReq[:len(fullReq)-1]+`]}"}`, "", false, full...)
	many := `{"request":"{\"assets\":[`
	for i := 0; i <= maxNativeAssets; i++ {
		many += fmt.Sprintf(`{\"id\":%d,\"title\":{\"len\":20}},`, i)
	}
	f(many[:len(many)-1]+`]}"}`, "", false) // maxNativeAssets+1
}

// TestParseNativeScratch: a native request string holds escapes that a
// reading which decoded them would copy into the scratch a second time,
// past the body's size, which bounds it. None is decoded, and a
// number out of range allocates nothing either.
func TestParseNativeScratch(t *testing.T) {
	for _, body := range []string{
		`{"id":"a","imp":[{"id":"1","native":{"request":"{\"` + strings.Repeat("a", 200) + `\\n\":1}"}}]}`,
		`{"id":"a","imp":[{"id":"1","native":{"request":"{\"assets\":[{\"id\":\"` + strings.Repeat(" ", 300) + `1\\u0030\"}]}"}}]}`,
	} {
		var r Request
		if err := r.Parse([]byte(body)); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if len(r.scratch) > len(body) || len(r.Imps[0].Native.Assets) != 0 {
			t.Fatalf("%s: scratch %d bytes of a %d-byte body, assets %+v", body, len(r.scratch), len(body), r.Imps[0].Native.Assets)
		}
	}
	body := []byte(`{"id":"a","imp":[{"id":"1","native":{"request":"{\"assets\":[{\"id\":1e999,\"title\":{}}]}"}}]}`)
	var r Request
	if n := testing.AllocsPerRun(100, func() {
		r.Reset()
		if err := r.Parse(body); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("a native request with a number out of range: %v allocations per Parse; want 0", n)
	}
}
