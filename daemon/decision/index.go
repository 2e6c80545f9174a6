package decision

import (
	"math"
	"math/bits"
	"slices"
)

// table is an open-addressed hash table from a 64-bit key hash to a posting
// index, built once at compile time. Keys are xxhash sums of the request's
// bytes, so a lookup never converts bytes to a string. Two distinct values
// with the same 64-bit hash would share a posting list; at 2^-64 per pair
// this is ignored.
type table struct {
	keys []uint64 // 0 marks an empty slot
	vals []int32
	mask uint64
}

func fixKey(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}

func newTable(n int) table {
	size := 8
	for size < 2*n {
		size <<= 1
	}
	return table{keys: make([]uint64, size), vals: make([]int32, size), mask: uint64(size - 1)}
}

func (t *table) put(h uint64, v int32) {
	h = fixKey(h)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		if t.keys[i] == 0 || t.keys[i] == h {
			t.keys[i] = h
			t.vals[i] = v
			return
		}
	}
}

// get returns the value stored for h, or -1.
func (t *table) get(h uint64) int32 {
	if len(t.keys) == 0 {
		return -1
	}
	h = fixKey(h)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		switch t.keys[i] {
		case h:
			return t.vals[i]
		case 0:
			return -1
		}
	}
}

// posting is the set of campaign ordinals having one value on one
// dimension: a dense bitset when it is large, else a sorted ordinal list.
type posting struct {
	dense  []uint64
	sparse []int32
	cnt    int // number of campaigns
	// lo and hi bound the words holding its bits: [lo, hi).
	lo, hi int
}

// dim is one targeting dimension: a posting list per value and the set of
// campaigns that do not constrain it.
type dim struct {
	any    []uint64 // nil when every campaign constrains the dimension
	anyCnt int
	anyLo  int // words [anyLo, anyHi) hold the bits of any
	anyHi  int
	// full says every campaign is unconstrained: the dimension admits all.
	full  bool
	tab   table
	posts []posting
	// filter holds the values of the dimensions that request block lists
	// are looked up in (cat, adomain, seat); see negList.
	filter valueFilter
}

// valueFilter is a 256-bit filter over a cheap key of a dimension's values
// (length and three bytes, ASCII case folded): a request value whose key
// is not set matches no campaign and need not be hashed. Requests carry
// long bcat lists against books with a few categories.
type valueFilter [4]uint64

func filterKey(v []byte) uint8 {
	n := len(v)
	if n == 0 {
		return 0
	}
	return uint8(n*131 + int(v[0]|0x20)*7 + int(v[n/2]|0x20)*31 + int(v[n-1]|0x20))
}

func (f *valueFilter) add(v []byte) {
	k := filterKey(v)
	f[k>>6] |= 1 << (k & 63)
}

// mayHave reports false when no value added equals v up to ASCII case.
func (f *valueFilter) mayHave(v []byte) bool {
	k := filterKey(v)
	return f[k>>6]&(1<<(k&63)) != 0
}

// lookup returns the posting of key hash h, or nil.
func (d *dim) lookup(h uint64) *posting {
	if i := d.tab.get(h); i >= 0 {
		return &d.posts[i]
	}
	return nil
}

// dimBuilder accumulates a dim at compile time.
type dimBuilder struct {
	n      int
	dense  int // see denseBelow
	any    []uint64
	anyCnt int
	anyLo  int
	anyHi  int
	keys   map[uint64][]int32
	filter valueFilter
}

func newDimBuilder(n, dense int) *dimBuilder {
	return &dimBuilder{n: n, dense: dense, keys: map[uint64][]int32{}}
}

// addAny marks ordinal o as unconstrained.
func (b *dimBuilder) addAny(o int) {
	if b.any == nil {
		b.any = make([]uint64, words(b.n))
	}
	if b.any[o>>6]&(1<<(o&63)) == 0 {
		if b.anyCnt == 0 {
			b.anyLo = o >> 6
		}
		b.anyCnt++
		b.anyLo, b.anyHi = min(b.anyLo, o>>6), max(b.anyHi, o>>6+1)
	}
	b.any[o>>6] |= 1 << (o & 63)
}

