# Probes shared by the VM tests: what a job can do through the Nix daemon it
# reaches, and which containers run privileged. Pasted into testScript, where
# the test driver provides `machine` and the script has imported shlex.
import fnmatch
import hashlib

# What fake-metadata.py answers on /probe, without any header.
PROBE_SHA256 = hashlib.sha256(b"metadata server reached\n").hexdigest()


def fixed_output_build(run_job_status, name, url):
    """From inside a job, asks the job's Nix daemon for a fixed-output build that fetches URL.
    The build runs as a Nix build user, in the daemon's network namespace. Returns (status, output)."""
    expression = f'import <nix/fetchurl.nix> {{ name = "{name}"; url = "{url}"; sha256 = "{PROBE_SHA256}"; }}'
    return run_job_status(
        "nix-build --no-out-link --option connect-timeout 5 --option timeout 300"
        f" -E {shlex.quote(expression)} 2>&1"
    )


def assert_build_blocked(run_job_status, name, url, control_url):
    control_status, control_output = fixed_output_build(run_job_status, f"control-{name}", control_url)
    assert control_status == 0, f"control build from {control_url} failed: {control_output}"
    status, output = fixed_output_build(run_job_status, name, url)
    assert status != 0, f"a job's fixed-output build fetched {url}: {output}"
    assert "hash mismatch" not in output, output


def assert_unsigned_import_refused(run_job_status):
    """A job exports a store path it can read and imports it back: an untrusted client may not
    add a path without a signature by a trusted key."""
    status, output = run_job_status(
        'p=$(readlink -f "$(command -v git)"); p=${p%/bin/git}'
        ' && nix-store --export "$p" > /tmp/unsigned.nar && nix-store --import < /tmp/unsigned.nar 2>&1'
    )
    assert status != 0, f"a job imported an unsigned path: {output}"
    assert "lacks a signature by a trusted key" in output, output


def capabilities(image, privileged):
    """The effective capabilities of a container of IMAGE, started privileged or not."""
    flag = "--privileged " if privileged else ""
    return machine.succeed(f"docker run --rm {flag}{image} grep CapEff /proc/self/status").split()[1]


def service_is_privileged(docker, image):
    """GitLab Runner's rule for a service container ([runners.docker]): `services_privileged`, or
    `privileged` when that is unset, and then only images matching `allowed_privileged_services`
    when that list is not empty."""
    privileged = docker.get("services_privileged", docker.get("privileged", False))
    allowed = docker.get("allowed_privileged_services", [])
    return privileged and (not allowed or any(fnmatch.fnmatch(image, p) for p in allowed))
