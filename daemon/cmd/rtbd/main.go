// Command rtbd is the OpenRTB bid daemon and its host tools.
//
//	rtbd [-config FILE] [-listen ADDR] [-dryRun]   serve (embedded demo data without -config)
//	rtbd log cat|stats [-dir DIR] [FILES...]       read the event log as JSON lines
//	rtbd state -dir DIR                            print the saved spend per campaign
//	rtbd irq [flags]                               pin NIC queue IRQs, set RPS/XPS
//	rtbd doctor [flags]                            compare the host with the expected tuning
//	rtbd gen -campaigns N -out DIR                 write a synthetic data set
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/rtbd/rtbd/daemon/buildinfo"
	"github.com/rtbd/rtbd/daemon/config"
	"github.com/rtbd/rtbd/daemon/decision"
	"github.com/rtbd/rtbd/daemon/engine"
	"github.com/rtbd/rtbd/daemon/eventlog"
	"github.com/rtbd/rtbd/daemon/host"
	"github.com/rtbd/rtbd/daemon/host/cpuset"
	"github.com/rtbd/rtbd/daemon/host/doctor"
	"github.com/rtbd/rtbd/daemon/notice"
	"github.com/rtbd/rtbd/daemon/peers"
	"github.com/rtbd/rtbd/daemon/secret"
	"github.com/rtbd/rtbd/daemon/server"
	"github.com/rtbd/rtbd/daemon/statefile"
	"github.com/rtbd/rtbd/daemon/stats"
	"github.com/rtbd/rtbd/daemon/systemd"
)

var (
	configFile  = flag.String("config", "", "Path to the JSON configuration file (see daemon/config). Without it rtbd serves the embedded demo data set with default settings.")
	listenAddr  = flag.String("listen", "", "Overrides http.listenAddress, the bid listener's host:port.")
	adminAddr   = flag.String("admin.listen", "", "Overrides admin.listenAddress, the admin listener's host:port.")
	logLevel    = flag.String("log.level", "", "Overrides log.level: debug, info, warn or error.")
	dryRun      = flag.Bool("dryRun", false, "Validate the configuration and data files, then exit 0 if they are valid. The NixOS module runs it at build time.")
	showVersion = flag.Bool("version", false, "Print the version and exit.")
)

func main() {
	if len(os.Args) > 1 {
		if run, ok := subcommands[os.Args[1]]; ok {
			os.Exit(run(os.Args[2:], os.Stdout, os.Stderr))
		}
	}
	flag.Usage = func() { usage(flag.CommandLine.Output()) }
	flag.Parse()
	if flag.NArg() > 0 {
		// A mistyped command ("rtbd stats", "rtbd docter") or a stray
		// argument must not start a daemon on the demo data.
		if flag.Arg(0) == "help" {
			flag.CommandLine.SetOutput(os.Stdout)
			usage(os.Stdout)
			return
		}
		fmt.Fprintf(os.Stderr, "rtbd: unknown command %q (commands: %s; flags: rtbd -h)\n", flag.Arg(0), strings.Join(commandNames(), ", "))
		os.Exit(2)
	}
	if *showVersion {
		fmt.Println("rtbd", buildinfo.Version, runtime.Version())
		return
	}
	cfg := loadConfig()
	setupLogging(&cfg)
	if cfg.Shedding.MaxInFlight != 0 {
		slog.Warn("shedding.maxInFlight is ignored: it never fired, since no more requests than cores are ever being handled; shedding.maxQueueAge sheds load, http.maxConns bounds the connections")
	}
	if *dryRun {
		if err := engine.DryRun(&cfg); err != nil {
			fmt.Fprintln(os.Stderr, "rtbd: invalid data:", err)
			os.Exit(1)
		}
		fmt.Println("rtbd: configuration and data are valid")
		return
	}
	if cfg.Runtime.QuietSysmon {
		if err := host.ExecQuietSysmon(); err != nil {
			slog.Warn("serving with the runtime's default sysmon", "err", err)
		}
	}
	setupRuntime(&cfg)
	os.Exit(serve(&cfg))
}

