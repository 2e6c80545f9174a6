# Power policy: run at full clock and keep isolated CPUs out of deep C-states,
# whose exit latency (tens to hundreds of us) lands on the next request.
# tuned latency-performance holds /dev/cpu_dma_latency open; the stateless
# per-CPU equivalent is pm_qos_resume_latency_us (reference §1.1,
# https://docs.kernel.org/admin-guide/pm/cpuidle.html#power-management-quality-of-service-for-cpus).
{ config, lib, ... }:
let
  cfg = config.rtbd.tuning.power;
  cpus = config.rtbd.tuning.cpus;
  cpulist = import ../../nix/lib/cpulist.nix;
  inherit (lib) mkDefault mkOption types;
in
{
  imports = [ ./layout.nix ];

  # interface
  options.rtbd.tuning.power = {
    enable = lib.mkEnableOption "performance governor and C-state limits";
    governor = mkOption {
      type = types.str;
      default = "performance";
      example = "schedutil";
      description = "cpufreq governor (powerManagement.cpuFreqGovernor). The unit is skipped in VMs.";
    };
    resumeLatency = mkOption {
      type = types.str;
      default = "n/a";
      example = "2";
      description = ''
        Value written to /sys/devices/system/cpu/cpuN/power/pm_qos_resume_latency_us
        for each isolated CPU: "n/a" allows no idle state but polling (lowest
        wake-up latency, most power), a number N allows idle states that
        wake within N us (tuned caps at C1, about 2), "0" removes the limit.
      '';
    };
  };

  # implementation
  config = lib.mkIf cfg.enable {
    # tuned latency-performance `governor=performance`; option verified in
    # reference §2.4.
    powerManagement.cpuFreqGovernor = mkDefault cfg.governor;

    systemd.tmpfiles.settings."10-rtbd-power" = lib.listToAttrs (
      map (cpu: {
        name = "/sys/devices/system/cpu/cpu${toString cpu}/power/pm_qos_resume_latency_us";
        value.w.argument = mkDefault cfg.resumeLatency;
      }) (cpulist.parse cpus.isolated)
    );
  };
}
