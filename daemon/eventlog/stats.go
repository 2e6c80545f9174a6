package eventlog

import (
	"bufio"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"
)

// Stats writes a summary of the records of paths to w as JSON lines, each
// with a "type":
//
//	{"type":"total","records":N,"skipped_bytes":N,"first":"RFC3339Nano","last":".."}
//	{"type":"kind","kind":"bid","records":N}                  one per kind
//	{"type":"spend","campaign_id":"..","cur":"USD","bills":N,"cpm_sum":X,"spend":X/1000}
//	{"type":"exchange","exchange":"..","bid":N,"nobid":N,"win":N,"bill":N,"loss":N,"loss_reasons":{"102":N,..},"uncharged_bills":N}
//	{"type":"exchange_spend","exchange":"..","cur":"USD","bills":N,"cpm_sum":X,"spend":X/1000,
//	 "capped_bills":N,"capped_cpm_excess":X,"bid_bills":N,"bid_cpm_sum":X,"discount_cpm_sum":X,
//	 "mtw_bills":N,"overpaid_cpm_sum":X}
//	{"type":"deal","deal_id":"..","exchange":"..","bids":N,"wins":N,"losses":N,"loss_reasons":{"102":N,..},
//	 "cur":"USD","bills":N,"cpm_sum":X,"spend":X/1000}
//	{"type":"nobid_reason","reason":N,"records":N}            with "reason_name" when named
//	{"type":"test_bills","cur":"USD","bills":N,"cpm_sum":X}   when there are some
//
// Spend is the sum of billing-notice prices, which are CPMs, divided by
// 1000: one billing notice is one impression. first and last are null when
// there are no records. It returns the bytes skipped (see [Reader.Each]).
//
// An exchange is the bid endpoint a bid or no-bid was answered on, and the
// one a notice names (x=, "default" without); "" for records written
// before rtbd logged it. loss_reasons counts an exchange's or a deal's
// loss notices by their loss code (OpenRTB's list: 100 below the
// auction floor, 101 below the deal floor, 102 lost to a higher bid,
// 103 lost to a deal's bid, 200 and above creative filtered; an
// exchange's own codes, 1000 and above, as they are; "unknown" for a
// notice without one or with one that could not be read, and "0" for
// such a notice logged before rtbd kept codes whole; see
// [Record.LossCode]). uncharged_bills are the exchange's billing notices
// that moved no spend, of campaigns the host did not know: they are in
// no spend line. capped_bills are the billing notices whose price
// was above their bid's and that were charged the bid's price (see
// package notice): capped_cpm_excess, the sum of the differences, is what
// the exchange asked above the bids, to dispute on its invoice.
// The bills of test requests' bids ([Reader.IsTestBid]) moved no
// budget: they are in no spend, bills or cpm_sum of a campaign, exchange
// or deal, but in the test_bills lines, by currency (and as records of
// their kind).
// bid_bills are the billing notices that carry their bid's price (bp):
// bid_cpm_sum sums those bids, and discount_cpm_sum what the auctions
// charged below them (second-price auctions; 0 in first-price ones).
// mtw_bills are those that carry a minimum to win (mtw): overpaid_cpm_sum
// sums what they were charged above it, as rtbd_exchange_overpaid_total
// does, what better shading could have kept.
//
// A deal line counts the deal's bids (in the bid's currency) and the
// win, loss and billing notices that name it, each, as spend does. A
// notice of a bid made before rtbd named deals in notice URLs names none
// (see [Record.DealKnown]): when some notice is such and some bid has a
// deal, the records are read twice more, to find those notices' bids by
// bid id among all the records read, so give Stats the segments of every
// host that bid on the deal then.
func (rd *Reader) Stats(w io.Writer, paths ...string) (skipped int64, err error) {
	s := newSummary()
	s.isTest = rd.IsTestBid
	skipped, err = rd.Each(func(r *Record) error { s.add(r); return nil }, paths...)
	if err == nil && s.unnamed > 0 && s.dealBids > 0 {
		byBid := make(map[string]*dealSum)
		_, err = rd.Each(func(r *Record) error { s.indexDealBid(byBid, r); return nil }, paths...)
		if err == nil {
			_, err = rd.Each(func(r *Record) error { s.joinNotice(byBid, r); return nil }, paths...)
		}
	}
	if err != nil {
		return skipped, err
	}
	bw := bufio.NewWriter(w)
	rd.writeSummary(bw, s, skipped)
	return skipped, bw.Flush()
}

