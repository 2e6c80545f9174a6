package decision

import (
	"cmp"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

// checkPod verifies the pod rules on resp: no adomain, cat or campaign twice.
func checkPod(t *testing.T, resp *openrtb.Response) {
	t.Helper()
	seen := map[string]bool{}
	for _, b := range resp.Bids {
		keys := []string{"cid:" + string(b.CampaignID)}
		for _, d := range b.ADomain {
			keys = append(keys, "adomain:"+string(d))
		}
		for _, c := range b.Cat {
			keys = append(keys, "cat:"+string(c))
		}
		for _, k := range keys {
			if seen[k] {
				t.Fatalf("pod repeats %s: %+v", k, resp.Bids)
			}
			seen[k] = true
		}
	}
}

func TestStructuredPod(t *testing.T) {
	t.Parallel()
	s := mustCompile(t, testFile(
		videoCampaign("a", "a.com", "IAB1", 40, 15),
		videoCampaign("b", "a.com", "IAB2", 30, 15), // same adomain as a
		videoCampaign("c", "c.com", "IAB1", 20, 30), // same cat as a
		videoCampaign("d", "d.com", "IAB3", 10, 30),
		videoCampaign("e", "e.com", "IAB3", 5, 30), // same cat as d
	), nil)
	var imps []openrtb.Imp
	for i, id := range []string{"s1", "s2", "s3"} {
		imp := videoImp(id)
		imp.Video.PodID, imp.Video.SlotInPod = []byte("pod-1"), []int{1, 0, -1}[i]
		imps = append(imps, imp)
	}
	other := videoImp("solo") // not in the pod: may reuse an advertiser
	imps = append(imps, other)
	reason, resp, tr := decide(s, ctvRequest(imps...), testNow)
	if reason != ReasonBid {
		t.Fatalf("reason %s; want bid", reason)
	}
	got := map[string]string{}
	for _, b := range resp.Bids {
		if got[string(b.ImpID)] != "" {
			t.Fatalf("two bids for imp %s", b.ImpID)
		}
		got[string(b.ImpID)] = string(b.CampaignID)
	}
	// Slot by slot would take a (40) and d (10): a excludes b (adomain)
	// and c (cat), d excludes e (cat). Filled together the slots take b,
	// c and d: 60.
	want := map[string]string{"s1": "b", "s2": "c", "s3": "d", "solo": "a"}
	if len(got) != len(want) {
		t.Fatalf("bids %v; want %v (trace %+v)", got, want, tr.Bids)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("bids %v; want %v", got, want)
		}
	}
	pod := &openrtb.Response{Bids: resp.Bids[:0]}
	for _, b := range resp.Bids {
		if string(b.ImpID) != "solo" {
			pod.Bids = append(pod.Bids, b)
		}
	}
	checkPod(t, pod)
	if resp.Bids[0].SlotInPod != 1 {
		t.Fatalf("slotinpod %d; want 1 as requested", resp.Bids[0].SlotInPod)
	}
}

