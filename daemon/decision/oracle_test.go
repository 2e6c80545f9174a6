package decision

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

// Small vocabularies, so that random campaigns and requests overlap.
var (
	oCountries = []string{"USA", "GBR", "DEU"}
	oOS        = []string{"Roku", "iOS", "Android"}
	oDomains   = []string{"a.com", "b.com", "c.com"}
	oBundles   = []string{"x.tv", "y.tv", "z.tv"}
	oPubs      = []string{"p1", "p2", "p3"}
	oSegs      = []string{"s1", "s2", "s3", "s4", "s5", "s6"}
	oDeals     = []string{"d1", "d2", "d3"}
	oSeats     = []string{"", "seat1", "seat2"}
	oCats      = []string{"IAB1", "IAB2", "IAB3"}
	oADomains  = []string{"x.com", "y.com", "z.com", "w.com"}
	oAppIDs    = []string{"", "com.a.game", "com.B.game"} // campaign bundles
	oSizes     = [][2]int{{300, 250}, {728, 90}, {320, 50}}
	oDurs      = []int{6, 15, 30, 60}
	oMimes     = []string{"video/mp4", "video/webm"}
	oMedia     = []string{"banner", "video", "audio", "native"}
)

type oracleGen struct{ r *rand.Rand }

// some returns up to n distinct values of vocab, often none.
func some[T any](g *oracleGen, vocab []T, pEmpty float64) []T {
	if g.r.Float64() < pEmpty {
		return nil
	}
	var out []T
	for _, i := range g.r.Perm(len(vocab))[:1+g.r.IntN(len(vocab))] {
		out = append(out, vocab[i])
	}
	return out
}

func (g *oracleGen) campaign(i int) campaign.Campaign {
	c := campaign.Campaign{ID: fmt.Sprintf("c%d", i), Value: 1 + float64(g.r.IntN(50)), MaxCPM: 100}
	c.ADomain = some(g, oADomains, 0)[:1]
	c.Cat = some(g, oCats, 0.3)
	// Other taxonomies, with the same strings: the index must keep them
	// apart.
	for _, tax := range some(g, []int{6, 7}, 0.5) {
		c.Categories = append(c.Categories, campaign.Categories{CatTax: tax, Cat: some(g, oCats, 0)})
	}
	c.Seat = oSeats[g.r.IntN(len(oSeats))]
	c.Bundle = oAppIDs[g.r.IntN(len(oAppIDs))]
	c.Deals = some(g, oDeals, 0.6)
	c.DealsOnly = g.r.IntN(2) == 0
	t := &c.Targeting
	t.DeviceTypes = some(g, []int{1, 2, 3, 4, 7}, 0.5)
	t.OS = some(g, oOS, 0.7)
	t.Countries = some(g, oCountries, 0.4)
	t.Regions = some(g, []string{"CA", "NY"}, 0.8)
	t.Metros = some(g, []string{"501", "803"}, 0.8)
	switch g.r.IntN(4) {
	case 0:
		t.SiteDomains = some(g, oDomains, 0)
	case 1:
		t.AppBundles = some(g, oBundles, 0)
	}
	t.BlockSiteDomains = some(g, oDomains, 0.8)
	t.BlockAppBundles = some(g, oBundles, 0.8)
	t.Publishers = some(g, oPubs, 0.7)
	t.Segments = some(g, oSegs, 0.7)
	t.Hours = some(g, []int{0, 5, 6, 12, 23}, 0.8)
	t.Weekdays = some(g, []int{0, 3, 6}, 0.8)
	t.Mimes = some(g, oMimes, 0.7)
	t.Protocols = some(g, []int{2, 3, 7}, 0.7)
	t.Plcmt = some(g, []int{1, 2, 3}, 0.7)
	if g.r.IntN(3) == 0 {
		t.Media = some(g, oMedia, 0)
	}
	for j := 0; j < 1+g.r.IntN(3); j++ {
		cr := campaign.Creative{ID: fmt.Sprintf("cr%d", j), Type: oMedia[g.r.IntN(4)], Markup: "x"}
		switch cr.Type {
		case "banner":
			s := oSizes[g.r.IntN(len(oSizes))]
			cr.W, cr.H = s[0], s[1]
		case "video", "audio":
			cr.Dur = oDurs[g.r.IntN(len(oDurs))]
			cr.Mimes = some(g, oMimes, 0)
		case "native":
			cr.Markup = `{"assets":[{"title":{"text":"x"}}],"link":{"url":"https://x.example/"}}`
		}
		c.Creatives = append(c.Creatives, cr)
	}
	return c
}

