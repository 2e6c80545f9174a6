# One tuned bidder and one client. Asserts the tuning through /proc and /sys
# (kernel parameters reach the guest: direct boot passes boot.kernelParams
# to QEMU -append, reference §3), then a short open-loop run from the client
# with a generous VM bound. The rtbload result is copied to $out.
{ self }:
let
  bidPort = 8080;
  rate = 300;
in
{
  name = "rtbd-latency";

  nodes.bidder =
    { ... }:
    {
      imports = [
        self.nixosModules.rtbd
        self.nixosModules.tuning
      ];
      virtualisation.cores = 4;
      virtualisation.memorySize = 2048;
      rtbd.tuning.cpus = {
        count = 4;
        isolated = "2-3";
      };
      rtbd.tuning.hugepages.count2M = 64;
      services.rtbd = {
        enable = true;
        openFirewall = true;
        settings.http.listenAddress = ":${toString bidPort}";
      };
    };

  nodes.client =
    { pkgs, ... }:
    {
      environment.systemPackages = [
        self.packages.${pkgs.stdenv.hostPlatform.system}.rtbd
        pkgs.jq
      ];
    };

  testScript = ''
    import json

    start_all()
    bidder.wait_for_unit("rtbd.service")
    bidder.wait_for_open_port(${toString bidPort})
    bidder.wait_until_succeeds("curl -fsS http://127.0.0.1:9090/readyz", timeout=60)

    def read(path):
        return bidder.succeed(f"cat {path}").strip()

    with subtest("kernel command line"):
        cmdline = read("/proc/cmdline")
        for p in ["nohz_full=2-3", "rcu_nocbs=2-3", "irqaffinity=0-1",
                  "isolcpus=managed_irq,2-3", "skew_tick=1",
                  "transparent_hugepage=never", "hugepagesz=2M", "hugepages=64"]:
            t.assertIn(p, cmdline.split())
        t.assertNotIn("domain", cmdline)
        t.assertEqual(read("/sys/devices/system/cpu/nohz_full"), "2-3")

    with subtest("sysfs and sysctl"):
        t.assertIn("[never]", read("/sys/kernel/mm/transparent_hugepage/enabled"))
        t.assertEqual(read("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"), "64")
        t.assertEqual(int(read("/sys/devices/virtual/workqueue/cpumask").replace(",", ""), 16), 0b0011)
        t.assertEqual(read("/sys/devices/system/cpu/cpu2/power/pm_qos_resume_latency_us"), "n/a")
        for key, want in [("net.core.busy_poll", "50"), ("net.core.busy_read", "50"),
                          ("kernel.timer_migration", "0"), ("vm.swappiness", "10"),
                          ("vm.stat_interval", "10")]:
            t.assertEqual(bidder.succeed(f"sysctl -n {key}").strip(), want, key)

    with subtest("CPU placement"):
        t.assertIn("Cpus_allowed_list:\t0-1", read("/proc/1/status"))
        pid = bidder.succeed("systemctl show -p MainPID --value rtbd").strip()
        t.assertIn("Cpus_allowed_list:\t2-3", read(f"/proc/{pid}/status"))
        t.assertIn("GOMAXPROCS=2", bidder.succeed(f"tr '\\0' '\\n' < /proc/{pid}/environ"))
        t.assertEqual(bidder.succeed("systemctl show -p Slice --value rtbd").strip(), "rtbd.slice")

    with subtest("socket activation keeps the port across a restart"):
        # --no-block: a plain restart of a Type=notify unit returns once
        # the new process is ready; and the old one serves through its
        # drain.delay. The request goes once the old one has exited, in
        # the window in which only the socket listens: without socket
        # activation the port is closed then, and it fails.
        old = bidder.succeed("systemctl show -p MainPID --value rtbd").strip()
        bidder.succeed("systemctl restart --no-block rtbd.service")
        bidder.wait_until_fails(f"kill -0 {old}", timeout=30)
        client.succeed("curl -sS -o /dev/null -m 10 -w '%{http_code}' -d '{}' http://bidder:${toString bidPort}/openrtb2/bid | grep -qx 400")
        bidder.wait_until_succeeds("curl -fsS http://127.0.0.1:9090/readyz", timeout=60)

    with subtest("state is saved under the StateDirectory and restored after the restart"):
        bidder.succeed("test -s /var/lib/rtbd/state/spend -a -s /var/lib/rtbd/state/tables")
        bidder.succeed("journalctl -u rtbd.service -b --no-pager | grep -q 'restored state'")
        bidder.succeed("curl -fsS http://127.0.0.1:9090/metrics | grep -q '^rtbd_state_save_errors_total{file=\"spend\"} 0$'")

    with subtest("open-loop latency from the client"):
        client.succeed(
            "rtbload -target http://bidder:${toString bidPort}/openrtb2/bid -allow-remote"
            " -rate ${toString rate} -duration 10s -timeout 1s -progress=false -json"
            " -assert 'p99<100ms,error_rate<=0.001' > /tmp/latency.json",
            timeout=120,
        )
        result = json.loads(client.succeed("cat /tmp/latency.json"))
        t.assertGreater(result["bids"] + result["nobids"], ${toString (rate * 9)})
        client.copy_from_machine("/tmp/latency.json")
  '';
}
