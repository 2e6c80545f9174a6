package openrtb

// Parse resets r (unless [Request.Reset] ran since r was last parsed) and
// decodes the OpenRTB 2.5 or 2.6 BidRequest in body in a single pass,
// without reflection and, once r's slices have grown to the size of the
// traffic, without allocating.
//
// The byte slices of r alias body (or r's own scratch buffer for strings
// with escapes): body must not be modified or released while r is in use.
//
// Parse is lenient where exchanges drift (numbers as strings, floats for
// integers, ids as numbers, unknown fields, null for absent, 2.5 "ext"
// locations) and returns a *[ParseError] for malformed JSON, wrong types
// that cannot be coerced, out-of-range numbers, invalid UTF-8, nesting
// deeper than [MaxDepth] and lists longer than the fixed limits. It returns
// [ErrMissingID], [ErrNoImp] or [ErrImpID] for a request without id, imps or
// imp ids. Three semantic errors that need fields the view does not keep
// are reported here too: a negative device.w or device.h, an imp.metric
// without type and a user consent that is not a string. Two shapes are
// normalised instead of rejected: a banner.format entry without a positive
// size (nor wratio/hratio) is dropped, and a native object without
// "request" or "assets" does not count as media. The other semantic checks
// are in [Request.Validate].
func (r *Request) Parse(body []byte) error {
	if !r.fresh {
		r.Reset()
	}
	r.fresh = false
	p := parser{b: body, r: r}
	if c := p.ws(); c != '{' {
		return p.unexpected("bid request is not a JSON object")
	}
	if err := p.request(); err != nil {
		return err
	}
	if p.ws(); p.i < len(p.b) {
		return p.errorf("data after bid request")
	}
	p.mergeUserGeo()
	r.Device.Geo.Country = normalizeCountry(r.Device.Geo.Country)
	return r.checkRequired()
}

// mergeUserGeo completes device.geo with user.geo: its place (country,
// region, metro, zip) when device.geo names none, whole, so that two
// places are never mixed; its utcoffset when device.geo has none. A
// device.geo of coordinates alone hid user.geo's country, and every
// campaign targeting one lost the request (the protocol audit).
func (p *parser) mergeUserGeo() {
	d, u := &p.r.Device.Geo, &p.userGeo
	if len(d.Country)+len(d.Region)+len(d.Metro)+len(d.Zip) == 0 {
		d.Country, d.Region, d.Metro, d.Zip = u.Country, u.Region, u.Metro, u.Zip
	}
	if !d.HasUTCOffset {
		d.UTCOffset, d.HasUTCOffset = u.UTCOffset, u.HasUTCOffset
	}
}

func (r *Request) checkRequired() error {
	if len(r.ID) == 0 {
		return ErrMissingID
	}
	if len(r.Imps) == 0 {
		return ErrNoImp
	}
	for i := range r.Imps {
		if len(r.Imps[i].ID) == 0 {
			return ErrImpID
		}
	}
	return nil
}

// request reads the top-level object. It is an explicit loop (not
// p.object) because it is the hottest dispatch.
func (p *parser) request() error {
	if err := p.enter('{', "bid request is not a JSON object"); err != nil {
		return err
	}
	for first := true; ; first = false {
		key, more, err := p.nextKey(first)
		if !more { // err, if any, comes with more=false
			return err
		}
		if err := requestField(p, key); err != nil {
			return err
		}
	}
}

func requestField(p *parser, key string) (err error) {
	r := p.r
	switch key {
	case "id":
		r.ID, err = p.text()
	case "imp":
		err = p.imps()
	case "site":
		r.Site.Present, err = p.object("site is not an object", kSiteField)
	case "app":
		r.App.Present, err = p.object("app is not an object", kAppField)
	case "dooh":
		r.DOOH, err = p.object("dooh is not an object", kSkipField)
	case "device":
		_, err = p.object("device is not an object", kDeviceField)
	case "user":
		_, err = p.object("user is not an object", kUserField)
	case "regs":
		_, err = p.object("regs is not an object", kRegsField)
	case "source":
		// rtb4free logs carry "source" as a string: ignore, not reject.
		_, err = p.lenientObject(kSourceField)
	default:
		err = requestScalarField(p, key)
	}
	return err
}

