# Unit tests for modules/rtbd.nix's own logic: the capabilities, the
# credentials, the settings they set and the assertions. Run:
#   nix-instantiate --eval --strict nix/tests/rtbd-module.nix
# Without nixpkgs (CI: .ci/nix-checks.sh), the module is called with
# ./stub-lib.nix. This checks what the module computes from cfg, not the
# module system (option types, defaults, merging), which needs nixpkgs.
let
  lib = import ./stub-lib.nix;
  inherit (import ./check.nix) eq check;
  failingOf = (import ./check.nix).failing;

  # module cfg: the unit's configuration for services.rtbd = cfg, with
  # the options' defaults as far as the logic reads them.
  module = cfg: (module' cfg).config.content;
  module' = moduleWith { };
  # moduleWith args cfg: the module for services.rtbd = cfg, with args
  # over the stubs of pkgs and utils.
  # The values pass through their options' apply, as the module system
  # reads them.
  moduleWith =
    args: cfg:
    let
      m = import ../../modules/rtbd.nix (
        {
          inherit lib;
          config.services.rtbd = builtins.mapAttrs (
            n: v: (m.options.services.rtbd.${n}.apply or (x: x)) v
          ) (defaults // cfg);
          config.rtbd.tuning.cpus.isolated = "2-15";
          pkgs = stubPkgs;
          utils.escapeSystemdExecArgs = _: "";
        }
        // args
      );
    in
    m;
  stubPkgs = {
    coreutils = "coreutils";
    systemd = "systemd";
    runCommand = name: _: _: name;
    formats.json = _: {
      type = null;
      generate = name: _: name;
    };
  };
  defaults = {
    enable = true;
    package = "rtbd";
    settings = settings { };
    noticeKeyFile = null;
    adminTokenFile = null;
    peerTokenFile = null;
    priceKeyFiles = { };
    tlsCertFile = null;
    tlsKeyFile = null;
    adminTlsCertFile = null;
    adminTlsKeyFile = null;
    peerTlsCertFile = null;
    peerTlsKeyFile = null;
    socketActivation = true;
    checkConfig = false;
    extraFlags = [ ];
    watchdogSec = "10s";
    cpus = "";
    restartOnCredentialChange = true;
    credentialSettleSec = 10;
    credentialRestartDelaySec = 0;
    credentialPeersWaitSec = 600;
  };
  # settings { http.tls.listenAddress = ":443"; }: the sections the logic
  # reads, with the given values merged in.
  settings = update {
    http.listenAddress = ":8080";
    admin.listenAddress = "127.0.0.1:9090";
    eventLog.dir = "";
    state = {
      dir = "";
      peerListenAddress = "";
    };
  };
  update =
    a: b:
    a
    // builtins.mapAttrs (
      n: v: if builtins.isAttrs v && builtins.isAttrs (a.${n} or null) then update a.${n} v else v
    ) b;

  options = cfg: (module' cfg).options.services.rtbd;
  # The build-time check's script, with the JSON files' contents in it:
  # the module with pkgs whose runCommand returns its script and whose
  # JSON generator returns name=JSON.
  checkScript =
    cfg:
    (moduleWith {
      pkgs = stubPkgs // {
        runCommand = _: _: script: script;
        formats.json = _: {
          type = null;
          generate = name: value: "${name}=${builtins.toJSON value}";
        };
      };
      utils.escapeSystemdExecArgs = builtins.concatStringsSep " ";
    } ({ checkConfig = true; } // cfg)).config.content.systemd.services.rtbd.serviceConfig.ExecStart;
  caps = cfg: (module cfg).systemd.services.rtbd.serviceConfig.AmbientCapabilities;
  creds = cfg: (module cfg).systemd.services.rtbd.serviceConfig.LoadCredential or [ ];
  # The files rtbd-credentials.path watches, or null when it is off.
  watched =
    cfg:
    let
      p = (module cfg).systemd.paths.rtbd-credentials;
    in
    if p.condition then p.content.pathConfig.PathChanged else null;
  failing = cfg: failingOf (module cfg).assertions;
  # rtbd-credentials.service: whether it exists, its sleep, its commands
  # in turn and its Restart=.
  restartUnit =
    cfg:
    let
      u = (module cfg).systemd.services.rtbd-credentials;
    in
    [
      u.condition
      u.content.serviceConfig.ExecStartPre
      u.content.serviceConfig.ExecStart
      u.content.serviceConfig.Restart
    ];
  # The contents of the mkIf blocks of a setting that apply.
  applied =
    v:
    if v._type or "" == "merge" then
      builtins.concatMap applied v.contents
    else if v._type or "" == "if" then
      (if v.condition then [ v.content ] else [ ])
    else
      [ v ];


  adminTls = {
    settings = settings { admin.tls.listenAddress = "10.1.0.5:9443"; };
    adminTlsCertFile = "/run/secrets/admin-cert.pem";
    adminTlsKeyFile = "/run/secrets/admin-key.pem";
  };

  cases = [
    # CAP_NET_BIND_SERVICE: only for a low port the daemon binds itself.
    (eq "no low port" (caps { }) [ ])
    (eq "https bid on 443" (caps { settings = settings { http.tls.listenAddress = ":443"; }; }) [ "CAP_NET_BIND_SERVICE" ])
    (eq "https bid on 8443" (caps { settings = settings { http.tls.listenAddress = ":8443"; }; }) [ ])
    (eq "admin https on 443" (caps { settings = settings { admin.tls.listenAddress = "10.1.0.5:443"; }; }) [ "CAP_NET_BIND_SERVICE" ])
    (eq "peer port 991" (caps { settings = settings { state.peerListenAddress = "10.0.0.1:991"; }; }) [ "CAP_NET_BIND_SERVICE" ])
    (eq "peer https on 443" (caps { settings = settings { state.peerTLS.listenAddress = ":443"; }; }) [ "CAP_NET_BIND_SERVICE" ])
    (eq "bid on 80, socket-activated" (caps { settings = settings { http.listenAddress = ":80"; }; }) [ ])
    (eq "bid on 80, bound by the daemon" (caps {
      settings = settings { http.listenAddress = ":80"; };
      socketActivation = false;
    }) [ "CAP_NET_BIND_SERVICE" ])

    # The admin listener's certificate.
    (eq "admin https credentials" (creds adminTls) [
      "admin-tls-cert:/run/secrets/admin-cert.pem"
      "admin-tls-key:/run/secrets/admin-key.pem"
    ])
    (eq "admin https settings" (applied (module adminTls).services.rtbd.settings.admin) [
      {
        tls = {
          certFile = "/run/credentials/rtbd.service/admin-tls-cert";
          keyFile = "/run/credentials/rtbd.service/admin-tls-key";
        };
      }
    ])
    (eq "admin https passes" (failing adminTls) [ ])
    (eq "admin key in the store" (failing (adminTls // { adminTlsKeyFile = "${builtins.storeDir}/x-key.pem"; })) [
      "services.rtbd.adminTlsKeyFile must not be in the Nix store, which every user can read."
    ])
    (eq "admin cert without key" (failing (adminTls // { adminTlsKeyFile = null; })) [
      "services.rtbd.adminTlsCertFile and adminTlsKeyFile go together."
    ])

    # The other two listeners' certificates, from the same list.
    (eq "bid and peer https credentials" (creds {
      tlsCertFile = "/c";
      tlsKeyFile = "/k";
      peerTlsCertFile = "/pc";
      peerTlsKeyFile = "/pk";
    }) [ "tls-cert:/c" "tls-key:/k" "peer-tls-cert:/pc" "peer-tls-key:/pk" ])
    (eq "peer key without cert" (failing { peerTlsKeyFile = "/pk"; }) [
      "services.rtbd.peerTlsCertFile and peerTlsKeyFile go together."
    ])
    (eq "bid https settings" (applied (module { tlsCertFile = "/c"; tlsKeyFile = "/k"; }).services.rtbd.settings.http.tls) [
      {
        certFile = "/run/credentials/rtbd.service/tls-cert";
        keyFile = "/run/credentials/rtbd.service/tls-key";
      }
    ])
    (eq "no credentials" (creds { }) [ ])

    # Changed credential files restart the unit: reloads do not copy them.
    (eq "watched credential files" (watched {
      tlsCertFile = "/var/lib/acme/bid/cert.pem";
      tlsKeyFile = "/var/lib/acme/bid/key.pem";
      adminTokenFile = "/run/secrets/tokens";
      priceKeyFiles.adx = "/run/secrets/adx";
    }) [
      "/run/secrets/tokens"
      "/run/secrets/adx"
      "/var/lib/acme/bid/cert.pem"
      "/var/lib/acme/bid/key.pem"
    ])
    (eq "a file passed twice is watched once" (watched {
      peerTokenFile = "/run/secrets/tokens";
      adminTokenFile = "/run/secrets/tokens";
    }) [ "/run/secrets/tokens" ])
    (eq "watch off" (watched {
      adminTokenFile = "/t";
      restartOnCredentialChange = false;
    }) null)
    (eq "no credentials, no watch" (watched { }) null)
    (eq "the watch restarts the unit after settling" (restartUnit {
      adminTokenFile = "/t";
      credentialSettleSec = 3;
    }) [ true "coreutils/bin/sleep 3" [ "systemd/bin/systemctl try-restart rtbd.service" ] "on-failure" ])
    # With peers, it waits for them to take bid traffic first, after its
    # own delay; a failed wait stops it before the restart, to try again.
    (eq "the watch waits for the peers" (restartUnit {
      adminTokenFile = "/t";
      credentialRestartDelaySec = 120;
      credentialPeersWaitSec = 300;
      settings = settings { state.peers = [ "http://10.0.0.2:9091" ]; };
    }) [
      true
      "coreutils/bin/sleep 130"
      [
        "rtbd peers-ready -config rtbd.json -timeout 300s"
        "systemd/bin/systemctl try-restart rtbd.service"
      ]
      "on-failure"
    ])
    (eq "no wait for peers when told" (restartUnit {
      adminTokenFile = "/t";
      credentialPeersWaitSec = 0;
      settings = settings { state.peers = [ "http://10.0.0.2:9091" ]; };
    }) [ true "coreutils/bin/sleep 10" [ "systemd/bin/systemctl try-restart rtbd.service" ] "on-failure" ])

    # The build-time check leaves out the data files outside the store,
    # which the build cannot read, and keeps those in it.
    (eq "dry run without host files" (
      let
        s = checkScript {
          settings = settings {
            data = {
              campaignsFile = "/var/lib/rtbd/campaigns.json";
              modelFile = "/nix/store/abc-model.json";
              deadman = "1h";
            };
          };
        };
        has = builtins.match ".*rtbd-dry-run.json=[^ ]*\"data\":\\{\"campaignsFile\":null,\"deadman\":\"1h\",\"modelFile\":\"/nix/store/abc-model.json\"}.*" s;
        lines = builtins.filter builtins.isString (builtins.split "\n" s);
        served = builtins.filter (l: builtins.match ".*ln -s rtbd.json=[^ ]*\"campaignsFile\":\"/var/lib/rtbd/campaigns.json\".*" l != null) lines;
      in
      [ (has != null) (builtins.length served) ]
    ) [ true 1 ])

    # The isolated CPUs.
    (eq "cpus defaults to the tuning's isolated CPUs" (options { }).cpus.default "2-15")
    (eq "pinned to the isolated CPUs" (
      let
        m = module { cpus = "2-15"; };
        u = m.systemd.services.rtbd;
      in
      [
        m.systemd.slices.rtbd.condition
        m.systemd.slices.rtbd.content.sliceConfig.AllowedCPUs
        u.serviceConfig.CPUAffinity
        u.serviceConfig.Slice
        u.environment.GOMAXPROCS
        m.services.rtbd.settings.runtime.condition
        m.services.rtbd.settings.runtime.content.cpus
      ]
    ) [ true "2-15" "2-15" "rtbd.slice" "14" true "2-15" ])
    (eq "cpus reach systemd and runtime.cpus in the kernel's form" (
      let
        m = module { cpus = "2-7, 10-15"; };
        u = m.systemd.services.rtbd;
      in
      [
        m.systemd.slices.rtbd.content.sliceConfig.AllowedCPUs
        u.serviceConfig.CPUAffinity
        u.environment.GOMAXPROCS
        m.services.rtbd.settings.runtime.content.cpus
      ]
    ) [ "2-7,10-15" "2-7,10-15" "12" "2-7,10-15" ])
    (eq "not pinned" (
      let
        m = module { };
      in
      [
        m.systemd.slices.rtbd.condition
        (m.systemd.services.rtbd.serviceConfig ? CPUAffinity)
        m.systemd.services.rtbd.environment
        m.services.rtbd.settings.runtime.condition
      ]
    ) [ false false { } false ])

    # The file options' declarations.
    (eq "key option" (
      let
        o = (options { }).adminTlsKeyFile;
      in
      [
        o.default
        o.example
        o.description
      ]
    ) [ null "/run/secrets/rtbd-admin-key.pem" "Private key of `adminTlsCertFile`, kept out of the Nix store." ])
    (eq "certificate options name their credentials and settings" (map (
      o:
      map (w: lib.hasInfix w (options { }).${o.name}.description) o.words
    ) [
      {
        name = "tlsCertFile";
        words = [ "`tls-cert`" "`tls-key`" "`settings.http.tls.certFile`" "`tlsKeyFile`" ":8443" ];
      }
      {
        name = "adminTlsCertFile";
        words = [ "`admin-tls-cert`" "`settings.admin.tls.certFile`" "`adminTlsKeyFile`" "Scrapers" ];
      }
      {
        name = "peerTlsCertFile";
        words = [ "`peer-tls-key`" "`settings.state.peerTLS.certFile`" "`peerTlsKeyFile`" "caFile" ];
      }
    ]) [
      [ true true true true true ]
      [ true true true true ]
      [ true true true true ]
    ])
    (eq "file options default to null" (map (n: (options { }).${n}.default) [
      "noticeKeyFile"
      "tlsCertFile"
      "adminTlsCertFile"
      "peerTlsCertFile"
      "adminTokenFile"
      "peerTokenFile"
    ]) [ null null null null null null ])
  ];
in
check "nix/tests/rtbd-module.nix" cases
