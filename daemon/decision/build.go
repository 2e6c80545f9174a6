package decision

import (
	"slices"

	"github.com/cespare/xxhash/v2"
	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

// index is the targeting index: one dim per targeting dimension. Each
// request value selects a posting list; the candidates of an imp are the
// AND over dimensions of (campaigns without a constraint | the value's
// posting), minus the postings of blocked values.
type index struct {
	n int

	media     dim // key intKey(bit number): campaigns with a creative or target of the type
	device    dim
	os        dim // folded
	country   dim // folded
	region    dim // folded
	metro     dim // folded
	inventory dim // allow lists: site domain (folded) or app bundle (folded ^ appSalt)
	blockInv  dim // block lists, same keys
	publisher dim
	segment   dim
	hour      dim
	weekday   dim
	// localHour and localWeekday are day-parting in the viewer's time.
	localHour    dim
	localWeekday dim
	deal         dim // any: campaigns that may bid without a deal
	seat         dim // any: campaigns without a seat
	cat          dim // campaign categories, key xxhash ^ taxSalt(taxonomy), for bcat and acat
	catTax       dim // the taxonomies campaigns have categories in, key intKey(taxonomy)
	adomain      dim // folded advertiser domains, for badv and bapp
	bundle       dim // folded app-install bundle ids, for bapp
	size         dim // banner creative sizes, key intKey(w<<32|h)
	vdur         dim // video creative durations
	adur         dim // audio creative durations
	mimes        dim // targeting.mimes, folded
	protocol     dim
	plcmt        dim
	dsa          dim // campaigns with DSA transparency, key intKey(adRender)

	vdurs, adurs []int // distinct creative durations, ascending
	// vdurBits[o] has bit i when campaign o has a video creative of
	// vdurs[i] (the postings of vdur as bits, for jointScan); nil with
	// more than 64 durations or none. adurBits likewise.
	vdurBits, adurBits []uint64
}

// dimSet lists the builders of an index in build order.
type indexBuilder struct {
	media, device, os, country, region, metro, inventory, blockInv, publisher,
	segment, hour, weekday, localHour, localWeekday, deal, seat, cat, catTax, adomain, bundle, size, vdur, adur, mimes,
	protocol, plcmt, dsa *dimBuilder
	vdurs, adurs map[int]bool
}

// buildIndex builds the index of the campaigns in order, keeping postings
// of fewer than 1/dense of them as sorted lists (see denseBelow).
func buildIndex(f *campaign.File, order []int, camps []ccamp, dense int) index {
	n := len(order)
	b := &indexBuilder{vdurs: map[int]bool{}, adurs: map[int]bool{}}
	for _, p := range b.all() {
		*p = newDimBuilder(n, dense)
	}
	for o, fi := range order {
		b.addCampaign(o, &f.Campaigns[fi], &camps[o])
	}
	ix := index{n: n}
	dims := ix.all()
	for i, p := range b.all() {
		*dims[i] = (*p).build()
	}
	ix.vdurs = sortedKeys(b.vdurs)
	ix.adurs = sortedKeys(b.adurs)
	ix.vdurBits = durBits(camps, openrtb.MediaVideo, ix.vdurs)
	ix.adurBits = durBits(camps, openrtb.MediaAudio, ix.adurs)
	return ix
}

func (b *indexBuilder) all() []**dimBuilder {
	return []**dimBuilder{&b.media, &b.device, &b.os, &b.country, &b.region, &b.metro,
		&b.inventory, &b.blockInv, &b.publisher, &b.segment, &b.hour, &b.weekday, &b.localHour, &b.localWeekday, &b.deal,
		&b.seat, &b.cat, &b.catTax, &b.adomain, &b.bundle, &b.size, &b.vdur, &b.adur, &b.mimes, &b.protocol, &b.plcmt, &b.dsa}
}

func (ix *index) all() []*dim {
	return []*dim{&ix.media, &ix.device, &ix.os, &ix.country, &ix.region, &ix.metro,
		&ix.inventory, &ix.blockInv, &ix.publisher, &ix.segment, &ix.hour, &ix.weekday, &ix.localHour, &ix.localWeekday, &ix.deal,
		&ix.seat, &ix.cat, &ix.catTax, &ix.adomain, &ix.bundle, &ix.size, &ix.vdur, &ix.adur, &ix.mimes, &ix.protocol, &ix.plcmt, &ix.dsa}
}

// durBits returns, per campaign, bit i for a creative of media and
// duration durs[i]; nil when durs is empty or longer than 64.
func durBits(camps []ccamp, media openrtb.MediaType, durs []int) []uint64 {
	if len(durs) == 0 || len(durs) > 64 {
		return nil
	}
	bits := make([]uint64, len(camps))
	for o := range camps {
		for i := range camps[o].creatives {
			if cr := &camps[o].creatives[i]; cr.media == media {
				bits[o] |= 1 << slices.Index(durs, cr.dur)
			}
		}
	}
	return bits
}

func sortedKeys(m map[int]bool) []int {
	var s []int
	for k := range m {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

func addInts(b *dimBuilder, o int, vals []int) {
	if len(vals) == 0 {
		b.addAny(o)
	}
	for _, v := range vals {
		b.add(o, intKey(uint64(v)))
	}
}

func addFolded(b *dimBuilder, o int, vals []string, salt uint64) {
	for _, v := range vals {
		b.add(o, hashFoldString(v)^salt)
	}
}

// addHosts adds the hosts of a campaign's site domains (see siteHost):
// "https://Example.com/" lists example.com.
func addHosts(b *dimBuilder, o int, domains []string) {
	for _, d := range domains {
		b.add(o, hashFold(siteHost([]byte(d))))
	}
}

func addExact(b *dimBuilder, o int, vals []string) {
	if len(vals) == 0 {
		b.addAny(o)
	}
	for _, v := range vals {
		b.add(o, xxhash.Sum64String(v))
	}
}

func addFoldedOrAny(b *dimBuilder, o int, vals []string) {
	if len(vals) == 0 {
		b.addAny(o)
	}
	addFolded(b, o, vals, 0)
}

func (b *indexBuilder) addCampaign(o int, c *campaign.Campaign, cc *ccamp) {
	t := &c.Targeting
	b.addMedia(o, c, cc)
	addInts(b.device, o, t.DeviceTypes)
	addFoldedOrAny(b.os, o, t.OS)
	addFoldedOrAny(b.country, o, t.Countries)
	addFoldedOrAny(b.region, o, t.Regions)
	addFoldedOrAny(b.metro, o, t.Metros)
	if len(t.SiteDomains)+len(t.AppBundles) == 0 {
		b.inventory.addAny(o)
	}
	addHosts(b.inventory, o, t.SiteDomains)
	addFolded(b.inventory, o, t.AppBundles, appSalt)
	addHosts(b.blockInv, o, t.BlockSiteDomains)
	addFolded(b.blockInv, o, t.BlockAppBundles, appSalt)
	addExact(b.publisher, o, t.Publishers)
	addExact(b.segment, o, t.Segments)
	addInts(b.hour, o, t.Hours)
	addInts(b.weekday, o, t.Weekdays)
	addInts(b.localHour, o, t.LocalHours)
	addInts(b.localWeekday, o, t.LocalWeekdays)
	if !cc.dealsOnly {
		b.deal.addAny(o)
	}
	for _, h := range cc.deals {
		b.deal.add(o, h)
	}
	if c.DSA != nil {
		b.dsa.add(o, intKey(uint64(c.DSA.AdRender)))
	}
	if c.Seat == "" {
		b.seat.addAny(o)
	} else {
		b.seat.add(o, xxhash.Sum64String(c.Seat))
		b.seat.filter.add(cc.seat)
	}
	for _, h := range cc.catH {
		b.cat.add(o, h)
	}
	for _, cl := range cc.cats {
		b.catTax.add(o, intKey(uint64(cl.tax)))
		for _, v := range cl.cat {
			b.cat.filter.add(v)
			// A tier-1 code of IAB's 1.0 taxonomy in bcat blocks its
			// tier-2 codes too (and in acat allows them): "IAB14"
			// covers "IAB14-1". The later taxonomies' ids are numbers
			// whose parents only their tables know.
			if p := iabParent(v); cl.tax <= 1 && p != nil {
				b.cat.add(o, xxhash.Sum64(p)^taxSalt(cl.tax))
				b.cat.filter.add(p)
			}
		}
	}
	for i, h := range cc.adomainH {
		b.adomain.add(o, h)
		b.adomain.filter.add(cc.adomain[i])
	}
	if len(cc.bundle) > 0 {
		b.bundle.add(o, hashFold(cc.bundle))
		b.bundle.filter.add(cc.bundle)
	}
	addFoldedOrAny(b.mimes, o, t.Mimes)
	addInts(b.protocol, o, t.Protocols)
	addInts(b.plcmt, o, t.Plcmt)
}

// addMedia indexes the campaign's media types and its creatives' sizes
// and durations.
func (b *indexBuilder) addMedia(o int, c *campaign.Campaign, cc *ccamp) {
	var media openrtb.MediaType
	for _, m := range c.Targeting.Media {
		media |= mediaByName[m]
	}
	for i := range cc.creatives {
		cr := &cc.creatives[i]
		if len(c.Targeting.Media) == 0 {
			media |= cr.media
		}
		switch cr.media {
		case openrtb.MediaBanner:
			if cr.w <= 0 || cr.h <= 0 {
				b.size.addAny(o)
			} else {
				b.size.add(o, intKey(uint64(cr.w)<<32|uint64(cr.h)))
			}
		case openrtb.MediaVideo:
			b.vdur.add(o, intKey(uint64(cr.dur)))
			b.vdurs[cr.dur] = true
		case openrtb.MediaAudio:
			b.adur.add(o, intKey(uint64(cr.dur)))
			b.adurs[cr.dur] = true
		}
	}
	for i := 0; i < 4; i++ {
		if media&(1<<i) != 0 {
			b.media.add(o, intKey(uint64(i)))
		}
	}
}

// iabParent returns the tier-1 code of an IAB 1.0 tier-2 code ("IAB14"
// of "IAB14-1"), or nil when v is not one.
func iabParent(v []byte) []byte {
	if len(v) < 6 || string(v[:3]) != "IAB" {
		return nil
	}
	i := 3
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	if i == 3 || i+1 >= len(v) || v[i] != '-' {
		return nil
	}
	for _, c := range v[i+1:] {
		if c < '0' || c > '9' {
			return nil
		}
	}
	return v[:i]
}
