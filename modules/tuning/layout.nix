# The host's CPU layout, shared by every tuning module and by services.rtbd:
# which CPUs run only rtbd (isolated) and which run everything else
# (housekeeping). Declaring it changes nothing by itself; the tuning modules
# act on it. Imported by each of them (the module system dedups imports).
{ config, lib, ... }:
let
  cfg = config.rtbd.tuning.cpus;
  cpulist = import ../../nix/lib/cpulist.nix;
  inherit (lib) mkOption types;
in
{
  # interface
  options.rtbd.tuning.cpus = {
    count = mkOption {
      type = types.nullOr types.ints.positive;
      default = null;
      example = 16;
      description = "Number of logical CPUs of the host (from `nproc --all`). Needed to derive the housekeeping set.";
    };
    isolated = mkOption {
      type = types.str;
      default = "";
      example = "2-15";
      # Every consumer (kernel parameters, systemd, irqbalance, the daemon's
      # runtime.cpus) gets the kernel's own form: rtbd and irqbalance parse
      # it strictly, and "2-7, 10-15" would stop them at start.
      apply = cpulist.normalize;
      description = ''
        CPU list (kernel cpulist format) reserved for rtbd: no tick, no RCU
        callbacks, no IRQs, no other units. Empty disables partitioning.
        Normalised to the kernel's form: "2-7, 10-15" reads "2-7,10-15".
      '';
    };
    housekeeping = mkOption {
      type = types.str;
      default =
        if cfg.isolated == "" || cfg.count == null then "" else cpulist.complementString cfg.count cfg.isolated;
      defaultText = lib.literalMD "every CPU of `count` not in `isolated`";
      example = "0-1";
      apply = cpulist.normalize;
      description = "CPU list for the kernel, IRQs, PID 1 and every unit but rtbd, normalised like `isolated`.";
    };
  };

  # implementation
  config.assertions = lib.optionals (cfg.isolated != "") [
    {
      assertion = cfg.housekeeping != "";
      message = "rtbd.tuning.cpus: set count (or housekeeping) when isolated = \"${cfg.isolated}\".";
    }
  ];
}