func TestDynamicPod(t *testing.T) {
	t.Parallel()
	var camps []campaign.Campaign
	for i, c := range []struct {
		id     string
		value  float64
		durs   []int
		domain string
		cat    string
	}{
		{"a", 40, []int{30, 15}, "a.com", "IAB1"},
		{"b", 35, []int{15}, "b.com", "IAB2"},
		{"c", 30, []int{20}, "c.com", "IAB3"}, // 20 s is not in rqddurs
		{"d", 25, []int{15}, "a.com", "IAB4"}, // adomain of a
		{"e", 20, []int{30}, "e.com", "IAB2"}, // cat of b
		{"f", 10, []int{15}, "f.com", "IAB5"},
		{"g", 9, []int{15}, "g.com", "IAB6"},
	} {
		_ = i
		camps = append(camps, videoCampaign(c.id, c.domain, c.cat, c.value, c.durs...))
	}
	s := mustCompile(t, testFile(camps...), nil)
	f := func(podDur, maxSeq int, rqd []int, wantCount int) {
		t.Helper()
		imp := videoImp("pod")
		imp.Video.MaxDur = 60
		imp.Video.PodDur, imp.Video.MaxSeq, imp.Video.RqdDurs = podDur, maxSeq, rqd
		imp.Video.SlotInPod = 1 // the seller guarantees the first position to one of them
		reason, resp, _ := decide(s, ctvRequest(imp), testNow)
		if reason != ReasonBid || len(resp.Bids) != wantCount {
			t.Fatalf("poddur %d maxseq %d: reason %s, %d bids %+v; want %d", podDur, maxSeq, reason, len(resp.Bids), resp.Bids, wantCount)
		}
		total := 0
		for _, b := range resp.Bids {
			total += b.Dur
			if string(b.ImpID) != "pod" {
				t.Fatalf("bid for imp %q", b.ImpID)
			}
			if b.SlotInPod != 0 {
				t.Fatalf("a bid of a dynamic pod claims position %d; want none, each would claim it", b.SlotInPod)
			}
			if len(rqd) > 0 && !containsInt(rqd, b.Dur) {
				t.Fatalf("dur %d not in rqddurs %v", b.Dur, rqd)
			}
		}
		if podDur > 0 && total > podDur || maxSeq > 0 && len(resp.Bids) > maxSeq {
			t.Fatalf("pod of %d s in %d ads exceeds poddur %d / maxseq %d", total, len(resp.Bids), podDur, maxSeq)
		}
		checkPod(t, resp)
	}
	// 60 s of 15/30 s spots: a(15, best per second), b(15), f(15), g(15).
	f(60, 0, []int{15, 30}, 4)
	f(60, 2, []int{15, 30}, 2)
	f(30, 0, []int{15, 30}, 2)
	f(45, 5, nil, 3) // c's 20 s fits without rqddurs: a15, b15, then only c20 > 15 left... total <= 45
}

func TestPodMinCPMPerSecond(t *testing.T) {
	t.Parallel()
	s := mustCompile(t, testFile(videoCampaign("a", "a.com", "IAB1", 20, 30, 15)), nil)
	imp := videoImp("pod")
	imp.Video.PodDur, imp.Video.MinCPMPerSec = 60, 1 // 30 s needs 30, 15 s needs 15
	reason, resp, _ := decide(s, ctvRequest(imp), testNow)
	if reason != ReasonBid || len(resp.Bids) != 1 || resp.Bids[0].Dur != 15 || resp.Bids[0].Price != 20 {
		t.Fatalf("reason %s, bids %+v; want the 15 s creative at 20", reason, resp.Bids)
	}
	imp.Video.MinCPMPerSec = 2 // 15 s needs 30 > 20
	if reason, _, _ := decide(s, ctvRequest(imp), testNow); reason != ReasonBelowFloor {
		t.Fatalf("reason %s; want below_floor", reason)
	}
}

// TestDynamicPodBeatsGreedy: in a 30 s pod one 30 s spot at 20 is worth
// more than one 15 s spot at 12, although the 15 s spot pays more per
// second.
func TestDynamicPodBeatsGreedy(t *testing.T) {
	t.Parallel()
	s := mustCompile(t, testFile(
		videoCampaign("long", "long.com", "IAB1", 20, 30),
		videoCampaign("short", "short.com", "IAB2", 12, 15),
		videoCampaign("mid", "mid.com", "IAB3", 13, 20),
	), nil)
	imp := videoImp("pod")
	imp.Video.PodDur = 30
	reason, resp, _ := decide(s, ctvRequest(imp), testNow)
	if reason != ReasonBid || len(resp.Bids) != 1 || string(resp.Bids[0].CampaignID) != "long" {
		t.Fatalf("reason %s, bids %+v; want the 30 s spot alone", reason, resp.Bids)
	}
}

