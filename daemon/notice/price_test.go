package notice

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/shading"
)

// googleKeys are the example keys of Google's "Decrypt price
// confirmations" (Authorized Buyers), whose example prices decryptPrice
// must read.
const googleKeys = "# encryption key, then integrity key\n" +
	"skU7Ax_NL5pPAFyKdkfZjZz2-VhIN8bjj1rVFOaJ_5o=\n\n" +
	"arO23ykdNqUQ5LEoQ0FVmPkBd7xB5CO89PDZlSjpFxo=\n"

func mustPriceKeys(t testing.TB, text string) *PriceKeys {
	t.Helper()
	k, err := ParsePriceKeys(text)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// encryptPrice is the exchange's side of the scheme, with crypto/hmac.
func encryptPrice(eKey, iKey, iv []byte, micros uint64) string {
	mac := func(key []byte, parts ...[]byte) []byte {
		h := hmac.New(sha1.New, key)
		for _, p := range parts {
			h.Write(p)
		}
		return h.Sum(nil)
	}
	price := binary.BigEndian.AppendUint64(nil, micros)
	pad := mac(eKey, iv)
	enc := make([]byte, 8)
	for i := range enc {
		enc[i] = price[i] ^ pad[i]
	}
	sig := mac(iKey, price, iv)[:4]
	return base64.RawURLEncoding.EncodeToString(append(append(append([]byte{}, iv...), enc...), sig...))
}

func TestDecryptPrice(t *testing.T) {
	t.Parallel()
	k := mustPriceKeys(t, googleKeys)
	for _, c := range []struct {
		v      string
		micros uint64
		ok     bool
	}{
		// Google's examples.
		{"YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCce_6msaw", 100, true},
		{"YWJjMTIzZGVmNDU2Z2hpN7fhCuPemC32prpWWw", 2700, true},
		{"YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCce_6msaw==", 100, true}, // padded
		// The price changed in one bit: its signature no longer holds.
		{"YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCcf_6msaw", 0, false},
		// The iv changed.
		{"YWJjMTIzZGVmNDU2Z2hpO7fhCuPemCce_6msaw", 0, false},
		{"YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCce_6msa", 0, false},   // short
		{"YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCce_6msawA", 0, false}, // long
		{"YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCce/6msaw", 0, false},  // not web-safe
		{"1.25", 0, false},
		{"", 0, false},
	} {
		micros, ok := k.Decrypt([]byte(c.v))
		if micros != c.micros || ok != c.ok {
			t.Errorf("%q: %d, %v; want %d, %v", c.v, micros, ok, c.micros, c.ok)
		}
	}
	// Other keys (the integrity key first) refuse them.
	swapped := mustPriceKeys(t, "arO23ykdNqUQ5LEoQ0FVmPkBd7xB5CO89PDZlSjpFxo\nskU7Ax_NL5pPAFyKdkfZjZz2-VhIN8bjj1rVFOaJ_5o\n")
	if _, ok := swapped.Decrypt([]byte("YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCce_6msaw")); ok {
		t.Fatal("swapped keys decrypted an example price")
	}
}

// TestDecryptPriceRoundTrip decrypts what crypto/hmac encrypts, for keys
// of every accepted length and random prices.
func TestDecryptPriceRoundTrip(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	bytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	for n := 16; n <= 64; n++ {
		eKey, iKey, iv := bytes(n), bytes(80-n), bytes(16)
		if len(iKey) > 64 {
			iKey = iKey[:64]
		}
		k := mustPriceKeys(t, base64.URLEncoding.EncodeToString(eKey)+"\n"+base64.RawURLEncoding.EncodeToString(iKey))
		micros := r.Uint64() >> uint(r.IntN(64))
		if got, ok := k.Decrypt([]byte(encryptPrice(eKey, iKey, iv, micros))); !ok || got != micros {
			t.Fatalf("key of %d bytes: %d, %v; want %d", n, got, ok, micros)
		}
	}
}

func TestParsePriceKeysErrors(t *testing.T) {
	t.Parallel()
	key := "skU7Ax_NL5pPAFyKdkfZjZz2-VhIN8bjj1rVFOaJ_5o="
	for text, want := range map[string]string{
		"":                                   "want two price keys",
		key:                                  "want two price keys",
		key + "\n" + key + "\n" + key:        "want two price keys",
		key + "\nnot*base64":                 "line 2: a price key is 16 to 64 bytes",
		"c2hvcnQ\n" + key:                    "line 1: a price key is 16 to 64 bytes", // 5 bytes
		key + "\n" + strings.Repeat("A", 88): "line 2:",                               // 66 bytes
	} {
		if _, err := ParsePriceKeys(text); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v; want an error with %q", text, err, want)
		}
	}
}

