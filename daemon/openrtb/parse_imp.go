package openrtb

// impState is per-imp bookkeeping for fields the view does not keep.
type impState struct {
	nativeRequest bool
}

func (p *parser) imps() error {
	p.r.Imps = p.r.Imps[:0]
	return p.array("imp is not an array", eImp)
}

func imp(p *parser, _ int) error {
	r := p.r
	n := len(r.Imps)
	if n >= maxImps {
		return p.errorf("too many imps")
	}
	if n < cap(r.Imps) {
		r.Imps = r.Imps[:n+1]
	} else {
		r.Imps = append(r.Imps, Imp{})
	}
	im := &r.Imps[n]
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
	// offers nothing to bid on, so it does not count as media.
	if !p.st.nativeRequest {
		im.Media &^= MediaNative
	}
	return nil
}

func (im *Imp) reset() {
	// Cleared in place, as Request.Reset explains.
	formats, bannerBAttr := im.Banner.Formats[:0], im.Banner.BAttr[:0]
	v := &im.Video
	mimes, protocols, videoBAttr := resetTexts(v.Mimes), v.Protocols[:0], v.BAttr[:0]
	rqdDurs, podDedupe, durFloors := v.RqdDurs[:0], v.PodDedupe[:0], v.DurFloors[:0]
	a := &im.Audio
	audioMimes, audioProtocols, audioBAttr := resetTexts(a.Mimes), a.Protocols[:0], a.BAttr[:0]
	audioRqdDurs, audioPodDedupe, audioDurFloors := a.RqdDurs[:0], a.PodDedupe[:0], a.DurFloors[:0]
	deals := resetDeals(im.PMP.Deals)
	*im = Imp{}
	im.Banner.Formats, im.Banner.BAttr = formats, bannerBAttr
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

func (p *parser) cur() *Imp { return &p.r.Imps[len(p.r.Imps)-1] }

func impField(p *parser, key []byte) (err error) {
	im := p.cur()
	switch string(key) {
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
func qtyField(p *parser, key []byte) (err error) {
	if string(key) != "multiplier" {
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

func bannerField(p *parser, key []byte) (err error) {
	b := &p.cur().Banner
	switch string(key) {
	case "w":
		b.W, err = p.int()
	case "h":
		b.H, err = p.int()
	case "format":
		b.Formats = b.Formats[:0]
		err = p.array("banner.format is not an array", eFormat)
	case "battr":
		b.BAttr, err = p.ints(b.BAttr, "battr")
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
		return p.errorf("too many formats")
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

func formatField(p *parser, key []byte) (err error) {
	switch string(key) {
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

func nativeField(p *parser, key []byte) error {
	if string(key) != "request" && string(key) != "assets" {
		return p.skip()
	}
	if p.null() {
		return nil
	}
	p.st.nativeRequest = true
	return p.skip()
}

func metric(p *parser, _ int) error {
	p.metricType = false
	present, err := p.object("imp.metric[] is not an object", kMetricField)
	if err == nil && present && !p.metricType {
		return p.errorf("imp.metric has no type")
	}
	return err
}

func metricField(p *parser, key []byte) error {
	if string(key) != "type" {
		return p.skip()
	}
	t, err := p.text()
	p.metricType = len(t) != 0
	return err
}
