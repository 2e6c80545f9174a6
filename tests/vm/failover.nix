# Two bidders sharing a VIP through keepalived (modules/failover.nix) and a
# client sending open-loop load to the VIP. Subtests: planned drain
# (`systemctl stop rtbd` on the master), a secret changed on both at once
# (the credential restarts take turns) and a crash of the master (link
# down). Bounds are generous for VMs; rtbload results are copied to $out.
# Node addresses: 192.168.1.<n> in alphabetical order of node names
# (bidder1 = .1, bidder2 = .2, client = .3; reference §3).
{ self }:
let
  vip = "192.168.1.100";
  bidPort = 8080;
  tokens = "/run/secrets/rtbd-peer-tokens";
  oldToken = "0123456789abcdef0123456789abcdef";
  newToken = "fedcba9876543210fedcba9876543210";

  bidder =
    {
      priority,
      address,
      peer,
      restartDelay,
    }:
    { ... }:
    {
      imports = [
        self.nixosModules.rtbd
        self.nixosModules.failover
      ];
      virtualisation.cores = 2;
      services.rtbd = {
        enable = true;
        openFirewall = true;
        settings.http.listenAddress = ":${toString bidPort}";
        settings.drain.delay = "3s";
        # A credential, so rtbd-credentials restarts it when it changes,
        # after its own delay and once its peer takes bid traffic.
        peerTokenFile = tokens;
        credentialRestartDelaySec = restartDelay;
      };
      systemd.tmpfiles.rules = [ "f ${tokens} 0600 root root - ${oldToken}" ];
      rtbd.failover = {
        enable = true;
        interface = "eth1";
        virtualRouterId = 51;
        inherit priority;
        vip = "${vip}/24";
        unicastSrcIp = address;
        unicastPeers = [ peer ];
      };
    };
in
{
  name = "rtbd-failover";

  nodes.bidder1 = bidder {
    priority = 150;
    address = "192.168.1.1";
    peer = "192.168.1.2";
    restartDelay = 30; # second in the rollout order
  };
  nodes.bidder2 = bidder {
    priority = 100;
    address = "192.168.1.2";
    peer = "192.168.1.1";
    restartDelay = 0;
  };
  nodes.client =
    { pkgs, ... }:
    {
      environment.systemPackages = [ self.packages.${pkgs.stdenv.hostPlatform.system}.rtbd ];
    };

  testScript = ''
    import json
    import time

    has_vip = "ip -o addr show dev eth1 | grep -q 'inet ${vip}/'"
    target = "http://${vip}:${toString bidPort}/openrtb2/bid"

    def load(name, seconds):
        # Background run; its result lands in /tmp/<name>.json.
        client.succeed(
            f"systemd-run --unit=load-{name} --service-type=exec"
            " --setenv=PATH=/run/current-system/sw/bin /run/current-system/sw/bin/sh -c "
            f"'rtbload -target {target} -allow-remote -rate 200 -duration {seconds}s"
            f" -timeout 1s -progress=false -json > /tmp/{name}.json'"
        )

    def finish(name):
        client.wait_until_fails(f"systemctl is-active --quiet load-{name}", timeout=120)
        client.copy_from_machine(f"/tmp/{name}.json")
        return json.loads(client.succeed(f"cat /tmp/{name}.json"))

    start_all()
    for b in (bidder1, bidder2):
        b.wait_for_unit("rtbd.service")
        b.wait_until_succeeds("curl -fsS http://127.0.0.1:9090/readyz", timeout=60)
        # keepalived starts 5 s after boot (keepalived-boot-delay.timer).
        b.wait_until_succeeds(
            "test \"$(systemctl show keepalived-boot-delay.timer -p LastTriggerUSecMonotonic --value)\" != 0"
        )
        b.wait_for_unit("keepalived.service")

    with subtest("the higher priority holds the VIP"):
        bidder1.wait_until_succeeds(has_vip, timeout=60)
        bidder2.fail(has_vip)
        for b in (bidder1, bidder2):
            # Both have it on lo (see modules/failover.nix), and no unit
            # failed on the way (network-addresses-lo did with a bad one).
            b.succeed("ip -o addr show dev lo | grep -q 'inet ${vip}/32'")
            b.fail("systemctl list-units --state=failed --no-legend | grep .")
        # Any HTTP answer (400 for an empty request) proves the VIP routes.
        client.wait_until_succeeds(f"curl -sS -o /dev/null -m 2 -d '{{}}' {target}", timeout=30)

    with subtest("each bidder reads the other's spend"):
        # rtbd.failover.shareBudgets: state.peers from unicastPeers.
        for b, peer in ((bidder1, "192.168.1.2"), (bidder2, "192.168.1.1")):
            b.wait_until_succeeds(
                "curl -fsS http://127.0.0.1:9090/metrics | grep -E "
                f"'^rtbd_peer_syncs_total\\{{peer=\"http://{peer}:9091\"\\}} [1-9]'",
                timeout=30,
            )

    with subtest("planned drain moves the VIP"):
        load("drain", 20)
        client.sleep(5)
        bidder1.succeed("systemctl stop rtbd.service")
        bidder2.wait_until_succeeds(has_vip, timeout=30)
        r = finish("drain")
        # The old holder keeps the VIP on lo and drains its keep-alive
        # connections while the ARP entries move: a planned drain loses
        # nothing (tests/system TestDrain measures the same, 0 failed).
        t.assertLess(r["longest_gap_ns"], 3_000_000_000)
        t.assertEqual(r["errors"] + r["timeouts"] + r["dropped"], 0)
        bidder1.succeed("systemctl start rtbd.service")
        bidder1.wait_until_succeeds(has_vip, timeout=60)

    with subtest("a secret changed on both at once restarts them in turn"):
        def invocation(b):
            return b.succeed("systemctl show rtbd.service -p InvocationID --value").strip()

        bidders = (("bidder1", bidder1), ("bidder2", bidder2))
        before = {name: invocation(b) for name, b in bidders}
        load("renew", 90)
        client.sleep(5)
        # A rotation's first step on both: the new token second.
        for _, b in bidders:
            b.succeed("printf '%s\\n%s\\n' ${oldToken} ${newToken} > ${tokens}")
        changed = {}
        deadline = time.monotonic() + 180
        while len(changed) < 2 and time.monotonic() < deadline:
            for name, b in bidders:
                if name not in changed and invocation(b) != before[name]:
                    changed[name] = time.monotonic()
            time.sleep(1)
        t.assertEqual(sorted(changed), ["bidder1", "bidder2"], "both restarted")
        # bidder2 (no delay) first; bidder1 after its 30 s, once bidder2
        # took bid traffic again.
        t.assertGreater(changed["bidder1"] - changed["bidder2"], 15)
        r = finish("renew")
        t.assertLess(r["longest_gap_ns"], 3_000_000_000)
        t.assertLess((r["errors"] + r["timeouts"]) / max(r["scheduled"], 1), 0.05)
        bidder1.wait_until_succeeds(has_vip, timeout=60)

    with subtest("crash of the master"):
        load("crash", 20)
        client.sleep(5)
        bidder1.block()
        bidder2.wait_until_succeeds(has_vip, timeout=30)
        r = finish("crash")
        t.assertLess(r["longest_gap_ns"], 5_000_000_000)
        t.assertGreater(r["bids"] + r["nobids"], 0.8 * r["scheduled"])
        bidder1.unblock()
  '';
}