func TestDecryptPriceNoAlloc(t *testing.T) {
	k := mustPriceKeys(t, googleKeys)
	v := []byte("YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCce_6msaw")
	if n := testing.AllocsPerRun(100, func() {
		if _, ok := k.Decrypt(v); !ok {
			t.Fatal("cannot decrypt")
		}
	}); n != 0 {
		t.Fatalf("%v allocations per decryption; want 0", n)
	}
}

// TestEncryptedPrices checks that the notices of an exchange with price
// keys are charged their decrypted price, and the others refuse one.
// encryptGoogle encrypts a price of micros per impression with
// googleKeys, as an exchange that encrypts its prices does.
func encryptGoogle(micros uint64) string {
	eKey, _ := base64.URLEncoding.DecodeString("skU7Ax_NL5pPAFyKdkfZjZz2-VhIN8bjj1rVFOaJ_5o=")
	iKey, _ := base64.URLEncoding.DecodeString("arO23ykdNqUQ5LEoQ0FVmPkBd7xB5CO89PDZlSjpFxo=")
	return encryptPrice(eKey, iKey, []byte("0123456789abcdef"), micros)
}

func TestEncryptedPrices(t *testing.T) {
	sp := &fakeSpender{}
	h := New(Config{Exchanges: []string{"adx", "tx"}, PriceKeys: map[string]*PriceKeys{"adx": mustPriceKeys(t, googleKeys)}}, sp, nil)
	adx := h.exchange([]byte("adx"))
	f := func(uri string, wantCode int, wantBody string, wantPrice float64) {
		t.Helper()
		calls, spend := len(sp.calls), adx.spend.Get()
		code, body := serveDirect(t, h, "GET", uri, "")
		if code != wantCode || !strings.Contains(body, wantBody) {
			t.Fatalf("%s: %d %q; want %d %q", uri, code, body, wantCode, wantBody)
		}
		charged := -1.0
		if len(sp.calls) > calls {
			charged = sp.calls[len(sp.calls)-1].price
		}
		if charged != wantPrice {
			t.Fatalf("%s: charged %v; want %v", uri, charged, wantPrice)
		}
		if x := strings.Contains(uri, "x=adx") && wantPrice >= 0; x != (adx.spend.Get() != spend) {
			t.Fatalf("%s: adx's spend moved %v", uri, adx.spend.Get()-spend)
		}
	}
	enc := encryptGoogle
	forged := noticesTotal[KindBill][resultForged].Get()
	// 2,500 CPI micros is a CPM of 2.5.
	f("/bill?bid=p1&cid=c&price="+enc(2500)+"&x=adx", 204, "", 2.5)
	f("/bill?bid=p2&cid=c&price=YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCce_6msaw&x=adx", 204, "", 0.1)
	// A decimal from an exchange that encrypts is charged at the bid's
	// price, the most the bill can be (a price=0 sent first by whoever
	// saw the URL would charge nothing), and refused without it.
	f("/bill?bid=p3&cid=c&price=1.75&x=adx", 400, reasonPlainPrice, -1)
	f("/bill?bid=p3b&cid=c&price=0&bp=2.5&x=adx", 204, "", 2.5)
	// Above the bid's price, it is charged that price.
	f("/bill?bid=p4&cid=c&price="+enc(5000)+"&bp=4&x=adx", 204, "", 4)
	f("/bill?bid=p5&cid=c&price=YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCcf_6msaw&x=adx", 400, reasonBadEncrypted, -1)
	if got := noticesTotal[KindBill][resultForged].Get() - forged; got != 2 {
		t.Fatalf("%d forged billing notices counted; want 2", got)
	}
	// Exchanges without keys take decimals only.
	f("/bill?bid=p6&cid=c&price="+enc(2500)+"&x=tx", 400, reasonBadPrice, -1)
	f("/bill?bid=p7&cid=c&price="+enc(2500), 400, reasonBadPrice, -1)
	// Above MaxPrice (5000 CPM, 5*10^6 CPI micros) once decrypted; with
	// bp, capped at it.
	f("/bill?bid=p8&cid=c&price="+enc(5_000_001)+"&x=adx", 400, reasonPriceRange, -1)
	f("/bill?bid=p9&cid=c&price="+enc(5_000_001)+"&x=adx&bp=3", 204, "", 3)
}

