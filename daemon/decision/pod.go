package decision

import (
	"cmp"
	"slices"

	"github.com/rtbd/rtbd/daemon/openrtb"
)

// Options kept per pod imp: alternatives for when the best ones share an
// advertiser domain or category with ads already in the pod.
const (
	structuredOptions = 4
	maxDynamicOptions = 32
)

// dynamicOptions is how many options a dynamic pod keeps: twice the most
// ads it can take, so that greedy assembly has room for dedupe.
func (s *Snapshot) dynamicOptions(v *openrtb.Video) int {
	slots := v.MaxSeq
	if slots <= 0 {
		shortest := 15
		if len(s.ix.vdurs) > 0 && s.ix.vdurs[0] > 0 {
			shortest = s.ix.vdurs[0]
		}
		slots = v.PodDur/shortest + 1
	}
	return min(max(2*slots+2, 4), maxDynamicOptions)
}

// podSalt keeps campaign ordinals apart from adomain hashes in c.podDom.
const podSalt = 0x2545f4914f6cdd1d

// decidePod fills the CTV pod that starts at imp first: every later imp
// with the same video.podid is a slot (at most one bid each); an imp with
// poddur or maxseq is a dynamic pod taking several bids. No two ads of a
// pod share an advertiser domain, a category or a campaign.
func (s *Snapshot) decidePod(c *Ctx, first int, resp *openrtb.Response) {
	req := c.req
	podID := req.Imps[first].Video.PodID
	c.podDom, c.podCat = c.podDom[:0], c.podCat[:0]
	prev := -1 // the structured slot whose options c.opts holds
	for i := first; i < len(req.Imps); i++ {
		imp := &req.Imps[i]
		if i != first && (len(podID) == 0 || string(imp.Video.PodID) != string(podID) || c.done[i]) {
			continue
		}
		c.done[i] = true
		// The first slot's deadline check is decide's, just before.
		if imp.Media&openrtb.MediaVideo == 0 || i != first && c.expired() || !c.prepareImp(imp) {
			continue
		}
		if isDynamicPod(imp) {
			prev = -1
			c.opts = c.opts[:0]
			s.collect(c, imp, 1, s.dynamicOptions(&imp.Video), true)
			s.fillDynamic(c, imp, resp)
			continue
		}
		if prev < 0 || !sameSlot(&req.Imps[prev], imp) {
			// Slots alike share one scan: their options are the same.
			c.opts = c.opts[:0]
			n := s.alikeSlots(c, i, podID)
			s.collect(c, imp, 1, min(structuredOptions*n, maxDynamicOptions), false)
			prev = i
		}
		for j := range c.opts {
			if !s.podConflict(c, &c.opts[j]) {
				s.podTake(c, &c.opts[j])
				s.emit(c, imp, &c.opts[j], resp)
				break
			}
		}
	}
}

// fillDynamic picks options greedily by price per second while the pod's
// duration and count limits allow.
func (s *Snapshot) fillDynamic(c *Ctx, imp *openrtb.Imp, resp *openrtb.Response) {
	slices.SortStableFunc(c.opts, byPricePerSecond)
	v := &imp.Video
	total, count := 0, 0
	for j := range c.opts {
		o := &c.opts[j]
		if v.MaxSeq > 0 && count >= v.MaxSeq {
			return
		}
		if v.PodDur > 0 && total+int(o.dur) > v.PodDur || s.podConflict(c, o) {
			continue
		}
		s.podTake(c, o)
		s.emit(c, imp, o, resp)
		total += int(o.dur)
		count++
	}
}

func byPricePerSecond(a, b option) int {
	return cmp.Compare(b.price/float64(max(b.dur, 1)), a.price/float64(max(a.dur, 1)))
}

func (s *Snapshot) podConflict(c *Ctx, o *option) bool {
	cc := &s.camps[o.ord]
	if containsU64(c.podDom, uint64(o.ord)^podSalt) {
		return true
	}
	for _, h := range cc.adomainH {
		if containsU64(c.podDom, h) {
			return true
		}
	}
	for _, h := range cc.catH {
		if containsU64(c.podCat, h) {
			return true
		}
	}
	return false
}

func (s *Snapshot) podTake(c *Ctx, o *option) {
	cc := &s.camps[o.ord]
	c.podDom = append(c.podDom, uint64(o.ord)^podSalt)
	c.podDom = append(c.podDom, cc.adomainH...)
	c.podCat = append(c.podCat, cc.catH...)
}

// alikeSlots counts the structured slots of the pod from imp i on that are
// alike (see sameSlot) to it.
func (s *Snapshot) alikeSlots(c *Ctx, i int, podID []byte) int {
	n := 1
	imps := c.req.Imps
	for j := i + 1; j < len(imps) && len(podID) > 0; j++ {
		if string(imps[j].Video.PodID) == string(podID) && !isDynamicPod(&imps[j]) && sameSlot(&imps[i], &imps[j]) {
			n++
		}
	}
	return n
}

// sameSlot reports whether two video imps take the same ads at the same
// floors, so that one scan serves both.
func sameSlot(a, b *openrtb.Imp) bool {
	va, vb := &a.Video, &b.Video
	return a.BidFloor == b.BidFloor && string(a.BidFloorCur) == string(b.BidFloorCur) &&
		a.Secure == b.Secure && a.Media == b.Media &&
		va.MinDur == vb.MinDur && va.MaxDur == vb.MaxDur && va.Plcmt == vb.Plcmt &&
		va.MinCPMPerSec == vb.MinCPMPerSec && va.PodDur == vb.PodDur && va.MaxSeq == vb.MaxSeq &&
		slices.Equal(va.Protocols, vb.Protocols) && slices.Equal(va.BAttr, vb.BAttr) &&
		slices.Equal(va.RqdDurs, vb.RqdDurs) && equalLists(va.Mimes, vb.Mimes) && samePMP(&a.PMP, &b.PMP)
}

func samePMP(a, b *openrtb.PMP) bool {
	if a.PrivateAuction != b.PrivateAuction || len(a.Deals) != len(b.Deals) {
		return false
	}
	for i := range a.Deals {
		x, y := &a.Deals[i], &b.Deals[i]
		if string(x.ID) != string(y.ID) || x.BidFloor != y.BidFloor || string(x.BidFloorCur) != string(y.BidFloorCur) ||
			!equalLists(x.WSeat, y.WSeat) || !equalLists(x.WADomain, y.WADomain) {
			return false
		}
	}
	return true
}

func equalLists(a, b [][]byte) bool {
	return slices.EqualFunc(a, b, func(x, y []byte) bool { return string(x) == string(y) })
}
