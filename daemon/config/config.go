// Package config is rtbd's typed configuration: one JSON file (rendered by
// the NixOS module from services.rtbd.settings) read into [Config], with
// documented defaults and validation that names the offending field.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/rtbd/rtbd/daemon/host/cpuset"
	"github.com/rtbd/rtbd/daemon/jsonkeys"
	"github.com/rtbd/rtbd/daemon/opfile"
)

// Duration is a time.Duration written in JSON as a Go duration string
// ("250ms", "30s").
type Duration time.Duration

// UnmarshalJSON accepts a duration string. Its error is a
// *json.UnmarshalTypeError, which encoding/json completes with the
// field's path, so that the config's error names the field.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	err := json.Unmarshal(b, &s)
	if err == nil {
		var v time.Duration
		if v, err = time.ParseDuration(s); err == nil {
			*d = Duration(v)
			return nil
		}
	}
	return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[Duration]()}
}

// JSONType is how a decoding error names Duration (see jsonkeys.Decode).
func (Duration) JSONType() string { return `a duration string such as "250ms"` }

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Config is the whole daemon configuration. Start from [Default] and
// override; [Load] does exactly that from a file.
type Config struct {
	HTTP      HTTP       `json:"http"`
	Exchanges []Exchange `json:"exchanges"`
	Admin     Admin      `json:"admin"`
	Data      Data       `json:"data"`
	Bidding   Bidding    `json:"bidding"`
	Shedding  Shedding   `json:"shedding"`
	Drain     Drain      `json:"drain"`
	EventLog  EventLog   `json:"eventLog"`
	State     State      `json:"state"`
	Runtime   Runtime    `json:"runtime"`
	Log       Log        `json:"log"`
}

// HTTP configures the bid listener.
type HTTP struct {
	// ListenAddress is the bid listener, host:port. Ignored when systemd
	// passes a socket (LISTEN_FDS). Default ":8080".
	ListenAddress string `json:"listenAddress"`
	// BidPath is the path of the OpenRTB endpoint. Default "/openrtb2/bid".
	BidPath string `json:"bidPath"`
	// BillOnWinBidPaths are more OpenRTB endpoints, like BidPath, for
	// exchanges that send no billing notice: a bid made on one of them
	// is billed at its win notice (its notice URLs carry bo=w, signed),
	// as every bid is with bidding.billOn "win", while the bids made on
	// BidPath follow bidding.billOn. So one rtbd serves exchanges of both
	// kinds, each sent to its path. Each path is an exchange named after
	// it in the metrics; [Exchange] with billOnWin does the same with a
	// name. At most 64 with the exchanges. Default none.
	BillOnWinBidPaths []string `json:"billOnWinBidPaths"`
	// MaxBodyBytes caps a request body after gzip inflation; larger bodies
	// get 413. Default 262144 (Prebid Server's max_request_size).
	MaxBodyBytes int `json:"maxBodyBytes"`
	// GzipMinBytes: responses at least this long are gzipped when the client
	// sends Accept-Encoding: gzip. 0 disables response gzip. Default 1024.
	GzipMinBytes int `json:"gzipMinBytes"`
	// ReadTimeout is the maximum duration for reading a full request,
	// including the body. See also IdleTimeout. Default "2s".
	ReadTimeout Duration `json:"readTimeout"`
	// WriteTimeout is the maximum duration for writing a response. Default "2s".
	WriteTimeout Duration `json:"writeTimeout"`
	// IdleTimeout closes keep-alive connections idle for this long. Default "60s".
	IdleTimeout Duration `json:"idleTimeout"`
	// MaxConns limits concurrent connections, over all the bid
	// listeners (one per core with reusePort, and the HTTPS one), which
	// share it. Past it, up to 1/64 more (16 to 4096) are taken for one
	// request each, served only when it is a win, bill or loss notice
	// (anything else gets 503), so that notices, which carry money, are
	// not refused with bid traffic; beyond those a connection is answered
	// 503 and closed (rtbd_connections_refused_total). Default 65536.
	MaxConns int `json:"maxConns"`
	// ReusePort opens one SO_REUSEPORT listener per GOMAXPROCS. Default false.
	ReusePort bool `json:"reusePort"`
	// WriteBufferBytes is each connection's response buffer. A response
	// that fits leaves in one write(2), one TCP segment on loopback; a CTV
	// pod answer with inline VAST is 5-14 KB. A kept-alive connection holds
	// its buffer while idle, so memory grows by this much per connection.
	// Default 16384; at least 4096.
	WriteBufferBytes int `json:"writeBufferBytes"`
	// TLS serves the bid listener's endpoints (bid paths and notices) over
	// HTTPS too, for exchanges that only call https:// endpoints. Default
	// off.
	TLS TLS `json:"tls"`
}

// TLS is an HTTPS listener (http.tls: the same endpoints as
// http.listenAddress's; admin.tls: the admin listener's; state.peerTLS:
// the peer listener's), on an address of its own, with the certificate
// and key of the PEM files, read at start and again on every reload
// (SIGHUP or POST /admin/reload), so that a renewed certificate is
// served without a restart; a reload that cannot read them keeps
// serving the previous one. TLS 1.2 and 1.3, HTTP/1.1.
type TLS struct {
	// ListenAddress, host:port (e.g. ":8443"); "" disables HTTPS.
	ListenAddress string `json:"listenAddress"`
	// CertFile is the certificate chain, leaf first; KeyFile its private
	// key. Both are required with ListenAddress.
	CertFile string `json:"certFile"`
	KeyFile  string `json:"keyFile"`
}

// Exchange is an OpenRTB endpoint of one exchange's own, beside
// http.bidPath (whose answers are counted as exchange "default"). Its
// requests, answers, no-bid reasons, latency and late answers are
// counted under its name (label exchange="NAME" on
// rtbd_bid_requests_total, rtbd_nobid_total, rtbd_bids_total,
// rtbd_bid_requests_late_total and rtbd_request_duration_seconds), so
// one exchange's timeouts or lost bids show apart from the others'.
type Exchange struct {
	// Name labels the metrics: 1 to 32 of a-z, 0-9, '_' and '-'; not
	// "default" or "unknown". The bids' notice URLs carry it as x, so
	// that their notices are counted as the exchange's too.
	Name string `json:"name"`
	// BidPath is its endpoint, like http.bidPath; one path per exchange.
	BidPath string `json:"bidPath"`
	// BillOnWin bills the bids made here at their win notice, for an
	// exchange that sends no billing notice, as http.billOnWinBidPaths
	// does. Default false: bidding.billOn.
	BillOnWin bool `json:"billOnWin"`
	// NoBidBody overrides bidding.noBidBody for this exchange: true
	// answers its no-bids with 200 and {"id":..,"nbr":N}, false with 204.
	// Absent: bidding.noBidBody.
	NoBidBody *bool `json:"noBidBody"`
	// GDPRRequireConsent overrides bidding.gdprRequireConsent for this
	// exchange's requests. Absent: bidding.gdprRequireConsent.
	GDPRRequireConsent *bool `json:"gdprRequireConsent"`
	// MinToWin asks the exchange for ${AUCTION_MIN_TO_WIN}, the lowest
	// price that would have won, in its bids' notice URLs (&mtw=, about
	// 30 bytes on each of the three). The billing notices that carry it
	// count what was paid above it in rtbd_exchange_overpaid_total
	// {exchange} and the ratio of the two in
	// rtbd_exchange_min_to_win_ratio{exchange}: what first-price shading
	// (bidding.firstPriceShading) leaves on the table. Default false: not
	// every exchange substitutes the macro.
	MinToWin bool `json:"minToWin"`
	// FirstPriceShading overrides bidding.firstPriceShading for this
	// exchange's requests: 0 < factor <= 1. Absent or 0:
	// bidding.firstPriceShading. With AutoShading, the factor bid with
	// until one has been learned.
	FirstPriceShading float64 `json:"firstPriceShading"`
	// AutoShading learns this exchange's first-price shading factor from
	// its auctions instead (needs MinToWin); absent: the factor is fixed.
	AutoShading *AutoShading `json:"autoShading"`
}