func requestScalarField(p *parser, key string) (err error) {
	r := p.r
	switch key {
	case "test":
		var v int
		v, err = p.int()
		r.Test = v == 1
	case "at":
		r.AT, err = p.int()
	case "tmax":
		r.TMax, err = p.int()
	case "allimps":
		r.AllImps, err = p.int()
	case "cur":
		r.Cur, err = p.texts(r.Cur, "currencies")
	case "bcat":
		r.BCat, err = p.texts(r.BCat, "bcat")
	case "acat":
		r.ACat, err = p.texts(r.ACat, "acat")
	case "cattax":
		r.CatTax, err = p.int()
	case "badv":
		r.BAdv, err = p.texts(r.BAdv, "badv")
	case "bapp":
		r.BApp, err = p.texts(r.BApp, "bapp")
	case "wlang":
		r.WLang, err = p.texts(r.WLang, "wlang")
	case "wlangb":
		r.WLangB, err = p.texts(r.WLangB, "wlangb")
	case "wseat":
		r.WSeat, err = p.texts(r.WSeat, "wseat")
	case "bseat":
		r.BSeat, err = p.texts(r.BSeat, "bseat")
	default:
		err = p.skip()
	}
	return err
}

func skipField(p *parser, _ string) error { return p.skip() }

func siteField(p *parser, key string) (err error) {
	s := &p.r.Site
	switch key {
	case "id":
		s.ID, err = p.text()
	case "domain":
		s.Domain, err = p.text()
	case "page":
		s.Page, err = p.text()
	case "cat":
		s.Cat, err = p.texts(s.Cat, "site.cat")
	case "publisher":
		_, err = p.object("site.publisher is not an object", kSitePublisherField)
	default:
		err = p.skip()
	}
	return err
}

func appField(p *parser, key string) (err error) {
	a := &p.r.App
	switch key {
	case "id":
		a.ID, err = p.text()
	case "bundle":
		a.Bundle, err = p.text()
	case "domain":
		a.Domain, err = p.text()
	case "cat":
		a.Cat, err = p.texts(a.Cat, "app.cat")
	case "publisher":
		_, err = p.object("app.publisher is not an object", kAppPublisherField)
	default:
		err = p.skip()
	}
	return err
}

func sitePublisherField(p *parser, key string) (err error) {
	if key != "id" {
		return p.skip()
	}
	p.r.Site.PublisherID, err = p.text()
	return err
}

func appPublisherField(p *parser, key string) (err error) {
	if key != "id" {
		return p.skip()
	}
	p.r.App.PublisherID, err = p.text()
	return err
}

func deviceField(p *parser, key string) (err error) {
	d := &p.r.Device
	switch key {
	case "devicetype":
		d.Type, err = p.int()
	case "os":
		d.OS, err = p.text()
	case "ifa":
		d.IFA, err = p.text()
	case "ip":
		d.IP, err = p.text()
	case "ipv6":
		// IP is the IPv4 address when both are sent.
		var ip []byte
		if ip, err = p.text(); len(d.IP) == 0 {
			d.IP = ip
		}
	case "lmt":
		d.Lmt, err = p.int()
	case "dnt":
		d.DNT, err = p.int()
	case "w":
		err = p.positiveOrZero("device.w")
	case "h":
		err = p.positiveOrZero("device.h")
	case "geo":
		// device.geo wins over user.geo whatever the key order (see
		// mergeUserGeo).
		if p.ws() == '{' {
			d.Geo = Geo{}
		}
		_, err = p.object("device.geo is not an object", kGeoField)
	default:
		err = p.skip()
	}
	return err
}

// positiveOrZero reads an integer the view does not keep and rejects a
// negative value, as a strict exchange does for device.w/h.
func (p *parser) positiveOrZero(what string) error {
	v, err := p.int()
	if err == nil && v < 0 {
		return p.errorf("negative " + what)
	}
	return err
}

// geoField fills r.Device.Geo, or while user.geo is read (inUserGeo)
// the parser's userGeo, which mergeUserGeo then takes what device.geo
// lacks from.
func geoField(p *parser, key string) (err error) {
	g := &p.r.Device.Geo
	if p.inUserGeo {
		g = &p.userGeo
	}
	switch key {
	case "country":
		g.Country, err = p.text()
	case "region":
		g.Region, err = p.text()
	case "metro":
		g.Metro, err = p.text()
	case "zip":
		g.Zip, err = p.text()
	case "utcoffset":
		var off int
		if off, err = p.int(); err == nil {
			g.UTCOffset, g.HasUTCOffset = off, off >= -720 && off <= 840
			if !g.HasUTCOffset {
				g.UTCOffset = 0
			}
		}
	default:
		err = p.skip()
	}
	return err
}
