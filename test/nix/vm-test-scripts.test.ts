import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { nixEval, requireNixInstantiate, requireTool } from './helpers.ts';

/**
 * The NixOS VM tests (nix/tests/*.nix) need KVM and nixpkgs, so they run only in CI. Here their
 * Python test scripts are rendered with real Nix (stand-in `nodes` hold only the values the
 * scripts interpolate) and compiled by python3, so a quoting slip between Nix and Python fails
 * here rather than an hour into a CI run. What the scripts assert is checked by running them in CI.
 */
const NODES = `{
  machine = {
    systemd.services."nix-glab-runner-job-daemon@".serviceConfig.User = "nix-glab-runner-jobs";
    services.nix-glab-runner.docker.allowedPrivilegedServices = [ "docker:dind" "docker:*-dind" ];
    system.build.toplevel = "/nix/store/00000000000000000000000000000000-nixos-system";
  };
}`;

function script(test: string): string {
  return nixEval<string>(`
    let
      test = import ./nix/tests/${test}.nix { runnerModule = { }; };
    in
      if builtins.isFunction test.testScript then test.testScript { nodes = ${NODES}; } else test.testScript`);
}

function compiles(source: string): void {
  execFileSync('python3', ['-c', 'import sys; compile(sys.stdin.read(), "testScript", "exec")'], {
    input: source,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
}

describe('VM test scripts', () => {
  beforeAll(() => {
    requireNixInstantiate();
    requireTool('python3', '--version', 'install python3: apt-get install -y python3');
  });

  for (const test of ['runner', 'isolated']) {
    it(`${test}.nix renders to Python that compiles, with the shared isolation probes`, () => {
      const source = script(test);
      expect(() => compiles(source)).not.toThrow();
      expect(source).toContain('def assert_unsigned_import_refused(');
      expect(source).toContain('assert_build_blocked(');
      expect(source).not.toMatch(/\$\{(nodes|builtins)/);
    });
  }

  it('runner.nix checks the relay user and the privileged services the module configured', () => {
    const source = script('runner');
    expect(source).toContain('relay_user = "nix-glab-runner-jobs"');
    expect(source).toContain(`json.loads('["docker:dind","docker:*-dind"]')`);
  });
});
