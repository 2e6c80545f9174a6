# services.rtbd: the rtbd OpenRTB bid daemon. RFC 42 settings rendered to the
# daemon's JSON config (schema: daemon/config/config.go), checked at build
# time with `rtbd -dryRun`, socket-activated so restarts lose no connection
# attempts, Type=notify with a watchdog. The unit shape follows nixpkgs'
# victoriametrics/victorialogs modules. The daemon never tunes the host; see
# ./tuning for that. It only runs on the isolated CPUs when
# rtbd.tuning.cpus.isolated (./tuning/layout.nix) is set.
{
  config,
  lib,
  pkgs,
  utils,
  ...
}:
let
  cfg = config.services.rtbd;
  inherit (lib) mkIf mkOption types;

  settingsFormat = pkgs.formats.json { };
  # A settings section: its declared options, and any other key as JSON.
  section =
    description: options:
    mkOption {
      default = { };
      inherit description;
      type = types.submodule {
        freeformType = settingsFormat.type;
        options = lib.mapAttrs (_: mkOption) options;
      };
    };
  cpulist = import ../nix/lib/cpulist.nix;
  listen = import ../nix/lib/listen.nix;

  httpAddr = cfg.settings.http.listenAddress;
  tlsAddr = cfg.settings.http.tls.listenAddress or "";
  adminAddr = cfg.settings.admin.listenAddress;
  eventDir = cfg.settings.eventLog.dir;
  stateDir = cfg.settings.state.dir;

  # Secrets passed as systemd credentials (LoadCredential=), readable by
  # the DynamicUser only, at the paths the settings name: { name, path }.
  credentialFiles =
    let
      file = name: path: { inherit name path; };
    in
    lib.optional (cfg.noticeKeyFile != null) (file "notice-keys" cfg.noticeKeyFile)
    ++ lib.optional (cfg.adminTokenFile != null) (file "admin-tokens" cfg.adminTokenFile)
    ++ lib.optional (cfg.peerTokenFile != null) (file "peer-tokens" cfg.peerTokenFile)
    ++ lib.mapAttrsToList (name: file "price-keys-${name}") cfg.priceKeyFiles
    ++ lib.concatMap (
      l:
      lib.optionals (cfg."${l.option}CertFile" != null) [
        (file "${l.credential}-cert" cfg."${l.option}CertFile")
        (file "${l.credential}-key" cfg."${l.option}KeyFile")
      ]
    ) tlsListeners;
  credentials = map (c: "${c.name}:${c.path}") credentialFiles;
  # systemd copies credentials when the unit starts, and a reload does not
  # copy them again: rtbd-credentials.path restarts the unit when a file
  # they come from changes (a renewed certificate, rotated tokens).
  watchCredentials = cfg.restartOnCredentialChange && credentialFiles != [ ];
  # The credential restart waits for the peers to take bid traffic first.
  waitForPeers = cfg.credentialPeersWaitSec > 0 && (cfg.settings.state.peers or [ ]) != [ ];

  # The HTTPS listeners whose certificate and key the options
  # OPTIONCertFile and OPTIONKeyFile pass as the credentials CREDENTIAL-cert
  # and CREDENTIAL-key.
  # SETTING.certFile and keyFile are what they set.
  bidTls = {
    option = "tls";
    credential = "tls";
    setting = "http.tls";
  };
  adminTls = {
    option = "adminTls";
    credential = "admin-tls";
    setting = "admin.tls";
  };
  peerTls = {
    option = "peerTls";
    credential = "peer-tls";
    setting = "state.peerTLS";
  };
  tlsListeners = [
    bidTls
    adminTls
    peerTls
  ];
  credentialPath = name: "/run/credentials/rtbd.service/${name}";
  tlsFiles = credential: {
    certFile = credentialPath "${credential}-cert";
    keyFile = credentialPath "${credential}-key";
  };
  # An option naming a file on the host, off (null) by default.
  fileOption =
    example: description:
    mkOption {
      type = types.nullOr types.str;
      default = null;
      inherit example description;
    };
  # The certificate option of HTTPS listener l (see tlsListeners): what
  # listener is, then what more there is to say of it.
  certOption =
    l: example: listener: more:
    fileOption example ''
      PEM certificate chain of ${listener}, with `${l.option}KeyFile`.
      Both are passed as systemd credentials (`${l.credential}-cert`,
      `${l.credential}-key`) and set `settings.${l.setting}.certFile` and
      `keyFile`.${more} A renewed certificate is served after the restart
      `restartOnCredentialChange` makes.
    '';
  # The private key option of an HTTPS listener's certificate option.
  keyOption =
    certOption: example: fileOption example "Private key of `${certOption}`, kept out of the Nix store.";

  configFile = settingsFormat.generate "rtbd.json" cfg.settings;
  # Build-time validation, as nixpkgs does with `victoria-metrics -dryRun`.
  # The build reads only data files in the Nix store; campaigns and a model
  # that a pipeline writes on the host (/var/lib/rtbd/...) are left out of
  # the checked copy, whose every other setting is checked all the same.
  inStore = path: path != null && lib.hasPrefix builtins.storeDir path;
  dryRunSettings = cfg.settings // {
    data = lib.mapAttrs (
      name: value: if lib.elem name [ "campaignsFile" "modelFile" ] && !inStore value then null else value
    ) (cfg.settings.data or { });
  };
  checkedConfig =
    if cfg.checkConfig then
      pkgs.runCommand "rtbd-checked.json" { } ''
        ${lib.getExe cfg.package} -dryRun -config ${settingsFormat.generate "rtbd-dry-run.json" dryRunSettings}
        ln -s ${configFile} $out
      ''
    else
      configFile;

  # The addresses the daemon binds itself: with socket activation systemd
  # binds the bid port, and the daemon every other one (headscale computes
  # caps the same way). HTTPS on :443 is the usual case among them.
  ownAddrs = [
    adminAddr
    (cfg.settings.admin.tls.listenAddress or "")
    tlsAddr
    (cfg.settings.state.peerListenAddress or "")
    (cfg.settings.state.peerTLS.listenAddress or "")
  ] ++ lib.optional (!cfg.socketActivation) httpAddr;
  capabilities = lib.optional (listen.privilegedPorts ownAddrs != [ ]) "CAP_NET_BIND_SERVICE";

  stateDirs =
    [ "rtbd" ]
    ++ map (lib.removePrefix "/var/lib/") (lib.filter (lib.hasPrefix "/var/lib/rtbd/") [ eventDir stateDir ]);

  pinned = cfg.cpus != "";
