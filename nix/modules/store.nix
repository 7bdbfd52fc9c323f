# How jobs reach a Nix store, the tools they get, and keeping the disk free.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  glab = import ../lib.nix;
  cfg = config.services.nix-glab-runner;
  runnerName = glab.defaultRunnerName;
  hostDaemon = cfg.store.mode == "host-daemon";
  isolated = cfg.store.mode == "isolated";
  untrustedSocket = hostDaemon && !cfg.store.trustJobs;
  container = glab.daemonContainerName;

  # The job relay connects to the host daemon as this user, which the daemon
  # does not trust (an assertion keeps it out of nix.settings.trusted-users).
  relayUser = "nix-glab-runner-jobs";
  trustedUsers = config.nix.settings.trusted-users or [ "root" ];
  relayNames = [
    relayUser
    "@${relayUser}"
    "*"
  ];
  trustsRelay = lib.any (user: lib.elem user trustedUsers) relayNames;
  # Setting allowed-users here would replace NixOS's default "*" for everyone.
  allowedUsers = config.nix.settings.allowed-users or [ "*" ];
  admitsRelay = lib.any (user: lib.elem user allowedUsers) relayNames;
  scripts = import ./scripts.nix { inherit pkgs config; };

  # Prebuilt once with the image, instead of `nix-env -i` in every job.
  jobTools = pkgs.buildEnv {
    name = "nix-glab-runner-job-tools";
    paths = [
      config.nix.package
      pkgs.bashInteractive
      pkgs.cacert
      pkgs.coreutils
      pkgs.git
      pkgs.openssh
    ]
    ++ cfg.jobTools.extraPackages;
    pathsToLink = [
      "/bin"
      "/etc"
    ];
  };
  caBundle = "${jobTools}/etc/ssl/certs/ca-bundle.crt";

  # Runs in the job's shell before its script. Exports here reach the job only,
  # never service containers (unlike runner environment variables).
  preBuildScript = ''
    export PATH="${jobTools}/bin:$PATH"
    export NIX_REMOTE=daemon
    export NIX_SSL_CERT_FILE="''${NIX_SSL_CERT_FILE:-${caBundle}}"
    export SSL_CERT_FILE="''${SSL_CERT_FILE:-${caBundle}}"
    export NIX_CONFIG="experimental-features = nix-command flakes''${NIX_CONFIG:+
    $NIX_CONFIG}"
  '';

  # A multi-line script does not survive the command line nixpkgs builds for
  # `gitlab-runner register`; a template does. Register fills template values
  # into config.toml wherever its flags left a setting unset.
  registrationTemplate = (pkgs.formats.toml { }).generate "nix-glab-runner-template.toml" {
    runners = [
      {
        pre_build_script = preBuildScript;
        docker.network_mtu = cfg.docker.networkMtu;
      }
    ];
  };

  socketDirectory = if cfg.store.trustJobs then "/nix/var/nix/daemon-socket" else glab.paths.jobDaemonSocketDir;

  # The isolated mode's daemon: its own store in an anonymous volume at /nix,
  # seeded from this image at every container start, shared with jobs read-only.
  daemonEtc = pkgs.runCommand "nix-glab-runner-daemon-etc" { } ''
    mkdir -p $out/etc/nix
    {
      echo "root:x:0:0:root:/root:/bin/sh"
      echo "nobody:x:65534:65534:nobody:/var/empty:/bin/false"
      for i in $(seq 1 32); do
        echo "nixbld$i:x:$((30000 + i)):30000:Nix build user $i:/var/empty:/bin/false"
      done
    } > $out/etc/passwd
    {
      echo "root:x:0:"
      echo "nogroup:x:65534:"
      echo "nixbld:x:30000:$(seq -s, -f 'nixbld%g' 1 32)"
    } > $out/etc/group
    cat > $out/etc/nix/nix.conf <<'CONF'
    build-users-group = nixbld
    sandbox = true
    trusted-users =
    experimental-features = nix-command flakes daemon-trust-override
    substituters = ${lib.concatStringsSep " " config.nix.settings.substituters}
    trusted-public-keys = ${lib.concatStringsSep " " config.nix.settings.trusted-public-keys}
    CONF
  '';

  daemonImage = pkgs.dockerTools.buildLayeredImageWithNixDb {
    name = "nix-glab-runner/nix-daemon";
    tag = "latest";
    contents = [
      jobTools
      daemonEtc
    ];
    extraCommands = ''
      mkdir -p tmp root var/empty nix/var/nix/daemon-socket
      chmod 1777 tmp
    '';
    config = {
      Cmd = [
        "${config.nix.package}/bin/nix-daemon"
        "--force-untrusted"
      ];
      Env = [
        "PATH=/bin"
        "NIX_SSL_CERT_FILE=${caBundle}"
      ];
      Volumes."/nix" = { };
    };
  };
