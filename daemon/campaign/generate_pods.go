package campaign

import "fmt"

// ctvVideo returns the video object common to every generated CTV imp.
func (g *gen) ctvVideo() genVideo {
	return genVideo{
		Mimes:     videoMimeSets[g.skewed(len(videoMimeSets))],
		Protocols: [][]int{{2, 3, 5, 6, 7, 8}, {3, 6, 7, 8}, {7, 8}}[g.r.IntN(3)],
		W:         1920, H: 1080, Linearity: 1, Plcmt: 1,
		StartDelay: []int{0, -1, -2}[g.r.IntN(3)],
	}
}

func (g *gen) floor(lo, hi float64) float64 { return g.money(lo, hi) }

// structuredPod returns 1-4 imps of one pod (OpenRTB 2.6 section 7.6): each
// slot has its own duration range and floor; slotinpod marks the first (1)
// and last (-1) slots.
func (g *gen) structuredPod() []genImp {
	n := g.between(1, 4)
	podID := fmt.Sprintf("pod-%d", g.r.IntN(1000))
	podSeq := []int{1, 0, -1}[g.r.IntN(3)]
	deals := g.pmp(max(1, 4-n)) // keeps a 4-slot pod within 3 KB
	imps := make([]genImp, n)
	for i := range imps {
		v := g.ctvVideo()
		v.PodID, v.PodSeq = podID, podSeq
		v.SlotInPod = slotInPod(i, n)
		r := slotDurations[g.r.IntN(len(slotDurations))]
		v.MinDuration, v.MaxDuration = r[0], r[1]
		imps[i] = genImp{
			ID: fmt.Sprint(i + 1), Video: v, BidFloor: g.floor(2, 15), BidFloorCur: "USD",
			Secure: 1, Exp: 7200, PMP: deals,
		}
	}
	return imps
}

// slotDurations are the [minduration, maxduration] ranges of pod slots.
var slotDurations = [][2]int{{5, 15}, {15, 30}, {5, 30}, {15, 60}, {0, 30}}

func slotInPod(i, n int) int {
	switch {
	case n == 1:
		return 0
	case i == 0:
		return 1
	case i == n-1:
		return -1
	default:
		return 0
	}
}

// dynamicPod returns one imp asking for up to maxseq ads filling poddur
// seconds, sometimes with exact durations (rqddurs) and a $/s floor.
func (g *gen) dynamicPod() []genImp {
	v := g.ctvVideo()
	v.PodID = fmt.Sprintf("pod-%d", g.r.IntN(1000))
	v.PodSeq = []int{1, 0, -1}[g.r.IntN(3)]
	v.PodDur = []int{60, 90, 120, 180}[g.r.IntN(4)]
	v.MaxSeq = g.between(2, 6)
	v.MinDuration, v.MaxDuration = 5, 30
	if g.chance(0.3) {
		v.RqdDurs = [][]int{{15, 30}, {15}, {6, 15, 30}}[g.r.IntN(3)]
		v.MinDuration, v.MaxDuration = 0, 0
	}
	if g.chance(0.4) {
		v.MinCPMPerSec = g.money(0.1, 0.5)
	}
	if g.chance(0.5) {
		v.PodDedupe = []int{1, 2}
	}
	return []genImp{{ID: "1", Video: v, BidFloor: g.floor(2, 12), BidFloorCur: "USD", Secure: 1, Exp: 7200, PMP: g.pmp(3)}}
}

// pmp returns up to maxDeals deals for 20 % of requests, drawn from the
// campaigns' pool.
func (g *gen) pmp(maxDeals int) *genPMP {
	if !g.chance(0.2) {
		return nil
	}
	p := &genPMP{}
	for _, id := range distinct(g.between(1, maxDeals), func() string { return dealID(g.skewed(poolDeals)) }) {
		p.Deals = append(p.Deals, genDeal{ID: id, BidFloor: g.floor(5, 20), BidFloorCur: "USD", AT: 1})
	}
	return p
}
