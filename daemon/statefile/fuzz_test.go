package statefile

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/decision"
	"github.com/rtbd/rtbd/daemon/notice"
	"github.com/rtbd/rtbd/daemon/peers"
	"github.com/rtbd/rtbd/daemon/shading"
)

// fuzzPeer is the peer the fuzzed "peers" part is configured with.
const fuzzPeer = "http://127.0.0.1:1"

// fuzzNow is the clock of the fuzzed "shading" part.
var fuzzNow = time.Unix(1_800_000_000, 0)

// fuzzParts returns the daemon's eight parts over fresh state. Restores
// need no compiled campaigns, so the fuzz loop compiles none: 3.6 ms each
// would leave it a few hundred inputs a run.
func fuzzParts() (*decision.State, *notice.Handler, []Part) {
	st := decision.NewState(1024)
	st.SetReservations(time.Hour, 1024)
	h := notice.New(notice.Config{DedupeSlots: 1024, DedupeTTL: time.Hour}, st, nil)
	ps := peers.New(st, []string{fuzzPeer}, time.Second, "fuzz")
	es := map[string]*shading.Estimator{"x": shading.New(shading.Config{Start: 0.9, Min: 0.5, Explore: 0.05}, fuzzNow)}
	return st, h, []Part{
		{Name: "currency", Append: st.AppendCurrency, Restore: st.RestoreCurrency},
		{Name: "seen", Append: st.AppendSeen, Restore: st.RestoreSeen},
		{Name: "spend", Append: st.AppendSpend, Restore: st.RestoreSpend},
		{Name: "peers", Append: ps.Append, Restore: ps.Restore},
		{Name: "peerbills", Append: ps.AppendCursors, Restore: ps.RestoreCursors},
		{Name: "freq2", Append: st.AppendFreq, Restore: st.RestoreFreq},
		{Name: "notices", Append: h.AppendDedupe, Restore: h.RestoreDedupe},
		{Name: "reservations", Append: st.AppendReservations, Restore: st.RestoreReservations},
		{Name: "ended", Append: st.AppendEnded, Restore: st.RestoreEnded},
		{Name: "shading", Append: func(dst []byte) []byte { return shading.Append(dst, es, fuzzNow) },
			Restore: func(b []byte) (int, error) { return shading.Restore(b, es, fuzzNow) }},
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
		if _, err := st.Bill([]byte(c.ID), 42, 2.5, nil, now); err != nil {
			f.Fatal(err)
		}
		if _, err := st.Reserve(uint64(len(c.ID)), []byte(c.ID), 42, 3, nil, now, nil); err != nil {
			f.Fatal(err)
		}
	}
	var e Encoder
	e.Reset()
	for _, p := range parts {
		if p.Name == "peers" { // a reading of fuzzPeer: this host's spend
			e.Section(p.Name, func(dst []byte) []byte {
				dst = binary.LittleEndian.AppendUint32(dst, 1)
				dst = binary.LittleEndian.AppendUint16(dst, uint16(len(fuzzPeer)))
				dst = append(dst, fuzzPeer...)
				spend := st.AppendSpend(nil)
				dst = binary.LittleEndian.AppendUint32(dst, uint32(len(spend)))
				return append(dst, spend...)
			})
			continue
		}
		e.Section(p.Name, p.Append)
	}
	f.Add(append([]byte(nil), e.Bytes()...))
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		sections, err := Decode(b)
		if err != nil {
			// The sections alone, as if the checksum had matched.
			sections = map[string][]byte{"currency": b, "seen": b, "spend": b, "peers": b, "peerbills": b, "freq2": b, "notices": b, "reservations": b, "ended": b, "shading": b}
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
