# eu-west-bid2: bidder, VRRP backup of eu-west (priority 100); 16 CPUs (0-1 housekeeping, 2-15 rtbd). Values live in nixos/inventory.nix.
{
  imports = [
    ../bidder.nix
    ../../hardware/bare-metal-x86.nix
  ];
}
