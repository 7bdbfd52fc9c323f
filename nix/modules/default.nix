# The nix-glab-runner NixOS module: a GitLab runner manager on GCE, registered as
# nixpkgs' `services.gitlab-runner.services.nix` (upstream's name), configured
# through `services.nix-glab-runner`.
{
  imports = [
    ./options.nix
    ./runner.nix
    ./docker.nix
    ./kvm.nix
    ./store.nix
    ./security.nix
    ./drain.nix
    ./gce.nix
  ];
}