// TestMinToWinPrices checks the mtw of billing notices: a decimal, or
// from an exchange with price keys an encrypted price, counts what the
// bill paid above it; anything else (absent, unsubstituted, forged, out
// of range) counts nothing and still bills.
func TestMinToWinPrices(t *testing.T) {
	enc := encryptGoogle
	sp := &fakeSpender{}
	h := New(Config{Exchanges: []string{"adx", "tx"}, PriceKeys: map[string]*PriceKeys{"adx": mustPriceKeys(t, googleKeys)}}, sp, nil)
	seq := 0
	f := func(x, price, mtw string, wantOverpaid float64) {
		t.Helper()
		m := h.exchange([]byte(x)).feedback()
		before, calls := m.overpaid.Get(), len(sp.calls)
		seq++
		uri := fmt.Sprintf("/bill?bid=m%d&cid=c&price=%s&x=%s&mtw=%s", seq, price, x, mtw)
		if code, body := serveDirect(t, h, "GET", uri, ""); code != 204 || len(sp.calls) != calls+1 {
			t.Fatalf("%s: %d %q, %d charges; want 204 and one", uri, code, body, len(sp.calls)-calls)
		}
		if got := m.overpaid.Get() - before; math.Abs(got-wantOverpaid) > 1e-12 {
			t.Fatalf("%s: overpaid moved %v; want %v", uri, got, wantOverpaid)
		}
	}
	f("tx", "4", "1.5", 0.0025)
	f("tx", "4", "5", 0) // above the price: nothing overpaid
	f("adx", enc(4000), enc(1000), 0.003)
	f("adx", enc(4000), "3", 0) // a decimal mtw from an exchange that encrypts
	for _, mtw := range []string{"", "${AUCTION_MIN_TO_WIN}", "x", enc(1000), "YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCcf_6msaw", "1000.5", "-1"} {
		f("tx", "4", url.QueryEscape(mtw), 0)
	}
	f("adx", enc(4000), "YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCcf_6msaw", 0) // forged
	f("adx", enc(4000), enc(5_000_001), 0)                           // above MaxPrice
}

// TestExplorationWins: a billing notice of a bid sent unshaded (sx=1)
// with a known minimum to win teaches its exchange's estimator, at the
// bid's price (bp) as its value; other notices teach nothing. sx other
// than 1 is refused.
func TestExplorationWins(t *testing.T) {
	now := time.Now()
	est := shading.New(shading.Config{Start: 0.9, Min: 0.1, Explore: 0.05}, now)
	h := New(Config{Exchanges: []string{"tx", "other"}, Shading: map[string]*shading.Estimator{"tx": est}}, &fakeSpender{}, nil)
	seq := 0
	f := func(kind, query string) {
		t.Helper()
		seq++
		uri := fmt.Sprintf("/%s?bid=e%d&cid=c&price=4&%s", kind, seq, query)
		if code, body := serveDirect(t, h, "GET", uri, ""); code != 204 {
			t.Fatalf("%s: %d %q; want 204", uri, code, body)
		}
	}
	est.Explored(shading.MinBids)
	// Wins needing 0.3 of the value, 5: the estimator learns 0.31 once
	// it has MinWins of them.
	for range shading.MinWins {
		f("bill", "bp=5&sx=1&x=tx&mtw=1.5")
	}
	// None of these counts: no sx, no mtw, unsubstituted mtw, a win or
	// loss notice, another exchange, a duplicate.
	for _, n := range []struct{ kind, query string }{
		{"bill", "bp=5&x=tx&mtw=4.5"},
		{"bill", "bp=5&sx=1&x=tx"},
		{"bill", "bp=5&sx=1&x=tx&mtw=${AUCTION_MIN_TO_WIN}"},
		{"win", "bp=5&sx=1&x=tx&mtw=4.5"},
		{"loss", "bp=5&sx=1&x=tx&mtw=4.5&loss=102"},
		{"bill", "bp=5&sx=1&x=other&mtw=4.5"},
	} {
		f(n.kind, n.query)
	}
	if code, _ := serveDirect(t, h, "GET", fmt.Sprintf("/bill?bid=e%d&cid=c&price=4&bp=5&sx=1&x=tx&mtw=4.5", seq), ""); code != 200 && code != 204 {
		t.Fatalf("duplicate: %d", code)
	}
	est.Update(now)
	if st := est.State(); st.Wins != shading.MinWins || st.Shade != 0.31 {
		t.Fatalf("estimator %+v; want %d wins and factor 0.31", st, shading.MinWins)
	}
	for _, sx := range []string{"0", "2", "yes"} {
		uri := "/bill?bid=bad-sx&cid=c&price=4&x=tx&sx=" + sx
		if code, body := serveDirect(t, h, "GET", uri, ""); code != 400 || body != "bad sx" {
			t.Fatalf("%s: %d %q; want 400 bad sx", uri, code, body)
		}
	}
}
