package campaign

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
)

// validFile returns a small valid file: a banner campaign and a CTV video
// campaign.
func validFile() *File {
	return &File{Version: 1, Currency: "USD", Campaigns: []Campaign{
		{
			ID: "banner-1", ADomain: []string{"acme.com"}, Value: 2, MaxCPM: 3,
			Targeting: Targeting{Media: []string{"banner"}},
			Creatives: []Creative{{ID: "b1", Type: "banner", W: 300, H: 250, Markup: "<img>"}},
		},
		{
			ID: "ctv-1", ADomain: []string{"tv.com"}, Value: 20, MaxCPM: 15,
			Cat: []string{"IAB1-5"}, Categories: []Categories{{CatTax: 6, Cat: []string{"640"}}, {CatTax: 500, Cat: []string{"tv"}}},
			Targeting: Targeting{Media: []string{"video"}, DeviceTypes: []int{3, 7}},
			Creatives: []Creative{{ID: "v1", Type: "video", Dur: 30, Mimes: []string{"video/mp4"}, Markup: "<VAST/>"}},
		},
	}}
}

func TestValidateCampaigns(t *testing.T) {
	t.Parallel()
	f := func(mutate func(f *File), wants ...string) {
		t.Helper()
		file := validFile()
		mutate(file)
		b, err := json.Marshal(file)
		if err != nil {
			t.Fatalf("cannot marshal test file: %s", err)
		}
		_, err = ParseCampaigns(b)
		if err == nil {
			t.Fatalf("expecting an error containing %q", wants)
		}
		for _, want := range wants {
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("unexpected error; got\n%s\nwant it to contain %q", err, want)
			}
		}
	}
	ctv := func(f *File) *Campaign { return &f.Campaigns[1] }
	cr := func(f *File) *Creative { return &f.Campaigns[1].Creatives[0] }

	// File level.
	f(func(f *File) { f.Version = 2 }, "campaigns.json: version: unsupported version 2")
	f(func(f *File) { f.Currency = "usd" }, "campaigns.json: currency: \"usd\"")
	f(func(f *File) { f.Campaigns[1].ID = "banner-1" }, `campaigns[1]: campaign "banner-1": id: duplicate of campaigns[0]`)
	f(func(f *File) { ctv(f).ID = "bad id" }, `campaigns[1]: id: "bad id" must be 1-64 bytes`)
	f(func(f *File) { ctv(f).ID = strings.Repeat("x", 65) }, "campaigns[1]: id:")
	f(func(f *File) { ctv(f).ID = "" }, `campaigns[1]: id: "" must be`)

	// Advertiser and price.
	f(func(f *File) { ctv(f).ADomain = nil }, `campaign "ctv-1": adomain: at least one`)
	f(func(f *File) { ctv(f).ADomain = []string{"a.com", ""} }, `campaign "ctv-1": adomain[1]: is empty`)
	f(func(f *File) { ctv(f).Bundle = "com.example game" }, `campaign "ctv-1": bundle: "com.example game" must be at most 255 bytes without spaces`)
	f(func(f *File) { ctv(f).Bundle = strings.Repeat("a", 256) }, `campaign "ctv-1": bundle:`)
	f(func(f *File) { ctv(f).Cat = []string{""} }, `campaign "ctv-1": cat[0]: is empty`)
	f(func(f *File) { ctv(f).Categories = []Categories{{CatTax: 1, Cat: []string{"IAB1"}}} },
		`campaign "ctv-1": categories[0].cattax: taxonomy 1 (IAB Content Category Taxonomy 1.0) goes in cat`)
	f(func(f *File) { ctv(f).Categories = []Categories{{CatTax: 0, Cat: []string{"1"}}} },
		`campaign "ctv-1": categories[0].cattax: 0 must be a category taxonomy id in [2, 65535]`)
	f(func(f *File) { ctv(f).Categories = []Categories{{CatTax: 65536, Cat: []string{"1"}}} }, `categories[0].cattax: 65536 must be`)
	f(func(f *File) {
		ctv(f).Categories = []Categories{{CatTax: 6, Cat: []string{"1"}}, {CatTax: 7, Cat: []string{"2"}}, {CatTax: 6, Cat: []string{"3"}}}
	},
		`campaign "ctv-1": categories[2].cattax: taxonomy 6 is listed twice`)
	f(func(f *File) { ctv(f).Categories = []Categories{{CatTax: 6}} }, `campaign "ctv-1": categories[0].cat: at least one category is required`)
	f(func(f *File) { ctv(f).Categories = []Categories{{CatTax: 6, Cat: []string{"483", ""}}} }, `campaign "ctv-1": categories[0].cat[1]: is empty`)
	f(func(f *File) { ctv(f).Value = -1 }, `campaign "ctv-1": value: -1 must be`)
	f(func(f *File) { ctv(f).Value = 0 }, `campaign "ctv-1": value: 0 must be a finite number > 0`)
	f(func(f *File) { ctv(f).MaxCPM = 0 }, `campaign "ctv-1": maxCpm: 0 must be > 0`)
	f(func(f *File) { ctv(f).MaxCPM = 1001 }, `campaign "ctv-1": maxCpm: 1001 must be > 0 and <= 1000`)

	// Budget, pacing, frequency caps, deals.
	f(func(f *File) { ctv(f).Budget.Daily = -5 }, `campaign "ctv-1": budget.daily: -5`)
	f(func(f *File) { ctv(f).Budget.Total = -1 }, `campaign "ctv-1": budget.total: -1`)
	f(func(f *File) { ctv(f).Budget.Daily = 1e13 }, `campaign "ctv-1": budget.daily: 1e+13 must be 0 (none) or from 1e-06 to 1e+12`)
	f(func(f *File) { ctv(f).Budget.Total = 1e-7 }, `campaign "ctv-1": budget.total: 1e-07 must be 0 (none) or from 1e-06 to 1e+12`)
	f(func(f *File) { ctv(f).Budget.Pacing = "fast" }, `campaign "ctv-1": budget.pacing: unknown pacing "fast"`)
	f(func(f *File) { ctv(f).Flight = &Flight{Start: "2026-12-01"} },
		`campaign "ctv-1": flight.start: "2026-12-01" is not an RFC 3339 time such as "2026-12-01T00:00:00Z"`)
	f(func(f *File) { ctv(f).Flight = &Flight{End: "tomorrow"} }, `campaign "ctv-1": flight.end: "tomorrow" is not an RFC 3339 time`)
	f(func(f *File) { ctv(f).Flight = &Flight{Start: "1970-01-01T00:00:00Z"} }, `campaign "ctv-1": flight.start: "1970-01-01T00:00:00Z" is not after 1970`)
	f(func(f *File) {
		ctv(f).Flight = &Flight{Start: "2026-12-01T00:00:00Z", End: "2026-11-30T23:00:00-01:00"}
	},
		`campaign "ctv-1": flight.end: 2026-11-30T23:00:00-01:00 is not after flight.start 2026-12-01T00:00:00Z`)
	f(func(f *File) { ctv(f).FreqCap.Max = -1 }, `campaign "ctv-1": freqCap.max: -1 must be from 0 (none) to 4095`)
	f(func(f *File) { ctv(f).FreqCap.Max, ctv(f).FreqCap.WindowSeconds = 4096, 60 }, `campaign "ctv-1": freqCap.max: 4096 must be from 0 (none) to 4095`)
	f(func(f *File) { ctv(f).FreqCap.Max = 3 }, `campaign "ctv-1": freqCap.windowSeconds: must be > 0 when freqCap.max is set`)
	f(func(f *File) { ctv(f).FreqCap = FreqCap{Max: 3, WindowSeconds: 31 * 86400} }, `campaign "ctv-1": freqCap.windowSeconds: 2678400 must be in [0, 2592000]`)
	f(func(f *File) { ctv(f).DealsOnly = true }, `campaign "ctv-1": dealsOnly: is true but deals is empty`)
	f(func(f *File) { ctv(f).Deals = []string{""} }, `campaign "ctv-1": deals[0]: is empty`)

	// Targeting.
	f(func(f *File) { ctv(f).Targeting.Media = []string{"video", "tv"} }, `campaign "ctv-1": targeting.media[1]: unknown media type "tv"`)
	f(func(f *File) { ctv(f).Targeting.DeviceTypes = []int{3, 7, 12} }, `campaigns.json: campaign "ctv-1": targeting.deviceTypes[2]: unknown device type 12`)
	f(func(f *File) { ctv(f).Targeting.DeviceTypes = []int{0} }, `targeting.deviceTypes[0]: unknown device type 0`)
	f(func(f *File) { ctv(f).Targeting.Hours = []int{23, 24} }, `campaign "ctv-1": targeting.hours[1]: unknown hour 24`)
	f(func(f *File) { ctv(f).Targeting.LocalHours = []int{-1} }, `campaign "ctv-1": targeting.localHours[0]: unknown hour -1`)
	f(func(f *File) { ctv(f).Targeting.LocalWeekdays = []int{7} }, `campaign "ctv-1": targeting.localWeekdays[0]: unknown weekday 7`)
	f(func(f *File) { ctv(f).Targeting.Hours = []int{-1} }, `targeting.hours[0]: unknown hour -1`)
	f(func(f *File) { ctv(f).Targeting.Weekdays = []int{7} }, `campaign "ctv-1": targeting.weekdays[0]: unknown weekday 7`)
	f(func(f *File) { ctv(f).Targeting.Protocols = []int{17} }, `campaign "ctv-1": targeting.protocols[0]: unknown protocol 17`)
	f(func(f *File) { ctv(f).Targeting.Protocols = []int{13, 499} }, `campaign "ctv-1": targeting.protocols[1]: unknown protocol 499`)
	f(func(f *File) { ctv(f).Targeting.Protocols = []int{0} }, `campaign "ctv-1": targeting.protocols[0]: unknown protocol 0`)
	f(func(f *File) { cr(f).Bitrate = -1 }, `campaign "ctv-1": creatives[0].bitrate: bitrate -1`)
	f(func(f *File) { f.Campaigns[0].Creatives[0].Bitrate = 1500 }, `creatives[0].bitrate: bitrate 1500: want kbps >= 0, for video and audio only`)
	f(func(f *File) { ctv(f).Targeting.Plcmt = []int{1, 5} }, `campaign "ctv-1": targeting.plcmt[1]: unknown plcmt 5`)
	f(func(f *File) { ctv(f).Targeting.Countries = []string{"US"} }, `campaign "ctv-1": targeting.countries[0]: "US" is not an ISO-3166-1 alpha-3`)
	f(func(f *File) { ctv(f).Targeting.SiteDomains = []string{""} }, `campaign "ctv-1": targeting.siteDomains[0]: is empty`)
	f(func(f *File) { ctv(f).Targeting.Segments = []string{"a", ""} }, `targeting.segments[1]: is empty`)

	// Creatives.
	f(func(f *File) { ctv(f).Creatives = nil }, `campaign "ctv-1": creatives: at least one creative is required`)
	f(func(f *File) { ctv(f).Creatives = append(ctv(f).Creatives, *cr(f)) }, `campaign "ctv-1": creatives[1].id: duplicate of creatives[0] ("v1")`)
	f(func(f *File) { // past 32 creatives, ids are checked with a map
		for i := range 40 {
			c := *cr(f)
			c.ID = fmt.Sprintf("v%d", i+2)
			ctv(f).Creatives = append(ctv(f).Creatives, c)
		}
		c := *cr(f)
		c.ID = "v7"
		ctv(f).Creatives = append(ctv(f).Creatives, c)
	}, `campaign "ctv-1": creatives[41].id: duplicate of creatives[6] ("v7")`)
	f(func(f *File) { cr(f).Dur = 3601 }, `campaign "ctv-1": creatives[0].dur: 3601 seconds: at most 3600`)
	f(func(f *File) { cr(f).Bitrate = 1_000_001 }, `campaign "ctv-1": creatives[0].bitrate: 1000001 kbps: at most 1000000`)
	f(func(f *File) { f.Campaigns[0].Creatives[0].H = 65536 }, `campaign "banner-1": creatives[0].w: 300x65536: w and h are at most 65535 pixels`)
	f(func(f *File) { cr(f).ID = "v 1" }, `campaign "ctv-1": creatives[0].id: "v 1" must be`)
	f(func(f *File) { cr(f).AdID = "a/b" }, `campaign "ctv-1": creatives[0].adid: "a/b"`)
	f(func(f *File) { cr(f).Type = "flash" }, `campaign "ctv-1": creatives[0].type: unknown creative type "flash"`)
	f(func(f *File) { cr(f).Dur = 0 }, `campaign "ctv-1": creatives[0].dur: video needs dur > 0`)
	f(func(f *File) { cr(f).Mimes = nil }, `campaign "ctv-1": creatives[0].mimes: video needs at least one mime type`)
	f(func(f *File) { cr(f).Mimes = []string{"video/mp4", ""} }, `campaign "ctv-1": creatives[0].mimes: has an empty mime type`)
	f(func(f *File) { cr(f).Protocol = 17 }, `campaign "ctv-1": creatives[0].protocol: unknown protocol 17`)
	f(func(f *File) { cr(f).Protocol = -1 }, `campaign "ctv-1": creatives[0].protocol: unknown protocol -1`)
	f(func(f *File) { cr(f).Attr = []int{18} }, `campaign "ctv-1": creatives[0].attr[0]: unknown creative attribute 18`)
	f(func(f *File) { cr(f).BType = []int{3} }, `campaign "ctv-1": creatives[0].btype[0]: banner type 3: want 1 (XHTML text), 2 (XHTML banner), 3 (JavaScript) or 4 (iframe), for banners only`)
	f(func(f *File) { f.Campaigns[0].Creatives[0].BType = []int{2, 5} }, `campaign "banner-1": creatives[0].btype[1]: banner type 5`)
	f(func(f *File) { cr(f).Lang = "eng" }, `campaign "ctv-1": creatives[0].lang: "eng"`)
	f(func(f *File) { cr(f).Lang = "EN" }, `campaign "ctv-1": creatives[0].lang: "EN"`)
	f(func(f *File) { cr(f).Markup = "" }, `campaign "ctv-1": creatives[0].markup: is empty`)
	f(func(f *File) { cr(f).Markup = strings.Repeat("x", 64<<10+1) }, `campaign "ctv-1": creatives[0].markup: is 65537 bytes; the limit is 65536`)
	f(func(f *File) { f.Campaigns[0].Creatives[0].W = 0 }, `campaign "banner-1": creatives[0].w: banner needs w and h > 0; got 0x250`)
	f(func(f *File) { f.Campaigns[0].Creatives[0].H = -1 }, `campaign "banner-1": creatives[0].w: banner needs w and h > 0`)
	f(func(f *File) {
		c := &f.Campaigns[0].Creatives[0]
		c.Type, c.Markup = "native", "{not json"
		f.Campaigns[0].Targeting.Media = []string{"native"}
	}, `campaign "banner-1": creatives[0].markup: native markup: invalid character`)
	for markup, want := range map[string]string{
		`{"assets":[{"title":{"text":"t"}}]}`:                               "native markup: no link.url",
		`{"native":{"assets":[{"data":{"value":"v"}}],"link":{"url":"u"}}}`: "native markup: no asset to fill",
		`{"assets":[{"img":{"type":"3","url":"u"}}],"link":{"url":"u"}}`:    "native markup: json: cannot unmarshal string",
		// Keys the spec does not have: typos that would track nothing.
		`{"assets":[{"title":{"text":"t"}}],"link":{"url":"u"},"imptracker":["x"]}`:              `native markup: 1:55: unknown field "imptracker"`,
		`{"native":{"assets":[{"title":{"text":"t"}}],"link":{"url":"u","clicktracker":["x"]}}}`: `native markup: 1:64: unknown field "clicktracker"`,
		`{"assets":[{"img":{"url":"u","wdith":5}}],"link":{"url":"u"}}`:                          `native markup: 1:30: unknown field "wdith"`,
		`{"assets":[{"title":{"text":"t"}}],"link":{"url":"u"},"eventtrackers":[{"evnet":1}]}`:   `native markup: 1:73: unknown field "evnet"`,
		`{"assets":[{"title":{"text":"t"}}],"link":{"url":"u"},"Link":{"url":"v"}}`:              `native markup: 1:55: key "Link" a second time`,
	} {
		f(func(f *File) {
			c := &f.Campaigns[0].Creatives[0]
			c.Type, c.Markup = "native", markup
			f.Campaigns[0].Targeting.Media = []string{"native"}
		}, `campaign "banner-1": creatives[0].markup: `+want)
	}
	for _, mimes := range [][]string{nil, {"video/mp4"}} {
		f(func(f *File) {
			c := &f.Campaigns[0].Creatives[0]
			c.Type, c.Markup, c.Mimes = "native", `{"assets":[{"video":{"vasttag":"<VAST/>"}}],"link":{"url":"u"}}`, mimes
			f.Campaigns[0].Targeting.Media = []string{"native"}
		}, `campaign "banner-1": creatives[0].dur: native markup with a video needs the video's dur > 0 and mimes`)
	}
	f(func(f *File) {
		c := &f.Campaigns[0].Creatives[0]
		c.Type, c.Dur, c.Mimes = "audio", 0, []string{"audio/mpeg"}
		f.Campaigns[0].Targeting.Media = []string{"audio"}
	}, `campaign "banner-1": creatives[0].dur: audio needs dur > 0`)

	// DSA transparency.
	dsa := func(d DSA) func(*File) { return func(f *File) { f.Campaigns[0].DSA = &d } }
	f(dsa(DSA{Paid: "p"}), `campaign "banner-1": dsa.behalf: must have 1 to 100 characters, has 0`)
	f(dsa(DSA{Behalf: "b", Paid: strings.Repeat("é", 101)}), `campaign "banner-1": dsa.paid: must have 1 to 100 characters, has 101`)
	f(dsa(DSA{Behalf: "b", Paid: "p", AdRender: 2}), `campaign "banner-1": dsa.adRender: 2 must be 0`)
	f(dsa(DSA{Behalf: "b", Paid: "p", Transparency: []DSATransparency{{Params: []int{1, 4}}}}),
		`campaign "banner-1": dsa.transparency[0].domain: must not be empty`, `campaign "banner-1": dsa.transparency[0].params[1]: unknown parameter 4`)

	// Creatives that disagree with targeting.media.
	f(func(f *File) { ctv(f).Targeting.Media = []string{"banner"} },
		`campaign "ctv-1": creatives[0].type: "video" is not in targeting.media ["banner"]`,
		`campaign "ctv-1": targeting.media[0]: no creative of type "banner"`)
	f(func(f *File) { ctv(f).Targeting.Media = []string{"video", "audio"} }, `campaign "ctv-1": targeting.media[1]: no creative of type "audio"`)
}

