# Every option of the runner module, in one place so the docs table has one source.
{ lib, ... }:
let
  glab = import ../lib.nix;
  inherit (lib) mkOption types;

  size = types.strMatching "[0-9]+[KMGT]?";
in
{
  options.services.nix-glab-runner = {
    enable = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Run a GitLab runner manager with the Docker executor, registered as
        `services.gitlab-runner.services.nix`, with the fixes listed in docs/nixos.md.
      '';
    };

    tokenFile = mkOption {
      type = types.strMatching "/.+";
      default = glab.defaultTokenFile;
      description = ''
        Absolute path, read at runtime only, of an environment file with `CI_SERVER_URL` and either
        `CI_SERVER_TOKEN` or `REGISTRATION_TOKEN` (a `glrt-` value in `REGISTRATION_TOKEN` is used as
        an authentication token). Usually written by the instance startup script. Never a store path.
      '';
    };

    tokenSecret = mkOption {
      type = types.nullOr (types.strMatching "projects/[^/]+/secrets/[^/]+/versions/[^/]+");
      default = null;
      example = "projects/my-project/secrets/gitlab-runner-env/versions/latest";
      description = ''
        A Secret Manager secret version whose payload is the token file. When set, the VM reads it at
        boot with its service account (which needs `roles/secretmanager.secretAccessor` on it) and
        writes `tokenFile`, so the token is never in instance metadata. Null: something else, such as
        the startup script, writes `tokenFile`.
      '';
    };

    secretManagerUrl = mkOption {
      type = types.str;
      default = "https://secretmanager.googleapis.com/v1";
      example = "https://secretmanager-myendpoint.p.googleapis.com/v1";
      description = "Base URL of the Secret Manager API that `tokenSecret` is read from, e.g. a Private Service Connect endpoint.";
    };

    metadataUrl = mkOption {
      type = types.str;
      default = "http://metadata.google.internal/computeMetadata/v1";
      description = "Base URL of the GCE metadata server, used by the drain service and to read `tokenSecret`.";
    };

    concurrency = mkOption {
      type = types.ints.positive;
      default = 4;
      description = "How many jobs this VM runs at once (gitlab-runner's global `concurrent`).";
    };

    stopTimeout = mkOption {
      type = types.str;
      default = "2h";
      example = "45min";
      description = ''
        How long a stop waits for running jobs after SIGQUIT before jobs are killed
        (systemd time span). A drain is bounded by its own deadline as well.
      '';
    };

    unregisterOnShutdown = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Unregister this runner manager from GitLab when the VM shuts down or is drained, so
        replaced VMs do not pile up as stale managers.
      '';
    };

    docker = {
      privileged = mkOption {
        type = types.enum [
          "all"
          "services"
          "none"
        ];
        default = "services";
        description = ''
          Which containers run privileged. `services` (default): job containers never; CI services
          only when their image is in `allowedPrivilegedServices` (so `docker:dind` works).
          `all`: every job and service container, as upstream did. `none`: nothing. A privileged
          container, or a job that drives a privileged dind service, can take over the VM; see
          docs/nixos.md.
        '';
      };

      allowedPrivilegedServices = mkOption {
        type = types.listOf types.str;
        default = [
          "docker:dind"
          "docker:*-dind"
          "docker.io/library/docker:dind"
          "docker.io/library/docker:*-dind"
        ];
        description = ''
          With `privileged = "services"`: the service images (gitlab-runner wildcards) that run
          privileged; other services run unprivileged. An empty list lets every service image run
          privileged.
        '';
      };

      allowedImages = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "alpine:*" ];
        description = "Job images a pipeline may ask for (empty: any).";
      };

      mountSocket = mkOption {
        type = types.bool;
        default = false;
        description = ''
          Mount the host's `/var/run/docker.sock` into jobs. Off by default: the socket gives every
          job root on the VM.
        '';
      };

      passKvm = mkOption {
        type = types.bool;
        default = false;
        description = ''
          Pass `/dev/kvm` into job containers, for GCE instances with nested virtualisation that
          build NixOS images (including the next runner image) in their jobs. Loads `kvm-intel` or
          `kvm-amd`, whichever the CPU offers.
        '';
      };

      networkMtu = mkOption {
        type = types.ints.between 576 9000;
        default = 1460;
        description = "MTU of Docker networks: `docker0`, per-build networks and any network a job creates. GCE's is 1460.";
      };
    };

    store = {
      mode = mkOption {
        type = types.enum [
          "host-daemon"
          "isolated"
        ];
        default = "host-daemon";
        description = ''
          How jobs reach a Nix store. `host-daemon`: the host's `/nix/store` read-only plus a daemon
          socket, so jobs share the host's store and its cache. `isolated`: a dedicated nix-daemon
          container with its own store, shared by jobs but separate from the host's.
        '';
      };

      trustJobs = mkOption {
        type = types.bool;
        default = false;
        description = ''
          Let jobs talk to the host nix-daemon as trusted users (upstream's behaviour). Off: jobs
          reach the store through a socket whose daemon forces them untrusted, so they cannot add
          unsigned paths or change trusted settings.
        '';
      };

      minFree = mkOption {
        type = size;
        default = "10G";
        description = "`nix.settings.min-free`: when free space falls below this during a build, Nix collects garbage.";
      };

      freeTarget = mkOption {
        type = size;
        default = "30G";
        description = ''
          Free space the store keeps: `nix.settings.max-free`, and what the scheduled collection frees
          up to, while no job runs.
        '';
      };

      gcSchedule = mkOption {
        type = types.str;
        default = "hourly";
        description = "When the idle-only garbage collection runs (systemd calendar event).";
      };
    };

    dockerCleanup.schedule = mkOption {
      type = types.str;
      default = "daily";
      description = "When `clear-docker-cache` removes unused runner-managed containers and volumes (systemd calendar event).";
    };

    jobTools.extraPackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
      description = "Packages added to the tool environment every job gets on PATH (nix, git, cacert, bash, coreutils and openssh are always there).";
    };

    security = {
      blockMetadataServer = mkOption {
        type = types.bool;
        default = true;
        description = ''
          Drop TCP to the GCE metadata server's HTTP ports from Docker bridges (`docker0` and
          per-build `br-*`) and from the Nix build users (`nix.settings.build-users-group`), so
          neither jobs nor the builds they ask for can read the runner token from the startup script
          or the VM's service-account token. DNS (port 53 on the same address) stays open.
        '';
      };

      metadataPorts = mkOption {
        type = types.listOf types.port;
        default = [
          80
          443
        ];
        description = "TCP ports of 169.254.169.254 (and fd20:ce::254) that jobs and Nix builds may not reach: HTTP and the mTLS metadata server.";
      };
    };

    drain = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = "Run `nix-glab-runner-drain`, the guest side of the rollout's drain protocol.";
      };

      fallbackTimeout = mkOption {
        type = types.ints.positive;
        default = 3600;
        description = "Seconds a drain may take when the metadata value is not a valid RFC 3339 deadline.";
      };
    };

    gce.efi = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Build the GCE image for UEFI boot: nixpkgs 25.11 installs GRUB with EFI support. Required
        on Arm and for Shielded VMs; the image is then marked UEFI_COMPATIBLE. Legacy BIOS boot
        leaves nixpkgs in NixOS 26.05.
      '';
    };
  };
}
