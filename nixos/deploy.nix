# `nix run .#deploy -- REGION [--dry-run]`: nixos/deploy.sh with its tools
# and the flake's inventory (nixos/inventory.nix rendered to JSON).
{
  writeShellApplication,
  runtimeShell,
  coreutils,
  gnugrep,
  jq,
  openssh,
  nixos-rebuild-ng,
  rtbd,
  # nixos/inventory.nix as JSON (flake output packages.<system>.inventory-json).
  inventoryJSON,
}:
writeShellApplication {
  name = "rtbd-deploy";
  runtimeInputs = [
    coreutils
    gnugrep
    jq
    openssh
    # The Python rewrite, whose binary is `nixos-rebuild` (reference §6).
    nixos-rebuild-ng
    rtbd # rtbload, for --slo-from-here
  ];
  # A later --inventory on the command line wins.
  text = ''
    exec ${runtimeShell} ${./deploy.sh} --inventory ${inventoryJSON} "$@"
  '';
}
