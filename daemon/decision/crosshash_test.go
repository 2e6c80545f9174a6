package decision

import (
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
)

// TestCrossHash: the split computation is xxhash64 of the 16 bytes, for
// edge and random lanes.
func TestCrossHash(t *testing.T) {
	t.Parallel()
	lanes := []uint64{0, 1, 1 << 63, ^uint64(0), xxPrime1, xxPrime2}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		lanes = append(lanes, rng.Uint64())
	}
	for _, a := range lanes {
		for _, b := range lanes[:20] {
			if got, want := crossHash(crossLeft(a), crossRight(b)), crossHashBytes(a, b); got != want {
				t.Fatalf("lanes %x %x: got %x; want %x", a, b, got, want)
			}
		}
	}
}

// crossHashBytes is the definition of a cross feature's hash (see
// crosshash.go), computed the plain way.
func crossHashBytes(campaign, value uint64) uint64 {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], campaign)
	binary.LittleEndian.PutUint64(b[8:], value)
	return xxhash.Sum64(b[:])
}

// TestLower8 compares lower8 with lowerASCII on every byte value in every
// position, and hashFold with the hash of the lower-cased bytes.
func TestLower8(t *testing.T) {
	for c := range 256 {
		for pos := range 8 {
			var b [8]byte
			for i := range b {
				b[i] = byte(c + i*37)
			}
			b[pos] = byte(c)
			want := b
			lowerASCII(want[:])
			if got := lower8(binary.LittleEndian.Uint64(b[:])); got != binary.LittleEndian.Uint64(want[:]) {
				t.Fatalf("lower8(% x) = %x, want % x", b, got, want)
			}
		}
	}
	for _, s := range []string{"", "A", "Video/MP4", "COM.Example.TV-ÄÖ", "0123456789@[`{ABCXYZabcxyz\xff\x80\xc0\xda", strings.Repeat("AbZ", 30)} {
		low := []byte(s)
		lowerASCII(low)
		if got, want := hashFold([]byte(s)), xxhash.Sum64(low); got != want {
			t.Fatalf("hashFold(%q) = %x, want %x", s, got, want)
		}
	}
}