in
{
  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        warnings =
          lib.optional (config.services.gitlab-runner.services.${runnerName}.preBuildScript != null)
            "services.gitlab-runner.services.${runnerName}.preBuildScript replaces the pre-build script that puts the job tools (nix, git, ...) on PATH; add tools with services.nix-glab-runner.jobTools.extraPackages instead.";

        # Per key and at default priority: a user's own nix.settings keep these.
        nix.settings = {
          min-free = lib.mkDefault (glab.sizeToBytes cfg.store.minFree);
          max-free = lib.mkDefault (glab.sizeToBytes cfg.store.freeTarget);
        };

        services.gitlab-runner.services.${runnerName}.registrationFlags = [
          "--template-config"
          "${registrationTemplate}"
        ];

        systemd.services.nix-glab-runner-gc = {
          description = "Free Nix store space up to the target while no CI job runs";
          startAt = cfg.store.gcSchedule;
          after = [ "docker.service" ] ++ lib.optional isolated "docker-${container}.service";
          environment.DAEMON_CONTAINER = container;
          serviceConfig = {
            Type = "oneshot";
            ExecStart = "${lib.getExe scripts.gc} ${cfg.store.mode} ${toString (glab.sizeToBytes cfg.store.freeTarget)}";
            Nice = 19;
            IOSchedulingClass = "idle";
          };
        };
        systemd.timers.nix-glab-runner-gc.timerConfig = {
          Persistent = true;
          RandomizedDelaySec = "10min";
        };
      }

      (lib.mkIf hostDaemon {
        services.gitlab-runner.services.${runnerName}.dockerVolumes = [
          "/nix/store:/nix/store:ro"
          "${socketDirectory}:/nix/var/nix/daemon-socket:ro"
        ];
        systemd.services.gitlab-runner = lib.mkIf untrustedSocket {
          after = [ "nix-glab-runner-job-daemon.socket" ];
          wants = [ "nix-glab-runner-job-daemon.socket" ];
        };
      })

      # Jobs connect here, not to the host daemon's own socket. Each connection
      # gets a `nix-daemon --stdio --force-untrusted` relay to the host daemon,
      # running as an unprivileged user. Current Nix forwards an untrusted
      # --stdio connection to a daemon store raw instead of processing it
      # (NixOS/nix src/nix/unix/daemon.cc, runDaemon: processOps stays false
      # for --force-untrusted, then forwardStdioConnection), so the host daemon
      # judges the relay's own uid. As root, that uid would be trusted.
      (lib.mkIf untrustedSocket {
        assertions = [
          {
            assertion = !trustsRelay;
            message = "nix.settings.trusted-users includes ${relayUser} (or \"*\"), the user CI jobs reach the Nix daemon as, which would make every job a trusted user; remove it, or set services.nix-glab-runner.store.trustJobs = true if that is what you want.";
          }
          {
            assertion = admitsRelay;
            message = "nix.settings.allowed-users does not admit ${relayUser}, the user CI jobs reach the Nix daemon as, so no job could use Nix; add \"${relayUser}\" to it.";
          }
        ];
        users.users.${relayUser} = {
          isSystemUser = true;
          group = relayUser;
          description = "nix-glab-runner: CI jobs' untrusted Nix daemon connections";
        };
        users.groups.${relayUser} = { };

        systemd.sockets.nix-glab-runner-job-daemon = {
          description = "Nix daemon socket for CI jobs (clients are never trusted)";
          wantedBy = [ "sockets.target" ];
          listenStreams = [ "${glab.paths.jobDaemonSocketDir}/socket" ];
          socketConfig = {
            Accept = true;
            SocketMode = "0666";
            DirectoryMode = "0755";
            MaxConnections = 256;
          };
        };
        systemd.services."nix-glab-runner-job-daemon@" = {
          description = "Nix daemon connection of a CI job (untrusted)";
          environment = {
            NIX_REMOTE = "daemon";
            # --force-untrusted is behind this experimental feature.
            NIX_CONFIG = "extra-experimental-features = daemon-trust-override";
          };
          serviceConfig = {
            ExecStart = "${config.nix.package}/bin/nix-daemon --stdio --force-untrusted";
            User = relayUser;
            Group = relayUser;
            StandardInput = "socket";
            StandardOutput = "socket";
            StandardError = "journal";
            # The relay only needs the daemon's Unix socket.
            NoNewPrivileges = true;
            PrivateNetwork = true;
            RestrictAddressFamilies = [ "AF_UNIX" ];
            ProtectSystem = "strict";
            ProtectHome = true;
            PrivateTmp = true;
          };
        };
      })

      (lib.mkIf isolated {
        virtualisation.oci-containers = {
          backend = "docker";
          containers.${container} = {
            image = "nix-glab-runner/nix-daemon:latest";
            imageFile = daemonImage;
            # Nix's build sandbox needs namespaces; jobs only reach its socket.
            extraOptions = [ "--privileged" ];
          };
        };
        services.gitlab-runner.services.${runnerName}.registrationFlags = [
          "--docker-volumes-from"
          "${container}:ro"
        ];
        systemd.services.gitlab-runner = {
          after = [ "docker-${container}.service" ];
          wants = [ "docker-${container}.service" ];
        };
      })
    ]
  );
}
