package campaign

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestGeneratedRequestsOverlapCampaigns checks, with a deliberately simple
// matcher (not the decision engine), that a fair share of generated CTV
// requests has at least one generated campaign that could bid: the pools
// and value ranges of both generators overlap.
func TestGeneratedRequestsOverlapCampaigns(t *testing.T) {
	t.Parallel()
	file := Generate(1000, 1)
	reqs := GenerateCTVRequests(200, 1)
	matched, pairs := 0, 0
	for i, b := range reqs {
		var req overlapRequest
		if err := json.Unmarshal(b, &req); err != nil {
			t.Fatalf("request %d: cannot decode: %s", i, err)
		}
		n := 0
		for j := range file.Campaigns {
			if req.matches(&file.Campaigns[j]) {
				n++
			}
		}
		pairs += n
		if n > 0 {
			matched++
		}
	}
	if matched < len(reqs)/2 {
		t.Fatalf("too little overlap: %d of %d requests have a candidate campaign; want at least half", matched, len(reqs))
	}
	// Targeting is selective: a request matches a few percent of the book.
	if share := float64(pairs) / float64(len(reqs)*len(file.Campaigns)); share < 0.005 || share > 0.15 {
		t.Fatalf("unexpected share of matching (request, campaign) pairs: %.4f; want 0.005-0.15", share)
	}
}

type overlapRequest struct {
	Imp []struct {
		BidFloor float64
		Video    struct {
			Mimes                    []string
			MinDuration, MaxDuration int
			PodDur                   int
			RqdDurs                  []int
		}
		PMP *struct{ Deals []struct{ ID string } }
	}
	App struct {
		Bundle    string
		Publisher struct{ ID string }
	}
	Device struct {
		DeviceType int
		OS         string
		Geo        struct{ Country, Region, Metro string }
	}
	User struct {
		Data []struct{ Segment []struct{ ID string } }
	}
}

func (r *overlapRequest) matches(c *Campaign) bool {
	t := &c.Targeting
	d := &r.Device
	if len(t.SiteDomains) > 0 || len(t.Hours) > 0 || len(t.Weekdays) > 0 ||
		!anyOrContains(t.Media, MediaVideo) || !intAnyOrContains(t.DeviceTypes, d.DeviceType) ||
		len(t.OS) > 0 && !slices.ContainsFunc(t.OS, func(os string) bool { return strings.EqualFold(os, d.OS) }) ||
		!anyOrContains(t.Countries, d.Geo.Country) || !anyOrContains(t.Regions, d.Geo.Region) ||
		!anyOrContains(t.Metros, d.Geo.Metro) || !anyOrContains(t.AppBundles, r.App.Bundle) ||
		slices.Contains(t.BlockAppBundles, r.App.Bundle) || !anyOrContains(t.Publishers, r.App.Publisher.ID) ||
		!r.inSegments(t.Segments) {
		return false
	}
	imp := &r.Imp[0]
	if c.DealsOnly && (imp.PMP == nil || !slices.ContainsFunc(imp.PMP.Deals, func(dl struct{ ID string }) bool { return slices.Contains(c.Deals, dl.ID) })) {
		return false
	}
	if c.MaxCPM < imp.BidFloor {
		return false
	}
	return slices.ContainsFunc(c.Creatives, func(cr Creative) bool {
		v := &imp.Video
		fits := cr.Dur >= v.MinDuration && (v.MaxDuration == 0 || cr.Dur <= v.MaxDuration)
		if len(v.RqdDurs) > 0 {
			fits = slices.Contains(v.RqdDurs, cr.Dur)
		}
		return cr.Type == MediaVideo && fits && slices.ContainsFunc(cr.Mimes, func(m string) bool { return slices.Contains(v.Mimes, m) })
	})
}

func (r *overlapRequest) inSegments(segs []string) bool {
	if len(segs) == 0 {
		return true
	}
	for _, d := range r.User.Data {
		for _, s := range d.Segment {
			if slices.Contains(segs, s.ID) {
				return true
			}
		}
	}
	return false
}

func anyOrContains(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }

func intAnyOrContains(list []int, v int) bool { return len(list) == 0 || slices.Contains(list, v) }
