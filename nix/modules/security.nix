# What a job cannot reach, and host hardening.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.nix-glab-runner;
  scripts = import ./scripts.nix { inherit pkgs config; };
  ports = lib.concatMapStringsSep "," toString cfg.security.metadataPorts;
  guard = lib.getExe scripts.metadataGuard;
  # Fixed-output builds a job asks the host daemon for run as members of this
  # group: nixbld, Nix's default for a daemon run as root, unless set.
  buildGroup = config.nix.settings.build-users-group or "nixbld";
in
{
  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        assertions = [
          {
            # VMs sharing one glrt- token are told apart by a system id derived from it.
            assertion = !(config.environment.etc ? "machine-id");
            message = "environment.etc.\"machine-id\" would bake one machine id into every VM of the image, and GitLab would see them all as one runner manager; remove it (systemd creates a fresh id at first boot).";
          }
        ];

        # Defaults, so a configuration that needs password logins can turn them on.
        services.openssh.settings = {
          PasswordAuthentication = lib.mkDefault false;
          KbdInteractiveAuthentication = lib.mkDefault false;
        };
      }

      (lib.mkIf cfg.security.blockMetadataServer {
        assertions = [
          {
            assertion = cfg.security.metadataPorts != [ ];
            message = "services.nix-glab-runner.security.metadataPorts is empty; list the ports to block (default 80 and 443) or set blockMetadataServer = false.";
          }
          {
            assertion = buildGroup != "";
            message = "nix.settings.build-users-group is empty, so Nix builds run as root and the metadata guard cannot tell a job's fixed-output build from the host's own agents; set it (NixOS uses nixbld) or set services.nix-glab-runner.security.blockMetadataServer = false.";
          }
          {
            assertion = !(config.nix.settings.auto-allocate-uids or false);
            message = "nix.settings.auto-allocate-uids runs builds outside the build users' group that the metadata guard blocks; turn it off or set services.nix-glab-runner.security.blockMetadataServer = false.";
          }
        ];
        # Docker and the Nix daemon wait for the guard, so no container and no
        # build ever starts unguarded.
        systemd.services.nix-glab-runner-metadata-guard = {
          description = "Keep CI containers and Nix builds away from the GCE metadata server";
          wantedBy = [ "multi-user.target" ];
          requiredBy = [
            "docker.service"
            "nix-daemon.service"
          ];
          before = [
            "docker.service"
            "nix-daemon.service"
          ];
          after = [ "firewall.service" ];
          serviceConfig = {
            Type = "oneshot";
            RemainAfterExit = true;
            ExecStart = "${guard} add ${ports} ${buildGroup}";
            ExecStop = "${guard} remove ${ports} ${buildGroup}";
          };
        };
      })
    ]
  );
}