// AutoShading learns an exchange's first-price shading factor: the one
// that earns the most surplus, (value - price) x the chance to win, by
// the ${AUCTION_MIN_TO_WIN} of its billing notices. A share of its
// open-auction bids in first-price requests (Explore) goes out
// unshaded, at the bid's full value, and marked so in its notice URLs
// (sx=1): each of them billed says at which factors that auction would
// have been won. Once 200 such bids and 30 of their wins are counted
// (counts fade with a half-life of an hour), the factor is chosen again
// every 32 such wins or 10 s, in steps of 0.01, never below Min
// (rtbd_exchange_shading{exchange}). After 10,000 exploration bids without one such win (the
// exchange does not substitute the minimum to win), it stops exploring
// until a restart (rtbd_exchange_shading_exploring{exchange} 0). Each
// host learns from the notices it receives. With state.dir what it has
// learned is saved with the spend, so a restart goes on from it (faded
// by the time down); without, a restart starts again from
// firstPriceShading. See package shading.
type AutoShading struct {
	// Min is the lowest factor it may choose, in (0, 1]. Default 0.5.
	Min float64 `json:"min"`
	// Explore is the share of the first-price bids sent unshaded, in
	// [0.01, 0.5]: each of them that wins pays its full value. Default
	// 0.05.
	Explore float64 `json:"explore"`
}

// UnmarshalJSON reads an autoShading object over its defaults; unknown
// fields are refused, as in the rest of the file.
func (a *AutoShading) UnmarshalJSON(b []byte) error {
	type plain AutoShading
	p := plain{Min: 0.5, Explore: 0.05}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return err
	}
	*a = AutoShading(p)
	return nil
}

// DefaultExchange names http.bidPath's answers in the metrics, and
// UnknownExchange the notices of bids made on an exchange since removed.
const (
	DefaultExchange = "default"
	UnknownExchange = "unknown"
)

// Endpoints returns every bid endpoint as an exchange, in the order the
// server matches them: http.bidPath's ("default"), the exchanges, then
// each path of http.billOnWinBidPaths, which names itself and bills on
// win. NoBidBody and GDPRRequireConsent are always set: the exchange's,
// or bidding's; FirstPriceShading too, from bidding.firstPriceShading.
func (c *Config) Endpoints() []Exchange {
	body, shade, gdpr := c.Bidding.NoBidBody, c.Bidding.FirstPriceShading, c.Bidding.GDPRRequireConsent
	xs := []Exchange{{Name: DefaultExchange, BidPath: c.HTTP.BidPath, NoBidBody: &body, FirstPriceShading: shade, GDPRRequireConsent: &gdpr}}
	for _, x := range c.Exchanges {
		if x.NoBidBody == nil {
			x.NoBidBody = &body
		}
		if x.GDPRRequireConsent == nil {
			x.GDPRRequireConsent = &gdpr
		}
		if x.FirstPriceShading == 0 {
			x.FirstPriceShading = shade
		}
		xs = append(xs, x)
	}
	for _, p := range c.HTTP.BillOnWinBidPaths {
		xs = append(xs, Exchange{Name: p, BidPath: p, BillOnWin: true, NoBidBody: &body, FirstPriceShading: shade, GDPRRequireConsent: &gdpr})
	}
	return xs
}

// ExchangeNames returns the names of the bid endpoints besides
// http.bidPath's, in the order of [Config.Endpoints].
func (c *Config) ExchangeNames() []string {
	var names []string
	for _, x := range c.Endpoints()[1:] {
		names = append(names, x.Name)
	}
	return names
}

// Admin configures the admin listener (/metrics, /healthz, /readyz, pprof).
type Admin struct {
	// ListenAddress for the admin listener. Keep it on loopback or a
	// management network. Default "127.0.0.1:9090"; "" disables it.
	ListenAddress string `json:"listenAddress"`
	// TokenFile names a file of bearer tokens, one per line (32 to 512
	// characters: `openssl rand -hex 32`), read at start and again on
	// every reload. With it, what changes or costs something asks for
	// "Authorization: Bearer TOKEN", any of them, and answers 401
	// without: POST /admin/reload, POST /admin/heartbeat (so that no one
	// else keeps data.deadman from tripping), /admin/explain and
	// /debug/pprof/. /metrics, /healthz, /readyz and GET
	// /admin/heartbeat stay open, for scrapers and keepalived checks,
	// which send no header. To rotate: add the new token, move the
	// clients to it, drop the old one. Keep the file out of the Nix
	// store: the NixOS module's adminTokenFile passes it as a systemd
	// credential. Empty, the default: nothing is asked for.
	TokenFile string `json:"tokenFile"`
	// MetricsNeedToken has /metrics ask for a token of TokenFile too: it
	// shows every campaign's spend. Prometheus sends one with
	// `authorization: {credentials_file: ...}` in the scrape config.
	// Needs tokenFile.
	MetricsNeedToken bool `json:"metricsNeedToken"`
	// TLS serves the admin listener's endpoints over HTTPS too, on an
	// address of its own, so that tokens, the spend on /metrics and the
	// peers' readings do not cross the management network in clear. Keep
	// listenAddress on loopback for the host's own checks (keepalived,
	// systemd, `curl localhost`), and bind this one to the management
	// network for the scrapers and the control plane. Default off.
	TLS TLS `json:"tls"`
}