// add puts ordinal o into the posting of key hash h. Ordinals must be added
// in increasing order per key, or repeated (duplicates are dropped).
func (b *dimBuilder) add(o int, h uint64) {
	h = fixKey(h)
	l := b.keys[h]
	if len(l) > 0 && l[len(l)-1] == int32(o) {
		return
	}
	b.keys[h] = append(l, int32(o))
}

// denseBelow sets the densest posting kept as a sorted list: one of fewer
// than 1/denseBelow of the campaigns. A scan pays for each sparse ordinal
// it reaches twice (set into the term's scratch, then cleared, about ten
// instructions), and for a bitset about two instructions a word in a
// chunk; a bitset takes n/8 bytes, a list 4 bytes an ordinal. So a list
// is the cheaper scan only below about one ordinal in 300, and the limit
// trades memory for time: at 1/32, the earlier limit, the index of 100,000
// generated campaigns held 0.9 MB of bitsets and 2.0 MB of lists; at 1/64,
// 1.6 and 1.5 MB, and a CTV request there took 2.3 % fewer instructions;
// at 1/128, 2.4 and 1.2 MB and 2.8 % fewer.
const denseBelow = 128

func (b *dimBuilder) build() dim {
	d := dim{any: b.any, anyCnt: b.anyCnt, anyLo: b.anyLo, anyHi: b.anyHi, full: b.anyCnt == b.n, filter: b.filter, tab: newTable(len(b.keys)), posts: make([]posting, 0, len(b.keys))}
	keys := make([]uint64, 0, len(b.keys))
	for k := range b.keys {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic layout
	for _, k := range keys {
		l := b.keys[k]
		p := posting{cnt: len(l), lo: int(l[0] >> 6), hi: int(l[len(l)-1]>>6) + 1}
		// A sorted list costs 4 bytes per campaign, a bitset n/8 bytes;
		// see denseBelow.
		if len(l)*b.dense >= b.n {
			p.dense = make([]uint64, words(b.n))
			for _, o := range l {
				p.dense[o>>6] |= 1 << (o & 63)
			}
		} else {
			p.sparse = slices.Clip(l)
		}
		d.tab.put(k, int32(len(d.posts)))
		d.posts = append(d.posts, p)
	}
	return d
}

func words(n int) int { return (n + 63) >> 6 }

// term is one factor of the candidate AND: the OR of up to len(refs) dense
// bitsets plus a scratch bitset collecting sparse postings and overflow.
// A neg term removes its set instead (block lists).
type term struct {
	name string
	est  int // estimated number of campaigns admitted, to order terms
	// lo and hi bound the words that can hold its bits: [lo, hi); an
	// empty term has lo >= hi.
	lo, hi int
	refs   [4][]uint64
	n      int
	neg    bool
	// block marks the request's block and allow lists on campaigns (bcat,
	// badv, bapp, bseat, wseat), for ReasonBlocked.
	block bool
	// pre marks the campaigns evaluated before the scan, which the scan
	// skips (see guaranteedTerm): it removes no candidate.
	pre bool
	// scr is this term's scratch bitset (owned by the Ctx); scrUsed says it
	// holds bits, scrFull that it was written densely and needs words
	// [scrLo, scrHi) cleared.
	scr     []uint64
	scrUsed bool
	scrFull bool
	scrLo   int
	scrHi   int
	// sparseOn are the term's sparse postings. They are set into scr
	// lazily, a few words ahead of the scan, because the scan usually
	// stops early: sparseOn[j][:sparseAt[j]] are set, and so is every
	// sparse bit of the words below sparseHW (MaxInt without postings).
	sparseOn [][]int32
	sparseAt []int
	sparseHW int
}

// sparseAhead is how many words past the one asked for are filled from
// the sparse postings at once.
const sparseAhead = 8

// orDense adds a dense bitset with bits in words [lo, hi) to the term.
func (t *term) orDense(b []uint64, lo, hi int) {
	if b == nil {
		return
	}
	t.lo, t.hi = min(t.lo, lo), max(t.hi, hi)
	if t.n < len(t.refs) {
		t.refs[t.n] = b
		t.n++
		return
	}
	// Only words [lo, hi) can hold bits: write, and later clear, just those.
	if !t.scrFull {
		t.scrLo, t.scrHi = lo, hi
	}
	t.scrFull = true // before the loop: a panic must not leave stale bits
	t.scrLo, t.scrHi = min(t.scrLo, lo), max(t.scrHi, hi)
	for i := lo; i < hi; i++ {
		t.scr[i] |= b[i]
	}
	t.scrUsed = true
}

// orPosting adds a posting list to the term.
func (t *term) orPosting(p *posting) {
	if p == nil {
		return
	}
	t.est += p.cnt
	if p.dense != nil {
		t.orDense(p.dense, p.lo, p.hi)
		return
	}
	t.lo, t.hi = min(t.lo, p.lo), max(t.hi, p.hi)
	t.scrUsed = true
	t.sparseOn = append(t.sparseOn, p.sparse)
	t.sparseAt = append(t.sparseAt, 0)
	t.sparseHW = 0
}

// fill sets into scr the sparse bits of the words below limit. It is kept
// out of line so that term.word, called for every word scanned, inlines.
//
//go:noinline
func (t *term) fill(limit int) {
	for j, l := range t.sparseOn {
		i := t.sparseAt[j]
		for ; i < len(l) && int(l[i]>>6) < limit; i++ {
			t.scr[l[i]>>6] |= 1 << (l[i] & 63)
		}
		t.sparseAt[j] = i
	}
	t.sparseHW = limit
	if len(t.sparseOn) == 0 {
		t.sparseHW = math.MaxInt
	}
}

// clear empties the term and its scratch bitset, keeping capacity.
func (t *term) clear() {
	if t.scrFull {
		clear(t.scr[t.scrLo:t.scrHi])
	}
	if t.scrUsed {
		for j, l := range t.sparseOn {
			for _, o := range l[:t.sparseAt[j]] {
				t.scr[o>>6] = 0
			}
		}
	}
	// Field by field: assigning a term literal wrote all 250 bytes with
	// write-barrier checks, 40 instructions a term, 53 terms a CTV request.
	if len(t.sparseOn) > 0 {
		clear(t.sparseOn)
		t.sparseOn, t.sparseAt = t.sparseOn[:0], t.sparseAt[:0]
	}
	for r := range t.n {
		t.refs[r] = nil // no reference into the snapshot outlives a request
	}
	t.est, t.lo, t.hi, t.n = 0, math.MaxInt, 0, 0
	t.neg, t.block = false, false
	t.scrUsed, t.scrFull, t.scrLo, t.scrHi = false, false, 0, 0
	t.sparseHW = math.MaxInt
}

// word returns the term's word wi (before negation).
func (t *term) word(wi int) uint64 {
	if wi >= t.sparseHW {
		t.fill(wi + 1 + sparseAhead)
	}
	return t.bits(wi)
}

// bits returns the term's word wi, whose sparse bits must be filled.
func (t *term) bits(wi int) uint64 {
	var v uint64
	for r := 0; r < t.n; r++ {
		v |= t.refs[r][wi]
	}
	if t.scrUsed {
		v |= t.scr[wi]
	}
	return v
}

// has reports whether the term admits ordinal o.
func (t *term) has(o int) bool {
	in := t.word(o>>6)&(1<<(o&63)) != 0
	return in != t.neg
}

// andWord returns w AND all terms at word wi, stopping at zero.
func andWord(w uint64, terms []*term, wi int) uint64 {
	for _, t := range terms {
		if wi >= t.sparseHW {
			t.fill(wi + 1 + sparseAhead)
		}
		if t.neg {
			w &^= t.bits(wi)
		} else {
			w &= t.bits(wi)
		}
		if w == 0 {
			return 0
		}
	}
	return w
}

// candIter walks the ordinals admitted by all terms in increasing order.
// Terms are sorted so that the most selective positive ones come first
// and a zero word is dropped after one or two loads. With caches, each
// set of terms is ANDed a chunk of words at a time into an andCache: the
// request's terms once per request however many imps scan them, and the
// imp's terms when the ordinals span at least chunkedImpWords words (see
// there); else the imp's terms are ANDed word by word. Of the two ANDs,
// the one with the more selective first term is asked first, so the other
// is computed only where it has candidates.
type candIter struct {
	terms    []*term
	imp, req *andCache // imp is nil when the imp's terms go word by word
	impFirst bool
	nw       int
	wi       int
	w        uint64
	// last is the last word of the ordinals, lastMask its bits that hold one.
	last     int
	lastMask uint64
}

// chunkedImpWords is the number of words of ordinals from which an imp's
// terms are ANDed in chunks. A scan stops after a few words at 1,000
// campaigns (a CTV request's after two of sixteen), where the rest of a
// chunk would be wasted, and after tens of words at 100,000, where the
// chunks took 2.7 % off a CTV request's instructions and 2.2 % off a
// display request's (bench/icount.sh).
const chunkedImpWords = 256

// andCache holds the AND of a set of terms (sorted as for andWord), filled
// a chunk of words at a time as the scans reach them: words[wi] is valid
// when gen[wi] == cur, so a new request or imp invalidates it without a
// clear.
type andCache struct {
	terms  []*term
	words  []uint64
	gen    []uint32
	cur    uint32
	lo, hi int // words outside [lo, hi) are zero
	// quarter fills a quarter chunk at a time (see fillQuarter); reset
	// clears it.
	quarter bool
}

// reset starts the cache over n words, for its current terms.
func (rc *andCache) reset(n int) {
	if cap(rc.words) < n {
		rc.words, rc.gen, rc.cur = make([]uint64, n), make([]uint32, n), 0
	}
	rc.words, rc.gen = rc.words[:n], rc.gen[:n]
	if rc.cur++; rc.cur == 0 { // wrapped: old generations could match
		clear(rc.gen)
		rc.cur = 1
	}
	rc.lo, rc.hi = termsRange(rc.terms, n)
	rc.quarter = false
}

func (rc *andCache) word(wi int) uint64 {
	if rc.gen[wi] != rc.cur {
		rc.fillChunk(wi)
	}
	return rc.words[wi]
}

// chunkWords is how many words of an andCache are computed at once.
const chunkWords = 16

// fillChunk computes the aligned chunk of chunkWords words holding wi,
// term by term: a tight loop over each term's words costs a few
// instructions per word, where andWord's dispatch per term and word cost
// about twenty (about 500 per word for a display request's ten request
// terms). The scan may stop before the chunk's end; the words computed
// past its stop are wasted, at most chunkWords-1 of them.
func (rc *andCache) fillChunk(wi int) {
	lo := wi &^ (chunkWords - 1)
	hi := min(lo+chunkWords, len(rc.words))
	if q := wi &^ (quarterWords - 1); rc.quarter && q+quarterWords <= hi {
		rc.fillQuarter(q)
		return
	}
	acc := rc.words[lo:hi]
	for i := range acc {
		acc[i] = ^uint64(0)
	}
	for _, t := range rc.terms {
		if hi > t.sparseHW {
			t.fill(hi + sparseAhead)
		}
		if !t.andInto(acc, lo) {
			break // acc is all zero: later terms cannot change it
		}
	}
	gen := rc.gen[lo:hi]
	for i := range gen {
		gen[i] = rc.cur
	}
}

// quarterWords is the words of a quarter chunk (see fillQuarter).
const quarterWords = chunkWords / 4

// fillQuarter is fillChunk of the quarterWords words from lo, for the
// scans of a request's pods: they keep few options and stop after a few
// words at 1,000 campaigns, where whole chunks wasted most of their words.
func (rc *andCache) fillQuarter(lo int) {
	hi := lo + quarterWords
	acc := (*[quarterWords]uint64)(rc.words[lo:hi])
	acc[0], acc[1], acc[2], acc[3] = ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)
	for _, t := range rc.terms {
		if hi > t.sparseHW {
			t.fill(hi + sparseAhead)
		}
		var v [quarterWords]uint64
		for r := 0; r < t.n; r++ {
			ref := (*[quarterWords]uint64)(t.refs[r][lo:])
			v[0], v[1], v[2], v[3] = v[0]|ref[0], v[1]|ref[1], v[2]|ref[2], v[3]|ref[3]
		}
		if t.scrUsed {
			scr := (*[quarterWords]uint64)(t.scr[lo:])
			v[0], v[1], v[2], v[3] = v[0]|scr[0], v[1]|scr[1], v[2]|scr[2], v[3]|scr[3]
		}
		if t.neg {
			v[0], v[1], v[2], v[3] = ^v[0], ^v[1], ^v[2], ^v[3]
		}
		acc[0], acc[1], acc[2], acc[3] = acc[0]&v[0], acc[1]&v[1], acc[2]&v[2], acc[3]&v[3]
		if acc[0]|acc[1]|acc[2]|acc[3] == 0 {
			break // all zero: later terms cannot change it
		}
	}
	gen := (*[quarterWords]uint32)(rc.gen[lo:hi])
	gen[0], gen[1], gen[2], gen[3] = rc.cur, rc.cur, rc.cur, rc.cur
}

