package openrtb

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
)

// Privacy returns the restrictions of the request's signals:
//   - regs.coppa 1 (child-directed): no personal data;
//   - regs.gdpr 1 without a consent string: no personal data. A present TCF
//     string is taken as consent; its vendor and purpose bits are not
//     decoded (a known limitation: decoding needs the GVL vendor id);
//   - regs.us_privacy with the opt-out-of-sale flag ("1-Y-" pattern, third
//     character 'Y'): no personal data;
//   - device.lmt or device.dnt 1: no advertising id.
//
// GPP strings are not decoded; their legacy us_privacy and gdpr
// equivalents, when present, apply.
func (r *Request) Privacy() Privacy {
	var p Privacy
	switch {
	case r.Regs.COPPA == 1:
		p |= NoPersonalData
	case r.Regs.GDPR == 1 && len(r.User.Consent) == 0:
		p |= NoPersonalData
	case len(r.Regs.USPrivacy) >= 3 && r.Regs.USPrivacy[0] == '1' && (r.Regs.USPrivacy[2] == 'Y' || r.Regs.USPrivacy[2] == 'y'):
		p |= NoPersonalData
	}
	if r.Device.Lmt == 1 || r.Device.DNT == 1 {
		p |= NoDeviceID
	}
	return p
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
