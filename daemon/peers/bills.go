package peers

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/rtbd/rtbd/daemon/decision"
	"github.com/rtbd/rtbd/daemon/notice"
)

// BillsPath is where a host serves the billing notices it processed, from
// a sequence number on (see [Journal]). Its peers apply them to their
// notice dedupe table and frequency caps, which are too large to copy
// every interval as the spend is: a billing notice replayed to the other
// host of a pair after a failover is then a duplicate there too, and a
// user capped on one host is capped on the other.
const BillsPath = "/state/bills"

// JournalSize is how many billing notices, and wins' reservations, a
// [Journal] keeps: a peer that falls further behind, or stays away
// longer, misses the oldest and counts them (rtbd_peer_bills_missed_total).
// At 3,000 billed impressions a second, each won first, it is 10 s, ten
// state.peerInterval defaults. It takes 4 MiB (a 64-byte slot each).
const JournalSize = 1 << 16

// maxBillsAnswer bounds the records of an answer a reader accepts: the
// whole journal, 2 MiB.
const maxBillsAnswer = JournalSize

// billsHeader is the answer's header: epoch, next sequence number and
// missed count (u64 each), then the record count (u32, with the records'
// version in its top byte: 0 for the first, 2 for the second); records
// follow.
const billsHeader = 8 + 8 + 8 + 4

// billRecord is one record on the wire: notice fingerprint, cap key, cap
// window and time, u64 each (the last two as two's complement), and, in
// an answer to a reader that asks for version 2 (v=2), the campaign key
// and the campaign's spend of the day and in total (billRecord2). Version
// 3 (v=3) adds a kind (0 a bill, 1 a win's reservation: [notice.Billed]'s
// Win) and the amount reserved (billRecord3), and holds the wins' records
// too: an answer of an earlier version leaves them out, as a reader that
// would take them for bills asked for it. An older host ignores v and
// answers records of the version it has, as the header says.
const (
	billRecord  = 4 * 8
	billRecord2 = billRecord + 3*8
	billRecord3 = billRecord2 + 2*8
)

// journalVersion is the newest version of records a Journal answers.
const journalVersion = 3

// winFlag marks a win's record in its slot's capWindow, whose windows
// take far fewer bits; its slot's today holds the amount reserved.
const winFlag = 1 << 63

// Journal is the ring of the billing notices this host processed first
// ([notice.Journal]), read by the peers through [BillsPath] with a
// cursor. Appending takes no lock: a sequence number from one atomic
// counter, and a per-slot sequence that a reader checks before and after
// it copies the slot, so that a slot being rewritten is never read torn.
type Journal struct {
	// epoch is drawn at start: a cursor a peer kept from an earlier run
	// of this host names other records, so it starts over.
	epoch   uint64
	next    atomic.Uint64
	waiting atomic.Int32 // answers in Journal.await (tests)
	slots   []journalSlot
	mask    uint64
}

// journalSlot holds record seq-1; seq 0 while it is written. One cache
// line each, so that concurrent appends do not share lines.
type journalSlot struct {
	seq                                atomic.Uint64
	notice, capKey, capWindow, seconds atomic.Uint64
	campaign, today, total             atomic.Uint64
	_                                  [64 - 8*8]byte
}

// NewJournal returns an empty journal of [JournalSize] records.
func NewJournal() *Journal { return newJournal(JournalSize) }

func newJournal(size int) *Journal {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails on Linux (crypto/rand)
	return &Journal{
		epoch: binary.LittleEndian.Uint64(b[:]) | 1, // 0 is a peer's "none yet"
		slots: make([]journalSlot, size),
		mask:  uint64(size - 1),
	}
}

// Billed appends b. It implements [notice.Journal].
func (j *Journal) Billed(b notice.Billed) {
	n := j.next.Add(1) - 1
	s := &j.slots[n&j.mask]
	window, today := uint64(b.CapWindow)&^winFlag, uint64(b.Today)
	if b.Win {
		window, today = window|winFlag, uint64(b.Amount)
	}
	s.seq.Store(0)
	s.notice.Store(b.Notice)
	s.capKey.Store(b.CapKey)
	s.capWindow.Store(window)
	s.seconds.Store(uint64(b.Time))
	s.campaign.Store(b.Campaign)
	s.today.Store(today)
	s.total.Store(uint64(b.Total))
	s.seq.Store(n + 1)
}

