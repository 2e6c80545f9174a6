package decision

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

// goldenNow pins the decisions' clock, as server.NewBench does: a Tuesday
// afternoon, so that day-parting and the model's hour feature do not
// vary with the hour of the run.
var goldenNow = time.Date(2026, time.November, 17, 14, 0, 0, 0, time.UTC)

// goldenCases are books and request sets whose decisions
// TestDecisionsGolden pins: generated CTV requests (structured and
// dynamic pods, deals) on generated books of several sizes and on the
// demo book, with and without the model, and with some deals made
// guaranteed. want is the hash of every response (see goldenHash),
// recorded from the code before the pod scans were shared: a change of
// any bid, price, creative, deal or order changes it.
var goldenCases = []struct {
	name      string
	camps     int // 0: the demo book
	seed      int64
	model     bool
	reqSeeds  []int64
	reqs      int
	guarEvery int  // make the first deal of every guarEvery-th request guaranteed; 0 none
	bookDeals bool // give every other request deals that the book's campaigns list
	want      string
	// mutate, when set, changes the book before it is compiled and the
	// requests before they are decided.
	mutate func(f *campaign.File, reqs []*openrtb.Request)
	// spend, when set, bills impressions into the compiled book's State.
	spend func(s *Snapshot, f *campaign.File, reqs []*openrtb.Request)
}{
	{"gen50", 50, 1, true, []int64{1, 2, 3}, 500, 0, false, "661dade29cea898cc66585451d27148e", nil, nil},
	{"gen50-s2", 50, 2, true, []int64{4}, 500, 0, false, "174bf59cf1fa8354f13962f89fc02e65", nil, nil},
	{"gen1000", 1000, 1, true, []int64{1, 2, 3}, 600, 0, false, "3e4942e3b149773b146496b5e19aca6d", nil, nil},
	{"gen1000-guar", 1000, 1, true, []int64{5}, 500, 3, false, "b068d51b0db4ed54d43e3653830f9420", nil, nil},
	{"gen300-nomodel", 300, 3, false, []int64{6}, 500, 0, false, "0bcb2f41f9b6ad3f36fe41d647b1adae", nil, nil},
	{"gen3000", 3000, 2, true, []int64{7}, 500, 0, false, "0771b2ab913a1b6a8729abc4c958554c", nil, nil},
	{"gen20000", 20000, 1, true, []int64{21}, 400, 0, false, "a1c0c6ab55f6b2bf04040515dcc50ad1", nil, nil},
	{"demo", 0, 0, false, []int64{1, 8}, 500, 0, false, "eb1910e7ea0b6614f1b4837f52b440e8", nil, nil},
	{"demo-guar", 0, 0, false, []int64{9}, 500, 2, false, "1361b437dfe708ea812704a3c5ba0beb", nil, nil},
	{"gen1000-deals", 1000, 1, true, []int64{10}, 500, 4, true, "c76f2ebfbd66dbd27f0ae66d13e9d5f7", nil, nil},
	{"gen50-deals", 50, 4, true, []int64{11}, 500, 3, true, "23cceacc283b59c977c3dbe1fa171eb6", nil, nil},
	{"gen1000-alike", 1000, 1, true, []int64{12}, 500, 0, false, "b0aa90772e74fa34ce276229dab9f2d6", alikeSlots, nil},
	{"gen200-alike-nomodel", 200, 5, false, []int64{13}, 500, 5, true, "caeda0fd82a69e2d204303266a7da73b", alikeSlots, nil},
	{"gen1000-audio", 1000, 2, true, []int64{14}, 500, 0, false, "ddb0c2dc2b07212eabc25e32f2ec6ed3", audioSlots, nil},
	{"gen1000-capped", 1000, 1, true, []int64{16}, 500, 0, false, "1a6844cd98cbf97d717deaa5f94977a8", cappedBook, spendBook},
	{"gen100-capped-deals", 100, 2, true, []int64{17}, 500, 3, true, "2f7953ebad7f7da0cf76b20ceb4e7113", cappedBook, spendBook},
	{"gen100-audio-deals", 100, 3, true, []int64{15}, 500, 3, true, "f3167f08370bfaedcb4e0faefede3b39", audioSlots, nil},
}

