// Package peers shares budgets between rtbd hosts: each host serves its
// own spend per campaign (GET /state/spend) and reads its peers' every
// state.peerInterval, so that budgets and pacing count what the whole
// group spent. Without it a VRRP backup that takes over at noon starts
// from what it alone spent, and a campaign can spend its daily budget
// once per host.
//
// Each host's spend is one component of a grow-only counter: a host
// serves only its own, and a reader keeps, per peer and campaign, the
// largest total and the largest spend of the latest day it has seen. A
// peer that restarts, is partitioned or answers garbage therefore never
// lowers what the others count; a peer that cannot be read keeps its
// last reading, which the spend state file keeps across restarts.
//
// With [Syncer.ShareBills], the billing notices each peer processes (GET
// /state/bills, a ring of the last [JournalSize] read with a cursor) are
// followed as they come: a replay of one of them to this host is a
// duplicate here too, its impression counts against the user's frequency
// cap here too, and the campaign's spend on the peer that it carries
// counts here at once, as a reading of it would.
package peers

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/cespare/xxhash/v2"
	"github.com/valyala/fasthttp"

	"github.com/rtbd/rtbd/daemon/decision"
	"github.com/rtbd/rtbd/daemon/notice"
	"github.com/rtbd/rtbd/daemon/secret"
)

// Path is where a host serves its own spend.
const Path = "/state/spend"

// maxBody bounds a peer's answer: about 40 bytes per campaign that has
// spent, so 64 MiB is over a million campaigns.
const maxBody = 64 << 20

// The headers of a spend answer: the epoch of the serving host's spend
// versions, the version the answer is complete up to, and the version it
// holds the changes since (0: the whole spend). A reader that sends the
// first two back (?epoch=E&since=V) gets what changed since; an rtbd
// from before them answers the whole spend without them.
const (
	EpochHeader   = "Rtbd-Spend-Epoch"
	VersionHeader = "Rtbd-Spend-Version"
	SinceHeader   = "Rtbd-Spend-Since"
)

// RetireHeader carries the serving host's state.retireAfterDays in spend
// answers: hosts that share budgets should retire campaigns alike, and a
// reader warns when they do not.
const RetireHeader = "Rtbd-Retire-After-Days"

// WinReservationHeader carries the serving host's bidding.winReservation
// in whole seconds in spend answers: a host reserves the wins it reads in
// its peers' bills for its own winReservation, so hosts that share
// budgets should use the same, and a reader warns when they do not.
const WinReservationHeader = "Rtbd-Win-Reservation-Seconds"

// HostHeader carries the serving host's bidding.hostID in answers, so
// that a host listed among its own peers is refused instead of counting
// its spend twice, and the reading host's in requests (see
// [Source.FinalReads]).
const HostHeader = "Rtbd-Host-Id"

// ReadyPath answers 200 while the serving host takes bid traffic, as its
// admin listener's /readyz does, and 503 while it does not (loading,
// draining): a host about to restart waits until its peers answer 200
// ([WaitReady], `rtbd peers-ready`), so that the hosts sharing a VIP do
// not restart together. Like /readyz it needs no token: a restart that
// rotates the peer tokens of two hosts at once must not wait forever for
// a peer that no longer takes this host's token.
const ReadyPath = "/state/ready"

// SeenPath answers the spend of the requesting host (its [HostHeader])
// as this one last read it, in the encoding of a whole reading: a host
// that restarts raises its own to it ([Syncer.Recover]).
const SeenPath = "/state/seen"

// Source is what a host serves its peers: its own spend at [Path], with
// a Journal the billing notices it processed at [BillsPath], whether it
// is ready at [ReadyPath], and with Seen what it read of the asking
// peer's spend at [SeenPath].
type Source struct {
	State   *decision.State
	Journal *Journal    // nil: BillsPath is not served
	HostID  string      // bidding.hostID, sent in [HostHeader]
	Ready   func() bool // for ReadyPath; nil: always ready
	// Seen appends what this host read of the spend of the peer with
	// bidding.hostID id to dst ([Syncer.SeenOf]); nil: SeenPath is not
	// served.
	Seen func(dst []byte, id string) []byte
	// Tokens are state.peerTokenFile's: a request must carry one of them
	// (none: every request is served). AcceptWithoutToken serves one
	// that carries none all the same (state.acceptPeersWithoutToken).
	Tokens             *secret.Tokens
	AcceptWithoutToken bool

	final finalReads
	// spendLen is the length of the last spend answer, to size the next.
	spendLen atomic.Int64
}

// finalReads records which peers read this one: when each last
// read the spend, and, once a stopping host has billed its last notice,
// which have read its spend and billing notices since.
type finalReads struct {
	// closing: FinalReads was called. Set under mu, with seen; read
	// without it by answers waiting for bills.
	closing atomic.Bool
	mu      sync.Mutex
	last    map[string]time.Time // peer's host id: its last read of the spend
	seen    map[string]uint8     // since closing, peer's host id: readSpend | readBills
	changed chan struct{}        // signalled on every change of seen
}

const (
	readSpend uint8 = 1 << iota
	readBills
)

// maxReaders bounds the host ids a Source remembers, so that requests
// with made-up ids cannot grow it without end; a fleet has far fewer.
const maxReaders = 1024

// FinalReads is for a host that stops: call it once its bid listener,
// which takes the billing notices, has stopped, and Wait on the result.
// Every peer that read this one's spend within the last recent is
// expected to read it, and its billing notices when there is a Journal,
// once more. Without it the peers' last reading of a host that stops
// misses up to one state.peerInterval of its bills, for good.
//
// skip, when not nil, leaves out the peers it reports true for: those this
// host could not read itself, which have most likely died.
func (s *Source) FinalReads(recent time.Duration, skip func(hostID string) bool) *FinalReads {
	w := &FinalReads{src: s, want: readSpend}
	if s.Journal != nil {
		w.want |= readBills
	}
	f := &s.final
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen, f.changed = map[string]uint8{}, make(chan struct{}, 1)
	f.closing.Store(true)
	for host, at := range f.last {
		if time.Since(at) <= recent && (skip == nil || !skip(host)) {
			w.hosts = append(w.hosts, host)
		}
	}
	return w
}