// AppendFrom appends the answer to a peer whose cursor is (epoch, since)
// to dst, with records of version (1 to 3; see billRecord): the records
// from since on, or from the oldest kept one when
// since is older or the epoch is not this journal's. A record still
// being written ends the answer; its writer is a notice in flight, read
// at the next interval. Records overwritten before the peer read them are
// counted as missed.
func (j *Journal) AppendFrom(dst []byte, epoch, since uint64, version int) []byte {
	head := j.next.Load()
	oldest := uint64(0)
	if size := uint64(len(j.slots)); head > size {
		oldest = head - size
	}
	var missed uint64
	switch {
	case epoch != j.epoch || since > head:
		since = oldest
	case since < oldest:
		missed, since = oldest-since, oldest
	}
	at := len(dst)
	dst = append(dst, make([]byte, billsHeader)...)
	count := uint32(0)
	i := since
	for ; i < head; i++ { // at most JournalSize: since >= oldest
		s := &j.slots[i&j.mask]
		seq := s.seq.Load()
		if seq != i+1 {
			if seq > i+1 {
				missed++ // lapped by the writers
				continue
			}
			break // being written
		}
		r := [9]uint64{s.notice.Load(), s.capKey.Load(), s.capWindow.Load(), s.seconds.Load(),
			s.campaign.Load(), s.today.Load(), s.total.Load()}
		if s.seq.Load() != i+1 {
			missed++ // rewritten while read
			continue
		}
		if r[2]&winFlag != 0 {
			if version < 3 {
				continue // a win, which this reader would take for a bill
			}
			r[2], r[5], r[7], r[8] = r[2]&^winFlag, 0, 1, r[5]
		}
		fields := r[:]
		switch version {
		case 1:
			fields = r[:billRecord/8]
		case 2:
			fields = r[:billRecord2/8]
		}
		for _, f := range fields {
			dst = binary.LittleEndian.AppendUint64(dst, f)
		}
		count++
	}
	h := dst[at:]
	binary.LittleEndian.PutUint64(h, j.epoch)
	binary.LittleEndian.PutUint64(h[8:], i)
	binary.LittleEndian.PutUint64(h[16:], missed)
	if version > 1 {
		count |= uint32(version) << 24
	}
	binary.LittleEndian.PutUint32(h[24:], count)
	return dst
}

// Applier returns what rtbd hands [Syncer.ShareBills]. A peer's billing
// notice is remembered as billed by notices (a replay here is a
// duplicate), ends this host's reservation of its bid, and counts its
// impression in the user's cap unless that reservation's win counted it
// already. A peer's win reserves its amount here too, unless its bid was
// billed already: a host that takes over the peer's address then goes on
// counting the peer's wins in flight until their bills come to it.
func Applier(st *decision.State, notices *notice.Handler) func(notice.Billed) {
	return func(b notice.Billed) {
		if b.Win {
			st.ReserveShared(b.Notice, b.Campaign, b.Amount, b.CapKey, b.CapWindow, b.Time, notices.HasBilled)
			return
		}
		notices.MarkBilled(b.Notice)
		if st.Release(b.Notice) {
			return // the win counted the impression in the cap
		}
		// Not after this host's now: a peer whose clock runs ahead
		// would open a cap window that outlasts the user's.
		st.CountImpression(b.CapKey, b.CapWindow, min(b.Time, time.Now().Unix()))
	}
}

// bills is a decoded answer of [Journal.AppendFrom].
type bills struct {
	epoch, next, missed uint64
	records             []notice.Billed
}

// decodeBills reads an answer whole, with records of either version.
func decodeBills(b []byte) (bills, error) {
	var r bills
	if len(b) < billsHeader {
		return r, errors.New("truncated header")
	}
	r.epoch = binary.LittleEndian.Uint64(b)
	r.next = binary.LittleEndian.Uint64(b[8:])
	r.missed = binary.LittleEndian.Uint64(b[16:])
	n := binary.LittleEndian.Uint32(b[24:])
	b = b[billsHeader:]
	size := uint64(billRecord)
	switch n >> 24 {
	case 0:
	case 2:
		size = billRecord2
	case 3:
		size = billRecord3
	default:
		return r, fmt.Errorf("records of version %d", n>>24)
	}
	if n &= 1<<24 - 1; n > maxBillsAnswer || uint64(len(b)) != uint64(n)*size {
		return r, fmt.Errorf("%d records declared in %d bytes", n, len(b))
	}
	if r.epoch == 0 {
		return r, errors.New("epoch 0")
	}
	r.records = make([]notice.Billed, n)
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(b[8*i:]) }
	for i := range r.records {
		rec := &r.records[i]
		*rec = notice.Billed{Notice: u(0), Time: int64(u(3))}
		rec.CapKey, rec.CapWindow = u(1), int64(u(2))
		if size >= billRecord2 {
			rec.Campaign, rec.Today, rec.Total = u(4), int64(u(5)), int64(u(6))
		}
		if size == billRecord3 {
			switch u(7) {
			case 0:
			case 1:
				rec.Win, rec.Amount = true, int64(u(8))
			default:
				return r, fmt.Errorf("record %d of kind %d", i, u(7))
			}
		}
		b = b[size:]
	}
	return r, nil
}

