package decision

import (
	"slices"
	"testing"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

// jointPod is a structured pod of two slots that share a joint scan (see
// jointSlots): alike but for their durations and floors.
func jointPod(floor float64, cur string) []openrtb.Imp {
	var imps []openrtb.Imp
	for i, d := range [][2]int{{5, 15}, {15, 30}} {
		imp := videoImp(itoa(i + 1))
		imp.Video.PodID, imp.Video.SlotInPod = []byte("p"), []int{1, -1}[i]
		imp.Video.MinDur, imp.Video.MaxDur = d[0], d[1]
		imp.BidFloor, imp.BidFloorCur = floor+float64(i)*1e-4, []byte(cur)
		imps = append(imps, imp)
	}
	return imps
}

// checkJoint decides req untraced (the joint scan) and traced (each slot
// on its own, exhaustive) and wants the same bids, and want of them.
func checkJoint(t *testing.T, s *Snapshot, req *openrtb.Request, want []string) {
	t.Helper()
	_, ref, _ := decide(s, req, testNow)
	c := AcquireCtx()
	defer ReleaseCtx(c)
	var got openrtb.Response
	s.Decide(c, req, testNow, &got)
	if g, r := bidPrices(&got), bidPrices(ref); !slices.Equal(g, r) || !slices.Equal(g, want) {
		t.Fatalf("joint scan bids %v, exhaustive %v; want %v", g, r, want)
	}
}

// TestJointScanNegativeModel is TestNegativeModelPricesDomainCross on a
// joint scan, which copied collect's unbatched path.
func TestJointScanNegativeModel(t *testing.T) {
	t.Parallel()
	const buckets = 1 << 16
	m := &campaign.Model{Version: campaign.ModelVersion, Buckets: buckets, Bias: 3,
		Features: []string{"campaign_x_domain"}, Weights: make([]float64, buckets)}
	for _, id := range []string{"c1", "c2"} {
		m.Weights[crossHashBytes(xxhashString("campaign="+id), xxhashString("domain=com.example.tv"))&(buckets-1)] = -6
	}
	s := mustCompile(t, testFile(videoCampaign("c1", "c1.com", "IAB1", 10, 15), videoCampaign("c2", "c2.com", "IAB2", 10, 30)), m)
	checkJoint(t, s, ctvRequest(jointPod(0.1, "USD")...), []string{"1:0.4743", "2:0.4743"})
}

// TestJointScanStopWordMargin is TestStopWordMargin on a joint scan, in
// the word after 64 campaigns that only the first slot takes: the second
// slot's stop word, without the margin, ended its scan before the
// campaign worth its floor (a joint scan in which no slot gets an option
// runs the slots' own scans instead, which would hide it).
func TestJointScanStopWordMargin(t *testing.T) {
	t.Parallel()
	camps := []campaign.Campaign{videoCampaign("edge", "edge.com", "IAB1", 4.77, 30)}
	for i := range 64 {
		camps = append(camps, videoCampaign("short"+itoa(i), "short"+itoa(i)+".com", "IAB2", 10, 10))
	}
	s := mustCompile(t, testFile(camps...), nil)
	req := ctvRequest(jointPod(4.293, "EUR")...)
	req.Imps[1].BidFloor = 4.293
	req.Cur = [][]byte{[]byte("EUR")}
	checkJoint(t, s, req, []string{"1:9.0000", "2:4.2930"})
}

// TestJointSlotsLeaveNoReference checks that a pod whose slots do not
// scan together (alike: one scan serves both) leaves no reference into
// the request in the pooled Ctx: jointSlots had set the slots' imps
// before it gave up, and only a joint scan cleared them (the review).
func TestJointSlotsLeaveNoReference(t *testing.T) {
	t.Parallel()
	s := mustCompile(t, testFile(videoCampaign("c1", "c1.com", "IAB1", 10, 15)), nil)
	imps := jointPod(0.1, "USD")
	imps[1].Video.MinDur, imps[1].Video.MaxDur, imps[1].BidFloor = imps[0].Video.MinDur, imps[0].Video.MaxDur, imps[0].BidFloor
	c := &Ctx{}
	var resp openrtb.Response
	s.Decide(c, ctvRequest(imps...), testNow, &resp)
	c.reset()
	for i := range c.scans {
		if c.scans[i].imp != nil || c.scans[i].dur != nil {
			t.Fatalf("scans[%d] still points into the request or the snapshot", i)
		}
	}
}
