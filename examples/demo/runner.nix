# An extra NixOS module, as you would pass with `extra-modules`. The demo's tiny builder flake only
# hashes this file into its disk image; with the real flake it configures the runner, for example:
{ lib, ... }:
{
  services.nix-glab-runner.concurrency = 4;
  services.gitlab-runner.services.nix.tagList = lib.mkForce [ "nix" ];
}
