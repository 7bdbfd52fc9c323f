# docker.passKvm on x86_64: load the KVM module of this CPU's vendor, so /dev/kvm exists for jobs.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.nix-glab-runner;
  scripts = import ./scripts.nix { inherit pkgs config; };
in
{
  config = lib.mkIf (cfg.enable && cfg.docker.passKvm && pkgs.stdenv.hostPlatform.isx86_64) {
    # Not boot.kernelModules = [ "kvm-intel" "kvm-amd" ]: the other vendor's module fails to load
    # (EOPNOTSUPP), which fails systemd-modules-load.service on every boot.
    systemd.services.nix-glab-runner-kvm = {
      description = "Load the KVM module for this CPU (Intel VT-x or AMD-V)";
      wantedBy = [ "multi-user.target" ];
      before = [
        "docker.service"
        "gitlab-runner.service"
      ];
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        ExecStart = lib.getExe scripts.loadKvm;
      };
    };
  };
}