// isClosing reports whether FinalReads was called: the bid listener has
// stopped, so an answer waiting for billing notices would wait for
// nothing.
func (f *finalReads) isClosing() bool { return f.closing.Load() }

// FinalReads waits for the peers' last readings of a stopping host.
type FinalReads struct {
	src   *Source
	want  uint8
	hosts []string // host ids of the peers expected
}

// Wait returns when every expected peer has read, or when ctx ends: how
// many did and how many were expected.
func (w *FinalReads) Wait(ctx context.Context) (read, expected int) {
	f := &w.src.final
	for {
		f.mu.Lock()
		read = 0
		for _, h := range w.hosts {
			if f.seen[h]&w.want == w.want {
				read++
			}
		}
		f.mu.Unlock()
		if read == len(w.hosts) {
			return read, len(w.hosts)
		}
		select {
		case <-ctx.Done():
			return read, len(w.hosts)
		case <-f.changed:
		}
	}
}

// noteRead records a read of what by the peer that sent the request,
// known by the [HostHeader] its Syncer sends; other readers (an operator's
// curl) are not waited for.
func (s *Source) noteRead(ctx *fasthttp.RequestCtx, what uint8) {
	host := string(ctx.Request.Header.Peek(HostHeader))
	if host == "" {
		return
	}
	f := &s.final
	f.mu.Lock()
	defer f.mu.Unlock()
	if what == readSpend {
		if f.last == nil {
			f.last = map[string]time.Time{}
		}
		if _, ok := f.last[host]; ok || len(f.last) < maxReaders {
			f.last[host] = time.Now()
		}
	}
	if !f.closing.Load() {
		return
	}
	f.seen[host] |= what
	select {
	case f.changed <- struct{}{}:
	default:
	}
}

// Handler serves s, and 404 for any other path: the whole peer listener.
func (s *Source) Handler(ctx *fasthttp.RequestCtx) {
	if !s.Serve(ctx) {
		ctx.Error("not found; peers read GET "+Path+", "+BillsPath+", "+SeenPath+" and "+ReadyPath+"\n", fasthttp.StatusNotFound)
	}
}

// Serve answers a request for [Path], [BillsPath], [SeenPath] or
// [ReadyPath] and reports whether the request was for one of them.
func (s *Source) Serve(ctx *fasthttp.RequestCtx) bool {
	path := string(ctx.Path())
	spend, ready, seen := path == Path, path == ReadyPath, path == SeenPath && s.Seen != nil
	if !spend && !ready && !seen && (path != BillsPath || s.Journal == nil) {
		return false
	}
	if !ready && !s.authorized(ctx) {
		return true
	}
	if !ctx.IsGet() {
		ctx.Error("use GET\n", fasthttp.StatusMethodNotAllowed)
		return true
	}
	ctx.Response.Header.Set(HostHeader, s.HostID)
	if ready {
		if s.Ready == nil || s.Ready() {
			ctx.SetBodyString("ready\n")
		} else {
			ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
			ctx.SetBodyString("not ready\n")
		}
		return true
	}
	if seen {
		id := string(ctx.Request.Header.Peek(HostHeader))
		if id == "" {
			ctx.Error("send your bidding.hostID in "+HostHeader+"\n", fasthttp.StatusBadRequest)
			ctx.Response.Header.Set(HostHeader, s.HostID) // after Error, which resets the headers
			return true
		}
		ctx.SetContentType("application/octet-stream")
		ctx.Response.SwapBody(s.Seen(ctx.Response.SwapBody(nil)[:0], id))
		return true
	}
	if !spend {
		if serveBills(ctx, s.Journal, s.final.isClosing) {
			s.noteRead(ctx, readBills)
		}
		return true
	}
	ctx.SetContentType("application/octet-stream")
	epoch, since := s.State.SpendEpoch(), uint64(0)
	if args := ctx.QueryArgs(); args.GetUintOrZero("epoch") == int(epoch) {
		since = uint64(args.GetUintOrZero("since"))
	}
	body, version := s.appendSpend(ctx.Response.SwapBody(nil), since)
	if since > version {
		since = 0 // not a version of this State's: the whole spend
	}
	ctx.Response.SwapBody(body)
	h := &ctx.Response.Header
	var num [20]byte
	h.SetBytesV(EpochHeader, strconv.AppendUint(num[:0], epoch, 10))
	h.SetBytesV(VersionHeader, strconv.AppendUint(num[:0], version, 10))
	h.SetBytesV(SinceHeader, strconv.AppendUint(num[:0], since, 10))
	h.SetBytesV(RetireHeader, strconv.AppendInt(num[:0], int64(s.State.RetireAfter()), 10))
	h.SetBytesV(WinReservationHeader, strconv.AppendInt(num[:0], int64(s.State.WinReservation()/time.Second), 10))
	s.noteRead(ctx, readSpend)
	return true
}

var (
	unauthorized      = metrics.NewCounter(`rtbd_unauthorized_requests_total{token="peer"}`)
	readsWithoutToken = metrics.NewCounter(`rtbd_peer_reads_without_token_total`)
)

// authorized reports whether the request may read the state, and answers
// 401 when it may not: s has Tokens and the request carries none of them.
func (s *Source) authorized(ctx *fasthttp.RequestCtx) bool {
	switch s.Tokens.Check(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)) {
	case secret.Allowed:
		return true
	case secret.Missing:
		if s.AcceptWithoutToken {
			readsWithoutToken.Inc()
			return true
		}
	}
	unauthorized.Inc()
	ctx.Error("send a token of state.peerTokenFile: Authorization: Bearer TOKEN\n", fasthttp.StatusUnauthorized)
	ctx.Response.Header.Set(fasthttp.HeaderWWWAuthenticate, `Bearer realm="rtbd peers"`) // after Error, which resets the headers
	return false
}

// appendSpend appends the State's spend that changed since version
// since, the whole of it for 0, to buf[:0], the response's pooled body
// buffer, and returns it and the version it is complete up to. For the
// whole spend it replaces buf when it is smaller than the last whole
// answer (fasthttp's pool keeps few buffers that large): one allocation
// of the answer's size at most. AppendSpend(nil) grew its buffer by
// doubling, and SetBody copied the result into the response's: 21 MB
// allocated and 11.8 ms a reading of 10^5 campaigns, on the cores that
// serve bids.
func (s *Source) appendSpend(buf []byte, since uint64) ([]byte, uint64) {
	if n := int(s.spendLen.Load()); since == 0 && cap(buf) < n {
		buf = make([]byte, 0, n+n/8)
	}
	buf, v := s.State.AppendSpendSince(buf[:0], since)
	if since == 0 {
		s.spendLen.Store(int64(len(buf)))
	}
	return buf, v
}

