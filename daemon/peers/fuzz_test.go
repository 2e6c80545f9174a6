package peers

import (
	"maps"
	"testing"

	"github.com/rtbd/rtbd/daemon/decision"
)

// FuzzReading feeds a peer's last reading and the next one, both
// arbitrary: mergeReading must not panic, must refuse exactly what
// DecodeSpend refuses, and, passing over the entries the last reading
// had at the same place, must know what folding the whole reading in
// would: folding is a join (largest total; latest day, then largest
// spend of it), so an entry folded once more changes nothing. Entries
// before day 5 of campaigns not known are retired (left out) on both
// paths.
func FuzzReading(f *testing.F) {
	reading := func(entries ...decision.CampaignSpend) []byte {
		return decision.AppendSpendEntries(nil, entries)
	}
	a := decision.CampaignSpend{ID: "a", Day: 9, Today: 1, Total: 5}
	b := decision.CampaignSpend{ID: "b", Day: 9, Today: 2, Total: 6}
	b2 := decision.CampaignSpend{ID: "b", Day: 10, Today: 1, Total: 7}
	c := decision.CampaignSpend{ID: "cc", Day: 8, Today: 3, Total: 9}
	f.Add(reading(a, b, c), reading(a, b2, c))
	f.Add(reading(a, c), reading(a, b, c))
	f.Add(reading(a, b, c), reading(a, c))
	f.Add([]byte(nil), reading(b))
	f.Add(reading(a), reading(a)[:20])
	old := decision.CampaignSpend{ID: "old", Day: 4, Today: 1, Total: 1}
	f.Add(reading(a, old), reading(a, b, old))
	retired := func(id []byte, day int64) bool { return day < 5 }
	f.Fuzz(func(t *testing.T, last, next []byte) {
		skipped, whole := map[string]decision.CampaignSpend{}, map[string]decision.CampaignSpend{}
		if _, _, err := mergeReading(skipped, last, nil, retired); err != nil {
			last = nil // only a reading merged becomes a peer's last
		} else {
			mergeReading(whole, last, nil, retired) //nolint:errcheck // merged above
		}
		_, _, err := mergeReading(skipped, next, last, retired)
		entries, decodeErr := decision.DecodeSpend(next)
		if (err == nil) != (decodeErr == nil) {
			t.Fatalf("mergeReading: %v; DecodeSpend: %v", err, decodeErr)
		}
		if err != nil {
			return
		}
		mergeSpend(whole, entries, retired)
		if !maps.Equal(skipped, whole) {
			t.Fatalf("passing over what the last reading had: %v; folding it all: %v", skipped, whole)
		}
	})
}
