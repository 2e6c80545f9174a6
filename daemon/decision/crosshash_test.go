package decision

import (
	"encoding/binary"
	"math/rand/v2"
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
