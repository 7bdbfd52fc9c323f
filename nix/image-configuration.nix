# The base configuration of the GCE runner image, before the user's extraModules.
{ lib, ... }:
{
  services.nix-glab-runner.enable = true;
  system.stateVersion = lib.mkDefault "25.11";
  nix.settings.experimental-features = [
    "nix-command"
    "flakes"
  ];
}