func bss(v []string) [][]byte {
	var out [][]byte
	for _, s := range v {
		out = append(out, []byte(s))
	}
	return out
}

func (g *oracleGen) request() *openrtb.Request {
	r := &openrtb.Request{ID: []byte("r")}
	switch g.r.IntN(3) {
	case 0:
		r.Site = openrtb.Site{Present: true, PublisherID: []byte(oPubs[g.r.IntN(3)])}
		host := []string{"", "www.", "m.news.", "x"}[g.r.IntN(4)] + strings.ToUpper(oDomains[g.r.IntN(3)])
		switch g.r.IntN(3) {
		case 0:
			r.Site.Domain = []byte(host)
		case 1: // no domain: its page names it
			r.Site.Page = []byte("https://" + host + ":443/a/b?c=d")
		case 2:
			r.Site.Domain, r.Site.Page = []byte(host+"."), []byte("https://elsewhere.example/")
		}
	case 1:
		r.App = openrtb.App{Present: true, Bundle: []byte(oBundles[g.r.IntN(3)]), PublisherID: []byte(oPubs[g.r.IntN(3)])}
	}
	r.Device.Type = []int{0, 1, 2, 3, 4, 7}[g.r.IntN(6)]
	if g.r.IntN(4) > 0 {
		r.Device.OS = []byte(strings.ToLower(oOS[g.r.IntN(3)]))
		r.Device.Geo = openrtb.Geo{Country: []byte(oCountries[g.r.IntN(3)]), Region: []byte("CA"), Metro: []byte("501")}
	}
	r.User.Segments = bss(some(g, oSegs, 0.3))
	r.BCat = bss(some(g, oCats, 0.7))
	r.CatTax = []int{0, 1, 6, 7, 8}[g.r.IntN(5)]
	if g.r.IntN(4) == 0 {
		r.ACat = bss(some(g, oCats, 0.5))
	}
	r.BAdv = bss(some(g, oADomains, 0.8))
	r.BApp = bss(some(g, []string{"x.com", "com.A.game", "com.b.game", "com.c.game"}, 0.7))
	r.WSeat = bss(some(g, oSeats[1:], 0.8))
	r.BSeat = bss(some(g, oSeats[1:], 0.8))
	imp := openrtb.Imp{ID: []byte("1"), Media: openrtb.MediaType(1 + g.r.IntN(15))}
	for _, s := range some(g, oSizes, 0.2) {
		imp.Banner.Formats = append(imp.Banner.Formats, openrtb.Format{W: s[0], H: s[1]})
	}
	v := &imp.Video
	v.Mimes = bss(some(g, oMimes, 0.2))
	v.MinDur, v.MaxDur = []int{0, 5, 20}[g.r.IntN(3)], []int{0, 30, 60}[g.r.IntN(3)]
	v.RqdDurs = some(g, oDurs, 0.7)
	v.Protocols = some(g, []int{2, 3, 7}, 0.3)
	v.Plcmt = g.r.IntN(4)
	if g.r.IntN(4) == 0 {
		v.PodDur = 30
	}
	imp.Audio.MinDur, imp.Audio.MaxDur = v.MinDur, v.MaxDur
	imp.Audio.RqdDurs = some(g, oDurs, 0.7)
	if g.r.IntN(4) == 0 {
		imp.Audio.PodDur = 30
	}
	imp.Audio.Mimes = bss(some(g, oMimes, 0.2))
	for _, d := range some(g, oDeals, 0.5) {
		imp.PMP.Deals = append(imp.PMP.Deals, openrtb.Deal{ID: []byte(d)})
	}
	imp.PMP.PrivateAuction = g.r.IntN(3) / 2
	r.Imps = []openrtb.Imp{imp}
	return r
}

