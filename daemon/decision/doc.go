// Package decision chooses bids: a precompiled targeting index over the
// campaigns, a hashed-feature logistic model, pricing with currency
// conversion and floors, budget pacing, frequency caps and CTV pod
// assembly.
//
// [Compile] turns a campaign file and a model into an immutable [Snapshot]
// off the request path; [Snapshot.Decide] answers one request with no locks
// and no allocations. Spend and frequency counters live in a [State] that
// outlives snapshots; the billing notice handler moves them with
// [State.Bill].
//
// # Targeting index
//
// Campaigns get ordinals sorted by a static bound on their price,
// min(Value x sigmoid(bias + campaign and best creative weights), MaxCPM),
// highest first; ties and equal bid prices go to the higher Value (then
// the lower id), whatever order the scan meets campaigns in. Each targeting
// dimension (media type, banner size, video and audio duration, mimes,
// protocols, plcmt, device type, OS, country, region, metro, site domain
// and app bundle allow and block lists, publisher, deal, segment, hour,
// weekday, seat) maps each value's xxhash to a posting list of ordinals (a
// bitset, or a sorted list when short) and keeps the bitset of campaigns
// without a constraint on it. An imp's candidates are the AND over
// dimensions of (unconstrained | postings of the request's values), minus
// the postings of its block lists (bcat against campaign cat, badv and bapp
// against adomain, bseat, blocked site domains and app bundles); the most
// selective dimension goes first, so that most words end after one load.
// Creative-level checks (exact size, duration, mimes, protocol, battr,
// wlang, secure) run per candidate. Because ordinals follow the static
// bound, a per-word table of suffix bounds (exact for the request's device
// type, tangent-bounded in the request logit) stops the scan at the first
// word after which no campaign can beat the floor or the best prices found.
// A candidate's unknown campaign_x_domain weight is bounded first by the
// largest weight, then by a one-byte-per-bucket upper bound table, and
// only a survivor reads its exact weight. Its hash costs two multiplies:
// the campaign's half is precomputed and the request's computed once.
// A creative whose price bound cannot reach the floor or the k-th best
// option is not priced. Dimensions no campaign constrains get no term;
// within a request, the sigmoids are memoised, so that the slots of a
// structured pod do not recompute them.
//
// Case: OS, country, region, metro, domains, bundles, mimes and adomain
// match ignoring ASCII case; ids (publisher, deal, segment, seat, cat) match
// exactly. A campaign with siteDomains or appBundles bids only on listed
// sites or apps (a site-only list excludes all apps and vice versa).
//
// # Model features
//
// For each family in model.json's "features", the feature string below is
// hashed with xxhash (64-bit, seed 0) and weight[hash & (buckets-1)] is
// added to the bias; score = 1/(1+exp(-sum)). A family whose value is
// missing from the request contributes nothing. Without a model every
// score is 1.
//
//	campaign=<campaign id>
//	creative=<creative id>
//	publisher=<site.publisher.id or app.publisher.id, as sent>
//	domain=<site.domain, else app.bundle, lower-cased>
//	devicetype=<device.devicetype in decimal, e.g. 3>
//	os=<device.os, lower-cased, e.g. roku>
//	country=<device.geo.country, upper-cased, e.g. USA>
//	hour=<UTC hour of the decision, 0-23>
//	media=<banner|video|audio|native>
//	campaign_x_domain: the 16 bytes of the little-endian hashes of
//	  "campaign=<campaign id>" and "domain=<value as above>"
//	campaign_x_devicetype: the same with "devicetype=<value as above>"
//
// (model version 2; see crosshash.go and docs/data-format.md).
//
// # Price
//
// price = min(Value x score, MaxCPM), converted from the campaign file
// currency to the response currency, rounded to 4 decimals and never below
// the floor: imp.bidfloor (in bidfloorcur, default USD), or the deal's
// floor for a deal bid, and for video mincpmpersec x duration. The response
// currency is the configured one when the request's cur allows it, else the
// first allowed currency with a rate; else there is no bid.
package decision
