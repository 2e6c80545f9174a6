package decision

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/rtbd/rtbd/daemon/openrtb"
)

// nativeResponse is what a renderer reads of a native bid's markup.
type nativeResponse struct {
	Native *nativeResponse `json:"native"`
	Ver    string          `json:"ver"`
	Assets []struct {
		ID    *int            `json:"id"`
		Title json.RawMessage `json:"title"`
		Img   json.RawMessage `json:"img"`
		Data  json.RawMessage `json:"data"`
		Video json.RawMessage `json:"video"`
	} `json:"assets"`
	Link          json.RawMessage `json:"link"`
	ImpTrackers   []string        `json:"imptrackers"`
	EventTrackers []struct {
		Event, Method int
		URL           string
	} `json:"eventtrackers"`
}

// decodeNativeAdm reads escaped markup, as a bid's adm string carries it.
func decodeNativeAdm(t *testing.T, escaped []byte) (nativeResponse, string) {
	t.Helper()
	var doc string
	if err := json.Unmarshal([]byte(`"`+string(escaped)+`"`), &doc); err != nil {
		t.Fatalf("markup is not a JSON string's content: %v\n%s", err, escaped)
	}
	var r nativeResponse
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		t.Fatalf("markup is not JSON: %v\n%s", err, doc)
	}
	return r, doc
}

const testNativeMarkup = `{"native":{"ver":"1.2","assets":[
	{"id":1,"title":{"text":"Ünïcode title \"quoted\""}},
	{"id":2,"img":{"url":"https://cdn.example/main.jpg","w":1200,"h":627}},
	{"id":3,"img":{"type":1,"url":"https://cdn.example/icon.png","w":128,"h":128}},
	{"id":4,"data":{"type":2,"value":"A description <b>&</b>"}},
	{"id":5,"data":{"type":12,"value":"Buy"}},
	{"id":6,"data":{"value":"no type: fills nothing"}},
	{"id":7,"video":{"vasttag":"<VAST version=\"4.0\"/>"}}],
	"link":{"url":"https://adv.example/?a=1&b=2", "clicktrackers":["https://t.example/c"]},
	"imptrackers":["https://t.example/i1"],
	"eventtrackers":[{"event":1,"method":1,"url":"https://t.example/i2"},{"event":1,"method":2,"url":"https://t.example/js"},{"event":2,"method":1,"url":"https://t.example/v50"}],
	"privacy":"https://adv.example/privacy"}}`

