# Token delivery, registration, restart policy and unregistration of the runner.
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
  runner = config.services.gitlab-runner.services.${runnerName};
  scripts = import ./scripts.nix { inherit pkgs config; };

  # A path literal ends up in the store as soon as a script interpolates it.
  isInStore =
    path: path != null && (builtins.isPath path || lib.hasPrefix builtins.storeDir (toString path));

  # Seconds one start waits for the token file before failing into systemd's backoff.
  tokenWaitSeconds = 45;

  writeRunnerEnv = pkgs.writeShellScript "nix-glab-runner-write-runner-env" ''
    exec ${lib.getExe scripts.runnerEnv} ${
      lib.escapeShellArgs [
        cfg.tokenFile
        glab.paths.runnerEnv
        (toString tokenWaitSeconds)
        (lib.concatStringsSep "," runner.tagList)
      ]
    }
  '';
in
{
  config = lib.mkIf cfg.enable {
    assertions = [
      {
        assertion = !isInStore cfg.tokenFile;
        message =
          "services.nix-glab-runner.tokenFile is in the Nix store, which every user can read;"
          + " give a runtime path such as /etc/gitlab-runner-env.";
      }
      {
        assertion = !isInStore runner.authenticationTokenConfigFile;
        message =
          "services.gitlab-runner.services.${runnerName}.authenticationTokenConfigFile is in the"
          + " Nix store, which every user can read; set services.nix-glab-runner.tokenFile to a"
          + " runtime path instead.";
      }
      {
        assertion = runner.registrationConfigFile == null;
        message =
          "services.gitlab-runner.services.${runnerName}.registrationConfigFile is set; remove it"
          + " and put the token in services.nix-glab-runner.tokenFile"
          + " (REGISTRATION_TOKEN=glrt-... works there).";
      }
    ];

    services.gitlab-runner = {
      enable = true;
      gracefulTermination = lib.mkDefault true;
      gracefulTimeout = lib.mkDefault cfg.stopTimeout;
      settings = {
        concurrent = lib.mkDefault cfg.concurrency;
        check_interval = lib.mkDefault 3;
      };
      clear-docker-cache = {
        enable = lib.mkDefault true;
        dates = lib.mkDefault cfg.dockerCleanup.schedule;
      };
      services.${runnerName} = {
        executor = lib.mkDefault "docker";
        # Derived from tokenFile at every start; glrt- tokens only verify, so an
        # options change re-registers locally and never adds a runner in GitLab.
        authenticationTokenConfigFile = lib.mkDefault glab.paths.runnerEnv;
        dockerImage = lib.mkDefault "alpine:3";
        limit = lib.mkDefault cfg.concurrency;
      };
    };

    systemd.services.gitlab-runner = {
      # The startup script writes the token; wait for it instead of failing first.
      after = [
        "google-startup-scripts.service"
        "network-online.target"
      ];
      wants = [ "network-online.target" ];
      unitConfig = {
        # A drained runner stays stopped, whatever asks to start it.
        ConditionPathExists = "!${glab.paths.drainedMarker}";
        # Never give up for good: retry with backoff for as long as it takes.
        StartLimitIntervalSec = 0;
      };
      serviceConfig = {
        ExecStartPre = lib.mkBefore [ "+${writeRunnerEnv}" ];
        Restart = "on-failure";
        RestartSec = "5s";
        RestartSteps = 10;
        RestartMaxDelaySec = "5min";
        TimeoutStartSec = "3min";
      };
    };

    # The token from Secret Manager, so it is never in instance metadata.
    systemd.services.nix-glab-runner-fetch-token = lib.mkIf (cfg.tokenSecret != null) {
      description = "Write the GitLab runner token file from Secret Manager";
      wantedBy = [ "multi-user.target" ];
      before = [ "gitlab-runner.service" ];
      after = [ "network-online.target" ];
      wants = [ "network-online.target" ];
      environment = {
        METADATA_URL = cfg.metadataUrl;
        SECRET_MANAGER_URL = cfg.secretManagerUrl;
      };
      unitConfig.StartLimitIntervalSec = 0;
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        ExecStart = "${lib.getExe scripts.fetchToken} ${
          lib.escapeShellArgs [
            cfg.tokenSecret
            cfg.tokenFile
          ]
        }";
        Restart = "on-failure";
        RestartSec = "10s";
      };
    };

    # Not ordered against the runner, so a shutdown stops both at once: GCE powers a deleted or
    # preempted VM off about 90 s (Spot: 30 s) after it asks it to shut down, long before the
    # runner's graceful stop (stopTimeout) ends. Running jobs keep reporting with their own job
    # tokens; a drain unregisters after its jobs instead (drain.sh).
    systemd.services.nix-glab-runner-unregister = lib.mkIf cfg.unregisterOnShutdown {
      description = "Unregister this GitLab runner manager at shutdown";
      wantedBy = [ "multi-user.target" ];
      # Stopped before the network goes down.
      after = [ "network-online.target" ];
      wants = [ "network-online.target" ];
      restartIfChanged = false;
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        ExecStart = "${pkgs.coreutils}/bin/true";
        ExecStop = "${lib.getExe scripts.unregister} ${glab.paths.runnerConfig} at-shutdown";
        TimeoutStopSec = "30s";
      };
    };
  };
}
