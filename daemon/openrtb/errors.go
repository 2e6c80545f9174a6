package openrtb

import (
	"errors"
	"strconv"
)

// MaxDepth is the deepest nesting of JSON objects and arrays that
// [Request.Parse] accepts. Deeper input is an error, so that a body of 100,000
// '[' costs neither stack nor time.
const MaxDepth = 32

// Limits on list lengths keep the memory of a pooled Request bounded whatever
// the input; a longer list is a parse error.
const (
	maxImps    = 64
	maxFormats = 64
	maxDeals   = 64
	// maxDurFloors bounds each durfloors array.
	maxDurFloors = 32
	// maxTexts bounds a list of strings. Block lists (badv, bapp, bcat)
	// cannot be cut short without bidding on what they block, and a
	// publisher's badv may name a few thousand advertisers.
	maxTexts = 4096
	maxInts  = 256 // enumerations: battr, protocols, rqddurs
	// maxSegments and maxEIDs bound the user's data segments (over all
	// its data) and eids; those past them are skipped: they only inform.
	maxSegments = 1024
	maxEIDs     = 64
	// maxNativeAssets bounds a native request's assets; one with more is
	// not read (its imp keeps no asset, so nothing fills it): an asset
	// past it may be required.
	maxNativeAssets = 32
	// maxNativeList bounds the mimes, and the protocols, of a native
	// request's video assets together; one with more is not read either.
	maxNativeList = 64
)

// ErrMissingID is returned by [Request.Parse] when the request has no "id".
var ErrMissingID = errors.New("bid request has no id")

// ErrNoImp is returned by [Request.Parse] when the request has no "imp" or
// an empty one.
var ErrNoImp = errors.New("bid request has no imp")

// ErrImpID is returned by [Request.Parse] when an imp has no "id".
var ErrImpID = errors.New("bid request has an imp without id")

// ParseError describes malformed or unacceptable input found by
// [Request.Parse]. Its Error text is short and fit for a plain-text 400 body.
type ParseError struct {
	// Msg says what is wrong, e.g. "unexpected end of input".
	Msg string
	// Offset is the byte offset in the body where the problem was found.
	Offset int
	// Limit: the request is valid OpenRTB but has more of something
	// (imps, badv entries, ...) than this parser keeps. It is not the
	// exchange's error: a server answers it with a no-bid, not a 400.
	Limit bool
}

// Error implements error.
func (e *ParseError) Error() string {
	return "cannot parse bid request: " + e.Msg + " at byte " + strconv.Itoa(e.Offset)
}

// ValidationError is a semantic problem found by [Request.Validate]: the
// request is well-formed JSON but a strict exchange would reject it.
type ValidationError struct {
	// Msg says what is wrong, e.g. "imp has no media object".
	Msg string
}

// Error implements error.
func (e *ValidationError) Error() string { return "invalid bid request: " + e.Msg }
