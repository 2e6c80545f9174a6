# Base server profile, srvos-like (nix-community/srvos nixos/server and
# nixos/common, summarised in reference §1.4): headless, networkd, key-only
# SSH, hardware watchdog, and a Nix daemon kept off the latency path. Every
# value is mkDefault unless a deploy depends on it.
{ lib, pkgs, ... }:
let
  inherit (lib) mkDefault;
in
{
  # Headless: no docs, fonts or desktop bits on an appliance.
  documentation.enable = mkDefault false;
  fonts.fontconfig.enable = mkDefault false;
  programs.command-not-found.enable = mkDefault false;
  environment.stub-ld.enable = mkDefault false;
  environment.systemPackages = [
    pkgs.curl # deploy.sh checks /readyz on the host
    pkgs.ethtool
    pkgs.jq
  ];

  boot.loader.systemd-boot.configurationLimit = mkDefault 5;
  boot.tmp.cleanOnBoot = mkDefault true;
  # Serial console for out-of-band access (srvos serial.nix).
  boot.kernelParams = [
    "console=ttyS0,115200"
    "console=tty0"
  ];

  # Networking: networkd; a deploy must not drop the link (srvos common).
  networking.useNetworkd = mkDefault true;
  networking.firewall.enable = mkDefault true;
  networking.firewall.allowPing = mkDefault true;
  networking.firewall.logRefusedConnections = mkDefault false;
  systemd.network.wait-online.enable = mkDefault false;
  systemd.services.systemd-networkd.stopIfChanged = false;
  systemd.services.systemd-resolved.stopIfChanged = false;

  # Access: keys only; deploys log in as root (nixos-rebuild --target-host).
  services.openssh = {
    enable = true;
    settings = {
      PasswordAuthentication = false;
      KbdInteractiveAuthentication = false;
      X11Forwarding = false;
      PermitRootLogin = mkDefault "prohibit-password";
    };
  };
  users.mutableUsers = mkDefault false;
  security.sudo.wheelNeedsPassword = mkDefault false;
  security.sudo.execWheelOnly = mkDefault true;
  time.timeZone = mkDefault "UTC";

  # Reboot rather than hang: no emergency shell, hardware watchdog armed
  # (srvos server; option names in reference §2.5).
  systemd.enableEmergencyMode = mkDefault false;
  systemd.settings.Manager = {
    RuntimeWatchdogSec = mkDefault "15s";
    RebootWatchdogSec = mkDefault "30s";
    KExecWatchdogSec = mkDefault "1m";
  };
  systemd.sleep.settings.Sleep = {
    AllowSuspend = mkDefault "no";
    AllowHibernation = mkDefault "no";
  };

  # Nix: flakes, no channels; builds yield to everything else (srvos common).
  nix.channel.enable = mkDefault false;
  nix.settings = {
    experimental-features = [
      "nix-command"
      "flakes"
    ];
    connect-timeout = mkDefault 5;
    fallback = mkDefault true;
    log-lines = mkDefault 25;
    trusted-users = [ "@wheel" ];
  };
  nix.daemonCPUSchedPolicy = mkDefault "batch";
  nix.daemonIOSchedClass = mkDefault "idle";
  nix.daemonIOSchedPriority = mkDefault 7;
  systemd.services.nix-daemon.serviceConfig.OOMScoreAdjust = mkDefault 250;
}
