package decision

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

// TestTargetingDimensions checks every dimension both ways: a campaign
// constrained on it bids when the request has a listed value and does not
// (with the trace naming the dimension) when it has another.
func TestTargetingDimensions(t *testing.T) {
	t.Parallel()
	f := func(name string, camp func(c *campaign.Campaign), req func(r *openrtb.Request), wantFilter string) {
		t.Helper()
		c := bannerCampaign("c1", 5)
		camp(&c)
		s := mustCompile(t, testFile(c), nil)
		r := bannerRequest()
		req(r)
		reason, resp, tr := decide(s, r, testNow)
		if wantFilter == "" {
			if reason != ReasonBid || len(resp.Bids) != 1 {
				t.Fatalf("%s: got reason %s with %d bids; want one bid; trace %+v", name, reason, len(resp.Bids), tr.Campaigns)
			}
			return
		}
		if reason == ReasonBid {
			t.Fatalf("%s: got a bid; want none (filter %s)", name, wantFilter)
		}
		if got := traceFilter(tr, "c1"); got != wantFilter {
			t.Fatalf("%s: trace filter %q; want %q", name, got, wantFilter)
		}
	}
	noop := func(*openrtb.Request) {}
	f("no targeting", func(*campaign.Campaign) {}, noop, "")

	f("device type match", func(c *campaign.Campaign) { c.Targeting.DeviceTypes = []int{2, 4} }, noop, "")
	f("device type miss", func(c *campaign.Campaign) { c.Targeting.DeviceTypes = []int{3} }, noop, "device_type")
	f("os match any case", func(c *campaign.Campaign) { c.Targeting.OS = []string{"windows"} }, noop, "")
	f("os miss", func(c *campaign.Campaign) { c.Targeting.OS = []string{"iOS"} }, noop, "os")
	f("country match", func(c *campaign.Campaign) { c.Targeting.Countries = []string{"GBR", "USA"} }, noop, "")
	f("country miss", func(c *campaign.Campaign) { c.Targeting.Countries = []string{"GBR"} }, noop, "country")
	f("country absent", func(c *campaign.Campaign) { c.Targeting.Countries = []string{"USA"} },
		func(r *openrtb.Request) { r.Device.Geo.Country = nil }, "country")
	f("region match", func(c *campaign.Campaign) { c.Targeting.Regions = []string{"CA"} }, noop, "")
	f("region miss", func(c *campaign.Campaign) { c.Targeting.Regions = []string{"NY"} }, noop, "region")
	f("metro match", func(c *campaign.Campaign) { c.Targeting.Metros = []string{"803"} }, noop, "")
	f("metro miss", func(c *campaign.Campaign) { c.Targeting.Metros = []string{"501"} }, noop, "metro")
	f("site domain match", func(c *campaign.Campaign) { c.Targeting.SiteDomains = []string{"Example.com"} }, noop, "")
	f("site domain miss", func(c *campaign.Campaign) { c.Targeting.SiteDomains = []string{"other.com"} }, noop, "inventory")
	f("site list excludes apps", func(c *campaign.Campaign) { c.Targeting.SiteDomains = []string{"example.com"} },
		func(r *openrtb.Request) {
			r.Site = openrtb.Site{}
			r.App = openrtb.App{Present: true, Bundle: []byte("example.com")}
		}, "inventory")
	f("app bundle match", func(c *campaign.Campaign) { c.Targeting.AppBundles = []string{"com.tv"} },
		func(r *openrtb.Request) {
			r.Site = openrtb.Site{}
			r.App = openrtb.App{Present: true, Bundle: []byte("com.tv")}
		}, "")
	f("app bundle miss", func(c *campaign.Campaign) { c.Targeting.AppBundles = []string{"com.tv"} }, noop, "inventory")
	f("block site domain", func(c *campaign.Campaign) { c.Targeting.BlockSiteDomains = []string{"example.com"} }, noop, "block_inventory")
	f("block other site", func(c *campaign.Campaign) { c.Targeting.BlockSiteDomains = []string{"other.com"} }, noop, "")
	// A listed domain covers its subdomains, and a site without a domain
	// is known by its page's host (the protocol audit: block lists let
	// www.example.com, and every Prebid Server request without
	// site.domain, through).
	domain := func(d string) func(*openrtb.Request) {
		return func(r *openrtb.Request) { r.Site.Domain = []byte(d) }
	}
	page := func(u string) func(*openrtb.Request) {
		return func(r *openrtb.Request) { r.Site.Domain, r.Site.Page = nil, []byte(u) }
	}
	f("site subdomain match", func(c *campaign.Campaign) { c.Targeting.SiteDomains = []string{"example.com"} }, domain("www.example.com"), "")
	f("site subdomain miss", func(c *campaign.Campaign) { c.Targeting.SiteDomains = []string{"www.example.com"} }, domain("example.com"), "inventory")
	f("site suffix not at a dot", func(c *campaign.Campaign) { c.Targeting.SiteDomains = []string{"ample.com"} }, noop, "inventory")
	f("block site subdomain", func(c *campaign.Campaign) { c.Targeting.BlockSiteDomains = []string{"example.com"} }, domain("m.News.Example.com."), "block_inventory")
	f("block site suffix not at a dot", func(c *campaign.Campaign) { c.Targeting.BlockSiteDomains = []string{"ample.com"} }, noop, "")
	f("block site by page", func(c *campaign.Campaign) { c.Targeting.BlockSiteDomains = []string{"prebid.org"} }, page("https://prebid.org/x"), "block_inventory")
	f("site page match", func(c *campaign.Campaign) { c.Targeting.SiteDomains = []string{"prebid.org"} }, page("https://user@www.prebid.org:8443/a?b#c"), "")
	f("site page miss", func(c *campaign.Campaign) { c.Targeting.SiteDomains = []string{"prebid.org"} }, page("https://evil.example/prebid.org"), "inventory")
	f("site listed as a URL", func(c *campaign.Campaign) { c.Targeting.SiteDomains = []string{"https://Example.com/"} }, noop, "")
	// A "//" past the host is no scheme's (the commit review: a page
	// whose query named another site dodged the block list).
	f("block site by a page with a URL in its query", func(c *campaign.Campaign) { c.Targeting.BlockSiteDomains = []string{"blocked.com"} },
		page("www.blocked.com/article?ref=https://news.example.org/"), "block_inventory")
	f("block app bundle", func(c *campaign.Campaign) { c.Targeting.BlockAppBundles = []string{"com.tv"} },
		func(r *openrtb.Request) {
			r.Site = openrtb.Site{}
			r.App = openrtb.App{Present: true, Bundle: []byte("com.tv")}
		}, "block_inventory")
	f("publisher match", func(c *campaign.Campaign) { c.Targeting.Publishers = []string{"pub-1"} }, noop, "")
	f("publisher miss", func(c *campaign.Campaign) { c.Targeting.Publishers = []string{"pub-9"} }, noop, "publisher")
	f("segment match", func(c *campaign.Campaign) { c.Targeting.Segments = []string{"s2"} },
		func(r *openrtb.Request) { r.User.Segments = [][]byte{[]byte("s1"), []byte("s2")} }, "")
	f("segment miss", func(c *campaign.Campaign) { c.Targeting.Segments = []string{"s2"} },
		func(r *openrtb.Request) { r.User.Segments = [][]byte{[]byte("s1")} }, "segment")
	f("hour match", func(c *campaign.Campaign) { c.Targeting.Hours = []int{5, 6} }, noop, "")
	f("hour miss", func(c *campaign.Campaign) { c.Targeting.Hours = []int{7} }, noop, "hour")
	f("weekday match", func(c *campaign.Campaign) { c.Targeting.Weekdays = []int{3} }, noop, "") // Wednesday
	f("weekday miss", func(c *campaign.Campaign) { c.Targeting.Weekdays = []int{0, 6} }, noop, "weekday")
	// The viewer's time: 06:00 on Wednesday in UTC is 23:00 on Tuesday at
	// UTC-7 and 11:30 at UTC+5:30.
	offset := func(min int) func(r *openrtb.Request) {
		return func(r *openrtb.Request) { r.Device.Geo.UTCOffset, r.Device.Geo.HasUTCOffset = min, true }
	}
	f("local hour match", func(c *campaign.Campaign) { c.Targeting.LocalHours = []int{23} }, offset(-420), "")
	f("local hour miss", func(c *campaign.Campaign) { c.Targeting.LocalHours = []int{6} }, offset(-420), "local_hour")
	f("local hour at UTC", func(c *campaign.Campaign) { c.Targeting.LocalHours = []int{6} }, offset(0), "")
	f("local hour half", func(c *campaign.Campaign) { c.Targeting.LocalHours = []int{11} }, offset(330), "")
	f("local hour unknown", func(c *campaign.Campaign) { c.Targeting.LocalHours = []int{6} }, noop, "local_hour")
	f("local weekday match", func(c *campaign.Campaign) { c.Targeting.LocalWeekdays = []int{2} }, offset(-420), "")
	f("local weekday miss", func(c *campaign.Campaign) { c.Targeting.LocalWeekdays = []int{3} }, offset(-420), "local_weekday")
	f("local weekday unknown", func(c *campaign.Campaign) { c.Targeting.LocalWeekdays = []int{3} }, noop, "local_weekday")
	f("media miss", func(c *campaign.Campaign) { *c = videoCampaign("c1", "a.com", "IAB1", 5, 15) }, noop, "media")
	f("banner size miss", func(c *campaign.Campaign) { c.Creatives[0].W, c.Creatives[0].H = 728, 90 }, noop, "banner_size")
	f("banner size in formats", func(c *campaign.Campaign) { c.Creatives[0].W, c.Creatives[0].H = 728, 90 },
		func(r *openrtb.Request) {
			r.Imps[0].Banner.Formats = append(r.Imps[0].Banner.Formats, openrtb.Format{W: 728, H: 90})
		}, "")
	f("deals only without deal", func(c *campaign.Campaign) { c.Deals, c.DealsOnly = []string{"d1"}, true }, noop, "deal")
	f("deals only with deal", func(c *campaign.Campaign) { c.Deals, c.DealsOnly = []string{"d1"}, true },
		func(r *openrtb.Request) { r.Imps[0].PMP.Deals = []openrtb.Deal{{ID: []byte("d1")}} }, "")
	f("private auction without campaign deal", func(*campaign.Campaign) {},
		func(r *openrtb.Request) {
			r.Imps[0].PMP = openrtb.PMP{PrivateAuction: 1, Deals: []openrtb.Deal{{ID: []byte("d1")}}}
		}, "deal")
	f("deal wseat excludes", func(c *campaign.Campaign) { c.Deals, c.DealsOnly, c.Seat = []string{"d1"}, true, "s1" },
		func(r *openrtb.Request) {
			r.Imps[0].PMP.Deals = []openrtb.Deal{{ID: []byte("d1"), WSeat: [][]byte{[]byte("s2")}}}
		}, "deal_seat")
}

