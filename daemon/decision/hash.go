package decision

import (
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
)

// appSalt separates app bundle keys from site domain keys in the shared
// inventory dimensions.
const appSalt = 0x5bd1e9955bd1e995

// taxSalt separates the category keys of taxonomy tax (a request's
// cattax, or a campaign's list) from those of the others in the shared
// category dimension: 0 for taxonomy 1, OpenRTB's default (and for 0, a
// request without cattax), so that those keys are the categories' plain
// xxhash.
func taxSalt(tax int) uint64 {
	if tax <= 1 {
		return 0
	}
	return uint64(tax) * 0x9e3779b97f4a7c15
}

// intKey is the key hash of an integer value (device type, hour, size...).
func intKey(v uint64) uint64 {
	v += 0x9e3779b97f4a7c15
	v = (v ^ v>>30) * 0xbf58476d1ce4e5b9
	v = (v ^ v>>27) * 0x94d049bb133111eb
	return v ^ v>>31
}

func lowerASCII(b []byte) {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
}

// hashFold returns the xxhash of b with ASCII letters lower-cased, without
// allocating: short values are folded on the stack, long ones streamed.
func hashFold(b []byte) uint64 {
	var buf [64]byte
	if len(b) <= len(buf) {
		n := copy(buf[:], b)
		// Eight bytes at a time: past n, buf holds zeros, which stay.
		for i := 0; i < n; i += 8 {
			w := (*[8]byte)(buf[i:])
			binary.LittleEndian.PutUint64(w[:], lower8(binary.LittleEndian.Uint64(w[:])))
		}
		return xxhash.Sum64(buf[:n])
	}
	var d xxhash.Digest
	d.Reset()
	for len(b) > 0 {
		n := copy(buf[:], b)
		lowerASCII(buf[:n])
		d.Write(buf[:n])
		b = b[n:]
	}
	return d.Sum64()
}

// lower8 is lowerASCII of the eight bytes of x: each byte 'A' to 'Z' gets
// bit 5. Bytes from 0x80 are left as they are; the sums of their low seven
// bits cannot carry into the next byte.
func lower8(x uint64) uint64 {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	low := x &^ msb
	ge := low + (0x80-'A')*lsb   // bit 7 set where the byte is >= 'A'
	gt := low + (0x80-'Z'-1)*lsb // bit 7 set where the byte is > 'Z'
	upper := ge &^ gt &^ x & msb // and below 0x80
	return x | upper>>2
}

func hashFoldString(s string) uint64 { return hashFold([]byte(s)) }

// equalFold reports whether a and b are equal up to ASCII case.
func equalFold[S string | []byte](a []byte, b S) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