// TestDecisionsGolden runs goldenCases through Decide and compares the
// hash of their responses with the recorded one. GOLDEN_DUMP=dir writes
// each case's responses to dir/name.txt, one a line, to diff two
// versions' decisions.
func TestDecisionsGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			var f *campaign.File
			var m *campaign.Model
			if tc.camps == 0 {
				f, m = campaign.Demo()
			} else {
				f = campaign.Generate(tc.camps, tc.seed)
				if tc.model {
					m = campaign.GenerateModel(4096, tc.seed)
				}
			}
			var reqs []*openrtb.Request
			for _, seed := range tc.reqSeeds {
				reqs = append(reqs, parseRequests(t, campaign.GenerateCTVRequests(tc.reqs, seed))...)
			}
			if tc.mutate != nil {
				tc.mutate(f, reqs)
			}
			s := mustCompile(t, f, m)
			if tc.spend != nil {
				tc.spend(s, f, reqs)
			}
			if tc.bookDeals {
				var deals []string
				for j := range f.Campaigns {
					deals = append(deals, f.Campaigns[j].Deals...)
				}
				for i, r := range reqs {
					if i%2 == 1 || len(deals) == 0 {
						continue
					}
					// One list for every imp, as a pod's slots share it.
					var d []openrtb.Deal
					for k := range 1 + i%3 {
						d = append(d, openrtb.Deal{ID: []byte(deals[(i*7+k*13)%len(deals)]), BidFloor: float64(2 + i%5), AT: 1 + k%2})
					}
					for j := range r.Imps {
						r.Imps[j].PMP.Deals = append([]openrtb.Deal(nil), d...)
					}
				}
			}
			if tc.guarEvery > 0 {
				for i, r := range reqs {
					for j := range r.Imps {
						if d := r.Imps[j].PMP.Deals; i%tc.guarEvery == 0 && len(d) > 0 && d[0].BidFloor > 0 {
							d[0].Guar = 1
						}
					}
				}
			}
			got, dump, bids := goldenHash(s, reqs)
			if again, _, _ := goldenHash(s, reqs); again != got {
				t.Fatalf("decisions are not deterministic: %s then %s", got, again)
			}
			if dir := os.Getenv("GOLDEN_DUMP"); dir != "" {
				if err := os.WriteFile(filepath.Join(dir, tc.name+".txt"), dump, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if bids < len(reqs)/4 {
				t.Fatalf("%d bids on %d requests: the case tests little", bids, len(reqs))
			}
			if got != tc.want {
				t.Errorf("%d requests, %d bids: hash %s, want %s: a decision changed", len(reqs), bids, got, tc.want)
			}
		})
	}
}

// goldenHash decides reqs on s and returns the hash of their reasons and
// encoded responses (bid ids blanked: they count bids process-wide), the
// responses, and how many bids they hold.
func goldenHash(s *Snapshot, reqs []*openrtb.Request) (string, []byte, int) {
	c := AcquireCtx()
	defer ReleaseCtx(c)
	var resp openrtb.Response
	var dump []byte
	bids := 0
	for i, r := range reqs {
		reason := s.Decide(c, r, goldenNow, &resp)
		bids += len(resp.Bids)
		resp.BidID = nil
		for j := range resp.Bids {
			resp.Bids[j].ID = nil
		}
		dump = fmt.Appendf(dump, "%d %d ", i, reason)
		dump = openrtb.AppendResponse(dump, &resp)
		dump = append(dump, '\n')
	}
	h := sha256.Sum256(dump)
	return hex.EncodeToString(h[:16]), dump, bids
}

