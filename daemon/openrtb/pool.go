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
	*r = Request{
		Imps:    imps[:0],
		Site:    Site{Cat: resetTexts(r.Site.Cat)},
		App:     App{Cat: resetTexts(r.App.Cat)},
		User:    User{Segments: resetTexts(r.User.Segments), EIDs: resetEIDs(r.User.EIDs)},
		Regs:    Regs{GDPR: -1, GPPSID: r.Regs.GPPSID[:0]},
		Cur:     resetTexts(r.Cur),
		BCat:    resetTexts(r.BCat),
		BAdv:    resetTexts(r.BAdv),
		BApp:    resetTexts(r.BApp),
		WLang:   resetTexts(r.WLang),
		WSeat:   resetTexts(r.WSeat),
		BSeat:   resetTexts(r.BSeat),
		scratch: r.scratch[:0],
	}
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