// subcommands are the tools shipped in the same binary, so a host image
// carries one executable.
var subcommands = map[string]func(args []string, stdout, stderr io.Writer) int{
	"log":    logMain,
	"irq":    host.IRQMain,
	"doctor": host.DoctorMain,
	"gen":    genMain,
	"state":  stateMain,
	// peers-ready: before a restart on purpose (see peers.ReadyPath).
	"peers-ready": peersReadyMain,
}

// logMain is `rtbd log`, which names the no-bid reasons of this rtbd.
func logMain(args []string, stdout, stderr io.Writer) int {
	rd := eventlog.Reader{ReasonNames: func(code uint8) string {
		if int(code) < decision.NumReasons {
			return decision.Reason(code).String()
		}
		return "" // a newer rtbd's
	}, IsTestBid: decision.IsTestBidID}
	return rd.Main(args, stdout, stderr)
}

// commandHelp is each subcommand's line in usage.
var commandHelp = map[string]string{
	"log":         "read the event log: rtbd log cat|stats [-dir DIR] [FILE...]",
	"irq":         "place the NIC queues' IRQs on the housekeeping CPUs",
	"doctor":      "check the host's tuning (isolated CPUs, hugepages, IRQs, governor)",
	"gen":         "generate a synthetic data set: rtbd gen -campaigns N -out DIR",
	"state":       "print a state directory's saved spend: rtbd state -dir DIR",
	"peers-ready": "wait until the hosts of state.peers take bid traffic: rtbd peers-ready -config FILE",
}