// Data names the campaign and model files. Empty paths select the
// embedded demo data set.
type Data struct {
	CampaignsFile string `json:"campaignsFile"`
	ModelFile     string `json:"modelFile"`
	// Deadman is the deadman switch: the longest the daemon bids without
	// a sign of life from its control plane, the system that writes the
	// data files and reloads them. A sign of life is a successful reload
	// (SIGHUP, POST /admin/reload) or POST /admin/heartbeat, which costs
	// nothing. After this long without one, every bid request gets a
	// no-bid (reason "deadman", nbr 1), so that a stale book (a campaign
	// paused or cut since, a budget lowered) stops spending; notices are
	// still counted, and the next sign of life resumes bidding at once.
	// GET /admin/heartbeat answers 503 meanwhile. The control plane must
	// reload or heartbeat more often than this, on every host. A failed
	// reload is no sign of life, nor is the load at start when state.dir
	// holds an earlier one (saved with the spend), so that a restart does
	// not renew the credit. Default 0: off. From 1s to 720h.
	Deadman Duration `json:"deadman"`
}

// Bidding configures the decision and the response.
type Bidding struct {
	// Currency of bid prices. Default "USD".
	Currency string `json:"currency"`
	// Rates converts currencies: units of the currency per 1 USD, e.g.
	// {"EUR": 0.92}. USD is always 1. A request may ask for a bid in any
	// of them; the bid's notices, in its currency, are converted back. A
	// reload that drops a currency keeps its last rate for the notices of
	// the bids still out in it, for 7 days (not across a restart).
	Rates map[string]float64 `json:"rates"`
	// NoticeBaseURL is the absolute URL prefix of nurl, burl and lurl,
	// e.g. "https://bid.example.com/": http or https, without query,
	// ending in '/' (the paths win, bill and loss follow it). Empty
	// disables notice URLs.
	NoticeBaseURL string `json:"noticeBaseURL"`
	// NoticeKeyFile names a file of notice keys, one per line as 32 hex
	// digits (`openssl rand -hex 16`), read at start and again on every
	// reload (SIGHUP or POST /admin/reload). The first signs the
	// notice URLs of every bid ("&sig=", SipHash-2-4 of bid, cid, imp, uk,
	// cur and bp, the bid's price), and each verifies the notices that come back: a notice
	// whose sig none of them made is refused (400, result "forged"), so
	// a notice for a bid never made, or for another campaign or user, does
	// not move spend or caps. Every host that bids or receives the
	// notices needs the same keys. Keep the file out of the Nix store: the
	// NixOS module's noticeKeyFile passes it as a systemd credential.
	// Empty, the default: notices are neither signed nor checked.
	NoticeKeyFile string `json:"noticeKeyFile"`
	// PriceKeysFiles names, by exchange, the files of the price keys of
	// the exchanges that put ${AUCTION_PRICE} in notices encrypted, by
	// the scheme of Google's Authorized Buyers (see notice.PriceKeys):
	// the encryption key, then the integrity key, one per line in
	// web-safe base64, read at start and on every reload. An exchange is
	// named as in the metrics: an exchanges[].name, "default" for
	// http.bidPath, or a path of http.billOnWinBidPaths. Its notices'
	// prices that are not
	// decimals are decrypted (micros per impression, 1,000 a CPM of 1),
	// and refused (400, result "forged") when their integrity signature
	// fails. Keep the files out of the Nix store: the NixOS module's
	// priceKeyFiles passes them as systemd credentials.
	PriceKeysFiles map[string]string `json:"priceKeysFiles"`
	// RequireSignedNotices refuses notices without sig too. Without it
	// they are processed and counted in rtbd_notices_unsigned_total: set
	// it once that stays at zero after keys were rolled out (notices can
	// come a day after their bid).
	RequireSignedNotices bool `json:"requireSignedNotices"`
	// DefaultTmax applies when a request has no tmax. Default "100ms".
	DefaultTmax Duration `json:"defaultTmax"`
	// MinTimeLeft: a request whose tmax leaves less than this after arrival
	// gets a fast no-bid (nbr 15 when bodies are on). Default "5ms".
	MinTimeLeft Duration `json:"minTimeLeft"`
	// NoBidBody answers no-bids with 200 and {"id":..,"nbr":N} instead of 204.
	NoBidBody bool `json:"noBidBody"`
	// GDPRRequireConsent answers a request under GDPR (regs.gdpr 1) that
	// has no TCF string, or one that does not decode, with a no-bid (nbr
	// 0, reason no_consent), as Prebid Server's GDPR enforcement does,
	// instead of a contextual bid without personal data. Default false.
	GDPRRequireConsent bool `json:"gdprRequireConsent"`
	// HostID is a short id unique per host, embedded in bid ids: at most
	// [MaxHostID] letters, digits, '.', '_' and '-'. Default derived from
	// the hostname: itself up to 16 bytes, else its first 11 and a hash
	// of the whole, so that hosts named alike get distinct ids.
	HostID string `json:"hostID"`
	// FreqCapSlots is the size of the frequency-cap table (entries, rounded
	// up to a power of two). Default 1048576.
	FreqCapSlots int `json:"freqCapSlots"`
	// NoticeDedupeSlots sizes the table that makes win and billing notices
	// idempotent per bid id (entries, rounded up to a power of two, 16
	// bytes each). When it is full (entries live 48 h, so under steady
	// traffic it is) an old entry goes, and a replay of an evicted notice
	// is processed again (a billing notice bills twice);
	// rtbd_notice_dedupe_evictions_total counts evictions. It remembers
	// 99.5 % of the notices half its size of notices ago, not all of
	// them a whole table ago: size it to at least 2 x (win + billing
	// notices per second) x the longest replay delay of the exchanges.
	// Default 4194304 (64 MiB): 3.5 minutes at 10k notices per second, 35
	// at 1k. With state.peers the table also holds the
	// peers' billing notices: count the whole group's. Loss notices,
	// which move no money, have a table of their own a quarter its size
	// (rtbd_notice_loss_dedupe_evictions_total), so that however many
	// come they push no bill out.
	NoticeDedupeSlots int `json:"noticeDedupeSlots"`
	// BillOn is the notice that moves spend: "bill" (the default), the
	// billing notice (burl), or "win", the win notice (nurl), for an
	// exchange that sends no billing notice (without it, such an
	// exchange's spend would never be counted). With "win" a burl that
	// comes after all is a duplicate. The setting is the host's; an
	// exchange that sends no billing notice to a host that serves others
	// that do gets an endpoint of http.billOnWinBidPaths instead.
	BillOn string `json:"billOn"`
	// WinReservation is how long a won bid's price counts against its
	// campaign's budgets and pacing before its billing notice comes in.
	// Spend moves on billing notices, which for video come when the ad
	// plays, seconds to minutes after the win notice: without a
	// reservation, a campaign at the end of its budget keeps winning
	// until its bills arrive, and spends past the budget. The billing
	// notice releases the reservation (also one another host of
	// state.peers processed); one never billed (the ad did not play)
	// expires after this long. With reservations, a win also counts its
	// impression in the user's frequency cap, and its bill does not count
	// it again. The peers of state.peers reserve each win too (it comes
	// with the billing notices they read), so that one taking over this
	// host's address goes on counting its wins in flight; state.dir keeps
	// them with the tables (saved every state.tablesInterval and at
	// stop). Hosts that share budgets should use the same value. Whole
	// seconds; "0s" turns reservations off. Default "5m".
	WinReservation Duration `json:"winReservation"`
	// WinReservationSlots bounds the reservations (rounded up to a power
	// of two, 64 bytes each; a billed one keeps its slot until the older
	// ones end). When they are all in use, the oldest is released early
	// and counted in rtbd_win_reservations_ended_total{how="evicted"}:
	// size it to win notices per second x winReservation. Default 524288
	// (32 MiB): 29 minutes at 300 wins per second, 5 minutes at 1,700.
	// As many wins whose reservation ended unbilled are remembered, so
	// that a late bill does not count the user's cap again.
	WinReservationSlots int `json:"winReservationSlots"`
	// GDPRVendorID is the operator's IAB Global Vendor List id (1 to
	// 65535): with it, a TCF consent string must also grant this vendor
	// consent (or legitimate interest, for purpose 2). 0, the default,
	// checks the purposes only.
	GDPRVendorID int `json:"gdprVendorID"`
	// FirstPriceShading scales bids in first-price auctions (request or
	// deal "at" 1), where the winner pays its own bid: a bid of value x
	// score becomes that times the factor, never below the floor it
	// cleared. In second-price auctions ("at" 2) the bid is the value, and
	// a fixed-price deal ("at" 3) is bid at its floor, the agreed price.
	// 0 < factor <= 1; default 1 (no shading).
	FirstPriceShading float64 `json:"firstPriceShading"`
	// OpenBesideDeal: on an imp with deals whose auction is not private
	// (pmp.private_auction 0), bid the best open-auction ad beside the
	// best deal ad, from another campaign (OpenRTB's "M+N" bidding), so
	// that the open bid still competes when the exchange cannot take the
	// deal bid. false bids the single best of either. Default true.
	OpenBesideDeal bool `json:"openBesideDeal"`
	// BlockUnknownCategories: where a request blocks categories (bcat),
	// a campaign with none in the request's taxonomy (cattax, 1 when
	// absent: the campaign's cat, else its categories of that cattax)
	// does not bid, since its ad may be in a blocked category. false
	// bids it, with its categories of another taxonomy and their
	// bid.cattax, and leaves the check to the exchange. Default false.
	BlockUnknownCategories bool `json:"blockUnknownCategories"`
	// TransactionWindow deduplicates opportunities that arrive by
	// several paths: the same ad break, say, resold by two exchanges,
	// each request with the supply chain's common transaction id
	// (source.tid). After this host bids on a transaction id at one bid
	// endpoint (http.bidPath, an exchanges[] bidPath or a
	// http.billOnWinBidPaths path: one path each), a request with the
	// same id at another endpoint within this window gets a no-bid
	// (reason "duplicate"), so that the host does not compete against
	// itself, pay twice for one break or count a user's cap twice. The
	// endpoint that bid may bid on the id again: an exchange repeating
	// an id is no other path, and some reuse ids (a constant, one id for
	// the slots of a pod sent as several requests). The first path to
	// get a bid keeps the opportunity; one that got no bid (a higher
	// floor, a blocked category) takes nothing from the others. Requests
	// whose source.ext.tidt is 2 (an id not unique across the supply
	// chain) and requests without source.tid are never deduplicated. The
	// memory is this host's own: hosts sharing an address (keepalived)
	// see every path, hosts behind a load balancer each see some.
	// Between 10ms and 1h, or 0 (off, the default).
	TransactionWindow Duration `json:"transactionWindow"`
	// TransactionSlots sizes the table of recent transaction ids
	// (entries, rounded up to a power of two, 8 bytes each). An id has
	// one bucket of four entries, where a new id pushes out the oldest,
	// and an id pushed out within its window can be bid on again
	// (rtbd_transaction_evictions_total counts those). With eight times
	// bids per second x transactionWindow entries, 0.2 % of ids are
	// pushed out early; with four times, 2 %; with sixteen, 0.006 %.
	// Default 262144 (2 MiB): 2 s at 16k bids per second.
	TransactionSlots int `json:"transactionSlots"`
}

