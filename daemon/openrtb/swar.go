package openrtb

// SWAR ("SIMD within a register") helpers: they test the eight bytes of a
// little-endian uint64 at once and return a mask with the high bit of each
// flagged byte set, so that bits.TrailingZeros64(mask)>>3 is the index of
// the first flagged byte. See "Determine if a word has a zero byte" in
// https://graphics.stanford.edu/~seander/bithacks.html#ZeroInWord.

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// specialMask flags the bytes that end the fast path of string scanning:
// '"', '\\', control characters and non-ASCII bytes. Borrows may flag bytes
// above the first flagged one, never below it, so the lowest flag is exact.
//
// An ASCII byte is flagged by q-lsb or bs-lsb only when it is '"' or '\\'
// (the xor is zero) and by x-0x20*lsb only below 0x20. A non-ASCII byte
// needs no term of its own (nor the usual "&^ v" of the zero-byte test):
// its xors with '"' and with '\\' are both at least 0x80 and cannot both be
// 0x80, so one of q-lsb and bs-lsb has the high bit set. TestSpecialMask
// checks this for every byte value.
func specialMask(x uint64) uint64 {
	q := x ^ (lsb * '"')
	bs := x ^ (lsb * '\\')
	return ((q - lsb) | (bs - lsb) | (x - lsb*0x20)) & msb
}
