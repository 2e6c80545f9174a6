// Package campaign defines rtbd's data files (campaigns.json and model.json),
// loads and validates them, embeds the demo data set and generates synthetic
// data sets for benchmarks.
//
// Loading happens off the request path (start-up and reload), so it uses
// encoding/json with DisallowUnknownFields and reports every error with the
// campaign id and the field, for example:
//
//	campaigns.json: campaign "ctv-brand-1": targeting.deviceTypes[2]: unknown device type 12
package campaign

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// File is the top-level object of campaigns.json.
type File struct {
	// Version of the format; must be 1.
	Version int `json:"version"`
	// Currency of every money amount in this file (ISO-4217); default "USD".
	Currency  string     `json:"currency,omitempty"`
	Campaigns []Campaign `json:"campaigns"`
}

// Campaign is one line item: what to buy, at what price, how fast.
type Campaign struct {
	// ID is unique in the file, 1-64 bytes of [A-Za-z0-9._-].
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// Seat is the buyer seat id sent in seatbid.seat; optional.
	Seat string `json:"seat,omitempty"`
	// ADomain are the advertiser domains declared on every bid (required, >= 1).
	ADomain []string `json:"adomain"`
	// Bundle is the advertised app's store id (e.g. "com.example.game") for
	// app-install campaigns: sent as bid.bundle and blocked by a request's
	// bapp. Optional.
	Bundle string `json:"bundle,omitempty"`
	// Cat are the advertiser's categories in IAB Content Category
	// Taxonomy 1.0, OpenRTB's default taxonomy (matched to bcat and acat).
	Cat []string `json:"cat,omitempty"`
	// Categories are the advertiser's categories in other taxonomies, for
	// the requests whose cattax names one of them.
	Categories []Categories `json:"categories,omitempty"`

	// Value is the CPM the advertiser is worth at a model score of 1.
	// The bid price is Value x score, capped at MaxCPM.
	Value float64 `json:"value"`
	// MaxCPM caps the bid price (CPM, file currency). Required, > 0.
	MaxCPM float64 `json:"maxCpm"`

	Budget  Budget  `json:"budget"`
	FreqCap FreqCap `json:"freqCap,omitempty"`
	// Flight is when the campaign may bid; nil means always.
	Flight *Flight `json:"flight,omitempty"`

	// Deals are the deal ids this campaign may bid on. With DealsOnly it bids
	// only when one of them is in imp.pmp.deals.
	Deals     []string `json:"deals,omitempty"`
	DealsOnly bool     `json:"dealsOnly,omitempty"`

	// DSA is the campaign's EU Digital Services Act transparency (IAB
	// Tech Lab's DSA extension of OpenRTB 2.6), sent as bid.ext.dsa. A
	// campaign without it does not bid where a request requires it
	// (regs.ext.dsa.dsarequired 2 or 3).
	DSA *DSA `json:"dsa,omitempty"`

	Targeting Targeting  `json:"targeting"`
	Creatives []Creative `json:"creatives"`
}

// Categories lists a campaign's categories in one taxonomy: CatTax is its
// id in AdCOM's List: Category Taxonomies (6 IAB Content Taxonomy 2.2, 7
// Content Taxonomy 3.0, 500 and up vendor specific, ...), 2 to
// MaxCatTax; taxonomy 1 is Campaign.Cat.
type Categories struct {
	CatTax int      `json:"cattax"`
	Cat    []string `json:"cat"`
}

// MaxCatTax bounds a taxonomy id: AdCOM's list ends below 500, and vendor
// ids start there.
const MaxCatTax = 65535

// DSA is a campaign's DSA transparency: on whose behalf the ad shows and
// who paid for it (each 1 to 100 characters), whether the ad renders the
// transparency itself (AdRender 1) or the publisher must (0), and the
// domains that handle transparency and their parameters (1 profiling,
// 2 basic advertising, 3 precise geolocation).
type DSA struct {
	Behalf       string            `json:"behalf"`
	Paid         string            `json:"paid"`
	AdRender     int               `json:"adRender,omitempty"`
	Transparency []DSATransparency `json:"transparency,omitempty"`
}

