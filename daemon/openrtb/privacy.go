package openrtb

import "slices"

// Privacy is what a request's regulatory signals allow the bidder to do
// with personal data. The zero value allows everything.
type Privacy uint8

// Privacy restrictions, set by [Request.Privacy].
const (
	// NoPersonalData forbids user ids, device ids, eids and audience
	// segments for targeting and frequency capping: the bid is contextual.
	NoPersonalData Privacy = 1 << iota
	// NoDeviceID forbids device.ifa only (device.lmt or dnt is 1).
	NoDeviceID
	// NoBid forbids bidding at all: the user refused, in a TCF string,
	// what selecting any ad needs (purpose 2, or this vendor).
	NoBid
	// BadConsent reports that a TCF, GPP or US section string did not decode;
	// it restricts nothing itself (NoPersonalData comes with it).
	BadConsent
	// NoTCF reports a request under GDPR (regs.gdpr 1) without a TCF
	// string that decodes; NoPersonalData comes with it. A bidder that
	// requires consent does not bid on it (see config's
	// bidding.gdprRequireConsent).
	NoTCF
)

// TCF purposes rtbd's processing relies on (IAB TCF v2.2 policies,
// appendix A).
const (
	purposeBasicAds   = 2 // use limited data to select advertising
	purposeAdsProfile = 3 // create profiles for personalised advertising
	purposeSelectAds  = 4 // use profiles to select personalised advertising
)

// Privacy returns the restrictions of the request's signals. vendor is
// rtbd's operator's IAB Global Vendor List id, or 0 when it has none (the
// vendor bits are then not checked).
//   - regs.coppa 1 (child-directed): no personal data.
//   - regs.gdpr 1: the TCF v2 string (user.consent, else a tcfeuv2 GPP
//     section) decides. regs.gdpr absent (unknown, as OpenRTB reads an
//     omission): a user.consent that decodes as a TCF v2 string decides
//     too, for an exchange that ran a consent tool and left gdpr out must
//     not have a refusal ignored (the protocol audit); without one, GDPR
//     is taken not to apply. No string, or one that does not decode: no
//     personal data, and NoTCF. Purpose 2 neither consented (with the vendor's
//     consent) nor established by legitimate interest (with the vendor's
//     legitimate interest; the publisher's restrictions on the vendor
//     remove either): no bid. Personal data (user ids, eids,
//     segments, frequency caps) needs consent to purposes 3 and 4
//     (personalised advertising) and the vendor's consent. Purpose 1
//     (device storage) is the exchange's and the CMP's concern: rtbd
//     reads nothing from the device.
//   - regs.us_privacy, or a uspv1 GPP section, with the opt-out-of-sale
//     flag ("1-Y-" pattern, third character 'Y'): no personal data.
//   - regs.gpp: each applicable section (those in regs.gpp_sid, or every
//     section when gpp_sid is absent) applies: tcfeuv2 as above, uspv1 as
//     above; usnat, usca and the state sections usva (9) to usmn (23)
//     when any of their sale, sharing or targeted-advertising opt-outs is
//     1, a known child's consent is refused, or their GPC sub-section
//     carries the Global Privacy Control signal (an opt-out of sale and
//     sharing under the state laws). Any other applicable section (rtbd
//     does not decode them, so it assumes they restrict; among them the
//     state sections 24 to 27, which the reference libraries encode
//     differently), an applicable section missing from the string, or a
//     string that does not decode: no personal data.
//   - device.lmt or device.dnt 1: no advertising id.
func (r *Request) Privacy(vendor int) Privacy {
	var p Privacy
	if r.Regs.COPPA == 1 {
		p |= NoPersonalData
	}
	var g GPP
	gppTCF, gppTCFBad := false, false // an applicable tcfeuv2 section, applied below; it does not decode
	if len(r.Regs.GPP) > 0 {
		if DecodeGPP(r.Regs.GPP, &g) != nil {
			p |= BadConsent
		} else {
			p |= r.gppPrivacy(&g, vendor)
			sec, in := g.Section(GPPTCFEU)
			gppTCF = in && r.gppApplies(GPPTCFEU)
			gppTCFBad = gppTCF && tcfPrivacy(sec, vendor)&BadConsent != 0
		}
	}
	if r.Regs.GDPR == -1 && len(r.User.Consent) > 0 {
		// Unknown: a TCF string decides, something else in user.consent
		// (a US privacy string, a stray value) says nothing (the commit
		// review: "1" there cost every such request its personal data).
		if t := tcfPrivacy(r.User.Consent, vendor); t&BadConsent == 0 {
			p |= t
		}
	}
	if r.Regs.GDPR == 1 {
		switch {
		case len(r.User.Consent) > 0:
			if t := tcfPrivacy(r.User.Consent, vendor); t&BadConsent != 0 {
				p |= t | NoTCF
			} else {
				p |= t
			}
		case !gppTCF || gppTCFBad:
			p |= NoPersonalData | NoTCF
		}
	}
	if uspOptOut(r.Regs.USPrivacy) {
		p |= NoPersonalData
	}
	if r.Device.Lmt == 1 || r.Device.DNT == 1 {
		p |= NoDeviceID
	}
	if p&(NoBid|BadConsent) != 0 {
		p |= NoPersonalData
	}
	return p
}

