package campaign

import (
	"strconv"
	"strings"
)

func sizeName(s [2]int) string { return strconv.Itoa(s[0]) + "x" + strconv.Itoa(s[1]) }

func (g *gen) ctv(c *Campaign) {
	t := &c.Targeting
	t.Media = []string{MediaVideo}
	t.DeviceTypes = [][]int{{3, 7}, {3, 7}, {3}, {7}}[g.r.IntN(4)]
	if g.chance(0.3) {
		t.OS = distinct(g.between(1, 2), func() string { return g.weightedPick(ctvOS) })
	}
	if g.chance(0.25) {
		t.AppBundles = distinct(g.allowListLen(10), func() string { return ctvBundle(g.skewed(poolBundles)) })
	} else if g.chance(0.07) {
		t.BlockAppBundles = distinct(g.listLen(), func() string { return ctvBundle(g.skewed(poolBundles)) })
	}
	durs := distinct(g.between(1, 3), func() string { return strconv.Itoa(g.ctvDur()) })
	for i, d := range durs {
		g.addVideo(c, i, atoi(d))
	}
}

// ctvDur returns a CTV spot length: mostly 15 and 30 seconds.
func (g *gen) ctvDur() int {
	switch x := g.r.IntN(100); {
	case x < 40:
		return 30
	case x < 80:
		return 15
	case x < 90:
		return 6
	default:
		return 60
	}
}

func (g *gen) display(c *Campaign) {
	t := &c.Targeting
	t.Media = []string{MediaBanner}
	switch x := g.r.IntN(10); {
	case x < 3:
		t.DeviceTypes = []int{4, 1}
	case x < 5:
		t.DeviceTypes = []int{2}
	}
	g.siteLists(t)
	sizes := distinct(g.between(1, 3), func() string {
		return sizeName(bannerSizes[g.skewed(len(bannerSizes))])
	})
	for i, s := range sizes {
		g.addBanner(c, i, s)
	}
}

func (g *gen) siteLists(t *Targeting) {
	if g.chance(0.15) {
		t.SiteDomains = distinct(g.allowListLen(20), func() string { return domainName(g.skewed(poolDomains)) })
	} else if g.chance(0.15) {
		t.BlockSiteDomains = distinct(g.allowListLen(8), func() string { return domainName(g.skewed(poolDomains)) })
	}
}

func (g *gen) webVideo(c *Campaign) {
	t := &c.Targeting
	t.Media = []string{MediaVideo}
	if g.chance(0.3) {
		t.Plcmt = [][]int{{1}, {1, 2}}[g.r.IntN(2)]
	}
	if g.chance(0.3) {
		t.DeviceTypes = []int{1, 2, 4, 5}
	}
	g.siteLists(t)
	for i := range g.between(1, 2) {
		g.addVideo(c, i, []int{15, 30, 6, 15}[g.r.IntN(4)])
	}
}

func (g *gen) multi(c *Campaign) {
	c.Targeting.Media = []string{MediaBanner, MediaVideo}
	g.siteLists(&c.Targeting)
	g.addBanner(c, 0, sizeName(bannerSizes[g.skewed(len(bannerSizes))]))
	g.addVideo(c, 1, []int{15, 30}[g.r.IntN(2)])
}

func (g *gen) native(c *Campaign) {
	c.Targeting.Media = []string{MediaNative}
	g.siteLists(&c.Targeting)
	id := c.ID + "-n0"
	c.Creatives = append(c.Creatives, Creative{ID: id, Type: MediaNative, Markup: nativeMarkup(id, c.ADomain[0])})
}

func (g *gen) audio(c *Campaign) {
	c.Targeting.Media = []string{MediaAudio}
	id := c.ID + "-a0"
	dur := []int{15, 30}[g.r.IntN(2)]
	c.Creatives = append(c.Creatives, Creative{
		ID: id, Type: MediaAudio, Dur: dur, Mimes: []string{"audio/mpeg"}, Protocol: 3,
		Markup: audioMarkup(id, c.ADomain[0], dur),
	})
}

func (g *gen) addVideo(c *Campaign, i, dur int) {
	id := c.ID + "-v" + strconv.Itoa(i)
	protocol := []int{7, 7, 3, 2}[g.r.IntN(4)]
	c.Creatives = append(c.Creatives, Creative{
		ID: id, Type: MediaVideo, Dur: dur, W: 1920, H: 1080,
		Mimes: videoMimeSets[g.skewed(len(videoMimeSets))], Protocol: protocol, Secure: true,
		Markup: vastMarkup(id, c.ADomain[0], dur, protocol, "video/mp4"),
	})
}

func (g *gen) addBanner(c *Campaign, i int, size string) {
	w, h := parseSize(size)
	id := c.ID + "-b" + strconv.Itoa(i)
	c.Creatives = append(c.Creatives, Creative{
		ID: id, Type: MediaBanner, W: w, H: h, Secure: true, Lang: "en",
		Markup: bannerMarkup(id, c.ADomain[0], w, h),
	})
}

// parseSize parses "WxH" as produced by the banner size picker.
func parseSize(s string) (w, h int) {
	ws, hs, ok := strings.Cut(s, "x")
	if !ok {
		panic("BUG: generated banner size is not WxH: " + s)
	}
	return atoi(ws), atoi(hs)
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic("BUG: generated duration is not a number: " + s)
	}
	return n
}
