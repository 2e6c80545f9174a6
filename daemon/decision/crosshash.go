package decision

import "github.com/cespare/xxhash/v2"

// The campaign_x_domain feature string of a candidate is assembled in
// Ctx.xdom with one copy: the request's domain sits at xdomAt once per
// request, and a candidate's precomputed "campaign_x_domain=<id>|" is
// copied just before it. Four appends per candidate cost more than the
// hash itself.
const (
	xdomAt  = 96
	xdomCap = 512
)

// crossPrefix appends "campaign_x_domain=" + id + "|", the campaign part
// of the campaign_x_domain feature, to dst.
func crossPrefix(dst, id []byte) []byte {
	dst = append(dst, "campaign_x_domain="...)
	dst = append(dst, id...)
	return append(dst, '|')
}

// precomputeCrossPrefixes fills s.xpreB and s.xpreOff.
func (s *Snapshot) precomputeCrossPrefixes() {
	if !s.model.on || !s.model.fam[famXDomain] {
		return
	}
	s.xpreOff = make([]uint32, len(s.camps)+1)
	for o := range s.camps {
		s.xpreB = crossPrefix(s.xpreB, s.camps[o].id)
		s.xpreOff[o+1] = uint32(len(s.xpreB))
	}
}

// setDomain places the request's domain in c.xdom.
func (c *Ctx) setDomain() {
	c.xdomOK = xdomAt+len(c.rf.domain) <= xdomCap
	if c.xdomOK {
		copy(c.xdom[xdomAt:], c.rf.domain)
	}
}

// domainHashes caches the campaign_x_domain hashes of one request by
// ordinal, direct-mapped: the slots of a structured pod scan mostly the
// same top campaigns, and rehashing each for every slot showed in
// profiles. An entry is valid when its gen is the Ctx's current one.
type domainHashes struct {
	gen  uint32
	ents [domainCacheSize]domainHashEnt
}

type domainHashEnt struct {
	gen uint32
	ord int32
	h   uint64
}

const domainCacheSize = 256

// reset invalidates every entry, for a new request.
func (dc *domainHashes) reset() {
	if dc.gen++; dc.gen == 0 { // wrapped: old entries could match
		dc.ents = [domainCacheSize]domainHashEnt{}
		dc.gen = 1
	}
}

// cachedDomainHash is domainHash through c.dhc.
func (s *Snapshot) cachedDomainHash(c *Ctx, o int) uint64 {
	e := &c.dhc.ents[o&(domainCacheSize-1)]
	if e.gen == c.dhc.gen && e.ord == int32(o) {
		return e.h
	}
	h := s.domainHash(c, o)
	*e = domainHashEnt{gen: c.dhc.gen, ord: int32(o), h: h}
	return h
}

// domainHash returns the hash of campaign o's campaign_x_domain feature
// for the request's domain (see precomputeCrossPrefixes, Ctx.setDomain).
func (s *Snapshot) domainHash(c *Ctx, o int) uint64 {
	pre := s.xpreB[s.xpreOff[o]:s.xpreOff[o+1]]
	if start := xdomAt - len(pre); start >= 0 && c.xdomOK {
		copy(c.xdom[start:xdomAt], pre)
		return xxhash.Sum64(c.xdom[start : xdomAt+len(c.rf.domain)])
	}
	b := append(append(c.crossBuf[:0], pre...), c.rf.domain...)
	c.crossBuf = b
	return xxhash.Sum64(b)
}
