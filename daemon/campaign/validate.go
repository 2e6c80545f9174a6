package campaign

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Pacing modes of [Budget.Pacing].
const (
	PacingEven = "even"
	PacingASAP = "asap"
)

// Media types of [Creative.Type] and [Targeting.Media].
const (
	MediaBanner = "banner"
	MediaVideo  = "video"
	MediaAudio  = "audio"
	MediaNative = "native"
)

// Limits enforced by [File.Validate].
const (
	// MaxCPMLimit is the largest accepted maxCpm: a typo such as 4000 instead
	// of 4.000 must not reach an exchange.
	MaxCPMLimit = 1000
	// MaxMarkupBytes bounds a creative's markup; larger ads belong on a CDN.
	MaxMarkupBytes = 64 << 10
	// MaxFreqCapWindow is the longest frequency-cap window, in seconds.
	MaxFreqCapWindow = 30 * 24 * 3600
	// MaxFreqCap is the highest freqCap.max: the frequency-cap table
	// counts up to it (12 bits), so a higher cap would never bind.
	MaxFreqCap = 4095
	// MaxBudget bounds budgets, in the file's currency: spend is counted
	// in micro-units in 64 bits, and a larger budget is a typo.
	MaxBudget = 1e12
	// minBudget is the smallest budget other than 0 (none): one
	// micro-unit, the unit spend is counted in; less would round to 0,
	// which means no budget.
	minBudget = 1e-6
	// maxIDLen is the longest campaign or creative id.
	maxIDLen = 64
)

var mediaNames = []string{MediaBanner, MediaVideo, MediaAudio, MediaNative}

// Validate checks the whole file and returns nil or a *[ValidationError]
// listing the first problems, each naming the campaign id and the field. It
// does not modify f.
func (f *File) Validate() error {
	var p problems
	if f.Version != 1 {
		p.addf("version: unsupported version %d; want 1", f.Version)
	}
	if f.Currency != "" && !isUpperAlpha(f.Currency, 3) {
		p.addf("currency: %q is not an ISO-4217 code such as \"USD\"", f.Currency)
	}
	seen := make(map[string]int, len(f.Campaigns))
	for i := range f.Campaigns {
		c := &f.Campaigns[i]
		if j, dup := seen[c.ID]; dup && c.ID != "" {
			p.addf("campaigns[%d]: campaign %q: id: duplicate of campaigns[%d]", i, c.ID, j)
		}
		seen[c.ID] = i
		v := campaignValidator{p: &p, c: c, idx: i}
		v.validate()
	}
	return p.err()
}

// campaignValidator reports the problems of one campaign, prefixing each
// with the campaign id (or its index when the id itself is bad).
type campaignValidator struct {
	p   *problems
	c   *Campaign
	idx int
}

func (v *campaignValidator) addf(field, format string, args ...any) {
	who := fmt.Sprintf("campaign %q", v.c.ID)
	if !isID(v.c.ID) {
		who = fmt.Sprintf("campaigns[%d]", v.idx)
	}
	v.p.addf("%s: %s: %s", who, field, fmt.Sprintf(format, args...))
}

func (v *campaignValidator) validate() {
	c := v.c
	if !isID(c.ID) {
		v.addf("id", "%q must be 1-64 bytes of [A-Za-z0-9._-]", c.ID)
	}
	v.validateAdvertiser()
	v.validatePrice()
	v.validateBudget()
	v.validateFlight()
	v.validateDeals()
	v.validateDSA()
	v.validateTargeting()
	v.validateCreatives()
	v.validateMediaMatch()
}

func (v *campaignValidator) validateAdvertiser() {
	if len(v.c.ADomain) == 0 {
		v.addf("adomain", "at least one advertiser domain is required")
	}
	v.nonEmpty("adomain", v.c.ADomain)
	v.nonEmpty("cat", v.c.Cat)
	for i, g := range v.c.Categories {
		field := fmt.Sprintf("categories[%d]", i)
		switch {
		case g.CatTax == 1:
			v.addf(field+".cattax", "taxonomy 1 (IAB Content Category Taxonomy 1.0) goes in cat")
		case g.CatTax < 2 || g.CatTax > MaxCatTax:
			v.addf(field+".cattax", "%d must be a category taxonomy id in [2, %d]", g.CatTax, MaxCatTax)
		case slices.ContainsFunc(v.c.Categories[:i], func(h Categories) bool { return h.CatTax == g.CatTax }):
			v.addf(field+".cattax", "taxonomy %d is listed twice", g.CatTax)
		}
		if len(g.Cat) == 0 {
			v.addf(field+".cat", "at least one category is required")
		}
		v.nonEmpty(field+".cat", g.Cat)
	}
	if b := v.c.Bundle; len(b) > maxBundleLen || strings.ContainsFunc(b, unicode.IsSpace) {
		v.addf("bundle", "%q must be at most %d bytes without spaces (an app store id such as com.example.game)", b, maxBundleLen)
	}
}