func (rd *Reader) writeSummary(w *bufio.Writer, s *summary, skipped int64) {
	b := fmt.Appendf(nil, `{"type":"total","records":%d,"skipped_bytes":%d,"first":`, s.records, skipped)
	b = appendTime(b, s.first, s.records > 0)
	b = append(b, `,"last":`...)
	b = appendTime(b, s.last, s.records > 0)
	b = append(b, "}\n"...)
	for k := range numKinds {
		b = fmt.Appendf(b, `{"type":"kind","kind":"%s","records":%d}`+"\n", k, s.kinds[k])
	}
	for _, k := range slices.SortedFunc(maps.Keys(s.spend), spendKey.compare) {
		b = append(b, `{"type":"spend","campaign_id":`...)
		b = appendJSONString(b, []byte(k.name))
		b = appendSum(b, k.cur, s.spend[k])
		b = append(b, "}\n"...)
	}
	for _, x := range slices.Sorted(maps.Keys(s.exchanges)) {
		b = append(b, `{"type":"exchange","exchange":`...)
		b = appendJSONString(b, []byte(x))
		for k, n := range s.exchanges[x].kinds {
			b = fmt.Appendf(b, `,"%s":%d`, Kind(k), n)
		}
		b = appendLossReasons(b, s.exchanges[x].losses)
		b = fmt.Appendf(b, `,"uncharged_bills":%d}`+"\n", s.exchanges[x].uncharged)
	}
	for _, k := range slices.SortedFunc(maps.Keys(s.exchangeSpend), spendKey.compare) {
		b = append(b, `{"type":"exchange_spend","exchange":`...)
		b = appendJSONString(b, []byte(k.name))
		x := s.exchangeSpend[k]
		b = appendSum(b, k.cur, &x.spendSum)
		b = fmt.Appendf(b, `,"capped_bills":%d,"capped_cpm_excess":`, x.capped)
		b = appendFloat(b, x.excess)
		b = fmt.Appendf(b, `,"bid_bills":%d,"bid_cpm_sum":`, x.bidBills)
		b = appendFloat(b, x.bidSum)
		b = append(b, `,"discount_cpm_sum":`...)
		b = appendFloat(b, x.discount)
		b = fmt.Appendf(b, `,"mtw_bills":%d,"overpaid_cpm_sum":`, x.mtwBills)
		b = appendFloat(b, x.overpaid)
		b = append(b, "}\n"...)
	}
	for _, k := range slices.SortedFunc(maps.Keys(s.deals), dealKey.compare) {
		d := s.deals[k]
		b = append(b, `{"type":"deal","deal_id":`...)
		b = appendJSONString(b, []byte(k.deal))
		b = append(b, `,"exchange":`...)
		b = appendJSONString(b, []byte(k.exchange))
		b = fmt.Appendf(b, `,"bids":%d,"wins":%d,"losses":%d`, d.bids, d.wins, d.losses)
		b = appendLossReasons(b, d.lossReasons)
		b = appendSum(b, k.cur, &d.spendSum)
		b = append(b, "}\n"...)
	}
	for _, cur := range slices.Sorted(maps.Keys(s.testBills)) {
		sp := s.testBills[cur]
		b = append(b, `{"type":"test_bills","cur":`...)
		b = appendJSONString(b, []byte(cur))
		b = fmt.Appendf(b, `,"bills":%d,"cpm_sum":`, sp.bills)
		b = appendFloat(b, sp.cpmSum)
		b = append(b, "}\n"...)
	}
	for reason, n := range s.reasons {
		if n == 0 {
			continue
		}
		b = fmt.Appendf(b, `{"type":"nobid_reason","reason":%d`, reason)
		b = rd.appendReasonName(b, uint8(reason))
		b = fmt.Appendf(b, `,"records":%d}`+"\n", n)
	}
	w.Write(b)
}

