package statefile

import (
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/decision"
	"github.com/rtbd/rtbd/daemon/notice"
)

// fuzzParts returns the daemon's three parts over fresh state. Restores
// need no compiled campaigns, so the fuzz loop compiles none: 3.6 ms each
// would leave it a few hundred inputs a run.
func fuzzParts() (*decision.State, *notice.Handler, []Part) {
	st := decision.NewState(1024)
	h := notice.New(notice.Config{DedupeSlots: 1024, DedupeTTL: time.Hour}, st, nil)
	return st, h, []Part{
		{Name: "spend", Append: st.AppendSpend, Restore: st.RestoreSpend},
		{Name: "freq", Append: st.AppendFreq, Restore: st.RestoreFreq},
		{Name: "notices", Append: h.AppendDedupe, Restore: h.RestoreDedupe},
	}
}

// FuzzRestore feeds arbitrary files to Decode and every part's Restore:
// none may panic, and state they accept saves and restores again.
func FuzzRestore(f *testing.F) {
	st, _, parts := fuzzParts()
	f0, m := campaign.Demo()
	if _, err := decision.Compile(f0, m, st, decision.Options{}); err != nil {
		f.Fatal(err)
	}
	now := time.Now()
	demo, _ := campaign.Demo()
	for _, c := range demo.Campaigns[:3] {
		if err := st.Bill([]byte(c.ID), 42, 2.5, nil, now); err != nil {
			f.Fatal(err)
		}
	}
	var e Encoder
	e.Reset()
	for _, p := range parts {
		e.Section(p.Name, p.Append)
	}
	f.Add(append([]byte(nil), e.Bytes()...))
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		sections, err := Decode(b)
		if err != nil {
			// The sections alone, as if the checksum had matched.
			sections = map[string][]byte{"spend": b, "freq": b, "notices": b}
		}
		_, _, parts := fuzzParts()
		for _, p := range parts {
			if data, ok := sections[p.Name]; ok {
				if _, err := p.Restore(data); err != nil {
					continue
				}
				again := p.Append(nil)
				_, _, fresh := fuzzParts()
				for _, q := range fresh {
					if q.Name == p.Name {
						if _, err := q.Restore(again); err != nil {
							t.Fatalf("%s: saved state of an accepted input does not restore: %v", p.Name, err)
						}
					}
				}
			}
		}
	})
}
