# The module's shell scripts as packages. writeShellApplication runs shellcheck
# at build time and pins every tool the scripts call. A module passes its
# `config`, so the scripts use the system's gitlab-runner, docker and nix.
{
  pkgs,
  config ? null,
  gitlabRunner ?
    if config == null then pkgs.gitlab-runner else config.services.gitlab-runner.package,
  docker ? if config == null then pkgs.docker else config.virtualisation.docker.package,
  nix ? if config == null then pkgs.nix else config.nix.package,
}:
let
  script =
    name: file: runtimeInputs:
    pkgs.writeShellApplication {
      inherit name runtimeInputs;
      text = builtins.readFile file;
    };
in
rec {
  runnerEnv = script "nix-glab-runner-runner-env" ../scripts/runner-env.sh [ pkgs.coreutils ];

  fetchToken = script "nix-glab-runner-fetch-token" ../scripts/fetch-token.sh [
    pkgs.coreutils
    pkgs.curl
    pkgs.gnused
  ];

  runningJobs = script "nix-glab-runner-running-jobs" ../scripts/running-jobs.sh [
    docker
    pkgs.coreutils
    pkgs.gnused
  ];

  unregister = script "nix-glab-runner-unregister" ../scripts/unregister.sh [
    gitlabRunner
    pkgs.coreutils
    pkgs.systemd
  ];

  drain = script "nix-glab-runner-drain" ../scripts/drain.sh [
    pkgs.coreutils
    pkgs.curl
    pkgs.gnused
    pkgs.systemd
    runningJobs
    unregister
  ];

  gc = script "nix-glab-runner-gc" ../scripts/gc.sh [
    pkgs.coreutils
    docker
    nix
    runningJobs
  ];

  loadKvm = script "nix-glab-runner-load-kvm" ../scripts/load-kvm.sh [
    pkgs.gnugrep
    pkgs.kmod
  ];

  metadataGuard = script "nix-glab-runner-metadata-guard" ../scripts/metadata-guard.sh [
    pkgs.iptables
  ];
}