// TestBlockLists checks the request's block lists against campaigns and
// creatives.
func TestBlockLists(t *testing.T) {
	t.Parallel()
	f := func(name string, camp func(c *campaign.Campaign), req func(r *openrtb.Request), wantFilter string, want Reason) {
		t.Helper()
		c := bannerCampaign("c1", 5)
		camp(&c)
		s := mustCompile(t, testFile(c), nil)
		r := bannerRequest()
		req(r)
		reason, _, tr := decide(s, r, testNow)
		if reason != want {
			t.Fatalf("%s: reason %s; want %s", name, reason, want)
		}
		if got := traceFilter(tr, "c1"); got != wantFilter {
			t.Fatalf("%s: trace filter %q; want %q", name, got, wantFilter)
		}
	}
	none := func(*campaign.Campaign) {}
	bs := func(v ...string) [][]byte {
		var out [][]byte
		for _, s := range v {
			out = append(out, []byte(s))
		}
		return out
	}
	f("bcat", none, func(r *openrtb.Request) { r.BCat = bs("IAB9", "IAB1") }, "bcat", ReasonBlocked)
	f("bcat other", none, func(r *openrtb.Request) { r.BCat = bs("IAB9") }, "", ReasonBid)
	// A tier-1 code covers its tier-2 codes, not the other way round.
	tier2 := func(c *campaign.Campaign) { c.Cat = []string{"IAB9-30", "IAB14-1"} }
	f("bcat tier 1", tier2, func(r *openrtb.Request) { r.BCat = bs("IAB26", "IAB14") }, "bcat", ReasonBlocked)
	f("bcat other tier 1", tier2, func(r *openrtb.Request) { r.BCat = bs("IAB1", "IAB10", "IAB9-3") }, "", ReasonBid)
	f("bcat tier 2", func(c *campaign.Campaign) { c.Cat = []string{"IAB14"} }, func(r *openrtb.Request) { r.BCat = bs("IAB14-1") }, "", ReasonBid)
	f("bcat, not a tier-2 code", func(c *campaign.Campaign) { c.Cat = []string{"IAB14-x", "IAB-12", "IAB14-"} }, func(r *openrtb.Request) { r.BCat = bs("IAB14", "IAB") }, "", ReasonBid)
	f("acat tier 1", tier2, func(r *openrtb.Request) { r.ACat = bs("IAB9") }, "", ReasonBid)
	f("bcat tier 1 in another taxonomy", tier2, func(r *openrtb.Request) { r.CatTax, r.BCat = 2, bs("IAB14") }, "", ReasonBid)
	f("bcat tier 1 of a code in another taxonomy", func(c *campaign.Campaign) {
		c.Cat, c.Categories = nil, []campaign.Categories{{CatTax: 2, Cat: []string{"IAB14-1"}}}
	}, func(r *openrtb.Request) { r.CatTax, r.BCat = 2, bs("IAB14") }, "", ReasonBid)
	f("acat", none, func(r *openrtb.Request) { r.ACat = bs("IAB9", "IAB1") }, "", ReasonBid)
	f("acat other", none, func(r *openrtb.Request) { r.ACat = bs("IAB9") }, "acat", ReasonBlocked)
	f("acat, no category", func(c *campaign.Campaign) { c.Cat = nil }, func(r *openrtb.Request) { r.ACat = bs("IAB1") }, "acat", ReasonBlocked)
	f("badv any case", none, func(r *openrtb.Request) { r.BAdv = bs("C1.example") }, "badv", ReasonBlocked)
	f("bapp by adomain", none, func(r *openrtb.Request) { r.BApp = bs("c1.example") }, "bapp", ReasonBlocked)
	app := func(c *campaign.Campaign) { c.Bundle = "com.example.Game" }
	f("bapp by bundle", app, func(r *openrtb.Request) { r.BApp = bs("com.other", "COM.example.game") }, "bapp", ReasonBlocked)
	f("bapp other", app, func(r *openrtb.Request) { r.BApp = bs("com.example.game2") }, "", ReasonBid)
	f("bseat", func(c *campaign.Campaign) { c.Seat = "s1" }, func(r *openrtb.Request) { r.BSeat = bs("s1") }, "bseat", ReasonBlocked)
	f("wseat miss", func(c *campaign.Campaign) { c.Seat = "s1" }, func(r *openrtb.Request) { r.WSeat = bs("s2") }, "wseat", ReasonBlocked)
	f("wseat match", func(c *campaign.Campaign) { c.Seat = "s1" }, func(r *openrtb.Request) { r.WSeat = bs("s2", "s1") }, "", ReasonBid)
	f("wseat, no seat", none, func(r *openrtb.Request) { r.WSeat = bs("s2", "s1") }, "wseat", ReasonBlocked)
	f("bseat, no seat", none, func(r *openrtb.Request) { r.BSeat = bs("s2", "s1") }, "", ReasonBid)
	f("battr", func(c *campaign.Campaign) { c.Creatives[0].Attr = []int{3} },
		func(r *openrtb.Request) { r.Imps[0].Banner.BAttr = []int{1, 3} }, "battr", ReasonBlocked)
	// banner.btype: the creative's types, from its markup unless said.
	script := func(c *campaign.Campaign) { c.Creatives[0].Markup = `<script src="https://ad.example/a.js"></script>` }
	f("btype script", script, func(r *openrtb.Request) { r.Imps[0].Banner.BType = []int{4, 3} }, "btype", ReasonBlocked)
	f("btype script, iframe blocked", script, func(r *openrtb.Request) { r.Imps[0].Banner.BType = []int{4} }, "", ReasonBid)
	f("btype said", func(c *campaign.Campaign) { c.Creatives[0].BType = []int{4} },
		func(r *openrtb.Request) { r.Imps[0].Banner.BType = []int{4} }, "btype", ReasonBlocked)
	f("btype text", none, func(r *openrtb.Request) { r.Imps[0].Banner.BType = []int{1} }, "btype", ReasonBlocked)
	f("wlang miss", func(c *campaign.Campaign) { c.Creatives[0].Lang = "en" },
		func(r *openrtb.Request) { r.WLang = bs("de") }, "wlang", ReasonBlocked)
	f("wlang match", func(c *campaign.Campaign) { c.Creatives[0].Lang = "en" },
		func(r *openrtb.Request) { r.WLang = bs("de", "EN") }, "", ReasonBid)
	f("wlangb match", func(c *campaign.Campaign) { c.Creatives[0].Lang = "en" },
		func(r *openrtb.Request) { r.WLangB = bs("de-DE", "EN-gb") }, "", ReasonBid)
	f("wlangb miss", func(c *campaign.Campaign) { c.Creatives[0].Lang = "en" },
		func(r *openrtb.Request) { r.WLangB = bs("de", "eng", "e") }, "wlang", ReasonBlocked)
	f("wlangb, creative without lang", none, func(r *openrtb.Request) { r.WLangB = bs("en", "", "-US") }, "wlang", ReasonBlocked)
	f("secure imp, plain creative", none, func(r *openrtb.Request) { r.Imps[0].Secure = 1 }, "secure", ReasonBlocked)
	f("secure imp, secure creative", func(c *campaign.Campaign) { c.Creatives[0].Secure = true },
		func(r *openrtb.Request) { r.Imps[0].Secure = 1 }, "", ReasonBid)
}

