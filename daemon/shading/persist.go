package shading

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"time"
)

// stateLen is the length of an estimator's saved state: the time of its
// last update (unix nanoseconds), its number of steps, the decayed bids
// and the decayed wins of each step.
const stateLen = 8 + 2 + 8 + Steps*8

// ErrState reports saved state that cannot be read whole.
var ErrState = errors.New("shading: malformed saved state")

// Append appends what the estimators of es have learned, by name, in the
// order of their names, for Restore: so that a restart or a redeploy
// does not bid with Config.Start while it learns again. Counts not yet
// folded in are folded in first.
func Append(dst []byte, es map[string]*Estimator, now time.Time) []byte {
	names := make([]string, 0, len(es))
	for name := range es {
		names = append(names, name)
	}
	slices.Sort(names)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(names)))
	for _, name := range names {
		dst = binary.LittleEndian.AppendUint16(dst, uint16(len(name)))
		dst = append(dst, name...)
		dst = es[name].appendState(dst, now)
	}
	return dst
}

func (e *Estimator) appendState(dst []byte, now time.Time) []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.update(now)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(e.lastUpdate.Load()))
	dst = binary.LittleEndian.AppendUint16(dst, Steps)
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(e.sumBids))
	for _, w := range e.sumWins {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(w))
	}
	return dst
}

// saved is one estimator's state as Append wrote it.
type saved struct {
	at   int64
	bids float64
	wins [Steps]float64
}

// Restore loads what Append wrote into the estimators of es with the same
// names, decayed by the time since it was saved, and chooses their
// factors from it (or keeps Config.Start when too little is left: see
// MinBids and MinWins). It returns how many it restored. It skips the
// state of an exchange es does not have, or that was saved with another
// number of steps, and restores nothing from data it cannot read whole
// (ErrState).
func Restore(b []byte, es map[string]*Estimator, now time.Time) (int, error) {
	if len(b) < 4 {
		return 0, ErrState
	}
	n := binary.LittleEndian.Uint32(b)
	b = b[4:]
	found := map[*Estimator]saved{}
	for range n {
		if len(b) < 2 || len(b) < 2+int(binary.LittleEndian.Uint16(b)) {
			return 0, ErrState
		}
		l := int(binary.LittleEndian.Uint16(b))
		name := string(b[2 : 2+l])
		b = b[2+l:]
		if len(b) < 10 {
			return 0, ErrState
		}
		steps := int(binary.LittleEndian.Uint16(b[8:]))
		size := 8 + 2 + 8 + steps*8
		if len(b) < size {
			return 0, ErrState
		}
		rec := b[:size]
		b = b[size:]
		e := es[name]
		if e == nil || steps != Steps {
			continue
		}
		s := saved{at: int64(binary.LittleEndian.Uint64(rec))}
		rec = rec[10:]
		s.bids = math.Float64frombits(binary.LittleEndian.Uint64(rec))
		ok := s.bids >= 0 && !math.IsInf(s.bids, 1)
		for i := range s.wins {
			s.wins[i] = math.Float64frombits(binary.LittleEndian.Uint64(rec[8+8*i:]))
			ok = ok && s.wins[i] >= 0 && !math.IsInf(s.wins[i], 1)
		}
		if !ok {
			return 0, ErrState
		}
		found[e] = s
	}
	if len(b) != 0 {
		return 0, ErrState
	}
	for e, s := range found {
		e.restore(s, now)
	}
	return len(found), nil
}

func (e *Estimator) restore(s saved, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sumBids, e.sumWins = s.bids, s.wins
	e.lastUpdate.Store(s.at)
	e.update(now)
}
