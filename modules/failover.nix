# Site failover: the bidders of a site share a virtual IP through keepalived
# VRRP (v3, unicast, 100 ms adverts). The track script is rtbd's /readyz, so
# a draining (SIGTERM) or unhealthy daemon gives the address away before it
# stops serving; with rtbd's deadman switch set, a second one lowers the
# priority of a bidder whose control plane went silent. Options of
# services.keepalived verified against
# nixos/modules/services/networking/keepalived/default.nix (nixpkgs, read
# with the code search) and reference §2.9.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.rtbd.failover;
  # The VIP without its prefix length ("10.10.0.10/24" -> "10.10.0.10").
  vipAddress = builtins.head (builtins.split "/" cfg.vip);
  listen = import ../nix/lib/listen.nix;
  inherit (lib) mkDefault mkOption types;

  adminAddr = config.services.rtbd.settings.admin.listenAddress;
  admin =
    if adminAddr == "" then
      throw "rtbd.failover: services.rtbd.settings.admin.listenAddress is empty; set rtbd.failover.readyURL"
    else
      listen.parse adminAddr;
  adminHost =
    if admin.host == "" || admin.host == "0.0.0.0" then
      "127.0.0.1"
    else if admin.host == "[::]" then
      "[::1]"
    else
      admin.host;
  # The deadman switch (rtbd data.deadman), tracked when it is set; set to
  # a zero duration, /admin/heartbeat answers 200 and the check never fails.
  trackDeadman = (config.services.rtbd.settings.data.deadman or null) != null;
  # host:port of a bidder's peer listener; IPv6 addresses take brackets.
  hostPort = port: ip: if lib.hasInfix ":" ip then "[${ip}]:${toString port}" else "${ip}:${toString port}";
  peerURL =
    ip:
    if cfg.readPeersOverTls then
      "https://${hostPort cfg.spendTlsPort ip}"
    else
      "http://${hostPort cfg.spendPort ip}";
