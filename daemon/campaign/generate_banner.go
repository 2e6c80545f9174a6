package campaign

import "fmt"

// GenerateBannerRequests returns n compact display requests of about 1.7 KB,
// the size and shape of what an exchange or Prebid Server sends a bidder
// (imp tag id and ext, page and referrer, user agent and client hints,
// user ids from several providers, a supply chain, privacy strings), on
// the sites, sizes and countries the campaigns of f target: site domains
// cycle through f's allow lists, and sizes, countries, device types, OSes
// and floors through short fixed lists. Deterministic for f and n.
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
		out[i] = fmt.Appendf(nil, `{"id":"b-%d","imp":[{"id":"1","tagid":"%s-%dx%d-atf","banner":{"w":%d,"h":%d,"format":[{"w":%d,"h":%d}],"pos":1},`+
			`"bidfloor":%.1f,"bidfloorcur":"USD","secure":1,"ext":{"gpid":"/21799830/%s/%dx%d","tid":"6b4f%04x-5c1d-4a7e-9d7b-2f0a9c1e%04x"}}],`+
			`"site":{"id":"s-%d","domain":%q,"page":"https://%s/news/2026/11/%d/story-%d.html","ref":"https://www.google.com/",`+
			`"cat":["IAB12"],"keywords":"news,politics,world","publisher":{"id":"pub-%05d","domain":%q}},`+
			`"device":{"ua":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",`+
			`"sua":{"source":2,"platform":{"brand":"Windows","version":["15","0","0"]},"browsers":[{"brand":"Chromium","version":["120","0","6099","130"]},`+
			`{"brand":"Google Chrome","version":["120","0","6099","130"]}],"mobile":0},"ip":"98.242.%d.%d","devicetype":%d,"os":%q,"language":"en",`+
			`"js":1,"dnt":0,"geo":{"country":%q,"region":"CA","metro":"803","type":2}},`+
			`"user":{"id":"u-%d","buyeruid":"9f2c%08x","eids":[{"source":"liveramp.com","uids":[{"id":"XY1000bIVBVah9ium-sZ3ykhPiXQbEcUpn4GjCtxrrw2BRDGM-%d","atype":3}]},`+
			`{"source":"uidapi.com","uids":[{"id":"A4AAAAB%08xbG1x3bFxb9xZzQ1Mjg3NTk0Nzc=","atype":3}]},{"source":"pubcid.org","uids":[{"id":"c1e0%04x-3a6f-4a2b-8c1d-5e9f0a7b%04x","atype":1}]}]},`+
			`"at":1,"tmax":300,"cur":["USD"],"bcat":["IAB25","IAB26"],"regs":{"coppa":0,"gdpr":0,"us_privacy":"1YNN"},`+
			`"source":{"tid":"t-%d","schain":{"complete":1,"ver":"1.0","nodes":[{"asi":"exchange-one.example","sid":"%d","hp":1},{"asi":"reseller.example","sid":"r-%d","hp":1}]}},`+
			`"ext":{"prebid":{"channel":{"name":"web","version":"9.20.0"}}}}`,
			i, dom, sz[0], sz[1], sz[0], sz[1], sz[0], sz[1], float64(i%5)*0.5, dom, sz[0], sz[1], i&0xffff, i*31&0xffff,
			i%50, dom, dom, 1+i%28, i, i%50, dom, i%256, i*7%256, []int{2, 4, 1}[i%3], oses[i%len(oses)], countries[i%len(countries)],
			i, uint32(i)*2654435761, i, uint32(i)*40503, i&0xffff, i*17&0xffff, i, 1000+i%977, i%89)
	}
	return out
}