// Shedding configures admission control.
type Shedding struct {
	// MaxInFlight is ignored, kept so that configuration files that set it
	// still load (with a warning). It shed requests when more than this
	// many were being handled at once, 4096 by default; but a handler
	// never waits, so no more than about GOMAXPROCS ever are, and the
	// bound never fired, even at 1.3x rtbd's capacity over 1,000
	// connections. Requests that wait do so in the kernel's sockets and
	// the Go run queue, which MaxQueueAge measures; http.maxConns bounds
	// the connections, each with at most one request in flight.
	MaxInFlight int `json:"maxInFlight"`
	// MaxQueueAge answers at once when requests wait longer than this
	// between arriving and being handled, in the kernel's socket and in the
	// Go run queue (see stats.QueueProbe). Default "20ms".
	MaxQueueAge Duration `json:"maxQueueAge"`
	// Status is 204 (no bid, default) or 503.
	Status int `json:"status"`
}

// Drain configures SIGTERM handling.
type Drain struct {
	// Delay is how long the daemon keeps serving with /readyz false before it
	// stops accepting, so VRRP or a load balancer moves traffic. Default "3s":
	// keepalived runs vrrp_script checks at whole-second intervals, so a
	// failing /readyz takes up to 1 s to release the address and the
	// clients' ARP caches up to another second to follow.
	Delay Duration `json:"delay"`
	// Timeout bounds waiting for in-flight requests after that. Default "5s";
	// it must be positive: with none, requests in flight at the stop would
	// be cut off.
	Timeout Duration `json:"timeout"`
}

// EventLog configures the append-only event log.
type EventLog struct {
	// Dir holds the zstd segments. Empty disables the event log.
	Dir string `json:"dir"`
	// SegmentBytes rotates a segment at this compressed size. Default 64 MiB.
	SegmentBytes int64 `json:"segmentBytes"`
	// SegmentAge rotates a segment at this age. Default "10m".
	SegmentAge Duration `json:"segmentAge"`
	// RetainBytes deletes the oldest segments above this total. Default 4 GiB.
	RetainBytes int64 `json:"retainBytes"`
	// RingSize is the number of records buffered before drops, 392 bytes
	// each. Default 65536 (24.5 MiB).
	RingSize int `json:"ringSize"`
	// FlushInterval bounds how long a record waits before it is on disk.
	// Default "1s".
	FlushInterval Duration `json:"flushInterval"`
}

