package eventlog

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"
)

// Stats writes a summary of the records of paths to w as JSON lines, each
// with a "type":
//
//	{"type":"total","records":N,"skipped_bytes":N,"first":"RFC3339Nano","last":".."}
//	{"type":"kind","kind":"bid","records":N}                  one per kind
//	{"type":"spend","campaign_id":"..","cur":"USD","bills":N,"cpm_sum":X,"spend":X/1000}
//	{"type":"nobid_reason","reason":N,"records":N}            with "reason_name" when named
//
// Spend is the sum of billing-notice prices, which are CPMs, divided by
// 1000: one billing notice is one impression. first and last are null when
// there are no records. It returns the bytes skipped (see [Reader.Each]).
func (rd *Reader) Stats(w io.Writer, paths ...string) (skipped int64, err error) {
	s := summary{spend: make(map[spendKey]*spendSum)}
	skipped, err = rd.Each(func(r *Record) error { s.add(r); return nil }, paths...)
	if err != nil {
		return skipped, err
	}
	bw := bufio.NewWriter(w)
	rd.writeSummary(bw, &s, skipped)
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
	b = appendSpend(b, s.spend)
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

// appendSpend appends the spend lines ordered by campaign and currency.
func appendSpend(dst []byte, spend map[spendKey]*spendSum) []byte {
	keys := make([]spendKey, 0, len(spend))
	for k := range spend {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].campaign != keys[j].campaign {
			return keys[i].campaign < keys[j].campaign
		}
		return keys[i].cur < keys[j].cur
	})
	for _, k := range keys {
		sp := spend[k]
		dst = append(dst, `{"type":"spend","campaign_id":`...)
		dst = appendJSONString(dst, []byte(k.campaign))
		dst = append(dst, `,"cur":`...)
		dst = appendJSONString(dst, []byte(k.cur))
		dst = append(dst, `,"bills":`...)
		dst = strconv.AppendInt(dst, int64(sp.bills), 10)
		dst = append(dst, `,"cpm_sum":`...)
		dst = appendFloat(dst, sp.cpmSum)
		dst = append(dst, `,"spend":`...)
		dst = appendFloat(dst, sp.cpmSum/1000)
		dst = append(dst, "}\n"...)
	}
	return dst
}

const usage = `usage: rtbd log cat|stats [-dir DIR] [FILE...]

  cat    print every record as one JSON object per line
  stats  print a summary as JSON lines: records by kind, spend by campaign,
         no-bid reasons, time range

Reads the segments of DIR oldest first, then the FILEs. Torn or corrupt
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
