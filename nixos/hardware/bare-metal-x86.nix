# Generic x86-64 bare-metal bidder: UEFI, systemd-boot, NVMe root by label
# (the raw-efi image writes the labels `nixos` and `ESP`; its own
# definitions override these with mkImageMediaOverride when building it).
{ lib, ... }:
{
  nixpkgs.hostPlatform = "x86_64-linux";
  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = lib.mkDefault true;
  boot.initrd.availableKernelModules = [
    "nvme"
    "xhci_pci"
    "ahci"
    "sd_mod"
  ];
  fileSystems."/" = {
    device = lib.mkDefault "/dev/disk/by-label/nixos";
    fsType = lib.mkDefault "ext4";
  };
  fileSystems."/boot" = {
    device = lib.mkDefault "/dev/disk/by-label/ESP";
    fsType = lib.mkDefault "vfat";
  };
  hardware.enableRedistributableFirmware = lib.mkDefault true;
}
