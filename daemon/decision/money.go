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
	// retired are the rates of currencies an earlier book had and this
	// one has not: bids in them may still be out, and their notices are
	// converted with them (noticeRate) for retiredRateKeep after the
	// reload that dropped them. Bids never use them.
	retired []retiredRate
}

// retiredRate is a dropped currency's last rate (units per USD) and when
// it was dropped (unix seconds).
type retiredRate struct {
	code  []byte
	rate  float64
	since int64
}

// retiredRateKeep is how long notices in a currency a reload dropped are
// still converted at its last rate: past the 48 h a notice's dedupe
// keeps it and the exchanges' billing delays. A bill refused for its
// currency was spend never counted (the pricing audit).
const retiredRateKeep = 7 * 24 * 3600

// retire sets m.retired from the book before it, prev, at now (unix
// seconds): prev's currencies that m lacks, and prev's own retired ones
// not past retiredRateKeep that m has not brought back.
func (m *money) retire(prev *money, now int64) {
	m.retired = m.retired[:0]
	for i, code := range prev.codes {
		if _, ok := m.lookup(code); !ok {
			m.retired = append(m.retired, retiredRate{code: code, rate: prev.rates[i], since: now})
		}
	}
	for _, r := range prev.retired {
		if _, ok := m.lookup(r.code); !ok && now-r.since < retiredRateKeep {
			m.retired = append(m.retired, r)
		}
	}
}

// noticeRate returns the rate (units per USD) of currency c (any case;
// empty means USD) for a notice: this book's, else a retired one's.
func (m *money) noticeRate(c []byte) (float64, bool) {
	if i, ok := m.lookup(c); ok {
		return m.rates[i], true
	}
	for _, r := range m.retired {
		if equalFoldBytes(r.code, c) {
			return r.rate, true
		}
	}
	return 0, false
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

// roundPrice rounds p to 4 decimals, never below floor, and not above
// capC (the campaign's maxCpm in the bid currency) unless the floor
// is: rounded half up, a bid at its cap of 6.69465 EUR went out at
// 6.6947 (the pricing audit). When floor and capC fall in the same
// 1e-4 step the floor wins: a bid below it would be thrown away.
func roundPrice(p, floor, capC float64) float64 {
	r := roundHalfAway(p*1e4) / 1e4
	if r > capC {
		r = math.Floor(capC*1e4+1e-6) / 1e4
	}
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
