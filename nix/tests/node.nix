# A runner VM for the tests, with fakes for GitLab, the GCE metadata server
# (on its real addresses, 169.254.169.254 and fd20:ce::254) and GCE's DNS on
# the IPv4 one, and a control server that answers like the metadata server on
# an ordinary address (port 8081 of every IPv4 address of the VM).
{ runnerModule }:
{ lib, pkgs, ... }:
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
      for applet in sh cat echo env grep ls mkdir nslookup readlink sleep test wget; do
        ln -s busybox bin/$applet
      done
    '';
    config.Cmd = [ "/bin/sh" ];
  };
  python = "${pkgs.python3}/bin/python3";

  # fake-metadata.py serving STATE on ADDRESS:PORT; on the metadata server's
  # addresses it waits for them to be added to lo.
  fakeMetadata =
    {
      description,
      state,
      address,
      port,
      onMetadataAddress,
    }:
    {
      inherit description;
      wantedBy = [ "multi-user.target" ];
      requires = lib.optional onMetadataAddress "fake-metadata-address.service";
      after = lib.optional onMetadataAddress "fake-metadata-address.service";
      serviceConfig = {
        StateDirectory = state;
        ExecStart = "${python} ${./fake-metadata.py} /var/lib/${state} ${address} ${toString port}";
      };
    };
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
    description = "Put the metadata addresses on this VM for the fake metadata server";
    wantedBy = [ "multi-user.target" ];
    before = [
      "fake-metadata.service"
      "dnsmasq.service"
    ];
    serviceConfig = {
      Type = "oneshot";
      RemainAfterExit = true;
      ExecStart = [
        "${pkgs.iproute2}/bin/ip address replace 169.254.169.254/32 dev lo"
        "${pkgs.iproute2}/bin/ip -6 address replace fd20:ce::254/128 dev lo"
      ];
    };
  };

  systemd.services.fake-metadata = fakeMetadata {
    description = "Fake GCE metadata server";
    state = "fake-metadata";
    address = "169.254.169.254";
    port = 80;
    onMetadataAddress = true;
  };

  systemd.services.fake-metadata-ipv6 = fakeMetadata {
    description = "Fake GCE metadata server on its IPv6 address";
    state = "fake-metadata-ipv6";
    address = "fd20:ce::254";
    port = 80;
    onMetadataAddress = true;
  };

  # Answers /probe like the metadata server, on an address the guard leaves
  # open: proves a blocked build failed because of the guard, not the build.
  systemd.services.control-server = fakeMetadata {
    description = "Control server for the metadata probes";
    state = "control-server";
    address = "0.0.0.0";
    port = 8081;
    onMetadataAddress = false;
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