// maxBundleLen bounds an app bundle id; store ids are far shorter.
const maxBundleLen = 255

func (v *campaignValidator) validatePrice() {
	c := v.c
	if !isFinite(c.Value) || c.Value <= 0 {
		v.addf("value", "%v must be a finite number > 0", c.Value)
	}
	if !isFinite(c.MaxCPM) || c.MaxCPM <= 0 || c.MaxCPM > MaxCPMLimit {
		v.addf("maxCpm", "%v must be > 0 and <= %d", c.MaxCPM, MaxCPMLimit)
	}
}

func (v *campaignValidator) validateBudget() {
	b := &v.c.Budget
	if !isFinite(b.Daily) || b.Daily < 0 || b.Daily > MaxBudget || b.Daily > 0 && b.Daily < minBudget {
		v.addf("budget.daily", "%v must be 0 (none) or from %v to %v", b.Daily, minBudget, MaxBudget)
	}
	if !isFinite(b.Total) || b.Total < 0 || b.Total > MaxBudget || b.Total > 0 && b.Total < minBudget {
		v.addf("budget.total", "%v must be 0 (none) or from %v to %v", b.Total, minBudget, MaxBudget)
	}
	switch b.Pacing {
	case "", PacingEven, PacingASAP:
	default:
		v.addf("budget.pacing", "unknown pacing %q; want \"even\" or \"asap\"", b.Pacing)
	}
	fc := &v.c.FreqCap
	if fc.Max < 0 || fc.Max > MaxFreqCap {
		v.addf("freqCap.max", "%d must be from 0 (none) to %d", fc.Max, MaxFreqCap)
	}
	if fc.WindowSeconds < 0 || fc.WindowSeconds > MaxFreqCapWindow {
		v.addf("freqCap.windowSeconds", "%d must be in [0, %d] (30 days)", fc.WindowSeconds, MaxFreqCapWindow)
	} else if fc.Max > 0 && fc.WindowSeconds == 0 {
		v.addf("freqCap.windowSeconds", "must be > 0 when freqCap.max is set")
	}
}

func (v *campaignValidator) validateFlight() {
	if _, _, err := v.c.Flight.Bounds(); err != nil {
		field, msg, _ := strings.Cut(err.Error(), ": ")
		v.addf(field, "%s", msg)
	}
}

func (v *campaignValidator) validateDeals() {
	v.nonEmpty("deals", v.c.Deals)
	if v.c.DealsOnly && len(v.c.Deals) == 0 {
		v.addf("dealsOnly", "is true but deals is empty")
	}
}

// maxDSAText bounds dsa.behalf and dsa.paid, as the DSA extension does.
const maxDSAText = 100

func (v *campaignValidator) validateDSA() {
	d := v.c.DSA
	if d == nil {
		return
	}
	for _, f := range []struct{ name, s string }{{"dsa.behalf", d.Behalf}, {"dsa.paid", d.Paid}} {
		if n := utf8.RuneCountInString(f.s); n == 0 || n > maxDSAText {
			v.addf(f.name, "must have 1 to %d characters, has %d", maxDSAText, n)
		}
	}
	if d.AdRender != 0 && d.AdRender != 1 {
		v.addf("dsa.adRender", "%d must be 0 (the publisher renders the transparency) or 1 (the ad does)", d.AdRender)
	}
	for i, t := range d.Transparency {
		if t.Domain == "" {
			v.addf(fmt.Sprintf("dsa.transparency[%d].domain", i), "must not be empty")
		}
		v.intRange(fmt.Sprintf("dsa.transparency[%d].params", i), "parameter", t.Params, 1, 3)
	}
}

