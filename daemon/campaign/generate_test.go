package campaign

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
)

func TestGenerateValid(t *testing.T) {
	t.Parallel()
	f := func(n int, seed int64) {
		t.Helper()
		file := Generate(n, seed)
		if len(file.Campaigns) != n {
			t.Fatalf("unexpected campaign count; got %d; want %d", len(file.Campaigns), n)
		}
		if err := file.Validate(); err != nil {
			t.Fatalf("Generate(%d, %d) is invalid: %s", n, seed, err)
		}
	}
	f(1, 1)
	f(1000, 1)
	f(1000, 2)
	f(100000, 3)
}

func TestGenerateDeterministic(t *testing.T) {
	t.Parallel()
	a, b := Generate(500, 42), Generate(500, 42)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("Generate is not deterministic for a seed")
	}
	if c := Generate(500, 43); reflect.DeepEqual(a, c) {
		t.Fatalf("Generate ignores the seed")
	}
	if !reflect.DeepEqual(GenerateModel(64, 5), GenerateModel(64, 5)) {
		t.Fatalf("GenerateModel is not deterministic for a seed")
	}
	r1, r2 := GenerateCTVRequests(50, 9), GenerateCTVRequests(50, 9)
	for i := range r1 {
		if !bytes.Equal(r1[i], r2[i]) {
			t.Fatalf("GenerateCTVRequests is not deterministic: request %d differs", i)
		}
	}
}

// TestGenerateMix checks the advertised shares of the generated book.
func TestGenerateMix(t *testing.T) {
	t.Parallel()
	file := Generate(10000, 1)
	var ctv, deals, geo, lists, shortLists int
	for i := range file.Campaigns {
		c := &file.Campaigns[i]
		if slices.Contains(c.Targeting.DeviceTypes, 3) || slices.Contains(c.Targeting.DeviceTypes, 7) {
			ctv++
		}
		if len(c.Deals) > 0 {
			deals++
		}
		if len(c.Targeting.Countries) > 0 {
			geo++
		}
		tg := &c.Targeting
		for _, l := range [][]string{tg.Countries, tg.Regions, tg.Metros, tg.OS, tg.SiteDomains, tg.BlockSiteDomains, tg.AppBundles, tg.BlockAppBundles, tg.Publishers, tg.Segments, c.Deals} {
			if len(l) > 0 {
				lists++
			}
			if len(l) > 0 && len(l) <= 3 {
				shortLists++
			}
		}
	}
	f := func(name string, got, lo, hi int) {
		t.Helper()
		if got < lo || got > hi {
			t.Fatalf("unexpected %s count in 10000 campaigns; got %d; want %d-%d", name, got, lo, hi)
		}
	}
	f("CTV", ctv, 2700, 3300)
	f("deal", deals, 900, 1500)
	f("geo-targeted", geo, 7000, 8000)
	if shortLists*10 < lists*7 {
		t.Fatalf("too many long targeting lists: %d of %d have 1-3 entries; want 70 %%", shortLists, lists)
	}
	m := GenerateModel(4096, 1)
	if err := m.Validate(); err != nil {
		t.Fatalf("GenerateModel is invalid: %s", err)
	}
}

// ctvRequest is what the test reads back from a generated request.
type ctvRequest struct {
	ID  string
	Imp []struct {
		ID          string
		BidFloor    float64
		BidFloorCur string
		Video       *struct {
			Mimes                    []string
			MinDuration, MaxDuration int
			Protocols                []int
			PodID                    string
			PodSeq, SlotInPod        *int
			PodDur, MaxSeq           int
			RqdDurs                  []int
			MinCPMPerSec             float64
		}
		PMP *struct{ Deals []struct{ ID string } }
	}
	App *struct {
		Bundle    string
		Publisher struct{ ID string }
	}
	Device struct {
		DeviceType int
		OS, IFA    string
		Geo        struct{ Country string }
	}
	User struct {
		EIDs []struct {
			Source string
			UIDs   []struct{ ID string }
		}
	}
	Regs   *struct{ COPPA, GDPR int }
	Source struct {
		SChain *struct {
			Complete int
			Nodes    []struct{ ASI, SID string }
		}
	}
}

