package decision

import (
	"bytes"

	"github.com/rtbd/rtbd/daemon/openrtb"
)

// fit checks a creative against the imp and the request; it returns "" when
// the creative may serve, else the failed check: "creative" (size,
// duration, mime or protocol), or a block: "battr", "btype", "wlang",
// "secure".
func (c *Ctx) fit(cr *ccreative, imp *openrtb.Imp, mb int) string {
	var battr []int
	switch openrtb.MediaType(1 << mb) {
	case openrtb.MediaBanner:
		if !sizeFits(cr, &imp.Banner) {
			return "creative"
		}
		for _, t := range imp.Banner.BType {
			if uint(t) < 8 && cr.btype&(1<<t) != 0 {
				return "btype"
			}
		}
		battr = imp.Banner.BAttr
	case openrtb.MediaVideo:
		v := &imp.Video
		// Video creatives are linear ads: not for a non-linear slot
		// (an overlay, linearity 2).
		if v.Linearity == 2 || !durFits(cr.dur, v.MinDur, v.MaxDur, podMaxDur(&v.Pod), v.RqdDurs) ||
			!mimesFit(cr, c.vMimes) || !protocolFits(cr.protocol, v.Protocols) || !bitrateFits(cr.bitrate, v.MinBitrate, v.MaxBitrate) {
			return "creative"
		}
		battr = v.BAttr
	case openrtb.MediaAudio:
		a := &imp.Audio
		if !durFits(cr.dur, a.MinDur, a.MaxDur, podMaxDur(&a.Pod), a.RqdDurs) || !mimesFit(cr, c.aMimes) ||
			!protocolFits(cr.protocol, a.Protocols) || !bitrateFits(cr.bitrate, a.MinBitrate, a.MaxBitrate) {
			return "creative"
		}
		battr = a.BAttr
	case openrtb.MediaNative:
		if !cr.native.fits(&imp.Native) {
			return "creative"
		}
		battr = imp.Native.BAttr
	}
	for _, a := range cr.attr {
		if containsInt(battr, a) {
			return "battr"
		}
	}
	if imp.Secure == 1 && !cr.secure {
		return "secure"
	}
	if len(c.req.WLang) > 0 && !containsBytes(c.req.WLang, cr.lang, true) ||
		len(c.req.WLangB) > 0 && !primaryLangIn(c.req.WLangB, cr.lang) {
		return "wlang"
	}
	return ""
}

// primaryLangIn reports whether one of the BCP 47 tags (wlangb: "en",
// "en-US", "zh-Hant-TW") has lang, an ISO-639-1 code, as its primary
// language subtag, in any case.
func primaryLangIn(tags [][]byte, lang []byte) bool {
	if len(lang) == 0 {
		return false
	}
	for _, t := range tags {
		if i := bytes.IndexByte(t, '-'); i >= 0 {
			t = t[:i]
		}
		if equalFold(t, lang) {
			return true
		}
	}
	return false
}

// sizeFits: a creative without a size fits any banner; else one of the
// imp's formats (or banner.w/h) must match exactly. An imp with no size
// at all takes any creative.
func sizeFits(cr *ccreative, b *openrtb.Banner) bool {
	if cr.w <= 0 || cr.h <= 0 || len(b.Formats) == 0 && (b.W <= 0 || b.H <= 0) {
		return true
	}
	if cr.w == b.W && cr.h == b.H {
		return true
	}
	for _, f := range b.Formats {
		if f.W == cr.w && f.H == cr.h {
			return true
		}
	}
	return false
}

// mimesFit: a creative with mimes needs one of them among the imp's
// (hashed by prepareImp) for the creative's media.
func mimesFit(cr *ccreative, imp []uint64) bool {
	if len(cr.mimes) == 0 || len(imp) == 0 {
		return true
	}
	for _, m := range cr.mimes {
		if containsU64(imp, m) {
			return true
		}
	}
	return false
}

// bitrateFits: a creative of known bit rate (kbps) needs it within the
// imp's bounds, each 0 when absent; one of unknown rate fits any.
func bitrateFits(rate, lo, hi int) bool {
	return rate <= 0 || rate >= lo && (hi <= 0 || rate <= hi)
}

func protocolFits(p int, allowed []int) bool {
	return p == 0 || len(allowed) == 0 || containsInt(allowed, p)
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
