package server

import (
	"time"

	"github.com/rtbd/rtbd/daemon/config"
	"github.com/rtbd/rtbd/daemon/eventlog"
	"github.com/rtbd/rtbd/daemon/notice"
)

// EventSink adapts the event log to [notice.Sink], so win, billing and loss
// notices become event records. It returns nil for a nil log, which the
// notice handler treats as "no sink".
func EventSink(l *eventlog.Log) notice.Sink {
	if l == nil {
		return nil
	}
	return &eventSink{log: l}
}

type eventSink struct{ log *eventlog.Log }

var noticeKinds = [...]eventlog.Kind{
	notice.KindWin:  eventlog.KindWin,
	notice.KindBill: eventlog.KindBill,
	notice.KindLoss: eventlog.KindLoss,
}

// Notice records one notice. A loss reason is kept whole in LossCode, and
// in Reason at most 255 (for older readers). A notice without x is the
// default exchange's.
func (s *eventSink) Notice(e notice.Event) {
	// Append copies the record and does not retain it: a stack value is free.
	r := eventlog.Record{
		TimeUnixNano: time.Now().UnixNano(), Kind: noticeKinds[e.Kind],
		Price: e.Price, StatedPrice: e.StatedPrice, MinToWin: e.MinToWin, BidPrice: e.BidPrice,
		DealKnown: e.DealKnown, Unpriced: e.Unpriced, Uncharged: e.Uncharged,
	}
	if e.Kind == notice.KindLoss {
		r.LossCode = int32(e.Loss)
		if e.Loss >= 0 {
			r.Reason = uint8(min(e.Loss, 255))
		}
	}
	copy(r.Cur[:], e.Cur)
	r.SetBidID(e.BidID)
	r.SetCampaignID(e.CampaignID)
	r.SetImpID(e.ImpID)
	r.SetDealID(e.DealID)
	if len(e.Exchange) == 0 {
		r.SetExchangeString(config.DefaultExchange)
	} else {
		r.SetExchange(e.Exchange)
	}
	s.log.Append(&r)
}
