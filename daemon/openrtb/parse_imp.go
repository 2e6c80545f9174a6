package openrtb

// impState is per-imp bookkeeping for fields the view does not keep.
type impState struct {
	nativeRequest bool
	// nativeBad: the native request could not be read whole, or has
	// more than maxNativeAssets assets.
	nativeBad bool
	// asset is the native asset being read, and assetPresent whether
	// one of its kinds was; the ver of the request and of imp.native.
	asset     NativeAsset
	reqVer    []byte
	reqVerSet bool
	// nativeSub: a native request is being read (see nativeSub);
	// nativeWrapped: it has the 1.0 "native" wrapper.
	nativeSub, nativeWrapped bool
	// The eventtracker being read: its event, and whether its methods
	// have 1 (img); eventImp once one took impressions as images.
	eventTracker int
	eventImg     bool
	eventImp     bool
}

func (p *parser) imps() error {
	p.r.Imps = p.r.Imps[:0]
	return p.array("imp is not an array", eImp)
}

func imp(p *parser, _ int) error {
	r := p.r
	n := len(r.Imps)
	if n >= maxImps {
		return p.tooMany("imps")
	}
	if n < cap(r.Imps) {
		r.Imps = r.Imps[:n+1]
	} else {
		r.Imps = append(r.Imps, Imp{})
	}
	im := &r.Imps[n]
	p.imp = im
	if n < p.usedImps {
		im.reset()
	}
	p.usedImps = max(p.usedImps, n+1)
	p.st = impState{}
	present, err := p.object("imp[] is not an object", kImpField)
	if err != nil {
		return err
	}
	if !present {
		r.Imps = r.Imps[:n]
		return nil
	}
	// A native object with neither "request" (1.1+) nor "assets" (1.0)
	// offers nothing to bid on, so it does not count as media. One whose
	// request could not be read whole (a spec's placeholder text, more
	// than maxNativeAssets assets) has no assets: nothing fills it.
	if !p.st.nativeRequest {
		im.Media &^= MediaNative
	}
	if p.st.nativeBad {
		im.Native.Assets = im.Native.Assets[:0]
	}
	switch {
	case p.st.reqVerSet:
		im.Native.Ver = p.st.reqVer
	case p.st.nativeWrapped: // the wrapper is 1.0's
		im.Native.Ver = native10
	}
	return nil
}

func (im *Imp) reset() {
	// Cleared in place, as Request.Reset explains.
	formats, bannerBAttr, bannerBType := im.Banner.Formats[:0], im.Banner.BAttr[:0], im.Banner.BType[:0]
	v := &im.Video
	mimes, protocols, videoBAttr := dropTexts(v.Mimes), v.Protocols[:0], v.BAttr[:0]
	rqdDurs, podDedupe, durFloors := v.RqdDurs[:0], v.PodDedupe[:0], v.DurFloors[:0]
	a := &im.Audio
	audioMimes, audioProtocols, audioBAttr := dropTexts(a.Mimes), a.Protocols[:0], a.BAttr[:0]
	audioRqdDurs, audioPodDedupe, audioDurFloors := a.RqdDurs[:0], a.PodDedupe[:0], a.DurFloors[:0]
	deals := resetDeals(im.PMP.Deals)
	n := &im.Native
	assets, nbattr, nmimes, nprotocols := n.Assets[:0], n.BAttr[:0], dropTexts(n.Mimes), n.Protocols[:0]
	*im = Imp{}
	n.Assets, n.BAttr, n.Mimes, n.Protocols = assets, nbattr, nmimes, nprotocols
	im.Banner.Formats, im.Banner.BAttr, im.Banner.BType = formats, bannerBAttr, bannerBType
	v.Mimes, v.Protocols, v.BAttr, v.RqdDurs, v.PodDedupe = mimes, protocols, videoBAttr, rqdDurs, podDedupe
	a.Mimes, a.Protocols, a.BAttr = audioMimes, audioProtocols, audioBAttr
	a.RqdDurs, a.PodDedupe = audioRqdDurs, audioPodDedupe
	v.DurFloors, a.DurFloors = durFloors, audioDurFloors
	im.PMP.Deals = deals
}

func resetTexts(s [][]byte) [][]byte {
	clear(s)
	return s[:0]
}

