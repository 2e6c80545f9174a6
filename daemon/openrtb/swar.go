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
	return (((x ^ swarQuote) + swarMinusLSB) | ((x ^ swarBackslash) + swarMinusLSB) | (x + swarMinusSpace)) & swarMSB
}

// specialMask's constants, each subtraction as the addition of the
// negated constant, in variables that are never written: the compiler
// folds each load into the instruction that uses it, where a constant
// took a 64-bit move of its own at every use, five for every eight bytes
// of a string scanned. They cost the inliner less, too.
var (
	swarQuote      uint64 = lsb * '"'
	swarBackslash  uint64 = lsb * '\\'
	swarMinusLSB   uint64 = -lsb & (1<<64 - 1)
	swarMinusSpace uint64 = -(lsb * 0x20) & (1<<64 - 1)
	swarMSB        uint64 = msb
)

// nonDigitMask flags the bytes of x that are not ASCII digits. No byte's
// test carries into its neighbour: the low seven bits plus 0x46 stay below
// 0x100, and with the high bit set, minus 0x30 stays above zero.
func nonDigitMask(x uint64) uint64 {
	above := (x&swarLow7 + swarPlus46)        // high bit: above '9'
	below := ^((x | swarMSB) + swarMinusZero) // high bit: below '0'
	return (above | below | x) & swarMSB
}

// nonDigitMask's and eightDigits' 64-bit constants, in variables as
// specialMask's are.
var (
	swarLow7      uint64 = lsb * 0x7f
	swarPlus46    uint64 = lsb * 0x46
	swarMinusZero uint64 = -(lsb * '0') & (1<<64 - 1)
	// eightDigits'
	swarPairs  uint64 = 0x00ff00ff00ff00ff
	swarQuads  uint64 = 0x0000ffff0000ffff
	swarHalves uint64 = 10000<<32 + 1
)

// eightDigits returns the value of the eight decimal digits in the bytes
// of d (0 to 9 each, the most significant in the lowest byte), combining
// pairs, then quadruples, then the two halves with one multiplication each.
func eightDigits(d uint64) int {
	d = (d * (10<<8 + 1)) >> 8 & swarPairs
	d = (d * (100<<16 + 1)) >> 16 & swarQuads
	return int((d * swarHalves) >> 32)
}
