# The runner in host-daemon mode: token race, config.toml, job tools and store
# trust, metadata guard, drain protocol, graceful stop.
{ runnerModule }:
{
  name = "nix-glab-runner";

  nodes.machine = import ./node.nix { inherit runnerModule; };

  testScript =
    { nodes, ... }:
    ''
      import json
      import re
      import shlex
      import tomllib

      RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
      CONFIG = "/var/lib/gitlab-runner/.gitlab-runner/config.toml"
      REQUESTS = "/var/lib/fake-gitlab/requests.log"
      GUEST = "/var/lib/fake-metadata/guest-attributes/nix-glab-runner"


      def unit_state(unit):
          return machine.succeed(f"systemctl show -P ActiveState {unit}").strip()


      def job_command(runner, command):
          """COMMAND run the way the runner runs a job: same image, volumes, privilege, pre-build script."""
          volumes = " ".join("-v " + shlex.quote(v) for v in runner["docker"]["volumes"])
          privileged = "--privileged " if runner["docker"].get("privileged", False) else ""
          script = runner["pre_build_script"] + "\n" + command
          return f"docker run --rm -e HOME=/tmp {privileged}{volumes} local/probe:latest sh -euc {shlex.quote(script)}"


      def run_job(runner, command):
          return machine.succeed(job_command(runner, command))


      def job_status(runner):
          """A function of COMMAND that runs it as a job and returns its (status, output), for the probes."""
          return lambda command: machine.execute(job_command(runner, command))


      ${builtins.readFile ./isolation-probes.py}


      machine.start()
      for unit in ("docker.service", "fake-metadata.service", "fake-gitlab.service", "dnsmasq.service"):
          machine.wait_for_unit(unit)
      machine.succeed("docker load < /etc/nix-glab-runner-test/probe-image.tar.gz")

      with subtest("Docker is up, forwarding is on, per-build networks get GCE's MTU"):
          machine.succeed("docker info")
          assert machine.succeed("cat /proc/sys/net/ipv4/ip_forward").strip() == "1"
          machine.succeed("docker network create probe-net")
          mtu = machine.succeed(
              "docker network inspect probe-net --format '{{index .Options \"com.docker.network.driver.mtu\"}}'"
          ).strip()
          assert mtu == "1460", f"per-build network MTU is {mtu!r}"

      with subtest("Without a token file the runner waits: not running, not failed"):
          machine.sleep(5)
          state = unit_state("gitlab-runner.service")
          assert state not in ("active", "failed"), state
          machine.fail(f"test -e {CONFIG}")

      with subtest("A token written after boot, in upstream's REGISTRATION_TOKEN=glrt- form, configures the runner"):
          machine.succeed(
              "printf 'CI_SERVER_URL=http://127.0.0.1:8080\\nREGISTRATION_TOKEN=glrt-vm-test-token-0123456789abcdef' > /etc/gitlab-runner-env"
          )
          machine.wait_until_succeeds(f"grep -q 'POST /api/v4/runners/verify' {REQUESTS}", timeout=420)
          machine.wait_for_unit("gitlab-runner.service")
          machine.wait_until_succeeds(f"grep -q 'POST /api/v4/jobs/request' {REQUESTS}", timeout=120)
          assert machine.succeed("stat -c %a /etc/gitlab-runner-env").strip() == "600"
          assert machine.succeed("stat -c %a /run/nix-glab-runner/runner-env").strip() == "600"
          machine.succeed("grep -q '^CI_SERVER_TOKEN=glrt-vm-test-token-0123456789abcdef$' /run/nix-glab-runner/runner-env")
          machine.fail("journalctl -b | grep -q glrt-vm-test-token-0123456789abcdef")

      with subtest("config.toml: network per build, MTU, job tools, no PATH override"):
          config = tomllib.loads(machine.succeed(f"cat {CONFIG}"))
          runner = config["runners"][0]
          environment = runner.get("environment", [])
          assert "FF_NETWORK_PER_BUILD=true" in environment, environment
          assert not any(e.startswith("PATH=") for e in environment), environment
          assert runner["docker"]["network_mtu"] == 1460, runner["docker"]
          assert "nix-glab-runner-job-tools" in runner["pre_build_script"], runner["pre_build_script"]
          assert config["concurrent"] == 2, config

      with subtest("A job gets the tool environment"):
          run_job(runner, "nix --version && git --version && ssh -V && bash --version")
          run_job(runner, 'nix-store --query --hash "$(readlink -f "$(command -v git)")"')

      with subtest("The host daemon sees a job as the relay user and does not trust it"):
          job_store = json.loads(run_job(runner, "nix store info --json"))
          assert job_store["trusted"] == 0, job_store
          # Control: the same question from host root through the daemon is trusted.
          host_store = json.loads(
              machine.succeed("NIX_REMOTE=daemon nix --extra-experimental-features nix-command store info --json")
          )
          assert host_store["trusted"] == 1, host_store
          daemon_log = machine.succeed("journalctl -b -u nix-daemon.service -o cat")
          relay_user = "${nodes.machine.systemd.services."nix-glab-runner-job-daemon@".serviceConfig.User}"
          assert f", user {relay_user}" in daemon_log, daemon_log
          assert f", user {relay_user} (trusted)" not in daemon_log, daemon_log

      with subtest("A job cannot import a path without a trusted signature; host root can"):
          assert_unsigned_import_refused(job_status(runner))
          tools = re.search(r"/nix/store/[^/\"]+-nix-glab-runner-job-tools", runner["pre_build_script"])
          assert tools is not None, runner["pre_build_script"]
          machine.succeed(
              f'p=$(readlink -f {tools.group(0)}/bin/git); p=''${{p%/bin/git}}'
              ' && nix-store --export "$p" > /tmp/host.nar && NIX_REMOTE=daemon nix-store --import < /tmp/host.nar'
          )

      with subtest("Jobs cannot reach the metadata server over HTTP, yet resolve DNS through it"):
          probe = "wget -q -T 5 -O- http://169.254.169.254/probe"
          # Controls: the fake server answers the host and a host-network container.
          machine.succeed("curl -sf http://169.254.169.254/probe")
          machine.succeed(f"docker run --rm --network host local/probe:latest {probe}")
          for network in ("bridge", "probe-net"):
              machine.fail(f"docker run --rm --network {network} local/probe:latest {probe}")
              answer = machine.succeed(
                  f"docker run --rm --network {network} local/probe:latest nslookup metadata-probe.test 169.254.169.254"
              )
              assert "10.9.8.7" in answer, answer

      with subtest("A job's fixed-output builds cannot reach the metadata server; the host's own agents can"):
          for url in ("http://169.254.169.254/probe", "http://[fd20:ce::254]/probe"):
              assert_build_blocked(job_status(runner), "metadata-probe", url, "http://127.0.0.1:8081/probe")
          token = "http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token"
          machine.succeed(f"curl -sf -H 'Metadata-Flavor: Google' {token} | grep -q access_token")
          machine.succeed("curl -sf http://[fd20:ce::254]/probe")

      with subtest("Job containers are not privileged; a docker:dind service is, other services are not"):
          docker = runner["docker"]
          assert docker.get("privileged", False) is False, docker
          assert docker["services_privileged"] is True, docker
          expected = json.loads('${builtins.toJSON nodes.machine.services.nix-glab-runner.docker.allowedPrivilegedServices}')
          assert docker["allowed_privileged_services"] == expected, docker
          all_capabilities = capabilities("local/probe:latest", privileged=True)
          job_capabilities = run_job(runner, "grep CapEff /proc/self/status").split()[1]
          assert job_capabilities != all_capabilities, job_capabilities
          for image, privileged in (("docker:dind", True), ("docker:27-dind", True), ("postgres:16", False)):
              machine.succeed(f"docker tag local/probe:latest {image}")
              service = capabilities(image, service_is_privileged(docker, image))
              assert (service == all_capabilities) == privileged, (image, service)

      with subtest("The runner stops gracefully"):
          assert machine.succeed("systemctl show -P KillSignal gitlab-runner.service").strip() == "3"
          assert machine.succeed("systemctl show -P KillMode gitlab-runner.service").strip() == "process"
          assert machine.succeed("systemctl show -P TimeoutStopUSec gitlab-runner.service").strip() == "2h"

      with subtest("The drain service drains on the metadata key and writes the guest attributes"):
          machine.fail(f"test -e {GUEST}/drain-state")
          machine.succeed(
              "mkdir -p /var/lib/fake-metadata/attributes"
              " && date -u -d '+5 minutes' +%Y-%m-%dT%H:%M:%SZ > /var/lib/fake-metadata/attributes/nix-glab-runner-drain"
          )
          machine.wait_until_succeeds(f"grep -qx drained {GUEST}/drain-state", timeout=240)
          history = machine.succeed("cat /var/lib/fake-metadata/guest-attributes.log").splitlines()
          states = [line.split("=", 1)[1] for line in history if line.startswith("nix-glab-runner/drain-state=")]
          assert states == ["draining", "drained"], states
          for key in ("drain-started", "drain-finished"):
              value = machine.succeed(f"cat {GUEST}/{key}").strip()
              assert RFC3339.match(value), (key, value)
          assert machine.succeed(f"cat {GUEST}/running-jobs").strip() == "0"
          assert unit_state("gitlab-runner.service") in ("inactive", "failed")
          machine.wait_until_succeeds(f"grep -q '^DELETE /api/v4/runners' {REQUESTS}", timeout=60)

      with subtest("Nothing starts a drained runner again"):
          machine.succeed("touch /etc/gitlab-runner-env")
          machine.succeed("systemctl start gitlab-runner.service")
          machine.sleep(10)
          assert unit_state("gitlab-runner.service") not in ("active", "activating", "reloading")
          machine.succeed("systemctl show -P ConditionResult gitlab-runner.service | grep -qx no")
    '';
}
