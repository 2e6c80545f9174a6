package decision

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

// Native ads. A native creative's markup is a Native Ads response (1.1 or
// 1.2, with or without the 1.0 "native" wrapper): its title, images,
// data and video, its link and its impression trackers. A bid does not
// send that document as it is: a native request names the assets it
// renders, by ids of its own, so the bid's markup carries the creative's
// pieces under the request's asset ids, in the request's version. A
// creative fits an imp when it can fill every required asset and at
// least one: a title no longer than the asset's len, an image of the
// asset's type (an image of the creative without one is a main image, 3)
// at least the asset's size, a data asset of its type no longer than its
// len, a video.

// cnative is a native creative's pieces, compiled from its markup. Every
// []byte is JSON-escaped (openrtb.AppendEscaped) once, so that a bid's
// markup, a JSON string in the response, is copied together.
type cnative struct {
	title   nativePiece
	imgs    []nativePiece
	datas   []nativePiece
	video   nativePiece
	link    []byte   // the link object (its url is required)
	imps    [][]byte // impression tracker URLs (string contents)
	privacy []byte   // the privacy URL (string content), or nil
	// The video's mimes (folded hashes), duration and protocol: the
	// creative's mimes, dur and protocol, which describe its VAST.
	vmimes    []uint64
	vdur      int
	vprotocol int
}

// nativePiece is one asset's object ({"text":...}, {"url":...,"w":..},
// {"value":...}, {"vasttag":...}), escaped, and what fit compares.
type nativePiece struct {
	obj   []byte // nil: none
	typ   int    // image or data type
	w, h  int
	runes int // characters of a title's text or a data value
}

// Native image types (Native Ads 1.2, 7.4) and event tracking (7.6, 7.7).
const (
	nativeImgMain   = 3
	nativeEventImp  = 1
	nativeMethodImg = 1
)

// compileNative reads native creative cr's markup. What it does not know
// is left out: a creative with no piece fills no asset, and never bids.
func compileNative(cr *ccreative, markup string) (*cnative, error) {
	m, err := campaign.ParseNativeMarkup(markup)
	if err != nil {
		return nil, err
	}
	n := &cnative{vmimes: cr.mimes, vdur: cr.dur, vprotocol: cr.protocol}
	for _, a := range m.Assets {
		switch {
		case a.Title != nil && a.Title.Text != "" && n.title.obj == nil:
			n.title = nativePiece{obj: escapedJSON(a.Title), runes: utf8.RuneCountInString(a.Title.Text)}
		case a.Img != nil && a.Img.URL != "":
			img := *a.Img
			if img.Type == 0 {
				img.Type = nativeImgMain
			}
			n.imgs = append(n.imgs, nativePiece{obj: escapedJSON(struct {
				URL  string `json:"url"`
				W    int    `json:"w,omitempty"`
				H    int    `json:"h,omitempty"`
				Type int    `json:"type"`
			}{img.URL, img.W, img.H, img.Type}), typ: img.Type, w: img.W, h: img.H})
		case a.Data != nil && a.Data.Type > 0 && a.Data.Value != "":
			n.datas = append(n.datas, nativePiece{obj: escapedJSON(struct {
				Value string `json:"value"`
			}{a.Data.Value}), typ: a.Data.Type, runes: utf8.RuneCountInString(a.Data.Value)})
		case a.Video != nil && a.Video.VASTTag != "" && n.video.obj == nil:
			n.video = nativePiece{obj: escapedJSON(a.Video)}
		}
	}
	var link bytes.Buffer
	if err := json.Compact(&link, m.Link); err != nil {
		return nil, err
	}
	n.link = openrtb.AppendEscaped(nil, link.Bytes())
	for _, u := range m.ImpTrackers {
		n.imps = append(n.imps, escapedString(u))
	}
	for _, e := range m.EventTrackers {
		if e.Event == nativeEventImp && e.Method == nativeMethodImg && e.URL != "" {
			n.imps = append(n.imps, escapedString(e.URL))
		}
	}
	if m.Privacy != "" {
		n.privacy = escapedString(m.Privacy)
	}
	return n, nil
}