// TestBidLanguageField: a bid's language goes out in the request's form:
// bid.langb for a request with wlangb only, else bid.language.
func TestBidLanguageField(t *testing.T) {
	t.Parallel()
	c := bannerCampaign("c1", 5)
	c.Creatives[0].Lang = "en"
	s := mustCompile(t, testFile(c), nil)
	for _, tc := range []struct {
		name          string
		wlang, wlangb []string
		want          string
	}{
		{"no list", nil, nil, `"language":"en"`},
		{"wlang", []string{"en"}, nil, `"language":"en"`},
		{"wlangb", nil, []string{"en-US"}, `"langb":"en"`},
		{"both", []string{"en"}, []string{"en-GB"}, `"language":"en"`},
	} {
		r := bannerRequest()
		for _, l := range tc.wlang {
			r.WLang = append(r.WLang, []byte(l))
		}
		for _, l := range tc.wlangb {
			r.WLangB = append(r.WLangB, []byte(l))
		}
		resp := &openrtb.Response{NBR: -1}
		if reason := s.Decide(&Ctx{}, r, testNow, resp); reason != ReasonBid {
			t.Fatalf("%s: %s; want a bid", tc.name, reason)
		}
		out := string(openrtb.AppendResponse(nil, resp))
		if !strings.Contains(out, tc.want) || strings.Count(out, `"en"`) != 1 {
			t.Fatalf("%s: %s; want %s, once", tc.name, out, tc.want)
		}
	}
}