// State configures the state files that keep spend per campaign, the
// frequency-cap table and the notice dedupe table across restarts.
type State struct {
	// Dir holds the state files: "spend" (spend per campaign) and
	// "tables" (frequency caps and processed notices). It is created when
	// missing. The daemon restores from them at start, saves them every
	// SaveInterval and TablesInterval, and once more after draining on
	// SIGTERM. Missing files are a first start; a damaged one stops the
	// start with an error naming it, and so does a Dir that another rtbd
	// holds (a lock file). Empty, the default, keeps nothing: a restart
	// starts every budget and cap from zero.
	Dir string `json:"dir"`
	// SaveInterval bounds the spend a crash (kill -9, power loss)
	// forgets: at most this long's. A planned stop saves everything.
	// Each save writes about 90 bytes per campaign that has spent.
	// Default "5s"; at least "100ms".
	SaveInterval Duration `json:"saveInterval"`
	// TablesInterval is the same bound for frequency caps and the notice
	// dedupe table, which are larger: up to 16 bytes per slot of
	// bidding.freqCapSlots and bidding.noticeDedupeSlots (80 MiB with the
	// defaults, when full). The billing and win notices processed since
	// the last save of the tables are saved with the spend (up to
	// 524,288, 16 bytes each), so that after a crash a replayed notice
	// whose spend was saved is a duplicate, not a second charge, and a
	// replayed win reserves and logs nothing twice. Default "1m";
	// at least "1s".
	TablesInterval Duration `json:"tablesInterval"`
	// Peers are the other hosts that share this one's budgets: a VRRP
	// pair, or a fleet behind one exchange endpoint. Each is the base URL
	// ("http://10.0.0.2:9091") of a peer's PeerListenAddress (or of its
	// admin listener, which serves the same path), or https:// and its
	// PeerTLS.ListenAddress ("https://10.0.0.2:9092"). Every PeerInterval
	// the daemon reads each peer's own spend (GET /state/spend) and counts
	// it against the daily and total budgets with its own, so a failover
	// does not start the backup's budgets from what it alone spent. A
	// peer that cannot be read keeps its last reading, which state.dir
	// keeps across restarts. The billing notices each peer processes
	// (GET /state/bills) are followed as they come, each within about a
	// round trip, into the notice dedupe table, the frequency caps and
	// the budgets (each notice carries its campaign's spend there).
	// Empty, the
	// default: budgets, caps and notice dedupe are per host.
	Peers []string `json:"peers"`
	// PeerListenAddress serves GET /state/spend, this host's own spend,
	// GET /state/bills, its billing notices, and GET /state/ready, whether
	// it takes bid traffic, to its peers, and nothing else. Empty, the
	// default, serves them on the admin listener only. Bind it to the
	// network the peers reach this host on; the figures are read-only but
	// commercial.
	PeerListenAddress string `json:"peerListenAddress"`
	// PeerTokenFile names a file of bearer tokens, one per line (32 to
	// 512 characters: `openssl rand -hex 32`), read at start and again
	// on every reload. This host sends the first to its peers
	// ("Authorization: Bearer TOKEN"), and GET /state/spend and
	// /state/bills answer 401 to a request without one of them, on the
	// peer and the admin listener: no one else reads the spend and
	// billing notices. Every host of state.peers needs the same file. To
	// rotate: add the new token second on every host, then move it
	// first, then drop the old one, reloading every host after each
	// step. Keep the file out of the Nix store: the NixOS module's
	// peerTokenFile passes it as a systemd credential. Empty, the
	// default: the state is served to anyone who asks.
	PeerTokenFile string `json:"peerTokenFile"`
	// AcceptPeersWithoutToken still serves the requests that carry no
	// token, while peerTokenFile is rolled out: set it on every host with
	// the file until every host has it (rtbd_peer_reads_without_token_total
	// stops growing), then drop it. A wrong token is refused all the
	// same. Needs peerTokenFile.
	AcceptPeersWithoutToken bool `json:"acceptPeersWithoutToken"`
	// PeerTLS serves the peer listener's paths over HTTPS too, and names
	// the certificate authorities that https:// peers must chain to, so
	// that the spend, the billing notices and the peer token do not
	// cross the network in clear, and no one between the hosts can feed
	// this one made-up spend. Default off.
	PeerTLS PeerTLS `json:"peerTLS"`
	// PeerInterval is how often the peers are read, and the timeout of
	// each reading. Default "1s"; at least "100ms".
	PeerInterval Duration `json:"peerInterval"`
	// RetireAfterDays retires a campaign that no book has had, and that
	// neither this host nor a peer billed, for more than this many UTC
	// days: its spend is no longer kept, saved or served to peers, and
	// what a peer or the state file still holds of it is ignored. A
	// campaign a book brings back after that starts from zero spend, so
	// set it longer than the longest pause of a campaign with a total
	// budget, and the same on every host of state.peers. 0 keeps every
	// campaign forever; each costs a few hundred bytes of memory and 41
	// bytes of every save and every peer's reading, and peers refuse a
	// reading of more than about 1.6 million. Default 30.
	RetireAfterDays int `json:"retireAfterDays"`
}

// PeerTLS is the peers' HTTPS. To move a group of hosts to it without
// a gap in the sharing: give every host a listenAddress (its plain
// peerListenAddress still serves), then list the peers as
// https://HOST:PORT on every host, then drop peerListenAddress.
type PeerTLS struct {
	// TLS's listenAddress serves GET /state/spend and /state/bills over
	// HTTPS, as state.peerListenAddress does over HTTP (e.g. ":9092"),
	// with the certificate of certFile and keyFile, which must name the
	// host or address the peers list this host by
	// (rtbd_tls_certificate_expiry_timestamp_seconds{listener="peer"}).
	TLS
	// CAFile holds the PEM certificates that the https:// peers of
	// state.peers must chain to: a private CA's, or each peer's own if
	// they are self-signed. Read at start and again on every reload.
	// Empty: the system's roots.
	CAFile string `json:"caFile"`
}

// Runtime configures the Go runtime and CPU placement.
type Runtime struct {
	// CPUs is a CPU list in the kernel's form ("2-3,6", no spaces) the
	// daemon pins itself to at start; its size becomes GOMAXPROCS. Every CPU must be online and allowed to the
	// process (its cgroup's cpuset, systemd's AllowedCPUs), else the start
	// fails naming the others. Empty keeps the inherited affinity.
	CPUs string `json:"cpus"`
	// GOGC for the daemon. Default 200: the heap is small and mostly pooled,
	// so fewer collections cost little memory. See https://tip.golang.org/doc/gc-guide
	GOGC int `json:"gogc"`
	// QuietSysmon re-executes the daemon at start with GODEBUG's
	// schedtrace set, which keeps the Go runtime's monitor thread from
	// waking every 20 us after each idle moment: 7 % less CPU per request
	// and a lower median at 30k req/s on one core (see host.QuietSysmon).
	// Skipped when GODEBUG already sets schedtrace. Default true.
	QuietSysmon bool `json:"quietSysmon"`
}

