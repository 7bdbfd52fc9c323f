# The guest side of the drain protocol (docs/architecture.md, "The drain protocol").
{
  config,
  lib,
  pkgs,
  ...
}:
let
  glab = import ../lib.nix;
  cfg = config.services.nix-glab-runner;
  protocol = glab.drainProtocol;
  scripts = import ./scripts.nix { inherit pkgs config; };
in
{
  config = lib.mkIf (cfg.enable && cfg.drain.enable) {
    assertions = [
      {
        assertion = config.services.gitlab-runner.gracefulTermination;
        message =
          "services.gitlab-runner.gracefulTermination is false, but a drain stops the runner with"
          + " SIGQUIT so running jobs finish; leave it true or set"
          + " services.nix-glab-runner.drain.enable = false.";
      }
    ];

    systemd.services.${protocol.serviceName} = {
      description = "Drain the GitLab runner when metadata key ${protocol.metadataKey} appears";
      wantedBy = [ "multi-user.target" ];
      after = [ "network-online.target" ];
      wants = [ "network-online.target" ];
      # A configuration switch must not cut a drain short.
      restartIfChanged = false;
      environment = {
        METADATA_URL = cfg.metadataUrl;
        DRAIN_KEY = protocol.metadataKey;
        NAMESPACE = protocol.guestAttributeNamespace;
        RUNNER_UNIT = "gitlab-runner.service";
        MARKER = glab.paths.drainedMarker;
        FALLBACK_SECONDS = toString cfg.drain.fallbackTimeout;
        UNREGISTER = if cfg.unregisterOnShutdown then "1" else "0";
        RUNNER_CONFIG = glab.paths.runnerConfig;
      };
      unitConfig.StartLimitIntervalSec = 0;
      serviceConfig = {
        ExecStart = lib.getExe scripts.drain;
        Restart = "on-failure";
        RestartSec = "10s";
      };
    };
  };
}
