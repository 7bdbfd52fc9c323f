import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURE_FLAKE = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'builder-flake');

/** Flakes on and no binary cache: nothing here reaches the internet. */
export const TEST_NIX_CONFIG = 'experimental-features = nix-command flakes\nsubstituters =';

/** Fails (never skips) when a tool is missing, with the command that installs it. */
export function requireTool(tool: string, hint: string): void {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(`${tool} is required for this test: ${hint}`);
  }
}

export function requireNix(): void {
  requireTool('nix', 'install nix: apt-get install -y nix-bin');
  requireTool('git', 'install git: apt-get install -y git');
  process.env.NIX_CONFIG = TEST_NIX_CONFIG;
}

/** Files under the given paths whose content holds `needle`; symlinks are not followed. */
export function filesContaining(paths: string[], needle: string): string[] {
  const hits: string[] = [];
  const walk = (path: string) => {
    const info = lstatSync(path);
    if (info.isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
    else if (info.isFile() && readFileSync(path).includes(needle)) hits.push(path);
  };
  for (const p of paths) if (existsSync(p)) walk(p);
  return hits;
}

/** The /nix/store paths whose names are not in `before` (a set of names read from /nix/store earlier). */
export function storePathsAddedSince(before: Set<string>): string[] {
  return readdirSync('/nix/store')
    .filter((e) => !before.has(e))
    .map((e) => join('/nix/store', e));
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `ngr-test-${prefix}-`));
}

function git(dir: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.email=test@example.invalid', '-c', 'user.name=test', '-C', dir, ...args], {
    stdio: 'ignore',
  });
}

/** A copy of the fixture flake in its own git repository (git+file: needs one). */
export function fixtureRepo(): string {
  const dir = tempDir('builder');
  cpSync(FIXTURE_FLAKE, dir, { recursive: true });
  git(dir, 'init', '-q');
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'fixture');
  return dir;
}

/** A workspace with the given files (relative path → content). */
export function workspace(files: Record<string, string>, opts: { git?: boolean } = {}): string {
  const dir = tempDir('ws');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  if (opts.git) git(dir, 'init', '-q');
  return dir;
}

export function commitAll(dir: string, ...paths: string[]): void {
  git(dir, 'add', ...paths);
  git(dir, 'commit', '-q', '-m', 'change');
}
