package server

import (
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/rtbd/rtbd/daemon/config"
	"github.com/rtbd/rtbd/daemon/decision"
	"github.com/rtbd/rtbd/daemon/engine"
)

// NewBench returns the Server that the handler benchmarks and rtbcount
// measure: the default configuration on the data set in dir
// (campaigns.json and model.json), or on the demo book when dir is "",
// with no deadline, so that what is measured does not depend on the
// machine's speed, and with the decision's clock at benchInstant (its
// date and hour: the clock runs on from there), so that it does not
// depend on the hour either: day-parting and the model's hour feature
// change which campaigns bid, and so the work a request takes. It
// silences the default logger: loading logs a line.
func NewBench(dir string) (*Server, error) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	cfg := config.Default()
	cfg.Bidding.NoticeBaseURL = "http://rtbd.test/"
	cfg.Bidding.DefaultTmax = config.Duration(time.Hour)
	cfg.Bidding.MinTimeLeft = 0
	if dir != "" {
		cfg.Data.CampaignsFile = filepath.Join(dir, "campaigns.json")
		cfg.Data.ModelFile = filepath.Join(dir, "model.json")
	}
	eng, err := engine.New(&cfg)
	if err != nil {
		return nil, err
	}
	deals := NewDealMetrics(nil) // counted as rtbd counts them
	eng.OnSnapshot(func(s *decision.Snapshot) { deals.SetDeals(s.DealIDs()) })
	s := New(Options{Config: &cfg, Engine: eng, Deals: deals})
	s.decideShift = benchInstant.Sub(time.Now())
	return s, nil
}

// benchInstant is the decision's clock in NewBench's server: a Tuesday
// afternoon, 14 h UTC.
var benchInstant = time.Date(2026, time.November, 17, 14, 0, 0, 0, time.UTC)
