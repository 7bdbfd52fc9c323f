import { describe, expect, it } from 'vitest';
import { findInput } from '../../src/config.ts';
import { DEFAULT_NIX_VERSION, PINNED_NIX_RELEASES } from '../../src/nix/install.ts';

// config.ts does not import the installer (it would load @actions/tool-cache for `--version`), so the
// default is written twice; this keeps the two in step and the default verifiable.
describe('nix-version default', () => {
  it('is the installer default and has pinned checksums for both systems', () => {
    const def = findInput('nix-version')?.default;
    expect(def).toBe(DEFAULT_NIX_VERSION);
    expect(Object.keys(PINNED_NIX_RELEASES[DEFAULT_NIX_VERSION] ?? {}).sort()).toEqual([
      'aarch64-linux',
      'x86_64-linux',
    ]);
  });
});
