package decision

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// TestAppendSeqMatchesStrconv compares bid sequence numbers around the
// 16-digit fast path with strconv.
func TestAppendSeqMatchesStrconv(t *testing.T) {
	t.Parallel()
	values := []uint64{0, 1, 1<<60 - 1, 1 << 60, 1<<60 + 1, math.MaxUint64, uint64(time.Now().UnixNano())}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 10000 {
		values = append(values, rng.Uint64()>>rng.IntN(64))
	}
	for _, v := range values {
		if got, want := string(appendSeq([]byte("h-1-"), v)), "h-1-"+strconv.FormatUint(v, 16); got != want {
			t.Fatalf("appendSeq(%#x) = %s; want %s", v, got, want)
		}
	}
}
