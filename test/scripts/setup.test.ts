/**
 * scripts/setup.sh on a small project of its own: the same script and .npmrc, a package.json and lock whose
 * only dependency is a local directory (npm ci needs no registry), and engines no Node satisfies, so npm
 * would warn as it does on Debian's Node 20 for the Google client libraries.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.ts';
import { tempDir } from '../nix-stage/helpers.ts';

const NEEDS_NODE_99 = { node: '>=99' };

function project(withNpmrc = true): string {
  const dir = tempDir('setup');
  mkdirSync(join(dir, 'scripts'));
  cpSync(join(REPO_ROOT, 'scripts/setup.sh'), join(dir, 'scripts/setup.sh'));
  if (withNpmrc) cpSync(join(REPO_ROOT, '.npmrc'), join(dir, '.npmrc'));
  mkdirSync(join(dir, 'dep'));
  writeFileSync(
    join(dir, 'dep/package.json'),
    JSON.stringify({ name: 'dep', version: '1.0.0', engines: NEEDS_NODE_99 }),
  );
  writePackage(dir, { dep: 'file:./dep' });
  return dir;
}

function writePackage(dir: string, dependencies: Record<string, string>): void {
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', engines: NEEDS_NODE_99, dependencies }),
  );
  const lock = spawnSync('npm', ['install', '--package-lock-only', '--offline', '--loglevel=error'], {
    cwd: dir,
    encoding: 'utf8',
    env: shellEnv(),
  });
  expect(lock.status, lock.stderr).toBe(0);
}

/** The environment of a fresh shell: npx and npm run pass this repository's npm config on as npm_config_*. */
function shellEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
}

function setup(dir: string, env: NodeJS.ProcessEnv = shellEnv()) {
  const r = spawnSync('bash', ['scripts/setup.sh'], { cwd: dir, encoding: 'utf8', env });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('scripts/setup.sh', () => {
  it('installs without engine warnings, skips npm ci while package-lock.json is unchanged', () => {
    const dir = project();
    const first = setup(dir);
    expect(first.status, first.output).toBe(0);
    expect(first.output).not.toMatch(/EBADENGINE|npm warn/);
    expect(existsSync(join(dir, 'node_modules/dep/package.json'))).toBe(true);

    // npm ci deletes node_modules first, so a file left there shows whether it ran.
    const marker = join(dir, 'node_modules/left-by-the-test');
    writeFileSync(marker, '');
    const second = setup(dir);
    expect(second.status, second.output).toBe(0);
    expect(second.output.trim()).toBe(
      'node_modules already matches package-lock.json: npm ci skipped (delete node_modules to reinstall).',
    );
    expect(existsSync(marker)).toBe(true);

    mkdirSync(join(dir, 'dep2'));
    writeFileSync(join(dir, 'dep2/package.json'), JSON.stringify({ name: 'dep2', version: '1.0.0' }));
    writePackage(dir, { dep: 'file:./dep', dep2: 'file:./dep2' });
    const changed = setup(dir);
    expect(changed.status, changed.output).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(join(dir, 'node_modules/dep2/package.json'))).toBe(true);
  });

  it('the fixture does make npm warn without the .npmrc', () => {
    const r = setup(project(false));
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain('EBADENGINE');
  });

  it('refuses a Node older than the README says, in one sentence', () => {
    const minimum = /^MIN_NODE=(\d+)$/m.exec(readFileSync(join(REPO_ROOT, 'scripts/setup.sh'), 'utf8'))?.[1];
    expect(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')).toContain(`Node.js ${minimum} or newer`);
    // No Node older than the minimum is installed here, so a stand-in answers for it.
    const bin = tempDir('old-node');
    const old = `v${Number(minimum) - 1}.9.0`;
    writeFileSync(
      join(bin, 'node'),
      `#!/bin/sh\ncase "$*" in *versions*) echo ${Number(minimum) - 1};; *) echo ${old};; esac\n`,
    );
    chmodSync(join(bin, 'node'), 0o755);
    const dir = project();
    const r = setup(dir, { ...shellEnv(), PATH: `${bin}:${process.env.PATH}` });
    expect(r.status).toBe(1);
    expect(r.output.trim()).toBe(
      `Node.js ${old} is too old: setup needs Node.js ${minimum} or newer with npm.`,
    );
    expect(existsSync(join(dir, 'node_modules'))).toBe(false);
  });
});
