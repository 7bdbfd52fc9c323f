# The Docker executor: CI services that work on GCE, privileges, devices.
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
  servicesOnly = cfg.docker.privileged == "services";
  privilegedServices = lib.optionals servicesOnly cfg.docker.allowedPrivilegedServices;
in
{
  config = lib.mkIf cfg.enable {
    assertions = [
      {
        # Runner variables reach service containers too; postgres needs its own PATH.
        assertion = !(runner.environmentVariables ? PATH);
        message = "services.gitlab-runner.services.${runnerName}.environmentVariables sets PATH, which breaks CI services such as postgres; add tools with services.nix-glab-runner.jobTools.extraPackages instead.";
      }
    ];

    virtualisation.docker = {
      enable = true;
      daemon.settings = {
        mtu = cfg.docker.networkMtu;
        # Per-build networks (FF_NETWORK_PER_BUILD) and networks jobs create.
        default-network-opts.bridge."com.docker.network.driver.mtu" = toString cfg.docker.networkMtu;
      };
    };

    # GCE's sysctl defaults turn forwarding off; containers need it.
    boot.kernel.sysctl."net.ipv4.ip_forward" = 1;

    services.gitlab-runner.services.${runnerName} = {
      # gitlab-runner's `privileged` covers jobs and services; `services_privileged`
      # only services, and then only those in `allowed_privileged_services`.
      dockerPrivileged = lib.mkDefault (cfg.docker.privileged == "all");
      dockerServicesPrivileged = lib.mkDefault servicesOnly;
      dockerAllowedPrivilegedServices = privilegedServices;
      dockerAllowedImages = cfg.docker.allowedImages;
      # docker:dind shares its TLS client certificates through /certs/client.
      dockerVolumes =
        lib.optional (cfg.docker.privileged != "none") "/certs/client"
        ++ lib.optional cfg.docker.mountSocket "/var/run/docker.sock:/var/run/docker.sock";
      environmentVariables.FF_NETWORK_PER_BUILD = "true";
      registrationFlags = lib.optionals cfg.docker.passKvm [
        "--docker-devices"
        "/dev/kvm"
      ];
    };
  };
}