// naiveCats are the categories of campaign c in taxonomy tax (0 is 1).
func naiveCats(c *campaign.Campaign, tax int) []string {
	if tax <= 1 {
		return c.Cat
	}
	for _, l := range c.Categories {
		if l.CatTax == tax {
			return l.Cat
		}
	}
	return nil
}

// naiveMatch is the reference for the index: campaign c matches imp for
// media type m (a name) by a direct reading of the documented rules;
// blockUnknownCat is Options.BlockUnknownCategories.
func naiveMatch(c *campaign.Campaign, r *openrtb.Request, imp *openrtb.Imp, m string, now time.Time, blockUnknownCat bool) bool {
	t := &c.Targeting
	media := t.Media
	if len(media) == 0 {
		for _, cr := range c.Creatives {
			media = append(media, cr.Type)
		}
	}
	in := func(list []string, v []byte, fold bool) bool {
		return slices.ContainsFunc(list, func(s string) bool {
			return s == string(v) || fold && strings.EqualFold(s, string(v))
		})
	}
	anyIn := func(list []string, vals [][]byte, fold bool) bool {
		return slices.ContainsFunc(vals, func(v []byte) bool { return in(list, v, fold) })
	}
	allowed := func(list []string, v []byte, fold bool) bool { return len(list) == 0 || in(list, v, fold) }
	g := &r.Device.Geo
	ok := slices.Contains(media, m) &&
		(len(t.DeviceTypes) == 0 || slices.Contains(t.DeviceTypes, r.Device.Type)) &&
		allowed(t.OS, r.Device.OS, true) && allowed(t.Countries, g.Country, true) &&
		allowed(t.Regions, g.Region, true) && allowed(t.Metros, g.Metro, true) &&
		(len(t.Hours) == 0 || slices.Contains(t.Hours, now.UTC().Hour())) &&
		(len(t.Weekdays) == 0 || slices.Contains(t.Weekdays, int(now.UTC().Weekday())))
	if !ok {
		return false
	}
	switch {
	case r.Site.Present:
		if len(t.SiteDomains)+len(t.AppBundles) > 0 && !onSite(t.SiteDomains, &r.Site) || onSite(t.BlockSiteDomains, &r.Site) ||
			!allowed(t.Publishers, r.Site.PublisherID, false) {
			return false
		}
	case r.App.Present:
		if len(t.SiteDomains)+len(t.AppBundles) > 0 && !in(t.AppBundles, r.App.Bundle, true) || in(t.BlockAppBundles, r.App.Bundle, true) ||
			!allowed(t.Publishers, r.App.PublisherID, false) {
			return false
		}
	default:
		if len(t.SiteDomains)+len(t.AppBundles)+len(t.Publishers) > 0 {
			return false
		}
	}
	if len(t.Segments) > 0 && !anyIn(t.Segments, r.User.Segments, false) {
		return false
	}
	var dealIDs [][]byte
	for _, d := range imp.PMP.Deals {
		dealIDs = append(dealIDs, d.ID)
	}
	onDeal := anyIn(c.Deals, dealIDs, false)
	if imp.PMP.PrivateAuction == 1 && !onDeal || c.DealsOnly && len(c.Deals) > 0 && !onDeal {
		return false
	}
	// wseat admits the listed seats only: not a campaign without one.
	if len(r.WSeat) > 0 && !slices.ContainsFunc(r.WSeat, func(b []byte) bool { return c.Seat != "" && string(b) == c.Seat }) ||
		c.Seat != "" && slices.ContainsFunc(r.BSeat, func(b []byte) bool { return string(b) == c.Seat }) {
		return false
	}
	cats := naiveCats(c, r.CatTax)
	if anyIn(cats, r.BCat, false) || len(r.ACat) > 0 && !anyIn(cats, r.ACat, false) ||
		blockUnknownCat && len(r.BCat) > 0 && len(cats) == 0 ||
		anyIn(c.ADomain, r.BAdv, true) || anyIn(c.ADomain, r.BApp, true) ||
		c.Bundle != "" && anyIn([]string{c.Bundle}, r.BApp, true) {
		return false
	}
	return naiveCreatives(c, imp, m)
}