// alikeSlots makes slots of structured pods alike (see sameSlot): in
// every other request of two slots or more the second copies the first,
// in every third of three or more the third copies the first (alike but
// not next to it), and in every fifth the last slot has its floor in
// another currency; some campaigns target mimes, protocols and plcmt.
func alikeSlots(f *campaign.File, reqs []*openrtb.Request) {
	for i := range f.Campaigns {
		t := &f.Campaigns[i].Targeting
		switch i % 7 {
		case 1:
			t.Mimes = []string{"video/mp4"}
		case 2:
			t.Protocols = []int{3, 7}
		case 3:
			t.Plcmt = []int{1}
		}
	}
	for i, r := range reqs {
		imps := r.Imps
		if len(imps) < 2 || isDynamic(&imps[0].Video.Pod) {
			continue
		}
		copySlot := func(dst, src *openrtb.Imp) {
			pod := dst.Video.Pod
			dst.Video, dst.BidFloor = src.Video, src.BidFloor
			dst.Video.Pod = pod
		}
		if i%2 == 0 {
			copySlot(&imps[1], &imps[0])
		}
		if i%3 == 0 && len(imps) >= 3 {
			copySlot(&imps[2], &imps[0])
		}
		if i%5 == 0 {
			imps[len(imps)-1].BidFloorCur = []byte("EUR")
		}
	}
}

// audioSlots gives every other campaign audio copies of its video
// creatives, and turns the imps of every other request into audio ones.
func audioSlots(f *campaign.File, reqs []*openrtb.Request) {
	for i := range f.Campaigns {
		c := &f.Campaigns[i]
		if i%2 == 1 {
			continue
		}
		for _, cr := range c.Creatives {
			if cr.Type == "video" {
				cr.ID, cr.Type, cr.Mimes = cr.ID+"-a", "audio", []string{"audio/mpeg"}
				c.Creatives = append(c.Creatives, cr)
			}
		}
		if len(c.Targeting.Media) > 0 {
			c.Targeting.Media = append(c.Targeting.Media, "audio")
		}
	}
	for i, r := range reqs {
		if i%2 == 1 {
			continue
		}
		for j := range r.Imps {
			imp := &r.Imps[j]
			v := &imp.Video
			imp.Audio = openrtb.Audio{
				Mimes: [][]byte{[]byte("audio/mpeg")}, MinDur: v.MinDur, MaxDur: v.MaxDur, Protocols: v.Protocols, Pod: v.Pod,
			}
			if (i+j)%3 == 0 {
				imp.Audio.Mimes = append(imp.Audio.Mimes, []byte("audio/mp4"))
			}
			imp.Video, imp.Media = openrtb.Video{}, openrtb.MediaAudio
		}
	}
}

// cappedBook caps every third campaign at one impression a day per user.
func cappedBook(f *campaign.File, _ []*openrtb.Request) {
	for i := range f.Campaigns {
		if i%3 == 0 {
			f.Campaigns[i].FreqCap = campaign.FreqCap{Max: 1, WindowSeconds: 86400}
		}
	}
}

// spendBook bills, for the users of every other request, an impression
// of two capped campaigns in five, and spends every seventh campaign's
// daily budget: eligible then turns them away.
func spendBook(s *Snapshot, f *campaign.File, reqs []*openrtb.Request) {
	usd := []byte("USD")
	for i := range f.Campaigns {
		c := &f.Campaigns[i]
		if i%7 == 0 {
			if _, err := s.state.Bill([]byte(c.ID), 0, 1e9, usd, goldenNow); err != nil {
				panic(err)
			}
		}
	}
	for j, r := range reqs {
		uk := UserKey(r)
		if j%2 == 1 || uk == 0 {
			continue
		}
		for i := range f.Campaigns {
			if c := &f.Campaigns[i]; c.FreqCap.Max > 0 && i%5 < 2 {
				if _, err := s.state.Bill([]byte(c.ID), uk, 0.001, usd, goldenNow); err != nil {
					panic(err)
				}
			}
		}
	}
}