func commandNames() []string {
	names := make([]string, 0, len(subcommands))
	for name := range subcommands {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// usage prints how to run the daemon and the subcommands, then the flags.
func usage(w io.Writer) {
	fmt.Fprintf(w, "Usage:\n  rtbd [flags]              serve bid requests (the embedded demo data without -config)\n")
	fmt.Fprintf(w, "  rtbd COMMAND [args]       run a tool; COMMAND -h for its flags\n\nCommands:\n")
	for _, name := range commandNames() {
		fmt.Fprintf(w, "  %-11s %s\n", name, commandHelp[name])
	}
	fmt.Fprintf(w, "\nFlags:\n")
	flag.PrintDefaults()
}

func loadConfig() config.Config {
	cfg := config.Default()
	if *configFile != "" {
		var err error
		if cfg, err = config.Load(*configFile); err != nil {
			fmt.Fprintf(os.Stderr, "rtbd: %s: %v\n", *configFile, err)
			os.Exit(1)
		}
	}
	if *listenAddr != "" {
		cfg.HTTP.ListenAddress = *listenAddr
	}
	if *adminAddr != "" {
		cfg.Admin.ListenAddress = *adminAddr
	}
	if *logLevel != "" {
		cfg.Log.Level = *logLevel
	}
	if cfg.Bidding.HostID == "" {
		cfg.Bidding.HostID = defaultHostID()
	}
	if cfg.Bidding.NoticeBaseURL == "" {
		cfg.Bidding.NoticeBaseURL = defaultNoticeBase(cfg.HTTP.ListenAddress)
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, "rtbd:", err)
		os.Exit(1)
	}
	return cfg
}

func setupLogging(cfg *config.Config) {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if cfg.Log.Format == "json" {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	slog.SetDefault(slog.New(h))
}

// setupRuntime pins the process to runtime.cpus and sizes GOMAXPROCS to it:
// on a tuned host those are the isolated cores, and a GOMAXPROCS larger than
// the CPU set only adds scheduler contention.
func setupRuntime(cfg *config.Config) {
	debug.SetGCPercent(cfg.Runtime.GOGC)
	if cfg.Runtime.CPUs == "" {
		// Unpinned: the host checks take the isolated set from the kernel
		// command line, and skip (NaN) the isolation checks without one.
		doctor.ExportMetrics("/", doctor.Expect{})
		return
	}
	set, err := cpuset.ParseCPUList(cfg.Runtime.CPUs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rtbd: runtime.cpus:", err)
		os.Exit(1)
	}
	procs, err := host.Pin(set)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rtbd: cannot pin to runtime.cpus:", err)
		os.Exit(1)
	}
	runtime.GOMAXPROCS(procs)
	// Export the same host facts as `rtbd doctor`, judged against the
	// isolated set the daemon was given and rtbd.tuning's defaults (THP
	// never, polling idle).
	doctor.ExportMetrics("/", doctor.Expect{IsolatedCPUs: set, THP: "never", ResumeLatency: "n/a"})
	slog.Info("pinned to CPUs", "cpus", set.String(), "gomaxprocs", procs)
}

func serve(cfg *config.Config) int {
	start := time.Now()
	// From the start: a SIGHUP's default action is to exit, and loading a
	// large book takes seconds. One that comes meanwhile reloads once the
	// daemon serves; a SIGTERM or SIGINT stops the start at once, with
	// nothing served yet to drain (see startSignals).
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	started := startSignals(sig)
	eng, err := engine.New(cfg)
	if err != nil {
		slog.Error("cannot start", "err", err)
		return 1
	}
	var events *eventlog.Log
	if cfg.EventLog.Dir != "" {
		if events, err = eventlog.Open(cfg.EventLog); err != nil {
			slog.Error("cannot open event log", "err", err)
			return 1
		}
	}
	// The journal of billing notices exists when peers may read this
	// host: it is what they apply to their caps and notice dedupe.
	var journal *peers.Journal
	if len(cfg.State.Peers) > 0 || cfg.State.PeerListenAddress != "" || cfg.State.PeerTLS.ListenAddress != "" {
		journal = peers.NewJournal()
	}
	priceKeys, err := engine.ReadPriceKeys(cfg)
	if err != nil {
		slog.Error("cannot start", "err", err)
		return 1
	}
	tok, err := readTokens(cfg)
	if err != nil {
		slog.Error("cannot start", "err", err)
		return 1
	}
	adminTokens, peerTokens := secret.NewTokens(tok.admin), secret.NewTokens(tok.peer)
	roots, err := readPeerRoots(cfg)
	if err != nil {
		slog.Error("cannot start", "err", err)
		return 1
	}
	ncfg := notice.Config{
		Currency: cfg.Bidding.Currency, IsTest: decision.IsTestBidID, DedupeSlots: cfg.Bidding.NoticeDedupeSlots,
		Keys: eng.NoticeKeys(), RequireSigned: cfg.Bidding.RequireSignedNotices,
		BillOnWin: cfg.Bidding.BillOn == "win",
		Exchanges: cfg.ExchangeNames(), PriceKeys: priceKeys, Shading: eng.Shading(),
	}
	if journal != nil {
		ncfg.Journal = journal
	}
	deals := server.NewDealMetrics(server.EventSink(events))
	eng.OnSnapshot(func(s *decision.Snapshot) { deals.SetDeals(s.DealIDs()) })
	notices := notice.New(ncfg, eng.State(), deals)
	var peerSync *peers.Syncer
	if len(cfg.State.Peers) > 0 {
		peerSync = peers.New(eng.State(), cfg.State.Peers, cfg.State.PeerInterval.D(), cfg.Bidding.HostID)
		peerSync.ShareBills(peers.Applier(eng.State(), notices))
		peerSync.SendTokens(peerTokens)
		if roots != nil {
			peerSync.TrustRoots(roots)
		}
	}
	// The last sign of life of the control plane, for the deadman switch
	// (data.deadman): a restart does not renew its credit.
	lastSeen := statefile.Part{Name: "controlplane", Append: eng.AppendLastSeen, Restore: eng.RestoreLastSeen}
	state, err := openState(cfg, eng.State(), notices, peerSync, lastSeen, shadingPart(eng.Shading()))
	if err != nil {
		slog.Error("cannot start", "err", err)
		return 1
	}
	recoverFromPeers(peerSync)
	stopPeers := startPeers(cfg, peerSync)
	stopRetiring := startRetiring(eng.State(), peerSync, time.Hour)
	stopExpiring := startExpiring(eng.State())
	stopDeals := repeat(time.Minute, deals.RetireDropped)
	peerSrc := &peers.Source{
		State: eng.State(), Journal: journal, HostID: cfg.Bidding.HostID,
		Tokens: peerTokens, AcceptWithoutToken: cfg.State.AcceptPeersWithoutToken,
	}
	if peerSync != nil {
		peerSrc.Seen = peerSync.SeenOf
	}
	queue, err := stats.StartQueueProbe()
	if err != nil {
		slog.Error("cannot start", "err", err)
		return 1
	}
	srv := server.New(server.Options{
		Config:  cfg,
		Engine:  eng,
		Notices: notices,
		Events:  events,
		Queue:   queue,
		Peers:   peerSrc,
		Deals:   deals,
	})
	peerSrc.Ready = srv.Ready // peers-ready asks it before a restart
	lns, err := listeners(cfg)
	if err != nil {
		slog.Error("cannot listen", "err", err)
		return 1
	}
	bidLns, adminLns := lns.bid, lns.admin
	eng.OnNoticeKeys(notices.SetKeys)
	// A reload reads every file before it changes anything: the data and
	// bidding.noticeKeyFile (the engine), bidding.priceKeysFiles, the
	// token files, the certificates of http.tls, admin.tls and
	// state.peerTLS, and state.peerTLS.caFile. One that fails changes
	// nothing. Reloads run one at a time (SIGHUP and /admin/reload may
	// come together): else an older read of a token or certificate file
	// could be installed after a newer one.
	var reloading sync.Mutex
	reload := func() error {
		reloading.Lock()
		defer reloading.Unlock()
		systemd.Reloading()
		defer systemd.Ready()
		priceKeys, tok, setCerts, roots, err := readReloadFiles(cfg, lns.certs)
		if err != nil {
			// Counted as eng.Reload counts its own: alerts on failed
			// reloads must see a broken token or certificate file,
			// which stops every book from loading (the drain audit).
			engine.ReloadFailed()
			return err
		}
		if err := eng.Reload(); err != nil {
			return err
		}
		notices.SetPriceKeys(priceKeys)
		adminTokens.Set(tok.admin)
		peerTokens.Set(tok.peer)
		setCerts()
		if peerSync != nil && roots != nil {
			peerSync.TrustRoots(roots)
		}
		return nil
	}
	admin := server.NewAdmin(srv, reload, adminTokens)
	if tok.admin == nil && beyondLoopback(adminLns) {
		slog.Warn("the admin listener is reachable beyond loopback without admin.tokenFile: anyone who reaches it can reload, profile, and keep data.deadman from tripping", "admin", addrs(adminLns))
	}
	if tok.admin != nil && tok.peer == nil && beyondLoopback(adminLns) {
		// The peers read /state/* with state.peerTokenFile's tokens, not
		// the admin's: without them those paths stay open.
		slog.Warn("the admin listener serves each campaign's spend and the billing notices (/state/*) without a token: set state.peerTokenFile", "admin", addrs(adminLns))
	}
	peerSrv, err := peerListener(cfg, peerSrc, lns.peerTLS)
	if err != nil {
		slog.Error("cannot listen", "err", err)
		return 1
	}
	// From here a SIGTERM drains (waitForSignals): the listeners accept
	// at once, and with socket activation the connections queued during
	// the start come in; exiting on one then, as during the start, cut
	// them off and skipped the final state save (the drain audit).
	hup := started()
	for _, ln := range bidLns {
		go serveOn(ln, srv.Serve, "bid")
	}
	if lns.bidTLS != nil {
		go serveOn(lns.bidTLS, srv.Serve, "bid (https)")
		bidLns = append(bidLns, lns.bidTLS)
	}
	for _, ln := range adminLns {
		go serveOn(ln, admin.HTTP().Serve, "admin")
	}
	srv.SetReady(true)
	systemd.Ready()
	stopWatchdog := make(chan struct{})
	systemd.StartWatchdog(stopWatchdog, func() bool { return eng.Snapshot() != nil })
	slog.Info("serving", "bid", addrs(bidLns), "admin", addrs(adminLns), "path", cfg.HTTP.BidPath,
		"version", buildinfo.Version, "startSeconds", time.Since(start).Seconds())

	if hup {
		if err := reload(); err != nil {
			slog.Error("reload failed; still serving the previous snapshot", "err", err)
		}
	}
	failed := waitForSignals(sig, reload)

	systemd.Stopping(stopBudget(cfg))
	close(stopWatchdog)
	stopAll(cfg, srv, admin, events, queue, func() { awaitFinalReads(cfg, peerSrc, peerSync) })
	stopPeers(peerSrv)
	stopRetiring()
	stopExpiring()
	stopDeals()
	if err := state.close(); err != nil {
		slog.Error("cannot save state at exit", "err", err)
		return 1
	}
	if failed != nil {
		return 1
	}
	return 0
}

// startSignals handles sig while the daemon starts: a SIGTERM or SIGINT
// exits at once (nothing is served, nothing billed: the state files hold
// what they held), a SIGHUP is kept for later. The returned func ends
// that, once the daemon serves, and reports whether a SIGHUP came.
func startSignals(sig <-chan os.Signal) (started func() (hup bool)) {
	stop, done := make(chan struct{}), make(chan bool)
	go func() {
		hup := false
		for {
			select {
			case s := <-sig:
				if s == syscall.SIGHUP {
					hup = true
					continue
				}
				slog.Info("received signal while starting; stopping", "signal", s.String())
				os.Exit(0)
			case <-stop:
				done <- hup
				return
			}
		}
	}()
	return func() bool {
		close(stop)
		return <-done
	}
}

// waitForSignals reloads on SIGHUP and returns on SIGTERM or SIGINT, as
// sig brings them, or with the error of a listener that stopped on its
// own (see serveOn).
func waitForSignals(sig <-chan os.Signal, reload func() error) error {
	for {
		select {
		case err := <-listenerFailed:
			slog.Error("a listener stopped; draining to exit, for a restart", "err", err)
			return err
		case s := <-sig:
			if s != syscall.SIGHUP {
				slog.Info("received signal; draining", "signal", s.String())
				return nil
			}
			if err := reload(); err != nil {
				slog.Error("reload failed; still serving the previous snapshot", "err", err)
			}
		}
	}
}

// stopSaveBudget is stopBudget's room for the final saves: the event
// log's flush and the state files, whose tables hold the notice and
// frequency-cap tables whole.
const stopSaveBudget = 20 * time.Second

// stopBudget is how long stopAll and the final saves that follow may
// take: drain.delay, drain.timeout, the peers' last reading (see
// awaitFinalReads) and the saves. systemd is told it at the stop, so
// that a drain configured longer than the unit's TimeoutStopSec is not
// killed before the state is saved (the drain audit).
func stopBudget(cfg *config.Config) time.Duration {
	return cfg.Drain.Delay.D() + cfg.Drain.Timeout.D() + finalReadsWait(cfg) + stopSaveBudget
}

// stopAll drains and stops in reverse order of start: readiness goes false
// at once, the bid listener keeps serving for drain.delay so VRRP or a load
// balancer moves traffic, then stops accepting and finishes in-flight
// requests; the event log is flushed last so it sees every request.
//
// Between the two listeners, finalReads waits for the peers' last reading
// (state.peers): after the bid listener, so that it has every bill; before
// the admin listener, which peers may read too.
func stopAll(cfg *config.Config, srv *server.Server, admin *server.Admin, events *eventlog.Log, queue *stats.QueueProbe, finalReads func()) {
	srv.Drain()
	time.Sleep(cfg.Drain.Delay.D())
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Drain.Timeout.D())
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		slog.Warn("bid listener did not drain in time", "err", err, "connections", srv.OpenConnections())
	}
	slog.Info(fmt.Sprintf("stopped http server in %.3f seconds", time.Since(start).Seconds()))
	finalReads()
	_ = server.Shutdown(ctx, admin.HTTP())
	if events != nil {
		// Close returns the first write error the log ever met, which
		// may be long past (a disk full once): say what it lost.
		if err := events.Close(); err != nil {
			slog.Error("the event log could not write some records", "first_err", err, "lost", events.Lost())
		}
	}
	queue.Stop()
}

