package campaign

import (
	"embed"
	"errors"
	"fmt"

	"github.com/rtbd/rtbd/daemon/jsonkeys"
	"github.com/rtbd/rtbd/daemon/opfile"
)

// demoFS holds the demo data set: campaigns that bid on the realistic requests
// of the shared corpus (daemon/corpus) and a small model, so that rtbd serves
// real bids with no data files at all.
//
//go:embed demo/campaigns.json demo/model.json
var demoFS embed.FS

// File names used in error messages when no path is known.
const (
	campaignsName = "campaigns.json"
	modelName     = "model.json"
)

// ParseCampaigns decodes and validates campaigns.json and applies the
// defaults described in [File.SetDefaults].
//
// Unknown fields are errors, so a misspelt field cannot silently disable a
// targeting rule. Syntax and type errors carry the line and column, e.g.
// "campaigns.json:14:7: cannot parse: invalid character '}' ..."; validation
// errors are a *[ValidationError].
func ParseCampaigns(b []byte) (*File, error) {
	return parseCampaigns(campaignsName, b)
}

// ParseModel decodes and validates model.json; see [ParseCampaigns] for the
// error forms.
func ParseModel(b []byte) (*Model, error) {
	return parseModel(modelName, b)
}

func parseCampaigns(name string, b []byte) (*File, error) {
	var f File
	if err := decodeStrict(name, b, &f); err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, withFile(name, err)
	}
	f.SetDefaults()
	return &f, nil
}

func parseModel(name string, b []byte) (*Model, error) {
	var m Model
	if err := decodeStrict(name, b, &m); err != nil {
		return nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, withFile(name, err)
	}
	return &m, nil
}

// decodeStrict decodes exactly one JSON value from b into v as
// [jsonkeys.Decode] does, with errors as "name:line:col: cannot parse: msg".
func decodeStrict(name string, b []byte, v any) error {
	err := jsonkeys.Decode(b, v)
	if e, ok := errors.AsType[*jsonkeys.Error](err); ok {
		if e.Line == 0 {
			return fmt.Errorf("%s: cannot parse: %s", name, e.Msg)
		}
		return fmt.Errorf("%s:%d:%d: cannot parse: %s", name, e.Line, e.Col, e.Msg)
	}
	return err
}

// SetDefaults fills the documented defaults in place: Currency "USD",
// Budget.Pacing "even" and Creative.AdID = Creative.ID. [ParseCampaigns] and
// [Generate] call it, so consumers never see the empty forms.
func (f *File) SetDefaults() {
	if f.Currency == "" {
		f.Currency = "USD"
	}
	for i := range f.Campaigns {
		c := &f.Campaigns[i]
		if c.Budget.Pacing == "" {
			c.Budget.Pacing = PacingEven
		}
		for j := range c.Creatives {
			cr := &c.Creatives[j]
			if cr.AdID == "" {
				cr.AdID = cr.ID
			}
		}
	}
}

// Load reads and validates the campaigns and model files. An empty path
// selects the embedded demo campaigns or model respectively. Errors name the
// path. Load is meant for start-up and reload, never the request path.
func Load(campaignsPath, modelPath string) (*File, *Model, error) {
	f, err := loadCampaigns(campaignsPath)
	if err != nil {
		return nil, nil, err
	}
	m, err := loadModel(modelPath)
	if err != nil {
		return nil, nil, err
	}
	return f, m, nil
}

func loadCampaigns(path string) (*File, error) {
	if path == "" {
		return parseCampaigns("demo/"+campaignsName, demoBytes(campaignsName))
	}
	b, err := readRegular(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read campaigns: %w", err)
	}
	return parseCampaigns(path, b)
}

func loadModel(path string) (*Model, error) {
	if path == "" {
		return parseModel("demo/"+modelName, demoBytes(modelName))
	}
	b, err := readRegular(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read model: %w", err)
	}
	return parseModel(path, b)
}

// maxFileBytes bounds a campaigns or model file: 100,000 campaigns take
// about 200 MB.
const maxFileBytes = 1 << 30

// readRegular reads a campaigns or model file (see [opfile.Read]).
func readRegular(path string) ([]byte, error) {
	b, _, err := opfile.Read(path, maxFileBytes)
	return b, err
}

// Demo returns freshly parsed copies of the embedded demo campaigns and model;
// callers may modify them.
func Demo() (*File, *Model) {
	f, err := parseCampaigns("demo/"+campaignsName, demoBytes(campaignsName))
	if err != nil {
		panic("BUG: embedded demo campaigns are invalid: " + err.Error())
	}
	m, err := parseModel("demo/"+modelName, demoBytes(modelName))
	if err != nil {
		panic("BUG: embedded demo model is invalid: " + err.Error())
	}
	return f, m
}

func demoBytes(name string) []byte {
	b, err := demoFS.ReadFile("demo/" + name)
	if err != nil {
		panic("BUG: embedded demo file missing: " + err.Error())
	}
	return b
}
