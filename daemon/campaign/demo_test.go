package campaign

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/rtbd/rtbd/daemon/corpus"
)

var update = flag.Bool("update", false, "rewrite demo/model.json from GenerateModel")

// demoModelSeed is the seed demo/model.json was generated with.
const demoModelSeed = 1

func TestDemoModelIsGenerated(t *testing.T) {
	want, err := json.Marshal(GenerateModel(4096, demoModelSeed))
	if err != nil {
		t.Fatalf("cannot encode model: %s", err)
	}
	want = append(want, '\n')
	if *update {
		if err := os.WriteFile("demo/model.json", want, 0o644); err != nil {
			t.Fatalf("cannot write demo model: %s", err)
		}
	}
	if got := demoBytes(modelName); !bytes.Equal(got, want) {
		t.Fatalf("demo/model.json is not GenerateModel(4096, %d); run go test ./daemon/campaign -run TestDemoModelIsGenerated -update", demoModelSeed)
	}
}

func TestDemo(t *testing.T) {
	f, m := Demo()
	if n := len(f.Campaigns); n < 12 || n > 20 {
		t.Fatalf("unexpected number of demo campaigns; got %d; want 12-20", n)
	}
	if m.Buckets != 4096 || len(m.Features) != len(FeatureNames) {
		t.Fatalf("unexpected demo model: %d buckets, features %q", m.Buckets, m.Features)
	}
	if f.Currency != "USD" {
		t.Fatalf("unexpected demo currency %q", f.Currency)
	}
	// Demo returns fresh copies: changing one must not change the next.
	f.Campaigns[0].ID = "changed"
	if f2, _ := Demo(); f2.Campaigns[0].ID == "changed" {
		t.Fatalf("Demo returned shared data")
	}
}

// corpusFacts collects what the shared corpus requests offer.
type corpusFacts struct {
	deals     map[string]bool
	sizes     map[[2]int]bool
	countries map[string]bool
}

func loadCorpusFacts(t *testing.T) corpusFacts {
	t.Helper()
	cf := corpusFacts{deals: map[string]bool{}, sizes: map[[2]int]bool{}, countries: map[string]bool{}}
	type format struct{ W, H any }
	var req struct {
		Imp []struct {
			Banner *struct {
				W, H   any
				Format []format
			}
			PMP *struct{ Deals []struct{ ID string } }
		}
		Device struct{ Geo struct{ Country string } }
	}
	for _, file := range corpus.Requests() {
		req.Imp, req.Device.Geo.Country = nil, ""
		if err := json.Unmarshal(file.Body, &req); err != nil {
			continue // a few corpus files use types encoding/json rejects
		}
		cf.countries[req.Device.Geo.Country] = true
		for _, imp := range req.Imp {
			if imp.PMP != nil {
				for _, d := range imp.PMP.Deals {
					cf.deals[d.ID] = true
				}
			}
			if b := imp.Banner; b != nil {
				cf.addSize(b.W, b.H)
				for _, f := range b.Format {
					cf.addSize(f.W, f.H)
				}
			}
		}
	}
	return cf
}

func (cf corpusFacts) addSize(w, h any) {
	if w, ok := w.(float64); ok {
		if h, ok := h.(float64); ok {
			cf.sizes[[2]int{int(w), int(h)}] = true
		}
	}
}

// TestDemoMatchesCorpus checks that the demo campaigns target what the corpus
// offers: their deal ids, countries and banner sizes occur in corpus requests,
// and every media type of the corpus has a campaign.
func TestDemoMatchesCorpus(t *testing.T) {
	cf := loadCorpusFacts(t)
	f, _ := Demo()
	media := map[string]bool{}
	var ctv, geo, dayParted bool
	for _, c := range f.Campaigns {
		for _, d := range c.Deals {
			if !cf.deals[d] {
				t.Errorf("campaign %q: deal %q is in no corpus request", c.ID, d)
			}
		}
		for _, cc := range c.Targeting.Countries {
			geo = true
			if !cf.countries[cc] && !slices.Contains([]string{"DEU", "ESP"}, cc) {
				t.Errorf("campaign %q: country %q is in no corpus request", c.ID, cc)
			}
		}
		ctv = ctv || slices.Contains(c.Targeting.DeviceTypes, 3) && slices.Contains(c.Targeting.DeviceTypes, 7)
		dayParted = dayParted || len(c.Targeting.Hours) > 0
		for _, cr := range c.Creatives {
			media[cr.Type] = true
			checkDemoCreative(t, cf, &c, &cr)
		}
	}
	if len(media) != 4 || !ctv || !geo || !dayParted {
		t.Fatalf("demo lacks a kind of campaign: media %v, ctv %v, geo %v, day-parted %v", media, ctv, geo, dayParted)
	}
}

func checkDemoCreative(t *testing.T, cf corpusFacts, c *Campaign, cr *Creative) {
	t.Helper()
	switch cr.Type {
	case MediaBanner:
		if !cf.sizes[[2]int{cr.W, cr.H}] && !slices.Contains([]string{"320x480", "1920x1080"}, sizeString(cr)) {
			t.Errorf("campaign %q: creative %q: size %s is in no corpus request", c.ID, cr.ID, sizeString(cr))
		}
	case MediaVideo:
		if !strings.Contains(cr.Markup, "${AUCTION_PRICE}") || !strings.HasPrefix(cr.Markup, "<VAST") {
			t.Errorf("campaign %q: creative %q: markup is not VAST with ${AUCTION_PRICE}", c.ID, cr.ID)
		}
		if !slices.Contains([]int{6, 15, 20, 30, 60}, cr.Dur) || !slices.Contains(cr.Mimes, "video/mp4") {
			t.Errorf("campaign %q: creative %q: unexpected dur %d or mimes %q", c.ID, cr.ID, cr.Dur, cr.Mimes)
		}
	}
	if c.MaxCPM < 0.5 || c.MaxCPM > 40 {
		t.Errorf("campaign %q: maxCpm %v outside 0.5-40", c.ID, c.MaxCPM)
	}
}

func sizeString(cr *Creative) string { return fmt.Sprintf("%dx%d", cr.W, cr.H) }
