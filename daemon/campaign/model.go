package campaign

import (
	"math"
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

// MaxWeight bounds the bias and each weight of a model: a log-odds
// factor of e^40, far past what training gives. A logit sums the bias and
// one weight per feature, 12 terms, so it and the bounds rtbd prunes with
// stay within +-700, where exp stays finite: with weights of 1e308 a
// logit of Inf - Inf priced a bid NaN, written as 0 (the pricing audit).
const MaxWeight = 40

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
	if !isFinite(m.Bias) || math.Abs(m.Bias) > MaxWeight {
		p.addf("bias: %v is not a finite number in [-%d, %d]", m.Bias, MaxWeight, MaxWeight)
	}
	bad := 0
	for i, w := range m.Weights {
		if !isFinite(w) || math.Abs(w) > MaxWeight {
			if bad++; bad <= 10 {
				p.addf("weights[%d]: %v is not a finite number in [-%d, %d]", i, w, MaxWeight, MaxWeight)
			}
		}
	}
	if bad > 10 {
		p.addf("weights: %d more out of range", bad-10)
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
