package statefile

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Part is one section of the state file and the code that owns its data.
type Part struct {
	Name string
	// Append appends the part's current state to dst. It runs while the
	// daemon serves, so it must be safe against concurrent updates; a
	// value updated meanwhile may be saved before or after the update.
	Append func(dst []byte) []byte
	// Restore loads what Append wrote and returns how many entries it
	// restored. It runs once, before the daemon serves. It must reject
	// data it cannot read whole rather than restore part of it.
	Restore func(data []byte) (int, error)
}

// Store saves parts to one file and restores them from it.
type Store struct {
	path  string
	parts []Part
	mu    sync.Mutex // one save at a time; guards enc
	enc   Encoder

	saves, saveErrors                *metrics.Counter
	lastSave, saveSeconds, saveBytes *metrics.Gauge
}

// New returns a Store for the file name in dir; name labels its metrics
// (file="name"); Stores of one name share them.
func New(dir, name string, parts ...Part) *Store {
	l := `{file="` + name + `"}`
	return &Store{
		path: filepath.Join(dir, name), parts: parts,
		saves:       metrics.GetOrCreateCounter(`rtbd_state_saves_total` + l),
		saveErrors:  metrics.GetOrCreateCounter(`rtbd_state_save_errors_total` + l),
		lastSave:    metrics.GetOrCreateGauge(`rtbd_state_last_save_timestamp_seconds`+l, nil),
		saveSeconds: metrics.GetOrCreateGauge(`rtbd_state_save_duration_seconds`+l, nil),
		saveBytes:   metrics.GetOrCreateGauge(`rtbd_state_save_bytes`+l, nil),
	}
}

// Load restores every part from the file. A missing file is a first start:
// Load logs it and returns nil. A file that cannot be read whole, or a part
// that rejects its section, is an error that names the file: the daemon
// must not start with zero spend by accident. A section of a part this
// build does not have is ignored, and a part without a section starts
// empty.
func (s *Store) Load() error {
	sections, err := ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		slog.Info("no state file; starting with zero spend, caps and notice history", "file", s.path)
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w (move it away to start with zero spend)", err)
	}
	for _, p := range s.parts {
		data, ok := sections[p.Name]
		if !ok {
			slog.Warn("state file has no section; it starts empty", "file", s.path, "section", p.Name)
			continue
		}
		n, err := p.Restore(data)
		if err != nil {
			return fmt.Errorf("state file %s: section %s: %w (move it away to start with zero spend)", s.path, p.Name, err)
		}
		slog.Info("restored state", "section", p.Name, "entries", n)
	}
	return nil
}

// ReadFile reads and checks the state file at path and returns its
// sections by name. Its errors name the file; a missing file's wraps
// fs.ErrNotExist.
func ReadFile(path string) (map[string][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read state file: %w", err)
	}
	sections, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	return sections, nil
}

// Save writes every part's current state to the file, replacing it
// atomically.
func (s *Store) Save() error { return s.SaveAfter(nil) }

// SaveAfter is Save that reads every part's state, then calls before
// (when not nil), and writes the file only once before returned nil: a
// file whose content must never be newer than another file's is saved
// with the other's Save as before. An error of before is returned as it
// is, and the file is left as it was.
func (s *Store) SaveAfter(before func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Now()
	s.enc.Reset()
	for _, p := range s.parts {
		s.enc.Section(p.Name, p.Append)
	}
	b := s.enc.Bytes()
	if before != nil {
		if err := before(); err != nil {
			return err
		}
	}
	if err := WriteFile(s.path, b); err != nil {
		s.saveErrors.Inc()
		return fmt.Errorf("cannot save state to %s: %w", s.path, err)
	}
	s.saves.Inc()
	s.lastSave.Set(float64(time.Now().UnixNano()) / 1e9)
	s.saveSeconds.Set(time.Since(start).Seconds())
	s.saveBytes.Set(float64(len(b)))
	return nil
}
