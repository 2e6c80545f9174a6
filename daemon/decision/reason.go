package decision

// Reason says why [Snapshot.Decide] did or did not bid.
type Reason uint8

// Reasons, in increasing order of how far the best candidate got.
const (
	// ReasonBid means at least one bid was made.
	ReasonBid Reason = iota
	// ReasonNoCandidates means no campaign matched the targeting.
	ReasonNoCandidates
	// ReasonBlocked means the only matches were removed by the request's
	// block lists (bcat, badv, bapp, battr, wlang, secure, seats, deals).
	ReasonBlocked
	// ReasonBudget means the matching campaigns had spent their budget,
	// were ahead of their pacing schedule or were outside their flight.
	ReasonBudget
	// ReasonFreqCap means the user had reached the frequency cap of every
	// matching campaign.
	ReasonFreqCap
	// ReasonBelowFloor means every price was below the floor.
	ReasonBelowFloor
	// ReasonCurrency means no currency in the request's cur list (or of
	// its floors) has a configured rate.
	ReasonCurrency
	// ReasonDeadline means the deadline passed before a bid was found.
	ReasonDeadline
	// ReasonInvalid means the request cannot be bid on (no imps).
	ReasonInvalid
	// ReasonNoConsent means the request's TCF consent string refuses what
	// selecting an ad needs (see [openrtb.NoBid]).
	ReasonNoConsent
	// ReasonDeadman means the daemon did not try: its control plane has
	// been silent for longer than data.deadman (see engine.Engine.Halted).
	// Last, out of the order above, since event logs store the numbers.
	ReasonDeadman
	// ReasonDuplicate means this host bid on the same opportunity (the
	// request's source.tid) arriving by another path, within
	// bidding.transactionWindow, and does not bid against itself.
	ReasonDuplicate
	numReasons
)

// NumReasons is the number of Reason values, for tables indexed by Reason.
const NumReasons = int(numReasons)

var reasonNames = [numReasons]string{
	"bid", "no_candidates", "blocked", "budget", "freq_cap", "below_floor",
	"currency", "deadline", "invalid", "no_consent", "deadman",
	"duplicate",
}

// String returns the snake_case name of r, used as a metric label.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// NBR returns the OpenRTB no-bid reason code for r: 1 technical error
// (the deadman switch), 2 invalid request, 9 user cap met (frequency
// cap), 15 insufficient auction time, else 0 (unknown error), which is
// also what ReasonBid returns.
func (r Reason) NBR() int {
	switch r {
	case ReasonDeadman:
		return 1
	case ReasonInvalid:
		return 2
	case ReasonFreqCap:
		return 9
	case ReasonDeadline:
		return 15
	}
	return 0
}