// Syncer reads the peers' spend into a [decision.State].
type Syncer struct {
	st     *decision.State
	self   string // this host's bidding.hostID
	client *http.Client
	// transport carries every reading, with the roots of TrustRoots.
	transport *transport
	interval  time.Duration
	tokens    *secret.Tokens // state.peerTokenFile's: the first is sent (see SendTokens)

	// apply, when set, applies each billing notice a peer's journal
	// holds (see ShareBills).
	apply func(notice.Billed)

	// following: Run follows the peers' billing notices (see follow),
	// so its readings leave them out.
	following atomic.Bool

	// reading serialises SyncOnce, the owner of body: the last reading's
	// answer, whose buffer the next one reuses.
	reading sync.Mutex
	body    []byte

	mu    sync.Mutex // guards peers' spend maps and cursors (Run and Append), and ids
	peers []*peer
	// gone are the peers of the state file no longer in state.peers (a
	// host taken out of the group, or moved to another address): what
	// they had spent still counts, until their campaigns retire, or a
	// configured peer answers with their host id (the same host at a new
	// address, whose reading has that spend). Not read.
	gone      []*peer
	published atomic.Bool // publish ran: the State has the peers' spend
	// ids names the State's campaigns, which include those of the peers'
	// readings (SetPeerSpend adds them), by key: xxhash of the id, as
	// billing notices carry them. grown is the State's Grown when ids
	// last learned them.
	ids   map[uint64]string
	grown uint64
}

type peer struct {
	url   string // base URL, as configured
	spend map[string]decision.CampaignSpend
	ok    atomic.Bool // the last reading succeeded; logs only changes
	// lastReading is the peer's last whole reading merged (guarded by
	// Syncer.reading), against which the next whole one is compared.
	// partial: spend lacks some entries of the readings merged, those of
	// campaigns the State retired (see Retire); grown is the State's
	// Grown when the last reading was asked for. Both are guarded by
	// Syncer.mu.
	lastReading []byte
	partial     bool
	grown       uint64
	// cursor is where the last reading left the peer's spend versions
	// (guarded by Syncer.reading): the next asks for what changed since.
	cursor spendCursor
	// hostID is the bidding.hostID the peer answers with (guarded by
	// Syncer.mu), for Unreachable.
	hostID string
	// noBills: the peer answered 404 for BillsPath, an rtbd older than
	// the billing journal (logged once).
	noBills bool
	// The cursor in the peer's journal: its epoch (0 before the first
	// reading) and the sequence number of the next record to apply.
	epoch, next uint64

	syncs, errs     *metrics.Counter
	applied, missed *metrics.Counter
	wins            *metrics.Counter // wins' reservations applied
	readBytes       *metrics.Counter
	last            *metrics.Gauge
	campaigns       *metrics.Gauge
	// retireDays is the peer's state.retireAfterDays and winReservation
	// its bidding.winReservation in seconds, -1 until an answer gave them
	// (guarded by Syncer.reading).
	retireDays, winReservation *metrics.Gauge
}

// New returns a Syncer for the peers' base URLs (config.State.Peers) that
// reads them every interval, each reading bounded by interval too. self
// is this host's bidding.hostID: a peer that answers with it is refused.
func New(st *decision.State, urls []string, interval time.Duration, self string) *Syncer {
	tr := newTransport()
	s := &Syncer{st: st, self: self, interval: interval, transport: tr, client: &http.Client{Transport: tr, Timeout: interval}, ids: map[uint64]string{}}
	for _, u := range urls {
		l := `{peer="` + u + `"}`
		s.peers = append(s.peers, &peer{
			url:       strings.TrimSuffix(u, "/"),
			spend:     map[string]decision.CampaignSpend{},
			syncs:     metrics.GetOrCreateCounter(`rtbd_peer_syncs_total` + l),
			errs:      metrics.GetOrCreateCounter(`rtbd_peer_sync_errors_total` + l),
			last:      metrics.GetOrCreateGauge(`rtbd_peer_last_sync_timestamp_seconds`+l, nil),
			campaigns: metrics.GetOrCreateGauge(`rtbd_peer_campaigns`+l, nil),
			applied:   metrics.GetOrCreateCounter(`rtbd_peer_bills_applied_total` + l),
			missed:    metrics.GetOrCreateCounter(`rtbd_peer_bills_missed_total` + l),
			wins:      metrics.GetOrCreateCounter(`rtbd_peer_wins_applied_total` + l),
			readBytes: metrics.GetOrCreateCounter(`rtbd_peer_spend_read_bytes_total` + l),
			// Compare with the host's own, which the config sets.
			retireDays:     metrics.GetOrCreateGauge(`rtbd_peer_retire_after_days`+l, nil),
			winReservation: metrics.GetOrCreateGauge(`rtbd_peer_win_reservation_seconds`+l, nil),
		})
		s.peers[len(s.peers)-1].retireDays.Set(-1)
		s.peers[len(s.peers)-1].winReservation.Set(-1)
		s.peers[len(s.peers)-1].ok.Store(true) // until a reading fails
	}
	return s
}

// SendTokens has every reading send the first of t's tokens
// (state.peerTokenFile), as it is when the reading starts. Call it
// before Run.
func (s *Syncer) SendTokens(t *secret.Tokens) { s.tokens = t }

// Unreachable reports whether the peer with bidding.hostID id could not
// be read the last time: a stopping host does not wait for its final
// reading (see [Source.FinalReads]).
func (s *Syncer) Unreachable(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.peers {
		if p.hostID == id && !p.ok.Load() {
			return true
		}
	}
	return false
}

// ShareBills makes every reading also apply the billing notices the
// peer processed since the last one (its [BillsPath]), through apply:
// the daemon remembers each notice as billed and counts its impression
// against the frequency cap. The peer's wins' reservations come the same
// way, as records with Win (from an rtbd that journals them), which the
// daemon reserves too. Call it before Run.
func (s *Syncer) ShareBills(apply func(notice.Billed)) { s.apply = apply }