// escapedJSON is v in JSON, without HTML escapes, JSON-escaped again.
func escapedJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("BUG: cannot encode a native piece: " + err.Error())
	}
	return openrtb.AppendEscaped(nil, bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// escapedString is the content of s as a JSON string in a JSON string.
func escapedString(s string) []byte {
	b := escapedJSON(s) // \"...\"
	return b[2 : len(b)-2]
}

// fill returns the piece of n that fills asset a of req, or nil.
func (n *cnative) fill(req *openrtb.Native, a *openrtb.NativeAsset) *nativePiece {
	switch a.Kind {
	case openrtb.NativeTitle:
		if n.title.obj != nil && (a.Len <= 0 || n.title.runes <= a.Len) {
			return &n.title
		}
	case openrtb.NativeImg:
		want := a.Type
		if want == 0 {
			want = nativeImgMain
		}
		for i := range n.imgs {
			if p := &n.imgs[i]; p.typ == want && sizeFills(p.w, a.W, a.WMin) && sizeFills(p.h, a.H, a.HMin) {
				return p
			}
		}
	case openrtb.NativeData:
		for i := range n.datas {
			if p := &n.datas[i]; p.typ == a.Type && (a.Len <= 0 || p.runes <= a.Len) {
				return p
			}
		}
	case openrtb.NativeVideo:
		// As a video imp's: the duration within the asset's bounds, a
		// mime and the protocol among its own when it lists some.
		if n.video.obj != nil && durFits(n.vdur, a.MinDur, a.MaxDur, 0, nil) &&
			nativeMimesFit(n.vmimes, req.AssetMimes(a)) && protocolFits(n.vprotocol, req.AssetProtocols(a)) {
			return &n.video
		}
	}
	return nil
}

// nativeMimesFit is mimesFit for a native video asset's mimes, which are
// hashed here: few requests have one.
func nativeMimesFit(cr []uint64, asset [][]byte) bool {
	if len(cr) == 0 || len(asset) == 0 {
		return true
	}
	for _, m := range asset {
		if containsU64(cr, hashFold(m)) {
			return true
		}
	}
	return false
}

// sizeFills reports whether an image's size in one dimension, got, fills
// an asset's: at least its minimum, else exactly its size, else any.
func sizeFills(got, exact, least int) bool {
	switch {
	case least > 0:
		return got >= least
	case exact > 0:
		return got == exact
	}
	return true
}

// fits reports whether n fills every required asset of req and one at
// least.
func (n *cnative) fits(req *openrtb.Native) bool {
	if n == nil {
		return false
	}
	filled := false
	for i := range req.Assets {
		a := &req.Assets[i]
		if n.fill(req, a) != nil {
			filled = true
		} else if a.Required {
			return false
		}
	}
	return filled
}

// kindNames are the asset objects' names by openrtb.NativeKind, escaped.
var kindNames = [...]string{
	openrtb.NativeTitle: `,\"title\":`,
	openrtb.NativeImg:   `,\"img\":`,
	openrtb.NativeData:  `,\"data\":`,
	openrtb.NativeVideo: `,\"video\":`,
}

// appendMarkup appends the bid markup of n for req, JSON-escaped: a
// Native Ads response in req's version (1.2 unless it says 1.0 or 1.1;
// 1.0 in its "native" wrapper) whose assets are the pieces that fill
// req's, under req's ids. The impression trackers go in eventtrackers
// when a 1.2 request takes them there, else in imptrackers.
func (n *cnative) appendMarkup(dst []byte, req *openrtb.Native) []byte {
	ver := "1.2"
	switch string(req.Ver) {
	case "1", "1.0":
		ver = "1.0"
	case "1.1":
		ver = "1.1"
	}
	if ver == "1.0" {
		dst = append(dst, `{\"native\":`...)
	}
	dst = append(dst, `{\"ver\":\"`...)
	dst = append(dst, ver...)
	dst = append(dst, `\",\"assets\":[`...)
	first := true
	for i := range req.Assets {
		a := &req.Assets[i]
		p := n.fill(req, a)
		if p == nil {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, `{\"id\":`...)
		dst = strconv.AppendInt(dst, int64(a.ID), 10)
		dst = append(dst, kindNames[a.Kind]...)
		dst = append(dst, p.obj...)
		dst = append(dst, '}')
	}
	dst = append(dst, ']')
	dst = append(dst, `,\"link\":`...)
	dst = append(dst, n.link...)
	if len(n.imps) > 0 {
		if ver == "1.2" && req.EventImp {
			dst = append(dst, `,\"eventtrackers\":[`...)
			for i, u := range n.imps {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = append(dst, `{\"event\":1,\"method\":1,\"url\":\"`...)
				dst = append(dst, u...)
				dst = append(dst, `\"}`...)
			}
		} else {
			dst = append(dst, `,\"imptrackers\":[`...)
			for i, u := range n.imps {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = append(dst, `\"`...)
				dst = append(dst, u...)
				dst = append(dst, `\"`...)
			}
		}
		dst = append(dst, ']')
	}
	if n.privacy != nil && ver == "1.2" {
		dst = append(dst, `,\"privacy\":\"`...)
		dst = append(dst, n.privacy...)
		dst = append(dst, `\"`...)
	}
	dst = append(dst, '}')
	if ver == "1.0" {
		dst = append(dst, '}')
	}
	return dst
}
