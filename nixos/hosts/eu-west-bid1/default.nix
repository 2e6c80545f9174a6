# eu-west-bid1: bidder, VRRP master of eu-west (priority 150); 16 CPUs (0-1 housekeeping, 2-15 rtbd). Values live in nixos/inventory.nix.
{
  imports = [
    ../bidder.nix
    ../../hardware/bare-metal-x86.nix
  ];
}