// Log configures structured logging.
type Log struct {
	// Level is "debug", "info", "warn" or "error". Default "info".
	Level string `json:"level"`
	// Format is "text" or "json". Default "text".
	Format string `json:"format"`
}

// Default returns the configuration used when no file is given.
func Default() Config {
	return Config{
		HTTP: HTTP{
			ListenAddress: ":8080",
			BidPath:       "/openrtb2/bid",
			MaxBodyBytes:  256 << 10,
			GzipMinBytes:  1024,
			ReadTimeout:   Duration(2 * time.Second),
			WriteTimeout:  Duration(2 * time.Second),
			IdleTimeout:   Duration(60 * time.Second),
			MaxConns:      65536,
			// Enough for a CTV pod answer in one write.
			WriteBufferBytes: 16 << 10,
		},
		Admin: Admin{ListenAddress: "127.0.0.1:9090"},
		Bidding: Bidding{
			Currency:            "USD",
			DefaultTmax:         Duration(100 * time.Millisecond),
			MinTimeLeft:         Duration(5 * time.Millisecond),
			FreqCapSlots:        1 << 20,
			NoticeDedupeSlots:   1 << 22,
			BillOn:              "bill",
			WinReservation:      Duration(5 * time.Minute),
			WinReservationSlots: 1 << 19,
			FirstPriceShading:   1,
			OpenBesideDeal:      true,
			TransactionSlots:    1 << 18,
		},
		Shedding: Shedding{MaxQueueAge: Duration(20 * time.Millisecond), Status: 204},
		Drain:    Drain{Delay: Duration(3 * time.Second), Timeout: Duration(5 * time.Second)},
		EventLog: EventLog{
			SegmentBytes:  64 << 20,
			SegmentAge:    Duration(10 * time.Minute),
			RetainBytes:   4 << 30,
			RingSize:      65536,
			FlushInterval: Duration(time.Second),
		},
		State: State{
			SaveInterval: Duration(5 * time.Second), TablesInterval: Duration(time.Minute), PeerInterval: Duration(time.Second),
			RetireAfterDays: 30,
		},
		Runtime: Runtime{GOGC: 200, QuietSysmon: true},
		Log:     Log{Level: "info", Format: "text"},
	}
}

// Load reads the JSON file at path over [Default] and validates it.
// Unknown fields are errors, so a typo in a NixOS setting fails the build's
// dry run instead of being ignored.
func Load(path string) (Config, error) {
	b, _, err := opfile.Read(path, 16<<20)
	if err != nil {
		return Config{}, fmt.Errorf("cannot read config: %w", err)
	}
	return Parse(b)
}

