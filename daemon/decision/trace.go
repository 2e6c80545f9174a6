package decision

import (
	"encoding/json"

	"github.com/rtbd/rtbd/daemon/openrtb"
)

// Trace records a decision for /admin/explain: for every imp and media
// type, what happened to every campaign, and the bids made. Tracing turns
// off the price cut-off, so it explains every campaign, and it allocates.
// The zero value is ready to use.
type Trace struct {
	Campaigns []TraceCampaign `json:"campaigns"`
	Bids      []TraceBid      `json:"bids"`

	imp   string
	media string
}

// TraceCampaign is what happened to one campaign on one imp and media type.
type TraceCampaign struct {
	Imp      string `json:"imp"`
	Media    string `json:"media"`
	Campaign string `json:"campaign"`
	// Filter names what removed the campaign: a targeting dimension
	// ("country", "inventory", "banner_size", ...), a block list ("bcat",
	// "badv", "battr", "wlang", "secure", ...), "creative" (no creative
	// fits), a pacing state ("ahead", "daily_spent", "total_spent",
	// "not_started" and "ended" outside the flight), "play_over_budget"
	// (a DOOH play's impressions cost more than a budget has left),
	// "freq_cap" or "below_floor". Empty when the campaign was priced.
	Filter string  `json:"filter,omitempty"`
	Score  float64 `json:"score,omitempty"`
	Price  float64 `json:"price,omitempty"`
}

// TraceBid is one bid of the response.
type TraceBid struct {
	Imp      string  `json:"imp"`
	Campaign string  `json:"campaign"`
	Creative string  `json:"creative"`
	Price    float64 `json:"price"`
	Deal     string  `json:"deal,omitempty"`
	Dur      int     `json:"dur,omitempty"`
}

// AppendJSON appends t as a JSON object to dst.
func (t *Trace) AppendJSON(dst []byte) []byte {
	b, err := json.Marshal(t)
	if err != nil {
		panic("BUG: cannot marshal a trace: " + err.Error())
	}
	return append(dst, b...)
}

// add records campaign o's outcome.
// at labels the entries that follow with imp and media type bit mb.
func (t *Trace) at(imp *openrtb.Imp, mb int) { t.imp, t.media = string(imp.ID), mediaNames[mb] }

func (t *Trace) add(c *Ctx, o int, filter string, score, price float64) {
	if price > 0 {
		filter = ""
	}
	t.Campaigns = append(t.Campaigns, TraceCampaign{
		Imp: t.imp, Media: t.media, Campaign: string(c.snap.camps[o].id),
		Filter: filter, Score: score, Price: price,
	})
}

func (t *Trace) addBid(b *openrtb.Bid, imp *openrtb.Imp, cc *ccamp, cr *ccreative) {
	t.Bids = append(t.Bids, TraceBid{
		Imp: string(imp.ID), Campaign: string(cc.id), Creative: string(cr.id),
		Price: b.Price, Deal: string(b.DealID), Dur: b.Dur,
	})
}

// traceFiltered records, for every campaign the index removes, the first
// term (dimension) that removes it.
func (s *Snapshot) traceFiltered(c *Ctx, imp *openrtb.Imp, mb int) {
	t := c.Trace
	t.at(imp, mb)
	all := c.allTerms()
	for o := range s.camps {
		for _, tm := range all {
			if !tm.pre && !tm.has(o) {
				t.add(c, o, tm.name, 0, 0)
				break
			}
		}
	}
}
