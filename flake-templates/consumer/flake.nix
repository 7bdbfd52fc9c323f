# Your runner image's flake: it re-exports nix-glab-runner's builders, so `flake: .` in
# .github/workflows/rebuild.yml and .gitlab-ci.yml builds the image at the versions pinned in
# flake.lock. The weekly pull request of update-lock.yml moves nixpkgs and nix-glab-runner (within
# its major tag) forward.
{
  inputs.nix-glab-runner.url = "github:pcboy/nix-glab-runner/v0";

  outputs = { nix-glab-runner, ... }: {
    inherit (nix-glab-runner) builders;
  };
}