// TestPodSearchOptimal compares the search with every subset of random
// option sets: the same best total price, and a set that keeps the rules.
func TestPodSearchOptimal(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	for round := range 3000 {
		var ps podSearch
		ps.n = 1 + rng.IntN(12)
		for i := range ps.n {
			ps.price[i] = float64(1 + rng.IntN(40))
			ps.dur[i] = []int{6, 15, 15, 20, 30, 30, 60}[rng.IntN(7)]
		}
		slices.SortFunc(ps.price[:ps.n], func(a, b float64) int { return cmp.Compare(b, a) })
		ps.usable = randomClashes(rng, ps.conflict[:ps.n])
		ps.maxDur, ps.maxCnt = []int{30, 60, 90, 120, math.MaxInt}[rng.IntN(5)], ps.n
		if rng.IntN(2) == 0 {
			ps.maxCnt = 1 + rng.IntN(ps.n)
		}
		ps.setSums()
		ps.greedy()
		ps.search(0, 0, 0, 0, 0, 0)
		fits := func(set uint64) (float64, bool) {
			sum, dur, cnt := 0.0, 0, 0
			for i := range ps.n {
				if set&(1<<i) == 0 {
					continue
				}
				if ps.usable&(1<<i) == 0 || ps.conflict[i]&set != 0 {
					return 0, false
				}
				sum, dur, cnt = sum+ps.price[i], dur+ps.dur[i], cnt+1
			}
			return sum, dur <= ps.maxDur && cnt <= ps.maxCnt
		}
		want := 0.0
		for set := uint64(0); set < 1<<ps.n; set++ {
			if sum, ok := fits(set); ok && sum > want {
				want = sum
			}
		}
		got, ok := fits(ps.best)
		if !ok || got != want || ps.bestPrice != got {
			t.Fatalf("round %d: search found %b worth %v (valid %v, says %v); the best subset is worth %v\n%+v",
				round, ps.best, got, ok, ps.bestPrice, want, ps)
		}
	}
}

// TestPodSearchBoundsByDuration: 14 usable 30 s options for a 30 s pod
// fit one at a time, so the greedy fill (the best one) is the answer; the
// duration bound ends the search at its first node, where the count bound
// alone tries every option in turn.
func TestPodSearchBoundsByDuration(t *testing.T) {
	var ps podSearch
	ps.n, ps.maxDur, ps.maxCnt = 14, 30, 14
	for i := range ps.n {
		ps.price[i], ps.dur[i] = float64(40-i), 30
		ps.usable |= 1 << i
	}
	ps.setSums()
	ps.greedy()
	ps.search(0, 0, 0, 0, 0, 0)
	if ps.best != 1 || ps.bestPrice != 40 || ps.nodes > 1 {
		t.Fatalf("search took %b worth %v in %d nodes; want the first option alone, in 1 node", ps.best, ps.bestPrice, ps.nodes)
	}
}

// TestSlotSearchOptimal compares the structured slots' search with every
// assignment of random slots and options: the same best total price, and
// an assignment that keeps the rules (one option per slot, each option
// once, no two that conflict, none that clashes with the pod).
func TestSlotSearchOptimal(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 8))
	for round := range 3000 {
		var ss slotSearch
		ss.m = 1 + rng.IntN(5)
		n := 0
		for u := range ss.m {
			if u > 0 && rng.IntN(3) == 0 { // alike: the same options as the slot before
				ss.lo[u], ss.hi[u] = ss.lo[u-1], ss.hi[u-1]
				continue
			}
			k := 1 + rng.IntN(4)
			ss.lo[u], ss.hi[u] = int8(n), int8(n+k)
			for j := n; j < n+k; j++ {
				ss.price[j] = float64(1 + rng.IntN(40))
			}
			slices.SortFunc(ss.price[n:n+k], func(a, b float64) int { return cmp.Compare(b, a) })
			n += k
		}
		ss.usable = randomClashes(rng, ss.conflict[:n])
		for i := range n {
			ss.conflict[i] |= 1 << i // an option fills one slot
		}
		ss.setBounds()
		ss.greedy()
		ss.search(0, 0, 0)
		value := func(choice []int8) (float64, bool) {
			var used uint64
			sum := 0.0
			for u, j := range choice {
				if j < 0 {
					continue
				}
				if j < ss.lo[u] || j >= ss.hi[u] || ss.usable&(1<<j) == 0 || ss.conflict[j]&used != 0 {
					return 0, false
				}
				used |= 1 << j
				sum += ss.price[j]
			}
			return sum, true
		}
		want := 0.0
		choice := make([]int8, ss.m)
		var walk func(u int)
		walk = func(u int) {
			if u == ss.m {
				if sum, ok := value(choice); ok && sum > want {
					want = sum
				}
				return
			}
			for j := ss.lo[u] - 1; j < ss.hi[u]; j++ {
				choice[u] = j
				if j < ss.lo[u] {
					choice[u] = -1
				}
				walk(u + 1)
			}
		}
		walk(0)
		got, ok := value(ss.best[:ss.m])
		if !ok || got != want || ss.bestPrice != got {
			t.Fatalf("round %d: search chose %v worth %v (valid %v, says %v); the best assignment is worth %v\n%+v",
				round, ss.best[:ss.m], got, ok, ss.bestPrice, want, ss)
		}
	}
}

