package server

import "bytes"

// HTTP content codings (RFC 9110 8.4), read without allocating.

var (
	strXGzip = []byte("x-gzip")
	strStar  = []byte("*")
)

// isGzip reports whether coding names gzip: "gzip", or "x-gzip", which a
// recipient should take as gzip (RFC 9110 8.4.1.3).
func isGzip(coding []byte) bool {
	return bytes.EqualFold(coding, strGzip) || bytes.EqualFold(coding, strXGzip)
}

// requestCoding reads a Content-Encoding: gzip when the body is gzipped
// once, ok false for a coding this server does not read (deflate, br,
// gzip twice). identity, which changes nothing, may appear anywhere in
// the list; the list may have blanks, any case and empty items.
func requestCoding(enc []byte) (gzip, ok bool) {
	for len(enc) > 0 {
		var item []byte
		item, enc, _ = bytes.Cut(enc, []byte{','})
		switch item = bytes.TrimSpace(item); {
		case len(item) == 0 || bytes.EqualFold(item, strIdentity):
		case isGzip(item) && !gzip:
			gzip = true
		default:
			return false, false
		}
	}
	return gzip, true
}

// acceptsGzip reads an Accept-Encoding: whether gzip may be sent, by name
// (or as x-gzip) or by "*", with a weight above 0; a gzip refused by
// q=0 is not sent whatever "*" says.
func acceptsGzip(accept []byte) bool {
	star := false
	for len(accept) > 0 {
		var item []byte
		item, accept, _ = bytes.Cut(accept, []byte{','})
		coding, params, _ := bytes.Cut(item, []byte{';'})
		coding = bytes.TrimSpace(coding)
		switch {
		case isGzip(coding):
			return !zeroWeight(params)
		case bytes.Equal(coding, strStar):
			star = !zeroWeight(params)
		}
	}
	return star
}

// zeroWeight reports whether params (after a coding's ';') give q=0:
// "q=0", "q=0.", "q=0.0" to "q=0.000", any case and blanks.
func zeroWeight(params []byte) bool {
	for len(params) > 0 {
		var p []byte
		p, params, _ = bytes.Cut(params, []byte{';'})
		name, value, _ := bytes.Cut(bytes.TrimSpace(p), []byte{'='})
		if !bytes.EqualFold(bytes.TrimSpace(name), []byte("q")) {
			continue
		}
		value = bytes.TrimSpace(value)
		if len(value) == 0 || value[0] != '0' {
			return false
		}
		return len(bytes.Trim(value[1:], ".0")) == 0
	}
	return false
}