// Run reads every peer at once and then every interval until ctx ends.
// With ShareBills, each peer's billing notices are followed instead (see
// follow): they arrive within a round trip of being billed, not at the
// next interval.
func (s *Syncer) Run(ctx context.Context) {
	// Leave no keep-alive connection to a peer behind: a stopping peer
	// waits for the connections its listener accepted.
	defer s.client.CloseIdleConnections()
	if s.apply != nil {
		s.following.Store(true)
		var wg sync.WaitGroup
		defer wg.Wait() // no notice is applied after Run returns
		for _, p := range s.peers {
			wg.Go(func() { s.follow(ctx, p) })
		}
	}
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		s.SyncOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SyncOnce reads every peer once, merges what each answered and hands
// the sum to the State. It returns the errors of the peers that could not
// be read, joined.
func (s *Syncer) SyncOnce(ctx context.Context) error {
	var errs []error
	s.reading.Lock()
	defer s.reading.Unlock()
	for _, p := range s.peers {
		err := s.fetch(ctx, p)
		if err != nil {
			errs = append(errs, p.failed("spend", "counting its last reading", err))
			continue
		}
		if s.apply != nil && !s.following.Load() {
			if _, err = s.syncBills(ctx, s.client, p, 0); err != nil {
				errs = append(errs, p.failed("billing notices", "reading them again at the next interval", err))
			}
		}
		if err == nil {
			p.succeeded("spend")
		}
		p.syncs.Inc()
		p.last.Set(float64(time.Now().UnixNano()) / 1e9)
	}
	if !s.published.Load() {
		s.publish()
	}
	return errors.Join(errs...)
}

// succeeded marks the peer reachable again after a reading of what,
// logged when the last reading had failed. A stopping host waits for the
// final reading of a reachable peer only (see Unreachable).
func (p *peer) succeeded(what string) {
	if !p.ok.Swap(true) {
		slog.Info("reading the peer's "+what+" again", "peer", p.url)
	}
}

// failed counts a reading of what that failed, logs it with what follows
// when the last reading succeeded, and returns the error naming the peer.
func (p *peer) failed(what, follows string, err error) error {
	p.errs.Inc()
	if p.ok.Swap(false) {
		slog.Warn("cannot read a peer's "+what+"; "+follows, "peer", p.url, "err", err)
	}
	return fmt.Errorf("peer %s: %s: %w", p.url, what, err)
}

// fetch reads p's spend and merges it into p's known spend. It asks for
// what changed since its last reading: a few KB, where the whole spend
// of 10^5 campaigns is 4 MB, to each peer every interval. The answer
// goes into s.body, reused from reading to reading, and is merged as it
// is decoded; a whole one past the campaigns that did not move since p's
// last whole reading (see take): with 10^5 campaigns a reading had cost
// every peer, every interval, a growing buffer and 100,001 strings, 20
// MB of garbage in all, and 16-19 ms of CPU. Call it with s.reading held.
func (s *Syncer) fetch(ctx context.Context, p *peer) error {
	s.mu.Lock()
	grown := s.st.Grown()
	// The State counts a campaign it did not before: the entries left out
	// of the readings merged may be its, and only the whole spend has
	// them.
	whole := p.partial && grown != p.grown
	s.mu.Unlock()
	url, asked := p.url+Path, spendCursor{}
	if !whole && p.cursor.epoch != 0 {
		asked = p.cursor
		url += "?epoch=" + strconv.FormatUint(asked.epoch, 10) + "&since=" + strconv.FormatUint(asked.version, 10)
	}
	b, h, err := s.getWith(ctx, s.client, p, url, s.body[:0])
	s.body = b[:0]
	if err != nil {
		return err
	}
	p.readBytes.Add(len(b))
	checkSetting(p, p.retireDays, h.Get(RetireHeader), int64(s.st.RetireAfter()),
		"the peer retires campaigns after another state.retireAfterDays than this host: a campaign one host retired and the other did not is counted by the second only, and a book that brings it back starts it from zero on the first; set it the same on every host",
		"days")
	checkSetting(p, p.winReservation, h.Get(WinReservationHeader), int64(s.st.WinReservation()/time.Second),
		"the peer reserves wins for another bidding.winReservation than this host: a win it reserves, and this host reads in its bills, ends at another time here, so the hosts count another spend for the campaign until its bill; set it the same on every host",
		"seconds")
	got := cursorOf(h)
	// A delta holds what changed since the version asked for; anything
	// else (a peer that restarted, an older rtbd) is the whole spend.
	delta := asked.epoch != 0 && got.epoch == asked.epoch && got.since == asked.version
	if err := s.take(p, b, delta, whole, grown); err != nil {
		p.cursor = spendCursor{}
		return err
	}
	p.cursor = got
	return nil
}

// checkSetting notes in g a setting of peer p that hosts sharing budgets
// should share, v as its answer gave it (none from an rtbd from before
// the header), and warns with msg when it changed to one that differs
// from this host's own.
func checkSetting(p *peer, g *metrics.Gauge, v string, own int64, msg, unit string) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || float64(n) == g.Get() {
		return
	}
	g.Set(float64(n))
	if n != own {
		slog.Warn(msg, "peer", p.url, "peer_"+unit, n, unit, own)
	}
}

// spendCursor is where a reading leaves a peer's spend versions: the
// headers of its answer, zero for an rtbd from before them.
type spendCursor struct{ epoch, version, since uint64 }

func cursorOf(h http.Header) spendCursor {
	var c spendCursor
	var errs [3]error
	c.epoch, errs[0] = strconv.ParseUint(h.Get(EpochHeader), 10, 64)
	c.version, errs[1] = strconv.ParseUint(h.Get(VersionHeader), 10, 64)
	c.since, errs[2] = strconv.ParseUint(h.Get(SinceHeader), 10, 64)
	if errors.Join(errs[:]...) != nil {
		return spendCursor{}
	}
	return c
}