in
{
  imports = [ ./tuning/layout.nix ];

  # interface
  options.services.rtbd = {
    enable = lib.mkEnableOption "rtbd OpenRTB bid daemon";

    package = lib.mkPackageOption pkgs "rtbd" { };

    settings = mkOption {
      description = ''
        rtbd configuration, rendered to JSON and passed with -config. Any key
        of daemon/config/config.go may be set; unknown keys fail the build's
        dry run. Durations are Go strings ("250ms").
      '';
      default = { };
      example = lib.literalExpression ''
        {
          http.listenAddress = ":8080";
          bidding.noticeBaseURL = "https://bid.example.com/";
          drain.delay = "3s";
        }
      '';
      type = types.submodule {
        freeformType = settingsFormat.type;
        options = {
          http = section "Bid listener settings (`http.*`)." {
            listenAddress = {
              type = types.str;
              default = ":8080";
              example = "10.0.0.10:8080";
              description = "host:port of the bid listener; with socket activation, the socket's address.";
            };
          };
          admin = section "Admin listener settings (`admin.*`)." {
            listenAddress = {
              type = types.str;
              default = "127.0.0.1:9090";
              example = "10.1.0.5:9090";
              description = ''
                host:port of /metrics, /healthz, /readyz, pprof and /admin/*.
                Keep it on loopback or a management network; "" disables it.
              '';
            };
          };
          data = section "Campaign and model files (`data.*`); null selects the embedded demo data." {
            campaignsFile = {
              type = types.nullOr types.str;
              default = null;
              example = "/var/lib/rtbd/campaigns.json";
              description = "campaigns.json; reloaded on SIGHUP (`systemctl reload rtbd`).";
            };
            modelFile = {
              type = types.nullOr types.str;
              default = null;
              example = "/var/lib/rtbd/model.json";
              description = "Pricing model file; reloaded on SIGHUP.";
            };
          };
          eventLog = section "Event log settings (`eventLog.*`)." {
            dir = {
              type = types.str;
              default = "/var/lib/rtbd/events";
              example = "";
              description = "Segment directory, under /var/lib/rtbd (the StateDirectory); \"\" disables the log.";
            };
          };
          state = section "State files (`state.*`): spend per campaign, frequency caps and processed notices, kept across restarts and redeploys." {
            dir = {
              type = types.str;
              default = "/var/lib/rtbd/state";
              example = "";
              description = "State directory, under /var/lib/rtbd (the StateDirectory); \"\" keeps nothing, so every restart starts budgets and caps from zero.";
            };
            peers = {
              type = types.listOf types.str;
              default = [ ];
              example = [ "http://10.10.0.12:9091" ];
              description = "Base URLs of the other hosts whose spend counts against this one's budgets (their `peerListenAddress`); `rtbd.failover.shareBudgets` sets it from the VRRP peers.";
            };
            peerListenAddress = {
              type = types.str;
              default = "";
              example = "10.10.0.11:9091";
              description = "Address serving this host's own spend and billing notices (GET /state/spend, /state/bills) to its peers; \"\" serves them on the admin listener only.";
            };
          };
        };
      };
    };

    noticeKeyFile = fileOption "/run/secrets/rtbd-notice-keys" ''
      File of notice keys (one per line, 32 hex digits: `openssl rand -hex 16`;
      the first signs, every one verifies), kept out of the Nix store by a
      secrets tool. It is passed to the service as the systemd credential
      `notice-keys` and sets `settings.bidding.noticeKeyFile`: the bids'
      notice URLs are signed and notices no key signed are refused. Every
      host that bids or receives notices needs the same file.
    '';

    priceKeyFiles = mkOption {
      type = types.attrsOf types.str;
      default = { };
      example = {
        adx = "/run/secrets/rtbd-adx-price-keys";
      };
      description = ''
        Files of the price keys of the exchanges that encrypt the prices of
        their notices (Google Authorized Buyers' scheme: the encryption key,
        then the integrity key, one per line in web-safe base64), by the
        exchange's name: a `settings.exchanges` name, or `default` for
        `http.bidPath`. Kept out of the Nix store by a secrets tool, each is
        passed to the service as the systemd credential `price-keys-NAME`
        and sets `settings.bidding.priceKeysFiles`.
      '';
    };

    tlsCertFile =
      certOption bidTls "/var/lib/acme/bid.example.com/fullchain.pem"
        ''the HTTPS bid listener (`settings.http.tls.listenAddress`, e.g. ":8443")''
        "";

    tlsKeyFile = keyOption "tlsCertFile" "/var/lib/acme/bid.example.com/key.pem";

    adminTlsCertFile =
      certOption adminTls "/run/secrets/rtbd-admin-cert.pem"
        ''
          the HTTPS admin listener (`settings.admin.tls.listenAddress`, e.g.
          "10.1.0.5:9443": the management network, while
          `settings.admin.listenAddress` stays on loopback for the host's own
          checks)''
        " Scrapers and the control plane then reach /metrics and /admin/* over HTTPS, with the admin tokens kept off the wire.";

    adminTlsKeyFile = keyOption "adminTlsCertFile" "/run/secrets/rtbd-admin-key.pem";

    peerTlsCertFile =
      certOption peerTls "/run/secrets/rtbd-peer-cert.pem"
        ''
          the HTTPS peer listener (`settings.state.peerTLS.listenAddress`, or
          `rtbd.failover.spendTlsPort`), which must name the address the peers
          list this host by''
        " The peers check it against their `settings.state.peerTLS.caFile` (certificates, not secret: a path in the Nix store will do).";

    peerTlsKeyFile = keyOption "peerTlsCertFile" "/run/secrets/rtbd-peer-key.pem";

    adminTokenFile = fileOption "/run/secrets/rtbd-admin-tokens" ''
      File of the admin listener's bearer tokens (one per line, 32 to 512
      characters: `openssl rand -hex 32`), kept out of the Nix store by a
      secrets tool. It is passed to the service as the systemd credential
      `admin-tokens` and sets `settings.admin.tokenFile`: POST
      /admin/reload, POST /admin/heartbeat, /admin/explain and pprof then
      ask for `Authorization: Bearer TOKEN`. /metrics, /healthz, /readyz
      and GET /admin/heartbeat (the failover module's checks) stay open.
      `systemctl reload rtbd` (SIGHUP) needs no token. A changed file is
      read after the restart `restartOnCredentialChange` makes, not after
      a reload.
    '';

    peerTokenFile = fileOption "/run/secrets/rtbd-peer-tokens" ''
      File of the bearer tokens the hosts of `settings.state.peers` send
      each other (one per line, 32 to 512 characters; the first is sent,
      every one is accepted), kept out of the Nix store by a secrets
      tool. It is passed to the service as the systemd credential
      `peer-tokens` and sets `settings.state.peerTokenFile`: GET
      /state/spend and /state/bills answer 401 to a request without one.
      Give every host of a site the same file; while rolling it out, set
      `settings.state.acceptPeersWithoutToken` until every host has it.
      Each step of a rotation takes effect on a host with the restart
      `restartOnCredentialChange` makes, not with a reload.
    '';

    restartOnCredentialChange = mkOption {
      type = types.bool;
      default = true;
      example = false;
      description = ''
        Restart rtbd (which drains first; with `socketActivation` no
        connection attempt is refused) when a file passed to it as a
        systemd credential changes: a renewed certificate, rotated tokens
        or keys. systemd copies credentials when the unit starts, and a
        reload (`systemctl reload rtbd`, or security.acme's
        `reloadServices`) does not copy them again, so without this a
        renewed certificate is not served until a restart. The path unit
        rtbd-credentials.path watches the files; rtbd-credentials.service
        waits `credentialSettleSec` for the writes that go together (a
        certificate and its key) and runs `systemctl try-restart rtbd`.
        With `settings.state.peers` it first waits until they take bid
        traffic (`rtbd peers-ready`, `credentialPeersWaitSec`), so that
        hosts whose secrets change at the same moment restart one after
        the other, never all at once: give each host of a VIP its own
        `credentialRestartDelaySec`.
      '';
    };

    credentialSettleSec = mkOption {
      type = types.ints.positive;
      default = 10;
      description = ''
        Seconds rtbd-credentials.service waits after a credential file
        changed before it restarts rtbd, so that a certificate and its key
        written one after the other are both new at the restart.
      '';
    };

    credentialRestartDelaySec = mkOption {
      type = types.ints.unsigned;
      default = 0;
      example = 120;
      description = ''
        Seconds rtbd-credentials.service waits after `credentialSettleSec`,
        before it asks the peers. Give the hosts that share a VIP different
        delays, further apart than a restart takes (drain, start, data
        loaded): the one that goes first is back before the next asks, and
        the next waits for it. The bidder role (nixos/hosts/bidder.nix) sets
        the host's place in its region's deploy order times 120.
      '';
    };

    credentialPeersWaitSec = mkOption {
      type = types.ints.unsigned;
      default = 600;
      description = ''
        Seconds rtbd-credentials.service waits for every host of
        `settings.state.peers` to take bid traffic (`rtbd peers-ready`)
        before it restarts rtbd. When one is not ready by then, it does not
        restart rtbd (that could leave no host serving the VIP): the unit
        fails, with the peers that were not ready in its log, and systemd
        tries again 5 minutes later. 0 restarts without asking.
      '';
    };

    checkConfig = mkOption {
      type = types.bool;
      default = true;
      example = false;
      description = ''
        Run `rtbd -dryRun -config FILE` at build time: the settings, and the
        data files that are in the Nix store (those outside it, which the
        build cannot read, are left out of the check).
      '';
    };

    socketActivation = mkOption {
      type = types.bool;
      default = true;
      example = false;
      description = ''
        Let systemd own the bid socket (rtbd.socket, passed via LISTEN_FDS),
        so connection attempts queue instead of failing while the daemon
        restarts during `nixos-rebuild switch`.
      '';
    };

    openFirewall = mkOption {
      type = types.bool;
      default = false;
      example = true;
      description = "Open the bid port in the firewall (never the admin port).";
    };

    cpus = mkOption {
      type = types.str;
      default = config.rtbd.tuning.cpus.isolated;
      defaultText = lib.literalExpression "config.rtbd.tuning.cpus.isolated";
      example = "2-15";
      # The daemon's runtime.cpus parser takes only the kernel's form.
      apply = cpulist.normalize;
      description = ''
        CPUs the daemon runs on (CPUAffinity and rtbd.slice AllowedCPUs);
        GOMAXPROCS is set to their number. "" keeps the default affinity.
        Normalised to the kernel's form: "2-7, 10-15" reads "2-7,10-15".
      '';
    };

    watchdogSec = mkOption {
      type = types.str;
      default = "10s";
      example = "2s";
      description = "WatchdogSec=: systemd restarts the daemon when its WATCHDOG=1 pings stop.";
    };

    extraFlags = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "-log.level=debug" ];
      description = "Extra command-line flags.";
    };
  };

  # implementation
  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = eventDir == "" || lib.hasPrefix "/var/lib/rtbd/" eventDir;
        message = "services.rtbd.settings.eventLog.dir must be under /var/lib/rtbd/ (the DynamicUser StateDirectory) or empty.";
      }
      {
        assertion = stateDir == "" || lib.hasPrefix "/var/lib/rtbd/" stateDir;
        message = "services.rtbd.settings.state.dir must be under /var/lib/rtbd/ (the DynamicUser StateDirectory) or empty.";
      }
      {
        assertion = cfg.noticeKeyFile == null || !lib.hasPrefix builtins.storeDir cfg.noticeKeyFile;
        message = "services.rtbd.noticeKeyFile must not be in the Nix store, which every user can read.";
      }
      {
        assertion = lib.all (path: !lib.hasPrefix builtins.storeDir path) (lib.attrValues cfg.priceKeyFiles);
        message = "services.rtbd.priceKeyFiles must not be in the Nix store, which every user can read.";
      }
      {
        assertion = lib.all (path: path == null || !lib.hasPrefix builtins.storeDir path) [ cfg.adminTokenFile cfg.peerTokenFile ];
        message = "services.rtbd.adminTokenFile and peerTokenFile must not be in the Nix store, which every user can read.";
      }
    ]
    ++ lib.concatMap (
      l:
      let
        cert = cfg."${l.option}CertFile";
        key = cfg."${l.option}KeyFile";
      in
      [
        {
          assertion = (cert == null) == (key == null);
          message = "services.rtbd.${l.option}CertFile and ${l.option}KeyFile go together.";
        }
        {
          assertion = key == null || !lib.hasPrefix builtins.storeDir key;
          message = "services.rtbd.${l.option}KeyFile must not be in the Nix store, which every user can read.";
        }
      ]
    ) tlsListeners
    ++ [
      {
        # Credential names; the paths of http.billOnWinBidPaths have '/'.
        assertion = lib.all (name: builtins.match "[a-z0-9_-]+" name != null) (lib.attrNames cfg.priceKeyFiles);
        message = "services.rtbd.priceKeyFiles: name the exchanges by settings.exchanges names or default.";
      }
    ];

    # The credentials' paths for the unit (systemd LoadCredential=).
    services.rtbd.settings.bidding = lib.mkMerge [
      (mkIf (cfg.noticeKeyFile != null) {
        noticeKeyFile = "/run/credentials/rtbd.service/notice-keys";
      })
      (mkIf (cfg.priceKeyFiles != { }) {
        priceKeysFiles = lib.mapAttrs (name: _: "/run/credentials/rtbd.service/price-keys-${name}") cfg.priceKeyFiles;
      })
    ];
    services.rtbd.settings.admin = lib.mkMerge [
      (mkIf (cfg.adminTokenFile != null) {
        tokenFile = credentialPath "admin-tokens";
      })
      (mkIf (cfg.adminTlsCertFile != null) {
        tls = tlsFiles "admin-tls";
      })
    ];
    services.rtbd.settings.state = lib.mkMerge [
      (mkIf (cfg.peerTokenFile != null) {
        peerTokenFile = credentialPath "peer-tokens";
      })
      (mkIf (cfg.peerTlsCertFile != null) {
        peerTLS = tlsFiles "peer-tls";
      })
    ];
    services.rtbd.settings.http.tls = mkIf (cfg.tlsCertFile != null) (tlsFiles "tls");

    # `rtbd doctor`, `rtbd log`, and rtbload for deploy.sh's on-host SLO check.
    environment.systemPackages = [ cfg.package ];

    networking.firewall.allowedTCPPorts = lib.optionals cfg.openFirewall (
      [ (listen.port httpAddr) ] ++ lib.optional (tlsAddr != "") (listen.port tlsAddr)
    );

    systemd.sockets.rtbd = mkIf cfg.socketActivation {
      description = "rtbd bid listener socket";
      wantedBy = [ "sockets.target" ];
      listenStreams = [ (listen.socketStream httpAddr) ];
      socketConfig = {
        Backlog = 4096;
        # Bind even before a VIP or address is configured.
        FreeBind = true;
        NoDelay = true;
      };
    };

    systemd.paths.rtbd-credentials = mkIf watchCredentials {
      description = "Watch the files of rtbd's credentials";
      wantedBy = [ "multi-user.target" ];
      # Activates rtbd-credentials.service, below.
      pathConfig.PathChanged = lib.unique (map (c: c.path) credentialFiles);
    };

    systemd.services.rtbd-credentials = mkIf watchCredentials {
      description = "Restart rtbd for its changed credentials";
      serviceConfig = {
        Type = "oneshot";
        ExecStartPre = "${pkgs.coreutils}/bin/sleep ${toString (cfg.credentialSettleSec + cfg.credentialRestartDelaySec)}";
        # Run in turn; a failure stops the rest.
        ExecStart =
          lib.optional waitForPeers "${lib.getExe cfg.package} peers-ready -config ${checkedConfig} -timeout ${toString cfg.credentialPeersWaitSec}s"
          ++ [ "${pkgs.systemd}/bin/systemctl try-restart rtbd.service" ];
        # Peers not ready: try again later (on-failure is allowed for
        # oneshot units; always is not).
        Restart = "on-failure";
        RestartSec = "5min";
      };
    };

    # The daemon's own view of its CPUs: it pins itself to the same set
    # (allowed: ~@resources is kept), and its rtbd_host_check metrics and
    # `rtbd doctor -config` take runtime.cpus as the isolated set; with
    # runtime.cpus empty they fall back to the kernel command line's, and
    # skip the isolation checks when it isolates nothing.
    services.rtbd.settings.runtime = mkIf pinned { cpus = lib.mkDefault cfg.cpus; };

    systemd.slices.rtbd = mkIf pinned {
      description = "rtbd on the isolated CPUs";
      # cgroup-v2 cpuset (reference §2.5: systemd.slices.<n>.sliceConfig).
      sliceConfig.AllowedCPUs = cfg.cpus;
    };

    systemd.services.rtbd = {
      description = "rtbd OpenRTB bid daemon";
      documentation = [ "https://github.com/rtbd/rtbd/blob/main/docs/nixos.md" ];
      wantedBy = [ "multi-user.target" ];
      after = [ "network.target" ] ++ lib.optional cfg.socketActivation "rtbd.socket";
      requires = lib.optional cfg.socketActivation "rtbd.socket";
      # On `switch`, restart in place instead of stop + start: a stop would
      # also stop rtbd.socket (switch-to-configuration does that for
      # socket-activated units) and refuse connections; a restart keeps the
      # socket open and new connections wait in its backlog.
      stopIfChanged = false;
      # Go sizes its scheduler from this; keep it equal to the pinned set.
      environment = lib.optionalAttrs pinned { GOMAXPROCS = toString (cpulist.count cfg.cpus); };
      serviceConfig =
        {
          Type = "notify";
          NotifyAccess = "main";
          ExecStart = "${lib.getExe cfg.package} ${
            utils.escapeSystemdExecArgs ([ "-config" "${checkedConfig}" ] ++ cfg.extraFlags)
          }";
          ExecReload = "${pkgs.coreutils}/bin/kill -HUP $MAINPID";
          Restart = "on-failure";
          RestartSec = "1s";
          WatchdogSec = cfg.watchdogSec;
          # SIGTERM drains (drain.delay + drain.timeout, 8 s by default),
          # then waits up to 2 x state.peerInterval + 1 s (3 s) for the
          # peers' last reading, then saves. rtbd extends this at the stop
          # (EXTEND_TIMEOUT_USEC) to what its drain settings need, plus
          # 20 s for the saves.
          TimeoutStopSec = "30s";
          DynamicUser = true;
          StateDirectory = stateDirs;
          StateDirectoryMode = "0750";
          LimitMEMLOCK = "infinity";
          LimitNOFILE = 1048576;
          AmbientCapabilities = capabilities;
          # An empty list would render no line (all capabilities kept); "" drops them all.
          CapabilityBoundingSet = if capabilities == [ ] then "" else capabilities;

          # Hardening
          DevicePolicy = "closed";
          LockPersonality = true;
          MemoryDenyWriteExecute = true;
          NoNewPrivileges = true;
          PrivateDevices = true;
          PrivateTmp = true;
          PrivateUsers = capabilities == [ ];
          # Not "pid": the daemon exports `rtbd doctor`'s host checks as
          # metrics and reads /proc/cmdline, /proc/interrupts and /proc/irq.
          ProcSubset = "all";
          ProtectClock = true;
          ProtectControlGroups = true;
          ProtectHome = true;
          ProtectHostname = true;
          ProtectKernelLogs = true;
          ProtectKernelModules = true;
          ProtectKernelTunables = true;
          ProtectProc = "invisible";
          ProtectSystem = "strict";
          RemoveIPC = true;
          RestrictAddressFamilies = [
            "AF_INET"
            "AF_INET6"
            "AF_UNIX"
          ];
          RestrictNamespaces = true;
          RestrictRealtime = true;
          RestrictSUIDSGID = true;
          SystemCallArchitectures = "native";
          # Not ~@resources: the daemon may sched_setaffinity (runtime.cpus).
          SystemCallFilter = [
            "@system-service"
            "~@privileged"
          ];
          UMask = "0027";
        }
        // lib.optionalAttrs pinned {
          CPUAffinity = cfg.cpus;
          Slice = "rtbd.slice";
        }
        // lib.optionalAttrs (credentials != [ ]) {
          LoadCredential = credentials;
        };
    };
  };
}