func TestNativeFill(t *testing.T) {
	t.Parallel()
	n, err := compileNative(&ccreative{}, testNativeMarkup)
	if err != nil {
		t.Fatal(err)
	}
	f := func(want bool, assets ...openrtb.NativeAsset) {
		t.Helper()
		if got := n.fits(&openrtb.Native{Assets: assets}); got != want {
			t.Errorf("assets %+v: fits %v; want %v", assets, got, want)
		}
	}
	title := func(l int, req bool) openrtb.NativeAsset {
		return openrtb.NativeAsset{ID: 1, Kind: openrtb.NativeTitle, Len: l, Required: req}
	}
	img := func(typ, wmin, hmin int, req bool) openrtb.NativeAsset {
		return openrtb.NativeAsset{ID: 2, Kind: openrtb.NativeImg, Type: typ, WMin: wmin, HMin: hmin, Required: req}
	}
	data := func(typ, l int, req bool) openrtb.NativeAsset {
		return openrtb.NativeAsset{ID: 3, Kind: openrtb.NativeData, Type: typ, Len: l, Required: req}
	}
	f(false)                  // nothing to fill
	f(true, title(0, true))   // no limit
	f(true, title(22, true))  // 22 characters, 26 bytes
	f(false, title(21, true)) // too long
	f(true, title(21, false), data(2, 0, false))
	f(false, title(21, false))       // fills none
	f(true, img(0, 1200, 627, true)) // an image without type is a main one
	f(true, img(3, 600, 300, true))
	f(false, img(3, 1201, 627, true))
	f(false, img(3, 1200, 628, true))
	f(true, img(1, 100, 100, true))
	f(false, img(1, 129, 100, true))
	// w and h without a minimum are exact.
	exact := func(w, h int) openrtb.NativeAsset {
		return openrtb.NativeAsset{ID: 2, Kind: openrtb.NativeImg, Type: 1, W: w, H: h, Required: true}
	}
	f(true, exact(128, 128))
	f(false, exact(64, 64))
	f(false, exact(128, 64))
	f(true, openrtb.NativeAsset{ID: 2, Kind: openrtb.NativeImg, Type: 1, W: 64, H: 64, WMin: 100, HMin: 120, Required: true})
	f(false, img(2, 0, 0, true)) // no image of type 2
	f(true, data(12, 3, true))
	f(false, data(12, 2, true))
	f(false, data(1, 0, true)) // the data without type fills no type
	f(true, openrtb.NativeAsset{Kind: openrtb.NativeVideo, Required: true})
	// A video asset's durations, mimes and protocols, against the
	// creative's dur, mimes and protocol.
	v, err := compileNative(&ccreative{dur: 15, protocol: 3, mimes: []uint64{hashFoldString("video/mp4")}}, testNativeMarkup)
	if err != nil {
		t.Fatal(err)
	}
	vf := func(want bool, mimes []string, protocols []int, minDur, maxDur int) {
		t.Helper()
		req := &openrtb.Native{Protocols: protocols}
		for _, m := range mimes {
			req.Mimes = append(req.Mimes, []byte(m))
		}
		req.Assets = []openrtb.NativeAsset{{Kind: openrtb.NativeVideo, Required: true, MinDur: minDur, MaxDur: maxDur,
			MimeHi: uint8(len(mimes)), ProtoHi: uint8(len(protocols))}}
		if got := v.fits(req); got != want {
			t.Errorf("video asset %q %v %d-%d: fits %v; want %v", mimes, protocols, minDur, maxDur, got, want)
		}
	}
	vf(true, nil, nil, 0, 0)
	vf(true, []string{"video/webm", "VIDEO/MP4"}, []int{2, 3}, 5, 30)
	vf(false, []string{"video/webm"}, nil, 0, 0)
	vf(false, []string{""}, nil, 0, 0) // a mime the parser could not read matches none
	vf(false, nil, []int{2, 7}, 0, 0)
	vf(false, nil, nil, 16, 30)
	vf(false, nil, nil, 5, 14)
	vf(true, nil, nil, 15, 15)
	f(false, title(0, true), openrtb.NativeAsset{ID: 9, Required: true}) // a kind it does not know
	f(true, title(0, true), openrtb.NativeAsset{ID: 9})
	var none *cnative
	if none.fits(&openrtb.Native{Assets: []openrtb.NativeAsset{title(0, false)}}) {
		t.Error("a creative that is not native fits a native imp")
	}
}

