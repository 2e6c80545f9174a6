package engine

import (
	"bufio"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// current is the engine whose state /metrics reports; the daemon has one.
var current atomic.Pointer[Engine]

func init() {
	metrics.RegisterMetricsWriter(writeCampaignMetrics)
	metrics.NewGauge(`rtbd_freqcap_slots_used`, func() float64 {
		if e := current.Load(); e != nil {
			used, _ := e.state.FreqOccupancy()
			return float64(used)
		}
		return 0
	})
	metrics.NewGauge(`rtbd_freqcap_slots`, func() float64 {
		if e := current.Load(); e != nil {
			_, total := e.state.FreqOccupancy()
			return float64(total)
		}
		return 0
	})
	// Every campaign whose spend the State counts: the book's, and every
	// one a book, a peer's reading or the state file has had since, which
	// are kept for a reload that brings them back until they are retired
	// (state.retireAfterDays). The spend file and each peer reading carry
	// all of them that spent (about 41 bytes each, and a peer refuses a
	// reading over 64 MiB).
	metrics.NewGauge(`rtbd_state_campaigns`, func() float64 {
		if e := current.Load(); e != nil {
			return float64(e.state.NumCampaigns())
		}
		return 0
	})
	// Win reservations (bidding.winReservation): live, and ended by
	// their billing notice, by expiry, or early because the table was
	// full.
	reservations := func(f func(live int, billed, expired, evicted uint64) uint64) func() float64 {
		return func() float64 {
			if e := current.Load(); e != nil {
				return float64(f(e.state.Reservations()))
			}
			return 0
		}
	}
	metrics.NewGauge(`rtbd_win_reservations`, reservations(func(live int, _, _, _ uint64) uint64 { return uint64(live) }))
	metrics.NewGauge(`rtbd_win_reservations_ended_total{how="billed"}`, reservations(func(_ int, b, _, _ uint64) uint64 { return b }))
	metrics.NewGauge(`rtbd_win_reservations_ended_total{how="expired"}`, reservations(func(_ int, _, x, _ uint64) uint64 { return x }))
	metrics.NewGauge(`rtbd_win_reservations_ended_total{how="evicted"}`, reservations(func(_ int, _, _, v uint64) uint64 { return v }))
	// Bills that came after their reservation ended: winReservation is
	// shorter than the exchanges take to bill.
	metrics.NewGauge(`rtbd_win_reservations_late_bills_total`, func() float64 {
		if e := current.Load(); e != nil {
			return float64(e.state.LateBills())
		}
		return 0
	})
	metrics.NewGauge(`rtbd_book_campaigns`, func() float64 {
		if e := current.Load(); e != nil {
			return float64(e.Snapshot().Campaigns())
		}
		return 0
	})
}

// writeCampaignMetrics writes spend and pacing state per campaign. The
// series count equals the campaign count: with 10^5 campaigns a scrape is
// a few MB, which Prometheus and VictoriaMetrics handle; drop the series at
// the scraper with metric_relabel_configs if that is too many.
func writeCampaignMetrics(w io.Writer) {
	e := current.Load()
	if e == nil {
		return
	}
	snap := e.Snapshot()
	now := time.Now()
	bw := bufio.NewWriterSize(w, 64<<10)
	var line []byte
	peers := e.state.PeerSpendSet()
	for i, n := 0, snap.Campaigns(); i < n; i++ {
		st := snap.CampaignStatus(i, now)
		line = appendSeries(line[:0], "rtbd_campaign_spend_today", st.ID, "", st.SpendToday)
		line = appendSeries(line, "rtbd_campaign_spend_total", st.ID, "", st.SpendTotal)
		if peers { // state.peers: what the other hosts spent, which pacing counts too
			line = appendSeries(line, "rtbd_campaign_peer_spend_today", st.ID, "", st.PeerToday)
			line = appendSeries(line, "rtbd_campaign_peer_spend_total", st.ID, "", st.PeerTotal)
		}
		if st.Reserved != 0 { // won, not yet billed; pacing counts it
			line = appendSeries(line, "rtbd_campaign_reserved_spend", st.ID, "", st.Reserved)
		}
		line = appendSeries(line, "rtbd_campaign_pacing", st.ID, st.Pacing.String(), 1)
		bw.Write(line) //nolint:errcheck // the scrape's writer reports its own errors
	}
	bw.Flush() //nolint:errcheck
}

func appendSeries(dst []byte, name string, id []byte, state string, v float64) []byte {
	dst = append(dst, name...)
	dst = append(dst, `{campaign=`...)
	dst = strconv.AppendQuote(dst, string(id))
	if state != "" {
		dst = append(dst, `,state=`...)
		dst = strconv.AppendQuote(dst, state)
	}
	dst = append(dst, "} "...)
	dst = strconv.AppendFloat(dst, v, 'g', -1, 64)
	return append(dst, '\n')
}