func TestVideoDimensions(t *testing.T) {
	t.Parallel()
	f := func(name string, camp func(c *campaign.Campaign), imp func(v *openrtb.Video), wantFilter string) {
		t.Helper()
		c := videoCampaign("v1", "v.example", "IAB2", 20, 15)
		camp(&c)
		s := mustCompile(t, testFile(c), nil)
		im := videoImp("1")
		imp(&im.Video)
		reason, resp, tr := decide(s, ctvRequest(im), testNow)
		if wantFilter == "" {
			if reason != ReasonBid || resp.Bids[0].Dur != 15 || resp.Bids[0].MType != 2 {
				t.Fatalf("%s: reason %s, bids %+v; want one 15 s video bid", name, reason, resp.Bids)
			}
			return
		}
		if got := traceFilter(tr, "v1"); reason == ReasonBid || got != wantFilter {
			t.Fatalf("%s: reason %s, filter %q; want no bid by %q", name, reason, got, wantFilter)
		}
	}
	none := func(*campaign.Campaign) {}
	f("fits", none, func(*openrtb.Video) {}, "")
	f("too long", none, func(v *openrtb.Video) { v.MaxDur = 10 }, "video_duration")
	f("too short", none, func(v *openrtb.Video) { v.MinDur = 20 }, "video_duration")
	f("rqddurs exact", none, func(v *openrtb.Video) { v.RqdDurs = []int{15, 30} }, "")
	f("rqddurs miss", none, func(v *openrtb.Video) { v.RqdDurs = []int{10, 30} }, "video_duration")
	f("targeted mime", func(c *campaign.Campaign) { c.Targeting.Mimes = []string{"video/webm"} }, func(*openrtb.Video) {}, "mimes")
	f("creative mime", none, func(v *openrtb.Video) { v.Mimes = [][]byte{[]byte("video/webm")} }, "creative")
	f("targeted protocol", func(c *campaign.Campaign) { c.Targeting.Protocols = []int{7} }, func(*openrtb.Video) {}, "protocols")
	f("creative protocol", none, func(v *openrtb.Video) { v.Protocols = []int{7} }, "creative")
	f("linear slot", none, func(v *openrtb.Video) { v.Linearity = 1 }, "")
	f("non-linear slot", none, func(v *openrtb.Video) { v.Linearity = 2 }, "creative")
	rate := func(c *campaign.Campaign) { c.Creatives[0].Bitrate = 4500 }
	f("bitrate unknown", none, func(v *openrtb.Video) { v.MinBitrate, v.MaxBitrate = 300, 1500 }, "")
	f("bitrate in bounds", rate, func(v *openrtb.Video) { v.MinBitrate, v.MaxBitrate = 4500, 4500 }, "")
	f("bitrate unbounded", rate, func(*openrtb.Video) {}, "")
	f("bitrate over max", rate, func(v *openrtb.Video) { v.MaxBitrate = 4499 }, "creative")
	f("bitrate under min", rate, func(v *openrtb.Video) { v.MinBitrate = 4501 }, "creative")
	f("plcmt match", func(c *campaign.Campaign) { c.Targeting.Plcmt = []int{1} }, func(*openrtb.Video) {}, "")
	f("plcmt miss", func(c *campaign.Campaign) { c.Targeting.Plcmt = []int{3} }, func(*openrtb.Video) {}, "plcmt")
	// A 2.5 request has placement, not plcmt.
	in25 := func(placement int) func(v *openrtb.Video) {
		return func(v *openrtb.Video) { v.Plcmt, v.Placement = 0, placement }
	}
	instream, standalone := func(c *campaign.Campaign) { c.Targeting.Plcmt = []int{1} }, func(c *campaign.Campaign) { c.Targeting.Plcmt = []int{4} }
	f("placement in-stream", instream, in25(1), "")
	f("placement in-article", instream, in25(3), "plcmt")
	f("placement in-banner, standalone", standalone, in25(2), "")
	f("placement in-article, standalone", standalone, in25(3), "")
	f("placement in-feed, standalone", standalone, in25(4), "")
	f("placement floating, standalone", standalone, in25(5), "plcmt")
	f("placement floating, untargeted", none, in25(5), "")
	f("no placement", instream, in25(0), "plcmt")
	f("plcmt over placement", standalone, func(v *openrtb.Video) { v.Plcmt, v.Placement = 1, 3 }, "plcmt")
	f("battr", func(c *campaign.Campaign) { c.Creatives[0].Attr = []int{14} }, func(v *openrtb.Video) { v.BAttr = []int{14} }, "battr")
}