// tokens are the bearer tokens of admin.tokenFile and
// state.peerTokenFile, read at start and again by every reload.
type tokens struct{ admin, peer []string }

func readTokens(cfg *config.Config) (tokens, error) {
	admin, err := secret.ReadTokens("admin.tokenFile", cfg.Admin.TokenFile, "anyone who reads it can reload rtbd and keep data.deadman from tripping")
	if err != nil {
		return tokens{}, err
	}
	peer, err := secret.ReadTokens("state.peerTokenFile", cfg.State.PeerTokenFile, "anyone who reads it can read the spend and billing notices")
	return tokens{admin, peer}, err
}

// beyondLoopback reports whether one of lns accepts connections from
// other hosts.
func beyondLoopback(lns []net.Listener) bool {
	for _, ln := range lns {
		if a, ok := ln.Addr().(*net.TCPAddr); ok && !a.IP.IsLoopback() {
			return true
		}
	}
	return false
}

// listenerSet is what the daemon listens on: the bid and admin
// listeners (admin's with admin.tls's HTTPS one), the bid listener's
// HTTPS one (http.tls) and the peers' (state.peerTLS), nil when off, and
// the HTTPS listeners' certificates, which a reload reads again.
type listenerSet struct {
	bid, admin      []net.Listener
	bidTLS, peerTLS net.Listener
	certs           []*server.Certificate
}