// take merges b, a reading of p's spend, into p's known spend and hands
// the campaigns it changed on. A whole reading it merges past the
// entries the same as in p's last whole reading, then keeps it as that,
// giving s.body the buffer of the one before; delta, the changes since
// the last reading, and a reading asked for whole (see fetch), it merges
// whole. grown is the State's Grown when the reading was asked for.
func (s *Syncer) take(p *peer, b []byte, delta, whole bool, grown uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	last := p.lastReading
	if delta || whole {
		last = nil
	}
	changed, partial, err := mergeReading(p.spend, b, last, s.st.Retirable)
	if err != nil {
		return fmt.Errorf("bad answer: %w", err)
	}
	s.handOn(changed)
	p.campaigns.Set(float64(len(p.spend)))
	if !delta {
		p.lastReading, s.body = b, p.lastReading[:0]
	}
	// Only a whole reading merged whole has every entry it left out
	// still left out.
	p.partial = partial || (p.partial && (delta || last != nil))
	p.grown = grown
	return nil
}

// followGap is the least time between two readings of a peer's billing
// notices while it bills: at most 20 requests a second, each notice
// shared within about 50 ms.
const followGap = 50 * time.Millisecond

// followRetry is the longest pause after a failed reading of a peer's
// billing notices (the interval when shorter): a peer that starts after
// this host, or comes back, is followed within it, not a whole interval
// later, and a dead one costs a refused connection a second.
const followRetry = time.Second

// follow reads p's billing notices until ctx ends, each reading asking
// the peer to wait up to the interval for one (serveBills' wait), so that
// a notice billed there is applied here within a round trip, or followGap
// under steady billing, where readings every interval left up to a whole
// interval of them unshared when the peer died. An answer that came at
// once and empty although the cursor was in the peer's epoch (an older
// rtbd, which does not wait, or a stopping one) and a peer without
// billing notices (older still) wait for the rest of the interval. A
// failed reading is tried again after followGap, the pause doubling up to
// followRetry, and never longer than the interval. A new cursor (the
// first reading, or the peer restarted) is followed at once.
func (s *Syncer) follow(ctx context.Context, p *peer) {
	wait := s.interval
	client := &http.Client{Transport: s.transport, Timeout: wait + s.interval}
	defer client.CloseIdleConnections()
	retry := followGap
	for ctx.Err() == nil {
		start := time.Now()
		s.mu.Lock()
		epoch := p.epoch
		s.mu.Unlock()
		n, err := s.syncBills(ctx, client, p, wait)
		s.mu.Lock()
		waited := epoch != 0 && epoch == p.epoch // a cursor in this epoch: the peer could wait
		s.mu.Unlock()
		pause := followGap
		if err != nil {
			pause, retry = min(retry, s.interval), min(2*retry, followRetry)
			if ctx.Err() == nil {
				p.failed("billing notices", "trying again within "+followRetry.String(), err) //nolint:errcheck // counted and logged
			}
		} else {
			retry = followGap
			p.succeeded("billing notices")
			if p.noBills || waited && n == 0 && time.Since(start) < wait/2 {
				pause = s.interval
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause - time.Since(start)):
		}
	}
}

// syncBills applies the billing notices p processed since its cursor,
// moves the cursor past them and returns how many it applied. With wait
// the peer may wait that long for one (see serveBills).
func (s *Syncer) syncBills(ctx context.Context, client *http.Client, p *peer, wait time.Duration) (int, error) {
	s.mu.Lock()
	url := fmt.Sprintf("%s%s?epoch=%d&since=%d&v=%d", p.url, BillsPath, p.epoch, p.next, journalVersion)
	s.mu.Unlock()
	if wait > 0 {
		url += fmt.Sprintf("&wait=%d", wait.Milliseconds())
	}
	b, _, err := s.getWith(ctx, client, p, url, nil)
	var st statusError
	if errors.As(err, &st) && st.code == http.StatusNotFound {
		// An rtbd from before the journal: spend is shared, caps and
		// notices are not, until it is upgraded.
		if !p.noBills {
			slog.Warn("the peer serves no billing notices (an older rtbd): frequency caps and notice dedupe are not shared with it", "peer", p.url)
			p.noBills = true
		}
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if p.noBills {
		slog.Info("the peer serves billing notices now", "peer", p.url)
		p.noBills = false
	}
	got, err := decodeBills(b)
	if err != nil {
		return 0, fmt.Errorf("bad answer: %w", err)
	}
	wins := 0
	for _, r := range got.records {
		s.apply(r)
		if r.Win {
			wins++
		}
	}
	s.billedSpend(p, got.records)
	p.applied.Add(len(got.records) - wins)
	p.wins.Add(wins)
	if got.missed > 0 {
		p.missed.Add(int(got.missed))
		slog.Warn("missed billing notices of a peer: its journal moved past them; their users' caps and replays are not shared",
			"peer", p.url, "missed", got.missed)
	}
	s.mu.Lock()
	p.epoch, p.next = got.epoch, got.next
	s.mu.Unlock()
	return len(got.records), nil
}

// statusError is a peer's answer other than 200.
type statusError struct {
	code   int
	status string
}

func (e statusError) Error() string {
	if e.code == http.StatusUnauthorized {
		return "status " + e.status + ": it asks for a token of its state.peerTokenFile and this host sent none of them (every host of state.peers needs the same file)"
	}
	return "status " + e.status
}

// getWith reads url whole from peer p through client, refusing this
// host's own answers, and notes the host id p answers with. It appends
// the answer to dst, which it returns, grown, also with an error, with
// the answer's headers.
func (s *Syncer) getWith(ctx context.Context, client *http.Client, p *peer, url string, dst []byte) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return dst, nil, err
	}
	req.Header.Set(HostHeader, s.self) // so that a stopping peer waits for this host's last reading
	if h := s.tokens.Header(); h != "" {
		req.Header.Set("Authorization", h)
	}
	resp, err := client.Do(req)
	if err != nil {
		return dst, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return dst, nil, statusError{resp.StatusCode, resp.Status}
	}
	id := resp.Header.Get(HostHeader)
	if !plausibleHostID(id) {
		return dst, nil, fmt.Errorf("its %s %.80q is no bidding.hostID: want up to %d letters, digits, '.', '_' and '-'", HostHeader, id, maxHostIDLen)
	}
	if id == s.self {
		return dst, nil, fmt.Errorf("it has this host's bidding.hostID %q: it is this host, which must not count its own spend twice, or another host with the same bid ids", s.self)
	}
	s.mu.Lock()
	// An rtbd from before the header answers without an id.
	replaced := p.hostID != "" && id != "" && p.hostID != id
	if replaced {
		s.replace(p, id)
	}
	p.hostID = id
	moved := s.dropGone(id)
	s.mu.Unlock()
	if moved || replaced {
		s.publish()
	}
	buf := bytes.NewBuffer(dst)
	if n := resp.ContentLength; n > 0 && n <= maxBody {
		buf.Grow(int(n) + bytes.MinRead) // the last read, of EOF, wants MinRead free
	}
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, maxBody+1))
	b := buf.Bytes()
	if err != nil {
		return b[:0], nil, err
	}
	if len(b) > maxBody {
		return b[:0], nil, fmt.Errorf("answer over %d bytes", maxBody)
	}
	return b, resp.Header, nil
}

