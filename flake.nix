{
  description = "rtbd: an OpenRTB bidder appliance — Go daemon, tuned NixOS hosts, images, VM tests and deploys";

  # nixpkgs alone (STYLE 21); pinned to NixOS 26.05 in flake.lock.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      system = "x86_64-linux";
      pkgs = nixpkgs.legacyPackages.${system}.extend self.overlays.default;
      inventory = import ./nixos/inventory.nix;
      exposeModules = import ./nix/lib/expose-modules.nix;

      # Names from paths, srvos style: rtbd, failover, tuning, tuning-cpu, …
      # profile-server.
      exposed =
        exposeModules ./modules [
          ./modules/rtbd.nix
          ./modules/failover.nix
          ./modules/tuning/default.nix
          ./modules/tuning/cpu.nix
          ./modules/tuning/hugepages.nix
          ./modules/tuning/irq.nix
          ./modules/tuning/power.nix
          ./modules/tuning/sysctl.nix
          ./modules/tuning/thp.nix
        ]
        // exposeModules ./nixos [ ./nixos/profile/server.nix ];

      # The rtbd package of this flake, for pkgs without the overlay (VM
      # test nodes cannot set nixpkgs.overlays: node.pkgsReadOnly).
      # The key makes the module system import it once when a host imports
      # both nixosModules.default and nixosModules.rtbd: twice, it would
      # define services.rtbd.package twice, which a package option refuses.
      withPackage = {
        key = "rtbd-flake#withPackage";
        imports = [
          (
            { lib, pkgs, ... }:
            {
              services.rtbd.package = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.rtbd;
            }
          )
        ];
      };
    in
    {
      overlays.default = final: _prev: {
        rtbd = final.callPackage ./nix/package.nix { version = "0.1.0+${self.shortRev or "dirty"}"; };
      };

      packages.${system} =
        {
          inherit (pkgs) rtbd;
          default = pkgs.rtbd;
          inventory-json = pkgs.writeText "rtbd-inventory.json" (builtins.toJSON inventory);
          deploy = pkgs.callPackage ./nixos/deploy.nix { inventoryJSON = self.packages.${system}.inventory-json; };
        }
        # Bare-metal disk images through nixpkgs' image support (reference
        # §2.11): nix build .#image-eu-west-bid1, or
        # nixos-rebuild build-image --flake .#eu-west-bid1 --image-variant raw-efi
        // lib.mapAttrs' (
          name: host: lib.nameValuePair "image-${name}" host.config.system.build.images.raw-efi
        ) self.nixosConfigurations;

      nixosModules = exposed // {
        rtbd = {
          imports = [
            exposed.rtbd
            withPackage
          ];
        };
        default = {
          imports = [
            self.nixosModules.rtbd
            exposed.failover
            exposed.tuning
          ];
        };
      };

      nixosConfigurations = import ./nixos/hosts { inherit self nixpkgs inventory; };

      checks.${system} = import ./nix/checks.nix { inherit self pkgs lib; };

      apps.${system}.deploy = {
        type = "app";
        program = lib.getExe self.packages.${system}.deploy;
        meta.description = "Rolling deploy of one region: nix run .#deploy -- REGION [--dry-run]";
      };

      devShells.${system}.default = pkgs.mkShell {
        packages = [
          pkgs.go
          pkgs.gopls
          pkgs.jq
          pkgs.nixfmt-tree
          pkgs.shellcheck
        ];
      };

      # `nix fmt`: treefmt with nixfmt (pkgs/by-name/ni/nixfmt-tree).
      formatter.${system} = pkgs.nixfmt-tree;
    };
}