func listeners(cfg *config.Config) (lns listenerSet, err error) {
	if lns.bid, lns.admin, err = systemd.Listeners(); err != nil {
		return lns, err
	}
	if len(lns.bid) == 0 {
		if lns.bid, err = server.Listen(cfg.HTTP.ListenAddress, cfg.HTTP.ReusePort); err != nil {
			return lns, err
		}
	}
	if len(lns.admin) == 0 && cfg.Admin.ListenAddress != "" {
		ln, err := net.Listen("tcp", cfg.Admin.ListenAddress)
		if err != nil {
			return lns, fmt.Errorf("cannot listen on admin address %s: %w", cfg.Admin.ListenAddress, err)
		}
		lns.admin = []net.Listener{ln}
	}
	var adminTLS net.Listener
	for _, l := range []struct {
		option, listener string
		tls              config.TLS
		ln               *net.Listener
	}{
		{"http.tls", "bid", cfg.HTTP.TLS, &lns.bidTLS},
		{"admin.tls", "admin", cfg.Admin.TLS, &adminTLS},
		{"state.peerTLS", "peer", cfg.State.PeerTLS.TLS, &lns.peerTLS},
	} {
		ln, cert, err := tlsListener(l.option, l.listener, l.tls)
		if err != nil {
			return lns, err
		}
		if ln != nil {
			*l.ln = ln
			lns.certs = append(lns.certs, cert)
		}
	}
	if adminTLS != nil {
		lns.admin = append(lns.admin, adminTLS)
	}
	return lns, nil
}

