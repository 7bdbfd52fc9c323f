# The runner in isolated mode: jobs use a dedicated nix-daemon container's
# store, never the host's, and that daemon does not trust them.
{ runnerModule }:
{
  name = "nix-glab-runner-isolated-store";

  nodes.machine = {
    imports = [ (import ./node.nix { inherit runnerModule; }) ];
    services.nix-glab-runner = {
      store.mode = "isolated";
      # The token comes from (fake) Secret Manager here, not from a startup script.
      tokenSecret = "projects/test/secrets/runner-env/versions/latest";
      secretManagerUrl = "http://169.254.169.254/v1";
    };
  };

  testScript =
    { nodes, ... }:
    ''
      import json
      import shlex
      import tomllib

      CONFIG = "/var/lib/gitlab-runner/.gitlab-runner/config.toml"
      HOST_ONLY_PATH = "${nodes.machine.system.build.toplevel}"

      machine.start()
      machine.wait_for_unit("docker.service")
      machine.wait_for_unit("docker-nix-glab-runner-nix-daemon.service")
      machine.succeed("docker load < /etc/nix-glab-runner-test/probe-image.tar.gz")
      with subtest("The token file is written from Secret Manager with the VM's service account"):
          machine.fail("test -e /etc/gitlab-runner-env")
          machine.succeed(
              "mkdir -p /var/lib/fake-metadata/secrets"
              " && printf 'CI_SERVER_URL=http://127.0.0.1:8080\\nCI_SERVER_TOKEN=glrt-vm-test-token-0123456789abcdef\\n'"
              " > /var/lib/fake-metadata/secrets/runner-env"
          )
          machine.wait_until_succeeds("test -s /etc/gitlab-runner-env", timeout=120)
          assert machine.succeed("stat -c %a /etc/gitlab-runner-env").strip() == "600"
          machine.succeed("grep -qx 'CI_SERVER_TOKEN=glrt-vm-test-token-0123456789abcdef' /etc/gitlab-runner-env")

      machine.wait_until_succeeds(f"test -s {CONFIG}", timeout=300)
      runner = tomllib.loads(machine.succeed(f"cat {CONFIG}"))["runners"][0]

      with subtest("Jobs take their store from the daemon container, not from the host"):
          assert runner["docker"]["volumes_from"] == ["nix-glab-runner-nix-daemon:ro"], runner["docker"]
          assert not any(v.startswith("/nix/store") for v in runner["docker"].get("volumes", [])), runner["docker"]

      def job_command(command):
          script = runner["pre_build_script"] + "\n" + command
          return (
              "docker run --rm -e HOME=/tmp --volumes-from nix-glab-runner-nix-daemon:ro"
              f" local/probe:latest sh -euc {shlex.quote(script)}"
          )


      def run_job(command):
          return machine.succeed(job_command(command))


      def run_job_status(command):
          return machine.execute(job_command(command))


      ${builtins.readFile ./isolation-probes.py}

      with subtest("A job reaches the container's daemon untrusted and has its tools"):
          machine.wait_until_succeeds(
              "docker exec nix-glab-runner-nix-daemon test -S /nix/var/nix/daemon-socket/socket", timeout=120
          )
          run_job("nix --version && git --version")
          info = json.loads(run_job("nix store info --json"))
          assert info["trusted"] == 0, info
          run_job(f"test ! -e {HOST_ONLY_PATH}")

      with subtest("A job cannot import a path without a trusted signature into the container's store"):
          assert_unsigned_import_refused(run_job_status)

      with subtest("Builds the container's daemon runs for a job cannot reach the metadata server"):
          # Its builds leave through docker0; the control server answers on docker0's own address.
          gateway = machine.succeed(
              "docker network inspect bridge --format '{{(index .IPAM.Config 0).Gateway}}'"
          ).strip()
          assert_build_blocked(
              run_job_status, "metadata-probe", "http://169.254.169.254/probe", f"http://{gateway}:8081/probe"
          )
          token = "http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token"
          machine.succeed(f"curl -sf -H 'Metadata-Flavor: Google' {token} | grep -q access_token")
    '';
}
