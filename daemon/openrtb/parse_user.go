package openrtb

// The 2.6 location of a field always wins. A 2.5 "ext" location is read only
// while the 2.6 field is still unset: when ext comes first the 2.6 field
// overwrites it later, when it comes second it is skipped.

func userField(p *parser, key string) (err error) {
	u := &p.r.User
	switch key {
	case "id":
		u.ID, err = p.text()
	case "buyeruid":
		u.BuyerUID, err = p.text()
	case "consent":
		var c []byte
		if c, err = p.strictText(); len(c) > 0 || len(u.Consent) == 0 {
			u.Consent = c
		}
	case "data":
		err = p.array("user.data is not an array", eUserData)
	case "eids":
		u.EIDs = resetEIDs(u.EIDs)
		err = p.array("user.eids is not an array", eEid)
	case "geo":
		if p.ws() == '{' {
			p.userGeo = Geo{}
		}
		p.inUserGeo = true
		_, err = p.object("user.geo is not an object", kGeoField)
		p.inUserGeo = false
	case "ext":
		err = p.ext(kUserExtField)
	default:
		err = p.skip()
	}
	return err
}

func resetEIDs(e []EID) []EID {
	clear(e)
	return e[:0]
}

func userExtField(p *parser, key string) (err error) {
	u := &p.r.User
	switch key {
	case "consent":
		var c []byte
		if c, err = p.strictText(); len(u.Consent) == 0 {
			u.Consent = c
		}
	case "eids":
		if len(u.EIDs) != 0 {
			return p.skip()
		}
		err = p.array("user.ext.eids is not an array", eEid)
	default:
		err = p.skip()
	}
	return err
}

func userData(p *parser, _ int) error {
	_, err := p.object("user.data[] is not an object", kUserDataField)
	return err
}

func userDataField(p *parser, key string) error {
	if key != "segment" {
		return p.skip()
	}
	return p.array("user.data[].segment is not an array", eSegment)
}

func segment(p *parser, _ int) error {
	_, err := p.object("segment is not an object", kSegmentField)
	return err
}

func segmentField(p *parser, key string) error {
	if key != "id" {
		return p.skip()
	}
	id, err := p.text()
	if err != nil || id == nil {
		return err
	}
	u := &p.r.User
	if len(u.Segments) >= maxSegments {
		return nil
	}
	u.Segments = append(u.Segments, id)
	return nil
}

func eid(p *parser, _ int) error {
	u := &p.r.User
	if len(u.EIDs) >= maxEIDs {
		return p.skip()
	}
	u.EIDs = append(u.EIDs, EID{})
	_, err := p.object("eid is not an object", kEidField)
	return err
}

func eidField(p *parser, key string) (err error) {
	e := &p.r.User.EIDs[len(p.r.User.EIDs)-1]
	switch key {
	case "source":
		e.Source, err = p.text()
	case "uids":
		err = p.array("eid.uids is not an array", eUid)
	default:
		err = p.skip()
	}
	return err
}

func uid(p *parser, _ int) error {
	_, err := p.object("uid is not an object", kUidField)
	return err
}

func uidField(p *parser, key string) error {
	if key != "id" {
		return p.skip()
	}
	id, err := p.text()
	if e := &p.r.User.EIDs[len(p.r.User.EIDs)-1]; e.UID == nil {
		e.UID = id
	}
	return err
}

func regsField(p *parser, key string) (err error) {
	g := &p.r.Regs
	switch key {
	case "coppa":
		g.COPPA, err = p.int()
	case "gdpr":
		var v int
		if v, err = p.optInt(); v != -1 { // null leaves ext's, as text26
			g.GDPR = v
		}
	case "us_privacy":
		g.USPrivacy, err = p.text26(g.USPrivacy)
	case "gpp":
		g.GPP, err = p.text26(g.GPP)
	case "gpp_sid":
		g.GPPSID, err = p.ints(g.GPPSID, "gpp_sid")
	case "dsa":
		err = p.ext(kRegsDSAField)
	case "ext":
		err = p.ext(kRegsExtField)
	default:
		err = p.skip()
	}
	return err
}

// text26 reads the text of a 2.6 field whose 2.5 location is in an ext:
// a value wins over ext's, read before or after it, but an empty one is
// none and leaves ext's, had (the protocol audit: "us_privacy":"" hid
// an opt-out in regs.ext.us_privacy).
func (p *parser) text26(ext []byte) ([]byte, error) {
	v, err := p.text()
	if len(v) == 0 && len(ext) > 0 {
		return ext, err
	}
	return v, err
}

func regsExtField(p *parser, key string) error {
	g := &p.r.Regs
	switch key {
	case "gdpr":
		v, err := p.optInt()
		if g.GDPR == -1 {
			g.GDPR = v
		}
		return err
	case "us_privacy":
		v, err := p.text()
		if len(g.USPrivacy) == 0 {
			g.USPrivacy = v
		}
		return err
	case "gpp":
		v, err := p.text()
		if len(g.GPP) == 0 {
			g.GPP = v
		}
		return err
	case "gpp_sid":
		if len(g.GPPSID) != 0 {
			return p.skip()
		}
		var err error
		g.GPPSID, err = p.ints(g.GPPSID, "gpp_sid")
		return err
	case "dsa":
		return p.ext(kRegsDSAField)
	}
	return p.skip()
}

// regsDSAField reads regs.ext.dsa or regs.dsa; transparency, datatopub
// and the rest are the publisher's, which a bid need not read.
func regsDSAField(p *parser, key string) (err error) {
	g := &p.r.Regs
	switch key {
	case "dsarequired":
		g.DSARequired, err = p.int()
	case "pubrender":
		g.DSAPubRender, err = p.optInt()
	default:
		err = p.skip()
	}
	return err
}

// optInt reads an integer whose absence is -1.
func (p *parser) optInt() (int, error) {
	if p.null() {
		return -1, nil
	}
	return p.int()
}

func sourceField(p *parser, key string) (err error) {
	s := &p.r.Source
	switch key {
	case "tid":
		s.TID, err = p.text()
	case "schain":
		err = p.schain()
	case "ext":
		err = p.ext(kSourceExtField)
	default:
		err = p.skip()
	}
	return err
}

func sourceExtField(p *parser, key string) (err error) {
	switch {
	case key == "schain" && !p.r.Source.SChainPresent:
		err = p.schain()
	case key == "tidt":
		p.r.Source.TIDType, err = p.int()
	default:
		err = p.skip()
	}
	return err
}

func (p *parser) schain() (err error) {
	s := &p.r.Source
	s.SChainComplete, s.SChainNodes = 0, 0
	s.SChainPresent, err = p.object("schain is not an object", kSchainField)
	return err
}

func schainField(p *parser, key string) (err error) {
	s := &p.r.Source
	switch key {
	case "complete":
		s.SChainComplete, err = p.int()
	case "nodes":
		s.SChainNodes = 0
		err = p.array("schain.nodes is not an array", eSchainNode)
	default:
		err = p.skip()
	}
	return err
}

func schainNode(p *parser, _ int) error {
	p.r.Source.SChainNodes++
	return p.skip()
}
