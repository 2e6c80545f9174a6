# Unit tests for the pure Nix helpers. Run:
#   nix-instantiate --eval --strict nix/lib/tests.nix
# The file evaluates to true, or throws naming every failing case. Builtins
# only, so it runs without nixpkgs (CI: .ci/nix-checks.sh).
let
  cpulist = import ./cpulist.nix;
  kp = import ./kernel-params.nix;
  listen = import ./listen.nix;
  exposeModules = import ./expose-modules.nix;

  inherit (import ../tests/check.nix) eq throws check;

  cases = [
    # cpulist.parse
    (eq "parse range and single" (cpulist.parse "0-3,8") [ 0 1 2 3 8 ])
    (eq "parse sorts and dedups" (cpulist.parse "8,0-2,1,2") [ 0 1 2 8 ])
    (eq "parse tolerates spaces" (cpulist.parse " 2 - 3 , 5 ") [ 2 3 5 ])
    (eq "parse leading zeros" (cpulist.parse "08,010") [ 8 10 ])
    (eq "parse empty" (cpulist.parse "") [ ])
    (eq "parse single-cpu range" (cpulist.parse "4-4") [ 4 ])
    (throws "parse reversed range" (cpulist.parse "3-1"))
    (throws "parse letters" (cpulist.parse "a-b"))
    (throws "parse trailing comma" (cpulist.parse "1,"))
    (throws "parse negative" (cpulist.parse "-1"))
    # cpulist.render / normalize
    (eq "render runs" (cpulist.render [ 0 1 2 3 8 ]) "0-3,8")
    (eq "render unsorted" (cpulist.render [ 9 3 2 8 ]) "2-3,8-9")
    (eq "render singletons" (cpulist.render [ 1 3 5 ]) "1,3,5")
    (eq "render empty" (cpulist.render [ ]) "")
    (eq "normalize" (cpulist.normalize "15,2-14") "2-15")
    (eq "normalize drops spaces" (cpulist.normalize "2-7, 10-15") "2-7,10-15")
    (eq "round trip" (cpulist.render (cpulist.parse "0,2-5,7,9-10")) "0,2-5,7,9-10")
    # complement and count
    (eq "complement housekeeping" (cpulist.complementString 16 "2-15") "0-1")
    (eq "complement holes" (cpulist.complementString 8 "1,3-5") "0,2,6-7")
    (eq "complement of nothing" (cpulist.complementString 4 "") "0-3")
    (eq "complement of all" (cpulist.complementString 4 "0-3") "")
    (throws "complement outside host" (cpulist.complementString 4 "2-5"))
    (eq "count" (cpulist.count "2-15") 14)
    # masks, the /proc/irq/N/smp_affinity format
    (eq "mask cpu 0" (cpulist.maskString "0") "1")
    (eq "mask housekeeping" (cpulist.maskString "0-1") "3")
    (eq "mask isolated of 16" (cpulist.maskString "2-15") "fffc")
    (eq "mask word boundary" (cpulist.maskString "31") "80000000")
    (eq "mask second word" (cpulist.maskString "32") "1,00000000")
    (eq "mask 0 and 32" (cpulist.maskString "0,32") "1,00000001")
    (eq "mask 64 cpus" (cpulist.maskString "0-63") "ffffffff,ffffffff")
    (eq "mask three words" (cpulist.maskString "1,68") "10,00000000,00000002")
    (eq "mask empty" (cpulist.maskString "") "0")
    (eq "toHex" (map cpulist.toHex [ 0 9 10 255 4096 ]) [ "0" "9" "a" "ff" "1000" ])
    # kernel parameters
    (eq "cpu params" (kp.cpu { isolated = "2-15"; housekeeping = "0-1"; }) [
      "nohz=on"
      "nohz_full=2-15"
      "rcu_nocbs=2-15"
      "irqaffinity=0-1"
      "isolcpus=managed_irq,2-15"
      "skew_tick=1"
      "tsc=reliable"
      "rcupdate.rcu_normal_after_boot=1"
      "rcutree.nohz_full_patience_delay=1000"
      "nosoftlockup"
    ])
    (eq "cpu params normalise lists" (builtins.elemAt (kp.cpu { isolated = "3,2"; housekeeping = "1,0"; }) 1) "nohz_full=2-3")
    (eq "no isolation, no params" (kp.cpu { isolated = ""; housekeeping = "0-3"; }) [ ])
    (eq "isolcpus never uses domain" (builtins.filter (p: builtins.match ".*domain.*" p != null) (
      kp.all { isolated = "2-15"; housekeeping = "0-1"; }
    )) [ ])
    (throws "overlapping layout" (kp.cpu { isolated = "1-3"; housekeeping = "0-1"; }))
    (throws "no housekeeping" (kp.cpu { isolated = "0-3"; housekeeping = ""; }))
    (eq "hugepages both" (kp.hugepages { "1G" = 4; "2M" = 512; }) [
      "hugepagesz=1G"
      "hugepages=4"
      "hugepagesz=2M"
      "hugepages=512"
    ])
    (eq "hugepages default size" (kp.hugepages { "2M" = 8; default = "2M"; }) [
      "default_hugepagesz=2M"
      "hugepagesz=2M"
      "hugepages=8"
    ])
    (eq "hugepages none" (kp.hugepages { }) [ ])
    (throws "hugepages bad default" (kp.hugepages { default = "4M"; }))
    (throws "hugepages negative" (kp.hugepages { "2M" = -1; }))
    (eq "thp never" (kp.thp "never") [ "transparent_hugepage=never" ])
    (throws "thp bad mode" (kp.thp "sometimes"))
    (eq "all" (kp.all { isolated = "2-3"; housekeeping = "0-1"; hugepages = { "2M" = 64; }; }) (
      kp.cpu { isolated = "2-3"; housekeeping = "0-1"; } ++ [ "hugepagesz=2M" "hugepages=64" "transparent_hugepage=never" ]
    ))
    # listen addresses
    (eq "listen any" (listen.parse ":8080") { host = ""; port = 8080; })
    (eq "listen v4" (listen.parse "127.0.0.1:9090") { host = "127.0.0.1"; port = 9090; })
    (eq "listen v6" (listen.parse "[::1]:9090") { host = "[::1]"; port = 9090; })
    (eq "socket any" (listen.socketStream ":80") "80")
    (eq "socket v4" (listen.socketStream "10.0.0.1:8080") "10.0.0.1:8080")
    (eq "privileged ports" (listen.privilegedPorts [ "127.0.0.1:9090" ":443" "" "[::1]:80" ":1024" ]) [ 443 80 ])
    (eq "privileged none" (listen.privilegedPorts [ "" ]) [ ])
    (throws "privileged bad address" (listen.privilegedPorts [ "localhost" ]))
    (throws "listen no port" (listen.parse "localhost"))
    (throws "listen port range" (listen.parse ":70000"))
    (throws "listen port zero" (listen.parse ":0"))
    # module names from paths (srvos exposeModules)
    (eq "expose names" (builtins.attrNames (
      exposeModules /x/modules [ /x/modules/rtbd.nix /x/modules/tuning/cpu.nix /x/modules/tuning/default.nix ]
    )) [ "rtbd" "tuning" "tuning-cpu" ])
    (eq "expose keeps _file" (exposeModules /x/m [ /x/m/a.nix ]).a._file "/x/m/a.nix")
    (throws "expose outside base" (exposeModules /x/m [ /y/a.nix ]))
  ];
in
check "nix/lib/tests.nix" cases
