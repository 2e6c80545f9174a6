# Kernel runtime knobs of tuned's latency-performance and network-latency
# profiles (reference §1.1). Every value is mkDefault so a host can override
# one. No kernel.sched_*granularity* sysctls: tuned dropped them in 2021
# (rhbz#1957829), they moved to debugfs in 5.13 and are gone with EEVDF.
{ config, lib, ... }:
let
  cfg = config.rtbd.tuning.sysctl;
  inherit (lib) mkDefault;
in
{
  # interface
  options.rtbd.tuning.sysctl.enable = lib.mkEnableOption "low-latency sysctls (tuned network-latency)";

  # implementation; option boot.kernel.sysctl verified in reference §2.2.
  config = lib.mkIf cfg.enable {
    boot.kernel.sysctl = {
      # Busy-poll the NIC queue for 50 us before sleeping on a socket read.
      # https://docs.kernel.org/networking/napi.html#busy-polling
      "net.core.busy_read" = mkDefault 50;
      "net.core.busy_poll" = mkDefault 50;
      # TFO for clients and servers (network-latency).
      "net.ipv4.tcp_fastopen" = mkDefault 3;
      # NUMA balancing unmaps pages to sample access: page faults on the hot path.
      "kernel.numa_balancing" = mkDefault 0;
      # Timers stay on the CPU that armed them instead of migrating to busy ones.
      "kernel.timer_migration" = mkDefault 0;
      # The NMI watchdog fires a perf interrupt on every CPU, isolated ones too.
      "kernel.nmi_watchdog" = mkDefault 0;
      # vmstat refresh every 10 s instead of 1 s: fewer per-CPU kworker wakeups.
      "vm.stat_interval" = mkDefault 10;
      # Long hung-task timeout: heavy I/O on housekeeping CPUs is not a hang.
      "kernel.hung_task_timeout_secs" = mkDefault 600;
      # latency-performance: keep anonymous memory in RAM; flush dirty pages early.
      "vm.swappiness" = mkDefault 10;
      "vm.dirty_ratio" = mkDefault 10;
      "vm.dirty_background_ratio" = mkDefault 3;
    };
  };
}
