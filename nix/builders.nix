# builders.<system>: upstream's interface, gceImage and uploadGceImage.
{
  nixpkgs,
  pkgs,
  runnerModule,
  cli,
}:
let
  inherit (pkgs) lib;
  glab = import ./lib.nix;
in
{
  # A GCE image of the runner. The output holds exactly one *.raw.tar.gz and
  # nix-support/gce-image.json (docs/architecture.md, "The image builder's output").
  gceImage =
    {
      extraModules ? [ ],
      # The image's system: x86_64-linux, or aarch64-linux for Arm machine types.
      system ? glab.defaultImageSystem pkgs.stdenv.hostPlatform.system,
    }:
    let
      nixos = nixpkgs.lib.nixosSystem {
        modules = [
          runnerModule
          ./image-configuration.nix
          { nixpkgs.hostPlatform = system; }
        ]
        ++ extraModules;
      };
      image = nixos.config.system.build.images.google-compute;
      imageConfig = image.passthru.config;
      metadata = glab.gceImageMetadata {
        inherit system;
        efi = imageConfig.virtualisation.googleComputeImage.efi;
        nixosRelease = imageConfig.system.nixos.release;
      };
    in
    pkgs.runCommand "nix-glab-runner-gce-image-${system}"
      {
        metadata = builtins.toJSON metadata;
        passAsFile = [ "metadata" ];
        passthru = { inherit nixos image metadata; };
      }
      ''
        shopt -s nullglob
        tarballs=(${image}/*.tar.gz)
        if [ "''${#tarballs[@]}" -ne 1 ]; then
          echo "expected one .tar.gz in ${image}, found ''${#tarballs[@]}" >&2
          exit 1
        fi
        # nixpkgs 25.11 names it *.raw.tar.gz, EFI or not; later nixpkgs names systemd-repart EFI
        # images *.tar.gz. Either way the output says .raw.tar.gz.
        name=$(basename "''${tarballs[0]}" .tar.gz)
        mkdir -p $out/nix-support
        # A copy, not a symlink: the tarball and its metadata share one store path.
        cp --reflink=auto "''${tarballs[0]}" "$out/''${name%.raw}.raw.tar.gz"
        cp "$metadataPath" $out/nix-support/gce-image.json
      '';

  # Kept for upstream's users: `nix run` publishes the image with our CLI
  # (upload, images.insert in the family, retention) instead of gsutil and gcloud.
  uploadGceImage =
    {
      bucket,
      gceImage,
      imagePrefixName,
      family ? glab.defaultImageFamily,
      project ? null,
    }:
    pkgs.writeShellApplication {
      name = "upload-gce-image";
      runtimeInputs = [ cli ];
      text = ''
        shopt -s nullglob
        tarballs=(${gceImage}/*.raw.tar.gz)
        if [ "''${#tarballs[@]}" -ne 1 ]; then
          echo "expected one *.raw.tar.gz in ${gceImage}, found ''${#tarballs[@]};" \
            "pass gceImage = builders.<system>.gceImage { }" >&2
          exit 1
        fi
        exec nix-glab-runner publish --image-file "''${tarballs[0]}" ${
          lib.escapeShellArgs (
            glab.publishFlags {
              inherit
                bucket
                imagePrefixName
                family
                project
                ;
            }
          )
        } "$@"
      '';
    };
}
