# The nix-glab-runner CLI: the committed ncc bundle in dist/ run by Node 24.
# dist/ is already a bundle, so nothing is rebuilt from npm here.
{
  lib,
  stdenvNoCC,
  makeWrapper,
  nodejs_24,
}:
let
  root = ../..;
  packageJson = lib.importJSON (root + "/package.json");
  bundle = root + "/dist/cli/index.js";
in
assert lib.assertMsg (builtins.pathExists bundle) (
  "dist/cli/index.js is missing; run `npm run bundle` and commit dist/"
  + " (a flake sees only git-tracked files)."
);
stdenvNoCC.mkDerivation {
  pname = "nix-glab-runner";
  inherit (packageJson) version;

  src = lib.fileset.toSource {
    inherit root;
    fileset = lib.fileset.unions [
      (root + "/dist")
      (root + "/package.json")
    ];
  };

  nativeBuildInputs = [ makeWrapper ];
  dontConfigure = true;
  dontBuild = true;

  # package.json sits next to dist/ so Node reads "type": "module" for the bundle.
  installPhase = ''
    runHook preInstall
    mkdir -p $out/lib/nix-glab-runner $out/bin
    cp -r dist package.json $out/lib/nix-glab-runner/
    makeWrapper ${lib.getExe nodejs_24} $out/bin/nix-glab-runner \
      --add-flags $out/lib/nix-glab-runner/dist/cli/index.js
    runHook postInstall
  '';

  meta = {
    description = "Build, publish and roll reproducible NixOS GitLab runner images on Google Cloud";
    license = lib.licenses.mit;
    mainProgram = "nix-glab-runner";
  };
}
