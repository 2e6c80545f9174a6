# Unit tests for modules/failover.nix's own logic: the peers' URLs, the
# peer listeners and their firewall ports, the HTTPS rollout's assertions
# and the checks' default URLs. Run:
#   nix-instantiate --eval --strict nix/tests/failover-module.nix
# Without nixpkgs (CI: .ci/nix-checks.sh), the module is called with
# ./stub-lib.nix, which checks what it computes from its options, not the
# module system.
let
  lib = import ./stub-lib.nix;
  inherit (import ./check.nix) eq check;
  failingOf = (import ./check.nix).failing;

  # module cfg rtbd: the module for rtbd.failover = cfg (over the options'
  # defaults) and services.rtbd = rtbd.
  module =
    cfg: rtbd:
    let
      m = import ../../modules/failover.nix {
        inherit lib;
        config = {
          rtbd.failover = defaults // cfg;
          services.rtbd = {
            peerTlsCertFile = null;
            settings.admin.listenAddress = "127.0.0.1:9090";
          }
          // rtbd;
        };
        pkgs.curl = "curl";
      };
      # The options' own defaults, computed from this cfg.
      defaults = builtins.mapAttrs (_: o: o.default) (
        builtins.removeAttrs m.options.rtbd.failover [
          "enable"
          "interface"
          "virtualRouterId"
          "vip"
        ]
      );
    in
    m;
  config = cfg: rtbd: (module cfg rtbd).config.content;
  site = {
    enable = true;
    interface = "eth1";
    virtualRouterId = 51;
    vip = "10.10.0.10/24";
    unicastSrcIp = "10.10.0.11";
    unicastPeers = [
      "10.10.0.12"
      "fd00::12"
    ];
  };
  tlsHost.peerTlsCertFile = "/run/secrets/peer-cert.pem";

  state = cfg: rtbd: (config cfg rtbd).services.rtbd.settings.state;
  peers = cfg: rtbd: (state cfg rtbd).content.peers;
  ports = cfg: rtbd: (config cfg rtbd).networking.firewall.interfaces.eth1.allowedTCPPorts;
  failing = cfg: rtbd: failingOf (config cfg rtbd).assertions;
  default = name: cfg: rtbd: (module cfg rtbd).options.rtbd.failover.${name}.default;


  cases = [
    # Plain HTTP, the default: spendPort, IPv6 in brackets.
    (eq "plain peers" (peers site { }) [
      "http://10.10.0.12:9091"
      "http://[fd00::12]:9091"
    ])
    (eq "plain listener" (state site { }).content.peerListenAddress ":9091")
    (eq "plain port" (ports site { }) [ 9091 ])
    (eq "plain passes" (failing site { }) [ ])
    # The VIP on lo is the address alone: "10.10.0.10/24/32" is no address.
    (eq "vip on lo" (config site { }).networking.interfaces.lo.ipv4.addresses [
      {
        address = "10.10.0.10";
        prefixLength = 32;
      }
    ])
    (eq "shares budgets with unicast peers" (state site { }).condition true)
    (eq "multicast shares nothing" (state (site // { unicastPeers = [ ]; }) { }).condition false)

    # The HTTPS rollout, step by step.
    (eq "step 1: both listeners" (
      let
        s = (state (site // { spendTlsPort = 9092; }) tlsHost).content;
      in
      [
        s.peerListenAddress
        s.peerTLS.listenAddress
      ]
    ) [ ":9091" ":9092" ])
    (eq "step 1: still read over HTTP" (peers (site // { spendTlsPort = 9092; }) tlsHost) [
      "http://10.10.0.12:9091"
      "http://[fd00::12]:9091"
    ])
    (eq "step 1: both ports" (ports (site // { spendTlsPort = 9092; }) tlsHost) [ 9091 9092 ])
    (eq "step 2: read over HTTPS" (peers (site // { spendTlsPort = 9092; readPeersOverTls = true; }) tlsHost) [
      "https://10.10.0.12:9092"
      "https://[fd00::12]:9092"
    ])
    (eq "step 3: HTTPS only" (
      let
        c = site // {
          spendTlsPort = 9092;
          readPeersOverTls = true;
          spendPort = null;
        };
      in
      [
        (ports c tlsHost)
        ((state c tlsHost).content ? peerListenAddress)
        (failing c tlsHost)
      ]
    ) [ [ 9092 ] false [ ] ])
    (eq "https without a certificate" (failing (site // { spendTlsPort = 9092; }) { }) [
      "rtbd.failover.spendTlsPort needs services.rtbd.peerTlsCertFile and peerTlsKeyFile."
    ])
    (eq "read over https without the port" (failing (site // { readPeersOverTls = true; }) { }) [
      "rtbd.failover.readPeersOverTls needs rtbd.failover.spendTlsPort."
    ])
    (eq "no port at all" (failing (site // { spendPort = null; }) { }) [
      "rtbd.failover.spendPort = null needs readPeersOverTls: the peers would read a port no bidder serves."
    ])

    # The checks' URLs from the admin listener's address.
    (eq "readyURL on loopback" (default "readyURL" site { }) "http://127.0.0.1:9090/readyz")
    (eq "readyURL, any v4" (default "readyURL" site { settings.admin.listenAddress = "0.0.0.0:9091"; })
      "http://127.0.0.1:9091/readyz"
    )
    (eq "readyURL, any address" (default "readyURL" site { settings.admin.listenAddress = ":9091"; })
      "http://127.0.0.1:9091/readyz"
    )
    (eq "deadmanURL, any v6" (default "deadmanURL" site { settings.admin.listenAddress = "[::]:9090"; })
      "http://[::1]:9090/admin/heartbeat"
    )
  ];
in
check "nix/tests/failover-module.nix" cases
