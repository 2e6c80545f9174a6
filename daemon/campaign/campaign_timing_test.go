package campaign

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

var (
	benchFileOnce sync.Once
	benchFile     []byte
	benchSink     *File
)

// benchCampaigns returns campaigns.json with 100,000 generated campaigns, as
// WriteDataSet writes it.
func benchCampaigns(b *testing.B) []byte {
	benchFileOnce.Do(func() {
		path := filepath.Join(b.TempDir(), "campaigns.json")
		if err := writeCampaigns(path, Generate(100000, 1)); err != nil {
			b.Fatalf("cannot write campaigns: %s", err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatalf("cannot read campaigns: %s", err)
		}
		benchFile = data
	})
	return benchFile
}

// BenchmarkParseCampaigns100k measures a reload's parse and validation of
// 100,000 campaigns.
func BenchmarkParseCampaigns100k(b *testing.B) {
	data := benchCampaigns(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		f, err := ParseCampaigns(data)
		if err != nil {
			b.Fatalf("cannot parse: %s", err)
		}
		benchSink = f
	}
}

// BenchmarkUnmarshalCampaigns100k is the baseline: plain json.Unmarshal of
// the same bytes, without strict decoding or validation.
func BenchmarkUnmarshalCampaigns100k(b *testing.B) {
	data := benchCampaigns(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var f File
		if err := json.Unmarshal(data, &f); err != nil {
			b.Fatalf("cannot unmarshal: %s", err)
		}
		benchSink = &f
	}
}

// BenchmarkValidate100k measures Validate alone.
func BenchmarkValidate100k(b *testing.B) {
	f := Generate(100000, 1)
	b.ReportAllocs()
	for b.Loop() {
		if err := f.Validate(); err != nil {
			b.Fatalf("invalid: %s", err)
		}
	}
}
