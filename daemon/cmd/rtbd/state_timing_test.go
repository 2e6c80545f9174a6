package main

import (
	"encoding/binary"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/config"
	"github.com/rtbd/rtbd/daemon/decision"
	"github.com/rtbd/rtbd/daemon/notice"
)

// BenchmarkSaveFullTables times one save of the "tables" state file with
// the default frequency and dedupe tables full (about 80 MiB): the work a
// serving host does every state.tablesInterval at worst. ns/op includes
// the write and fdatasync to the test's temporary directory.
func BenchmarkSaveFullTables(b *testing.B) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	cfg := config.Default()
	cfg.State.Dir = b.TempDir()
	st := decision.NewState(cfg.Bidding.FreqCapSlots)
	notices := notice.New(notice.Config{DedupeSlots: cfg.Bidding.NoticeDedupeSlots, DedupeTTL: time.Hour}, st, nil)
	slots := cfg.Bidding.FreqCapSlots
	freq := binary.LittleEndian.AppendUint64(nil, uint64(slots))
	freq = binary.LittleEndian.AppendUint64(freq, uint64(slots))
	for i := 0; i < slots; i++ {
		freq = binary.LittleEndian.AppendUint64(freq, uint64(i))
		freq = binary.LittleEndian.AppendUint64(freq, uint64(i)<<36|1<<24)
	}
	if _, err := st.RestoreFreq(freq); err != nil {
		b.Fatal(err)
	}
	n := cfg.Bidding.NoticeDedupeSlots
	dedupe := binary.LittleEndian.AppendUint64(nil, uint64(n))
	exp := uint64(time.Now().Add(time.Hour).UnixNano())
	for i := 0; i < n; i++ {
		dedupe = binary.LittleEndian.AppendUint64(dedupe, uint64(i)*0x9E3779B97F4A7C15|1)
		dedupe = binary.LittleEndian.AppendUint64(dedupe, exp)
	}
	if _, err := notices.RestoreDedupe(dedupe); err != nil {
		b.Fatal(err)
	}
	s, err := openState(&cfg, st, notices, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.tables.Save(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	fi, err := os.Stat(filepath.Join(cfg.State.Dir, "tables"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(fi.Size())/(1<<20), "MiB")
}
