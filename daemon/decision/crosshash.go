package decision

import "math/bits"

// Cross features (model version 2). The bucket of campaign_x_domain and
// campaign_x_devicetype is the xxhash64 of 16 bytes: the little-endian
// xxhash64 of "campaign=<id>", then that of "domain=<value>" or
// "devicetype=<value>". Split into what the campaign knows at compile time
// (crossLeft) and what the request knows (crossRight), a candidate's cross
// feature costs two multiplies and the avalanche.
//
// The constants and steps are xxhash64's for an input of 16 bytes with
// seed 0; TestCrossHash checks the split against xxhash.Sum64.
const (
	xxPrime1 uint64 = 11400714785074694791
	xxPrime2 uint64 = 14029467366897019727
	xxPrime3 uint64 = 1609587929392839161
	xxPrime4 uint64 = 9650029242287828579
	xxPrime5 uint64 = 2870177450012600261
)

// xxRound is xxhash64's round of an 8-byte lane into a zero accumulator.
func xxRound(v uint64) uint64 { return bits.RotateLeft64(v*xxPrime2, 31) * xxPrime1 }

// crossLeft is the xxhash64 state of a 16-byte input after its first
// lane, the campaign's feature hash.
func crossLeft(campaign uint64) uint64 {
	h := (xxPrime5 + 16) ^ xxRound(campaign)
	return bits.RotateLeft64(h, 27)*xxPrime1 + xxPrime4
}

// crossRight is the round of the second lane, the request value's feature
// hash.
func crossRight(value uint64) uint64 { return xxRound(value) }

// crossHash finishes the hash of a cross feature from its two halves.
func crossHash(left, right uint64) uint64 {
	h := left ^ right
	h = bits.RotateLeft64(h, 27)*xxPrime1 + xxPrime4
	h ^= h >> 33
	h *= xxPrime2
	h ^= h >> 29
	h *= xxPrime3
	h ^= h >> 32
	return h
}
