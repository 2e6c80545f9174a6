# Transparent hugepages off: khugepaged compaction and THP faults add
# millisecond stalls on the request path. tuned network-latency sets
# transparent_hugepages=never; the Go runtime does not need THP.
# https://github.com/redhat-performance/tuned/blob/master/profiles/network-latency/tuned.conf
{ config, lib, ... }:
let
  cfg = config.rtbd.tuning.thp;
  kernelParams = import ../../nix/lib/kernel-params.nix;
in
{
  # interface
  options.rtbd.tuning.thp = {
    enable = lib.mkEnableOption "transparent hugepage policy";
    mode = lib.mkOption {
      type = lib.types.enum [ "always" "madvise" "never" ];
      default = "never";
      example = "madvise";
      description = "Value of transparent_hugepage= and /sys/kernel/mm/transparent_hugepage/{enabled,defrag}.";
    };
  };

  # implementation
  config = lib.mkIf cfg.enable {
    boot.kernelParams = kernelParams.thp cfg.mode;
    # Also at run time, so a `switch` applies it before the next reboot.
    systemd.tmpfiles.settings."10-rtbd-thp" = {
      "/sys/kernel/mm/transparent_hugepage/enabled".w.argument = lib.mkDefault cfg.mode;
      "/sys/kernel/mm/transparent_hugepage/defrag".w.argument = lib.mkDefault cfg.mode;
    };
  };
}