// billedSpend folds the spend that p's billing notices carry (version 2
// records: the campaign's spend on p once billed) into p's known spend as
// a reading would, and hands the campaigns that changed to the State at
// once. A notice of a campaign that this host's State does not count yet
// waits for the next reading of p's spend, which holds it.
func (s *Syncer) billedSpend(p *peer, records []notice.Billed) {
	var got []decision.CampaignSpend
	s.mu.Lock()
	for _, r := range records {
		if r.Campaign == 0 || r.Win {
			continue // an older peer's record, or a win's, which moved no spend
		}
		id, ok := s.ids[r.Campaign]
		if !ok {
			if g := s.st.Grown(); g != s.grown {
				for _, id := range s.st.CampaignIDs(nil) {
					s.ids[xxhash.Sum64String(id)] = id
				}
				s.grown = g
			}
			id, ok = s.ids[r.Campaign]
		}
		if ok {
			got = append(got, decision.CampaignSpend{ID: id, Day: r.Time / 86400, Today: r.Today, Total: r.Total})
		}
	}
	s.merge(p, got)
	s.mu.Unlock()
}

// merge folds got, a reading of p's spend or its billing notices' spend,
// into p's known spend, and hands the campaigns it changed to the State
// once publish has run. Only those: publish visits every campaign, which
// took 86-113 ms a second with 10^5 campaigns and a billing peer. Call it
// with s.mu held, as publish hands its sums on: an older sum never
// replaces a newer one in the State.
func (s *Syncer) merge(p *peer, got []decision.CampaignSpend) {
	s.handOn(mergeSpend(p.spend, got, s.st.Retirable))
}

// handOn hands the peers' summed spend of the campaigns changed to the
// State once publish has run. s.mu is held.
func (s *Syncer) handOn(changed []string) {
	if len(changed) > 0 && s.published.Load() {
		slices.Sort(changed)
		s.st.UpdatePeerSpend(s.sums(slices.Compact(changed)))
	}
}

// mergeYieldEvery is how many campaigns mergeSpend folds between yields.
const mergeYieldEvery = 4096

// mergeSpend folds a reading into a peer's known spend: per campaign the
// largest total, and the largest spend of the latest day. It returns the
// ids of the campaigns whose known spend changed, once per change. An
// entry of a campaign known does not have and retired reports is left
// out: the State retired it (see [decision.State.Retirable]).
func mergeSpend(known map[string]decision.CampaignSpend, got []decision.CampaignSpend, retired retiredFunc) (changed []string) {
	for i, e := range got {
		if i%mergeYieldEvery == mergeYieldEvery-1 {
			// 10-15 ms a reading with 10^5 campaigns, every interval, on
			// a core that serves bids.
			runtime.Gosched()
		}
		k, ok := known[e.ID]
		if !ok && retired([]byte(e.ID), e.Day) {
			continue
		}
		if fold(known, k, ok, e) {
			changed = append(changed, e.ID)
		}
	}
	return changed
}

// retiredFunc reports whether a spend entry of campaign id for UTC day
// day is of a campaign the State retired: [decision.State.Retirable].
type retiredFunc func(id []byte, day int64) bool

// mergeReading folds a reading, AppendSpend's output, into a peer's known
// spend as mergeSpend does, as it decodes it: a campaign's id becomes a
// string only the first time it is read. It passes over the campaigns
// whose entry is the same as in last, the peer's last reading (nil for
// none), at the same place: known already holds them folded, and folding
// a reading in again changes nothing. When the peer's campaigns changed,
// the entries after the first new or gone one are all folded. An entry
// of a campaign known does not have and retired reports is left out, and
// partial reports that one was. It checks the whole reading before it
// changes anything.
func mergeReading(known map[string]decision.CampaignSpend, b, last []byte, retired retiredFunc) (changed []string, partial bool, err error) {
	err = decision.ScanSpend(b, last, func(id []byte, e decision.CampaignSpend) {
		k, ok := known[string(id)]
		if e.ID = k.ID; !ok {
			if retired(id, e.Day) {
				partial = true
				return
			}
			e.ID = string(id)
		}
		if fold(known, k, ok, e) {
			changed = append(changed, e.ID)
		}
	})
	return changed, partial, err
}

// fold folds e into known, where k is known's entry of e.ID, if ok, and
// reports whether known changed.
func fold(known map[string]decision.CampaignSpend, k decision.CampaignSpend, ok bool, e decision.CampaignSpend) bool {
	if ok {
		var moved bool
		if e, moved = folded(k, e); !moved {
			return false
		}
	}
	known[e.ID] = e
	return true
}

// folded is known spend k with a reading's e folded in: the largest
// total, and the largest spend of the latest day; and whether k changed.
func folded(k, e decision.CampaignSpend) (decision.CampaignSpend, bool) {
	n := k
	n.Total = max(k.Total, e.Total)
	switch {
	case e.Day > k.Day:
		n.Day, n.Today = e.Day, e.Today
	case e.Day == k.Day:
		n.Today = max(k.Today, e.Today)
	}
	return n, n != k
}

// Retire forgets the peers' spend of the campaigns the State retired
// (see [decision.State.Retire]; the daemon calls it right after), and
// returns how many entries it dropped, over all peers.
func (s *Syncer) Retire() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.known() {
		for id, e := range p.spend {
			if s.st.Retirable([]byte(id), e.Day) {
				delete(p.spend, id)
				p.partial = true // the last reading may still hold it
				n++
			}
		}
		if p.campaigns != nil {
			p.campaigns.Set(float64(len(p.spend)))
		}
	}
	for k, id := range s.ids {
		if !s.st.Counts(id) {
			delete(s.ids, k)
		}
	}
	return n
}

