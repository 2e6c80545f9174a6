package campaign

import (
	"slices"
	"strings"
)

// FeatureNames are the feature families a model may use, in the canonical
// order. The decision package implements exactly these: for each family it
// hashes "name=value" (value from the request or the campaign), and for a
// cross family (the two with crossInfix) the 16 bytes of the hashes
// of its two halves, "campaign=<id>" and "domain=<value>" or
// "devicetype=<value>" (see docs/data-format.md).
var FeatureNames = []string{
	"campaign", "creative", "publisher", "domain", "devicetype", "os",
	"country", "hour", "media", "campaign_x_domain", "campaign_x_devicetype",
}

// ModelVersion is the model format written by [GenerateModel]. Version 1
// differs only in how the cross features were hashed, so a version 1
// model without them is still accepted.
const ModelVersion = 2

// crossInfix marks the cross feature families.
const crossInfix = "_x_"

// MaxBuckets is the largest accepted [Model.Buckets] (16M weights, 128 MiB).
const MaxBuckets = 1 << 24

// Validate checks the model's dimensions and values and returns nil or a
// *[ValidationError].
func (m *Model) Validate() error {
	var p problems
	if m.Version != 1 && m.Version != ModelVersion {
		p.addf("version: unsupported version %d; want %d", m.Version, ModelVersion)
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
		if m.Version == 1 && strings.Contains(f, crossInfix) {
			p.addf("features[%d]: version 1 hashed %q as one string, which rtbd no longer computes; export the model as version %d, which hashes the two halves' hashes (docs/data-format.md)", i, f, ModelVersion)
		}
		if j, dup := seen[f]; dup {
			p.addf("features[%d]: %q duplicates features[%d]", i, f, j)
		}
		seen[f] = i
	}
	return p.err()
}
