package openrtb

func videoField(p *parser, key string) (err error) {
	v := &p.cur().Video
	switch key {
	case "mimes":
		v.Mimes, err = p.texts(v.Mimes, "mimes")
	case "minduration":
		v.MinDur, err = p.int()
	case "maxduration":
		v.MaxDur, err = p.int()
	case "protocols":
		v.Protocols, err = p.ints(v.Protocols, "protocols")
	case "protocol":
		v.Protocols, err = p.legacyProtocol(v.Protocols)
	case "plcmt":
		v.Plcmt, err = p.int()
	case "placement":
		v.Placement, err = p.int()
	case "w":
		v.W, err = p.int()
	case "h":
		v.H, err = p.int()
	case "linearity":
		v.Linearity, err = p.int()
	case "startdelay":
		v.StartDelay, err = p.int()
	case "minbitrate":
		v.MinBitrate, err = p.int()
	case "maxbitrate":
		v.MaxBitrate, err = p.int()
	case "battr":
		v.BAttr, err = p.ints(v.BAttr, "battr")
	// podField's keys, here rather than through a second switch and call
	// (CTV requests carry a pod in every video).
	case "podid":
		v.PodID, err = p.text()
	case "podseq":
		v.PodSeq, err = p.int()
	case "slotinpod":
		v.SlotInPod, err = p.int()
	case "poddur":
		v.PodDur, err = p.int()
	case "maxseq":
		v.MaxSeq, err = p.int()
	case "rqddurs":
		v.RqdDurs, err = p.ints(v.RqdDurs, "rqddurs")
	case "mincpmpersec":
		v.MinCPMPerSec, err = p.float()
	case "poddedupe":
		v.PodDedupe, err = p.ints(v.PodDedupe, "poddedupe")
	case "durfloors":
		v.DurFloors, err = p.durFloors(v.DurFloors)
	default:
		err = p.skip()
	}
	return err
}

// podField reads the OpenRTB 2.6 pod fields of imp.audio; videoField has
// them in its own switch, which must list the same keys.
func podField(p *parser, v *Pod, key string) (err error) {
	switch key {
	case "podid":
		v.PodID, err = p.text()
	case "podseq":
		v.PodSeq, err = p.int()
	case "slotinpod":
		v.SlotInPod, err = p.int()
	case "poddur":
		v.PodDur, err = p.int()
	case "maxseq":
		v.MaxSeq, err = p.int()
	case "rqddurs":
		v.RqdDurs, err = p.ints(v.RqdDurs, "rqddurs")
	case "mincpmpersec":
		v.MinCPMPerSec, err = p.float()
	case "poddedupe":
		v.PodDedupe, err = p.ints(v.PodDedupe, "poddedupe")
	case "durfloors":
		v.DurFloors, err = p.durFloors(v.DurFloors)
	default:
		err = p.skip()
	}
	return err
}

func audioField(p *parser, key string) (err error) {
	a := &p.cur().Audio
	switch key {
	case "mimes":
		a.Mimes, err = p.texts(a.Mimes, "mimes")
	case "minduration":
		a.MinDur, err = p.int()
	case "maxduration":
		a.MaxDur, err = p.int()
	case "protocols":
		a.Protocols, err = p.ints(a.Protocols, "protocols")
	case "minbitrate":
		a.MinBitrate, err = p.int()
	case "maxbitrate":
		a.MaxBitrate, err = p.int()
	case "battr":
		a.BAttr, err = p.ints(a.BAttr, "battr")
	default:
		err = podField(p, &a.Pod, key)
	}
	return err
}

func pmpField(p *parser, key string) (err error) {
	m := &p.cur().PMP
	switch key {
	case "private_auction":
		m.PrivateAuction, err = p.int()
	case "deals":
		m.Deals = resetDeals(m.Deals)
		err = p.array("pmp.deals is not an array", eDeal)
	default:
		err = p.skip()
	}
	return err
}

func deal(p *parser, _ int) error {
	m := &p.cur().PMP
	n := len(m.Deals)
	if n >= maxDeals {
		return p.tooMany("deals")
	}
	if n < cap(m.Deals) {
		m.Deals = m.Deals[:n+1]
		m.Deals[n].reset()
	} else {
		m.Deals = append(m.Deals, Deal{})
	}
	present, err := p.object("pmp.deals[] is not an object", kDealField)
	if err == nil && !present {
		m.Deals = m.Deals[:n]
	}
	return err
}

func dealField(p *parser, key string) (err error) {
	m := &p.cur().PMP
	d := &m.Deals[len(m.Deals)-1]
	switch key {
	case "id":
		d.ID, err = p.text()
	case "bidfloor":
		d.BidFloor, err = p.float()
	case "bidfloorcur":
		d.BidFloorCur, err = p.text()
	case "at":
		d.AT, err = p.int()
	case "wseat":
		d.WSeat, err = p.texts(d.WSeat, "wseat")
	case "wadomain":
		d.WADomain, err = p.texts(d.WADomain, "wadomain")
	case "mincpmpersec":
		d.MinCPMPerSec, err = p.float()
	case "durfloors":
		d.DurFloors, err = p.durFloors(d.DurFloors)
	case "guar":
		d.Guar, err = p.int()
	default:
		err = p.skip()
	}
	return err
}

// durFloors reads a durfloors array into dst[:0], keeping its capacity.
func (p *parser) durFloors(dst []DurFloor) ([]DurFloor, error) {
	p.df = dst[:0]
	err := p.array("durfloors is not an array", eDurFloor)
	dst, p.df = p.df, nil
	return dst, err
}

func durFloor(p *parser, _ int) error {
	if len(p.df) >= maxDurFloors {
		return p.tooMany("durfloors")
	}
	p.dfCur = DurFloor{}
	present, err := p.object("durfloors[] is not an object", kDurFloorField)
	if err == nil && present {
		p.df = append(p.df, p.dfCur)
	}
	return err
}

func durFloorField(p *parser, key string) (err error) {
	switch key {
	case "mindur":
		p.dfCur.MinDur, err = p.int()
	case "maxdur":
		p.dfCur.MaxDur, err = p.int()
	case "bidfloor":
		p.dfCur.BidFloor, err = p.float()
	default:
		err = p.skip()
	}
	return err
}

// legacyProtocol reads the single 2.3 "protocol" field, used only when
// "protocols" is absent. Some exchanges send it as an array.
func (p *parser) legacyProtocol(dst []int) ([]int, error) {
	if len(dst) != 0 {
		return dst, p.skip()
	}
	if p.ws() == '[' {
		return p.ints(dst, "protocols")
	}
	v, err := p.int()
	if err == nil && v != 0 {
		dst = append(dst, v)
	}
	return dst, err
}
