package campaign

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseCampaignsSyntaxErrors(t *testing.T) {
	t.Parallel()
	f := func(in, want string) {
		t.Helper()
		_, err := ParseCampaigns([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("unexpected error for %q; got %v; want it to contain %q", in, err, want)
		}
	}
	f("{\n \"version\": 1,\n \"campaigns\": [\n  {\"id\": \"a\",}\n ]\n}", "campaigns.json:4:14: cannot parse: invalid character '}'")
	f("{\"version\": 1 \"campaigns\": []}", "campaigns.json:1:15: cannot parse: invalid character '\"' after object key:value pair")
	f("{\n\t\"version\": 1,\n\t\"campaigns\": [{\"id\": \"a\", \"colour\": 1}]\n}", `campaigns.json:3:28: cannot parse: unknown field "colour"`)
	// The unknown key is found as a key, not inside a string value.
	f("{\"campaigns\": [{\"id\": \"colour\",\n \"colour\": 1}]}", `campaigns.json:2:2: cannot parse: unknown field "colour"`)
	f("{\n \"version\": \"1\"\n}", "campaigns.json:2:15: cannot parse: version: cannot use string as int")
	f("{\n \"version\": 1,\n \"campaigns\": [\n", "campaigns.json:4:1: cannot parse: unexpected end of file")
	f("{\"version\": 1} {}", "campaigns.json:1:16: cannot parse: unexpected data after the top-level value")
	f("", "campaigns.json: cannot parse: empty file")
	f("[]", "campaigns.json:1:1: cannot parse: cannot use array as campaign.File")
}

func TestParseModelSyntaxErrors(t *testing.T) {
	t.Parallel()
	f := func(in, want string) {
		t.Helper()
		_, err := ParseModel([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("unexpected error for %q; got %v; want it to contain %q", in, err, want)
		}
	}
	f("{\"version\": 1,\n\"buckets\": 1,\n\"weights\": [0.1,]}", "model.json:3:17: cannot parse: invalid character ']'")
	f("{\"version\": 1, \"buckets\": 1, \"weights\": [0], \"extra\": 1}", `model.json:1:46: cannot parse: unknown field "extra"`)
	f("{\"version\": 1, \"buckets\": 1, \"weights\": [0], \"features\": [\"os\", \"colour\"]}", `model.json: features[1]: unknown feature "colour"`)
	// Version 1 hashed cross features differently: refused, not misread.
	f("{\"version\": 1, \"buckets\": 1, \"weights\": [0], \"features\": [\"os\", \"campaign_x_domain\"]}",
		`model.json: features[1]: version 1 hashed "campaign_x_domain" as one string`)
}

// TestModelVersions: version 2, and version 1 without cross features, load.
func TestModelVersions(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{"version": 2, "buckets": 1, "weights": [0], "features": ["os", "campaign_x_domain", "campaign_x_devicetype"]}`,
		`{"version": 1, "buckets": 1, "weights": [0], "features": ["os", "domain"]}`,
	} {
		if _, err := ParseModel([]byte(in)); err != nil {
			t.Fatalf("ParseModel(%s): %v", in, err)
		}
	}
}

func TestParseCampaignsDefaults(t *testing.T) {
	t.Parallel()
	file := validFile()
	file.Currency = ""
	b, err := json.Marshal(file)
	if err != nil {
		t.Fatalf("cannot marshal: %s", err)
	}
	got, err := ParseCampaigns(b)
	if err != nil {
		t.Fatalf("unexpected error: %s", err)
	}
	c := &got.Campaigns[1]
	if got.Currency != "USD" || c.Budget.Pacing != PacingEven || c.Creatives[0].AdID != "v1" {
		t.Fatalf("defaults not applied: currency %q, pacing %q, adid %q", got.Currency, c.Budget.Pacing, c.Creatives[0].AdID)
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := WriteDataSet(dir, 50, 7); err != nil {
		t.Fatalf("cannot write data set: %s", err)
	}
	f, m, err := Load(filepath.Join(dir, "campaigns.json"), filepath.Join(dir, "model.json"))
	if err != nil {
		t.Fatalf("cannot load data set: %s", err)
	}
	if want := Generate(50, 7); !reflect.DeepEqual(f, want) {
		t.Fatalf("loaded campaigns differ from the generated ones")
	}
	if want := GenerateModel(4096, 7); !reflect.DeepEqual(m, want) {
		t.Fatalf("loaded model differs from the generated one")
	}
	reqs, err := filepath.Glob(filepath.Join(dir, "requests", "ctv-*.json"))
	if err != nil || len(reqs) != DataSetRequests {
		t.Fatalf("unexpected requests written: %d (%v)", len(reqs), err)
	}

	// Empty paths select the demo data.
	f, m, err = Load("", "")
	if err != nil {
		t.Fatalf("cannot load demo data: %s", err)
	}
	demoF, demoM := Demo()
	if !reflect.DeepEqual(f, demoF) || !reflect.DeepEqual(m, demoM) {
		t.Fatalf("Load(\"\", \"\") differs from Demo()")
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{\"version\": 3}"), 0o644); err != nil {
		t.Fatalf("cannot write: %s", err)
	}
	f := func(campaigns, model, want string) {
		t.Helper()
		_, _, err := Load(campaigns, model)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("unexpected error for Load(%q, %q); got %v; want it to contain %q", campaigns, model, err, want)
		}
	}
	f(filepath.Join(dir, "missing.json"), "", "cannot read campaigns: open "+filepath.Join(dir, "missing.json"))
	f("", filepath.Join(dir, "missing.json"), "cannot read model: open ")
	f(bad, "", bad+": version: unsupported version 3")
	f("", bad, bad+": version: unsupported version 3")
}

// TestParseRefusesDuplicateKeys: encoding/json would keep the last of
// two keys, matched without case; a campaigns file with both is refused,
// naming where.
func TestParseRefusesDuplicateKeys(t *testing.T) {
	b, err := json.Marshal(validFile())
	if err != nil {
		t.Fatal(err)
	}
	dup := strings.Replace(string(b), `"budget":{}`, `"budget":{"daily":5,"Daily":50000}`, 1)
	if dup == string(b) {
		t.Fatalf("the test file has no budget to repeat a key in: %s", b)
	}
	if _, err := ParseCampaigns([]byte(dup)); err == nil || !strings.Contains(err.Error(), `key "Daily" a second time in one object`) || !strings.Contains(err.Error(), "campaigns.json:1:") {
		t.Fatalf("a budget with daily twice: %v; want an error naming the key and where", err)
	}
	if _, err := ParseCampaigns(b); err != nil {
		t.Fatalf("the file without the second key: %v", err)
	}
}