// DSATransparency is one entry of DSA.Transparency.
type DSATransparency struct {
	Domain string `json:"domain"`
	Params []int  `json:"params,omitempty"`
}

// Budget limits spend. Amounts are in the file currency; 0 means unlimited.
type Budget struct {
	Daily float64 `json:"daily,omitempty"`
	Total float64 `json:"total,omitempty"`
	// Pacing is "even" (spread the daily budget over the day, the default)
	// or "asap".
	Pacing string `json:"pacing,omitempty"`
}

// Flight bounds the time a campaign bids in: from Start, inclusive, to
// End, exclusive, both RFC 3339 times ("2026-12-01T00:00:00Z" or with an
// offset, "2026-12-01T00:00:00-05:00"); either may be empty for no bound.
// Even pacing spreads the daily budget over the part of each day inside
// the flight, and the total budget over the flight when it has both
// bounds.
type Flight struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// NoEnd is what [Flight.Bounds] returns for a flight without an end.
const NoEnd = math.MaxInt64

// Bounds returns the flight's start and end in unix seconds: 0 for no
// start and [NoEnd] for no end, also for a nil f. Fractions of a second
// round up, so that the start is never before the time written.
func (f *Flight) Bounds() (start, end int64, err error) {
	start, end = 0, NoEnd
	if f == nil {
		return start, end, nil
	}
	if f.Start != "" {
		if start, err = flightTime(f.Start); err != nil {
			return 0, NoEnd, fmt.Errorf("flight.start: %w", err)
		}
	}
	if f.End != "" {
		if end, err = flightTime(f.End); err != nil {
			return 0, NoEnd, fmt.Errorf("flight.end: %w", err)
		}
	}
	if end <= start {
		return 0, NoEnd, fmt.Errorf("flight.end: %s is not after flight.start %s", f.End, f.Start)
	}
	return start, end, nil
}

// flightTime parses an RFC 3339 time of Flight into unix seconds.
func flightTime(s string) (int64, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, fmt.Errorf("%q is not an RFC 3339 time such as \"2026-12-01T00:00:00Z\"", s)
	}
	sec := t.Unix()
	if t.Nanosecond() > 0 {
		sec++
	}
	if sec <= 0 {
		return 0, fmt.Errorf("%q is not after 1970", s)
	}
	return sec, nil
}

// FreqCap limits billed impressions per user in a window that opens at the
// user's first counted impression and lasts WindowSeconds (the next one
// after it opens a new window); Max 0 disables it.
type FreqCap struct {
	Max           int `json:"max,omitempty"`
	WindowSeconds int `json:"windowSeconds,omitempty"`
}

// Targeting says which requests a campaign matches. An empty list matches
// everything; a non-empty list must contain the request's value.
type Targeting struct {
	// Media are "banner", "video", "audio", "native"; empty means the media
	// types of the campaign's creatives.
	Media []string `json:"media,omitempty"`

	// Video: the imp's duration range must overlap the creative's duration;
	// these further restrict mimes, protocols and plcmt (2.6) / placement.
	Mimes     []string `json:"mimes,omitempty"`
	Protocols []int    `json:"protocols,omitempty"`
	Plcmt     []int    `json:"plcmt,omitempty"`

	DeviceTypes []int    `json:"deviceTypes,omitempty"` // OpenRTB device types; 3 and 7 are CTV
	OS          []string `json:"os,omitempty"`          // case-insensitive, e.g. "iOS", "Roku"
	Countries   []string `json:"countries,omitempty"`   // ISO-3166-1 alpha-3
	Regions     []string `json:"regions,omitempty"`
	Metros      []string `json:"metros,omitempty"`

	SiteDomains      []string `json:"siteDomains,omitempty"`
	BlockSiteDomains []string `json:"blockSiteDomains,omitempty"`
	AppBundles       []string `json:"appBundles,omitempty"`
	BlockAppBundles  []string `json:"blockAppBundles,omitempty"`
	Publishers       []string `json:"publishers,omitempty"`
	// Segments: the user must be in at least one (user.data[].segment[].id).
	Segments []string `json:"segments,omitempty"`

	// DayParting: UTC hours 0-23 and weekdays 0-6 (0 is Sunday) to bid in.
	Hours    []int `json:"hours,omitempty"`
	Weekdays []int `json:"weekdays,omitempty"`
	// LocalHours and LocalWeekdays are day-parting in the viewer's local
	// time, by the request's device.geo.utcoffset (else user.geo's): a
	// request that does not say the viewer's offset matches neither.
	LocalHours    []int `json:"localHours,omitempty"`
	LocalWeekdays []int `json:"localWeekdays,omitempty"`
}

