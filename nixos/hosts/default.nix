# One nixosConfigurations entry per inventory host, built from
# nixos/hosts/<name>/default.nix with the host's inventory entry as `host`.
{
  self,
  nixpkgs,
  inventory,
}:
builtins.mapAttrs (
  name: host:
  let
    dir = ./. + "/${name}";
  in
  if !builtins.pathExists dir then
    throw "nixos/hosts: inventory host ${name} has no directory nixos/hosts/${name}"
  else
    nixpkgs.lib.nixosSystem {
      specialArgs = { inherit self inventory host; };
      modules = [ dir ];
    }
) inventory.hosts
