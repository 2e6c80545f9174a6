package openrtb

// Validation errors are preallocated so that Validate never allocates.
var (
	errSiteAppDOOH   = &ValidationError{Msg: "site, app and dooh are mutually exclusive"}
	errTMax          = &ValidationError{Msg: "tmax is negative"}
	errGDPR          = &ValidationError{Msg: "regs.gdpr must be 0 or 1"}
	errDupImpID      = &ValidationError{Msg: "duplicate imp id"}
	errNoMedia       = &ValidationError{Msg: "imp has no media object"}
	errBidFloor      = &ValidationError{Msg: "imp.bidfloor is negative"}
	errBannerSize    = &ValidationError{Msg: "imp.banner has a negative w or h"}
	errVideoSize     = &ValidationError{Msg: "imp.video has a negative w or h"}
	errVideoMimes    = &ValidationError{Msg: "imp.video has no mimes"}
	errAudioMimes    = &ValidationError{Msg: "imp.audio has no mimes"}
	errDuration      = &ValidationError{Msg: "minduration is greater than maxduration"}
	errDealID        = &ValidationError{Msg: "imp.pmp.deals[] has no id"}
	errDealBidFloor  = &ValidationError{Msg: "imp.pmp.deals[].bidfloor is negative"}
	errPodDuration   = &ValidationError{Msg: "imp.video has a negative pod field"}
	errAudioPod      = &ValidationError{Msg: "imp.audio has a negative pod field"}
	errNegativeCount = &ValidationError{Msg: "imp.video has a negative duration"}
	errDealPerSec    = &ValidationError{Msg: "imp.pmp.deals[].mincpmpersec is negative"}
	errDurFloors     = &ValidationError{Msg: "a durfloors entry has a negative bidfloor or duration, or its mindur is above its maxdur"}
)

// Validate applies the semantic checks of a strict exchange (Prebid Server)
// to a successfully parsed request and returns a *[ValidationError] for the
// first failure. It does not allocate.
//
// Unlike Prebid Server it accepts a request with none of site, app and
// dooh: exchanges' adapters and the spec's own pod examples send such
// requests, and a bidder loses nothing by bidding on them (targeting on
// domain or bundle simply does not match). For the same reason a banner
// without a size is accepted: multi-format imps and interstitials send
// one, and only size-targeted creatives cannot match it.
func (r *Request) Validate() error {
	n := 0
	for _, present := range [...]bool{r.Site.Present, r.App.Present, r.DOOH} {
		if present {
			n++
		}
	}
	switch {
	case n > 1:
		return errSiteAppDOOH
	case r.TMax < 0:
		return errTMax
	case r.Regs.GDPR < -1 || r.Regs.GDPR > 1:
		return errGDPR
	}
	for i := range r.Imps {
		if err := r.Imps[i].validate(); err != nil {
			return err
		}
		if r.dupImpID(i) {
			return errDupImpID
		}
	}
	return nil
}

func (r *Request) dupImpID(i int) bool {
	id := r.Imps[i].ID
	for j := 0; j < i; j++ {
		if string(r.Imps[j].ID) == string(id) {
			return true
		}
	}
	return false
}

func (im *Imp) validate() error {
	switch {
	case im.Media == 0:
		return errNoMedia
	case im.BidFloor < 0:
		return errBidFloor
	case im.Banner.W < 0 || im.Banner.H < 0:
		return errBannerSize
	}
	if im.Media&MediaVideo != 0 {
		if err := im.Video.validate(); err != nil {
			return err
		}
	}
	if im.Media&MediaAudio != 0 {
		if err := validateAudio(&im.Audio); err != nil {
			return err
		}
	}
	return validateDeals(im.PMP.Deals)
}

func (v *Video) validate() error {
	switch {
	case len(v.Mimes) == 0:
		return errVideoMimes
	case v.W < 0 || v.H < 0:
		return errVideoSize
	case v.MinDur < 0 || v.MaxDur < 0:
		return errNegativeCount
	case v.MaxDur > 0 && v.MinDur > v.MaxDur:
		return errDuration
	case v.PodDur < 0 || v.MaxSeq < 0 || v.MinCPMPerSec < 0:
		return errPodDuration
	case !validDurFloors(v.DurFloors):
		return errDurFloors
	}
	return nil
}

func validateAudio(a *Audio) error {
	switch {
	case len(a.Mimes) == 0:
		return errAudioMimes
	case a.MinDur < 0 || a.MaxDur < 0:
		return errNegativeCount
	case a.MaxDur > 0 && a.MinDur > a.MaxDur:
		return errDuration
	case a.PodDur < 0 || a.MaxSeq < 0 || a.MinCPMPerSec < 0:
		return errAudioPod
	case !validDurFloors(a.DurFloors):
		return errDurFloors
	}
	return nil
}

func validateDeals(deals []Deal) error {
	for i := range deals {
		switch {
		case len(deals[i].ID) == 0:
			return errDealID
		case deals[i].BidFloor < 0:
			return errDealBidFloor
		case deals[i].MinCPMPerSec < 0:
			return errDealPerSec
		case !validDurFloors(deals[i].DurFloors):
			return errDurFloors
		}
	}
	return nil
}

func validDurFloors(fs []DurFloor) bool {
	for i := range fs {
		f := &fs[i]
		if f.BidFloor < 0 || f.MinDur < 0 || f.MaxDur < 0 || f.MaxDur > 0 && f.MinDur > f.MaxDur {
			return false
		}
	}
	return true
}
