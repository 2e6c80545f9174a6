# checks.x86_64-linux (srvos dev/checks.nix style): VM tests, go test, the
# vendorHash FOD, the pure Nix unit tests, shellcheck, the deploy dry run and
# every host's toplevel.
{
  self,
  pkgs,
  lib,
}:
let
  system = pkgs.stdenv.hostPlatform.system;
  rtbd = self.packages.${system}.rtbd;
  inventoryJSON = self.packages.${system}.inventory-json;
in
import ../tests/vm { inherit pkgs self; }
// {
  # `go test` over every package of the module (the package build skips it).
  go-test = rtbd.overrideAttrs (_: {
    pname = "rtbd-go-test";
    subPackages = [ ];
    doCheck = true;
  });

  # Fails with "hash mismatch" when nix/vendor-hash.nix is stale.
  go-modules = rtbd.goModules;

  # nix/lib/tests.nix evaluates to true or throws at evaluation time.
  nix-lib-tests = pkgs.runCommand "rtbd-nix-lib-tests" { } ''
    echo ${lib.boolToString (import ./lib/tests.nix)} > $out
  '';
  # The modules' own logic, against a stub of lib (nix/tests/stub-lib.nix).
  nix-module-tests = pkgs.runCommand "rtbd-nix-module-tests" { } ''
    echo ${
      lib.boolToString (
        import ./tests/rtbd-module.nix && import ./tests/failover-module.nix && import ./tests/tuning-module.nix
      )
    } > $out
  '';

  shellcheck = pkgs.runCommand "rtbd-shellcheck" { nativeBuildInputs = [ pkgs.shellcheck ]; } ''
    shellcheck ${../nixos/deploy.sh} ${./update-vendor-hash.sh} ${../.ci/nix-checks.sh}
    touch $out
  '';

  deploy-dry-run =
    pkgs.runCommand "rtbd-deploy-dry-run" { nativeBuildInputs = [ pkgs.jq ]; }
      (
        lib.concatMapStrings (region: ''
          bash ${../nixos/deploy.sh} --dry-run --inventory ${inventoryJSON} ${region} >> $out
        '') (builtins.attrNames (import ../nixos/inventory.nix).regions)
      );
}
// lib.mapAttrs' (
  name: host: lib.nameValuePair "host-${name}" host.config.system.build.toplevel
) self.nixosConfigurations