func TestGenerateCTVRequests(t *testing.T) {
	t.Parallel()
	var dynamic, structured int
	for i, b := range GenerateCTVRequests(300, 1) {
		if len(b) < 1024 || len(b) > 3072 {
			t.Fatalf("request %d is %d bytes; want 1-3 KB", i, len(b))
		}
		var req ctvRequest
		dec := json.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(&req); err != nil {
			t.Fatalf("request %d is not valid JSON: %s\n%s", i, err, b)
		}
		checkCTVRequest(t, i, &req)
		if req.Imp[0].Video.PodDur > 0 {
			dynamic++
		} else {
			structured++
		}
	}
	if dynamic < 60 || structured < 120 {
		t.Fatalf("unexpected pod mix: %d dynamic, %d structured", dynamic, structured)
	}
}

func checkCTVRequest(t *testing.T, i int, req *ctvRequest) {
	t.Helper()
	d := &req.Device
	ok := req.ID != "" && req.App != nil && req.App.Bundle != "" && (d.DeviceType == 3 || d.DeviceType == 7) &&
		d.IFA != "" && slices.Contains([]string{"Roku", "tvOS", "Android"}, d.OS) && len(d.Geo.Country) == 3 &&
		len(req.User.EIDs) > 0 && req.Regs != nil && req.Source.SChain != nil && len(req.Source.SChain.Nodes) > 0
	if !ok {
		t.Fatalf("request %d lacks an expected field: %+v", i, req)
	}
	if n := len(req.Imp); n < 1 || n > 4 {
		t.Fatalf("request %d has %d imps; want 1-4", i, n)
	}
	for _, imp := range req.Imp {
		v := imp.Video
		if v == nil || !slices.Contains(v.Mimes, "video/mp4") || len(v.Protocols) == 0 || v.PodID == "" {
			t.Fatalf("request %d: imp %q lacks video fields: %+v", i, imp.ID, v)
		}
		if imp.BidFloor <= 0 || imp.BidFloorCur != "USD" {
			t.Fatalf("request %d: imp %q has floor %v %q", i, imp.ID, imp.BidFloor, imp.BidFloorCur)
		}
		structured := v.SlotInPod != nil && v.PodSeq != nil && v.PodDur == 0
		dynamic := v.PodDur > 0 && v.MaxSeq > 0 && len(req.Imp) == 1
		if structured == dynamic {
			t.Fatalf("request %d: imp %q is neither a structured nor a dynamic pod: %+v", i, imp.ID, v)
		}
	}
}

// TestGenerateBannerRequests: valid JSON of 1-3 KB, the request size the
// handler's targets are stated for, on sites the campaigns list.
func TestGenerateBannerRequests(t *testing.T) {
	t.Parallel()
	file := Generate(1000, 1)
	sites := map[string]bool{}
	for i := range file.Campaigns {
		for _, d := range file.Campaigns[i].Targeting.SiteDomains {
			sites[d] = true
		}
	}
	if len(sites) == 0 {
		t.Fatal("the generated book lists no sites; the test is too weak")
	}
	for i, b := range GenerateBannerRequests(file, 64) {
		var r struct {
			Site struct{ Domain string }
			Imp  []struct{ Banner struct{ W, H int } }
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("request %d is not valid JSON: %s\n%s", i, err, b)
		}
		if len(b) < 1000 || len(b) > maxRequestSize || !sites[r.Site.Domain] || len(r.Imp) != 1 || r.Imp[0].Banner.W == 0 {
			t.Fatalf("request %d: %d bytes, site %q, imps %+v", i, len(b), r.Site.Domain, r.Imp)
		}
	}
}