func resetDeals(d []Deal) []Deal {
	for i := range d {
		d[i].reset()
	}
	return d[:0]
}

func (d *Deal) reset() {
	*d = Deal{WSeat: resetTexts(d.WSeat), WADomain: resetTexts(d.WADomain), DurFloors: d.DurFloors[:0]}
}

// cur returns the imp being read, kept by imp: a load, where indexing
// r.Imps took a multiplication and a bounds check for every key.
func (p *parser) cur() *Imp { return p.imp }

func impField(p *parser, key string) (err error) {
	im := p.cur()
	switch key {
	case "id":
		im.ID, err = p.text()
	case "tagid":
		im.TagID, err = p.text()
	case "bidfloor":
		im.BidFloor, err = p.float()
	case "bidfloorcur":
		im.BidFloorCur, err = p.text()
	case "secure":
		im.Secure, err = p.int()
	case "banner":
		err = p.media(MediaBanner, "imp.banner is not an object", kBannerField)
	case "video":
		err = p.media(MediaVideo, "imp.video is not an object", kVideoField)
	case "audio":
		err = p.media(MediaAudio, "imp.audio is not an object", kAudioField)
	case "native":
		err = p.media(MediaNative, "imp.native is not an object", kNativeField)
	case "pmp":
		_, err = p.object("imp.pmp is not an object", kPmpField)
	case "qty":
		_, err = p.object("imp.qty is not an object", kQtyField)
	case "metric":
		err = p.array("imp.metric is not an array", eMetric)
	default:
		err = p.skip()
	}
	return err
}

// qtyField reads imp.qty (2.6, DOOH): its multiplier only. One that is
// not positive is no multiplier.
func qtyField(p *parser, key string) (err error) {
	if key != "multiplier" {
		return p.skip()
	}
	im := p.cur()
	if im.QtyMultiplier, err = p.float(); im.QtyMultiplier <= 0 {
		im.QtyMultiplier = 0
	}
	return err
}

// media reads a media object and records its presence in Imp.Media.
func (p *parser) media(m MediaType, what string, field fieldKind) error {
	present, err := p.object(what, field)
	if present {
		p.cur().Media |= m
	}
	return err
}

func bannerField(p *parser, key string) (err error) {
	b := &p.cur().Banner
	switch key {
	case "w":
		b.W, err = p.int()
	case "h":
		b.H, err = p.int()
	case "format":
		b.Formats = b.Formats[:0]
		err = p.array("banner.format is not an array", eFormat)
	case "battr":
		b.BAttr, err = p.ints(b.BAttr, "battr")
	case "btype":
		b.BType, err = p.ints(b.BType, "btype")
	default:
		err = p.skip()
	}
	return err
}

// formatState collects one banner.format entry; ratio formats (wratio,
// hratio) are kept as a 0x0 Format.
type formatState struct{ w, h, wratio, hratio int }

func format(p *parser, _ int) error {
	b := &p.cur().Banner
	if len(b.Formats) >= maxFormats {
		return p.tooMany("formats")
	}
	p.fmt = formatState{}
	present, err := p.object("banner.format[] is not an object", kFormatField)
	if err != nil || !present {
		return err
	}
	f := p.fmt
	if (f.w <= 0 || f.h <= 0) && (f.wratio <= 0 || f.hratio <= 0) {
		// A size nothing can match (and not a flexible ratio format):
		// dropped, so that a banner left without sizes fails Validate.
		return nil
	}
	b.Formats = append(b.Formats, Format{W: f.w, H: f.h})
	return nil
}

func formatField(p *parser, key string) (err error) {
	switch key {
	case "w":
		p.fmt.w, err = p.int()
	case "h":
		p.fmt.h, err = p.int()
	case "wratio":
		p.fmt.wratio, err = p.int()
	case "hratio":
		p.fmt.hratio, err = p.int()
	default:
		err = p.skip()
	}
	return err
}