// greedy fills the slots in order, each with its best option that clashes
// with none taken, as greedySlots does on a Snapshot's options: the
// incumbent of TestSlotSearchOptimal.
func (ss *slotSearch) greedy() {
	var used uint64
	for t := range ss.m {
		ss.best[t] = -1
		for j := ss.lo[t]; j < ss.hi[t]; j++ {
			if ss.usable&(1<<j) != 0 && ss.conflict[j]&used == 0 {
				ss.best[t], used, ss.bestPrice = j, used|1<<j, ss.bestPrice+ss.price[j]
				break
			}
		}
	}
}

// randomClashes makes each of len(conflict) options usable with
// probability 7/8 and each pair clash with probability 1/4, and returns
// the usable set.
func randomClashes(rng *rand.Rand, conflict []uint64) (usable uint64) {
	for i := range conflict {
		conflict[i] = 0
		if rng.IntN(8) != 0 {
			usable |= 1 << i
		}
		for j := range i {
			if rng.IntN(4) == 0 {
				conflict[i] |= 1 << j
				conflict[j] |= 1 << i
			}
		}
	}
	return usable
}

// audioCampaign is videoCampaign with audio creatives (audio/mpeg, VAST 3).
func audioCampaign(id, adomain, cat string, value float64, durs ...int) campaign.Campaign {
	c := videoCampaign(id, adomain, cat, value, durs...)
	for i := range c.Creatives {
		c.Creatives[i].Type, c.Creatives[i].Mimes = "audio", []string{"audio/mpeg"}
	}
	return c
}

// audioImp returns an audio imp accepting 5-30 s audio/mpeg over VAST 3.
func audioImp(id string) openrtb.Imp {
	return openrtb.Imp{ID: []byte(id), Media: openrtb.MediaAudio, Audio: openrtb.Audio{
		Mimes: [][]byte{[]byte("audio/mpeg")}, MinDur: 5, MaxDur: 30, Protocols: []int{2, 3},
	}}
}

