package campaign

import (
	"encoding/json"
	"fmt"
)

// The types below are the subset of OpenRTB 2.6 that generated CTV requests
// carry, in the field order exchanges commonly send.
type (
	genRequest struct {
		ID     string     `json:"id"`
		Imp    []genImp   `json:"imp"`
		App    genApp     `json:"app"`
		Device genDevice  `json:"device"`
		User   genUser    `json:"user"`
		AT     int        `json:"at"`
		TMax   int        `json:"tmax"`
		Cur    []string   `json:"cur"`
		BCat   []string   `json:"bcat,omitempty"`
		BAdv   []string   `json:"badv,omitempty"`
		Regs   genRegs    `json:"regs"`
		Source genSource  `json:"source"`
		Ext    *genReqExt `json:"ext,omitempty"`
	}
	genReqExt struct {
		Exchange string `json:"exchange"`
	}
	genImp struct {
		ID          string   `json:"id"`
		Video       genVideo `json:"video"`
		BidFloor    float64  `json:"bidfloor"`
		BidFloorCur string   `json:"bidfloorcur"`
		Secure      int      `json:"secure"`
		Exp         int      `json:"exp,omitempty"`
		PMP         *genPMP  `json:"pmp,omitempty"`
	}
	genVideo struct {
		Mimes        []string `json:"mimes"`
		MinDuration  int      `json:"minduration,omitempty"`
		MaxDuration  int      `json:"maxduration,omitempty"`
		Protocols    []int    `json:"protocols"`
		W            int      `json:"w"`
		H            int      `json:"h"`
		StartDelay   int      `json:"startdelay"`
		Linearity    int      `json:"linearity"`
		Plcmt        int      `json:"plcmt"`
		PodID        string   `json:"podid"`
		PodSeq       int      `json:"podseq"`
		SlotInPod    int      `json:"slotinpod"`
		PodDur       int      `json:"poddur,omitempty"`
		MaxSeq       int      `json:"maxseq,omitempty"`
		RqdDurs      []int    `json:"rqddurs,omitempty"`
		MinCPMPerSec float64  `json:"mincpmpersec,omitempty"`
		PodDedupe    []int    `json:"poddedupe,omitempty"`
	}
	genPMP struct {
		PrivateAuction int       `json:"private_auction"`
		Deals          []genDeal `json:"deals"`
	}
	genDeal struct {
		ID          string  `json:"id"`
		BidFloor    float64 `json:"bidfloor"`
		BidFloorCur string  `json:"bidfloorcur"`
		AT          int     `json:"at"`
	}
	genApp struct {
		ID        string     `json:"id"`
		Name      string     `json:"name"`
		Bundle    string     `json:"bundle"`
		StoreURL  string     `json:"storeurl"`
		Cat       []string   `json:"cat"`
		Publisher genPub     `json:"publisher"`
		Content   genContent `json:"content"`
	}
	genPub struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	genContent struct {
		ID         string `json:"id"`
		Genre      string `json:"genre"`
		LiveStream int    `json:"livestream"`
		Len        int    `json:"len"`
		Language   string `json:"language"`
	}
	genDevice struct {
		UA         string `json:"ua"`
		IP         string `json:"ip"`
		DeviceType int    `json:"devicetype"`
		Make       string `json:"make"`
		Model      string `json:"model"`
		OS         string `json:"os"`
		OSV        string `json:"osv"`
		IFA        string `json:"ifa"`
		Lmt        int    `json:"lmt"`
		Language   string `json:"language"`
		Geo        genGeo `json:"geo"`
	}
	genGeo struct {
		Country string `json:"country"`
		Region  string `json:"region,omitempty"`
		Metro   string `json:"metro,omitempty"`
		Type    int    `json:"type"`
	}
	genUser struct {
		ID   string    `json:"id"`
		EIDs []genEID  `json:"eids,omitempty"`
		Data []genData `json:"data,omitempty"`
	}
	genEID struct {
		Source string   `json:"source"`
		UIDs   []genUID `json:"uids"`
	}
	genUID struct {
		ID    string `json:"id"`
		AType int    `json:"atype"`
	}
	genData struct {
		ID      string   `json:"id"`
		Segment []genSeg `json:"segment"`
	}
	genSeg struct {
		ID string `json:"id"`
	}
	genRegs struct {
		COPPA     int    `json:"coppa"`
		GDPR      int    `json:"gdpr"`
		USPrivacy string `json:"us_privacy,omitempty"`
	}
	genSource struct {
		TID    string    `json:"tid"`
		SChain genSChain `json:"schain"`
	}
	genSChain struct {
		Complete int        `json:"complete"`
		Ver      string     `json:"ver"`
		Nodes    []genSNode `json:"nodes"`
	}
	genSNode struct {
		ASI string `json:"asi"`
		SID string `json:"sid"`
		HP  int    `json:"hp"`
	}
)

// GenerateCTVRequests returns n OpenRTB 2.6 CTV bid requests (compact JSON,
// 1-3 KB each): an app with a bundle, a CTV device (type 3 or 7, Roku, tvOS
// or Android TV) with an ifa and geo, a user with eids, regs, source.schain,
// and 1-4 video imps forming a structured pod, or one imp with a dynamic pod
// (poddur, maxseq, sometimes rqddurs and mincpmpersec). Floors are in USD.
// Values are drawn from the pools [Generate] uses. Deterministic for a seed.
func GenerateCTVRequests(n int, seed int64) [][]byte {
	g := newGen(seed)
	out := make([][]byte, n)
	for i := range out {
		req := g.ctvRequest(i)
		b := marshalRequest(req)
		if len(b) > maxRequestSize {
			// Rare (4-slot pods with deals, long lists): drop optional parts
			// so that every request stays within 3 KB.
			req.User.Data, req.BAdv, req.Ext = nil, nil, nil
			b = marshalRequest(req)
		}
		out[i] = b
	}
	return out
}

