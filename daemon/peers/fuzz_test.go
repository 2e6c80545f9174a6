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
// spend of it), so an entry folded once more changes nothing.
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
	f.Fuzz(func(t *testing.T, last, next []byte) {
		skipped, whole := map[string]decision.CampaignSpend{}, map[string]decision.CampaignSpend{}
		if _, err := mergeReading(skipped, last, nil); err != nil {
			last = nil // only a reading merged becomes a peer's last
		} else {
			mergeReading(whole, last, nil) //nolint:errcheck // merged above
		}
		_, err := mergeReading(skipped, next, last)
		entries, decodeErr := decision.DecodeSpend(next)
		if (err == nil) != (decodeErr == nil) {
			t.Fatalf("mergeReading: %v; DecodeSpend: %v", err, decodeErr)
		}
		if err != nil {
			return
		}
		mergeSpend(whole, entries)
		if !maps.Equal(skipped, whole) {
			t.Fatalf("passing over what the last reading had: %v; folding it all: %v", skipped, whole)
		}
	})
}