// andInto ANDs words [lo, lo+len(acc)) of the term (negated for a neg
// term) into acc, whose length is at most chunkWords; the sparse bits of
// those words must be filled. It returns false when acc became all zero.
func (t *term) andInto(acc []uint64, lo int) bool {
	if len(acc) == chunkWords {
		return t.andChunk((*[chunkWords]uint64)(acc), lo)
	}
	var or [chunkWords]uint64
	v := or[:len(acc)]
	for r := 0; r < t.n; r++ {
		ref := t.refs[r][lo : lo+len(v)]
		for i := range v {
			v[i] |= ref[i]
		}
	}
	if t.scrUsed {
		scr := t.scr[lo : lo+len(v)]
		for i := range v {
			v[i] |= scr[i]
		}
	}
	var any uint64
	for i := range acc {
		if t.neg {
			acc[i] &^= v[i]
		} else {
			acc[i] &= v[i]
		}
		any |= acc[i]
	}
	return any != 0
}

// andChunk is andInto of a whole chunk: array pointers drop the bounds
// checks, and four words per step the loop overhead. A positive term of
// one or two bitsets (most terms: a value's posting, and the campaigns
// that do not constrain the dimension) is ANDed without the OR buffer.
func (t *term) andChunk(acc *[chunkWords]uint64, lo int) bool {
	if !t.scrUsed && !t.neg {
		switch t.n {
		case 1:
			return andChunk1(acc, (*[chunkWords]uint64)(t.refs[0][lo:]))
		case 2:
			return andChunk2(acc, (*[chunkWords]uint64)(t.refs[0][lo:]), (*[chunkWords]uint64)(t.refs[1][lo:]))
		}
	}
	var v [chunkWords]uint64
	for r := 0; r < t.n; r++ {
		orChunk(&v, (*[chunkWords]uint64)(t.refs[r][lo:]))
	}
	if t.scrUsed {
		orChunk(&v, (*[chunkWords]uint64)(t.scr[lo:]))
	}
	if t.neg {
		for i := range v {
			v[i] = ^v[i]
		}
	}
	return andChunk1(acc, &v)
}

