import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { filesUnder, REPO } from './helpers.ts';

/**
 * No line of the flake's Nix code is wider than 100 columns, nixfmt's width: nixfmt cannot break a
 * long string or comment, so the formatting check in `checks` (nixfmt --check) would fail on it.
 * nixfmt itself is not installed here.
 */
const WIDTH = 100;

/**
 * Being rewritten on the issue-12 isolation branch when this test was written (its long assertion
 * messages and descriptions); remove each entry once that branch is merged and the file is wrapped.
 */
const PENDING = new Set([
  'nix/modules/docker.nix',
  'nix/modules/options.nix',
  'nix/modules/security.nix',
  'nix/modules/store.nix',
  'nix/tests/isolated.nix',
  'nix/tests/runner.nix',
]);

const files = ['flake.nix', ...filesUnder('nix', '.nix'), ...filesUnder('examples', '.nix')];

describe(`Nix code fits in ${WIDTH} columns`, () => {
  it('checks the flake, nix/ and the examples', () => {
    expect(files).toEqual(
      expect.arrayContaining(['flake.nix', 'nix/modules/runner.nix', 'examples/demo/runner.nix']),
    );
  });

  it.each(files.filter((file) => !PENDING.has(file)))('%s', (file) => {
    const wide = readFileSync(join(REPO, file), 'utf8')
      .split('\n')
      .map((line, i) => ({ line: i + 1, width: [...line].length }))
      .filter((l) => l.width > WIDTH);
    expect(wide).toEqual([]);
  });
});
