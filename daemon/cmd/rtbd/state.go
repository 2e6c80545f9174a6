package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/rtbd/rtbd/daemon/config"
	"github.com/rtbd/rtbd/daemon/decision"
	"github.com/rtbd/rtbd/daemon/notice"
	"github.com/rtbd/rtbd/daemon/statefile"
)

// stateFiles are the daemon's two state files: spend, small and saved
// often, and the frequency-cap and notice tables, large and saved less
// often (see config.State).
type stateFiles struct {
	spend, tables *statefile.Store
	stop          chan struct{}
	done          chan struct{}
}

// openState restores spend, caps and notice history from cfg.State.Dir,
// then saves both files once, so that a directory rtbd cannot write stops
// the start instead of the first periodic save. It returns nil when
// cfg.State.Dir is empty.
func openState(cfg *config.Config, st *decision.State, notices *notice.Handler) (*stateFiles, error) {
	dir := cfg.State.Dir
	if dir == "" {
		slog.Warn("state.dir is empty: spend, frequency caps and notice history start from zero at every restart")
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create state.dir: %w", err)
	}
	s := &stateFiles{
		spend: statefile.New(dir, "spend",
			statefile.Part{Name: "spend", Append: st.AppendSpend, Restore: st.RestoreSpend}),
		tables: statefile.New(dir, "tables",
			statefile.Part{Name: "freq", Append: st.AppendFreq, Restore: func(b []byte) (int, error) {
				n, err := st.RestoreFreq(b)
				if errors.Is(err, decision.ErrFreqSize) {
					// bidding.freqCapSlots changed: caps restart, spend
					// and notices do not.
					slog.Warn("frequency caps start from zero", "err", err)
					return 0, nil
				}
				return n, err
			}},
			statefile.Part{Name: "notices", Append: notices.AppendDedupe, Restore: notices.RestoreDedupe}),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	for _, f := range []*statefile.Store{s.spend, s.tables} {
		if err := f.Load(); err != nil {
			return nil, err
		}
	}
	if err := s.save(); err != nil {
		return nil, err
	}
	go s.run(cfg.State.SaveInterval.D(), cfg.State.TablesInterval.D())
	return s, nil
}

func (s *stateFiles) save() error {
	return errors.Join(s.spend.Save(), s.tables.Save())
}

// run saves each file at its interval until close.
func (s *stateFiles) run(spendEvery, tablesEvery time.Duration) {
	defer close(s.done)
	spend, tables := time.NewTicker(spendEvery), time.NewTicker(tablesEvery)
	defer spend.Stop()
	defer tables.Stop()
	for {
		var err error
		select {
		case <-s.stop:
			return
		case <-spend.C:
			err = s.spend.Save()
		case <-tables.C:
			err = s.tables.Save()
		}
		if err != nil {
			slog.Error("periodic state save failed; the next one tries again", "err", err)
		}
	}
}

// close stops the periodic saves and saves both files a last time. Call it
// after the listeners stopped, so that no bill or notice comes after.
func (s *stateFiles) close() error {
	if s == nil {
		return nil
	}
	close(s.stop)
	<-s.done
	return s.save()
}