func (v *campaignValidator) validateTargeting() {
	t := &v.c.Targeting
	for i, m := range t.Media {
		if !slices.Contains(mediaNames, m) {
			v.addf(fmt.Sprintf("targeting.media[%d]", i), "unknown media type %q", m)
		}
	}
	v.ints("targeting.protocols", "protocol", t.Protocols, knownProtocol)
	v.intRange("targeting.plcmt", "plcmt", t.Plcmt, 1, 4)
	v.intRange("targeting.deviceTypes", "device type", t.DeviceTypes, 1, 8)
	v.intRange("targeting.hours", "hour", t.Hours, 0, 23)
	v.intRange("targeting.weekdays", "weekday", t.Weekdays, 0, 6)
	v.intRange("targeting.localHours", "hour", t.LocalHours, 0, 23)
	v.intRange("targeting.localWeekdays", "weekday", t.LocalWeekdays, 0, 6)
	for i, c := range t.Countries {
		if !isUpperAlpha(c, 3) {
			v.addf(fmt.Sprintf("targeting.countries[%d]", i), "%q is not an ISO-3166-1 alpha-3 code such as \"USA\"", c)
		}
	}
	v.nonEmpty("targeting.mimes", t.Mimes)
	v.nonEmpty("targeting.os", t.OS)
	v.nonEmpty("targeting.regions", t.Regions)
	v.nonEmpty("targeting.metros", t.Metros)
	v.nonEmpty("targeting.siteDomains", t.SiteDomains)
	v.nonEmpty("targeting.blockSiteDomains", t.BlockSiteDomains)
	v.nonEmpty("targeting.appBundles", t.AppBundles)
	v.nonEmpty("targeting.blockAppBundles", t.BlockAppBundles)
	v.nonEmpty("targeting.publishers", t.Publishers)
	v.nonEmpty("targeting.segments", t.Segments)
}

func (v *campaignValidator) validateCreatives() {
	if len(v.c.Creatives) == 0 {
		v.addf("creatives", "at least one creative is required")
	}
	// Campaigns have a handful of creatives, for which a scan beats a
	// map; a generated one may have thousands.
	var ids map[string]int
	if len(v.c.Creatives) > 32 {
		ids = make(map[string]int, len(v.c.Creatives))
	}
	for i := range v.c.Creatives {
		cr := &v.c.Creatives[i]
		j := -1
		if ids == nil {
			j = slices.IndexFunc(v.c.Creatives[:i], func(o Creative) bool { return o.ID == cr.ID })
		} else if k, ok := ids[cr.ID]; ok {
			j = k
		} else {
			ids[cr.ID] = i
		}
		if j >= 0 {
			v.addf(crField(i, ".id"), "duplicate of creatives[%d] (%q)", j, cr.ID)
		}
		v.validateCreative(i, cr)
	}
}

func (v *campaignValidator) validateCreative(i int, cr *Creative) {
	if !isID(cr.ID) {
		v.addf(crField(i, ".id"), "%q must be 1-64 bytes of [A-Za-z0-9._-]", cr.ID)
	}
	if cr.AdID != "" && !isID(cr.AdID) {
		v.addf(crField(i, ".adid"), "%q must be 1-64 bytes of [A-Za-z0-9._-]", cr.AdID)
	}
	switch cr.Type {
	case MediaBanner:
		if cr.W <= 0 || cr.H <= 0 {
			v.addf(crField(i, ".w"), "banner needs w and h > 0; got %dx%d", cr.W, cr.H)
		}
	case MediaVideo, MediaAudio:
		if cr.Dur <= 0 {
			v.addf(crField(i, ".dur"), "%s needs dur > 0 seconds; got %d", cr.Type, cr.Dur)
		}
		if len(cr.Mimes) == 0 {
			v.addf(crField(i, ".mimes"), "%s needs at least one mime type", cr.Type)
		}
		if slices.Contains(cr.Mimes, "") {
			v.addf(crField(i, ".mimes"), "has an empty mime type")
		}
	case MediaNative:
		if cr.Markup != "" {
			m, err := ParseNativeMarkup(cr.Markup)
			if err != nil {
				v.addf(crField(i, ".markup"), "native markup: %s", err)
			} else if m.hasVideo() && (cr.Dur <= 0 || len(cr.Mimes) == 0) {
				// A request's video asset lists mimes and durations.
				v.addf(crField(i, ".dur"), "native markup with a video needs the video's dur > 0 and mimes")
			}
		}
	default:
		v.addf(crField(i, ".type"), "unknown creative type %q; want banner, video, audio or native", cr.Type)
	}
	v.validateCreativeMeta(i, cr)
}

// The largest creative size, duration and bit rate. Beyond them a value
// is a mistake (a DOOH wall is some thousand pixels, a CTV ad some
// minutes, 4K video some 50,000 kbps), and a pod's sum of durations
// stays far from int32.
const (
	MaxPixels  = 65535
	MaxDur     = 3600
	MaxBitrate = 1_000_000
)

