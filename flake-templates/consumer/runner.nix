# Your runner's configuration, added to the image as an extra NixOS module (docs/nixos.md lists
# the options).
{
  services.nix-glab-runner.concurrency = 4;
}
