package campaign

import "slices"

// FeatureNames are the feature families a model may use, in the canonical
// order. The decision package implements exactly these: for each family it
// hashes "name=value" (value from the request, the campaign or both, as in
// "campaign_x_domain=<campaign id>|<site domain or app bundle>").
var FeatureNames = []string{
	"campaign", "creative", "publisher", "domain", "devicetype", "os",
	"country", "hour", "media", "campaign_x_domain", "campaign_x_devicetype",
}

// MaxBuckets is the largest accepted [Model.Buckets] (16M weights, 128 MiB).
const MaxBuckets = 1 << 24

// Validate checks the model's dimensions and values and returns nil or a
// *[ValidationError].
func (m *Model) Validate() error {
	var p problems
	if m.Version != 1 {
		p.addf("version: unsupported version %d; want 1", m.Version)
	}
	if m.Buckets < 1 || m.Buckets > MaxBuckets || m.Buckets&(m.Buckets-1) != 0 {
		p.addf("buckets: %d must be a power of two in [1, %d]", m.Buckets, MaxBuckets)
	}
	if len(m.Weights) != m.Buckets {
		p.addf("weights: has %d values; want buckets = %d", len(m.Weights), m.Buckets)
	}
	if !isFinite(m.Bias) {
		p.addf("bias: %v is not finite", m.Bias)
	}
	for i, w := range m.Weights {
		if !isFinite(w) {
			p.addf("weights[%d]: %v is not finite", i, w)
		}
	}
	seen := make(map[string]int, len(m.Features))
	for i, f := range m.Features {
		if !slices.Contains(FeatureNames, f) {
			p.addf("features[%d]: unknown feature %q; known: %q", i, f, FeatureNames)
		}
		if j, dup := seen[f]; dup {
			p.addf("features[%d]: %q duplicates features[%d]", i, f, j)
		}
		seen[f] = i
	}
	return p.err()
}
