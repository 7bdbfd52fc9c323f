/**
 * One version story: every ref to this project in the README, docs, examples and templates follows
 * package.json's version. A release tag vX.Y.Z is the component version and the flake ref; the action and
 * consumer flakes may follow the major tag vX, which the release workflow moves to each vX.Y.Z.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VERSION } from '../../src/config.ts';
import { REPO_ROOT } from '../helpers/cli.ts';

const MAJOR = `v${VERSION.split('.')[0]}`;
const RELEASE = `v${VERSION}`;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

const SCANNED = ['README.md', 'docs', 'examples', 'templates', 'flake-templates'].flatMap((entry) => {
  const path = join(REPO_ROOT, entry);
  return statSync(path).isDirectory() ? filesUnder(path) : [path];
});

interface Ref {
  where: string;
  kind: 'action' | 'component' | 'flake' | 'release';
  ref: string;
  /** The line and the two before it. */
  context: string;
}

/**
 * Every ref to this project: `pcboy/nix-glab-runner@REF`, `…/gitlab-ci@REF`, `github:pcboy/nix-glab-runner/REF`,
 * and any release number vX.Y.Z written in prose.
 */
function refsIn(path: string): Ref[] {
  const refs: Ref[] = [];
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.forEach((line, n) => {
    const where = `${relative(REPO_ROOT, path)}:${n + 1}`;
    const context = lines.slice(Math.max(0, n - 2), n + 1).join('\n');
    for (const m of line.matchAll(/\bpcboy\/nix-glab-runner@([^\s`"']+)/g))
      refs.push({ where, kind: 'action', ref: m[1] as string, context });
    for (const m of line.matchAll(/\/nix-glab-runner\/gitlab-ci@([^\s`"']+)/g))
      refs.push({ where, kind: 'component', ref: m[1] as string, context });
    for (const m of line.matchAll(/github:pcboy\/nix-glab-runner(?:\/([^\s`"'#?]+))?/g))
      refs.push({ where, kind: 'flake', ref: m[1] ?? '', context });
    for (const m of line.matchAll(/\bv\d+\.\d+\.\d+\b/g))
      refs.push({ where, kind: 'release', ref: m[0], context });
  });
  return refs;
}

/**
 * Placeholders (`<commit-sha>`, the component's `<version>`) stand for what the reader fills in. A bare flake
 * ref is the component's `tool-source`, which the job runs at the component's own commit.
 */
const agrees = ({ kind, ref, context }: Ref): boolean => {
  if (/^<[a-z-]+>$/.test(ref)) return true;
  if (kind === 'component') return ref === RELEASE;
  if (kind === 'release') return ref === RELEASE;
  if (kind === 'flake' && ref === '') return context.includes('tool-source');
  return ref === RELEASE || ref === MAJOR;
};

describe('refs to nix-glab-runner', () => {
  const refs = SCANNED.flatMap(refsIn);

  it('are found in the README, docs, examples and templates', () => {
    const kinds = new Set(refs.map((r) => r.kind));
    expect([...kinds].sort()).toEqual(['action', 'component', 'flake', 'release']);
    expect(refs.some((r) => r.where.startsWith('README.md'))).toBe(true);
  });

  it(`all follow package.json's version ${VERSION} (${RELEASE}, or the major tag ${MAJOR})`, () => {
    const wrong = refs.filter((r) => !agrees(r)).map((r) => `${r.where}: ${r.kind} ref "${r.ref}"`);
    expect(wrong).toEqual([]);
  });

  it('catches a ref that does not', () => {
    const context = 'uses: pcboy/nix-glab-runner@v9';
    expect(agrees({ where: 'x', kind: 'action', ref: 'v9', context })).toBe(false);
    const bare = 'url = "github:pcboy/nix-glab-runner";';
    expect(agrees({ where: 'x', kind: 'flake', ref: '', context: bare })).toBe(false);
    expect(agrees({ where: 'x', kind: 'component', ref: MAJOR, context })).toBe(false);
    expect(agrees({ where: 'x', kind: 'release', ref: 'v0.0.9', context: 'by version (`@v0.0.9`)' })).toBe(
      false,
    );
  });
});
