# Kernel command line for a partitioned latency host, as a pure function of
# the CPU layout (builtins only; tested by nix/lib/tests.nix). The model is
# tuned's cpu-partitioning + network-latency profiles, see
# https://github.com/redhat-performance/tuned/tree/master/profiles and
# https://docs.kernel.org/admin-guide/kernel-parameters.html
let
  cpulist = import ./cpulist.nix;
  inherit (builtins) filter elem;

  # cpu { isolated = "2-15"; housekeeping = "0-1"; }
  cpu =
    { isolated, housekeeping }:
    let
      iso = cpulist.parse isolated;
      hk = cpulist.parse housekeeping;
      overlap = filter (c: elem c hk) iso;
      isoS = cpulist.render iso;
      hkS = cpulist.render hk;
    in
    if iso == [ ] then
      [ ]
    else if hk == [ ] then
      throw "kernel-params: housekeeping CPUs must not be empty when CPUs ${isoS} are isolated"
    else if overlap != [ ] then
      throw "kernel-params: CPUs ${cpulist.render overlap} are both isolated and housekeeping"
    else
      [
        # Stop the scheduler tick on isolated CPUs that run one task
        # (cpu-partitioning `+nohz=on nohz_full=`).
        "nohz=on"
        "nohz_full=${isoS}"
        # Offload RCU callbacks to kthreads on housekeeping CPUs.
        "rcu_nocbs=${isoS}"
        # Default affinity of every IRQ (realtime-virtual-host profile).
        "irqaffinity=${hkS}"
        # Keep managed (per-queue, kernel-placed) IRQs off isolated CPUs. No
        # `domain` flag: Go's many threads need the kernel to balance them
        # across the isolated CPUs, and domain isolation turns that off.
        "isolcpus=managed_irq,${isoS}"
        # network-latency `cmdline_network_latency`.
        "skew_tick=1"
        "tsc=reliable"
        "rcupdate.rcu_normal_after_boot=1"
        "rcutree.nohz_full_patience_delay=1000"
        # cpu-partitioning: the soft-lockup detector would wake isolated CPUs.
        "nosoftlockup"
      ];

  # hugepages { "1G" = 4; "2M" = 512; default = "2M"; }: boot-time
  # reservation. 1 GiB pages can only be reserved reliably at boot
  # (https://docs.kernel.org/admin-guide/mm/hugetlbpage.html); each
  # hugepagesz= must precede its hugepages=.
  hugepages =
    pages:
    let
      one = size: n: if n > 0 then [ "hugepagesz=${size}" "hugepages=${toString n}" ] else [ ];
      n1g = pages."1G" or 0;
      n2m = pages."2M" or 0;
      def = pages.default or null;
    in
    if n1g < 0 || n2m < 0 then
      throw "kernel-params: hugepage counts must not be negative"
    else if def != null && !(elem def [ "1G" "2M" ]) then
      throw "kernel-params: default hugepage size \"${def}\" must be 1G or 2M"
    else
      (if def != null then [ "default_hugepagesz=${def}" ] else [ ]) ++ one "1G" n1g ++ one "2M" n2m;

  # thp "never": transparent hugepages mode (network-latency uses never).
  thp =
    mode:
    if elem mode [ "always" "madvise" "never" ] then
      [ "transparent_hugepage=${mode}" ]
    else
      throw "kernel-params: transparent_hugepage mode \"${mode}\" must be always, madvise or never";
  hugepageParams = hugepages;
  thpParams = thp;
in
{
  inherit cpu hugepages thp;

  # all { isolated; housekeeping; hugepages ? { }; thp ? "never"; }: the
  # whole list, in the order the tuning modules add it.
  all =
    {
      isolated,
      housekeeping,
      hugepages ? { },
      thp ? "never",
    }:
    cpu { inherit isolated housekeeping; } ++ hugepageParams hugepages ++ thpParams thp;
}
