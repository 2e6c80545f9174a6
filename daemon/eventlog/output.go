package eventlog

import (
	"bufio"
	"io"
	"math"
	"os"
	"strconv"
	"time"
	"unicode/utf8"
)

// Cat writes every record of paths to w as JSON lines (see [Reader.Cat]),
// with notes about skipped bytes on os.Stderr.
func Cat(w io.Writer, paths ...string) error {
	rd := Reader{Notes: os.Stderr}
	_, err := rd.Cat(w, paths...)
	return err
}

// Stats writes a summary of paths to w as JSON lines (see [Reader.Stats]),
// with notes about skipped bytes on os.Stderr.
func Stats(w io.Writer, paths ...string) error {
	rd := Reader{Notes: os.Stderr}
	_, err := rd.Stats(w, paths...)
	return err
}

// Cat writes one JSON object per record of paths to w:
//
//	{"ts":"2026-11-21T22:54:10.123456789Z","kind":"bid","reason":0,"price":1.25,"cur":"USD",
//	 "request_id":"..","bid_id":"..","campaign_id":"..","imp_id":"..","exchange":"..","deal_id":"..",
//	 "stated_price":0,"min_to_win":0,"bid_price":0,"deal_known":false}
//
// with "reason_name" after "reason" when ReasonNames names a no-bid
// record's code (a loss record's reason is its notice's loss code, at
// most 255), then "loss_code" for a loss record (the code whole, -1 for
// none), "unpriced":true and "uncharged":true for a notice that was
// (see [Record]), and "test":true at the end for a bid of a test request
// and its notices (see [Reader.IsTestBid]). A price
// that is not finite is written as null. It returns the bytes skipped (see
// [Reader.Each]).
func (rd *Reader) Cat(w io.Writer, paths ...string) (skipped int64, err error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	var line []byte
	skipped, err = rd.Each(func(r *Record) error {
		line = rd.appendJSON(line[:0], r)
		_, err := bw.Write(line)
		return err
	}, paths...)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return skipped, err
}

// appendJSON appends the JSON line of r to dst.
func (rd *Reader) appendJSON(dst []byte, r *Record) []byte {
	dst = append(dst, `{"ts":"`...)
	dst = time.Unix(0, r.TimeUnixNano).UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","kind":"`...)
	dst = append(dst, r.Kind.String()...)
	dst = append(dst, `","reason":`...)
	dst = strconv.AppendUint(dst, uint64(r.Reason), 10)
	if r.Kind == KindNoBid {
		dst = rd.appendReasonName(dst, r.Reason)
	}
	dst = append(dst, `,"price":`...)
	dst = appendFloat(dst, r.Price)
	dst = append(dst, `,"cur":`...)
	dst = appendJSONString(dst, []byte(r.CurString()))
	dst = append(dst, `,"request_id":`...)
	dst = appendJSONString(dst, r.RequestID())
	dst = append(dst, `,"bid_id":`...)
	dst = appendJSONString(dst, r.BidID())
	dst = append(dst, `,"campaign_id":`...)
	dst = appendJSONString(dst, r.CampaignID())
	dst = append(dst, `,"imp_id":`...)
	dst = appendJSONString(dst, r.ImpID())
	dst = append(dst, `,"exchange":`...)
	dst = appendJSONString(dst, r.Exchange())
	dst = append(dst, `,"deal_id":`...)
	dst = appendJSONString(dst, r.DealID())
	dst = append(dst, `,"stated_price":`...)
	dst = appendFloat(dst, r.StatedPrice)
	dst = append(dst, `,"min_to_win":`...)
	dst = appendFloat(dst, r.MinToWin)
	dst = append(dst, `,"bid_price":`...)
	dst = appendFloat(dst, r.BidPrice)
	dst = append(dst, `,"deal_known":`...)
	dst = strconv.AppendBool(dst, r.DealKnown)
	if r.Kind == KindLoss {
		dst = append(dst, `,"loss_code":`...)
		dst = strconv.AppendInt(dst, int64(r.LossCode), 10)
	}
	if r.Unpriced {
		dst = append(dst, `,"unpriced":true`...)
	}
	if r.Uncharged {
		dst = append(dst, `,"uncharged":true`...)
	}
	if rd.IsTestBid != nil && rd.IsTestBid(r.BidID()) {
		dst = append(dst, `,"test":true`...)
	}
	return append(dst, "}\n"...)
}

func (rd *Reader) appendReasonName(dst []byte, reason uint8) []byte {
	if rd.ReasonNames == nil {
		return dst
	}
	name := rd.ReasonNames(reason)
	if name == "" {
		return dst
	}
	dst = append(dst, `,"reason_name":`...)
	return appendJSONString(dst, []byte(name))
}

// appendFloat appends f as a JSON number, or null when f is not finite.
func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends b as a JSON string. Invalid UTF-8 becomes U+FFFD,
// so the output is always valid JSON.
func appendJSONString(dst, b []byte) []byte {
	dst = append(dst, '"')
	for len(b) > 0 {
		c, size := utf8.DecodeRune(b)
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, `\ufffd`...)
		case c == '"' || c == '\\':
			dst = append(dst, '\\', byte(c))
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			dst = append(dst, b[:size]...)
		}
		b = b[size:]
	}
	return append(dst, '"')
}
