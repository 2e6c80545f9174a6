package decision

import (
	"cmp"
	"fmt"
	"math"
	"sort"
)

// money converts between currencies with fixed rates (units per USD).
type money struct {
	codes [][]byte  // upper-case ISO-4217 codes; codes[0] is "USD"
	rates []float64 // units per USD, same order
	file  int       // index of the campaign file currency
	bid   int       // index of the preferred bid currency
}

func newMoney(fileCur, bidCur string, rates map[string]float64) (money, error) {
	m := money{codes: [][]byte{[]byte("USD")}, rates: []float64{1}}
	codes := make([]string, 0, len(rates))
	for c := range rates {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		r := rates[c]
		if len(c) != 3 || !(r > 0) || math.IsInf(r, 0) {
			return money{}, fmt.Errorf("bad rate %q = %v: want a 3-letter code and a rate > 0", c, r)
		}
		if equalFold(m.codes[0], c) {
			continue // USD is always 1
		}
		b := []byte(c)
		upperASCII(b)
		m.codes = append(m.codes, b)
		m.rates = append(m.rates, r)
	}
	var ok bool
	if m.file, ok = m.lookup([]byte(cmp.Or(fileCur, "USD"))); !ok {
		return money{}, fmt.Errorf("no rate for the campaign currency %q: add it to bidding.rates (units per USD)", fileCur)
	}
	if m.bid, ok = m.lookup([]byte(cmp.Or(bidCur, "USD"))); !ok {
		return money{}, fmt.Errorf("no rate for the bid currency %q: add it to bidding.rates (units per USD)", bidCur)
	}
	return m, nil
}

func upperASCII(b []byte) {
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
}

// lookup returns the index of currency code c (any case); empty means USD.
func (m *money) lookup(c []byte) (int, bool) {
	if len(c) == 0 {
		return 0, true
	}
	for i, code := range m.codes {
		if equalFoldBytes(code, c) {
			return i, true
		}
	}
	return -1, false
}

func equalFoldBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i]|0x20, b[i]|0x20 // letters only: codes are [A-Z]{3}
		if x != y {
			return false
		}
	}
	return true
}

// respCurrency picks the response currency for a request's cur list: our
// bid currency when allowed, else the first allowed one we have a rate
// for; ok is false when none is usable. An empty list means USD.
func (m *money) respCurrency(cur [][]byte) (int, bool) {
	if len(cur) == 0 {
		return 0, true
	}
	for _, c := range cur {
		if equalFoldBytes(m.codes[m.bid], c) {
			return m.bid, true
		}
	}
	for _, c := range cur {
		if i, ok := m.lookup(c); ok && len(c) == 3 {
			return i, true
		}
	}
	return -1, false
}

// factor returns the multiplier converting currency index from to to.
func (m *money) factor(from, to int) float64 { return m.rates[to] / m.rates[from] }

// roundPrice rounds p to 4 decimals, never below floor.
func roundPrice(p, floor float64) float64 {
	r := roundHalfAway(p*1e4) / 1e4
	if r < floor {
		r = math.Ceil(floor*1e4-1e-6) / 1e4
	}
	return r
}

// roundHalfAway is math.Round (half away from zero), from math.Trunc,
// which the compiler turns into one instruction (ROUNDSD) where
// math.Round is a dozen integer operations on the float's bits. x - t is
// exact: t is x without its fraction.
func roundHalfAway(x float64) float64 {
	t := math.Trunc(x)
	if math.Abs(x-t) >= 0.5 {
		t += math.Copysign(1, x)
	}
	return t
}
