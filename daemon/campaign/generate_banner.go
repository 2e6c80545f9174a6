package campaign

import "fmt"

// GenerateBannerRequests returns n compact display requests (about 900
// bytes each) on the sites, sizes and countries the campaigns of f
// target, for benchmarks: site domains cycle through f's allow lists, and
// sizes, countries, device types, OSes and floors through short fixed
// lists. Deterministic for f and n.
func GenerateBannerRequests(f *File, n int) [][]byte {
	var domains []string
	for i := range f.Campaigns {
		domains = append(domains, f.Campaigns[i].Targeting.SiteDomains...)
	}
	if len(domains) == 0 {
		domains = []string{"example.com"}
	}
	sizes := [][2]int{{300, 250}, {728, 90}, {320, 50}, {300, 600}}
	countries := []string{"USA", "USA", "GBR", "DEU", "CAN"}
	oses := []string{"Windows", "iOS", "Android"}
	out := make([][]byte, n)
	for i := range out {
		sz, dom := sizes[i%len(sizes)], domains[i*7%len(domains)]
		out[i] = fmt.Appendf(nil, `{"id":"b-%d","imp":[{"id":"1","banner":{"w":%d,"h":%d,"format":[{"w":%d,"h":%d}]},`+
			`"bidfloor":%.1f,"bidfloorcur":"USD","secure":1}],"site":{"id":"s-%d","domain":%q,"page":"https://%s/news/%d",`+
			`"cat":["IAB12"],"publisher":{"id":"pub-%05d"}},"device":{"ua":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) `+
			`AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36","ip":"98.242.%d.%d","devicetype":%d,`+
			`"os":%q,"geo":{"country":%q,"region":"CA","metro":"803"}},"user":{"id":"u-%d"},"at":1,"tmax":300,"cur":["USD"],`+
			`"bcat":["IAB25","IAB26"],"regs":{"coppa":0,"gdpr":0,"us_privacy":"1YNN"},"source":{"tid":"t-%d"}}`,
			i, sz[0], sz[1], sz[0], sz[1], float64(i%5)*0.5, i%50, dom, dom, i, i%50, i%256, i*7%256,
			[]int{2, 4, 1}[i%3], oses[i%len(oses)], countries[i%len(countries)], i, i)
	}
	return out
}
