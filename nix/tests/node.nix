# A runner VM for the tests, with fakes for GitLab, the GCE metadata server
# (on its real address, 169.254.169.254) and GCE's DNS on the same address.
{ runnerModule }:
{ pkgs, ... }:
let
  # A static busybox in /bin and nothing under /nix, like a real job image:
  # job volumes mount a store over /nix.
  probeImage = pkgs.dockerTools.buildImage {
    name = "local/probe";
    tag = "latest";
    extraCommands = ''
      mkdir -p bin tmp root
      chmod 1777 tmp
      cp ${pkgs.pkgsStatic.busybox}/bin/busybox bin/busybox
      for applet in sh cat echo env ls mkdir nslookup readlink sleep test wget; do
        ln -s busybox bin/$applet
      done
    '';
    config.Cmd = [ "/bin/sh" ];
  };
  python = "${pkgs.python3}/bin/python3";
in
{
  imports = [ runnerModule ];

  virtualisation = {
    memorySize = 3072;
    diskSize = 8192;
    cores = 2;
  };

  # As on GCE, where the VPC firewall filters and the host firewall is off.
  networking.firewall.enable = false;
  networking.hosts."169.254.169.254" = [ "metadata.google.internal" ];

  services.nix-glab-runner = {
    enable = true;
    concurrency = 2;
    store = {
      minFree = "256M";
      freeTarget = "1G";
    };
  };
  services.gitlab-runner.services.nix = {
    dockerImage = "local/probe:latest";
    dockerPullPolicy = "if-not-present";
  };

  environment.etc."nix-glab-runner-test/probe-image.tar.gz".source = probeImage;
  environment.systemPackages = [ pkgs.curl ];

  systemd.services.fake-metadata-address = {
    description = "Put 169.254.169.254 on this VM for the fake metadata server";
    wantedBy = [ "multi-user.target" ];
    before = [
      "fake-metadata.service"
      "dnsmasq.service"
    ];
    serviceConfig = {
      Type = "oneshot";
      RemainAfterExit = true;
      ExecStart = "${pkgs.iproute2}/bin/ip address replace 169.254.169.254/32 dev lo";
    };
  };

  systemd.services.fake-metadata = {
    description = "Fake GCE metadata server";
    wantedBy = [ "multi-user.target" ];
    requires = [ "fake-metadata-address.service" ];
    after = [ "fake-metadata-address.service" ];
    serviceConfig = {
      StateDirectory = "fake-metadata";
      ExecStart = "${python} ${./fake-metadata.py} /var/lib/fake-metadata 169.254.169.254 80";
    };
  };

  systemd.services.fake-gitlab = {
    description = "Fake GitLab coordinator";
    wantedBy = [ "multi-user.target" ];
    before = [ "gitlab-runner.service" ];
    serviceConfig = {
      StateDirectory = "fake-gitlab";
      ExecStart = "${python} ${./fake-gitlab.py} 127.0.0.1 8080 /var/lib/fake-gitlab/requests.log";
    };
  };

  # GCE's resolver answers on the metadata address; jobs must keep reaching it.
  services.dnsmasq = {
    enable = true;
    resolveLocalQueries = false;
    settings = {
      listen-address = "169.254.169.254";
      bind-dynamic = true;
      no-resolv = true;
      address = "/metadata-probe.test/10.9.8.7";
    };
  };
  systemd.services.dnsmasq = {
    requires = [ "fake-metadata-address.service" ];
    after = [ "fake-metadata-address.service" ];
  };
}