// Parse decodes b over [Default] and validates the result.
func Parse(b []byte) (Config, error) {
	c := Default()
	if err := jsonkeys.Decode(b, &c); err != nil {
		return Config{}, fmt.Errorf("cannot parse config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// MaxHostID is the longest bidding.hostID. A bid id is the host id and 27
// bytes ("-", 8 hex digits of the Unix time, "-", 16 of a sequence, "t"
// for a test request), and the event log keeps 48 bytes of it
// (eventlog.MaxBidID): a longer host id would cut the ids the log
// records, so that no notice would match its bid, and test bids' notices
// would count as spend in `rtbd log stats`.
const MaxHostID = 21

// checkHostID checks bidding.hostID; empty is the default (set later from
// the hostname). It goes into peers' headers as it is, and into every
// notice URL, where any other byte would be escaped (longer URLs).
func checkHostID(id string) error {
	if len(id) > MaxHostID {
		return fmt.Errorf("invalid config: bidding.hostID %q has %d bytes: at most %d fit in the bid ids the event log keeps", id, len(id), MaxHostID)
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("invalid config: bidding.hostID %q: want letters, digits, '.', '_' and '-' only", id)
		}
	}
	return nil
}

// Validate checks every field and returns the first problem, naming it.
func (c *Config) Validate() error {
	if err := checkAddr("http.listenAddress", c.HTTP.ListenAddress, false); err != nil {
		return err
	}
	if err := checkAddr("admin.listenAddress", c.Admin.ListenAddress, true); err != nil {
		return err
	}
	if c.Admin.MetricsNeedToken && c.Admin.TokenFile == "" {
		return errors.New("invalid config: admin.metricsNeedToken needs admin.tokenFile")
	}
	if err := c.HTTP.TLS.check("http.tls"); err != nil {
		return err
	}
	if err := c.Admin.TLS.check("admin.tls"); err != nil {
		return err
	}
	if err := checkBidPaths(c.HTTP.BidPath, c.HTTP.BillOnWinBidPaths, c.Exchanges); err != nil {
		return err
	}
	if c.HTTP.WriteBufferBytes < 4096 || c.HTTP.WriteBufferBytes > 1<<20 {
		return fmt.Errorf("invalid config: http.writeBufferBytes %d must be in [4096, 1048576]", c.HTTP.WriteBufferBytes)
	}
	if c.HTTP.MaxBodyBytes < 1024 || c.HTTP.MaxBodyBytes > 64<<20 {
		return fmt.Errorf("invalid config: http.maxBodyBytes %d must be in [1024, 67108864]", c.HTTP.MaxBodyBytes)
	}
	for name, d := range map[string]Duration{
		"http.readTimeout": c.HTTP.ReadTimeout, "http.writeTimeout": c.HTTP.WriteTimeout,
		"http.idleTimeout": c.HTTP.IdleTimeout, "bidding.defaultTmax": c.Bidding.DefaultTmax,
	} {
		if d <= 0 {
			return fmt.Errorf("invalid config: %s must be positive", name)
		}
	}
	if len(c.Bidding.Currency) != 3 {
		return fmt.Errorf("invalid config: bidding.currency %q must be an ISO-4217 code", c.Bidding.Currency)
	}
	for cur, r := range c.Bidding.Rates {
		if len(cur) != 3 || !(r > 0) || r > 1e6 {
			return fmt.Errorf("invalid config: bidding.rates[%q] = %v: want a 3-letter code and a rate in (0, 1e6]", cur, r)
		}
	}
	if c.Bidding.Currency != "USD" && c.Bidding.Rates[c.Bidding.Currency] == 0 {
		return fmt.Errorf("invalid config: bidding.currency %q has no entry in bidding.rates", c.Bidding.Currency)
	}
	if !(c.Bidding.FirstPriceShading > 0 && c.Bidding.FirstPriceShading <= 1) {
		return fmt.Errorf("invalid config: bidding.firstPriceShading %g must be in (0, 1]", c.Bidding.FirstPriceShading)
	}
	if c.Bidding.GDPRVendorID < 0 || c.Bidding.GDPRVendorID > 65535 {
		return fmt.Errorf("invalid config: bidding.gdprVendorID %d must be a vendor id from 1 to 65535, or 0 for none", c.Bidding.GDPRVendorID)
	}
	if c.Shedding.Status != 204 && c.Shedding.Status != 503 {
		return fmt.Errorf("invalid config: shedding.status %d must be 204 or 503", c.Shedding.Status)
	}
	if c.Bidding.NoticeDedupeSlots < 0 || c.Bidding.NoticeDedupeSlots > maxDedupeSlots {
		return fmt.Errorf("invalid config: bidding.noticeDedupeSlots %d must be from 0 (the default) to %d", c.Bidding.NoticeDedupeSlots, maxDedupeSlots)
	}
	if c.Bidding.BillOn != "bill" && c.Bidding.BillOn != "win" {
		return fmt.Errorf("invalid config: bidding.billOn %q must be \"bill\" or \"win\"", c.Bidding.BillOn)
	}
	if r := c.Bidding.WinReservation; r < 0 || r > Duration(48*time.Hour) || r%Duration(time.Second) != 0 {
		return fmt.Errorf("invalid config: bidding.winReservation %s must be whole seconds from 0s (off) to 48h", r.D())
	}
	if c.Bidding.WinReservationSlots < 1 || c.Bidding.WinReservationSlots > maxReservationSlots {
		return fmt.Errorf("invalid config: bidding.winReservationSlots %d must be from 1 to %d", c.Bidding.WinReservationSlots, maxReservationSlots)
	}
	if w := c.Bidding.TransactionWindow; w != 0 && (w < Duration(10*time.Millisecond) || w > Duration(time.Hour)) {
		return fmt.Errorf("invalid config: bidding.transactionWindow %s must be from 10ms to 1h, or 0 (off)", w.D())
	}
	if n := c.Bidding.TransactionSlots; n < 1 || n > maxTransactionSlots {
		return fmt.Errorf("invalid config: bidding.transactionSlots %d must be from 1 to %d", n, maxTransactionSlots)
	}
	if c.Shedding.MaxInFlight < 0 || c.Bidding.FreqCapSlots < 0 || c.EventLog.RingSize < 0 {
		return errors.New("invalid config: shedding.maxInFlight, bidding.freqCapSlots and eventLog.ringSize must not be negative")
	}
	if c.Bidding.FreqCapSlots > maxFreqCapSlots {
		return fmt.Errorf("invalid config: bidding.freqCapSlots %d must be at most %d", c.Bidding.FreqCapSlots, maxFreqCapSlots)
	}
	if c.EventLog.RingSize > maxRingSize {
		return fmt.Errorf("invalid config: eventLog.ringSize %d must be at most %d", c.EventLog.RingSize, maxRingSize)
	}
	if err := checkNoticeBase(c.Bidding.NoticeBaseURL); err != nil {
		return err
	}
	if c.Shedding.MaxQueueAge <= 0 {
		return fmt.Errorf("invalid config: shedding.maxQueueAge %s must be positive: requests that waited longer are shed", c.Shedding.MaxQueueAge.D())
	}
	if c.Bidding.MinTimeLeft < 0 || c.Bidding.MinTimeLeft >= c.Bidding.DefaultTmax {
		return fmt.Errorf("invalid config: bidding.minTimeLeft %s must be from 0 to less than bidding.defaultTmax %s", c.Bidding.MinTimeLeft.D(), c.Bidding.DefaultTmax.D())
	}
	if c.HTTP.MaxConns < 0 {
		return fmt.Errorf("invalid config: http.maxConns %d must not be negative", c.HTTP.MaxConns)
	}
	if c.Runtime.GOGC < 0 {
		return fmt.Errorf("invalid config: runtime.gogc %d must not be negative: the heap would grow without bound", c.Runtime.GOGC)
	}
	// Checked here, not only at the pin, so that -dryRun (the NixOS
	// module's build-time check) refuses what the start would.
	if _, err := cpuset.ParseCPUList(c.Runtime.CPUs); err != nil {
		return fmt.Errorf("invalid config: runtime.cpus: %w", err)
	}
	if c.State.SaveInterval < Duration(100*time.Millisecond) {
		return fmt.Errorf("invalid config: state.saveInterval %s must be at least 100ms", c.State.SaveInterval.D())
	}
	if c.State.TablesInterval < Duration(time.Second) {
		return fmt.Errorf("invalid config: state.tablesInterval %s must be at least 1s", c.State.TablesInterval.D())
	}
	if err := c.State.checkPeers(); err != nil {
		return err
	}
	if err := checkHostID(c.Bidding.HostID); err != nil {
		return err
	}
	if c.Bidding.RequireSignedNotices && c.Bidding.NoticeKeyFile == "" {
		return errors.New("invalid config: bidding.requireSignedNotices needs bidding.noticeKeyFile")
	}
	names := append([]string{DefaultExchange}, c.ExchangeNames()...)
	for _, name := range slices.Sorted(maps.Keys(c.Bidding.PriceKeysFiles)) {
		if !slices.Contains(names, name) {
			return fmt.Errorf("invalid config: bidding.priceKeysFiles: %q is not an exchange (%s)", name, strings.Join(names, ", "))
		}
		if c.Bidding.PriceKeysFiles[name] == "" {
			return fmt.Errorf("invalid config: bidding.priceKeysFiles: %q has no file", name)
		}
	}
	if d := c.Data.Deadman; d != 0 && (d < Duration(time.Second) || d > Duration(720*time.Hour)) {
		return fmt.Errorf("invalid config: data.deadman %s must be from 1s to 720h, or 0 (off)", d.D())
	}
	if c.State.RetireAfterDays < 0 || c.State.RetireAfterDays > maxRetireDays {
		return fmt.Errorf("invalid config: state.retireAfterDays %d must be from 0 (never) to %d", c.State.RetireAfterDays, maxRetireDays)
	}
	if c.Drain.Delay < 0 {
		return fmt.Errorf("invalid config: drain.delay %s must not be negative", c.Drain.Delay.D())
	}
	if c.Drain.Timeout <= 0 {
		return fmt.Errorf("invalid config: drain.timeout %s must be positive: it is how long requests in flight at a stop get to finish", c.Drain.Timeout.D())
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("invalid config: log.level %q must be debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		return fmt.Errorf("invalid config: log.format %q must be text or json", c.Log.Format)
	}
	return nil
}

// maxFreqCapSlots bounds the frequency-cap table at 16 GiB, and
// maxRingSize the event log's ring at 3 GiB: larger is a typo.
const (
	maxFreqCapSlots = 1 << 30
	maxRingSize     = 1 << 23
)

// checkNoticeBase checks bidding.noticeBaseURL, which the notice paths
// (win, bill, loss) are appended to: empty, or an absolute http(s) URL
// without query or fragment, ending in '/'.
func checkNoticeBase(base string) error {
	if base == "" {
		return nil
	}
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || !strings.HasSuffix(base, "/") {
		return fmt.Errorf("invalid config: bidding.noticeBaseURL %q must be an absolute http:// or https:// URL without query, ending in '/' (the notice paths follow it), e.g. \"https://bid.example.com/\"", base)
	}
	return nil
}

// maxRetireDays is a century: longer is a typo for 0.
const maxRetireDays = 36500

// maxDedupeSlots bounds the notice dedupe table at 16 GiB.
const maxDedupeSlots = 1 << 30

// maxReservationSlots bounds the win reservations at about 4 GiB.
const maxReservationSlots = 1 << 26

// maxTransactionSlots bounds the transaction id table at 1 GiB.
const maxTransactionSlots = 1 << 27

// checkPeers validates state.peers, state.peerListenAddress,
// state.peerTLS and state.peerInterval.
func (s *State) checkPeers() error {
	if err := checkAddr("state.peerListenAddress", s.PeerListenAddress, true); err != nil {
		return err
	}
	if s.AcceptPeersWithoutToken && s.PeerTokenFile == "" {
		return errors.New("invalid config: state.acceptPeersWithoutToken needs state.peerTokenFile")
	}
	if err := s.PeerTLS.TLS.check("state.peerTLS"); err != nil {
		return err
	}
	if s.PeerInterval < Duration(100*time.Millisecond) {
		return fmt.Errorf("invalid config: state.peerInterval %s must be at least 100ms", s.PeerInterval.D())
	}
	seen := map[string]bool{}
	for _, p := range s.Peers {
		u, err := url.Parse(p)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return fmt.Errorf("invalid config: state.peers: %q must be http://HOST:PORT (a peer's state.peerListenAddress or admin.listenAddress) or https://HOST:PORT (its state.peerTLS.listenAddress)", p)
		}
		h := strings.ToLower(u.Host) // host names are case-insensitive
		if seen[h] {
			return fmt.Errorf("invalid config: state.peers: %s is listed twice, which would count its spend twice", u.Host)
		}
		seen[h] = true
	}
	return nil
}

// check validates the HTTPS listener of the settings at prefix: its
// address, and the address, certificate and key all set or none.
func (t TLS) check(prefix string) error {
	if err := checkAddr(prefix+".listenAddress", t.ListenAddress, true); err != nil {
		return err
	}
	if (t.ListenAddress != "") != (t.CertFile != "" && t.KeyFile != "") || (t.CertFile == "") != (t.KeyFile == "") {
		return fmt.Errorf("invalid config: %[1]s.listenAddress, %[1]s.certFile and %[1]s.keyFile go together (HTTPS needs all three)", prefix)
	}
	return nil
}

func checkAddr(name, addr string, emptyOK bool) error {
	if addr == "" && emptyOK {
		return nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("invalid config: %s %q: %w", name, addr, err)
	}
	return nil
}

// checkBidPaths checks http.bidPath, http.billOnWinBidPaths and the
// exchanges: each a path of its own that the notices do not take, each
// exchange a name of its own.
func checkBidPaths(bidPath string, paths []string, exchanges []Exchange) error {
	if len(bidPath) == 0 || bidPath[0] != '/' {
		return fmt.Errorf("invalid config: http.bidPath %q must start with /", bidPath)
	}
	if isNoticePath(bidPath) {
		return fmt.Errorf("invalid config: http.bidPath %q ends in a notice endpoint (win, bill, loss)", bidPath)
	}
	if n := len(paths) + len(exchanges); n > 64 {
		return fmt.Errorf("invalid config: http.billOnWinBidPaths and exchanges have %d paths; at most 64", n)
	}
	seen := map[string]bool{bidPath: true}
	check := func(field, p string) error {
		switch {
		case len(p) == 0 || p[0] != '/':
			return fmt.Errorf("invalid config: %s: %q must start with /", field, p)
		case len(p) > 128:
			return fmt.Errorf("invalid config: %s: %q is longer than 128 bytes", field, p)
		case seen[p]:
			return fmt.Errorf("invalid config: %s: %q is listed twice or is http.bidPath", field, p)
		case isNoticePath(p):
			return fmt.Errorf("invalid config: %s: %q ends in a notice endpoint (win, bill, loss)", field, p)
		case !plainPath(p):
			return fmt.Errorf("invalid config: %s: %q must be a plain URL path: printable ASCII without space, quote, backslash, ? or #", field, p)
		}
		seen[p] = true
		return nil
	}
	for _, p := range paths {
		if err := check("http.billOnWinBidPaths", p); err != nil {
			return err
		}
	}
	names := map[string]bool{DefaultExchange: true, UnknownExchange: true}
	for i, x := range exchanges {
		if !validExchangeName(x.Name) {
			return fmt.Errorf("invalid config: exchanges[%d].name %q must be 1 to 32 of a-z, 0-9, '_' and '-'", i, x.Name)
		}
		if names[x.Name] {
			return fmt.Errorf("invalid config: exchanges[%d].name %q is taken (\"default\" names http.bidPath's, \"unknown\" the notices of removed exchanges)", i, x.Name)
		}
		names[x.Name] = true
		if err := check(fmt.Sprintf("exchanges[%d].bidPath (%s)", i, x.Name), x.BidPath); err != nil {
			return err
		}
		if err := checkShading(i, x); err != nil {
			return err
		}
	}
	return nil
}

// checkShading checks exchanges[i]'s firstPriceShading and autoShading.
func checkShading(i int, x Exchange) error {
	if f := x.FirstPriceShading; !(f >= 0 && f <= 1) {
		return fmt.Errorf("invalid config: exchanges[%d].firstPriceShading (%s) %g must be in (0, 1]", i, x.Name, f)
	}
	a := x.AutoShading
	switch {
	case a == nil:
	case !x.MinToWin:
		return fmt.Errorf("invalid config: exchanges[%d].autoShading (%s) needs minToWin: it learns from the ${AUCTION_MIN_TO_WIN} of the billing notices", i, x.Name)
	case !(a.Min > 0 && a.Min <= 1):
		return fmt.Errorf("invalid config: exchanges[%d].autoShading.min (%s) %g must be in (0, 1]", i, x.Name, a.Min)
	case !(a.Explore >= 0.01 && a.Explore <= 0.5):
		return fmt.Errorf("invalid config: exchanges[%d].autoShading.explore (%s) %g must be in [0.01, 0.5]", i, x.Name, a.Explore)
	}
	return nil
}

// isNoticePath reports whether the notice handler would take path: its
// last element is win, bill or loss.
func isNoticePath(p string) bool {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	return p == "win" || p == "bill" || p == "loss"
}

// plainPath reports whether p is a path a request can match as sent
// (no query, fragment or space) and a metric label can carry as it is.
func plainPath(p string) bool {
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c <= ' ' || c > '~', c == '"', c == '\\', c == '?', c == '#':
			return false
		}
	}
	return true
}

func validExchangeName(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
