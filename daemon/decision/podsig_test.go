package decision

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/rtbd/rtbd/daemon/campaign"
)

// TestPodSigFilters checks the pod signature shortcuts of optionsClash
// and podConflict against the exact checks, with campaigns that share
// advertiser domains and categories, and some with neither (whose only
// signature bit is their final ordinal's).
func TestPodSigFilters(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var camps []campaign.Campaign
	for i := range 200 {
		c := videoCampaign(fmt.Sprint("c", i), "", "", float64(1+r.IntN(50)), 15, 30)
		c.ADomain, c.Cat = nil, nil
		for range r.IntN(3) {
			c.ADomain = append(c.ADomain, fmt.Sprintf("d%d.example", r.IntN(40)))
		}
		for range r.IntN(3) {
			c.Cat = append(c.Cat, fmt.Sprintf("IAB%d", r.IntN(40)))
		}
		camps = append(camps, c)
	}
	s := mustCompile(t, testFile(camps...), nil)
	exact := func(a, b *option) bool {
		ca := &s.camps[a.ord]
		return a.ord == b.ord || s.clashes(b, ca.adomainH, ca.catH)
	}
	n := len(s.camps)
	for o := range n {
		if got := podSigOf(&s.camps[o], o); s.camps[o].podSig != got {
			t.Fatalf("campaign %d: podSig %x, want %x", o, s.camps[o].podSig, got)
		}
	}
	clashes := 0
	for a := range n {
		for b := range n {
			oa, ob := option{ord: int32(a)}, option{ord: int32(b)}
			got, want := s.optionsClash(&oa, &ob), exact(&oa, &ob)
			if got != want {
				t.Fatalf("optionsClash(%d, %d) = %v, want %v", a, b, got, want)
			}
			if got {
				clashes++
			}
		}
	}
	if clashes <= n {
		t.Fatalf("%d clashing pairs: want some between campaigns", clashes)
	}
	c := &Ctx{}
	for range 200 {
		c.podDom, c.podCat, c.podSig = c.podDom[:0], c.podCat[:0], 0
		for range r.IntN(4) {
			s.podTake(c, &option{ord: int32(r.IntN(n))})
		}
		for o := range n {
			opt := option{ord: int32(o)}
			if got, want := s.podConflict(c, &opt), s.clashes(&opt, c.podDom, c.podCat); got != want {
				t.Fatalf("podConflict(%d) = %v, want %v", o, got, want)
			}
		}
	}
}
