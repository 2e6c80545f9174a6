package decision

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

// TestCategoryTaxonomies checks bcat and acat against the campaigns'
// categories in the request's taxonomy (cattax), and what
// Options.BlockUnknownCategories does with a campaign that has none in it.
func TestCategoryTaxonomies(t *testing.T) {
	t.Parallel()
	// c1 is IAB1 in taxonomy 1 and 483 in taxonomy 6 (Content 2.2).
	c1 := bannerCampaign("c1", 5)
	c1.Categories = []campaign.Categories{{CatTax: 6, Cat: []string{"483"}}}
	f := func(name string, blockUnknown bool, cattax int, bcat, acat []string, wantFilter string) {
		t.Helper()
		opt := testOptions
		opt.BlockUnknownCategories = blockUnknown
		s, err := Compile(testFile(c1), nil, NewState(1024), opt)
		if err != nil {
			t.Fatal(err)
		}
		r := bannerRequest()
		r.CatTax, r.BCat, r.ACat = cattax, bss(bcat), bss(acat)
		reason, _, tr := decide(s, r, testNow)
		want := ReasonBid
		if wantFilter != "" {
			want = ReasonBlocked
		}
		if reason != want {
			t.Fatalf("%s: reason %s; want %s", name, reason, want)
		}
		if got := traceFilter(tr, "c1"); got != wantFilter {
			t.Fatalf("%s: trace filter %q; want %q", name, got, wantFilter)
		}
	}
	iab1, c483 := []string{"IAB9", "IAB1"}, []string{"483"}
	f("taxonomy 1 by default", false, 0, iab1, nil, "bcat")
	f("taxonomy 1", false, 1, iab1, nil, "bcat")
	f("IAB1 is not a category of taxonomy 6", false, 6, iab1, nil, "")
	f("taxonomy 6", false, 6, c483, nil, "bcat")
	f("483 is not a category of taxonomy 1", false, 0, c483, nil, "")
	f("no category in taxonomy 7: bid", false, 7, c483, nil, "")
	f("no category in taxonomy 7: blocked", true, 7, c483, nil, "bcat_taxonomy")
	f("no category in taxonomy 7, nothing blocked", true, 7, nil, nil, "")
	f("categories in taxonomy 6, none blocked", true, 6, []string{"999"}, nil, "")
	f("acat in taxonomy 6", false, 6, nil, c483, "")
	f("acat in taxonomy 6 without the category", false, 6, nil, iab1, "acat")
	f("acat in taxonomy 7", false, 7, nil, c483, "acat")

	// Without any category, a campaign is blocked by any bcat only with
	// BlockUnknownCategories.
	c1.Cat, c1.Categories = nil, nil
	f("no category at all", false, 0, iab1, nil, "")
	f("no category at all, blocked", true, 0, iab1, nil, "bcat_taxonomy")
}

// TestBidCategories checks the categories a bid carries: those of the
// request's taxonomy when the campaign has them, else its default ones,
// with bid.cattax naming any taxonomy but 1; the other fields stay what
// the creative's pre-encoded ones say.
func TestBidCategories(t *testing.T) {
	t.Parallel()
	both := bannerCampaign("both", 5) // IAB1 and, in taxonomy 6, 483
	both.Categories = []campaign.Categories{{CatTax: 6, Cat: []string{"483", "484"}}}
	only7 := bannerCampaign("only7", 5)
	only7.Cat, only7.Categories = nil, []campaign.Categories{{CatTax: 7, Cat: []string{"JLBCU7"}}}
	type bidJSON struct {
		ADomain []string `json:"adomain"`
		CrID    string   `json:"crid"`
		Cat     []string `json:"cat"`
		CatTax  int      `json:"cattax"`
		W       int      `json:"w"`
		AdM     string   `json:"adm"`
	}
	f := func(c campaign.Campaign, cattax int, wantCat []string, wantTax int, wantStatic bool) {
		t.Helper()
		s := mustCompile(t, testFile(c), nil)
		r := bannerRequest()
		r.CatTax = cattax
		resp := &openrtb.Response{NBR: -1}
		if reason := s.Decide(&Ctx{}, r, testNow, resp); reason != ReasonBid || len(resp.Bids) != 1 {
			t.Fatalf("%s, cattax %d: %s, %d bids; want one bid", c.ID, cattax, reason, len(resp.Bids))
		}
		b := &resp.Bids[0]
		if static := len(b.Static) > 0; static != wantStatic {
			t.Fatalf("%s, cattax %d: encoded from its static part %v; want %v", c.ID, cattax, static, wantStatic)
		}
		var d struct {
			SeatBid []struct{ Bid []bidJSON } `json:"seatbid"`
		}
		out := openrtb.AppendResponse(nil, resp)
		if err := json.Unmarshal(out, &d); err != nil {
			t.Fatalf("%s: cannot decode %s: %s", c.ID, out, err)
		}
		got := d.SeatBid[0].Bid[0]
		want := bidJSON{ADomain: c.ADomain, CrID: c.Creatives[0].ID, Cat: wantCat, CatTax: wantTax, W: 300, AdM: c.Creatives[0].Markup}
		if !slices.Equal(got.Cat, want.Cat) || got.CatTax != want.CatTax || !slices.Equal(got.ADomain, want.ADomain) ||
			got.CrID != want.CrID || got.W != want.W || got.AdM != want.AdM {
			t.Fatalf("%s, cattax %d: bid %+v; want %+v", c.ID, cattax, got, want)
		}
		if wantTax == 0 && strings.Contains(string(out), "cattax") {
			t.Fatalf("%s, cattax %d: %s has a cattax", c.ID, cattax, out)
		}
	}
	f(both, 0, []string{"IAB1"}, 0, true)
	f(both, 1, []string{"IAB1"}, 0, true)
	f(both, 6, []string{"483", "484"}, 6, false)
	f(both, 7, []string{"IAB1"}, 0, true) // none in 7: its default
	f(only7, 0, []string{"JLBCU7"}, 7, true)
	f(only7, 7, []string{"JLBCU7"}, 7, true)
}

// TestPodCategoriesByTaxonomy checks that two ads of one pod share no
// category in any taxonomy, and that the same string in two taxonomies is
// not a shared category.
func TestPodCategoriesByTaxonomy(t *testing.T) {
	t.Parallel()
	cat6 := func(c campaign.Campaign, v string) campaign.Campaign {
		c.Categories = []campaign.Categories{{CatTax: 6, Cat: []string{v}}}
		return c
	}
	f := func(name string, b campaign.Campaign, want []string) {
		t.Helper()
		s := mustCompile(t, testFile(cat6(videoCampaign("a", "a.com", "IAB1", 40, 15), "483"), b), nil)
		var imps []openrtb.Imp
		for i, id := range []string{"s1", "s2"} {
			imp := videoImp(id)
			imp.Video.PodID, imp.Video.SlotInPod = []byte("pod-1"), []int{1, -1}[i]
			imps = append(imps, imp)
		}
		_, resp, _ := decide(s, ctvRequest(imps...), testNow)
		var got []string
		for _, bid := range resp.Bids {
			got = append(got, string(bid.CampaignID))
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("%s: pod of %v; want %v", name, got, want)
		}
	}
	f("shared category of taxonomy 6", cat6(videoCampaign("b", "b.com", "IAB2", 30, 15), "483"), []string{"a"})
	f("different categories", cat6(videoCampaign("b", "b.com", "IAB2", 30, 15), "484"), []string{"a", "b"})
	f("483 in taxonomy 1 is not 483 in 6", videoCampaign("b", "b.com", "483", 30, 15), []string{"a", "b"})
}