// naiveCreatives checks the media-specific dimensions.
func naiveCreatives(c *campaign.Campaign, imp *openrtb.Imp, m string) bool {
	t := &c.Targeting
	hasCreative := func(fits func(cr *campaign.Creative) bool) bool {
		for i := range c.Creatives {
			if c.Creatives[i].Type == m && fits(&c.Creatives[i]) {
				return true
			}
		}
		return false
	}
	switch m {
	case "banner":
		b := &imp.Banner
		if len(b.Formats) == 0 && (b.W <= 0 || b.H <= 0) {
			return true
		}
		return hasCreative(func(cr *campaign.Creative) bool {
			return slices.Contains(b.Formats, openrtb.Format{W: cr.W, H: cr.H}) || cr.W == b.W && cr.H == b.H
		})
	case "video":
		v := &imp.Video
		durOK := hasCreative(func(cr *campaign.Creative) bool { return durOK(cr.Dur, &v.Pod, v.MinDur, v.MaxDur) })
		mimeOK := mimesOK(t.Mimes, v.Mimes)
		protoOK := len(t.Protocols) == 0 || slices.ContainsFunc(v.Protocols, func(p int) bool { return slices.Contains(t.Protocols, p) })
		plcmtOK := len(t.Plcmt) == 0 || slices.Contains(t.Plcmt, v.Plcmt)
		return durOK && mimeOK && protoOK && plcmtOK
	case "audio":
		a := &imp.Audio
		durOK := hasCreative(func(cr *campaign.Creative) bool { return durOK(cr.Dur, &a.Pod, a.MinDur, a.MaxDur) })
		return durOK && mimesOK(t.Mimes, a.Mimes)
	}
	return true
}

// durOK is the oracle's duration check of a video or audio creative: no
// longer than a dynamic pod, one of rqddurs when there are, else within
// minduration and maxduration.
func durOK(dur int, p *openrtb.Pod, minDur, maxDur int) bool {
	if p.PodDur > 0 && dur > p.PodDur {
		return false
	}
	if len(p.RqdDurs) > 0 {
		return slices.Contains(p.RqdDurs, dur)
	}
	return dur >= minDur && (maxDur == 0 || dur <= maxDur)
}

// mimesOK: targeting takes any mime when empty, else one of the imp's.
func mimesOK(targeted []string, imp [][]byte) bool {
	return len(targeted) == 0 || slices.ContainsFunc(imp, func(b []byte) bool {
		return slices.ContainsFunc(targeted, func(s string) bool { return strings.EqualFold(s, string(b)) })
	})
}

// indexCandidates returns the ids the index admits for imp 0 and media bit
// mb, ANDing the imp's terms in chunks or word by word as chunkImp says,
// and the request's in whole or quarter chunks as quarter says (see
// fillQuarter).
func indexCandidates(c *Ctx, s *Snapshot, r *openrtb.Request, mb int, now time.Time, chunkImp, quarter bool) []string {
	c.begin(s, r, now)
	defer c.reset()
	c.chunkImp = chunkImp
	s.requestTerms(c, r, c.sec)
	c.nReq = c.nTerms
	c.sortRequestTerms()
	c.reqc.quarter = quarter
	if !c.prepareImp(&r.Imps[0]) {
		panic("BUG: an oracle request has a floor currency without a rate")
	}
	var it candIter
	s.startImp(c, &r.Imps[0], mb, 1, false, &it)
	var ids []string
	for o := it.next(); o >= 0; o = it.next() {
		ids = append(ids, string(s.camps[o].id))
	}
	slices.Sort(ids)
	return ids
}

