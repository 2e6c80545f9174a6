package decision

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestOfferOrderIndependent: the k options kept are the best by price,
// then campaign rank, whatever order they are offered in (the scan no
// longer meets campaigns in rank order).
func TestOfferOrderIndependent(t *testing.T) {
	t.Parallel()
	f := func(prices []float64, k int) {
		t.Helper()
		opts := make([]option, len(prices))
		for i, p := range prices {
			opts[i] = option{ord: int32(i), rank: int32(i), price: p}
		}
		want := slices.Clone(opts)
		slices.SortStableFunc(want, func(a, b option) int {
			if a.beats(&b) {
				return -1
			}
			if b.beats(&a) {
				return 1
			}
			return 0
		})
		want = want[:min(k, len(want))]
		r := rand.New(rand.NewPCG(uint64(len(prices)), uint64(k)))
		for round := 0; round < 20; round++ {
			c := &Ctx{}
			for _, i := range r.Perm(len(opts)) {
				o := opts[i]
				if c.keeps(&o, k) {
					c.offer(o, k)
				}
			}
			if !slices.Equal(c.opts, want) {
				t.Fatalf("prices %v k %d: kept %v; want %v", prices, k, c.opts, want)
			}
		}
	}
	f([]float64{1, 2, 3}, 1)
	f([]float64{2, 2, 2, 2}, 1)
	f([]float64{2, 2, 2, 2}, 3)
	f([]float64{1, 3, 3, 2, 3, 1, 2}, 4)
	f([]float64{5, 4, 5, 4, 5, 4}, 5)
}

// TestTermLazySparse: sparse postings set into the scratch bitset lazily
// read the same as set eagerly, in any increasing order of words with
// gaps, and clear leaves the scratch empty.
func TestTermLazySparse(t *testing.T) {
	t.Parallel()
	const nw = 60
	r := rand.New(rand.NewPCG(3, 4))
	var tm term
	tm.scr = make([]uint64, nw)
	for round := 0; round < 50; round++ {
		tm.clear()
		want := make([]uint64, nw)
		for j := 0; j < 1+r.IntN(4); j++ {
			var l []int32
			for o := r.IntN(50); o < nw*64; o += 1 + r.IntN(300) {
				l = append(l, int32(o))
				want[o>>6] |= 1 << (o & 63)
			}
			tm.orPosting(&posting{sparse: l, cnt: len(l), lo: int(l[0] >> 6), hi: int(l[len(l)-1]>>6) + 1})
		}
		for wi := r.IntN(3); wi < nw; wi += 1 + r.IntN(12) {
			if got := tm.word(wi); got != want[wi] {
				t.Fatalf("round %d word %d: got %x; want %x", round, wi, got, want[wi])
			}
			if got := andWord(^uint64(0), []*term{&tm}, wi); got != want[wi] {
				t.Fatalf("round %d word %d: andWord %x; want %x", round, wi, got, want[wi])
			}
		}
		for wi := 0; wi < nw; wi += 5 { // going back reads filled words
			if got := tm.word(wi); got != want[wi] {
				t.Fatalf("round %d word %d again: got %x; want %x", round, wi, got, want[wi])
			}
		}
		tm.clear()
		for wi, w := range tm.scr {
			if w != 0 {
				t.Fatalf("round %d: word %d not cleared: %x", round, wi, w)
			}
		}
	}
}