// TestAudioPods: OpenRTB 2.6 gives imp.audio the pod fields of imp.video,
// and audio pods (streaming radio, podcasts) follow the same rules.
func TestAudioPods(t *testing.T) {
	t.Parallel()
	five := []campaign.Campaign{
		audioCampaign("a", "a.com", "IAB1", 40, 15),
		audioCampaign("b", "a.com", "IAB2", 30, 15), // same adomain as a
		audioCampaign("c", "c.com", "IAB1", 20, 30), // same cat as a
		audioCampaign("d", "d.com", "IAB3", 10, 30),
		audioCampaign("e", "e.com", "IAB3", 5, 30),   // same cat as d
		videoCampaign("v", "v.com", "IAB8", 100, 15), // video: never in an audio pod
	}
	bidsOf := func(resp *openrtb.Response) map[string]string {
		got := map[string]string{}
		for _, b := range resp.Bids {
			got[string(b.ImpID)] += string(b.CampaignID)
		}
		return got
	}

	// Structured: as TestStructuredPod, the slots filled together take b,
	// c and d (60), where slot by slot would take a and d; the audio imp
	// outside the pod may take a.
	s := mustCompile(t, testFile(five...), nil)
	var imps []openrtb.Imp
	for i, id := range []string{"s1", "s2", "s3"} {
		imp := audioImp(id)
		imp.Audio.PodID, imp.Audio.SlotInPod = []byte("pod-1"), []int{1, 0, -1}[i]
		imps = append(imps, imp)
	}
	solo := videoImp("solo-video") // the same podid in video is another pod
	solo.Video.PodID = []byte("pod-1")
	imps = append(imps, audioImp("solo"), solo)
	reason, resp, _ := decide(s, ctvRequest(imps...), testNow)
	got := bidsOf(resp)
	want := map[string]string{"s1": "b", "s2": "c", "s3": "d", "solo": "a", "solo-video": "v"}
	if reason != ReasonBid || !maps.Equal(got, want) {
		t.Fatalf("structured: reason %s, bids %v; want %v", reason, got, want)
	}
	checkPod(t, &openrtb.Response{Bids: resp.Bids[:3]})
	if b := resp.Bids[0]; b.SlotInPod != 1 || b.MType != 3 || b.Dur != 15 {
		t.Fatalf("structured: first bid %+v; want slotinpod 1 as requested, mtype 3 (audio), 15 s", b)
	}

	// Slots that differ in audio's fields only are scanned apart: s2
	// takes no spot shorter than 20 s, so not x's.
	unlike := mustCompile(t, testFile(five[0], five[3], audioCampaign("x", "x.com", "IAB9", 35, 15)), nil)
	imps = []openrtb.Imp{audioImp("s1"), audioImp("s2")}
	for i := range imps {
		imps[i].Audio.PodID = []byte("pod-2")
	}
	imps[1].Audio.MinDur = 20
	reason, resp, _ = decide(unlike, ctvRequest(imps...), testNow)
	if got, want := bidsOf(resp), map[string]string{"s1": "a", "s2": "d"}; reason != ReasonBid || !maps.Equal(got, want) {
		t.Fatalf("unlike slots: reason %s, bids %v; want %v", reason, got, want)
	}

	// Dynamic: 60 s of exactly 15 or 30 s spots, several bids on one imp;
	// h's 20 s spot is not one of them, its 15 s one is.
	s = mustCompile(t, testFile(append(five, audioCampaign("h", "h.com", "IAB7", 50, 20, 15))...), nil)
	imp := audioImp("dyn")
	imp.Audio.MaxDur = 60
	imp.Audio.PodDur, imp.Audio.RqdDurs = 60, []int{15, 30}
	reason, resp, _ = decide(s, ctvRequest(imp), testNow)
	dur, price := 0, 0.0
	for _, b := range resp.Bids {
		dur, price = dur+b.Dur, price+b.Price
		if !containsInt(imp.Audio.RqdDurs, b.Dur) || b.MType != 3 {
			t.Fatalf("dynamic: bid %+v; want an audio spot (mtype 3) of 15 or 30 s", b)
		}
	}
	// h 15 s (50) with a 15 s (40) and d 30 s (10), or with b and c: 100.
	if reason != ReasonBid || len(resp.Bids) != 3 || dur > 60 || price != 100 {
		t.Fatalf("dynamic: reason %s, %d bids %v, %d s, total %v; want 3 bids, 100 in 60 s", reason, len(resp.Bids), bidsOf(resp), dur, price)
	}
	checkPod(t, resp)

	// A slot with rqddurs [15] gets h's 15 s spot, not its 20 s one,
	// which comes first and pays the same.
	slot := audioImp("s")
	slot.Audio.PodID, slot.Audio.RqdDurs = []byte("pod-3"), []int{15}
	reason, resp, _ = decide(s, ctvRequest(slot), testNow)
	if reason != ReasonBid || len(resp.Bids) != 1 || string(resp.Bids[0].CampaignID) != "h" || resp.Bids[0].Dur != 15 {
		t.Fatalf("rqddurs: reason %s, bids %+v; want h's 15 s spot", reason, resp.Bids)
	}

	// mincpmpersec: 20 s spots need 20, 15 s ones 15.
	imp.Audio.RqdDurs, imp.Audio.MinCPMPerSec, imp.Audio.MaxSeq = nil, 1, 1
	reason, resp, _ = decide(s, ctvRequest(imp), testNow)
	if reason != ReasonBid || len(resp.Bids) != 1 || string(resp.Bids[0].CampaignID) != "h" || resp.Bids[0].Price != 50 {
		t.Fatalf("mincpmpersec 1: reason %s, bids %+v; want h alone at 50", reason, resp.Bids)
	}
	// 2.5 EUR a second is 2.78 USD: a 15 s spot needs 41.67, so h's
	// (50) clears and a's (40) does not; h's 20 s spot needs 55.56.
	imp.Audio.MinCPMPerSec, imp.BidFloorCur, imp.Audio.MaxSeq = 2.5, []byte("EUR"), 2
	reason, resp, _ = decide(s, ctvRequest(imp), testNow)
	if reason != ReasonBid || len(resp.Bids) != 1 || string(resp.Bids[0].CampaignID) != "h" || resp.Bids[0].Dur != 15 {
		t.Fatalf("mincpmpersec 2.5 EUR: reason %s, bids %v %+v; want h's 15 s spot alone", reason, bidsOf(resp), resp.Bids)
	}
}