func appendTime(dst []byte, ns int64, ok bool) []byte {
	if !ok {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	dst = time.Unix(0, ns).UTC().AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}

// appendSum appends the fields of a spend line: cur, bills, cpm_sum, spend.
func appendSum(dst []byte, cur string, sp *spendSum) []byte {
	dst = append(dst, `,"cur":`...)
	dst = appendJSONString(dst, []byte(cur))
	dst = append(dst, `,"bills":`...)
	dst = strconv.AppendInt(dst, int64(sp.bills), 10)
	dst = append(dst, `,"cpm_sum":`...)
	dst = appendFloat(dst, sp.cpmSum)
	dst = append(dst, `,"spend":`...)
	return appendFloat(dst, sp.cpmSum/1000)
}

// appendLossReasons appends the loss_reasons field of l.
func appendLossReasons(dst []byte, l lossCounts) []byte {
	dst = append(dst, `,"loss_reasons":{`...)
	for i, code := range slices.Sorted(maps.Keys(l)) {
		if i > 0 {
			dst = append(dst, ',')
		}
		if code < 0 {
			dst = fmt.Appendf(dst, `"unknown":%d`, l[code])
			continue
		}
		dst = fmt.Appendf(dst, `"%d":%d`, code, l[code])
	}
	return append(dst, '}')
}

// lossCounts counts loss records by their loss code (Record.LossCode).
type lossCounts map[int32]int

// add counts a loss of code.
func (l *lossCounts) add(code int32) {
	if *l == nil {
		*l = make(lossCounts)
	}
	(*l)[code]++
}

// exchangeCounts is an exchange's records by kind, and its losses by code.
type exchangeCounts struct {
	kinds     [numKinds]int
	losses    lossCounts
	uncharged int // billing notices that moved no spend (Record.Uncharged)
}

// summary accumulates [Reader.Stats].
type summary struct {
	records       int
	first, last   int64
	kinds         [numKinds]int
	spend         map[spendKey]*spendSum // by campaign
	exchanges     map[string]*exchangeCounts
	exchangeSpend map[spendKey]*exchangeSum // by exchange
	deals         map[dealKey]*dealSum
	dealBids      int // bids through a deal
	unnamed       int // notices whose URL had no deal field (not DealKnown)
	reasons       [256]int
	testBills     map[string]*spendSum // by currency
	isTest        func(bidID []byte) bool
	// names holds each campaign, exchange, deal and currency name once,
	// so that keying a record's counts allocates only for a new name.
	names map[string]string
}

func newSummary() *summary {
	return &summary{
		spend:         make(map[spendKey]*spendSum),
		exchanges:     make(map[string]*exchangeCounts),
		exchangeSpend: make(map[spendKey]*exchangeSum),
		deals:         make(map[dealKey]*dealSum),
		testBills:     make(map[string]*spendSum),
		names:         make(map[string]string),
	}
}

// name returns b as a string, allocated at its first occurrence only.
func (s *summary) name(b []byte) string {
	if v, ok := s.names[string(b)]; ok {
		return v
	}
	v := string(b)
	s.names[v] = v
	return v
}

// cur is r's currency as [Record.CurString], through s.name.
func (s *summary) cur(r *Record) string { return s.name(r.cur()) }

// testBill reports whether r is a bill of a test request's bid, which
// moved no spend: the only record whose counts a test request changes.
func (s *summary) testBill(r *Record) bool {
	return r.Kind == KindBill && s.isTest != nil && s.isTest(r.BidID())
}

// spendKey is a campaign's or an exchange's name, and a currency.
type spendKey struct{ name, cur string }

func (a spendKey) compare(b spendKey) int {
	return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.cur, b.cur))
}

type spendSum struct {
	bills  int
	cpmSum float64
}

func (sp *spendSum) add(price float64) {
	sp.bills++
	sp.cpmSum += price
}

// exchangeSum is an exchange's spend; what its capped bills stated above
// the bids' prices they were charged; what its bills with a bid price
// were charged below it; and what its bills with a minimum to win were
// charged above it (all in CPM).
type exchangeSum struct {
	spendSum
	capped   int
	excess   float64
	bidBills int
	bidSum   float64
	discount float64
	mtwBills int
	overpaid float64
}

// add counts bill r, a billing record, in x.
func (x *exchangeSum) add(r *Record) {
	x.spendSum.add(r.Price)
	if r.StatedPrice > r.Price {
		x.capped++
		x.excess += r.StatedPrice - r.Price
	}
	if r.BidPrice > 0 {
		x.bidBills++
		x.bidSum += r.BidPrice
		x.discount += max(r.BidPrice-r.Price, 0)
	}
	if r.MinToWin > 0 {
		x.mtwBills++
		x.overpaid += max(r.Price-r.MinToWin, 0)
	}
}

type dealKey struct{ deal, exchange, cur string }

func (a dealKey) compare(b dealKey) int {
	return cmp.Or(cmp.Compare(a.deal, b.deal), cmp.Compare(a.exchange, b.exchange), cmp.Compare(a.cur, b.cur))
}

type dealSum struct {
	bids, wins, losses int
	lossReasons        lossCounts
	spendSum
}

// addNotice counts the notice r in d; a bill of a test request's bid
// (test, see summary.testBill) is no spend.
func (d *dealSum) addNotice(r *Record, test bool) {
	switch r.Kind {
	case KindWin:
		d.wins++
	case KindLoss:
		d.losses++
		d.lossReasons.add(r.LossCode)
	case KindBill:
		if !test && !r.Uncharged {
			d.add(r.Price)
		}
	}
}