// TestAudioDimensions checks an audio creative against imp.audio, on an
// imp that also offers video with other mimes and blocked attributes:
// each media's own lists apply.
func TestAudioDimensions(t *testing.T) {
	t.Parallel()
	f := func(name string, camp func(c *campaign.Campaign), imp func(a *openrtb.Audio), wantFilter string) {
		t.Helper()
		c := campaign.Campaign{ID: "a1", ADomain: []string{"a.example"}, Cat: []string{"IAB1"}, Value: 4, MaxCPM: 4,
			Creatives: []campaign.Creative{{ID: "a1-15", Type: "audio", Dur: 15, Mimes: []string{"audio/mp4"}, Markup: "<VAST/>"}}}
		camp(&c)
		s := mustCompile(t, testFile(c), nil)
		im := videoImp("1")
		im.Media |= openrtb.MediaAudio
		im.Video.BAttr = []int{6}
		im.Audio = openrtb.Audio{Mimes: [][]byte{[]byte("audio/aac"), []byte("audio/mp4")}, MinDur: 5, MaxDur: 30, Protocols: []int{2, 3}}
		imp(&im.Audio)
		reason, resp, tr := decide(s, ctvRequest(im), testNow)
		if wantFilter == "" {
			if reason != ReasonBid || len(resp.Bids) != 1 || resp.Bids[0].MType != 3 {
				t.Fatalf("%s: reason %s, bids %+v, trace %+v; want one audio bid", name, reason, resp.Bids, tr.Campaigns)
			}
			return
		}
		got := ""
		for _, e := range tr.Campaigns {
			if e.Campaign == "a1" && e.Media == "audio" {
				got = e.Filter
			}
		}
		if reason == ReasonBid || got != wantFilter {
			t.Fatalf("%s: reason %s, audio filter %q; want no bid by %q", name, reason, got, wantFilter)
		}
	}
	none := func(*campaign.Campaign) {}
	f("fits", none, func(*openrtb.Audio) {}, "")
	f("video's battr does not apply", func(c *campaign.Campaign) { c.Creatives[0].Attr = []int{6} }, func(*openrtb.Audio) {}, "")
	f("battr", func(c *campaign.Campaign) { c.Creatives[0].Attr = []int{14} }, func(a *openrtb.Audio) { a.BAttr = []int{13, 14} }, "battr")
	f("mime miss", none, func(a *openrtb.Audio) { a.Mimes = [][]byte{[]byte("audio/ogg")} }, "creative")
	f("too long", none, func(a *openrtb.Audio) { a.MaxDur = 10 }, "audio_duration")
	f("protocol miss", func(c *campaign.Campaign) { c.Creatives[0].Protocol = 7 }, func(*openrtb.Audio) {}, "creative")
}

