package decision

import (
	"bytes"
	"slices"

	"github.com/rtbd/rtbd/daemon/openrtb"
)

// fit checks a creative against the imp and the request; it returns
// whyNone when the creative may serve, else the failed check: whyCreative
// (size, duration, mime or protocol), or a block: whyBattr, whyBtype,
// whyWlang, whySecure.
// Mimes, protocols and battr are checked with the fit masks of the
// creative and of the imp (see fitMasks), or by fitLists for a creative
// whose values do not all have a bit.
// Out of line, as price is.
//
//go:noinline
func (c *Ctx) fit(cr *ccreative, imp *openrtb.Imp, mb int) uint8 {
	m := &cr.masks
	switch {
	case m.slow || mb == mbNative:
		return c.fitLists(cr, imp, mb)
	case mb == mbBanner:
		if !sizeFits(cr, &imp.Banner) {
			return whyCreative
		}
		if blocksType(imp.Banner.BType, cr.btype) {
			return whyBtype
		}
		for _, a := range cr.attr {
			if containsInt(imp.Banner.BAttr, a) {
				return whyBattr
			}
		}
	case mb == mbVideo:
		v, im := &imp.Video, &c.fitM[0]
		// Video creatives are linear ads: not for a non-linear slot
		// (an overlay, linearity 2).
		if v.Linearity == 2 || m.mimes&im.mimes == 0 || m.protos&im.protos == 0 ||
			!durFits(cr.dur, v.MinDur, v.MaxDur, podMaxDur(&v.Pod), v.RqdDurs) || !bitrateFits(cr.bitrate, v.MinBitrate, v.MaxBitrate) {
			return whyCreative
		}
		if m.attrs&im.attrs != 0 {
			return whyBattr
		}
	default:
		a, im := &imp.Audio, &c.fitM[1]
		if m.mimes&im.mimes == 0 || m.protos&im.protos == 0 ||
			!durFits(cr.dur, a.MinDur, a.MaxDur, podMaxDur(&a.Pod), a.RqdDurs) || !bitrateFits(cr.bitrate, a.MinBitrate, a.MaxBitrate) {
			return whyCreative
		}
		if m.attrs&im.attrs != 0 {
			return whyBattr
		}
	}
	if imp.Secure == 1 && !cr.secure {
		return whySecure
	}
	if len(c.req.WLang) > 0 && !containsBytes(c.req.WLang, cr.lang, true) ||
		len(c.req.WLangB) > 0 && !primaryLangIn(c.req.WLangB, cr.lang) {
		return whyWlang
	}
	return whyNone
}

// fitLists is fit with the lists of mimes, protocols and battr: for a
// creative whose values do not all have a bit in the fit masks, and for
// native creatives, out of line.
//
//go:noinline
func (c *Ctx) fitLists(cr *ccreative, imp *openrtb.Imp, mb int) uint8 {
	var battr []int
	switch openrtb.MediaType(1 << mb) {
	case openrtb.MediaBanner:
		if !sizeFits(cr, &imp.Banner) {
			return whyCreative
		}
		if blocksType(imp.Banner.BType, cr.btype) {
			return whyBtype
		}
		battr = imp.Banner.BAttr
	case openrtb.MediaVideo:
		v := &imp.Video
		if v.Linearity == 2 || !durFits(cr.dur, v.MinDur, v.MaxDur, podMaxDur(&v.Pod), v.RqdDurs) ||
			!mimesFit(cr, c.vMimes) || !protocolFits(cr.protocol, v.Protocols) || !bitrateFits(cr.bitrate, v.MinBitrate, v.MaxBitrate) {
			return whyCreative
		}
		battr = v.BAttr
	case openrtb.MediaAudio:
		a := &imp.Audio
		if !durFits(cr.dur, a.MinDur, a.MaxDur, podMaxDur(&a.Pod), a.RqdDurs) || !mimesFit(cr, c.aMimes) ||
			!protocolFits(cr.protocol, a.Protocols) || !bitrateFits(cr.bitrate, a.MinBitrate, a.MaxBitrate) {
			return whyCreative
		}
		battr = a.BAttr
	case openrtb.MediaNative:
		if !cr.native.fits(&imp.Native) {
			return whyCreative
		}
		battr = imp.Native.BAttr
	}
	for _, a := range cr.attr {
		if containsInt(battr, a) {
			return whyBattr
		}
	}
	if imp.Secure == 1 && !cr.secure {
		return whySecure
	}
	if len(c.req.WLang) > 0 && !containsBytes(c.req.WLang, cr.lang, true) ||
		len(c.req.WLangB) > 0 && !primaryLangIn(c.req.WLangB, cr.lang) {
		return whyWlang
	}
	return whyNone
}

