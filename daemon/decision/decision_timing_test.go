package decision

import (
	"fmt"
	"testing"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/corpus"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

// benchSet is a generated campaign book compiled once per size.
type benchSet struct {
	file   *campaign.File
	snap   *Snapshot
	ctv    []*openrtb.Request
	banner []*openrtb.Request
	bytes  int64 // mean CTV request size, for b.SetBytes
}

var benchSets = map[int]*benchSet{}

func getBenchSet(b *testing.B, n int) *benchSet {
	if bs := benchSets[n]; bs != nil {
		return bs
	}
	f := campaign.Generate(n, 1)
	s, err := Compile(f, campaign.GenerateModel(1<<20, 1), NewState(1<<16), testOptions)
	if err != nil {
		b.Fatal(err)
	}
	bodies := campaign.GenerateCTVRequests(256, 7)
	total := 0
	for _, body := range bodies {
		total += len(body)
	}
	bs := &benchSet{file: f, snap: s, ctv: parseRequests(b, bodies), banner: bannerRequests(b, f, 256), bytes: int64(total / len(bodies))}
	benchSets[n] = bs
	return bs
}

// bannerRequests parses campaign.GenerateBannerRequests for f.
func bannerRequests(t testing.TB, f *campaign.File, n int) []*openrtb.Request {
	t.Helper()
	return parseRequests(t, campaign.GenerateBannerRequests(f, n))
}

var sinkReason Reason

func BenchmarkDecide(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		bs := getBenchSet(b, n)
		for _, kind := range []string{"ctv", "banner"} {
			reqs := bs.ctv
			if kind == "banner" {
				reqs = bs.banner
			}
			b.Run(fmt.Sprintf("%s/campaigns=%d", kind, n), func(b *testing.B) {
				c := AcquireCtx()
				defer ReleaseCtx(c)
				var resp openrtb.Response
				// Steady state: a fresh Ctx (sync.Pool drops them on GC) first
				// grows its scratch bitsets, ~12 KB per term at 100k campaigns,
				// which would show up as bytes per op amortised over b.N.
				for _, r := range reqs {
					bs.snap.Decide(c, r, testNow, &resp)
				}
				b.ReportAllocs()
				b.SetBytes(bs.bytes)
				bids := 0
				for i := 0; b.Loop(); i++ {
					if sinkReason = bs.snap.Decide(c, reqs[i%len(reqs)], testNow, &resp); sinkReason == ReasonBid {
						bids++
					}
				}
				b.ReportMetric(float64(bids)/float64(b.N), "bidrate")
			})
		}
	}
}

// BenchmarkNaiveScan is the baseline: a direct scan of every campaign with
// the oracle's matcher (targeting only, no pricing).
func BenchmarkNaiveScan(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		bs := getBenchSet(b, n)
		b.Run(fmt.Sprintf("ctv/campaigns=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(bs.bytes)
			for i := 0; b.Loop(); i++ {
				r := bs.ctv[i%len(bs.ctv)]
				matched := 0
				for j := range bs.file.Campaigns {
					if naiveMatch(&bs.file.Campaigns[j], r, &r.Imps[0], "video", testNow, false) {
						matched++
					}
				}
				sinkReason = Reason(matched)
			}
		})
	}
}

// BenchmarkDecideDemo runs what rtbd serves by default: the demo book
// (campaign.Demo) over the parsed shared corpus.
func BenchmarkDecideDemo(b *testing.B) {
	f, m := campaign.Demo()
	s, err := Compile(f, m, NewState(1<<12), testOptions)
	if err != nil {
		b.Fatal(err)
	}
	var reqs []*openrtb.Request
	total := 0
	for _, file := range corpus.Requests() {
		r := &openrtb.Request{}
		if r.Parse(file.Body) == nil {
			reqs = append(reqs, r)
			total += len(file.Body)
		}
	}
	if len(reqs) == 0 {
		b.Fatal("no parsable corpus request")
	}
	c := AcquireCtx()
	defer ReleaseCtx(c)
	var resp openrtb.Response
	for _, r := range reqs {
		s.Decide(c, r, testNow, &resp)
	}
	b.ReportAllocs()
	b.SetBytes(int64(total / len(reqs)))
	bids := 0
	for i := 0; b.Loop(); i++ {
		if sinkReason = s.Decide(c, reqs[i%len(reqs)], testNow, &resp); sinkReason == ReasonBid {
			bids++
		}
	}
	b.ReportMetric(float64(bids)/float64(b.N), "bidrate")
}

// BenchmarkAppendSpend100k: the spend state file's and the peers' reading
// of 10^5 campaigns that all have spend.
func BenchmarkAppendSpend100k(b *testing.B) {
	st := spendState(100000)
	buf := st.AppendSpend(nil)
	b.ReportAllocs()
	for b.Loop() {
		buf = st.AppendSpend(buf[:0])
	}
}
