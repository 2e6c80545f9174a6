# The bidder role: rtbd, the full tuning set and VRRP failover, configured
# from this host's inventory entry (`host`, passed by nixos/hosts/default.nix).
{
  self,
  inventory,
  host,
  lib,
  ...
}:
let
  region = inventory.regions.${host.region};
in
{
  imports = [
    self.nixosModules.rtbd
    self.nixosModules.tuning
    self.nixosModules.failover
    self.nixosModules.profile-server
  ];

  networking.hostName = host.name;
  system.stateVersion = "26.05";

  # Static addressing from the inventory; no DHCP on any interface.
  networking.useDHCP = false;
  systemd.network.networks."10-uplink" = {
    matchConfig.Name = host.nic;
    address = [ "${host.address}/${toString region.prefixLength}" ];
    networkConfig.Gateway = region.gateway;
  };

  users.users.root.openssh.authorizedKeys.keys = inventory.sshKeys;
  # With password logins off and users immutable, the inventory's
  # placeholder key would leave the host with no login at all; deploy.sh
  # refuses to roll it out.
  warnings = lib.optional (lib.any (k: lib.hasInfix "Placeholder" k) inventory.sshKeys)
    "nixos/inventory.nix: sshKeys still holds the placeholder: replace it with the deploy key, or this host accepts no login.";

  rtbd.tuning = {
    cpus = { inherit (host.cpus) count isolated; };
    irq.interfaces = [ host.nic ];
    # No hugepages reserved: rtbd maps none, and a reservation is memory
    # no other allocation can use. Putting the snapshot's arrays in 2 MiB
    # pages (MAP_HUGETLB) gave no gain beyond the noise at 100,000
    # campaigns (BenchmarkHandler, 4 interleaved rounds); reserve them
    # here (hugepages.count2M) when something uses them.
  };

  services.rtbd = {
    enable = true;
    openFirewall = true;
    settings = {
      http.listenAddress = ":${toString inventory.bidPort}";
      admin.listenAddress = "127.0.0.1:${toString inventory.adminPort}";
      bidding.hostID = host.hostID;
      # Longer than the VRRP check's fall time (2 x 1 s), so the VIP leaves
      # before the daemon stops accepting.
      drain.delay = "3s";
    };
    # Secrets renewed on every host of the region at once restart them
    # in rollout order, 2 minutes apart, each waiting for its peers.
    credentialRestartDelaySec = host.rank * 120;
  };

  rtbd.failover = {
    enable = true;
    interface = host.nic;
    inherit (region) virtualRouterId;
    inherit (host) priority;
    vip = "${region.vip}/${toString region.prefixLength}";
    unicastSrcIp = host.address;
    unicastPeers = host.peers;
  };
}
