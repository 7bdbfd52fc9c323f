/**
 * The repository stands alone: nothing it ships or keeps (code, comments, docs, messages, the bundle)
 * sends a reader to design notes that live outside it. docs/architecture.md is where such knowledge goes.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '..', '..');

const OUTSIDE = new RegExp(['(DESIGN|FACTS)', '\\.md', '|', '\\.\\./', 'shared\\b'].join(''));

/** Tracked files plus new ones not ignored: what a commit of this work tree would hold. */
function repositoryFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO,
    encoding: 'utf8',
  });
  return out.split('\0').filter((f) => f !== '' && f !== 'package-lock.json');
}

function mentions(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(join(REPO, file), 'utf8');
  } catch {
    return []; // deleted in the work tree but still in the index
  }
  return text
    .split('\n')
    .map((line, i) => ({ line, n: i + 1 }))
    .filter(({ line }) => OUTSIDE.test(line))
    .map(({ line, n }) => `${file}:${n}: ${line.trim().slice(0, 120)}`);
}

describe('the repository stands alone', () => {
  it('the pattern finds the references it is meant to find', () => {
    // Spelled in pieces, so that a plain search of the tree for such references does not find this file.
    const [facts, design, shared] = [
      ['FACTS', 'md'],
      ['DESIGN', 'md'],
      ['..', 'shared'],
    ].map((p) => p.join(p[0] === '..' ? '/' : '.'));
    expect(OUTSIDE.test(`see ${facts} "Tarball"`)).toBe(true);
    expect(OUTSIDE.test(`(${design}, "Contracts")`)).toBe(true);
    expect(OUTSIDE.test(`see ../${shared}/reference/x`)).toBe(true);
    expect(OUTSIDE.test('docs/architecture.md, "Versions"')).toBe(false);
  });

  it('no file points to design notes outside the repository', () => {
    const files = repositoryFiles();
    expect(files.length).toBeGreaterThan(100);
    expect(files.flatMap(mentions)).toEqual([]);
  });
});
