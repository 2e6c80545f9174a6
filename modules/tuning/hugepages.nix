# Boot-time hugepage reservation. 1 GiB pages can only be reserved reliably at
# boot, before memory fragments; nixpkgs has no hugepages option (reference
# §2.6), so this adds kernel parameters. hugetlbfs is already mounted at
# /dev/hugepages by systemd's dev-hugepages.mount.
# https://docs.kernel.org/admin-guide/mm/hugetlbpage.html
{ config, lib, ... }:
let
  cfg = config.rtbd.tuning.hugepages;
  kernelParams = import ../../nix/lib/kernel-params.nix;
  inherit (lib) mkOption types;
in
{
  # interface
  options.rtbd.tuning.hugepages = {
    enable = lib.mkEnableOption "boot-time hugepage reservation";
    count2M = mkOption {
      type = types.ints.unsigned;
      default = 0;
      example = 1024;
      description = "Number of 2 MiB hugepages reserved at boot.";
    };
    count1G = mkOption {
      type = types.ints.unsigned;
      default = 0;
      example = 4;
      description = "Number of 1 GiB hugepages reserved at boot (needs pdpe1gb).";
    };
    defaultSize = mkOption {
      type = types.nullOr (types.enum [ "2M" "1G" ]);
      default = null;
      example = "1G";
      description = "default_hugepagesz; null keeps the kernel default (2M on x86-64).";
    };
  };

  # implementation
  config = lib.mkIf cfg.enable {
    # Not mkDefault: see ./cpu.nix (lists at default priority get dropped).
    boot.kernelParams = kernelParams.hugepages (
      {
        "2M" = cfg.count2M;
        "1G" = cfg.count1G;
      }
      // lib.optionalAttrs (cfg.defaultSize != null) { default = cfg.defaultSize; }
    );
  };
}
