import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, requireTool } from './helpers.ts';

/**
 * nix/scripts/load-kvm.sh and nix/scripts/unregister.sh with real bash. modprobe, systemctl, timeout
 * and gitlab-runner are stand-ins that record their calls: loading kernel modules, a shutting-down
 * systemd and GitLab do not exist here. The NixOS VM test runs the real ones.
 */

function standIns(tools: Record<string, string>): { dir: string; calls: () => string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'ngr-scripts-'));
  mkdirSync(join(dir, 'bin'));
  for (const [name, body] of Object.entries(tools)) {
    const path = join(dir, 'bin', name);
    writeFileSync(path, `#!/usr/bin/env bash\necho "${name} $*" >> ${dir}/calls\n${body}\n`);
    chmodSync(path, 0o755);
  }
  const calls = () =>
    existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n') : [];
  return { dir, calls };
}

function runScript(script: string, args: string[], dir: string, env: Record<string, string> = {}) {
  return spawnSync(
    'bash',
    ['-o', 'errexit', '-o', 'nounset', '-o', 'pipefail', join(REPO, script), ...args],
    {
      encoding: 'utf8',
      env: { PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`, ...env },
    },
  );
}

describe('load-kvm.sh', () => {
  beforeAll(() => requireTool('bash', '--version', 'install bash: apt-get install -y bash'));

  const withFlags = (flags: string) => {
    const stand = standIns({ modprobe: 'true' });
    writeFileSync(
      join(stand.dir, 'cpuinfo'),
      `processor\t: 0\nflags\t\t: fpu ${flags} sse2\n\nflags\t\t: other\n`,
    );
    const result = runScript('nix/scripts/load-kvm.sh', [], stand.dir, {
      CPUINFO: join(stand.dir, 'cpuinfo'),
    });
    return { ...result, calls: stand.calls() };
  };

  it('loads kvm-intel on a CPU with VT-x', () => {
    const r = withFlags('vme vmx pae');
    expect(r.status, r.stderr).toBe(0);
    expect(r.calls).toEqual(['modprobe kvm-intel']);
  });

  it('loads kvm-amd on a CPU with AMD-V', () => {
    const r = withFlags('vme svm pae');
    expect(r.status, r.stderr).toBe(0);
    expect(r.calls).toEqual(['modprobe kvm-amd']);
  });

  it('loads nothing and says why when the instance has no nested virtualisation', () => {
    const r = withFlags('vme pae vmxfoo');
    expect(r.status, r.stderr).toBe(0);
    expect(r.calls).toEqual([]);
    expect(r.stderr).toMatch(/neither VT-x nor AMD-V \(is nested virtualisation enabled on the instance\?\)/);
  });
});

describe('unregister.sh', () => {
  const stand = (systemState: string) =>
    standIns({
      systemctl: `echo ${systemState}`,
      timeout: 'shift; "$@"',
      'gitlab-runner': 'true',
    });

  it('at shutdown, unregisters within 20 s (inside the Spot VM window)', () => {
    const s = stand('stopping');
    writeFileSync(join(s.dir, 'config.toml'), '[[runners]]\n');
    const r = runScript('nix/scripts/unregister.sh', [join(s.dir, 'config.toml'), 'at-shutdown'], s.dir);
    expect(r.status, r.stderr).toBe(0);
    expect(s.calls()).toContain('timeout 20 gitlab-runner unregister --all-runners');
    expect(r.stdout).toMatch(/runner manager unregistered/);
  });

  it('keeps the registration when the unit stops outside a shutdown (a configuration switch)', () => {
    const s = stand('running');
    writeFileSync(join(s.dir, 'config.toml'), '[[runners]]\n');
    const r = runScript('nix/scripts/unregister.sh', [join(s.dir, 'config.toml'), 'at-shutdown'], s.dir);
    expect(r.status, r.stderr).toBe(0);
    expect(s.calls().filter((c) => c.startsWith('gitlab-runner'))).toEqual([]);
    expect(r.stdout).toMatch(/system is running, not stopping; keeping the runner registration/);
  });
});
