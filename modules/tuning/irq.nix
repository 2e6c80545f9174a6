# NIC interrupts on housekeeping CPUs: one oneshot unit per interface sets
# the queue count (ethtool -L, tuned realtime [net] channels), pins every
# queue IRQ with `rtbd irq` (the mlnx-tools set_irq_affinity_cpulist.sh
# model, reference §1.2), which also writes the RPS/XPS masks. irqbalance is either off
# (default: it would move the IRQs placed here) or banned from isolated CPUs.
{
  config,
  lib,
  pkgs,
  utils,
  ...
}:
let
  cfg = config.rtbd.tuning.irq;
  cpus = config.rtbd.tuning.cpus;
  cpulist = import ../../nix/lib/cpulist.nix;
  inherit (lib) mkDefault mkOption types;

  unitFor =
    ifname:
    let
      dev = "sys-subsystem-net-devices-${utils.escapeSystemdPath ifname}.device";
    in
    lib.nameValuePair "rtbd-irq-${ifname}" {
      description = "Pin ${ifname} interrupts to housekeeping CPUs ${cpus.housekeeping}";
      bindsTo = [ dev ];
      # Many drivers request their queue IRQs when the link comes up
      # (ndo_open), not when the device appears: pinning before that finds
      # no IRQ to pin. network-online.target waits for the configured
      # links (a link without carrier ends its wait by timeout, and this
      # unit then runs all the same).
      after = [
        dev
        "network-online.target"
      ];
      wants = [ "network-online.target" ];
      wantedBy = [ dev ];
      before = [ "rtbd.service" ];
      path = [ pkgs.ethtool ];
      # Re-run when the NIC reappears or the layout changes.
      script = ''
        ${lib.optionalString (cfg.channels != null) ''
          # Not every driver has combined channels; a failure is not fatal.
          ethtool -L ${ifname} combined ${toString cfg.channels} || echo "ethtool -L ${ifname} failed; keeping queues"
        ''}
        ${lib.getExe cfg.package} irq ${
          lib.escapeShellArgs (
            [
              "-interface"
              ifname
              "-cpus"
              cpus.housekeeping
              "-rps"
              (if cfg.rpsCpus == "" then "off" else cfg.rpsCpus)
            ]
            ++ lib.optionals (cfg.xps != "") [
              "-xps"
              cfg.xps
            ]
          )
        }
      '';
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        CPUAffinity = cpus.housekeeping;
      };
    };
in
{
  imports = [ ./layout.nix ];

  # interface
  options.rtbd.tuning.irq = {
    enable = lib.mkEnableOption "NIC IRQ placement on housekeeping CPUs";
    package = mkOption {
      type = types.package;
      default = config.services.rtbd.package or pkgs.rtbd;
      defaultText = lib.literalExpression "config.services.rtbd.package";
      description = "Package providing `rtbd irq`.";
    };
    interfaces = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "enp65s0f0np0" ];
      description = "NICs whose queue IRQs go to the housekeeping CPUs.";
    };
    channels = mkOption {
      type = types.nullOr types.ints.positive;
      default = if cpus.housekeeping == "" then null else cpulist.count cpus.housekeeping;
      defaultText = lib.literalMD "the number of housekeeping CPUs (tuned realtime `netdev_queue_count`)";
      description = "Combined queue count set with ethtool -L; null leaves the driver default.";
    };
    rpsCpus = mkOption {
      type = types.str;
      default = "";
      example = "0-1";
      # `rtbd irq -rps` parses the kernel's form only.
      apply = cpulist.normalize;
      description = ''
        CPUs for receive packet steering; "" turns RPS off so packets are
        processed on the CPU that took the IRQ (a housekeeping CPU).
        Normalised to the kernel's form, like rtbd.tuning.cpus.isolated.
      '';
    };
    xps = mkOption {
      type = types.enum [
        ""
        "on"
        "off"
      ];
      default = "";
      example = "on";
      description = ''
        Transmit packet steering: "on" maps tx queue i to the i-th
        housekeeping CPU, "off" clears xps_cpus, "" leaves the driver default.
      '';
    };
    irqbalance = mkOption {
      type = types.enum [ "off" "ban" ];
      default = "off";
      description = ''
        "off": no irqbalance (irqaffinity= and this module place every IRQ).
        "ban": run irqbalance with IRQBALANCE_BANNED_CPULIST = isolated CPUs.
      '';
    };
  };

  # implementation
  config = lib.mkIf cfg.enable {
    assertions = [
      {
        assertion = cfg.interfaces == [ ] || cpus.housekeeping != "";
        message = "rtbd.tuning.irq: set rtbd.tuning.cpus.{count,isolated} (housekeeping is empty).";
      }
    ];
    systemd.services = lib.listToAttrs (map unitFor cfg.interfaces) // lib.optionalAttrs (cfg.irqbalance == "ban") {
      # nixpkgs' irqbalance unit drops EnvironmentFile, so set the variable
      # on the unit (reference §2.3).
      irqbalance.environment.IRQBALANCE_BANNED_CPULIST = mkDefault cpus.isolated;
    };
    # Option verified in reference §2.3 (services.irqbalance.enable only).
    services.irqbalance.enable = mkDefault (cfg.irqbalance == "ban");
  };
}
