# GCE-only settings. They apply to the google-compute image variant
# (`system.build.images.google-compute`), not to the configuration the VM tests
# boot, because nixpkgs declares the GCE options only inside that variant.
{ config, lib, ... }:
let
  cfg = config.services.nix-glab-runner;
in
{
  config = lib.mkIf cfg.enable {
    image.modules.google-compute = ./gce-image.nix;
  };
}
