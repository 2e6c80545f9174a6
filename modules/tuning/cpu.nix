# CPU partitioning: the kernel, PID 1 and every unit stay on the
# housekeeping CPUs; the isolated CPUs run rtbd alone. This is tuned's
# cpu-partitioning profile made declarative (see
# /work/shared/reference/nixos.md §1.1 and
# https://github.com/redhat-performance/tuned/blob/master/profiles/cpu-partitioning/tuned.conf).
{ config, lib, ... }:
let
  cfg = config.rtbd.tuning.cpu;
  cpus = config.rtbd.tuning.cpus;
  cpulist = import ../../nix/lib/cpulist.nix;
  kernelParams = import ../../nix/lib/kernel-params.nix;
  inherit (lib) mkDefault mkIf;
  # Hex mask of the housekeeping CPUs, the format the workqueue files take.
  hkMask = cpulist.maskString cpus.housekeeping;
in
{
  imports = [ ./layout.nix ];

  # interface
  options.rtbd.tuning.cpu.enable = lib.mkEnableOption "CPU partitioning between housekeeping and isolated CPUs";

  # implementation
  config = mkIf (cfg.enable && cpus.isolated != "") {
    # nohz_full, rcu_nocbs, irqaffinity, isolcpus=managed_irq (no domain),
    # skew_tick, …: see nix/lib/kernel-params.nix for each reason. Not
    # mkDefault: a list at default priority would vanish as soon as any
    # other module adds a kernel parameter.
    boot.kernelParams = kernelParams.cpu { inherit (cpus) isolated housekeeping; };

    # tuned [systemd] cpu_affinity: PID 1 and every unit inherit this; rtbd
    # widens its own affinity to the isolated CPUs (services.rtbd.cpus).
    # Option verified in the reference (§2.5, systemd.settings.Manager is a
    # freeform unitOption submodule writing system.conf).
    systemd.settings.Manager.CPUAffinity = mkDefault cpus.housekeeping;

    # tuned [sysfs]: unbound workqueues and writeback only on housekeeping
    # CPUs; correctable machine-check polling off (it fires on every CPU).
    # `w` lines accept globs (tmpfiles.d(5)); option shape as in the
    # reference §2.12.
    systemd.tmpfiles.settings."10-rtbd-cpu" = {
      "/sys/devices/virtual/workqueue/cpumask".w.argument = mkDefault hkMask;
      "/sys/devices/virtual/workqueue/*/cpumask".w.argument = mkDefault hkMask;
      "/sys/bus/workqueue/devices/writeback/cpumask".w.argument = mkDefault hkMask;
      "/sys/devices/system/machinecheck/machinecheck*/ignore_ce".w.argument = mkDefault "1";
    };

    # C-states (PM QoS) are in ./power.nix; IRQs in ./irq.nix.
  };
}
