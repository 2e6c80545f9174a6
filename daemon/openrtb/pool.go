package openrtb

import "sync"

// Reset clears r for reuse. It keeps the capacity of every slice, including
// the inner slices of each Imp and Deal, and drops the references to the
// previous body so that a pooled Request does not keep it alive.
func (r *Request) Reset() {
	imps := r.Imps
	for i := range imps {
		imps[i].reset()
	}
	// The kept slices are read out first so that *r is cleared in place: a
	// composite literal that reads r's own fields is built in a temporary
	// and copied, twice the 1 KB of writes.
	siteCat, appCat := dropTexts(r.Site.Cat), dropTexts(r.App.Cat)
	segments, eids := dropTexts(r.User.Segments), resetEIDs(r.User.EIDs)
	gppSID, scratch := r.Regs.GPPSID[:0], r.scratch[:0]
	cur, bcat, badv, bapp := dropTexts(r.Cur), dropTexts(r.BCat), dropTexts(r.BAdv), dropTexts(r.BApp)
	wlang, wseat, bseat, acat := dropTexts(r.WLang), dropTexts(r.WSeat), dropTexts(r.BSeat), dropTexts(r.ACat)
	wlangb := dropTexts(r.WLangB)
	*r = Request{}
	r.Imps = imps[:0]
	r.Site.Cat, r.App.Cat = siteCat, appCat
	r.User.Segments, r.User.EIDs = segments, eids
	r.Regs.GDPR, r.Regs.GPPSID, r.Regs.DSAPubRender = -1, gppSID, -1
	r.Cur, r.BCat, r.BAdv, r.BApp = cur, bcat, badv, bapp
	r.WLang, r.WSeat, r.BSeat, r.ACat, r.WLangB = wlang, wseat, bseat, acat, wlangb
	r.scratch = scratch
	r.fresh = true
}

// AcquireRequest returns an empty Request from a pool. Return it with
// [ReleaseRequest] when its slices are no longer used.
func AcquireRequest() *Request {
	if v := requestPool.Get(); v != nil {
		return v.(*Request)
	}
	r := &Request{}
	r.Reset()
	return r
}

// ReleaseRequest resets r and returns it to the pool. r and every slice
// obtained from it must not be used afterwards.
func ReleaseRequest(r *Request) {
	r.Reset()
	requestPool.Put(r)
}

var requestPool sync.Pool

// dropTexts is resetTexts for Request.Reset and Imp.reset: an element at
// a time, as the lists are short (one or two entries mostly), for which
// clear's call to the runtime cost more than the stores.
func dropTexts(s [][]byte) [][]byte {
	for i := 0; i < len(s); i++ {
		s[i] = nil
	}
	return s[:0]
}
