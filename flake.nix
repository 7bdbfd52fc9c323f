{
  description = "GitLab CI runners on Google Cloud as reproducible NixOS images";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  outputs =
    { self, nixpkgs }:
    let
      glab = import ./nix/lib.nix;
      linuxSystems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      # Publishing works from a Mac too; the image itself needs a Linux builder.
      allSystems = linuxSystems ++ [
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      # builtins only, so output names are known without evaluating nixpkgs.
      forSystems =
        systems: f:
        builtins.listToAttrs (
          map (system: {
            name = system;
            value = f system;
          }) systems
        );
      pkgsFor = system: nixpkgs.legacyPackages.${system};
      runnerModule = import ./nix/modules;
    in
    {
      lib = glab;

      nixosModules = {
        gitlab-runner = runnerModule;
        default = runnerModule;
      };

      packages = forSystems allSystems (system: rec {
        nix-glab-runner = (pkgsFor system).callPackage ./nix/packages/cli.nix { };
        default = nix-glab-runner;
      });

      apps = forSystems allSystems (system: {
        default = {
          type = "app";
          program = "${self.packages.${system}.nix-glab-runner}/bin/nix-glab-runner";
          meta.description = "nix-glab-runner publish|roll|rollback|prune";
        };
      });

      builders = forSystems allSystems (
        system:
        import ./nix/builders.nix {
          inherit nixpkgs runnerModule;
          pkgs = pkgsFor system;
          cli = self.packages.${system}.nix-glab-runner;
        }
      );

      checks = forSystems linuxSystems (
        system:
        import ./nix/checks.nix {
          inherit nixpkgs runnerModule;
          pkgs = pkgsFor system;
        }
      );

      formatter = forSystems allSystems (system: (pkgsFor system).nixfmt-rfc-style);

      # `nix flake init -t github:pcboy/nix-glab-runner`: a repository that rebuilds a runner image.
      templates = rec {
        consumer = {
          path = ./flake-templates/consumer;
          description = "A runner image repository: flake, runner module, GitHub and GitLab CI";
          welcomeText = ''
            # Your runner image repository

            - `runner.nix`: your runner's NixOS module; edit it.
            - `flake.nix`: builds the image with nix-glab-runner's builders. Run `nix flake lock`
              and commit `flake.lock`: the image is built from what it pins.
            - `.github/workflows/rebuild.yml`: rebuilds on GitHub when the lock changes; it lists
              the repository variables to set. `update-lock.yml` proposes the weekly lock update.
            - `.gitlab-ci.yml`: the same on GitLab, with the component; it lists the CI/CD
              variables and the schedule to create.

            Keep the one you use. Before nix-glab-runner's first release, pin its refs to a commit
            (its README, "Versions").
          '';
        };
        default = consumer;
      };
    };
}
