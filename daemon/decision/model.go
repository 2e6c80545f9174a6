package decision

import (
	"fmt"
	"math"
	"strconv"

	"github.com/cespare/xxhash/v2"
	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

// Feature families, in the order of campaign.FeatureNames.
const (
	famCampaign = iota
	famCreative
	famPublisher
	famDomain
	famDevType
	famOS
	famCountry
	famHour
	famMedia
	famXDomain
	famXDevType
	numFam
)

var famNames = [numFam]string{
	"campaign", "creative", "publisher", "domain", "devicetype", "os",
	"country", "hour", "media", "campaign_x_domain", "campaign_x_devicetype",
}

// model is a compiled hashed-feature logistic model.
type model struct {
	on    bool // false: no model, every score is 1
	bias  float64
	w     []float64
	mask  uint64
	fam   [numFam]bool
	maxW  float64 // max(0, highest weight): bounds an unknown cross feature
	ub    weightBounds
	media [4]float64  // weight of "media=<name>" per media bit
	hour  [24]float64 // weight of "hour=<h>" per UTC hour
}

// famPrefix is "<family>=" per family.
var famPrefix = func() (p [numFam]string) {
	for i, n := range famNames {
		p[i] = n + "="
	}
	return p
}()

func newModel(m *campaign.Model) (model, error) {
	if m == nil {
		return model{}, nil
	}
	if m.Buckets < 1 || m.Buckets&(m.Buckets-1) != 0 || len(m.Weights) != m.Buckets {
		return model{}, fmt.Errorf("buckets %d must be a power of two equal to len(weights) %d", m.Buckets, len(m.Weights))
	}
	md := model{on: true, bias: m.Bias, w: m.Weights, mask: uint64(m.Buckets - 1)}
	for _, f := range m.Features {
		i := famIndex(f)
		if i < 0 {
			return model{}, fmt.Errorf("unknown feature family %q", f)
		}
		md.fam[i] = true
	}
	for _, w := range m.Weights {
		md.maxW = max(md.maxW, w)
	}
	md.ub = newWeightBounds(m.Weights)
	for i, name := range mediaNames {
		md.media[i] = md.feature(famMedia, []byte(name))
	}
	for h := range md.hour {
		md.hour[h] = md.feature(famHour, strconv.AppendInt(nil, int64(h), 10))
	}
	return md, nil
}

func famIndex(name string) int {
	for i, n := range famNames {
		if n == name {
			return i
		}
	}
	return -1
}

// weight returns the weight of a feature hash.
func (m *model) weight(h uint64) float64 { return m.w[h&m.mask] }

// feature returns the weight of "<family>=<v>", or 0 when the family is
// off or v is empty.
func (m *model) feature(f int, v []byte) float64 {
	if !m.fam[f] || len(v) == 0 {
		return 0
	}
	return m.weight(featureHash(f, v))
}

// featureHash is the xxhash of "<family>=<v>". The string is assembled on
// the stack when it fits: one Sum64 costs less than copying and streaming
// a Digest.
func featureHash(f int, v []byte) uint64 {
	var buf [96]byte
	if len(famPrefix[f])+len(v) > len(buf) {
		var d xxhash.Digest
		d.Reset()
		d.WriteString(famPrefix[f])
		d.Write(v)
		return d.Sum64()
	}
	b := append(append(buf[:0], famPrefix[f]...), v...)
	return xxhash.Sum64(b)
}

// finish precomputes the campaign and creative weights and the prefix
// digests of the cross features.
func (m *model) finish(camps []ccamp) {
	if !m.on {
		return
	}
	for i := range camps {
		cc := &camps[i]
		h := featureHash(famCampaign, cc.id)
		if m.fam[famCampaign] {
			cc.wCamp = m.weight(h)
		}
		cc.xLeft = crossLeft(h)
		cc.maxCrW = math.Inf(-1)
		for j := range cc.creatives {
			cr := &cc.creatives[j]
			cr.weight = m.feature(famCreative, cr.id)
			cc.maxCrW = max(cc.maxCrW, cr.weight)
		}
		for j := range cc.creatives {
			cr := &cc.creatives[j]
			// One part in 1e12 below exp: exp is accurate to an ulp.
			cr.expGap = math.Exp(cc.maxCrW-cr.weight) * (1 - 1e-12)
		}
	}
}

// reqFeatures holds the request's feature values and its request-only logit.
type reqFeatures struct {
	base    float64 // bias + request-only features
	domain  []byte  // lower-cased site domain or app bundle (Ctx scratch)
	devType []byte  // decimal device type (Ctx scratch); empty when 0
	// dt is the device type's index in Snapshot.devExpNegS, or -1 when its
	// cross weight is not precomputed.
	dt int
	// slack bounds the cross features not known before hashing: the
	// largest weight for each present one (0 when none).
	slack float64
	// xDom and xDev are the request halves of the cross features (see
	// crossRight), valid when the family is on and the value present.
	xDom, xDev uint64
}

// prepare computes the request-level part of the logit.
func (m *model) prepare(c *Ctx, req *openrtb.Request, hour int) {
	rf := &c.rf
	c.domBuf = append(c.domBuf[:0], inventoryValue(req)...)
	lowerASCII(c.domBuf)
	rf.domain = c.domBuf
	c.devBuf = c.devBuf[:0]
	if req.Device.Type != 0 {
		c.devBuf = strconv.AppendInt(c.devBuf, int64(req.Device.Type), 10)
	}
	rf.devType = c.devBuf
	rf.dt, rf.slack = -1, 0
	if !m.on {
		return
	}
	x := m.bias
	x += m.feature(famPublisher, publisherID(req))
	w, right, cross := m.valueFeature(famDomain, famXDomain, rf.domain)
	x += w
	if cross {
		rf.slack += m.maxW
		rf.xDom = right
	}
	w, right, cross = m.valueFeature(famDevType, famXDevType, rf.devType)
	x += w
	if cross {
		rf.xDev = right
		if dt := req.Device.Type; dt >= 1 && dt <= numDevTypes {
			rf.dt = dt - 1
		} else {
			rf.slack += m.maxW
		}
	}
	var buf [32]byte
	x += m.feature(famOS, foldInto(buf[:0], req.Device.OS, false))
	x += m.feature(famCountry, foldInto(buf[:0], req.Device.Geo.Country, true))
	if hour >= 0 && hour < len(m.hour) {
		x += m.hour[hour]
	} else { // before 1970
		x += m.feature(famHour, strconv.AppendInt(buf[:0], int64(hour), 10))
	}
	rf.base = x
}

// valueFeature hashes "<family f>=<v>" once for its weight (0 when f is
// off) and for the request half of the cross family xf; cross says xf is
// on and v present.
func (m *model) valueFeature(f, xf int, v []byte) (w float64, right uint64, cross bool) {
	if len(v) == 0 || !m.fam[f] && !m.fam[xf] {
		return 0, 0, false
	}
	h := featureHash(f, v)
	if m.fam[f] {
		w = m.weight(h)
	}
	return w, crossRight(h), m.fam[xf]
}

// foldInto copies v into dst (when it fits) and folds it to upper or lower
// case. The fold is not a function value: when the fold is not inlined,
// an indirect call moves the caller's buffer to the heap.
func foldInto(dst, v []byte, upper bool) []byte {
	if len(v) > cap(dst) {
		return v
	}
	dst = append(dst, v...)
	if upper {
		upperASCII(dst)
	} else {
		lowerASCII(dst)
	}
	return dst
}

// crossDomain returns the campaign_x_domain weight, for the request, of
// the campaign whose crossLeft is xLeft; crossDevType the
// campaign_x_devicetype one.
func (m *model) crossDomain(c *Ctx, xLeft uint64) float64 {
	if m.fam[famXDomain] && len(c.rf.domain) > 0 {
		return m.weight(crossHash(xLeft, c.rf.xDom))
	}
	return 0
}

func (m *model) crossDevType(c *Ctx, xLeft uint64) float64 {
	if m.fam[famXDevType] && len(c.rf.devType) > 0 {
		return m.weight(crossHash(xLeft, c.rf.xDev))
	}
	return 0
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// sigmoidCache memoises sigmoid, direct-mapped by the bits of its
// argument: the slots of a structured pod price the same creatives of the
// same campaigns at the same logit, and exp was the largest cost of
// pricing. A pure function needs no invalidation; an entry is empty when
// its value is 0.
type sigmoidCache [sigmoidCacheSize]struct {
	x uint64 // math.Float64bits of the argument
	s float64
}

const sigmoidCacheSize = 256

func (sc *sigmoidCache) sigmoid(x float64) float64 {
	b := math.Float64bits(x)
	e := &sc[(b*0x9e3779b97f4a7c15)>>56]
	if e.x == b && e.s != 0 {
		return e.s
	}
	e.x, e.s = b, sigmoid(x)
	return e.s
}

func inventoryValue(req *openrtb.Request) []byte {
	if req.Site.Present {
		return req.Site.Domain
	}
	if req.App.Present {
		return req.App.Bundle
	}
	return nil
}

func publisherID(req *openrtb.Request) []byte {
	if req.Site.Present {
		return req.Site.PublisherID
	}
	if req.App.Present {
		return req.App.PublisherID
	}
	return nil
}
