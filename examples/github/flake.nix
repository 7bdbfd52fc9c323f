# A consumer flake for examples/github/rebuild.yml: it re-exports nix-glab-runner's builders, so
# `flake: .` builds the runner image at the versions pinned in this repository's flake.lock. The
# weekly pull request of update-lock.yml moves nixpkgs and nix-glab-runner (within its major tag)
# forward.
{
  inputs.nix-glab-runner.url = "github:pcboy/nix-glab-runner/v0";

  outputs = { nix-glab-runner, ... }: {
    inherit (nix-glab-runner) builders;
  };
}
