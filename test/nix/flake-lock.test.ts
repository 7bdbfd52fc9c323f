import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateWorkflow } from '@action-validator/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO, requireTool } from './helpers.ts';

/**
 * The flake is pinned: flake.lock is committed, names one nixos-25.11 revision with its narHash, and
 * matches flake.nix. Read by real Nix, offline (nixpkgs itself cannot be fetched here; `flake metadata`
 * does not need it). Workflows change the lock only through a pull request and build with the lock
 * as committed.
 */

interface Locked {
  type: string;
  owner: string;
  repo: string;
  rev: string;
  narHash: string;
  lastModified: number;
}
interface Metadata {
  locks: {
    root: string;
    nodes: Record<
      string,
      { locked?: Locked; original?: Record<string, string>; inputs?: Record<string, string> }
    >;
  };
}

const NIX = ['--extra-experimental-features', 'nix-command flakes'];

/** `nix flake metadata` of a copy of flake.nix and flake.lock, offline, refusing any lock change. */
function metadata(flakeNix = readFileSync(join(REPO, 'flake.nix'), 'utf8')) {
  const dir = mkdtempSync(join(tmpdir(), 'ngr-lock-'));
  writeFileSync(join(dir, 'flake.nix'), flakeNix);
  copyFileSync(join(REPO, 'flake.lock'), join(dir, 'flake.lock'));
  const args = [
    ...NIX,
    'flake',
    'metadata',
    '--offline',
    '--no-update-lock-file',
    '--no-write-lock-file',
    '--json',
  ];
  const result = spawnSync('nix', [...args, `path:${dir}`], { encoding: 'utf8' });
  return { ...result, lockAfter: readFileSync(join(dir, 'flake.lock'), 'utf8') };
}

describe('flake.lock', () => {
  beforeAll(() => requireTool('nix', '--version', 'install nix: apt-get install -y nix-bin'));

  it('is committed', () => {
    const tracked = execFileSync('git', ['-C', REPO, 'ls-files', 'flake.lock'], { encoding: 'utf8' }).trim();
    expect(tracked).toBe('flake.lock');
  });

  it('parses with Nix offline and pins nixpkgs nixos-25.11 to one revision and its narHash', () => {
    const r = metadata();
    expect(r.status, r.stderr).toBe(0);
    const { locks } = JSON.parse(r.stdout) as Metadata;
    const node = locks.nodes[locks.nodes[locks.root]?.inputs?.nixpkgs ?? ''];
    expect(node?.original).toEqual({ type: 'github', owner: 'NixOS', repo: 'nixpkgs', ref: 'nixos-25.11' });
    expect(node?.locked).toMatchObject({ type: 'github', owner: 'NixOS', repo: 'nixpkgs' });
    expect(node?.locked?.rev).toMatch(/^[0-9a-f]{40}$/);
    expect(node?.locked?.narHash).toMatch(/^sha256-[A-Za-z0-9+/]{43}=$/);
    // The pinned revision is from the nixos-25.11 era (after the 25.11 branch-off in November 2025).
    expect(node?.locked?.lastModified).toBeGreaterThan(Date.UTC(2025, 10, 1) / 1000);
    expect(r.lockAfter).toBe(readFileSync(join(REPO, 'flake.lock'), 'utf8'));
  });

  it('matches flake.nix: Nix refuses it for a flake.nix that asks for another branch', () => {
    const other = readFileSync(join(REPO, 'flake.nix'), 'utf8').replace('nixos-25.11', 'nixos-26.05');
    const r = metadata(other);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/lock file|nixos-26\.05|cannot/i);
  });
});

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, string>;
}
interface Job {
  if?: string;
  steps: Step[];
  permissions?: Record<string, string>;
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const workflow = (path: string) => parse(readFileSync(join(REPO, path), 'utf8')) as Workflow;
const runs = (job: Job) => job.steps.map((s) => s.run ?? '').join('\n');
const LOCK_WRITERS =
  /nix flake (update|lock)|--update-input|--recreate-lock-file|--commit-lock-file|git push/;

function expectLockUpdateAsPullRequest(job: Job | undefined): void {
  expect(job).toBeDefined();
  expect(runs(job as Job)).toMatch(/nix flake update/);
  expect(runs(job as Job)).not.toMatch(/git push|git commit/);
  const pr = (job as Job).steps.find((s) => s.uses?.startsWith('peter-evans/create-pull-request@'));
  expect(pr?.with?.['add-paths']).toBe('flake.lock');
}

describe('workflows change the lock only through a pull request', () => {
  it('.github/workflows/nix.yml: a weekly pull request; every build uses the committed lock', () => {
    expect(validateWorkflow(readFileSync(join(REPO, '.github/workflows/nix.yml'), 'utf8')).errors).toEqual(
      [],
    );
    const wf = workflow('.github/workflows/nix.yml');
    const update = wf.jobs['update-flake-lock'];
    expectLockUpdateAsPullRequest(update);
    expect(update?.if).toMatch(/schedule/);
    expect(update?.if).not.toMatch(/push|pull_request/);
    for (const [name, job] of Object.entries(wf.jobs)) {
      if (name === 'update-flake-lock') continue;
      const text = runs(job);
      expect(text, name).not.toMatch(LOCK_WRITERS);
      for (const line of text.split('\n').filter((l) => /\bnix (build|run|flake check)\b/.test(l)))
        expect(line, name).toContain('--no-update-lock-file');
      // Builds check out the commit under test, never a ref the lock job made.
      for (const step of job.steps) expect(step.with?.ref ?? '', name).not.toMatch(/update-flake-lock/);
    }
  });

  it('examples/github: update-lock.yml proposes the update; rebuild.yml builds what the branch pins', () => {
    const update = workflow('examples/github/update-lock.yml');
    expect(update.on).toHaveProperty('schedule');
    expectLockUpdateAsPullRequest(Object.values(update.jobs)[0]);

    const rebuild = workflow('examples/github/rebuild.yml');
    expect(rebuild.permissions?.contents).toBe('read');
    expect((rebuild.on.push as { paths: string[] }).paths).toContain('flake.lock');
    const job = Object.values(rebuild.jobs)[0] as Job;
    expect(runs(job)).not.toMatch(LOCK_WRITERS);
    expect(runs(job)).toMatch(/nix flake metadata --no-update-lock-file/);
  });
});