in
{
  # interface
  options.rtbd.failover = {
    enable = lib.mkEnableOption "VRRP failover of the bid VIP between the bidders of a site";
    interface = mkOption {
      type = types.str;
      example = "enp65s0f0np0";
      description = "Interface carrying the VIP and the VRRP adverts.";
    };
    virtualRouterId = mkOption {
      type = types.ints.between 1 255;
      example = 51;
      description = "VRRP router id, unique per site network.";
    };
    priority = mkOption {
      type = types.ints.between 1 254;
      default = 100;
      example = 150;
      description = "VRRP priority; the ready host with the highest one holds the VIP.";
    };
    vip = mkOption {
      type = types.str;
      example = "10.10.0.10/24";
      description = "Virtual address (with prefix length) the exchanges send bid requests to.";
    };
    unicastSrcIp = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "10.10.0.11";
      description = "This host's address for unicast adverts.";
    };
    unicastPeers = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "10.10.0.12" ];
      description = "Addresses of the other bidders of the site; empty means multicast.";
    };
    advertInterval = mkOption {
      type = types.str;
      default = "0.1";
      example = "1";
      description = ''
        advert_int in seconds. Sub-second values need VRRP v3 (set here);
        0.1 moved the VIP in 0.33 s on this project's test bench.
      '';
    };
    shareBudgets = mkOption {
      type = types.bool;
      default = cfg.unicastSrcIp != null && cfg.unicastPeers != [ ];
      defaultText = lib.literalMD "true with `unicastSrcIp` and `unicastPeers` set";
      description = ''
        Count the other bidders' spend against every campaign's budgets
        (rtbd `state.peers`), so that the host that takes the VIP over does
        not start from what it alone spent. Each bidder serves its own
        spend on `spendPort`, opened in the firewall on `interface` only,
        and reads its peers' every second. Set `services.rtbd.peerTokenFile`
        so that only the peers can read it, and `spendTlsPort` so that it
        does not cross the network in clear.
      '';
    };
    spendPort = mkOption {
      type = types.nullOr types.port;
      default = 9091;
      description = ''
        TCP port of rtbd's peer listener (`state.peerListenAddress`) on
        every bidder of the site; null serves none (with `spendTlsPort`
        and `readPeersOverTls`).
      '';
    };
    spendTlsPort = mkOption {
      type = types.nullOr types.port;
      default = null;
      example = 9092;
      description = ''
        TCP port of rtbd's peer listener over HTTPS
        (`state.peerTLS.listenAddress`), with the certificate of
        `services.rtbd.peerTlsCertFile`, opened on `interface` only. To
        move a site to it with no gap in the sharing, deploy each step to
        every bidder before the next: set this (and the certificate), then
        `readPeersOverTls`, then `spendPort = null`.
      '';
    };
    readPeersOverTls = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Read the peers as `https://PEER:spendTlsPort` (`state.peers`),
        checking their certificates against
        `services.rtbd.settings.state.peerTLS.caFile` (default: the
        system's roots). Needs `spendTlsPort`.
      '';
    };
    readyURL = mkOption {
      type = types.str;
      default = "http://${adminHost}:${toString admin.port}/readyz";
      defaultText = lib.literalMD "`/readyz` on `services.rtbd.settings.admin.listenAddress`";
      description = "URL whose 2xx answer means this host may hold the VIP.";
    };
    deadmanURL = mkOption {
      type = types.str;
      default = "http://${adminHost}:${toString admin.port}/admin/heartbeat";
      defaultText = lib.literalMD "`/admin/heartbeat` on `services.rtbd.settings.admin.listenAddress`";
      description = ''
        URL that fails while rtbd's deadman switch has tripped; tracked
        when `services.rtbd.settings.data.deadman` is set.
      '';
    };
    deadmanWeight = mkOption {
      type = types.ints.between 1 253;
      default = 100;
      description = ''
        Priority a bidder loses while its deadman switch has tripped (no
        reload or heartbeat from the control plane for
        `services.rtbd.settings.data.deadman`): more than the spread of the
        site's priorities, so that a bidder whose control plane went silent
        gives the VIP to one that still hears it, and keeps it when none
        does (a no-bid answer beats no answer).
      '';
    };
  };

  # implementation
  config = lib.mkIf cfg.enable {
    assertions = [
      {
        assertion = !cfg.shareBudgets || cfg.unicastPeers != [ ];
        message = "rtbd.failover.shareBudgets needs rtbd.failover.unicastPeers: the peers whose spend counts.";
      }
      {
        assertion = !cfg.readPeersOverTls || cfg.spendTlsPort != null;
        message = "rtbd.failover.readPeersOverTls needs rtbd.failover.spendTlsPort.";
      }
      {
        assertion = cfg.readPeersOverTls || cfg.spendPort != null;
        message = "rtbd.failover.spendPort = null needs readPeersOverTls: the peers would read a port no bidder serves.";
      }
      {
        assertion = cfg.spendTlsPort == null || config.services.rtbd.peerTlsCertFile != null;
        message = "rtbd.failover.spendTlsPort needs services.rtbd.peerTlsCertFile and peerTlsKeyFile.";
      }
    ];
    services.rtbd.settings.state = lib.mkIf cfg.shareBudgets (
      {
        peers = mkDefault (map peerURL cfg.unicastPeers);
      }
      # Every address: binding unicastSrcIp would fail while the interface
      # is still coming up. The firewall opens the ports on `interface` only.
      // lib.optionalAttrs (cfg.spendPort != null) {
        peerListenAddress = mkDefault ":${toString cfg.spendPort}";
      }
      // lib.optionalAttrs (cfg.spendTlsPort != null) {
        peerTLS.listenAddress = mkDefault ":${toString cfg.spendTlsPort}";
      }
    );
    networking.firewall.interfaces.${cfg.interface}.allowedTCPPorts = lib.optionals cfg.shareBudgets (
      lib.filter (p: p != null) [
        cfg.spendPort
        cfg.spendTlsPort
      ]
    );

    services.keepalived = {
      enable = true;
      # iptables rules for protocols vrrp and ah (reference §2.9; add
      # networking.firewall.extraInputRules yourself with nftables).
      openFirewall = mkDefault true;
      enableScriptSecurity = mkDefault true;
      extraGlobalDefs = ''
        vrrp_version 3
      '';
      vrrpScripts.rtbd_ready = {
        script = "${pkgs.curl}/bin/curl -fsS --max-time 0.5 -o /dev/null ${cfg.readyURL}";
        # Integer seconds only. weight 0: a failing check puts the instance
        # in FAULT, which releases the VIP at once. Two failures (<= 2 s)
        # stay inside rtbd's drain.delay, set >= 3 s on bidders.
        interval = mkDefault 1;
        timeout = mkDefault 1;
        fall = mkDefault 2;
        rise = mkDefault 2;
        weight = 0;
        user = "keepalived_script";
      };
      vrrpScripts.rtbd_deadman = lib.mkIf trackDeadman {
        script = "${pkgs.curl}/bin/curl -fsS --max-time 0.5 -o /dev/null ${cfg.deadmanURL}";
        interval = mkDefault 1;
        timeout = mkDefault 1;
        fall = mkDefault 2;
        rise = mkDefault 2;
        # Negative: a failing check lowers the priority, no FAULT.
        weight = -cfg.deadmanWeight;
        user = "keepalived_script";
      };
      vrrpInstances.rtbd = {
        inherit (cfg)
          interface
          virtualRouterId
          priority
          unicastSrcIp
          unicastPeers
          ;
        # Every node starts BACKUP; priority decides, so a rebooted node
        # does not grab the VIP before rtbd is ready.
        state = "BACKUP";
        virtualIps = [ { addr = cfg.vip; } ];
        trackScripts = [ "rtbd_ready" ] ++ lib.optional trackDeadman "rtbd_deadman";
        extraConfig = ''
          advert_int ${cfg.advertInterval}
        '';
      };
    };

    # The VIP also sits on lo on every bidder, as on an LVS direct-routing
    # real server, and only the VRRP master answers ARP for it. A host that
    # has just released the VIP still accepts what clients send it until
    # their ARP entry moves, so a planned drain loses no request (measured
    # in tests/system TestDrain: 0 failed with this, 16 timeouts without).
    networking.interfaces.lo.ipv4.addresses = [
      {
        address = vipAddress;
        prefixLength = 32;
      }
    ];
    boot.kernel.sysctl."net.ipv4.conf.all.arp_ignore" = mkDefault 1;
    boot.kernel.sysctl."net.ipv4.conf.all.arp_announce" = mkDefault 2;

    # The track script's user; the nixpkgs module does not create it.
    users.users.keepalived_script = {
      isSystemUser = true;
      group = "keepalived_script";
    };
    users.groups.keepalived_script = { };
  };
}