func TestValidateNonFinite(t *testing.T) {
	t.Parallel()
	f := func(mutate func(c *Campaign), want string) {
		t.Helper()
		file := validFile()
		mutate(&file.Campaigns[1])
		err := file.Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("unexpected error; got %v; want it to contain %q", err, want)
		}
	}
	f(func(c *Campaign) { c.Value = math.NaN() }, `campaign "ctv-1": value: NaN`)
	f(func(c *Campaign) { c.MaxCPM = math.Inf(1) }, `campaign "ctv-1": maxCpm: +Inf`)
	f(func(c *Campaign) { c.Budget.Daily = math.Inf(1) }, `campaign "ctv-1": budget.daily: +Inf`)
	f(func(c *Campaign) { c.Budget.Total = math.NaN() }, `campaign "ctv-1": budget.total: NaN`)
}

func TestValidateValid(t *testing.T) {
	t.Parallel()
	f := func(mutate func(f *File)) {
		t.Helper()
		file := validFile()
		mutate(file)
		if err := file.Validate(); err != nil {
			t.Fatalf("unexpected error: %s", err)
		}
	}
	f(func(f *File) {})
	f(func(f *File) { f.Currency = "" })
	f(func(f *File) { f.Campaigns = nil })
	f(func(f *File) { f.Campaigns[1].Targeting.Media = nil })
	f(func(f *File) { f.Campaigns[1].FreqCap = FreqCap{Max: 2, WindowSeconds: 30 * 86400} })
	f(func(f *File) { f.Campaigns[1].FreqCap = FreqCap{Max: MaxFreqCap, WindowSeconds: 60} })
	f(func(f *File) { f.Campaigns[1].Budget.Daily, f.Campaigns[1].Budget.Total = MaxBudget, 1e-6 })
	f(func(f *File) { f.Campaigns[1].MaxCPM = 1000 })
	f(func(f *File) { f.Campaigns[1].Budget.Pacing = "asap" })
	f(func(f *File) { f.Campaigns[1].ID = strings.Repeat("a", 64) })
	f(func(f *File) { f.Campaigns[1].Targeting.Hours = []int{0, 23} })
	// VAST 4.2 and 4.3 and their wrappers (13-16), and a vendor's code.
	f(func(f *File) { f.Campaigns[1].Targeting.Protocols = []int{1, 13, 14, 15, 16, 500} })
	f(func(f *File) { f.Campaigns[1].Creatives[0].Protocol = 16 })
	f(func(f *File) { f.Campaigns[1].Creatives[0].Protocol = 500 })
	f(func(f *File) { f.Campaigns[1].Creatives[0].Attr = []int{1, 17} })
	f(func(f *File) { // a native video described by dur and mimes
		c := &f.Campaigns[0].Creatives[0]
		c.Type, c.Markup, c.Dur, c.Mimes = "native", `{"assets":[{"video":{"vasttag":"<VAST/>"}}],"link":{"url":"u"}}`, 15, []string{"video/mp4"}
		f.Campaigns[0].Targeting.Media = []string{"native"}
	})
	f(func(f *File) { f.Campaigns[1].Creatives[0].Markup = strings.Repeat("x", MaxMarkupBytes) })
	f(func(f *File) { f.Campaigns[1].Flight = &Flight{} })
	f(func(f *File) { f.Campaigns[1].Flight = &Flight{End: "2026-12-01T00:00:00Z"} })
	f(func(f *File) {
		f.Campaigns[1].Flight = &Flight{Start: "2026-12-01T00:00:00Z", End: "2026-12-01T00:00:01Z"}
	})
}