// andChunk1 ANDs a into acc and reports whether acc has a bit left.
func andChunk1(acc, a *[chunkWords]uint64) bool {
	var any uint64
	for i := 0; i < chunkWords; i += 4 {
		acc[i] &= a[i]
		acc[i+1] &= a[i+1]
		acc[i+2] &= a[i+2]
		acc[i+3] &= a[i+3]
		any |= acc[i] | acc[i+1] | acc[i+2] | acc[i+3]
	}
	return any != 0
}

// andChunk2 ANDs a OR b into acc and reports whether acc has a bit left.
func andChunk2(acc, a, b *[chunkWords]uint64) bool {
	var any uint64
	for i := 0; i < chunkWords; i += 4 {
		acc[i] &= a[i] | b[i]
		acc[i+1] &= a[i+1] | b[i+1]
		acc[i+2] &= a[i+2] | b[i+2]
		acc[i+3] &= a[i+3] | b[i+3]
		any |= acc[i] | acc[i+1] | acc[i+2] | acc[i+3]
	}
	return any != 0
}

func orChunk(v, w *[chunkWords]uint64) {
	for i := 0; i < chunkWords; i += 4 {
		v[i] |= w[i]
		v[i+1] |= w[i+1]
		v[i+2] |= w[i+2]
		v[i+3] |= w[i+3]
	}
}

