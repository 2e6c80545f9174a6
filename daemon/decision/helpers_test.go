package decision

import (
	"github.com/cespare/xxhash/v2"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

// testNow is a Wednesday, 06:00 UTC: a quarter of the day has elapsed.
var testNow = time.Date(2026, 11, 18, 6, 0, 0, 0, time.UTC)

var testOptions = Options{
	Currency:   "USD",
	Rates:      map[string]float64{"EUR": 0.9, "GBP": 0.8},
	HostID:     "h1",
	NoticeBase: "https://n.example/",
}

func bannerCampaign(id string, value float64) campaign.Campaign {
	return campaign.Campaign{
		ID: id, ADomain: []string{id + ".example"}, Cat: []string{"IAB1"},
		Value: value, MaxCPM: value,
		Creatives: []campaign.Creative{{ID: id + "-cr", Type: "banner", W: 300, H: 250, Markup: "<b>" + id + "</b>"}},
	}
}

func videoCampaign(id, adomain, cat string, value float64, durs ...int) campaign.Campaign {
	c := campaign.Campaign{ID: id, ADomain: []string{adomain}, Cat: []string{cat}, Value: value, MaxCPM: value}
	for _, d := range durs {
		c.Creatives = append(c.Creatives, campaign.Creative{
			ID: id + "-" + itoa(d), Type: "video", Dur: d, Mimes: []string{"video/mp4"}, Protocol: 3, Markup: "<VAST/>",
		})
	}
	return c
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	s := ""
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}

func testFile(camps ...campaign.Campaign) *campaign.File {
	return &campaign.File{Version: 1, Currency: "USD", Campaigns: camps}
}

func mustCompile(t testing.TB, f *campaign.File, m *campaign.Model) *Snapshot {
	t.Helper()
	s, err := Compile(f, m, NewState(1024), testOptions)
	if err != nil {
		t.Fatalf("cannot compile: %s", err)
	}
	return s
}

// bannerRequest is a site request from a US desktop with one 300x250 imp.
func bannerRequest() *openrtb.Request {
	return &openrtb.Request{
		ID: []byte("req-1"),
		Imps: []openrtb.Imp{{
			ID: []byte("1"), Media: openrtb.MediaBanner,
			Banner: openrtb.Banner{W: 300, H: 250, Formats: []openrtb.Format{{W: 300, H: 250}}},
		}},
		Site:   openrtb.Site{Present: true, Domain: []byte("example.com"), PublisherID: []byte("pub-1")},
		Device: openrtb.Device{Type: 2, OS: []byte("Windows"), Geo: openrtb.Geo{Country: []byte("USA"), Region: []byte("CA"), Metro: []byte("803")}},
		User:   openrtb.User{ID: []byte("user-1")},
	}
}

// videoImp returns a video imp accepting 5-30 s mp4 over VAST 3.
func videoImp(id string) openrtb.Imp {
	return openrtb.Imp{ID: []byte(id), Media: openrtb.MediaVideo, Video: openrtb.Video{
		Mimes: [][]byte{[]byte("video/mp4")}, MinDur: 5, MaxDur: 30, Protocols: []int{2, 3}, Plcmt: 1,
	}}
}

func ctvRequest(imps ...openrtb.Imp) *openrtb.Request {
	return &openrtb.Request{
		ID:     []byte("ctv-1"),
		Imps:   imps,
		App:    openrtb.App{Present: true, Bundle: []byte("com.example.tv"), PublisherID: []byte("pub-2")},
		Device: openrtb.Device{Type: 3, OS: []byte("Roku"), IFA: []byte("ifa-1"), Geo: openrtb.Geo{Country: []byte("USA")}},
	}
}

// decide runs s on req at now with a fresh Ctx and trace. The Ctx is not
// from the pool: the bid ids in the response live in it, and a pooled one
// released here could be reused by a parallel test while the caller still
// reads them (the race detector caught TestResponseFields doing so).
func decide(s *Snapshot, req *openrtb.Request, now time.Time) (Reason, *openrtb.Response, *Trace) {
	c := &Ctx{Trace: &Trace{}}
	resp := &openrtb.Response{}
	r := s.Decide(c, req, now, resp)
	return r, resp, c.Trace
}

// traceFilter returns the filter the trace recorded for campaign id.
func traceFilter(tr *Trace, id string) string {
	for _, e := range tr.Campaigns {
		if e.Campaign == id && e.Filter != "" {
			return e.Filter
		}
	}
	return ""
}

func xxhashString(s string) uint64 { return xxhash.Sum64String(s) }

var timeNow = time.Now

func campaignBudget(daily, total float64, pacing string) campaign.Budget {
	return campaign.Budget{Daily: daily, Total: total, Pacing: pacing}
}

// parseRequests parses generated request bodies; the Requests keep the
// bodies alive.
func parseRequests(t testing.TB, bodies [][]byte) []*openrtb.Request {
	t.Helper()
	var out []*openrtb.Request
	for i, b := range bodies {
		r := &openrtb.Request{}
		if err := r.Parse(b); err != nil {
			t.Fatalf("cannot parse generated request %d: %s", i, err)
		}
		out = append(out, r)
	}
	return out
}
