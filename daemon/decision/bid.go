package decision

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/rtbd/rtbd/daemon/openrtb"
)

// emit appends the bid of opt on imp to resp, reusing the capacity of the
// Bid past its end, whose every field it sets (see Decide).
func (s *Snapshot) emit(c *Ctx, imp *openrtb.Imp, opt *option, resp *openrtb.Response) {
	cc := &s.camps[opt.ord]
	cr := &cc.creatives[opt.cr]
	n := len(resp.Bids)
	if n < cap(resp.Bids) {
		resp.Bids = resp.Bids[:n+1]
	} else {
		resp.Bids = append(resp.Bids, openrtb.Bid{})
	}
	b := &resp.Bids[n]
	// The fields set below only for some bids; the others are set for all.
	b.DealID, b.W, b.H, b.Dur, b.SlotInPod = nil, 0, 0, 0, 0
	b.ID = c.newBidID(s.hostID)
	b.ImpID, b.Price = imp.ID, opt.price
	b.AdID, b.CrID, b.CampaignID = cr.adid, cr.id, cc.id
	b.UserKey, b.Qty = c.userKey, imp.QtyMultiplier
	if cc.freqMax > 0 && c.userKey != 0 {
		c.capBids = append(c.capBids, opt.ord)
	}
	if q := imp.QtyMultiplier; q > 1 {
		c.plays = append(c.plays, play{opt.ord, c.playCost(opt.price, q)})
	}
	b.ADomain = append(b.ADomain[:0], cc.adomain...)
	b.Cat, b.CatTax, b.Static = b.Cat[:0], 0, cr.static
	if len(cc.cats) > 0 {
		cl := &cc.cats[0]
		if tax := c.req.CatTax; tax > 1 && tax != cl.tax {
			if o := cc.catsOf(tax); o != nil {
				cl, b.Static = o, nil // encoded with cats[0]
			}
		}
		b.Cat, b.CatTax = append(b.Cat, cl.cat...), cl.tax
	}
	b.Attr = append(b.Attr[:0], cr.attr...)
	b.MType = cr.mtype
	if opt.deal >= 0 {
		b.DealID = imp.PMP.Deals[opt.deal].ID
	}
	switch cr.media {
	case openrtb.MediaBanner:
		b.W, b.H = bannerSize(cr, &imp.Banner)
	case openrtb.MediaVideo:
		b.Dur, b.SlotInPod = cr.dur, slotInPod(&imp.Video.Pod)
	case openrtb.MediaAudio:
		b.Dur, b.SlotInPod = cr.dur, slotInPod(&imp.Audio.Pod)
	}
	b.Lang, b.AdM, b.AdMEscaped, b.Ext = cr.lang, cr.adm, true, cc.ext
	if cr.native != nil {
		// Made for the request's assets: the encoder writes the fields
		// the static encoding would have, and this markup.
		start := len(c.admBuf)
		c.admBuf = cr.native.appendMarkup(c.admBuf, &imp.Native)
		b.AdM, b.Static = c.admBuf[start:len(c.admBuf):len(c.admBuf)], nil
	}
	// The language in the request's form: wlangb's BCP 47 (ISO-639-1
	// codes are BCP 47 tags too) unless it has wlang. The creative's
	// static encoding has bid.language.
	if b.LangB = len(c.req.WLangB) > 0 && len(c.req.WLang) == 0 && len(cr.lang) > 0; b.LangB {
		b.Static = nil
	}
	b.Seat = cc.seat
	b.Bundle = cc.bundle
	if c.Trace != nil {
		c.Trace.addBid(b, imp, cc, cr)
	}
}

// bannerSize is the creative's size, or the imp's when it has none.
func bannerSize(cr *ccreative, b *openrtb.Banner) (int, int) {
	switch {
	case cr.w > 0 && cr.h > 0:
		return cr.w, cr.h
	case b.W > 0 && b.H > 0:
		return b.W, b.H
	case len(b.Formats) > 0:
		return b.Formats[0].W, b.Formats[0].H
	}
	return 0, 0
}

// bidSeq numbers bids; with the host id and the second it makes bid ids
// unique across hosts and restarts. It starts at the process's start time
// in nanoseconds, so that a process restarted within the same second (a
// crash restarted by systemd at once) does not repeat an id of its
// predecessor: that would take more bids than nanoseconds between the two
// starts. A repeated id would make the restored notice dedupe table (see
// package statefile) drop the new bid's billing notice.
var bidSeq atomic.Uint64

func init() { bidSeq.Store(uint64(time.Now().UnixNano())) }

// newBidID returns "<host>-<unix seconds hex>-<sequence hex>", with a "t"
// appended for test requests (see [IsTestBidID]). The id lives in c.idBuf;
// a full buffer is replaced, never grown in place, so earlier ids stay valid.
func (c *Ctx) newBidID(host []byte) []byte {
	const maxTail = 1 + 16 + 1 + 16 + 1
	if cap(c.idBuf)-len(c.idBuf) < len(host)+maxTail {
		c.idBuf = make([]byte, 0, max(2*cap(c.idBuf), 16*(len(host)+maxTail)))
	}
	start := len(c.idBuf)
	if len(c.idPre) == 0 { // once per request: "<host>-<seconds hex>-"
		c.idPre = append(c.idPre, host...)
		c.idPre = append(c.idPre, '-')
		c.idPre = strconv.AppendUint(c.idPre, uint64(c.sec), 16)
		c.idPre = append(c.idPre, '-')
	}
	c.idBuf = append(c.idBuf, c.idPre...)
	c.idBuf = appendSeq(c.idBuf, bidSeq.Add(1))
	if c.req.Test {
		c.idBuf = append(c.idBuf, 't')
	}
	return c.idBuf[start:len(c.idBuf):len(c.idBuf)]
}

// IsTestBidID reports whether a bid id was made for a test request
// ("test": 1), whose notices must not move spend or frequency counts.
func IsTestBidID(id []byte) bool { return len(id) > 0 && id[len(id)-1] == 't' }

// appendSeq appends bid sequence number v in hex, as strconv.AppendUint
// does. From 2^60 (bidSeq starts at the Unix time in nanoseconds, past
// 2^60 until 2262) it has 16 digits, converted eight at a time.
func appendSeq(dst []byte, v uint64) []byte {
	if v >= 1<<60 {
		return openrtb.AppendHex16(dst, v)
	}
	return strconv.AppendUint(dst, v, 16)
}

// slotInPod is the slotinpod of a bid on an imp with pod: a structured
// slot's own position, which the bid is for. A dynamic pod's bids share
// one imp, and its slotinpod says which positions the seller guarantees
// among them: echoed on every bid, each would claim the same position
// and at most one could be placed, so they claim none (0, any).
func slotInPod(pod *openrtb.Pod) int {
	if isDynamic(pod) {
		return 0
	}
	return pod.SlotInPod
}