func nativeField(p *parser, key string) (err error) {
	n := &p.cur().Native
	switch key {
	case "ver":
		var v []byte
		if v, err = p.text(); err == nil && len(n.Ver) == 0 {
			n.Ver = v
		}
	case "battr":
		n.BAttr, err = p.ints(n.BAttr, "battr")
	case "request":
		switch p.ws() {
		case '"':
			var req []byte
			if req, err = p.str(); err == nil {
				p.st.nativeRequest = true
				p.nativeSub(req, false)
			}
		case '{':
			p.st.nativeRequest = true
			err = p.nativeInline(false)
		case 'n':
			err = p.literal("null")
		default:
			err = p.skip()
		}
	case "assets": // some exchanges: the request's assets here, without a request
		switch p.ws() {
		case '[':
			p.st.nativeRequest = true
			err = p.nativeInline(true)
		case 'n':
			err = p.literal("null")
		default:
			err = p.skip()
		}
	default:
		err = p.skip()
	}
	return err
}

// native10 is Native.Ver of a request in the 1.0 wrapper without ver.
var native10 = []byte("1.0")

// nativeInline reads the native request object (or, with assets, its
// assets array) that imp.native holds as JSON: the bid request's own
// syntax, which an error in it fails whole, while what the native
// request means is read as from a string (see nativeSub).
func (p *parser) nativeInline(assets bool) error {
	start := p.i
	if err := p.skip(); err != nil {
		return err
	}
	p.nativeSub(p.b[start:p.i:p.i], assets)
	return nil
}

// nativeSub reads a native request, req: the content of the string
// imp.native.request held (decoded: it aliases the body or the Request's
// scratch) or the JSON imp.native holds (see nativeInline); with assets,
// only its assets array. What it cannot read only leaves the imp without
// assets, and its errors allocate nothing: the rest of the request stays
// biddable. It decodes no string into the scratch, whose size bounds the
// decoded strings of the body (req may be one of them): a string with
// escapes is read raw (see strSlow), so an escaped key matches no field
// and an escaped number is an error.
func (p *parser) nativeSub(req []byte, assets bool) {
	sub := parser{b: req, r: p.r, depth: p.depth, imp: p.imp, st: p.st}
	sub.st.nativeSub = true
	var err error
	present := true
	if assets {
		p.cur().Native.resetAssets()
		err = sub.array("", eNativeAsset)
	} else {
		present, err = sub.object("", kNativeReqField)
	}
	if err != nil || !present || sub.ws() != 0 {
		sub.st.nativeBad = true
	}
	p.st = sub.st
	p.st.nativeSub = false
}

// nativeReqField reads a field of the native request object.
func nativeReqField(p *parser, key string) (err error) {
	n := &p.cur().Native
	switch key {
	case "native": // 1.0 wraps the request in {"native":{...}}
		p.st.nativeWrapped = true
		_, err = p.object("native.native is not an object", kNativeReqField)
	case "ver":
		p.st.reqVer, p.st.reqVerSet, err = p.nativeText()
	case "assets":
		n.resetAssets()
		err = p.array("native assets is not an array", eNativeAsset)
	case "eventtrackers":
		err = p.array("native eventtrackers is not an array", eEventTracker)
		n.EventImp = p.st.eventImp
	default:
		err = p.skip()
	}
	return err
}

// nativeText reads a string of the native request without decoding it:
// ok is false for one with escapes (see nativeSub) or not a string.
func (p *parser) nativeText() (s []byte, ok bool, err error) {
	if !p.st.nativeSub {
		s, err = p.text()
		return s, err == nil, err
	}
	if p.ws() != '"' {
		return nil, false, p.skip()
	}
	start := p.i + 1
	escaped, err := p.rawStr()
	if err != nil || escaped {
		return nil, false, err
	}
	return p.b[start : p.i-1 : p.i-1], true, nil
}

func nativeAsset(p *parser, i int) error {
	n := &p.cur().Native
	if len(n.Assets) >= maxNativeAssets {
		p.st.nativeBad = true
		return p.skip()
	}
	lo, plo := uint8(len(n.Mimes)), uint8(len(n.Protocols))
	p.st.asset = NativeAsset{ID: i, MimeLo: lo, MimeHi: lo, ProtoLo: plo, ProtoHi: plo}
	present, err := p.object("native asset is not an object", kNativeAssetField)
	if err == nil && present {
		n.Assets = append(n.Assets, p.st.asset)
	}
	return err
}

func nativeAssetField(p *parser, key string) (err error) {
	a := &p.st.asset
	switch key {
	case "id":
		a.ID, err = p.int()
	case "required":
		var r int
		r, err = p.int()
		a.Required = r == 1
	case "title":
		err = p.nativeKind(NativeTitle, kNativeTitleField)
	case "img":
		err = p.nativeKind(NativeImg, kNativeImgField)
	case "data":
		err = p.nativeKind(NativeData, kNativeDataField)
	case "video":
		err = p.nativeKind(NativeVideo, kNativeVideoField)
	default:
		err = p.skip()
	}
	return err
}

