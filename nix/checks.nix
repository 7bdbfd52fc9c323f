# checks.<system>: NixOS VM tests (need KVM), script lint, formatting, and an
# evaluation of the GCE image configuration.
{
  nixpkgs,
  pkgs,
  runnerModule,
}:
let
  inherit (pkgs) lib;
  builders = import ./builders.nix {
    inherit nixpkgs pkgs runnerModule;
    cli = pkgs.hello; # uploadGceImage is not built here
  };
  nixFiles = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../flake.nix
      (lib.fileset.fileFilter (file: file.hasExt "nix") ./.)
    ];
  };
in
{
  runner = pkgs.testers.runNixOSTest (import ./tests/runner.nix { inherit runnerModule; });

  isolated-store = pkgs.testers.runNixOSTest (
    import ./tests/isolated.nix { inherit runnerModule; }
  );

  # writeShellApplication runs shellcheck on every script while building.
  scripts = pkgs.linkFarmFromDrvs "nix-glab-runner-scripts" (
    builtins.attrValues (import ./modules/scripts.nix { inherit pkgs; })
  );

  formatting =
    pkgs.runCommand "nix-glab-runner-formatting"
      {
        nativeBuildInputs = [ pkgs.nixfmt-rfc-style ];
      }
      ''
        cd ${nixFiles}
        nixfmt --check flake.nix $(find nix -name '*.nix')
        touch $out
      '';

  # Evaluates the whole image configuration (options, assertions) without
  # building the image, which needs KVM and several GiB.
  image-evaluates =
    let
      image = builders.gceImage { system = pkgs.stdenv.hostPlatform.system; };
    in
    pkgs.writeText "nix-glab-runner-image-drv" (builtins.unsafeDiscardStringContext image.drvPath);
}