// publish sums the peers' known spend per campaign into the State. It
// holds s.mu throughout, so that its sums and billedSpend's reach the
// State in the order they were taken.
func (s *Syncer) publish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := map[string]decision.CampaignSpend{}
	for _, p := range s.known() {
		for id, e := range p.spend {
			sum[id] = addSpend(sum[id], e)
		}
	}
	entries := make([]decision.CampaignSpend, 0, len(sum))
	for _, e := range sum {
		entries = append(entries, e)
	}
	s.st.SetPeerSpend(entries)
	s.published.Store(true)
}

// sums returns the peers' known spend of the campaigns ids, summed as
// publish does. s.mu is held.
func (s *Syncer) sums(ids []string) []decision.CampaignSpend {
	entries := make([]decision.CampaignSpend, 0, len(ids))
	for _, id := range ids {
		var t decision.CampaignSpend
		for _, p := range s.known() {
			if e, ok := p.spend[id]; ok {
				t = addSpend(t, e)
			}
		}
		entries = append(entries, t)
	}
	return entries
}

// addSpend adds one peer's known spend of a campaign, e, to the sum t of
// others' (zero for none): totals add up, and so does each peer's spend
// of the latest day any of them reported.
func addSpend(t, e decision.CampaignSpend) decision.CampaignSpend {
	switch {
	case t.ID == "":
		t = e
	case e.Day > t.Day:
		t.Day, t.Today, t.Total = e.Day, e.Today, t.Total+e.Total
	case e.Day == t.Day:
		t.Today, t.Total = t.Today+e.Today, t.Total+e.Total
	default:
		t.Total += e.Total
	}
	return t
}

// Append appends every peer's known spend to dst, for the spend state
// file: peer count u32, then per peer its URL's length u16, the URL, the
// length u32 of its spend and its spend in AppendSpend's format, sorted
// by campaign id. Little endian.
func (s *Syncer) Append(dst []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendPerPeer(dst, func(dst []byte, p *peer) []byte {
		at := len(dst)
		dst = binary.LittleEndian.AppendUint32(dst, 0)
		dst = appendSpend(dst, p.spend)
		binary.LittleEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
		return dst
	})
}

// appendPerPeer appends the peer count u32 and, per peer, its URL's
// length u16, the URL and what body appends. Call it with s.mu held.
func (s *Syncer) appendPerPeer(dst []byte, body func(dst []byte, p *peer) []byte) []byte {
	known := s.known()
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(known)))
	for _, p := range known {
		dst = binary.LittleEndian.AppendUint16(dst, uint16(len(p.url)))
		dst = append(dst, p.url...)
		dst = body(dst, p)
	}
	return dst
}

// decodePerPeer reads appendPerPeer's output whole: body gets each
// peer's URL and the bytes after it, and returns how many of them are
// that peer's.
func decodePerPeer(b []byte, body func(url string, b []byte) (int, error)) error {
	if len(b) < 4 {
		return errors.New("truncated peer count")
	}
	n := binary.LittleEndian.Uint32(b)
	b = b[4:]
	for i := uint32(0); i < n; i++ {
		if len(b) < 2 || len(b) < 2+int(binary.LittleEndian.Uint16(b)) {
			return fmt.Errorf("peer %d: truncated", i)
		}
		l := int(binary.LittleEndian.Uint16(b))
		url := string(b[2 : 2+l])
		used, err := body(url, b[2+l:])
		if err != nil {
			return fmt.Errorf("peer %d (%s): %w", i, url, err)
		}
		b = b[2+l+used:]
	}
	if len(b) != 0 {
		return fmt.Errorf("%d bytes after the last peer", len(b))
	}
	return nil
}

func appendSpend(dst []byte, m map[string]decision.CampaignSpend) []byte {
	entries := make([]decision.CampaignSpend, 0, len(m))
	for _, e := range m {
		entries = append(entries, e)
	}
	return decision.AppendSpendEntries(dst, entries)
}

// Decode reads Append's output whole: each saved peer's spend by URL.
func Decode(b []byte) (map[string][]decision.CampaignSpend, error) {
	saved := map[string][]decision.CampaignSpend{}
	err := decodePerPeer(b, func(url string, b []byte) (int, error) {
		if len(b) < 4 {
			return 0, errors.New("truncated")
		}
		dl := binary.LittleEndian.Uint32(b)
		if uint64(dl) > uint64(len(b)-4) {
			return 0, fmt.Errorf("%d bytes declared, %d left", dl, len(b)-4)
		}
		entries, err := decision.DecodeSpend(b[4 : 4+dl])
		if err != nil {
			return 0, err
		}
		saved[url] = entries
		return 4 + int(dl), nil
	})
	if err != nil {
		return nil, err
	}
	return saved, nil
}

// maxHostIDLen bounds a peer's host id: config's MaxHostID, with room
// for a later version's longer ones.
const maxHostIDLen = 64

