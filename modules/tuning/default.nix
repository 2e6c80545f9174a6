# Every tuning concern at once, each enabled with mkDefault so a host can
# turn one off: `rtbd.tuning.thp.enable = false;`.
{ lib, ... }:
{
  imports = [
    ./layout.nix
    ./cpu.nix
    ./hugepages.nix
    ./irq.nix
    ./power.nix
    ./sysctl.nix
    ./thp.nix
  ];
  rtbd.tuning = {
    cpu.enable = lib.mkDefault true;
    hugepages.enable = lib.mkDefault true;
    irq.enable = lib.mkDefault true;
    power.enable = lib.mkDefault true;
    sysctl.enable = lib.mkDefault true;
    thp.enable = lib.mkDefault true;
  };
}
