package campaign

import (
	"fmt"
	"math/rand/v2"
	"strconv"
)

// The vocabularies below are shared by Generate and GenerateCTVRequests so
// that generated campaigns and requests overlap: both draw countries, app
// bundles, publishers, deals and segments from the same skewed pools.

// weighted is a value with a relative popularity.
type weighted struct {
	v string
	w int
}

var countryWeights = []weighted{
	{"USA", 40}, {"GBR", 8}, {"DEU", 7}, {"CAN", 6}, {"FRA", 5}, {"AUS", 4},
	{"JPN", 4}, {"BRA", 4}, {"MEX", 3}, {"IND", 3}, {"ESP", 3}, {"ITA", 3},
	{"NLD", 2}, {"SWE", 1}, {"POL", 1}, {"KOR", 1}, {"ARG", 1}, {"IRL", 1},
}

var usRegions = []string{"CA", "NY", "TX", "FL", "IL", "PA", "OH", "GA", "NC", "MI", "WA", "AZ"}

// usMetros are Nielsen DMA codes (New York, Los Angeles, Chicago, ...).
var usMetros = []string{"501", "803", "602", "504", "623", "807", "511", "618", "506", "524"}

var ctvOS = []weighted{{"Roku", 45}, {"tvOS", 20}, {"Android", 35}}

var words = []string{
	"news", "sport", "daily", "stream", "movie", "play", "tech", "food", "travel", "music",
	"game", "kids", "home", "auto", "money", "health", "style", "world", "local", "star",
	"prime", "live", "zone", "hub", "box", "nation", "city", "wave", "point", "first",
	"blue", "red", "green", "cloud", "spark", "view", "watch", "pulse", "story", "fresh",
}

var tlds = []string{"com", "net", "tv", "co.uk", "de"}

var bannerSizes = [][2]int{{300, 250}, {728, 90}, {320, 50}, {300, 600}, {160, 600}, {320, 480}, {970, 250}, {300, 50}}

var videoMimeSets = [][]string{{"video/mp4"}, {"video/mp4", "video/webm"}, {"video/mp4", "application/x-mpegURL"}}

// Pool sizes; requests pick from the same pools with a Zipf skew.
const (
	poolDomains    = 5000
	poolBundles    = 3000
	poolPublishers = 2000
	poolDeals      = 1000
	poolSegments   = 2000
	poolBrands     = 800
)

// gen wraps the deterministic random source with the skewed pickers.
type gen struct {
	r    *rand.Rand
	zipf map[int]*rand.Zipf
}

func newGen(seed int64) *gen {
	return &gen{r: rand.New(rand.NewPCG(uint64(seed), 0x72746264)), zipf: map[int]*rand.Zipf{}}
}

// skewed returns an index in [0, n) with a Zipf (s = 1.1) popularity.
func (g *gen) skewed(n int) int {
	z := g.zipf[n]
	if z == nil {
		z = rand.NewZipf(g.r, 1.1, 4, uint64(n-1))
		g.zipf[n] = z
	}
	return int(z.Uint64())
}

func (g *gen) chance(p float64) bool  { return g.r.Float64() < p }
func (g *gen) between(lo, hi int) int { return lo + g.r.IntN(hi-lo+1) }
func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }
func (g *gen) money(lo, hi float64) float64 {
	return float64(int((lo+g.r.Float64()*(hi-lo))*100)) / 100
}

func (g *gen) weightedPick(ws []weighted) string {
	total := 0
	for _, w := range ws {
		total += w.w
	}
	n := g.r.IntN(total)
	for _, w := range ws {
		if n < w.w {
			return w.v
		}
		n -= w.w
	}
	panic("BUG: weighted pick out of range")
}

// distinct returns up to n distinct values produced by f (fewer when f keeps
// repeating itself, as a skewed picker does).
func distinct(n int, f func() string) []string {
	out := make([]string, 0, n)
	for tries := 0; len(out) < n && tries < 4*n; tries++ {
		v := f()
		if !containsString(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func containsString(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func domainName(k int) string {
	w := len(words)
	return words[k%w] + words[(k/w)%w] + "." + tlds[(k/w/w)%len(tlds)]
}

// ctvBundle returns the k-th CTV app bundle in the store format of its
// platform: Roku channel ids are numbers, tvOS ids are "id<number>".
func ctvBundle(k int) string {
	switch k % 3 {
	case 0:
		return fmt.Sprint(100000 + k*37)
	case 1:
		return fmt.Sprintf("id%d", 1400000000+k*7919)
	default:
		w := len(words)
		return fmt.Sprintf("com.%s%s.tv%d", words[k%w], words[(k/w)%w], k)
	}
}

func publisherID(k int) string { return "pub-" + pad(k, 5) }
func dealID(k int) string      { return "dl-" + pad(k, 5) }
func segmentID(k int) string   { return "seg-" + pad(k, 4) }

// pad formats k with at least n digits.
func pad(k, n int) string {
	s := strconv.Itoa(k)
	for len(s) < n {
		s = "0" + s
	}
	return s
}

func brandDomain(k int) string {
	w := len(words)
	return words[k%w] + words[(k/w)%w] + strconv.Itoa(k/(w*w)) + ".com"
}

func (g *gen) iabCat() string {
	top := "IAB" + strconv.Itoa(g.between(1, 24))
	if g.chance(0.5) {
		return top
	}
	return top + "-" + strconv.Itoa(g.between(1, 9))
}
