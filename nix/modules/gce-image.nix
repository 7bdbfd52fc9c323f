# Imported into the google-compute image variant only (see gce.nix).
{
  config,
  lib,
  options,
  pkgs,
  ...
}:
let
  cfg = config.services.nix-glab-runner;
in
{
  config = lib.mkMerge [
    {
      assertions = [
        {
          assertion = cfg.gce.efi || !pkgs.stdenv.hostPlatform.isAarch64;
          message =
            "services.nix-glab-runner.gce.efi is false for an aarch64 image;"
            + " GCE Arm machine types boot only with UEFI, so leave it true.";
        }
      ];

      virtualisation.googleComputeImage.efi = cfg.gce.efi;

      # NVMe boot disks (C3, N4, ...) and gVNIC, which gen-3 machine types require.
      boot.initrd.availableKernelModules = [ "nvme" ];
      boot.kernelModules = [ "gve" ];
      networking.interfaces.eth0.mtu = lib.mkDefault 1460;
    }

    # OS Login sudo fails with nsncd ("PAM account management error", nixpkgs#218813).
    (lib.optionalAttrs (options.services.nscd ? enableNsncd) {
      services.nscd.enableNsncd = false;
    })
  ];
}