// tlsListener opens the HTTPS listener t of the settings option
// (http.tls, admin.tls, state.peerTLS), if any, with its certificate, which a reload
// reads again; listener labels its expiry metric.
func tlsListener(option, listener string, t config.TLS) (net.Listener, *server.Certificate, error) {
	if t.ListenAddress == "" {
		return nil, nil, nil
	}
	cert, err := server.LoadCertificate(option, listener, t.CertFile, t.KeyFile)
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", t.ListenAddress)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot listen on %s.listenAddress %s: %w", option, t.ListenAddress, err)
	}
	return server.ListenTLS(ln, cert), cert, nil
}

// readCertificates reads the files of each of cs again and returns set,
// which has their listeners serve what it read: a reload calls it once
// nothing else failed.
func readCertificates(cs []*server.Certificate) (set func(), err error) {
	next := make([]*tls.Certificate, len(cs))
	for i, c := range cs {
		if next[i], err = c.Read(); err != nil {
			return nil, err
		}
	}
	return func() {
		for i, c := range cs {
			c.Set(next[i])
		}
	}, nil
}

// readReloadFiles reads the files a reload reads before the engine's:
// bidding.priceKeysFiles, the token files, the certificates and
// state.peerTLS.caFile.
func readReloadFiles(cfg *config.Config, certs []*server.Certificate) (map[string]*notice.PriceKeys, tokens, func(), *x509.CertPool, error) {
	priceKeys, err := engine.ReadPriceKeys(cfg)
	if err != nil {
		return nil, tokens{}, nil, nil, err
	}
	tok, err := readTokens(cfg)
	if err != nil {
		return nil, tokens{}, nil, nil, err
	}
	setCerts, err := readCertificates(certs)
	if err != nil {
		return nil, tokens{}, nil, nil, err
	}
	roots, err := readPeerRoots(cfg)
	if err != nil {
		return nil, tokens{}, nil, nil, err
	}
	return priceKeys, tok, setCerts, roots, nil
}