func (s *summary) add(r *Record) {
	if s.records == 0 || r.TimeUnixNano < s.first {
		s.first = r.TimeUnixNano
	}
	if s.records == 0 || r.TimeUnixNano > s.last {
		s.last = r.TimeUnixNano
	}
	s.records++
	s.kinds[r.Kind]++
	x := entry(s.exchanges, s.name(r.Exchange()))
	x.kinds[r.Kind]++
	test := s.testBill(r)
	switch r.Kind {
	case KindNoBid:
		s.reasons[r.Reason]++
	case KindLoss:
		x.losses.add(r.LossCode)
	case KindBid:
		if len(r.DealID()) > 0 {
			s.dealBids++
			entry(s.deals, s.dealKeyOf(r)).bids++
		}
	case KindBill:
		cur := s.cur(r)
		switch {
		case test:
			entry(s.testBills, cur).add(r.Price)
		case r.Uncharged:
			x.uncharged++
		default:
			entry(s.spend, spendKey{s.name(r.CampaignID()), cur}).add(r.Price)
			entry(s.exchangeSpend, spendKey{s.name(r.Exchange()), cur}).add(r)
		}
	}
	if r.Kind == KindWin || r.Kind == KindBill || r.Kind == KindLoss {
		switch {
		case !r.DealKnown:
			s.unnamed++
		case len(r.DealID()) > 0:
			entry(s.deals, s.dealKeyOf(r)).addNotice(r, test)
		}
	}
}

// dealKeyOf returns the deal line of r, a bid through a deal or a notice
// that names one.
func (s *summary) dealKeyOf(r *Record) dealKey {
	return dealKey{s.name(r.DealID()), s.name(r.Exchange()), s.cur(r)}
}

// indexDealBid adds r, when it is a bid through a deal, to byBid, with
// its deal line.
func (s *summary) indexDealBid(byBid map[string]*dealSum, r *Record) {
	if r.Kind == KindBid && len(r.DealID()) > 0 {
		byBid[string(r.BidID())] = s.deals[s.dealKeyOf(r)]
	}
}

// joinNotice counts r, when it is a notice that does not name its bid's
// deal, under the deal of its bid, found in byBid.
func (s *summary) joinNotice(byBid map[string]*dealSum, r *Record) {
	if r.Kind == KindBid || r.Kind == KindNoBid || r.DealKnown {
		return
	}
	if d := byBid[string(r.BidID())]; d != nil {
		d.addNotice(r, s.testBill(r))
	}
}

// entry returns m[k], adding a zero value when m has none.
func entry[K comparable, V any](m map[K]*V, k K) *V {
	v := m[k]
	if v == nil {
		v = new(V)
		m[k] = v
	}
	return v
}

const usage = `usage: rtbd log cat|stats [-dir DIR] [FILE...]

  cat    print every record as one JSON object per line
  stats  print a summary as JSON lines: records by kind, spend by campaign,
         records, losses by reason and spend by exchange (with what bills
         were charged above the bids, below them, and above the minimum
         to win), bids, wins, losses by reason and spend by deal, no-bid
         reasons, test requests' bills (no spend), time range

Reads the segments of DIR oldest first, then the FILEs (a directory's
segments oldest first: give stats every host's, so that it counts the
notices that a failover sent to another host, and finds the bids of
those whose URL did not name their deal). Torn or corrupt
blocks are skipped with a note on stderr. Exit status: 0 on success (even
with skipped bytes), 1 when a file cannot be read or written, 2 on bad usage.
`

// Main runs `rtbd log cat|stats [-dir DIR] [FILE...]`; args starts with the
// sub-command. It returns the exit status: 0 on success, 1 on a read or
// write error, 2 on bad usage.
func Main(args []string, stdout, stderr io.Writer) int {
	return (&Reader{}).Main(args, stdout, stderr)
}

// Main is the package-level [Main] with rd's ReasonNames. It sets rd.Notes
// to stderr.
func (rd *Reader) Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var run func(io.Writer, ...string) (int64, error)
	switch args[0] {
	case "cat":
		run = rd.Cat
	case "stats":
		run = rd.Stats
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "rtbd log: unknown sub-command %q\n%s", args[0], usage)
		return 2
	}
	fs := flag.NewFlagSet("rtbd log "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	dir := fs.String("dir", "", "directory of event log segments (eventLog.dir)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	paths := fs.Args()
	if *dir != "" {
		paths = append([]string{*dir}, paths...)
	}
	if len(paths) == 0 {
		fmt.Fprintf(stderr, "rtbd log %s: give -dir or files\n%s", args[0], usage)
		return 2
	}
	rd.Notes = stderr
	if _, err := run(stdout, paths...); err != nil {
		fmt.Fprintf(stderr, "rtbd log %s: %s\n", args[0], err)
		return 1
	}
	return 0
}
