# Unit tests for modules/tuning/*.nix's own logic: what each tuning
# concern sets on the host from the CPU layout and its options (kernel
# parameters, the units' affinity, the sysfs writes, the IRQ units'
# commands) and the layout's assertions. Run:
#   nix-instantiate --eval --strict nix/tests/tuning-module.nix
# Without nixpkgs (CI: .ci/nix-checks.sh), the modules are called with
# ./stub-lib.nix, which checks what they compute, not the module system.
let
  lib = import ./stub-lib.nix;
  inherit (import ./check.nix) eq check failing;
  inherit (builtins) attrNames elem mapAttrs;

  # tuning name cfg cpus: modules/tuning/NAME.nix with rtbd.tuning.NAME =
  # cfg and rtbd.tuning.cpus = cpus, each over its options' defaults and
  # through their apply functions, as the module system reads them.
  tuning =
    name: cfg: cpus:
    let
      args = {
        inherit lib;
        config.rtbd.tuning = {
          ${name} = applyOf m.options.rtbd.tuning.${name} (defaultsOf m.options.rtbd.tuning.${name} // cfg);
          cpus = applyOf layout.options.rtbd.tuning.cpus (defaultsOf layout.options.rtbd.tuning.cpus // cpus);
        };
        config.services.rtbd.package = "rtbd";
        pkgs.ethtool = "ethtool";
        utils.escapeSystemdPath = builtins.replaceStrings [ "-" ] [ "\\x2d" ];
      };
      m = import (../../modules/tuning + "/${name}.nix") args;
      layout = import ../../modules/tuning/layout.nix args;
    in
    m // { inherit layout; };
  # An option's default; mkEnableOption's is false.
  defaultsOf = mapAttrs (_: o: o.default or false);
  # applyOf options values: each value through its option's apply.
  applyOf = options: mapAttrs (n: v: (options.${n}.apply or (x: x)) v);
  # set name cfg cpus: what the module sets when its condition holds, else null.
  set =
    name: cfg: cpus:
    let
      c = (tuning name cfg cpus).config;
    in
    if c.condition then c.content else null;
  on = cfg: { enable = true; } // cfg;

  # A 16-CPU host with CPUs 2-15 for rtbd.
  host = {
    count = 16;
    isolated = "2-15";
  };
  housekeeping = cpus: (tuning "cpu" { } cpus).layout.options.rtbd.tuning.cpus.housekeeping.default;
  failingLayout =
    cpus: failing (tuning "cpu" { } cpus).layout.config.assertions;

  cpu = set "cpu" (on { }) host;
  irq = cfg: set "irq" (on ({ interfaces = [ "eth0" ]; } // cfg)) host;
  irqScript = cfg: (irq cfg).systemd.services.rtbd-irq-eth0.script;
  # has s sub: whether sub occurs in s.
  has = s: sub: lib.hasInfix sub s;
  failingIrq = cfg: cpus: failing (set "irq" (on cfg) cpus).assertions;
  power = cfg: cpus: set "power" (on cfg) cpus;
  thp = cfg: set "thp" (on cfg) { };
  hugepages = cfg: (set "hugepages" (on cfg) { }).boot.kernelParams;
  defaults = import ../../modules/tuning/default.nix { inherit lib; };
in
check "tuning-module.nix" [
  # The layout.
  (eq "housekeeping is every CPU of count not isolated" (housekeeping host) "0-1")
  (eq "housekeeping of a split isolated set" (housekeeping {
    count = 8;
    isolated = "1-3,5-7";
  }) "0,4")
  (eq "no housekeeping without isolated CPUs" (housekeeping { count = 16; }) "")
  (eq "no housekeeping without the CPU count" (housekeeping { isolated = "2-15"; }) "")
  (eq "isolated CPUs without a count fail an assertion" (failingLayout { isolated = "2-15"; }) [
    "rtbd.tuning.cpus: set count (or housekeeping) when isolated = \"2-15\"."
  ])
  (eq "isolated CPUs with housekeeping given pass" (failingLayout {
    isolated = "2-15";
    housekeeping = "0-1";
  }) [ ])
  (eq "no isolated CPUs pass" (failingLayout { }) [ ])
  (eq "CPU lists reach every consumer in the kernel's form" (
    let
      spaced = {
        count = 16;
        isolated = "2-7, 10-15";
      };
      c = set "irq" (on {
        interfaces = [ "eth0" ];
        irqbalance = "ban";
        rpsCpus = " 0 - 1";
      }) spaced;
    in
    [
      (housekeeping spaced)
      (elem "nohz_full=2-7,10-15" (set "cpu" (on { }) spaced).boot.kernelParams)
      c.systemd.services.irqbalance.environment.IRQBALANCE_BANNED_CPULIST
      (has c.systemd.services.rtbd-irq-eth0.script "-cpus 0-1,8-9 -rps 0-1")
    ]
  ) [ "0-1,8-9" true "2-7,10-15" true ])
  (eq "housekeeping given by hand is normalised" (
    (set "cpu" (on { }) {
      isolated = "2-15";
      housekeeping = "1, 0";
    }).systemd.settings.Manager.CPUAffinity
  ) "0-1")

  # CPU partitioning.
  (eq "the kernel isolates the CPUs" (map (p: elem p cpu.boot.kernelParams) [
    "nohz_full=2-15"
    "rcu_nocbs=2-15"
    "irqaffinity=0-1"
    "isolcpus=managed_irq,2-15"
  ]) [ true true true true ])
  (eq "PID 1 and every unit on the housekeeping CPUs" cpu.systemd.settings.Manager.CPUAffinity "0-1")
  (eq "unbound workqueues on the housekeeping CPUs (mask)"
    cpu.systemd.tmpfiles.settings."10-rtbd-cpu"."/sys/devices/virtual/workqueue/cpumask".w.argument
    "3"
  )
  (eq "no partitioning without isolated CPUs" (set "cpu" (on { }) { count = 16; }) null)
  (eq "no partitioning when disabled" (set "cpu" { } host) null)

  # NIC interrupts.
  (eq "one unit per interface" (attrNames
    (irq {
      interfaces = [
        "eth0"
        "enp65s0f0np0"
      ];
    }).systemd.services
  ) [ "rtbd-irq-enp65s0f0np0" "rtbd-irq-eth0" ])
  (eq "the unit runs once the links are up" (
    let
      u = (irq { }).systemd.services.rtbd-irq-eth0;
    in
    [
      (builtins.elem "network-online.target" u.after)
      u.wants
    ]
  ) [ true [ "network-online.target" ] ])
  (eq "the unit pins the IRQs to the housekeeping CPUs, RPS off" (has (irqScript { })
    "rtbd irq -interface eth0 -cpus 0-1 -rps off\n"
  ) true)
  (eq "one queue per housekeeping CPU by default" (has (irqScript { }) "ethtool -L eth0 combined 2 ||") true)
  (eq "channels null leaves the queues" (has (irqScript { channels = null; }) "ethtool") false)
  (eq "RPS CPUs and XPS are passed" (has (irqScript {
    rpsCpus = "0-1";
    xps = "on";
  }) "-rps 0-1 -xps on") true)
  (eq "the unit runs before rtbd, on the housekeeping CPUs, once per NIC appearance" (
    let
      u = (irq { }).systemd.services.rtbd-irq-eth0;
    in
    [
      u.before
      u.serviceConfig.CPUAffinity
      u.wantedBy
    ]
  ) [ [ "rtbd.service" ] "0-1" [ "sys-subsystem-net-devices-eth0.device" ] ])
  (eq "irqbalance off by default" (irq { }).services.irqbalance.enable false)
  (eq "irqbalance ban keeps it off the isolated CPUs" (
    let
      c = irq { irqbalance = "ban"; };
    in
    [
      c.services.irqbalance.enable
      c.systemd.services.irqbalance.environment.IRQBALANCE_BANNED_CPULIST
    ]
  ) [ true "2-15" ])
  (eq "interfaces without housekeeping CPUs fail an assertion" (failingIrq { interfaces = [ "eth0" ]; } { }) [
    "rtbd.tuning.irq: set rtbd.tuning.cpus.{count,isolated} (housekeeping is empty)."
  ])
  (eq "no interfaces need no layout" (failingIrq { } { }) [ ])

  # Power.
  (eq "each isolated CPU allows polling idle only" (
    (power { } {
      count = 4;
      isolated = "2-3";
    }).systemd.tmpfiles.settings."10-rtbd-power"
  ) {
    "/sys/devices/system/cpu/cpu2/power/pm_qos_resume_latency_us".w.argument = "n/a";
    "/sys/devices/system/cpu/cpu3/power/pm_qos_resume_latency_us".w.argument = "n/a";
  })
  (eq "the performance governor" (power { } { }).powerManagement.cpuFreqGovernor "performance")

  # Memory.
  (eq "1 GiB pages as the default size" (hugepages {
    count1G = 4;
    defaultSize = "1G";
  }) [ "default_hugepagesz=1G" "hugepagesz=1G" "hugepages=4" ])
  (eq "no hugepages by default" (hugepages { }) [ ])
  (eq "THP never, at boot and at once" (
    let
      c = thp { };
    in
    [
      c.boot.kernelParams
      c.systemd.tmpfiles.settings."10-rtbd-thp"."/sys/kernel/mm/transparent_hugepage/enabled".w.argument
    ]
  ) [ [ "transparent_hugepage=never" ] "never" ])
  (eq "THP madvise" (thp { mode = "madvise"; }).boot.kernelParams [ "transparent_hugepage=madvise" ])
  (eq "busy polling" (set "sysctl" (on { }) { }).boot.kernel.sysctl."net.core.busy_poll" 50)

  # default.nix turns every concern on, each one a host can turn off.
  (eq "default.nix enables every concern" (mapAttrs (_: c: c.enable) defaults.rtbd.tuning) {
    cpu = true;
    hugepages = true;
    irq = true;
    power = true;
    sysctl = true;
    thp = true;
  })
  (eq "default.nix imports every concern" (map baseNameOf defaults.imports) [
    "layout.nix"
    "cpu.nix"
    "hugepages.nix"
    "irq.nix"
    "power.nix"
    "sysctl.nix"
    "thp.nix"
  ])
]