// TestDSA: a request's DSA signals (regs.ext.dsa) against campaigns with
// and without DSA transparency. Where dsarequired is 2 or 3 only the
// campaigns with it bid; pubrender rules out an adRender: 0 (the publisher
// cannot render) the ads that do not, 2 (it will) the ads that do. A bid
// carries its campaign's transparency as bid.ext.dsa.
func TestDSA(t *testing.T) {
	t.Parallel()
	with1, without, with0 := bannerCampaign("with1", 30), bannerCampaign("without", 20), bannerCampaign("with0", 10)
	with1.DSA = &campaign.DSA{Behalf: "Brand \"B\"", Paid: "Agency", AdRender: 1,
		Transparency: []campaign.DSATransparency{{Domain: "dsa.example", Params: []int{1, 2}}}}
	with0.DSA = &campaign.DSA{Behalf: "Brand 0", Paid: "Brand 0"}
	// with1's creative has no size of its own, so its bids are encoded
	// field by field; with0's from the creative's precompiled fields.
	with1.Creatives[0].W, with1.Creatives[0].H = 0, 0
	s := mustCompile(t, testFile(with1, without, with0), nil)
	f := func(name string, required, pubRender int, want string, wantReason Reason) {
		t.Helper()
		r := bannerRequest()
		r.Regs.DSARequired, r.Regs.DSAPubRender = required, pubRender
		c := AcquireCtx()
		defer ReleaseCtx(c)
		var pruned openrtb.Response
		reason := s.Decide(c, r, testNow, &pruned)
		exhaustive, resp, _ := decide(s, r, testNow)
		got := ""
		if len(resp.Bids) > 0 {
			got = string(resp.Bids[0].CampaignID)
		}
		if reason != wantReason || exhaustive != wantReason || got != want || len(pruned.Bids) != len(resp.Bids) {
			t.Fatalf("%s: reason %s (exhaustive %s), bid %q; want %s, %q", name, reason, exhaustive, got, wantReason, want)
		}
	}
	f("no signals", 0, -1, "with1", ReasonBid)
	f("required", 3, -1, "with1", ReasonBid)
	f("required, publisher cannot render", 2, 0, "with1", ReasonBid)
	f("required, publisher will render", 2, 2, "with0", ReasonBid)
	f("not required, publisher will render", 1, 2, "without", ReasonBid)
	only := mustCompile(t, testFile(without), nil)
	r := bannerRequest()
	r.Regs.DSARequired, r.Regs.DSAPubRender = 3, -1
	if reason, _, tr := decide(only, r, testNow); reason != ReasonBlocked || traceFilter(tr, "without") != "dsa" {
		t.Fatalf("required, no campaign with DSA: reason %s, filter %q; want blocked by dsa", reason, traceFilter(tr, "without"))
	}

	_, resp, _ := decide(s, bannerRequest(), testNow)
	body := string(openrtb.AppendResponse(nil, resp))
	want := `"ext":{"dsa":{"behalf":"Brand \"B\"","paid":"Agency","transparency":[{"domain":"dsa.example","dsaparams":[1,2]}],"adrender":1}}`
	if !strings.Contains(body, want) {
		t.Fatalf("response %s; want the bid to carry %s", body, want)
	}
	r = bannerRequest()
	r.Regs.DSARequired, r.Regs.DSAPubRender = 2, 2
	_, resp0, _ := decide(s, r, testNow)
	if body0, want0 := string(openrtb.AppendResponse(nil, resp0)), `"ext":{"dsa":{"behalf":"Brand 0","paid":"Brand 0","adrender":0}}`; !strings.Contains(body0, want0) {
		t.Fatalf("response %s; want the bid to carry %s", body0, want0)
	}
	var parsed struct {
		SeatBid []struct {
			Bid []struct {
				Ext struct {
					DSA struct{ Behalf, Paid string } `json:"dsa"`
				} `json:"ext"`
			} `json:"bid"`
		} `json:"seatbid"`
	}
	if err := json.Unmarshal([]byte(body), &parsed); err != nil || parsed.SeatBid[0].Bid[0].Ext.DSA.Behalf != `Brand "B"` {
		t.Fatalf("response %s: %v; want valid JSON with the DSA behalf", body, err)
	}
}