// TestAlikeSlotBounds: a structured slot that differs from the one before
// only in a bound of its ads (bit rate, linearity, the 2.5 placement, a
// deal's guar) is scanned on its own terms. sameSlot took such a slot for
// the one before and gave it that slot's ads: an exchange rejects a 4000
// kbps ad in a slot of at most 1500 (the protocol audit).
func TestAlikeSlotBounds(t *testing.T) {
	t.Parallel()
	a := videoCampaign("a", "a.com", "IAB1", 40, 15)
	b := videoCampaign("b", "b.com", "IAB2", 30, 15)
	for _, c := range []*campaign.Campaign{&a, &b} {
		c.Targeting.Plcmt = []int{1}
		c.Creatives[0].Bitrate = 4000
	}
	s := mustCompile(t, testFile(a, b), nil)
	for _, tc := range []struct {
		name string
		edit func(v *openrtb.Video)
	}{
		{"maxbitrate", func(v *openrtb.Video) { v.MaxBitrate = 1500 }},
		{"minbitrate", func(v *openrtb.Video) { v.MinBitrate = 5000 }},
		{"linearity", func(v *openrtb.Video) { v.Linearity = 2 }},
		{"placement", func(v *openrtb.Video) { v.Placement = 3 }}, // 2.5: in-article
	} {
		s1, s2 := videoImp("s1"), videoImp("s2")
		for _, v := range []*openrtb.Video{&s1.Video, &s2.Video} {
			// A 2.5 request: in-stream by placement, no plcmt.
			v.PodID, v.Plcmt, v.Placement = []byte("pod-1"), 0, 1
		}
		tc.edit(&s2.Video)
		c := &Ctx{} // no trace: the path the daemon takes
		resp := &openrtb.Response{}
		s.Decide(c, ctvRequest(s1, s2), testNow, resp)
		var imps []string
		for _, bid := range resp.Bids {
			imps = append(imps, string(bid.ImpID))
		}
		if !slices.Equal(imps, []string{"s1"}) {
			t.Errorf("%s: bids on imps %v; want s1 only: no ad fits s2", tc.name, imps)
		}
	}
}