// Creative is one ad. Banner creatives have W and H; video and audio have
// Dur (seconds) and Mimes.
type Creative struct {
	ID   string `json:"id"`   // crid
	AdID string `json:"adid"` // optional; defaults to ID
	// Type is "banner", "video", "audio" or "native".
	Type  string   `json:"type"`
	W     int      `json:"w,omitempty"`
	H     int      `json:"h,omitempty"`
	Dur   int      `json:"dur,omitempty"`
	Mimes []string `json:"mimes,omitempty"`
	// Protocol is the VAST protocol of a video creative (OpenRTB list).
	Protocol int `json:"protocol,omitempty"`
	// Bitrate is a video or audio creative's bit rate in kbps (its
	// highest, for several renditions), matched to the imp's minbitrate
	// and maxbitrate; 0, unknown, fits any.
	Bitrate int   `json:"bitrate,omitempty"`
	Attr    []int `json:"attr,omitempty"` // creative attributes (matched to battr)
	// BType is a banner creative's ad types, matched to banner.btype (1
	// XHTML text, 2 XHTML banner, 3 JavaScript, 4 iframe). Unset, they
	// are read from the markup: 3 with a <script>, 4 with an <iframe>, 2
	// with an <img>, else 1 (see BannerTypes).
	BType  []int  `json:"btype,omitempty"`
	Lang   string `json:"lang,omitempty"` // ISO-639-1 (matched to wlang)
	Secure bool   `json:"secure,omitempty"`
	// Markup is the adm: HTML for banners, VAST XML for video and audio,
	// native JSON for native. Macros such as ${AUCTION_PRICE} are passed through.
	Markup string `json:"markup"`
}

// Model is model.json: a logistic model over hashed features.
//
// A request and campaign produce feature strings "name=value" for each name
// in Features (see the decision package for the list); each string is hashed
// with xxhash into one of Buckets weights. score = sigmoid(Bias + sum(w)).
type Model struct {
	Version  int       `json:"version"` // 2; 1 only without cross features
	Buckets  int       `json:"buckets"` // power of two, 1..2^24
	Bias     float64   `json:"bias"`
	Features []string  `json:"features"` // feature families, in order
	Weights  []float64 `json:"weights"`  // len(Weights) == Buckets
}

// BannerTypes returns the banner ad types of creative cr (see
// Creative.BType) as a bit mask, bit t for type t.
func (cr *Creative) BannerTypes() uint8 {
	var m uint8
	if len(cr.BType) > 0 {
		for _, t := range cr.BType {
			if t >= 1 && t <= 7 {
				m |= 1 << t
			}
		}
		return m
	}
	markup := strings.ToLower(cr.Markup)
	if strings.Contains(markup, "<script") {
		m |= 1 << 3
	}
	if strings.Contains(markup, "<iframe") {
		m |= 1 << 4
	}
	if strings.Contains(markup, "<img") {
		m |= 1 << 2
	}
	if m == 0 {
		m = 1 << 1
	}
	return m
}