// serveOn serves ln with serve, waiting out the accept errors a busy
// host recovers from (see server.KeepAccepting). A listener that stops
// otherwise, but by a shutdown, is reported on listenerFailed: serve
// then drains and exits non-zero, so that systemd restarts it and VRRP
// moves the address meanwhile, rather than keep an open socket nobody
// accepts on while every health check passes.
func serveOn(ln net.Listener, serve func(net.Listener) error, name string) {
	err := serve(server.KeepAccepting(ln))
	if err == nil || errors.Is(err, net.ErrClosed) {
		return
	}
	slog.Error("listener stopped", "listener", name, "addr", ln.Addr().String(), "err", err)
	select {
	case listenerFailed <- fmt.Errorf("%s listener %s: %w", name, ln.Addr(), err):
	default:
	}
}

// listenerFailed gets the first listener that stopped on its own.
var listenerFailed = make(chan error, 1)

func addrs(lns []net.Listener) []string {
	out := make([]string, len(lns))
	for i, ln := range lns {
		out[i] = ln.Addr().String()
	}
	return out
}

// defaultNoticeBase points notices at this daemon's own bid listener, so
// that every bid carries nurl, burl and lurl even without configuration.
// Production configurations set bidding.noticeBaseURL to the public name.
func defaultNoticeBase(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return ""
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		if host, err = os.Hostname(); err != nil {
			host = "localhost"
		}
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

func defaultHostID() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "rtbd"
	}
	return hostIDOf(h)
}

// hostIDOf is the default bidding.hostID of hostname h: h itself up to 16
// bytes, else its first 11 and a hash of the whole. Cut to 16 alone,
// rtbd-bidder-fra1-01 and -02 had one id, and each refused the other's
// spend as its own: budgets were not shared at all (the money audit).
func hostIDOf(h string) string {
	if len(h) <= 16 {
		return h
	}
	return fmt.Sprintf("%s-%04x", h[:11], xxhash.Sum64String(h)&0xffff)
}