// TestNativeMarkup: a bid's markup has the creative's pieces under the
// request's asset ids, in the request's version, with the impression
// trackers where that version and the request take them.
func TestNativeMarkup(t *testing.T) {
	t.Parallel()
	n, err := compileNative(&ccreative{}, testNativeMarkup)
	if err != nil {
		t.Fatal(err)
	}
	req := openrtb.Native{Assets: []openrtb.NativeAsset{
		{ID: 11, Kind: openrtb.NativeTitle, Required: true},
		{ID: 12, Kind: openrtb.NativeImg, Type: 1, WMin: 50, HMin: 50},
		{ID: 13, Kind: openrtb.NativeData, Type: 3}, // no rating: left out
		{ID: 14, Kind: openrtb.NativeData, Type: 2, Len: 90},
		{ID: 0, Kind: openrtb.NativeVideo},
	}}
	for _, tc := range []struct {
		ver      string
		eventImp bool
		want     string // the version written
		events   bool   // trackers in eventtrackers
	}{
		{"", false, "1.2", false},
		{"1.2", true, "1.2", true},
		{"1.1", true, "1.1", false},
		{"1", false, "1.0", false},
		{"1.0", true, "1.0", false},
		{"2.0", true, "1.2", true},
	} {
		req.Ver, req.EventImp = []byte(tc.ver), tc.eventImp
		r, doc := decodeNativeAdm(t, n.appendMarkup([]byte("prefix"), &req)[len("prefix"):])
		if tc.want == "1.0" {
			if r.Native == nil || r.Ver != "" {
				t.Fatalf("ver %q: no native wrapper: %s", tc.ver, doc)
			}
			r = *r.Native
		} else if r.Native != nil {
			t.Fatalf("ver %q: a native wrapper past 1.0: %s", tc.ver, doc)
		}
		var ids []int
		for _, a := range r.Assets {
			ids = append(ids, *a.ID)
		}
		if r.Ver != tc.want || !slices.Equal(ids, []int{11, 12, 14, 0}) {
			t.Fatalf("ver %q: ver %q, asset ids %v; want %q, [11 12 14 0]: %s", tc.ver, r.Ver, ids, tc.want, doc)
		}
		a := r.Assets
		if string(a[0].Title) != `{"text":"Ünïcode title \"quoted\""}` || !strings.Contains(string(a[1].Img), `icon.png`) ||
			string(a[2].Data) != `{"value":"A description <b>&</b>"}` || string(a[3].Video) != `{"vasttag":"<VAST version=\"4.0\"/>"}` {
			t.Fatalf("ver %q: assets %s", tc.ver, doc)
		}
		if string(r.Link) != `{"url":"https://adv.example/?a=1&b=2","clicktrackers":["https://t.example/c"]}` {
			t.Fatalf("link %s", r.Link)
		}
		trackers := []string{"https://t.example/i1", "https://t.example/i2"}
		var events []string
		for _, e := range r.EventTrackers {
			if e.Event != 1 || e.Method != 1 {
				t.Fatalf("eventtracker %+v", e)
			}
			events = append(events, e.URL)
		}
		if tc.events && (len(r.ImpTrackers) != 0 || !slices.Equal(events, trackers)) ||
			!tc.events && (len(events) != 0 || !slices.Equal(r.ImpTrackers, trackers)) {
			t.Fatalf("ver %q, eventtrackers asked %v: imptrackers %v, eventtrackers %v; want %v in one of them (eventtrackers %v)",
				tc.ver, tc.eventImp, r.ImpTrackers, events, trackers, tc.events)
		}
		if hasPrivacy := strings.Contains(doc, `"privacy":"https://adv.example/privacy"`); hasPrivacy != (tc.want == "1.2") {
			t.Fatalf("ver %q: privacy in it %v; want it in 1.2 only", tc.ver, hasPrivacy)
		}
	}
}

func TestCompileNativeErrors(t *testing.T) {
	t.Parallel()
	for _, m := range []string{
		`x`, `[]`, `{"native":"x"}`,
		`{"assets":[{"img":{"w":"wide","url":"u"}}],"link":{"url":"u"}}`,
		`{"assets":[{"title":{"text":"t"}}]}`,                   // no link
		`{"assets":[{"title":{"text":"t"}}],"link":{"url":""}}`, // no link url
		`{"assets":[{"title":{"text":"t"}}],"link":"u"}`,        // not an object
		`{"assets":[{"title":{"text":""}},{"img":{"w":1}},{"data":{"type":1}},{"data":{"value":"v"}},{"video":{}}],"link":{"url":"u"}}`, // nothing to fill with
	} {
		if _, err := compileNative(&ccreative{}, m); err == nil {
			t.Errorf("native markup %s: no error", m)
		}
	}
}