// TestIndexMatchesNaiveScan compares the index's candidate sets with a
// naive scan over random campaign sets (crossing bitset word boundaries,
// dense and sparse postings) and random requests, reusing one Ctx so that
// stale scratch bits would show. The imp's terms are ANDed both ways.
func TestIndexMatchesNaiveScan(t *testing.T) {
	t.Parallel()
	g := &oracleGen{r: rand.New(rand.NewPCG(1, 2))}
	c := AcquireCtx()
	defer ReleaseCtx(c)
	nonEmpty, dense, sparse := 0, 0, 0
	for round := 0; round < 60; round++ {
		f := testFile()
		n := 1 + g.r.IntN(400)
		if round%4 == 2 {
			// 16 to 39 words: whole chunks of the ANDs (see chunkWords)
			// and a partial last one.
			n = 1000 + g.r.IntN(1500)
		}
		for i := 0; i < n; i++ {
			f.Campaigns = append(f.Campaigns, g.campaign(i))
		}
		// Odd rounds keep postings of fewer than half the campaigns as
		// lists: small sets have few postings sparse by the default rule.
		opts := testOptions
		if round%2 == 1 {
			opts.denseBelow = 2
		}
		opts.BlockUnknownCategories = round%3 == 1
		s, err := Compile(f, nil, NewState(1024), opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range s.ix.all() {
			for i := range d.posts {
				if d.posts[i].dense != nil {
					dense++
				} else {
					sparse++
				}
			}
		}
		now := testNow.Add(time.Duration(g.r.IntN(7*24)) * time.Hour)
		for q := 0; q < 30; q++ {
			r := g.request()
			for mb, m := range oMedia {
				if r.Imps[0].Media&(1<<mb) == 0 {
					continue
				}
				got := indexCandidates(c, s, r, mb, now, false, false)
				chunked := indexCandidates(c, s, r, mb, now, true, false)
				quarters := indexCandidates(c, s, r, mb, now, q%2 == 0, true)
				var want []string
				for i := range f.Campaigns {
					if naiveMatch(&f.Campaigns[i], r, &r.Imps[0], m, now, opts.BlockUnknownCategories) {
						want = append(want, f.Campaigns[i].ID)
					}
				}
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Fatalf("round %d request %d media %s: index %v; naive %v\nrequest %+v", round, q, m, got, want, r)
				}
				if !slices.Equal(chunked, want) {
					t.Fatalf("round %d request %d media %s: index with the imp's terms in chunks %v; naive %v\nrequest %+v", round, q, m, chunked, want, r)
				}
				if !slices.Equal(quarters, want) {
					t.Fatalf("round %d request %d media %s: index with the request's terms in quarter chunks %v; naive %v\nrequest %+v", round, q, m, quarters, want, r)
				}
				if len(want) > 0 {
					nonEmpty++
				}
			}
		}
	}
	if nonEmpty < 500 {
		t.Fatalf("only %d non-empty candidate sets: the generator does not exercise the index", nonEmpty)
	}
	if dense < 1000 || sparse < 1000 {
		t.Fatalf("%d dense and %d sparse postings: the generator does not exercise both", dense, sparse)
	}
	t.Logf("%d non-empty candidate sets; %d dense and %d sparse postings", nonEmpty, dense, sparse)
}

// TestCandIterStopsAtLastOrdinal walks the candidates of a negated term
// alone: the AND of its complement sets the bits past the last ordinal,
// which must not come out as candidates.
func TestCandIterStopsAtLastOrdinal(t *testing.T) {
	for _, n := range []int{1, 63, 64, 70, 128, 130} {
		blocked := &term{neg: true, n: 1, lo: 0, hi: words(n), sparseHW: math.MaxInt}
		blocked.refs[0] = make([]uint64, words(n))
		blocked.refs[0][0] = 1 << 0 // ordinal 0 is blocked
		var it candIter
		it.init([]*term{blocked}, nil, nil, n)
		var got []int
		for o := it.next(); o >= 0; o = it.next() {
			got = append(got, o)
		}
		if len(got) != n-1 || (n > 1 && (got[0] != 1 || got[len(got)-1] != n-1)) {
			t.Errorf("n=%d: candidates %v, want 1..%d", n, got, n-1)
		}
	}
}

// onSite reports whether the site's host (site.domain's, else site.page's)
// is one of domains or under one of them, by net/url and strings: the
// oracle's own reading of targeting.siteDomains.
func onSite(domains []string, site *openrtb.Site) bool {
	host := strings.TrimSuffix(string(site.Domain), ".")
	if host == "" {
		u, err := url.Parse(string(site.Page))
		if err != nil {
			return false
		}
		host = strings.TrimSuffix(u.Hostname(), ".")
	}
	host = strings.ToLower(host)
	for _, d := range domains {
		d = strings.ToLower(d)
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}
