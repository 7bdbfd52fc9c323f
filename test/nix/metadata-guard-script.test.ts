import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, requireTool } from './helpers.ts';

/**
 * The metadata guard (nix/scripts/metadata-guard.sh) with real iptables and ip6tables, in a private
 * network namespace laid out like a runner VM (fixtures/metadata-guard-netns.sh): the metadata
 * addresses on lo with listeners on TCP 80, 443 and 53, a docker0 and a per-build br-* bridge with a
 * container namespace on each, and a build user in gid 30000 (the module passes the Nix build
 * users' group). Each probe is a real TCP connect. The NixOS VM tests check the same rules against
 * a fake metadata server under real Docker and a real Nix daemon.
 */

type Result = 'open' | 'blocked';
const WHO = ['host-root', 'build-user', 'job-container', 'service-container'] as const;
const ADDRESSES = ['169.254.169.254', 'fd20:ce::254'] as const;
const PORTS = ['80', '443', '53'] as const;

interface Run {
  probes: Map<string, Result>;
  rules: Map<string, number>;
}

/** Namespaces and iptables need root: as root, directly; otherwise through passwordless sudo (CI). */
function asRoot(): string[] {
  if (process.getuid?.() === 0) return [];
  try {
    execFileSync('sudo', ['-n', 'true'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      'this test needs root to create network namespaces: run it as root or with passwordless sudo',
    );
  }
  return ['sudo', '-n'];
}

function runInNamespace(): Run {
  const [command, ...prefix] = [
    ...asRoot(),
    'unshare',
    '--net',
    '--mount',
    '--fork',
    'bash',
    join(REPO, 'test/nix/fixtures/metadata-guard-netns.sh'),
    join(REPO, 'nix/scripts/metadata-guard.sh'),
  ];
  const out = execFileSync(command, prefix, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 240_000,
  });
  const probes = new Map<string, Result>();
  const rules = new Map<string, number>();
  for (const line of out.trim().split('\n')) {
    const fields = line.split(' ');
    if (fields[0] === 'rules') rules.set(fields[1] ?? '', Number(fields[2]));
    else probes.set(fields.slice(0, 4).join(' '), fields[4] as Result);
  }
  return { probes, rules };
}

function table(run: Run, phase: string): Record<string, Result | undefined> {
  const rows: Record<string, Result | undefined> = {};
  for (const who of WHO)
    for (const address of ADDRESSES)
      for (const port of PORTS)
        rows[`${who} ${address} ${port}`] = run.probes.get(`${phase} ${who} ${address} ${port}`);
  return rows;
}

function expected(blocked: (who: string, port: string) => boolean): Record<string, Result> {
  const rows: Record<string, Result> = {};
  for (const who of WHO)
    for (const address of ADDRESSES)
      for (const port of PORTS) rows[`${who} ${address} ${port}`] = blocked(who, port) ? 'blocked' : 'open';
  return rows;
}

describe('metadata guard in a network namespace', () => {
  let run: Run;

  beforeAll(() => {
    requireTool('unshare', '--version', 'install util-linux: apt-get install -y util-linux');
    requireTool('iptables', '--version', 'install iptables: apt-get install -y iptables');
    requireTool('ip', '-V', 'install iproute2: apt-get install -y iproute2');
    requireTool('setpriv', '--version', 'install util-linux: apt-get install -y util-linux');
    run = runInNamespace();
  }, 300_000);

  it('without the guard, every probe connects (so a blocked probe below is the guard)', () => {
    expect(table(run, 'before')).toEqual(expected(() => false));
  });

  it('blocks TCP 80 and 443 for containers on docker0 and br-*, and for the build users, on IPv4 and IPv6', () => {
    const blocked = (who: string, port: string): boolean => who !== 'host-root' && port !== '53';
    expect(table(run, 'added')).toEqual(expected(blocked));
  });

  it('keeps port 53 (DNS) open for everyone and the metadata server open to host root', () => {
    const added = table(run, 'added');
    for (const who of WHO)
      for (const address of ADDRESSES) expect(added[`${who} ${address} 53`]).toBe('open');
    for (const address of ADDRESSES) expect(added[`host-root ${address} 80`]).toBe('open');
  });

  it('adds each rule once however often it runs, and removes every rule it added', () => {
    expect(run.rules.get('added-once')).toBeGreaterThan(0);
    expect(run.rules.get('added-twice')).toBe(run.rules.get('added-once'));
    expect(run.rules.get('removed')).toBe(0);
    expect(table(run, 'removed')).toEqual(expected(() => false));
  });
});