// nativeKind reads the asset's object of kind k with field.
func (p *parser) nativeKind(k NativeKind, field fieldKind) error {
	present, err := p.object("native asset kind is not an object", field)
	if present {
		p.st.asset.Kind = k
	}
	return err
}

func nativeTitleField(p *parser, key string) (err error) {
	if key == "len" {
		p.st.asset.Len, err = p.int()
		return err
	}
	return p.skip()
}

func nativeImgField(p *parser, key string) (err error) {
	a := &p.st.asset
	switch key {
	case "type":
		a.Type, err = p.int()
	case "wmin":
		a.WMin, err = p.int()
	case "hmin":
		a.HMin, err = p.int()
	case "w":
		a.W, err = p.int()
	case "h":
		a.H, err = p.int()
	default:
		err = p.skip()
	}
	return err
}

func nativeDataField(p *parser, key string) (err error) {
	a := &p.st.asset
	switch key {
	case "type":
		a.Type, err = p.int()
	case "len":
		a.Len, err = p.int()
	default:
		err = p.skip()
	}
	return err
}

// resetAssets empties n's assets and what they hold.
func (n *Native) resetAssets() {
	n.Assets, n.Mimes, n.Protocols = n.Assets[:0], resetTexts(n.Mimes), n.Protocols[:0]
}

func nativeVideoField(p *parser, key string) (err error) {
	a := &p.st.asset
	switch key {
	case "minduration":
		a.MinDur, err = p.int()
	case "maxduration":
		a.MaxDur, err = p.int()
	case "mimes":
		err = p.array("native video mimes is not an array", eNativeMime)
	case "protocols":
		err = p.array("native video protocols is not an array", eNativeProtocol)
	default:
		err = p.skip()
	}
	return err
}

// nativeMime reads a mime of a native video asset. One with escapes (see
// nativeSub), or not a string, is kept empty: it matches no creative's
// mime, and the asset still lists one (left out, an asset whose every
// mime had escapes would list none and take any video).
func nativeMime(p *parser, _ int) error {
	s, ok, err := p.nativeText()
	if err == nil {
		if !ok {
			s = nil
		}
		appendNativeList(p, &p.cur().Native.Mimes, &p.st.asset.MimeHi, s)
	}
	return err
}

func nativeProtocol(p *parser, _ int) error {
	v, err := p.int()
	if err == nil {
		appendNativeList(p, &p.cur().Native.Protocols, &p.st.asset.ProtoHi, v)
	}
	return err
}

// appendNativeList appends v to the pool s of the native request's video
// assets and sets the current asset's end in it, hi, past it. Past
// maxNativeList the request is not read.
func appendNativeList[T any](p *parser, s *[]T, hi *uint8, v T) {
	if len(*s) >= maxNativeList {
		p.st.nativeBad = true
		return
	}
	*s = append(*s, v)
	*hi = uint8(len(*s))
}

func eventTracker(p *parser, _ int) error {
	p.st.eventTracker, p.st.eventImg = 0, false
	present, err := p.object("native eventtracker is not an object", kEventTrackerField)
	if err == nil && present && p.st.eventTracker == 1 && p.st.eventImg {
		p.st.eventImp = true
	}
	return err
}

func eventTrackerField(p *parser, key string) (err error) {
	switch key {
	case "event":
		p.st.eventTracker, err = p.int()
	case "methods":
		err = p.array("eventtrackers.methods is not an array", eEventMethod)
	default:
		err = p.skip()
	}
	return err
}

func eventMethod(p *parser, _ int) error {
	m, err := p.int()
	if m == 1 {
		p.st.eventImg = true
	}
	return err
}

func metric(p *parser, _ int) error {
	p.metricType = false
	present, err := p.object("imp.metric[] is not an object", kMetricField)
	if err == nil && present && !p.metricType {
		return p.errorf("imp.metric has no type")
	}
	return err
}

func metricField(p *parser, key string) error {
	if key != "type" {
		return p.skip()
	}
	t, err := p.text()
	p.metricType = len(t) != 0
	return err
}