// maxRequestSize is the largest generated request, leaving room below 3 KB.
const maxRequestSize = 2900

func marshalRequest(req *genRequest) []byte {
	b, err := json.Marshal(req)
	if err != nil {
		panic("BUG: cannot marshal generated request: " + err.Error())
	}
	return b
}

func (g *gen) ctvRequest(i int) *genRequest {
	req := &genRequest{
		ID:     g.uuid(),
		AT:     1,
		Cur:    []string{"USD"},
		Regs:   genRegs{USPrivacy: "1YNN"},
		Source: g.source(),
	}
	req.TMax = []int{250, 300, 500, 800}[g.r.IntN(4)]
	bundle := g.skewed(poolBundles)
	req.App = g.app(bundle)
	req.Device = g.device(bundle)
	req.User = g.user()
	if g.chance(0.5) {
		req.BCat = []string{"IAB25", "IAB26", "IAB7-39"}[:g.between(1, 3)]
	}
	if g.chance(0.2) {
		req.BAdv = []string{brandDomain(g.skewed(poolBrands))}
	}
	if g.chance(0.3) {
		req.Ext = &genReqExt{Exchange: fmt.Sprintf("ssp%d", i%5)}
	}
	if g.chance(0.6) {
		req.Imp = g.structuredPod()
	} else {
		req.Imp = g.dynamicPod()
	}
	return req
}

func (g *gen) uuid() string {
	a, b := g.r.Uint64(), g.r.Uint64()
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, a>>16&0xffff, 0x4000|a&0x0fff, 0x8000|b>>48&0x3fff, b&0xffffffffffff)
}

func (g *gen) app(bundle int) genApp {
	pub := g.skewed(poolPublishers)
	name := words[bundle%len(words)] + " " + words[(bundle/len(words))%len(words)] + " TV"
	return genApp{
		ID: fmt.Sprintf("app-%d", bundle), Name: name, Bundle: ctvBundle(bundle),
		StoreURL:  fmt.Sprintf("https://channelstore.example/details/%s", ctvBundle(bundle)),
		Cat:       []string{g.iabCat()},
		Publisher: genPub{ID: publisherID(pub), Name: domainName(pub)},
		Content: genContent{
			ID: fmt.Sprintf("ep-%d", g.r.IntN(100000)), Genre: g.pick([]string{"Drama", "Comedy", "News", "Sports", "Kids", "Documentary"}),
			LiveStream: g.r.IntN(2), Len: 60 * g.between(20, 120), Language: "en",
		},
	}
}

// ctvDevices are realistic device descriptions per platform (bundle k%3).
var ctvDevices = [3]struct{ make, model, os, osv, ua string }{
	{"Roku", "Roku Ultra", "Roku", "12.5.0", "Roku/DVP-12.5 (12.5.0.4174-AE)"},
	{"Apple", "AppleTV11,1", "tvOS", "17.4", "AppleCoreMedia/1.0.0.21L227 (Apple TV; U; CPU OS 17_4 like Mac OS X; en_us)"},
	{"NVIDIA", "SHIELD Android TV", "Android", "11", "Mozilla/5.0 (Linux; Android 11; SHIELD Android TV Build/RQ1A.210105.003; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.43 Mobile Safari/537.36"},
}

func (g *gen) device(bundle int) genDevice {
	d := ctvDevices[bundle%3]
	geo := genGeo{Country: g.weightedPick(countryWeights), Type: 2}
	if geo.Country == "USA" {
		geo.Region = g.pick(usRegions)
		geo.Metro = g.pick(usMetros)
	}
	return genDevice{
		UA: d.ua, IP: fmt.Sprintf("%d.%d.%d.%d", g.between(23, 99), g.r.IntN(256), g.r.IntN(256), g.between(1, 254)),
		DeviceType: []int{3, 3, 7}[g.r.IntN(3)], Make: d.make, Model: d.model, OS: d.os, OSV: d.osv,
		IFA: g.uuid(), Language: "en", Geo: geo,
	}
}

func (g *gen) user() genUser {
	u := genUser{ID: g.uuid()}
	sources := []string{"liveramp.com", "uidapi.com", "adserver.org", "id5-sync.com"}
	for _, s := range sources[:g.between(1, 3)] {
		u.EIDs = append(u.EIDs, genEID{Source: s, UIDs: []genUID{{ID: g.uuid(), AType: 3}}})
	}
	if g.chance(0.5) {
		segs := distinct(g.between(1, 4), func() string { return segmentID(g.skewed(poolSegments)) })
		d := genData{ID: "dmp-1"}
		for _, s := range segs {
			d.Segment = append(d.Segment, genSeg{ID: s})
		}
		u.Data = []genData{d}
	}
	return u
}

func (g *gen) source() genSource {
	s := genSource{TID: g.uuid(), SChain: genSChain{Complete: 1, Ver: "1.0"}}
	for i := range g.between(1, 3) {
		s.SChain.Nodes = append(s.SChain.Nodes, genSNode{
			ASI: []string{"ssp-one.example", "reseller.example", "ctv-exchange.example"}[i],
			SID: fmt.Sprint(g.between(1000, 99999)), HP: 1,
		})
	}
	return s
}