func (v *campaignValidator) validateCreativeMeta(i int, cr *Creative) {
	if cr.Bitrate < 0 || cr.Bitrate > 0 && cr.Type != MediaVideo && cr.Type != MediaAudio {
		v.addf(crField(i, ".bitrate"), "bitrate %d: want kbps >= 0, for video and audio only", cr.Bitrate)
	}
	if cr.Protocol != 0 && !knownProtocol(cr.Protocol) {
		v.addf(crField(i, ".protocol"), "unknown protocol %d", cr.Protocol)
	}
	if cr.W < 0 || cr.H < 0 || cr.Dur < 0 {
		v.addf(crField(i, ""), "w, h and dur must be >= 0")
	}
	if cr.W > MaxPixels || cr.H > MaxPixels {
		v.addf(crField(i, ".w"), "%dx%d: w and h are at most %d pixels", cr.W, cr.H, MaxPixels)
	}
	if cr.Dur > MaxDur {
		v.addf(crField(i, ".dur"), "%d seconds: at most %d", cr.Dur, MaxDur)
	}
	if cr.Bitrate > MaxBitrate {
		v.addf(crField(i, ".bitrate"), "%d kbps: at most %d", cr.Bitrate, MaxBitrate)
	}
	for j, t := range cr.BType {
		if t < 1 || t > 4 || cr.Type != MediaBanner {
			v.addf(crField(i, fmt.Sprintf(".btype[%d]", j)), "banner type %d: want 1 (XHTML text), 2 (XHTML banner), 3 (JavaScript) or 4 (iframe), for banners only", t)
		}
	}
	for j, a := range cr.Attr {
		if a < 1 || a > 17 {
			v.addf(crField(i, fmt.Sprintf(".attr[%d]", j)), "unknown creative attribute %d", a)
		}
	}
	if cr.Lang != "" && !isLowerAlpha(cr.Lang, 2) {
		v.addf(crField(i, ".lang"), "%q is not an ISO-639-1 code such as \"en\"", cr.Lang)
	}
	switch n := len(cr.Markup); {
	case n == 0:
		v.addf(crField(i, ".markup"), "is empty")
	case n > MaxMarkupBytes:
		v.addf(crField(i, ".markup"), "is %d bytes; the limit is %d", n, MaxMarkupBytes)
	}
}

// validateMediaMatch rejects a targeting.media list that disagrees with the
// creatives: a creative of an untargeted type could never serve, and a
// targeted type without a creative could never bid.
func (v *campaignValidator) validateMediaMatch() {
	media := v.c.Targeting.Media
	if len(media) == 0 {
		return
	}
	for i := range v.c.Creatives {
		cr := &v.c.Creatives[i]
		if slices.Contains(mediaNames, cr.Type) && !slices.Contains(media, cr.Type) {
			v.addf(fmt.Sprintf("creatives[%d].type", i), "%q is not in targeting.media %q", cr.Type, media)
		}
	}
	for i, m := range media {
		if !slices.ContainsFunc(v.c.Creatives, func(cr Creative) bool { return cr.Type == m }) {
			v.addf(fmt.Sprintf("targeting.media[%d]", i), "no creative of type %q", m)
		}
	}
}

// crField names a field of creative i; it is only called on error paths.
func crField(i int, sub string) string { return fmt.Sprintf("creatives[%d]%s", i, sub) }

// knownProtocol reports whether p is a code of AdCOM's list of video and
// audio creative subtypes, which OpenRTB 2.6's protocols use: 1-16 (VAST
// 1.0 to 4.3, their wrappers, DAAST 1.0), or 500 and above, the codes
// the list leaves to vendors.
func knownProtocol(p int) bool { return p >= 1 && p <= 16 || p >= 500 }

func (v *campaignValidator) intRange(field, what string, vals []int, lo, hi int) {
	v.ints(field, what, vals, func(x int) bool { return x >= lo && x <= hi })
}

// ints reports the values of a list of codes that known refuses.
func (v *campaignValidator) ints(field, what string, vals []int, known func(int) bool) {
	for i, x := range vals {
		if !known(x) {
			v.addf(fmt.Sprintf("%s[%d]", field, i), "unknown %s %d", what, x)
		}
	}
}

func (v *campaignValidator) nonEmpty(field string, vals []string) {
	for i, s := range vals {
		if s == "" {
			v.addf(fmt.Sprintf("%s[%d]", field, i), "is empty")
		}
	}
}

func isID(s string) bool {
	if len(s) == 0 || len(s) > maxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

func isUpperAlpha(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < n; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

func isLowerAlpha(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < n; i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