// plausibleHostID reports whether id, a peer's HostHeader, can be a
// bidding.hostID: short and plain, so that the state file, which keeps
// it (see AppendIDs), and the logs can.
func plausibleHostID(id string) bool {
	if len(id) > maxHostIDLen {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// AppendIDs appends the bidding.hostID each peer last answered with, for
// the state file: a restarted host then answers [SeenPath] for a peer it
// has not read again yet, as it does for one it has (a peer that crashed
// with this one, say, and asks before this host reads it).
func (s *Syncer) AppendIDs(dst []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendPerPeer(dst, func(dst []byte, p *peer) []byte {
		dst = binary.LittleEndian.AppendUint16(dst, uint16(len(p.hostID)))
		return append(dst, p.hostID...)
	})
}

// RestoreIDs loads AppendIDs' output into the configured peers, dropping
// those of peers no longer configured, and returns how many it restored.
// It checks the whole input before it changes anything. Call it before
// the peers are read.
func (s *Syncer) RestoreIDs(b []byte) (int, error) {
	return restorePerPeer(s, b, func(b []byte) (string, int, error) {
		if len(b) < 2 || len(b) < 2+int(binary.LittleEndian.Uint16(b)) {
			return "", 0, errors.New("truncated host id")
		}
		l := int(binary.LittleEndian.Uint16(b))
		return string(b[2 : 2+l]), 2 + l, nil
	}, func(p *peer, id string) { p.hostID = id })
}

// restorePerPeer reads appendPerPeer's output whole, each peer's part
// with read (its value and the bytes it used), then hands each
// configured peer's value to apply under s.mu, dropping those of peers
// no longer configured; it returns how many it applied.
func restorePerPeer[T any](s *Syncer, b []byte, read func(b []byte) (T, int, error), apply func(p *peer, v T)) (int, error) {
	saved := map[string]T{}
	err := decodePerPeer(b, func(url string, b []byte) (int, error) {
		v, n, err := read(b)
		saved[url] = v
		return n, err
	})
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	restored := 0
	for _, p := range s.known() {
		if v, ok := saved[p.url]; ok {
			apply(p, v)
			restored++
		}
	}
	return restored, nil
}

// SeenOf appends to dst the spend of the peer with bidding.hostID id as
// this host last read it (none when no peer answered with id), in
// [decision.AppendSpendEntries]' encoding, for [SeenPath].
func (s *Syncer) SeenOf(dst []byte, id string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var entries []decision.CampaignSpend
	for _, p := range s.known() {
		if p.hostID == id {
			for _, e := range p.spend {
				entries = append(entries, e)
			}
		}
	}
	return decision.AppendSpendEntries(dst, entries)
}

// Recover raises this host's own spend to what its peers last read of it
// ([SeenPath], [decision.State.RaiseSpend]): call it at the start, after
// the state file is restored and before the host bills. A crash loses
// the bills of up to state.saveInterval from the spend file, and a
// replaced machine starts without one; the peers' readings, which keep
// the largest spend a host ever served, would otherwise hide the spend
// of its next bills until it passed the lost amount, and the group's
// budgets would be overspent by it. It asks every peer at once, within
// ctx, and returns the number of campaigns raised and the errors of the
// peers that could not answer, joined: a peer that is down or has not
// read this host since its own start has nothing to add.
func (s *Syncer) Recover(ctx context.Context) (int, error) {
	type answer struct {
		entries []decision.CampaignSpend
		err     error
	}
	answers := make([]answer, len(s.peers))
	var wg sync.WaitGroup
	for i, p := range s.peers {
		wg.Go(func() {
			b, _, err := s.getWith(ctx, s.client, p, p.url+SeenPath, nil)
			if err == nil {
				answers[i].entries, err = decision.DecodeSpend(b)
			}
			if err != nil {
				answers[i].err = fmt.Errorf("peer %s: %w", p.url, err)
			}
		})
	}
	wg.Wait()
	var all []decision.CampaignSpend
	var errs []error
	for _, a := range answers {
		all = append(all, a.entries...)
		if a.err != nil {
			errs = append(errs, a.err)
		}
	}
	return s.st.RaiseSpend(all), errors.Join(errs...)
}

// Restore merges Append's output into the known spend of the configured
// peers and hands the sum to the State. A saved peer no longer configured
// is kept as gone (see Syncer.gone), with a log line: dropping it, as
// before, made what it had spent spendable again (the money audit: 20,000
// micro-units of a host taken out of the group, back in the survivors'
// budgets). It returns the number of peers restored and checks the whole
// input before it changes anything.
func (s *Syncer) Restore(b []byte) (int, error) {
	saved, err := Decode(b)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	restored := 0
	for _, p := range s.peers {
		if entries, ok := saved[p.url]; ok {
			mergeSpend(p.spend, entries, s.st.Retirable)
			p.campaigns.Set(float64(len(p.spend)))
			delete(saved, p.url)
			restored++
		}
	}
	for _, url := range slices.Sorted(maps.Keys(saved)) {
		g := &peer{url: url, spend: map[string]decision.CampaignSpend{}}
		mergeSpend(g.spend, saved[url], s.st.Retirable)
		if len(g.spend) == 0 {
			continue
		}
		s.gone = append(s.gone, g)
		slog.Warn("state file holds the spend of a peer no longer in state.peers; it still counts against the budgets", "peer", url, "campaigns", len(g.spend))
	}
	s.mu.Unlock()
	s.publish()
	return restored, nil
}

// known returns the configured peers and the gone ones. s.mu is held.
func (s *Syncer) known() []*peer {
	if len(s.gone) == 0 {
		return s.peers
	}
	return append(s.peers[:len(s.peers):len(s.peers)], s.gone...)
}

// replace keeps the spend p's address answered with for its previous
// host as a gone peer's (see Syncer.gone), named by the address and that
// host id, and starts p afresh for id, the host that answers there now:
// a machine replaced under a new bidding.hostID, without the old one's
// state, whose readings start from its own spend. Merged into the old
// host's, which folds by the larger spend, the new host's spend was
// hidden until it passed the old one, and the group's budgets were
// overspent by it. (A host that kept its state under a new id counts
// twice meanwhile, which stops early rather than overspends; rtbd warns
// of that state file at its start.) s.mu is held.
func (s *Syncer) replace(p *peer, id string) {
	if len(p.spend) > 0 {
		s.gone = append(s.gone, &peer{url: p.url + "#" + p.hostID, hostID: p.hostID, spend: p.spend})
	}
	slog.Warn("another host answers at a peer's address: the spend read from the one before still counts, as a gone peer's",
		"peer", p.url, "hostID", id, "before", p.hostID, "campaigns", len(p.spend))
	p.spend, p.lastReading, p.partial = map[string]decision.CampaignSpend{}, nil, false
	p.campaigns.Set(0)
}

// dropGone forgets the gone peer with host id, if any: a configured peer
// answered with it, the same host at a new address, whose readings hold
// its spend. It reports whether it dropped one. s.mu is held.
func (s *Syncer) dropGone(id string) bool {
	i := slices.IndexFunc(s.gone, func(g *peer) bool { return g.hostID == id })
	if i < 0 {
		return false
	}
	slog.Info("a peer answers with the host id of a gone one: its spend is that peer's", "hostID", id, "gone", s.gone[i].url)
	s.gone = slices.Delete(s.gone, i, i+1)
	return true
}