// tcfPrivacy applies the TCF rules of [Request.Privacy] to a consent
// string.
func tcfPrivacy(s []byte, vendor int) Privacy {
	t, err := DecodeTCF(s, vendor)
	if err != nil {
		return BadConsent
	}
	anyVendor := vendor <= 0
	// The publisher's restrictions on the vendor take away a legal basis.
	byConsent := t.Purposes &^ (t.NotAllowed | t.LIOnly)
	byLI := t.PurposesLI &^ (t.NotAllowed | t.ConsentOnly)
	basic := uint32(1) << (purposeBasicAds - 1)
	if !(byConsent&basic != 0 && (anyVendor || t.Vendor)) && !(byLI&basic != 0 && (anyVendor || t.VendorLI)) {
		return NoBid
	}
	personal := uint32(1)<<(purposeAdsProfile-1) | uint32(1)<<(purposeSelectAds-1)
	if byConsent&personal == personal && (anyVendor || t.Vendor) {
		return 0
	}
	return NoPersonalData
}

// uspOptOut reports whether a US Privacy string opts out of sale.
func uspOptOut(s []byte) bool {
	return len(s) >= 3 && s[0] == '1' && (s[2] == 'Y' || s[2] == 'y')
}

// gppApplies reports whether GPP section id applies: it is listed in
// regs.gpp_sid, or gpp_sid is absent.
func (r *Request) gppApplies(id int) bool {
	return len(r.Regs.GPPSID) == 0 || slices.Contains(r.Regs.GPPSID, id)
}

// gppPrivacy applies the GPP rules of [Request.Privacy] to the request's
// decoded GPP string.
func (r *Request) gppPrivacy(g *GPP, vendor int) Privacy {
	var p Privacy
	if len(r.Regs.GPPSID) == 0 {
		for i := range g.Len() {
			text, _ := g.Section(g.ID(i))
			p |= gppSectionPrivacy(g.ID(i), text, vendor)
		}
		return p
	}
	for _, id := range r.Regs.GPPSID {
		text, ok := g.Section(id)
		if !ok {
			p |= NoPersonalData
			continue
		}
		p |= gppSectionPrivacy(id, text, vendor)
	}
	return p
}

func gppSectionPrivacy(id int, text []byte, vendor int) Privacy {
	switch id {
	case GPPTCFEU:
		return tcfPrivacy(text, vendor)
	case GPPUSP:
		if uspOptOut(text) {
			return NoPersonalData
		}
		return 0
	case GPPUSNat:
		return usPrivacy(DecodeUSNat(text))
	case GPPUSCA:
		return usPrivacy(DecodeUSCA(text))
	}
	if id >= GPPUSVA && id <= GPPUSMN {
		return usPrivacy(DecodeUSState(id, text))
	}
	return NoPersonalData
}

// usPrivacy is the policy of a decoded US section: an opt-out, a refused
// known-child consent or a GPC signal means no personal data.
func usPrivacy(u USSection, err error) Privacy {
	switch {
	case err != nil:
		return BadConsent
	case u.OptedOut || u.ChildNoConsent || u.GPC:
		return NoPersonalData
	}
	return 0
}

// Scrub removes from the view what p forbids, so that nothing downstream
// (targeting, frequency caps, the event log) can use it. It keeps the
// slices' capacity and does not allocate.
func (r *Request) Scrub(p Privacy) {
	if p&(NoPersonalData|NoDeviceID) != 0 {
		r.Device.IFA = nil
	}
	if p&NoPersonalData == 0 {
		return
	}
	u := &r.User
	u.ID, u.BuyerUID = nil, nil
	clear(u.Segments)
	u.Segments = u.Segments[:0]
	clear(u.EIDs)
	u.EIDs = u.EIDs[:0]
}
