/**
 * `nix flake init -t` and `nix flake new -t` with this repository's flake, run by the real Nix: the
 * repository they write passes the same checks as examples/, and holds the same files.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.ts';
import { requireNix, tempDir } from '../nix-stage/helpers.ts';
import {
  checkConsumerFlake,
  checkGitlabPipeline,
  checkRebuildWorkflow,
  checkUpdateLockWorkflow,
} from './consumer-checks.ts';

const TEMPLATE = 'flake-templates/consumer';
/**
 * Each file of the template and the example it copies; only the comment block at the top may differ. Copies,
 * because `nix flake init` writes a template's files as they are (a symlink stays a link, dangling in the new
 * repository), and examples/ stays where the docs point; this test keeps the two from drifting.
 */
const FROM_EXAMPLES: Record<string, string> = {
  'flake.nix': 'examples/github/flake.nix',
  'runner.nix': 'examples/github/runner.nix',
  '.github/workflows/rebuild.yml': 'examples/github/rebuild.yml',
  '.github/workflows/update-lock.yml': 'examples/github/update-lock.yml',
  '.gitlab-ci.yml': 'examples/gitlab/.gitlab-ci.yml',
};

function filesUnder(dir: string, top = dir): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? filesUnder(path, top) : [relative(top, path)];
    })
    .sort();
}

function nix(args: string[], cwd: string): string {
  const r = spawnSync('nix', args, { cwd, encoding: 'utf8' });
  expect(r.status, `nix ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return `${r.stdout}${r.stderr}`;
}

/** The text below the comment block a file opens with. */
const body = (text: string) => text.replace(/^(#.*\n)+/, '');

describe('flake template: nix flake init -t', () => {
  let initialised: string;
  let initOutput: string;
  const read = (path: string) => readFileSync(join(initialised, path), 'utf8');

  beforeAll(() => {
    requireNix();
    // The flake as a user fetches it: the git-tracked flake.nix, nix/ and flake-templates/.
    const source = tempDir('flake-source');
    const tracked = execFileSync(
      'git',
      ['-C', REPO_ROOT, 'ls-files', '-z', '--', 'flake.nix', 'nix', TEMPLATE],
      {
        encoding: 'utf8',
      },
    );
    for (const file of tracked.split('\0').filter(Boolean)) {
      mkdirSync(dirname(join(source, file)), { recursive: true });
      cpSync(join(REPO_ROOT, file), join(source, file));
    }
    // Nix 2.8 locks every input before it reads any output, the repository has no flake.lock, and nixpkgs
    // cannot be fetched here: a local stand-in is locked in its place. Templates never touch nixpkgs.
    const nixpkgs = tempDir('nixpkgs-stand-in');
    writeFileSync(join(nixpkgs, 'flake.nix'), '{ outputs = _: { }; }\n');
    nix(['flake', 'lock', `path:${source}`, '--override-input', 'nixpkgs', `path:${nixpkgs}`], source);

    initialised = tempDir('flake-init');
    execFileSync('git', ['init', '-q'], { cwd: initialised });
    initOutput = nix(['flake', 'init', '-t', `path:${source}#default`], initialised);

    const created = join(tempDir('flake-new'), 'runners');
    nix(['flake', 'new', '-t', `path:${source}`, created], REPO_ROOT);
    for (const file of filesUnder(initialised).filter((f) => !f.startsWith('.git/'))) {
      expect(readFileSync(join(created, file), 'utf8'), file).toBe(read(file));
    }
    expect(filesUnder(created)).toEqual(filesUnder(initialised).filter((f) => !f.startsWith('.git/')));
  });

  it('writes the consumer repository, every file git-tracked here, and prints what to edit', () => {
    const written = filesUnder(initialised).filter((f) => !f.startsWith('.git/'));
    expect(written).toEqual(Object.keys(FROM_EXAMPLES).sort());
    expect(filesUnder(join(REPO_ROOT, TEMPLATE))).toEqual(written);
    expect(initOutput).toContain('runner.nix');
    expect(initOutput).toContain('Versions');
  });

  it('the GitLab pipeline passes the checks of examples/gitlab', async () => {
    await checkGitlabPipeline(read('.gitlab-ci.yml'), read('runner.nix'));
  });

  it('the GitHub workflows pass the checks of examples/github', () => {
    checkRebuildWorkflow(read('.github/workflows/rebuild.yml'));
    checkUpdateLockWorkflow(read('.github/workflows/update-lock.yml'));
  });

  it('the flake parses and re-exports the builders', () => {
    checkConsumerFlake(join(initialised, 'flake.nix'), read('flake.nix'));
  });

  it('holds the same files as examples/, apart from the opening comments', () => {
    for (const [file, example] of Object.entries(FROM_EXAMPLES)) {
      expect(body(read(file)), file).toBe(body(readFileSync(join(REPO_ROOT, example), 'utf8')));
      expect(body(read(file)).length, file).toBeGreaterThan(0);
    }
  });
});
