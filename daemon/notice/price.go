package notice

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/rtbd/rtbd/daemon/secret"
)

// PriceKeys decrypt the prices an exchange puts in ${AUCTION_PRICE}
// encrypted, by the scheme of Google's Authorized Buyers ("Decrypt price
// confirmations"): web-safe base64 of a 16-byte initialisation vector,
// the price XORed with HMAC-SHA1(encryption key, iv), and the first 4
// bytes of HMAC-SHA1(integrity key, price || iv). The price is in micros
// of the currency per impression (CPI micros): 1,000 is a CPM of 1.
//
// The HMAC key blocks are prepared once, so that decrypting allocates
// nothing.
type PriceKeys struct {
	enc, integ hmacKey
}

// hmacKey is an HMAC-SHA1 key as its inner and outer padded blocks.
type hmacKey struct{ ipad, opad [sha1.BlockSize]byte }

// newHMACKey prepares key, of at most sha1.BlockSize bytes (see
// ParsePriceKeys).
func newHMACKey(key []byte) hmacKey {
	var k hmacKey
	copy(k.ipad[:], key)
	copy(k.opad[:], key)
	for i := range k.ipad {
		k.ipad[i] ^= 0x36
		k.opad[i] ^= 0x5c
	}
	return k
}

// maxMsg is the longest message priceKeys MAC: price and iv.
const maxMsg = 8 + 16

// sum returns HMAC-SHA1(k, msg) for a message of at most maxMsg bytes.
func (k *hmacKey) sum(msg []byte) [sha1.Size]byte {
	var in [sha1.BlockSize + maxMsg]byte
	copy(in[:], k.ipad[:])
	n := copy(in[sha1.BlockSize:], msg)
	inner := sha1.Sum(in[:sha1.BlockSize+n])
	var out [sha1.BlockSize + sha1.Size]byte
	copy(out[:], k.opad[:])
	copy(out[sha1.BlockSize:], inner[:])
	return sha1.Sum(out[:])
}

// ParsePriceKeys reads an exchange's price keys: the encryption key on
// the first line and the integrity key on the second, each in web-safe
// base64 as the exchange hands them out (Authorized Buyers: Bidder
// settings, RTB settings, Encryption keys), with or without '='
// padding. Blank lines and lines that start with '#' are skipped.
func ParsePriceKeys(text string) (*PriceKeys, error) {
	var keys [][]byte
	for n, line := range secret.Lines(text) {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(line, "="))
		if err != nil || len(b) < 16 || len(b) > 64 {
			return nil, fmt.Errorf("line %d: a price key is 16 to 64 bytes in web-safe base64", n)
		}
		keys = append(keys, b)
	}
	if len(keys) != 2 {
		return nil, errors.New("want two price keys, the encryption key and then the integrity key")
	}
	return &PriceKeys{enc: newHMACKey(keys[0]), integ: newHMACKey(keys[1])}, nil
}

// encryptedLen is the length of a decoded encrypted price: iv, price and
// signature.
const encryptedLen = 16 + 8 + 4

// Decrypt returns the price in CPI micros that v, an encrypted price as
// the exchange substituted it, holds; ok is false when v is not one or
// its integrity signature does not match (a garbled or forged price).
func (k *PriceKeys) Decrypt(v []byte) (micros uint64, ok bool) {
	for len(v) > 0 && v[len(v)-1] == '=' {
		v = v[:len(v)-1]
	}
	var b [encryptedLen + 2]byte // room for the decoder's last quantum
	if base64.RawURLEncoding.DecodedLen(len(v)) != encryptedLen {
		return 0, false
	}
	if n, err := base64.RawURLEncoding.Decode(b[:], v); err != nil || n != encryptedLen {
		return 0, false
	}
	iv, enc, sig := b[:16], b[16:24], b[24:28]
	pad := k.enc.sum(iv)
	var msg [maxMsg]byte
	for i := range 8 {
		msg[i] = enc[i] ^ pad[i]
	}
	copy(msg[8:], iv)
	want := k.integ.sum(msg[:])
	if subtle.ConstantTimeCompare(want[:4], sig) != 1 {
		return 0, false
	}
	return binary.BigEndian.Uint64(msg[:8]), true
}