// termsRange intersects the word ranges of the positive terms.
func termsRange(terms []*term, nw int) (int, int) {
	lo, hi := 0, nw
	for _, t := range terms {
		if !t.neg {
			lo, hi = max(lo, t.lo), min(hi, t.hi)
		}
	}
	return lo, hi
}

// and returns the AND of all terms at word wi.
func (it *candIter) and(wi int) uint64 {
	if it.req == nil {
		return andWord(^uint64(0), it.terms, wi)
	}
	if it.imp != nil {
		a, b := it.req, it.imp
		if it.impFirst {
			a, b = b, a
		}
		if w := a.word(wi); w != 0 {
			return w & b.word(wi)
		}
		return 0
	}
	if it.impFirst {
		if w := andWord(^uint64(0), it.terms, wi); w != 0 {
			return w & it.req.word(wi)
		}
		return 0
	}
	if w := it.req.word(wi); w != 0 {
		return andWord(w, it.terms, wi)
	}
	return 0
}

// init starts the iterator over n ordinals and the imp's terms: cached in
// imp (when not nil) and ANDed with the request's cached in req, or alone
// when req is nil too.
func (it *candIter) init(terms []*term, imp, req *andCache, n int) {
	*it = candIter{terms: terms, imp: imp, req: req, last: words(n) - 1, lastMask: ^uint64(0)}
	if r := n & 63; r != 0 {
		it.lastMask = 1<<r - 1
	}
	if req != nil && len(terms) > 0 && !terms[0].neg {
		it.impFirst = len(req.terms) == 0 || req.terms[0].neg || terms[0].est < req.terms[0].est
	}
	lo, hi := termsRange(terms, words(n))
	if req != nil {
		lo, hi = max(lo, req.lo), min(hi, req.hi)
	}
	it.wi, it.nw = lo-1, max(hi, lo)
}

// next returns the next candidate ordinal, or -1.
func (it *candIter) next() int {
	if it.w == 0 {
		if it.w = it.nextWord(); it.w == 0 {
			return -1
		}
	}
	o := it.wi<<6 + bits.TrailingZeros64(it.w)
	it.w &= it.w - 1
	return o
}

// nextWord moves to the next word below nw with candidates and returns
// them, or 0 (wi then at nw or beyond) at the end. next's it.w is left
// alone: a caller walking words takes over the current one's bits.
func (it *candIter) nextWord() uint64 {
	for {
		if it.wi++; it.wi >= it.nw {
			return 0
		}
		if w := it.and(it.wi); w != 0 {
			if it.wi == it.last {
				// Negated terms set the bits past the last ordinal.
				if w &= it.lastMask; w == 0 {
					return 0
				}
			}
			return w
		}
	}
}