// TestSameSlotFields guards sameSlot against a field of the imp it does
// not compare: each field of Imp, Video, Audio, Pod and Deal that a scan
// reads must make two slots differ. A field added to those types fails
// this test until it is compared, or listed here as one no scan reads.
func TestSameSlotFields(t *testing.T) {
	t.Parallel()
	unread := map[string]bool{
		"ID": true, "TagID": true, "Banner": true, "Native": true, // no pod slot reads them
		"W": true, "H": true, "StartDelay": true, // the player's, no bound of an ad
		"PodID": true, "PodSeq": true, "SlotInPod": true, "PodDedupe": true, // one pod, placed apart
	}
	var walk func(path string, typ reflect.Type, mb int)
	walk = func(path string, typ reflect.Type, mb int) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			name := path + f.Name
			switch {
			case unread[f.Name]:
			case name == "Audio":
				walk(name+".", f.Type, mbAudio) // compared in audio pods
			case name == "PMP.Deals":
				walk(name+".", f.Type.Elem(), mb)
			case f.Type.Kind() == reflect.Struct:
				walk(name+".", f.Type, mb)
			default:
				a, b := podImp(), podImp()
				setNonZero(t, name, fieldOf(&b, name))
				if sameSlot(&a, &b, mb) {
					t.Errorf("sameSlot takes imps that differ in %s for the same slot", name)
				}
			}
		}
	}
	walk("", reflect.TypeFor[openrtb.Imp](), mbVideo)
}

// podImp is an imp of a video and an audio pod, with one deal.
func podImp() openrtb.Imp {
	imp := videoImp("a")
	imp.Media |= openrtb.MediaAudio
	// A 2.5 placement (in-stream), which a plcmt would override.
	imp.Video.PodID, imp.Video.Plcmt, imp.Video.Placement = []byte("p"), 0, 1
	imp.Audio = openrtb.Audio{Mimes: [][]byte{[]byte("audio/mp4")}, MaxDur: 30, Pod: openrtb.Pod{PodID: []byte("p")}}
	imp.PMP.Deals = []openrtb.Deal{{ID: []byte("d")}}
	return imp
}

// fieldOf returns the field of imp at path ("Video.Pod.MaxSeq"); in
// "PMP.Deals.X", the first deal's.
func fieldOf(imp *openrtb.Imp, path string) reflect.Value {
	v := reflect.ValueOf(imp).Elem()
	for name := range strings.SplitSeq(path, ".") {
		if v.Kind() == reflect.Slice {
			v = v.Index(0)
		}
		v = v.FieldByName(name)
	}
	return v
}

// setNonZero changes v to a value of its kind that no test imp has.
func setNonZero(t *testing.T, name string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 7)
	case reflect.Uint8:
		v.SetUint(v.Uint() ^ 1<<7)
	case reflect.Float64:
		v.SetFloat(v.Float() + 7.5)
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Slice:
		e := reflect.New(v.Type().Elem()).Elem()
		switch e.Kind() {
		case reflect.Struct:
			setNonZero(t, name, e.Field(0))
		case reflect.Slice:
			e.Set(reflect.ValueOf([]byte("x")))
		default:
			setNonZero(t, name, e)
		}
		v.Set(reflect.Append(v, e))
	default:
		t.Fatalf("%s: cannot change a %s", name, v.Type())
	}
}

// TestSortByPerSec compares greedy's insertion sort with the stable sort
// it replaced, on prices per second with ties.
func TestSortByPerSec(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 2000 {
		n := r.IntN(maxDynamicOptions + 1)
		perSec := make([]float64, n)
		got, want := make([]int8, n), make([]int8, n)
		for i := range perSec {
			perSec[i] = float64(r.IntN(6)) / float64(1+r.IntN(3))
			got[i], want[i] = int8(i), int8(i)
		}
		sortByPerSec(got, perSec)
		slices.SortStableFunc(want, func(a, b int8) int { return cmp.Compare(perSec[b], perSec[a]) })
		if !slices.Equal(got, want) {
			t.Fatalf("perSec %v: sorted %v, want %v", perSec, got, want)
		}
	}
}