// TestAudioBitrate: an audio creative of known bit rate bids only within
// the imp's minbitrate and maxbitrate.
func TestAudioBitrate(t *testing.T) {
	t.Parallel()
	c := audioCampaign("a", "a.com", "IAB1", 20, 15)
	c.Creatives[0].Bitrate = 128
	s := mustCompile(t, testFile(c), nil)
	for _, tc := range []struct {
		lo, hi int
		bid    bool
	}{{0, 0, true}, {64, 128, true}, {64, 96, false}, {192, 0, false}} {
		imp := audioImp("1")
		imp.Audio.MinBitrate, imp.Audio.MaxBitrate = tc.lo, tc.hi
		if r, _, tr := decide(s, ctvRequest(imp), testNow); (r == ReasonBid) != tc.bid || !tc.bid && traceFilter(tr, "a") != "creative" {
			t.Errorf("128 kbps audio, imp bit rates %d-%d: %s (%q); want a bid %v", tc.lo, tc.hi, r, traceFilter(tr, "a"), tc.bid)
		}
	}
}

// TestSiteHost: the host of a site.domain or site.page, as browsers read
// it.
func TestSiteHost(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"example.com":                         "example.com",
		"www.Example.com.":                    "www.Example.com",
		"https://u@www.Example.com.:8443/a?b": "www.Example.com",
		"HTTPS://example.com":                 "example.com",
		"//cdn.example.com/x":                 "cdn.example.com",
		"example.com:8080":                    "example.com",
		"www.blocked.com/article?ref=https://news.example.org/": "www.blocked.com",
		"blocked.com/a//b":             "blocked.com",
		`https://blocked.com\@ok.com/`: "blocked.com",
		"https://ok.com/?u=@evil.com":  "ok.com",
		"2001:db8::1":                  "2001:db8::1",
		"http://[2001:db8::1]:80/":     "[2001:db8::1]",
		"":                             "",
	} {
		if got := string(siteHost([]byte(in))); got != want {
			t.Errorf("siteHost(%q) = %q; want %q", in, got, want)
		}
	}
}
