# NixOS VM tests, exposed as flake checks (nix/checks.nix):
#   nix build .#checks.x86_64-linux.vm-latency -L
#   nix run .#checks.x86_64-linux.vm-failover.driverInteractive
# runNixOSTest, not the deprecated nixosTest (nixpkgs PR #351471). Nodes
# cannot set nixpkgs.* (node.pkgsReadOnly), so the rtbd package comes from
# the flake's nixosModules.rtbd, not an overlay.
{ pkgs, self }:
{
  vm-latency = pkgs.testers.runNixOSTest (import ./latency.nix { inherit self; });
  vm-failover = pkgs.testers.runNixOSTest (import ./failover.nix { inherit self; });
}
