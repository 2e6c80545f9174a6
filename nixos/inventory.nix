# Regions and bidder hosts: the single source of truth for host
# configurations (nixos/hosts), VRRP peers and the deploy order. Builtins
# only, so CI and deploy.sh can read it without nixpkgs:
#   nix-instantiate --eval --strict --json nixos/inventory.nix > inventory.json
let
  inherit (builtins)
    attrNames
    elemAt
    filter
    genList
    length
    listToAttrs
    map
    sort
    ;

  # 16 logical CPUs: 0-1 run the kernel, IRQs and every other unit; 2-15
  # run rtbd alone (GOMAXPROCS 14).
  cpus16 = {
    count = 16;
    isolated = "2-15";
    housekeeping = "0-1";
  };

  regions = {
    eu-west = {
      vip = "10.10.0.10";
      prefixLength = 24;
      gateway = "10.10.0.1";
      virtualRouterId = 51;
    };
    us-east = {
      vip = "10.20.0.10";
      prefixLength = 24;
      gateway = "10.20.0.1";
      virtualRouterId = 52;
    };
  };

  # priority: the ready host with the highest one holds the VIP.
  hosts = {
    eu-west-bid1 = {
      region = "eu-west";
      address = "10.10.0.11";
      nic = "enp65s0f0np0";
      priority = 150;
      hostID = "ew1";
      cpus = cpus16;
    };
    eu-west-bid2 = {
      region = "eu-west";
      address = "10.10.0.12";
      nic = "enp65s0f0np0";
      priority = 100;
      hostID = "ew2";
      cpus = cpus16;
    };
    us-east-bid1 = {
      region = "us-east";
      address = "10.20.0.11";
      nic = "enp65s0f0np0";
      priority = 150;
      hostID = "ue1";
      cpus = cpus16;
    };
    us-east-bid2 = {
      region = "us-east";
      address = "10.20.0.12";
      nic = "enp65s0f0np0";
      priority = 100;
      hostID = "ue2";
      cpus = cpus16;
    };
  };

  bidPort = 8080;
  adminPort = 9090;

  hostsOf = region: filter (name: hosts.${name}.region == region) (attrNames hosts);
  # A region's hosts in rollout order, lowest VRRP priority first.
  ordered = region: sort (a: b: hosts.${a}.priority < hosts.${b}.priority) (hostsOf region);
  # name's place in its region's rollout order, from 0.
  rankOf =
    name:
    let
      o = ordered hosts.${name}.region;
    in
    elemAt (filter (i: elemAt o i == name) (genList (i: i) (length o))) 0;

  # Each host with its name, its peers and the URLs the deploy script uses.
  expand =
    name:
    let
      h = hosts.${name};
    in
    h
    // {
      inherit name;
      peers = map (p: hosts.${p}.address) (filter (p: p != name) (hostsOf h.region));
      # Its place in the rollout order: hosts whose secrets change at the
      # same moment restart in this order too (credentialRestartDelaySec).
      rank = rankOf name;
      ssh = "root@${h.address}";
      bidURL = "http://${h.address}:${toString bidPort}/openrtb2/bid";
      # The admin listener is on loopback: deploy.sh curls it over ssh.
      readyURL = "http://127.0.0.1:${toString adminPort}/readyz";
    };
in
{
  inherit regions bidPort adminPort;

  hosts = listToAttrs (
    map (name: {
      inherit name;
      value = expand name;
    }) (attrNames hosts)
  );

  # deploy.<region>: hosts in rollout order, lowest VRRP priority first, so
  # the VIP moves once per region (off the master, onto an updated backup).
  deploy = listToAttrs (
    map (region: {
      name = region;
      value = map expand (ordered region);
    }) (attrNames regions)
  );

  # Public keys allowed to log in as root (deploys). Replace before use.
  sshKeys = [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpsPlaceholderReplaceMeWithTheDeployKey0000 deploy@rtbd"
  ];
}