// serveBills answers GET [BillsPath]?epoch=E&since=N&wait=MS&v=3 from j and
// reports whether it answered 200. With wait, an answer that would hold
// no record waits up to wait milliseconds (at most maxBillsWait) for one
// (see Journal.await); closing ends the wait at once. With v=2 the records
// carry the campaign's spend, and with v=3 the wins' reservations come
// too (see billRecord); a higher v gets version 3.
func serveBills(ctx *fasthttp.RequestCtx, j *Journal, closing func() bool) bool {
	args := ctx.QueryArgs()
	var cur [4]uint64
	for i, name := range [4]string{"epoch", "since", "wait", "v"} {
		v := args.Peek(name)
		if len(v) == 0 {
			continue
		}
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			ctx.Error(name+" must be an unsigned 64-bit integer\n", fasthttp.StatusBadRequest)
			return false
		}
		cur[i] = n
	}
	if cur[2] > 0 {
		j.await(ctx, cur[0], cur[1], time.Duration(min(cur[2], uint64(maxBillsWait/time.Millisecond)))*time.Millisecond, closing)
	}
	ctx.SetContentType("application/octet-stream")
	ctx.SetBody(j.AppendFrom(nil, cur[0], cur[1], int(min(max(cur[3], 1), journalVersion))))
	return true
}

// maxBillsWait bounds the wait a reader may ask of serveBills.
const maxBillsWait = time.Minute

// billsPoll is how often a waiting answer looks at the journal's head.
// Appending a billing notice wakes no one: the notice path takes no lock
// and makes no system call, so the waiting answers poll instead.
const billsPoll = 2 * time.Millisecond

// await returns once the journal holds a record for the cursor (epoch,
// since), or after wait, or when the server shuts down or closing reports
// true. A cursor of another epoch (a new reader, or this host restarted)
// has records to read at once.
func (j *Journal) await(ctx *fasthttp.RequestCtx, epoch, since uint64, wait time.Duration, closing func() bool) {
	if epoch != j.epoch {
		return
	}
	j.waiting.Add(1)
	defer j.waiting.Add(-1)
	deadline := time.Now().Add(wait)
	for j.next.Load() <= since && time.Now().Before(deadline) && !closing() {
		select {
		case <-ctx.Done():
			return
		default:
		}
		time.Sleep(billsPoll)
	}
}

// AppendCursors appends the cursor in each peer's journal to dst, for the
// tables state file: peer count u32, then per peer its URL's length u16,
// the URL, the epoch and the next sequence number (u64 each). Little
// endian. Saved before the frequency caps and notices in the same file,
// so that a crash between the two leaves the cursor behind what the
// tables hold: a restart applies a few notices twice (a user counted
// once more against a cap) instead of missing them.
func (s *Syncer) AppendCursors(dst []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendPerPeer(dst, func(dst []byte, p *peer) []byte {
		dst = binary.LittleEndian.AppendUint64(dst, p.epoch)
		return binary.LittleEndian.AppendUint64(dst, p.next)
	})
}

// RestoreCursors loads AppendCursors' output into the configured peers'
// cursors, dropping those of peers no longer configured, and returns how
// many it restored. It checks the whole input before it changes anything.
func (s *Syncer) RestoreCursors(b []byte) (int, error) {
	type cursor struct{ epoch, next uint64 }
	return restorePerPeer(s, b, func(b []byte) (cursor, int, error) {
		if len(b) < 16 {
			return cursor{}, 0, errors.New("truncated")
		}
		return cursor{binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])}, 16, nil
	}, func(p *peer, c cursor) { p.epoch, p.next = c.epoch, c.next })
}