// TestFlightBounds checks the unix seconds a flight's times become.
func TestFlightBounds(t *testing.T) {
	t.Parallel()
	f := func(fl *Flight, start, end int64) {
		t.Helper()
		s, e, err := fl.Bounds()
		if err != nil || s != start || e != end {
			t.Fatalf("%+v: bounds %d, %d, %v; want %d, %d", fl, s, e, err, start, end)
		}
	}
	const dec1 = 1796083200 // 2026-12-01T00:00:00Z
	f(nil, 0, NoEnd)
	f(&Flight{}, 0, NoEnd)
	f(&Flight{Start: "2026-12-01T00:00:00Z"}, dec1, NoEnd)
	f(&Flight{End: "2026-12-01T00:00:00Z"}, 0, dec1)
	// An offset is the time zone's; a fraction of a second rounds up.
	f(&Flight{Start: "2026-11-30T19:00:00-05:00", End: "2026-12-01T00:00:00.5+00:00"}, dec1, dec1+1)
	f(&Flight{Start: "2026-12-01T00:00:00.000000001Z"}, dec1+1, NoEnd)
	// The campaign loads with its flight.
	file := validFile()
	file.Campaigns[1].Flight = &Flight{Start: "2026-12-01T00:00:00Z", End: "2026-12-31T00:00:00Z"}
	b, err := json.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"flight":{"start":"2026-12-01T00:00:00Z","end":"2026-12-31T00:00:00Z"}`) {
		t.Fatalf("marshalled file lacks the flight: %s", b)
	}
	got, err := ParseCampaigns(b)
	if err != nil {
		t.Fatal(err)
	}
	f(got.Campaigns[1].Flight, dec1, dec1+30*86400)
	f(got.Campaigns[0].Flight, 0, NoEnd)
}

func TestValidateLimitsProblems(t *testing.T) {
	t.Parallel()
	file := validFile()
	for range 20 {
		file.Campaigns = append(file.Campaigns, file.Campaigns[1])
	}
	err := file.Validate()
	ve, ok := err.(*ValidationError)
	if !ok {
		t.Fatalf("unexpected error type %T: %v", err, err)
	}
	if len(ve.Problems) != maxProblems || ve.More != 20-maxProblems {
		t.Fatalf("unexpected problem count; got %d listed and %d more; want %d and %d", len(ve.Problems), ve.More, maxProblems, 20-maxProblems)
	}
	if !strings.HasSuffix(err.Error(), "and 10 more problems") {
		t.Fatalf("unexpected error text: %s", err)
	}
}

func TestValidateModel(t *testing.T) {
	t.Parallel()
	f := func(mutate func(m *Model), want string) {
		t.Helper()
		m := GenerateModel(16, 1)
		mutate(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("cannot marshal test model: %s", err)
		}
		_, err = ParseModel(b)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("unexpected error; got %v; want it to contain %q", err, want)
		}
	}
	f(func(m *Model) { m.Version = 0 }, "model.json: version: unsupported version 0")
	f(func(m *Model) { m.Buckets = 12; m.Weights = m.Weights[:12] }, "model.json: buckets: 12 must be a power of two")
	f(func(m *Model) { m.Buckets = 0; m.Weights = nil }, "buckets: 0 must be a power of two")
	f(func(m *Model) { m.Buckets = 1 << 25 }, "buckets: 33554432 must be a power of two in [1, 16777216]")
	f(func(m *Model) { m.Weights = m.Weights[:15] }, "model.json: weights: has 15 values; want buckets = 16")
	f(func(m *Model) { m.Features = append(m.Features, "age") }, `model.json: features[11]: unknown feature "age"`)
	f(func(m *Model) { m.Features = []string{"os", "hour", "os"} }, `model.json: features[2]: "os" duplicates features[0]`)

	// NaN cannot be written in JSON, so Validate sees it directly.
	m := GenerateModel(16, 1)
	m.Weights[3], m.Bias = math.NaN(), math.Inf(-1)
	err := m.Validate()
	for _, want := range []string{"weights[3]: NaN is not a finite number in [-40, 40]", "bias: -Inf is not a finite number in [-40, 40]"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("unexpected error; got %v; want it to contain %q", err, want)
		}
	}
	// Finite but huge: a logit of 1e308 - 1e308 - 1e308 is -Inf, of
	// Inf - Inf NaN (the pricing audit).
	f(func(m *Model) { m.Weights[5] = 1e308 }, "model.json: weights[5]: 1e+308 is not a finite number in [-40, 40]")
	f(func(m *Model) { m.Bias = -40.5 }, "model.json: bias: -40.5 is not a finite number in [-40, 40]")
	m = GenerateModel(16, 1)
	m.Weights[0], m.Bias = -MaxWeight, MaxWeight
	if err := m.Validate(); err != nil {
		t.Fatalf("weights at the bound: %v", err)
	}
}

// TestMaxWeightKeepsExpFinite checks that the logit's terms (the bias and
// one weight per feature) and the cross slack rtbd adds to its price
// bounds (up to two more weights) stay where exp is finite at MaxWeight:
// a feature added to FeatureNames must lower the bound if it no longer
// does.
func TestMaxWeightKeepsExpFinite(t *testing.T) {
	worst := float64((1 + len(FeatureNames) + 2) * MaxWeight)
	if math.IsInf(math.Exp(worst), 0) || math.Exp(-worst) == 0 {
		t.Fatalf("%d features at MaxWeight %d: exp(%g) is not finite and non-zero", len(FeatureNames), MaxWeight, worst)
	}
}