// setFitMasks sets the fit masks of the imp's video and audio (see
// fitMasks), once its mimes are hashed.
func (c *Ctx) setFitMasks(imp *openrtb.Imp) {
	s := c.snap
	if imp.Media&openrtb.MediaVideo != 0 {
		c.fitM[0] = s.impMasks(c.vMimes, imp.Video.Protocols, imp.Video.BAttr)
	}
	if imp.Media&openrtb.MediaAudio != 0 {
		c.fitM[1] = s.impMasks(c.aMimes, imp.Audio.Protocols, imp.Audio.BAttr)
	}
}

// blocksType reports whether a banner imp's btype list blocks one of the
// creative's banner ad types (ccreative.btype).
func blocksType(btype []int, types uint8) bool {
	for _, t := range btype {
		if uint(t) < 8 && types&(1<<t) != 0 {
			return true
		}
	}
	return false
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

// fitMasks are a creative's mimes, protocol and attrs as bit masks, or
// an imp's mimes, protocols and battr for one media type, so that fit
// checks each in one AND instead of a loop over the lists:
//
//   - mimes: bit i for the creative mime Snapshot.mimeIDs[i] (i < 63). A
//     creative without mimes has every bit, and an imp's mask has bit 63,
//     which no mime has; an imp without mimes has every bit.
//   - protos: bit p for protocol p in [1, 62]; protocol 0 (none) every
//     bit, and an imp's mask has bit 63; an imp without protocols every
//     bit.
//   - attrs: bit a for attr a in [0, 63]; the imp's battr likewise.
//
// A creative with a mime past the 63 ids, a protocol or an attr outside
// its mask's range has slow set: fit checks it with the lists.
type fitMasks struct {
	mimes, protos, attrs uint64
	slow                 bool
}

const fitOther = 1 << 63 // the mimes and protos bit of no value

// buildFitMasks numbers the creatives' mimes and sets their masks.
func (s *Snapshot) buildFitMasks() {
	s.mimeIDs = s.mimeIDs[:0]
	for o := range s.camps {
		for i := range s.camps[o].creatives {
			cr := &s.camps[o].creatives[i]
			for _, h := range cr.mimes {
				if !slices.Contains(s.mimeIDs, h) && len(s.mimeIDs) < 63 {
					s.mimeIDs = append(s.mimeIDs, h)
				}
			}
		}
	}
	for o := range s.camps {
		for i := range s.camps[o].creatives {
			cr := &s.camps[o].creatives[i]
			m := fitMasks{mimes: ^uint64(0), protos: ^uint64(0)}
			if len(cr.mimes) > 0 {
				m.mimes = 0
				for _, h := range cr.mimes {
					if j := slices.Index(s.mimeIDs, h); j >= 0 {
						m.mimes |= 1 << j
					} else {
						m.slow = true
					}
				}
			}
			switch p := cr.protocol; {
			case p >= 1 && p <= 62:
				m.protos = 1 << p
			case p != 0:
				m.slow = true
			}
			for _, a := range cr.attr {
				if a >= 0 && a < 64 {
					m.attrs |= 1 << a
				} else {
					m.slow = true
				}
			}
			cr.masks = m
		}
	}
}

// impMasks returns the fit masks of an imp's mimes (hashed), protocols
// and battr for one media type.
func (s *Snapshot) impMasks(mimes []uint64, protocols, battr []int) fitMasks {
	m := fitMasks{mimes: ^uint64(0), protos: ^uint64(0)}
	if len(mimes) > 0 {
		m.mimes = fitOther
		for _, h := range mimes {
			if j := slices.Index(s.mimeIDs, h); j >= 0 {
				m.mimes |= 1 << j
			}
		}
	}
	if len(protocols) > 0 {
		m.protos = fitOther
		for _, p := range protocols {
			if p >= 1 && p <= 62 {
				m.protos |= 1 << p
			}
		}
	}
	for _, a := range battr {
		if a >= 0 && a < 64 {
			m.attrs |= 1 << a
		}
	}
	return m
}
