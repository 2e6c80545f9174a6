package decision

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

// TestFitMasksMatchLists checks fit, which checks mimes, protocols and
// battr with bit masks, against fitLists, which walks the lists, on
// random creatives and imps: values inside and outside the masks' range,
// more mimes than the masks number, empty lists.
func TestFitMasksMatchLists(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	mime := func() string {
		if r.IntN(4) == 0 {
			return fmt.Sprintf("video/x-%d", r.IntN(90)) // past the 63 numbered
		}
		return []string{"video/mp4", "VIDEO/MP4", "video/webm", "application/x-mpegURL", "audio/mpeg"}[r.IntN(5)]
	}
	ints := func(vals ...int) []int {
		var l []int
		for range r.IntN(4) {
			l = append(l, vals[r.IntN(len(vals))])
		}
		return l
	}
	var camps []campaign.Campaign
	for i := range 150 {
		c := campaign.Campaign{ID: fmt.Sprint("c", i), ADomain: []string{"a.example"}, Value: 5, MaxCPM: 5}
		for j := range 4 {
			cr := campaign.Creative{
				ID: fmt.Sprint("c", i, "-", j), Type: []string{"video", "audio"}[r.IntN(2)], Dur: []int{6, 15, 30, 60}[r.IntN(4)],
				Protocol: []int{0, 0, 2, 3, 7, 62, 63, 70}[r.IntN(8)], Attr: ints(1, 3, 6, 63, 64, 100),
				Secure: r.IntN(4) != 0, Markup: "<VAST/>",
			}
			for range r.IntN(3) {
				cr.Mimes = append(cr.Mimes, mime())
			}
			c.Creatives = append(c.Creatives, cr)
		}
		camps = append(camps, c)
	}
	s := mustCompile(t, testFile(camps...), nil)
	if len(s.mimeIDs) != 63 {
		t.Fatalf("%d mimes numbered, want 63 (the test wants some past them)", len(s.mimeIDs))
	}
	slow, fast := 0, 0
	c := &Ctx{}
	for range 400 {
		req := ctvRequest()
		var mimes [][]byte
		for range r.IntN(4) {
			mimes = append(mimes, []byte(mime()))
		}
		imp := openrtb.Imp{ID: []byte("1"), Media: openrtb.MediaVideo | openrtb.MediaAudio, Secure: r.IntN(2),
			Video: openrtb.Video{Mimes: mimes, MinDur: 5, MaxDur: 30, Protocols: ints(0, 2, 3, 7, 62, 63, 70), BAttr: ints(1, 3, 6, 63, 64, 100)},
			Audio: openrtb.Audio{Mimes: mimes, MinDur: 5, MaxDur: 60, Protocols: ints(0, 2, 3, 70), BAttr: ints(1, 6, 64)},
		}
		req.Imps = []openrtb.Imp{imp}
		c.begin(s, req, testNow)
		c.respCur = 0
		if !c.prepareImp(&req.Imps[0]) {
			t.Fatal("prepareImp failed")
		}
		for o := range s.camps {
			for i := range s.camps[o].creatives {
				cr := &s.camps[o].creatives[i]
				mb := mbVideo
				if cr.media == openrtb.MediaAudio {
					mb = mbAudio
				}
				got, want := c.fit(cr, &req.Imps[0], mb), c.fitLists(cr, &req.Imps[0], mb)
				if got != want {
					t.Fatalf("creative %s (mimes %v, protocol %d, attr %v) on imp %+v: fit %d, fitLists %d",
						cr.id, cr.mimes, cr.protocol, cr.attr, req.Imps[0].Video, got, want)
				}
				if cr.masks.slow {
					slow++
				} else {
					fast++
				}
			}
		}
		c.reset()
	}
	if slow == 0 || fast == 0 {
		t.Fatalf("fit took the lists %d times, the masks %d: want both", slow, fast)
	}
}
