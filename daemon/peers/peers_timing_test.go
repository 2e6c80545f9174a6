package peers

import (
	"slices"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/decision"
)

// BenchmarkReading100k is what SyncOnce does with one peer's reading of
// 10^5 campaigns of which 300 moved since the last: decode, merge into
// the peer's known spend, hand the changed campaigns to the State.
func BenchmarkReading100k(b *testing.B) {
	entries := spendEntries(100000)
	s := New(decision.NewState(1024), []string{"http://peer"}, time.Second, "self")
	p := s.peers[0]
	readings := make([][]byte, 8)
	for r := range readings {
		for k := range 300 {
			entries[(r*977+k*331)%len(entries)].Total++
		}
		readings[r] = decision.AppendSpendEntries(nil, slices.Clone(entries))
	}
	take := func(reading []byte) {
		if err := s.take(p, reading); err != nil {
			b.Fatal(err)
		}
	}
	take(readings[0])
	s.publish()
	r := 1
	for b.Loop() {
		take(readings[r])
		r = r%(len(readings)-1) + 1
	}
}

// BenchmarkServeSpend100k is a peer's reading of this host's spend of
// 10^5 campaigns, as the peer listener answers it.
func BenchmarkServeSpend100k(b *testing.B) {
	src, ctx := spendSource(b, 100000)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		ctx.Response.Reset()
		src.Serve(ctx)
		n = len(ctx.Response.Body())
	}
	b.SetBytes(int64(n))
}
