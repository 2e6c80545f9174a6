package campaign

import (
	"math"
	"strconv"
)

// Generate returns a valid synthetic campaigns file with n campaigns for
// benchmarks (n from 10^3 to 10^5 is the intended range). The same n and seed
// always give the same file.
//
// The mix follows a typical DSP book: 30 % CTV video (device types 3 and 7),
// 25 % display banners, 15 % web and mobile video, 15 % banner plus video,
// 10 % native and 5 % audio. Most targeting lists are short or empty; values
// are drawn from Zipf-skewed pools shared with [GenerateCTVRequests], so that
// a fair share of generated requests finds a bidder.
func Generate(n int, seed int64) *File {
	g := newGen(seed)
	f := &File{Version: 1, Currency: "USD", Campaigns: make([]Campaign, n)}
	for i := range f.Campaigns {
		g.campaign(&f.Campaigns[i], i)
	}
	f.SetDefaults()
	return f
}

// GenerateModel returns a model with all [FeatureNames], a small bias and
// small pseudo-random weights (normal, sd 0.05), rounded to 4 decimals so
// that the JSON form round-trips exactly. buckets must be a power of two.
func GenerateModel(buckets int, seed int64) *Model {
	g := newGen(seed)
	m := &Model{
		Version:  ModelVersion,
		Buckets:  buckets,
		Bias:     round4((g.r.Float64() - 0.5) * 0.2),
		Features: append([]string(nil), FeatureNames...),
		Weights:  make([]float64, buckets),
	}
	for i := range m.Weights {
		m.Weights[i] = round4(g.r.NormFloat64() * 0.05)
	}
	return m
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// campaign kinds, by share of the generated book.
const (
	kindCTV = iota
	kindBanner
	kindVideo
	kindMulti
	kindNative
	kindAudio
)

func (g *gen) kind() int {
	switch x := g.r.IntN(100); {
	case x < 30:
		return kindCTV
	case x < 55:
		return kindBanner
	case x < 70:
		return kindVideo
	case x < 85:
		return kindMulti
	case x < 95:
		return kindNative
	default:
		return kindAudio
	}
}

func (g *gen) campaign(c *Campaign, i int) {
	kind := g.kind()
	brand := g.skewed(poolBrands)
	c.ID = "c" + pad(i, 6)
	c.Name = brandDomain(brand) + " campaign " + strconv.Itoa(i)
	c.Seat = "seat-" + strconv.Itoa(brand%50)
	c.ADomain = []string{brandDomain(brand)}
	c.Cat = distinct(g.between(1, 2), g.iabCat)
	g.price(c, kind)
	g.budget(c)
	g.geo(&c.Targeting)
	g.dayParting(&c.Targeting)
	g.audience(c)
	switch kind {
	case kindCTV:
		g.ctv(c)
	case kindBanner:
		g.display(c)
	case kindVideo:
		g.webVideo(c)
	case kindMulti:
		g.multi(c)
	case kindNative:
		g.native(c)
	case kindAudio:
		g.audio(c)
	}
}

func (g *gen) price(c *Campaign, kind int) {
	lo, hi := 0.5, 8.0
	switch kind {
	case kindCTV:
		lo, hi = 15, 45
	case kindVideo, kindMulti:
		lo, hi = 5, 25
	case kindAudio:
		lo, hi = 4, 15
	}
	c.Value = g.money(lo, hi)
	c.MaxCPM = min(g.money(lo*0.8, hi*0.9), 40)
}

func (g *gen) budget(c *Campaign) {
	c.Budget.Daily = float64(g.between(1, 200) * 100)
	if g.chance(0.6) {
		c.Budget.Total = c.Budget.Daily * float64(g.between(10, 60))
	}
	c.Budget.Pacing = PacingEven
	if g.chance(0.2) {
		c.Budget.Pacing = PacingASAP
	}
	if g.chance(0.6) {
		c.FreqCap = FreqCap{Max: g.between(1, 10), WindowSeconds: []int{3600, 86400, 604800}[g.r.IntN(3)]}
	}
}

func (g *gen) geo(t *Targeting) {
	if g.chance(0.25) {
		return // worldwide
	}
	country := func() string { return g.weightedPick(countryWeights) }
	t.Countries = distinct(g.listLen(), country)
	if len(t.Countries) == 1 && t.Countries[0] == "USA" {
		if g.chance(0.15) {
			t.Regions = distinct(g.between(1, 4), func() string { return g.pick(usRegions) })
		} else if g.chance(0.1) {
			t.Metros = distinct(g.between(1, 3), func() string { return g.pick(usMetros) })
		}
	}
}

// listLen returns the length of a short targeting list: 1 in 65 % of cases,
// 2 in 20 %, 3 in 10 % and 4-8 otherwise.
func (g *gen) listLen() int {
	switch x := g.r.IntN(100); {
	case x < 65:
		return 1
	case x < 85:
		return 2
	case x < 95:
		return 3
	default:
		return g.between(4, 8)
	}
}

// allowListLen returns the length of a domain or bundle allow list: mostly
// short, sometimes up to hi.
func (g *gen) allowListLen(hi int) int {
	if g.chance(0.6) {
		return g.between(1, 3)
	}
	return g.between(4, hi)
}

func (g *gen) dayParting(t *Targeting) {
	if g.chance(0.1) {
		from := g.between(0, 18)
		for h := from; h <= min(23, from+g.between(4, 12)); h++ {
			t.Hours = append(t.Hours, h)
		}
	}
	if g.chance(0.05) {
		t.Weekdays = []int{1, 2, 3, 4, 5}
	}
}

func (g *gen) audience(c *Campaign) {
	t := &c.Targeting
	if g.chance(0.1) {
		t.Segments = distinct(g.listLen(), func() string { return segmentID(g.skewed(poolSegments)) })
	}
	if g.chance(0.1) {
		t.Publishers = distinct(g.listLen(), func() string { return publisherID(g.skewed(poolPublishers)) })
	}
	if g.chance(0.12) {
		c.Deals = distinct(g.between(1, 3), func() string { return dealID(g.skewed(poolDeals)) })
		c.DealsOnly = g.chance(0.5)
	}
}
